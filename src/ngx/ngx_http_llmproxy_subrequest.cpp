/*
 * One upstream attempt as a subrequest to the internal proxy_pass location:
 * its URL, its own body and a fresh header list for the provider.
 */
#include "ngx_http_llmproxy.hpp"

#include <exception>


namespace llmproxy::ngx {
namespace {

constexpr std::string_view kDefaultAnthropicVersion = "2023-06-01";

ngx_int_t push_header(ngx_http_request_t *sr, std::string_view name, std::string_view value,
                      ngx_table_elt_t **out = nullptr) {
    auto *h = static_cast<ngx_table_elt_t *>(ngx_list_push(&sr->headers_in.headers));
    if (h == nullptr) {
        return NGX_ERROR;
    }
    ngx_memzero(h, sizeof(ngx_table_elt_t));
    ngx_str_t *k = copy_to_pool(sr->pool, name);
    ngx_str_t *v = copy_to_pool(sr->pool, value);
    h->lowcase_key = static_cast<u_char *>(ngx_pnalloc(sr->pool, name.size()));
    if (k == nullptr || v == nullptr || h->lowcase_key == nullptr) {
        return NGX_ERROR;
    }
    h->key = *k;
    h->value = *v;
    h->hash = ngx_hash_strlow(h->lowcase_key, k->data, k->len);
    if (out != nullptr) {
        *out = h;
    }
    return NGX_OK;
}

bool has_custom_header(const store::ProviderRecord &p, std::string_view name) {
    for (const auto &h : p.headers) {
        if (h.name.size() == name.size() &&
            ngx_strncasecmp(reinterpret_cast<u_char *>(const_cast<char *>(h.name.data())),
                            reinterpret_cast<u_char *>(const_cast<char *>(name.data())),
                            name.size()) == 0) {
            return true;
        }
    }
    return false;
}

// A fresh header list for the provider: exactly what it needs, never the
// client's credentials or encodings (nginx-module.md 1.7: the inherited list
// is shared with the parent and must not be pushed onto).
ngx_int_t build_upstream_headers(ngx_http_request_t *r, ngx_http_request_t *sr, RequestCtx *ctx,
                                 std::size_t body_len) {
    if (ngx_list_init(&sr->headers_in.headers, sr->pool, 12, sizeof(ngx_table_elt_t)) != NGX_OK) {
        return NGX_ERROR;
    }
    const store::ResolvedProvider &p = *ctx->at.provider;
    const store::ProviderRecord &rec = p.record;
    for (const auto &h : rec.headers) {
        if (push_header(sr, h.name, h.value) != NGX_OK) return NGX_ERROR;
    }
    auto add = [&](std::string_view name, std::string_view value) -> ngx_int_t {
        if (has_custom_header(rec, name)) return NGX_OK;
        return push_header(sr, name, value);
    };
    ngx_table_elt_t *cl = nullptr;
    if (push_header(sr, "Content-Length", std::to_string(body_len), &cl) != NGX_OK ||
        add("Content-Type", "application/json") != NGX_OK ||
        add("Accept", ctx->parsed.facts.stream ? "text/event-stream" : "application/json") !=
            NGX_OK ||
        add("Accept-Encoding", "identity") != NGX_OK || add("User-Agent", "llmproxy") != NGX_OK) {
        return NGX_ERROR;
    }
    if (rec.format == Dialect::kOpenAI) {
        if (!p.api_key.empty() && add("Authorization", "Bearer " + p.api_key) != NGX_OK) {
            return NGX_ERROR;
        }
    } else {
        if (!p.api_key.empty() && add("x-api-key", p.api_key) != NGX_OK) {
            return NGX_ERROR;
        }
        std::string_view version = kDefaultAnthropicVersion;
        if (ctx->client == Dialect::kAnthropic) {
            if (ngx_table_elt_t *h = find_request_header(r, "anthropic-version")) {
                version = to_sv(h->value);
            }
            if (ngx_table_elt_t *h = find_request_header(r, "anthropic-beta")) {
                if (add("anthropic-beta", to_sv(h->value)) != NGX_OK) return NGX_ERROR;
            }
        }
        if (add("anthropic-version", version) != NGX_OK) return NGX_ERROR;
    }
    sr->headers_in.content_length = cl;
    sr->headers_in.content_length_n = static_cast<off_t>(body_len);
    sr->headers_in.chunked = 0;
    sr->headers_in.transfer_encoding = nullptr;
    sr->headers_in.authorization = nullptr;
    return NGX_OK;
}

ngx_int_t post_subrequest(ngx_http_request_t *sr, void *data, ngx_int_t rc) noexcept {
    auto *ctx = static_cast<RequestCtx *>(data);
    if (ctx->at.sr != sr || ctx->at.post_subrequest_done) {
        return NGX_OK;  // finalize runs this more than once per subrequest
    }
    ctx->at.post_subrequest_done = true;
    ctx->at.subrequest_rc = rc;
    if (sr->connection->error || rc == NGX_HTTP_CLIENT_CLOSED_REQUEST) {
        // nginx terminates the request without waking the parent: note the
        // client's departure for the access log ($status 499) here.
        attempt_abandoned(ctx);
    }
    sr->parent->write_event_handler = attempt_finished;
    // Never let nginx turn a failed attempt into an error page inside the
    // client's response: attempt_finished answers for it.
    return NGX_OK;
}

}  // namespace

ngx_int_t start_upstream(ngx_http_request_t *r, RequestCtx *ctx) {
    const store::ProviderRecord &rec = ctx->at.provider->record;
    // An Anthropic client's query string (?beta=true) means something only
    // to an Anthropic provider.
    bool keep_query = rec.format == Dialect::kAnthropic && ctx->client == Dialect::kAnthropic;
    ctx->at.upstream = store::upstream_target(rec, keep_query ? to_sv(r->args) : std::string_view{});

    LocConf *lcf = loc_conf(r);
    auto *ps = static_cast<ngx_http_post_subrequest_t *>(
        ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t)));
    if (ps == nullptr) {
        return NGX_ERROR;
    }
    ps->handler = post_subrequest;
    ps->data = ctx;

    ngx_http_request_t *sr;
    if (ngx_http_subrequest(r, &lcf->upstream_location, nullptr, &sr, ps, 0) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "llmproxy: ngx_http_subrequest(\"%V\") failed", &lcf->upstream_location);
        return NGX_ERROR;
    }
    ctx->at.sr = sr;
    ngx_http_set_ctx(sr, ctx, ngx_http_llmproxy_module);

    static ngx_str_t post = ngx_string("POST");
    sr->method = NGX_HTTP_POST;
    sr->method_name = post;
    sr->header_only = 0;

    // The provider's body is sent from where it lies, not copied: the
    // attempt's own string, and for a spliced passthrough the client's bytes
    // around it. Both live until the request ends, or until the next
    // attempt, which starts only after this subrequest has finished.
    const TranslatedRequest &tr = ctx->at.translated;
    auto *rb = static_cast<ngx_http_request_body_t *>(
        ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t)));
    if (rb == nullptr) {
        return NGX_ERROR;
    }
    ngx_chain_t **tail = &rb->bufs;
    const std::string_view parts[] = {tr.head, tr.body, tr.tail};
    for (std::string_view part : parts) {
        if (part.empty()) {
            continue;  // nginx refuses zero-size buffers
        }
        auto *b = static_cast<ngx_buf_t *>(ngx_calloc_buf(r->pool));
        ngx_chain_t *cl = ngx_alloc_chain_link(r->pool);
        if (b == nullptr || cl == nullptr) {
            return NGX_ERROR;
        }
        auto *data = reinterpret_cast<u_char *>(const_cast<char *>(part.data()));
        b->start = b->pos = data;
        b->end = b->last = data + part.size();
        b->memory = 1;
        cl->buf = b;
        cl->next = nullptr;
        *tail = cl;
        tail = &cl->next;
        rb->buf = b;
    }
    if (rb->buf == nullptr) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "llmproxy: empty provider request body");
        return NGX_ERROR;
    }
    rb->buf->last_buf = 1;
    rb->buf->last_in_chain = 1;
    sr->request_body = rb;

    if (build_upstream_headers(r, sr, ctx, tr.size()) != NGX_OK) {
        return NGX_ERROR;
    }

    // Per-attempt variables ($llmproxy_upstream_url...) must not be served
    // from the parent's cache.
    auto *cmcf = static_cast<ngx_http_core_main_conf_t *>(
        ngx_http_get_module_main_conf(r, ngx_http_core_module));
    sr->variables = static_cast<ngx_http_variable_value_t *>(
        ngx_pcalloc(r->pool, cmcf->variables.nelts * sizeof(ngx_http_variable_value_t)));
    if (sr->variables == nullptr) {
        return NGX_ERROR;
    }
    return NGX_DONE;
}

}  // namespace llmproxy::ngx
