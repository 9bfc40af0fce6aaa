/*
 * Small complete responses (probes, errors, model lists) and header helpers.
 */
#include "ngx_http_llmproxy.hpp"

namespace llmproxy::ngx {

ngx_str_t *copy_to_pool(ngx_pool_t *pool, std::string_view s) {
    auto *str = static_cast<ngx_str_t *>(ngx_palloc(pool, sizeof(ngx_str_t)));
    if (str == nullptr) {
        return nullptr;
    }
    str->len = s.size();
    str->data = static_cast<u_char *>(ngx_pnalloc(pool, s.size() + 1));
    if (str->data == nullptr) {
        return nullptr;
    }
    ngx_memcpy(str->data, s.data(), s.size());
    str->data[s.size()] = '\0';
    return str;
}

namespace {

// Walks an ngx_list_t of headers; `lowcase` says whether elements carry a
// lower-cased key (request headers do, response headers may not).
ngx_table_elt_t *find_in_list(ngx_list_t *list, std::string_view lowcase_name, bool lowcase) {
    ngx_list_part_t *part = &list->part;
    auto *h = static_cast<ngx_table_elt_t *>(part->elts);
    for (ngx_uint_t i = 0;; i++) {
        if (i >= part->nelts) {
            if (part->next == nullptr) break;
            part = part->next;
            h = static_cast<ngx_table_elt_t *>(part->elts);
            i = 0;
        }
        if (h[i].hash == 0 || h[i].key.len != lowcase_name.size()) continue;
        const u_char *key = lowcase ? h[i].lowcase_key : h[i].key.data;
        if (ngx_strncasecmp(const_cast<u_char *>(key),
                            reinterpret_cast<u_char *>(const_cast<char *>(lowcase_name.data())),
                            lowcase_name.size()) == 0) {
            return &h[i];
        }
    }
    return nullptr;
}

}  // namespace

ngx_table_elt_t *find_request_header(ngx_http_request_t *r, std::string_view lowcase_name) {
    return find_in_list(&r->headers_in.headers, lowcase_name, true);
}

ngx_table_elt_t *find_response_header(ngx_http_request_t *r, std::string_view lowcase_name) {
    return find_in_list(&r->headers_out.headers, lowcase_name, false);
}

ngx_int_t add_header(ngx_http_request_t *r, std::string_view name, std::string_view value) {
    auto *h = static_cast<ngx_table_elt_t *>(ngx_list_push(&r->headers_out.headers));
    if (h == nullptr) {
        return NGX_ERROR;
    }
    ngx_memzero(h, sizeof(ngx_table_elt_t));
    ngx_str_t *k = copy_to_pool(r->pool, name);
    ngx_str_t *v = copy_to_pool(r->pool, value);
    if (k == nullptr || v == nullptr) {
        return NGX_ERROR;
    }
    h->hash = 1;
    h->key = *k;
    h->value = *v;
    return NGX_OK;
}

ngx_int_t send_response(ngx_http_request_t *r, ngx_uint_t status, std::string_view content_type,
                        std::string_view body) {
    r->headers_out.status = status;
    r->headers_out.content_length_n = static_cast<off_t>(body.size());
    ngx_str_t *ct = copy_to_pool(r->pool, content_type);
    if (ct == nullptr) {
        return NGX_ERROR;
    }
    r->headers_out.content_type = *ct;
    r->headers_out.content_type_len = ct->len;
    r->headers_out.content_type_lowcase = nullptr;
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);

    ngx_int_t rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }
    ngx_buf_t *b;
    if (body.empty()) {
        b = static_cast<ngx_buf_t *>(ngx_calloc_buf(r->pool));
        if (b == nullptr) {
            return NGX_ERROR;
        }
    } else {
        b = ngx_create_temp_buf(r->pool, body.size());
        if (b == nullptr) {
            return NGX_ERROR;
        }
        b->last = ngx_cpymem(b->last, body.data(), body.size());
    }
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;
    ngx_chain_t out = {b, nullptr};
    return ngx_http_output_filter(r, &out);
}

ngx_int_t send_error(ngx_http_request_t *r, Dialect client, const ErrorResponse &err) {
    (void) client;
    return send_response(r, static_cast<ngx_uint_t>(err.status), "application/json", err.body);
}

}  // namespace llmproxy::ngx
