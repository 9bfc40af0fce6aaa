/*
 * The upstream exchange: a streaming subrequest to the internal proxy_pass
 * location, header/body filters on that subrequest that turn the provider's
 * response into the client's dialect, and the parent's resume handler that
 * ends the response (or sends the mapped error when nothing was committed).
 */
#include "ngx_http_llmproxy.hpp"

#include <exception>

#include "core/errors.hpp"
#include "core/inflate.hpp"

namespace llmproxy::ngx {
namespace {

ngx_http_output_header_filter_pt next_header_filter;
ngx_http_output_body_filter_pt next_body_filter;

constexpr std::string_view kDefaultAnthropicVersion = "2023-06-01";

std::string_view to_sv(const ngx_str_t &s) {
    return {reinterpret_cast<const char *>(s.data), s.len};
}

struct UrlParts {
    std::string_view scheme;     // "http" / "https"
    std::string_view authority;  // host[:port]
    std::string_view host;       // without port or IPv6 brackets
    std::string_view path;       // "" or "/v1"
};

UrlParts split_url(std::string_view url) {
    UrlParts u;
    std::size_t s = url.find("://");
    if (s == std::string_view::npos) return u;
    u.scheme = url.substr(0, s);
    std::string_view rest = url.substr(s + 3);
    std::size_t slash = rest.find('/');
    u.authority = rest.substr(0, slash);
    u.path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
    if (!u.authority.empty() && u.authority.front() == '[') {
        std::size_t close = u.authority.find(']');
        u.host = u.authority.substr(1, close == std::string_view::npos ? close : close - 1);
    } else {
        u.host = u.authority.substr(0, u.authority.find(':'));
    }
    return u;
}

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

ngx_table_elt_t *find_client_header(ngx_http_request_t *r, std::string_view lowcase_name) {
    ngx_list_part_t *part = &r->headers_in.headers.part;
    auto *h = static_cast<ngx_table_elt_t *>(part->elts);
    for (ngx_uint_t i = 0;; i++) {
        if (i >= part->nelts) {
            if (part->next == nullptr) break;
            part = part->next;
            h = static_cast<ngx_table_elt_t *>(part->elts);
            i = 0;
        }
        if (h[i].key.len == lowcase_name.size() &&
            ngx_strncmp(h[i].lowcase_key, lowcase_name.data(), lowcase_name.size()) == 0) {
            return &h[i];
        }
    }
    return nullptr;
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
    const store::ResolvedProvider &p = *ctx->provider;
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
            if (ngx_table_elt_t *h = find_client_header(r, "anthropic-version")) {
                version = to_sv(h->value);
            }
            if (ngx_table_elt_t *h = find_client_header(r, "anthropic-beta")) {
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

ngx_int_t post_subrequest(ngx_http_request_t *sr, void *data, ngx_int_t rc) noexcept;
void resume_parent(ngx_http_request_t *r) noexcept;

}  // namespace

ngx_int_t start_upstream(ngx_http_request_t *r, RequestCtx *ctx) {
    const store::ProviderRecord &rec = ctx->provider->record;
    UrlParts base = split_url(rec.base_url);
    std::string_view endpoint_path =
        rec.format == Dialect::kOpenAI ? "/chat/completions" : "/v1/messages";
    // Through a named nginx upstream block the URL's host is the block name;
    // Host and the TLS name still come from the provider's base URL.
    std::string_view connect_to = rec.upstream.empty() ? base.authority : rec.upstream;
    ctx->upstream_url.clear();
    ctx->upstream_url.append(base.scheme).append("://").append(connect_to).append(base.path);
    ctx->upstream_url.append(endpoint_path);
    if (rec.format == Dialect::kAnthropic && ctx->client == Dialect::kAnthropic && r->args.len) {
        ctx->upstream_url.append("?").append(to_sv(r->args));
    }
    ctx->upstream_host.assign(base.authority);
    ctx->upstream_sni.assign(base.host);

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
    ctx->sr = sr;
    ngx_http_set_ctx(sr, ctx, ngx_http_llmproxy_module);

    static ngx_str_t post = ngx_string("POST");
    sr->method = NGX_HTTP_POST;
    sr->method_name = post;
    sr->header_only = 0;

    const std::string &body = ctx->translated.body;
    auto *rb = static_cast<ngx_http_request_body_t *>(
        ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t)));
    ngx_buf_t *b = ngx_create_temp_buf(r->pool, body.empty() ? 1 : body.size());
    ngx_chain_t *cl = ngx_alloc_chain_link(r->pool);
    if (rb == nullptr || b == nullptr || cl == nullptr) {
        return NGX_ERROR;
    }
    b->last = ngx_cpymem(b->last, body.data(), body.size());
    b->last_buf = 1;
    b->last_in_chain = 1;
    cl->buf = b;
    cl->next = nullptr;
    rb->bufs = cl;
    rb->buf = b;
    sr->request_body = rb;

    if (build_upstream_headers(r, sr, ctx, body.size()) != NGX_OK) {
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

namespace {

ngx_int_t emit_events(ngx_http_request_t *r, RequestCtx *ctx, std::string_view data,
                      ngx_chain_t ***tail);

bool is_attempt(ngx_http_request_t *r, RequestCtx **out) {
    if (r == r->main) return false;
    RequestCtx *ctx = get_ctx(r);
    if (ctx == nullptr || ctx->sr != r) return false;
    *out = ctx;
    return true;
}

bool is_event_stream(ngx_http_request_t *r) {
    std::string_view ct = to_sv(r->headers_out.content_type);
    return ct.size() >= 17 &&
           ngx_strncasecmp(reinterpret_cast<u_char *>(const_cast<char *>(ct.data())),
                           reinterpret_cast<u_char *>(const_cast<char *>("text/event-stream")),
                           17) == 0;
}

// Keepalive events while the provider is silent (reasoning models can think
// for minutes), so proxies and clients do not cut an idle connection. They
// are written through the subrequest, which owns the connection's output.
void ping_handler(ngx_event_t *ev) noexcept {
    auto *ctx = static_cast<RequestCtx *>(ev->data);
    ngx_http_request_t *sr = ctx->sr;
    if (ctx->finished || ctx->post_subrequest_done || sr == nullptr) {
        return;
    }
    ngx_msec_t interval = loc_conf(ctx->request)->ping_interval;
    ngx_msec_t idle = ngx_current_msec - ctx->last_output;
    if (idle >= interval) {
        ngx_chain_t *out = nullptr;
        ngx_chain_t **tail = &out;
        if (emit_events(sr, ctx, keepalive_event(ctx->client), &tail) != NGX_OK ||
            next_body_filter(sr, out) == NGX_ERROR) {
            ngx_log_error(NGX_LOG_INFO, ev->log, 0, "llmproxy: sending a keepalive ping failed");
            return;
        }
        ngx_chain_update_chains(sr->pool, &ctx->free, &ctx->busy, &out,
                                reinterpret_cast<ngx_buf_tag_t>(&ngx_http_llmproxy_module));
        ctx->last_output = ngx_current_msec;
        idle = 0;
    }
    ngx_add_timer(ev, interval - idle);
}

void start_ping_timer(RequestCtx *ctx) {
    ngx_msec_t interval = loc_conf(ctx->request)->ping_interval;
    ctx->last_output = ngx_current_msec;
    if (interval == 0) {
        return;
    }
    ngx_event_t *ev = &ctx->ping_ev;
    ev->handler = ping_handler;
    ev->data = ctx;
    ev->log = ctx->request->connection->log;
    ev->cancelable = 1;
    ngx_add_timer(ev, interval);
}

// Sends the client's status line and headers, once, when the first output
// of a successful stream is ready (not earlier: until then an upstream
// failure can still become a clean error response).
ngx_int_t commit_stream_header(RequestCtx *ctx) {
    ngx_http_request_t *r = ctx->request;
    ctx->committed = true;
    r->headers_out.status = NGX_HTTP_OK;
    static ngx_str_t sse = ngx_string("text/event-stream");
    r->headers_out.content_type = sse;
    r->headers_out.content_type_len = sse.len;
    r->headers_out.content_type_lowcase = nullptr;
    r->headers_out.content_length_n = -1;
    if (add_header(r, "Cache-Control", "no-cache") != NGX_OK ||
        add_header(r, "X-Accel-Buffering", "no") != NGX_OK ||
        add_header(r, "x-llmproxy-provider", ctx->provider->record.name) != NGX_OK ||
        add_header(r, "x-llmproxy-model", ctx->target_model) != NGX_OK) {
        return NGX_ERROR;
    }
    ngx_int_t rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK) {
        return NGX_ERROR;
    }
    start_ping_timer(ctx);
    return NGX_OK;
}

ngx_int_t header_filter(ngx_http_request_t *r) noexcept {
    RequestCtx *ctx;
    if (!is_attempt(r, &ctx)) {
        return next_header_filter(r);
    }
    try {
        ngx_uint_t status = r->headers_out.status;
        ctx->upstream_status = status;
        // The subrequest's own header never reaches the client: the main
        // request's header is sent by commit_stream_header or resume_parent.
        r->header_sent = 1;
        r->filter_need_in_memory = 1;
        if (r->headers_out.content_encoding != nullptr &&
            r->headers_out.content_encoding->value.len > 0) {
            // Asked for identity, got compressed anyway: decode, bounded.
            std::string_view enc = to_sv(r->headers_out.content_encoding->value);
            if (Inflater::handles(enc)) {
                auto inf = Inflater::create(enc, loc_conf(ctx->request)->max_response_size);
                if (inf.ok()) ctx->inflater = std::move(inf.value());
            } else if (enc != "identity") {
                ctx->decode_error = "provider used unsupported content encoding " +
                                    std::string(enc);
            }
        }
        if (status < 200 || status >= 300) {
            ctx->mode = UpstreamMode::kCaptureError;
        } else if (ctx->parsed.facts.stream && is_event_stream(r)) {
            ctx->transcoder = make_stream_transcoder(ctx->provider->record.format, ctx->client,
                                                     ctx->translated.response);
            ctx->mode = UpstreamMode::kStream;
        } else {
            ctx->mode = UpstreamMode::kBuffer;
        }
        return NGX_OK;
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "llmproxy: header filter: %s",
                      e.what());
        return NGX_ERROR;
    }
}

// The provider's bytes, decoded when it compressed them. On a decoding
// error ctx->decode_error is set and nothing is returned.
std::string_view decoded(RequestCtx *ctx, std::string_view bytes) {
    if (!ctx->inflater || !ctx->decode_error.empty()) {
        return ctx->decode_error.empty() ? bytes : std::string_view{};
    }
    ctx->inflated.clear();
    if (Status st = ctx->inflater->feed(bytes, ctx->inflated); !st.ok()) {
        ctx->decode_error = st.error().describe();
        return {};
    }
    return ctx->inflated;
}

// Appends the bytes of `in` to ctx->collected (bounded), consuming them.
void collect(RequestCtx *ctx, ngx_chain_t *in, std::size_t cap) {
    for (ngx_chain_t *cl = in; cl != nullptr; cl = cl->next) {
        ngx_buf_t *b = cl->buf;
        std::size_t n = static_cast<std::size_t>(b->last - b->pos);
        if (n > 0) {
            std::string_view data = decoded(ctx, {reinterpret_cast<const char *>(b->pos), n});
            std::size_t room = cap > ctx->collected.size() ? cap - ctx->collected.size() : 0;
            if (data.size() > room) {
                ctx->collected_truncated = true;
                data = data.substr(0, room);
            }
            ctx->collected.append(data);
            b->pos = b->last;
        }
        if (b->last_in_chain || b->last_buf) {
            ctx->upstream_complete = true;
        }
    }
}

// Queues `data` as flushed buffers, one per SSE event (each ends "\n\n").
ngx_int_t emit_events(ngx_http_request_t *r, RequestCtx *ctx, std::string_view data,
                      ngx_chain_t ***tail) {
    while (!data.empty()) {
        std::size_t end = data.find("\n\n");
        std::size_t len = end == std::string_view::npos ? data.size() : end + 2;
        ngx_chain_t *cl = ngx_chain_get_free_buf(r->pool, &ctx->free);
        if (cl == nullptr) {
            return NGX_ERROR;
        }
        ngx_buf_t *b = cl->buf;
        if (b->start == nullptr || static_cast<std::size_t>(b->end - b->start) < len) {
            std::size_t size = len < 512 ? 512 : len;
            b->start = static_cast<u_char *>(ngx_palloc(r->pool, size));
            if (b->start == nullptr) {
                return NGX_ERROR;
            }
            b->end = b->start + size;
        }
        b->pos = b->start;
        b->last = ngx_cpymem(b->start, data.data(), len);
        b->memory = 1;
        b->temporary = 1;
        b->flush = 1;
        b->tag = reinterpret_cast<ngx_buf_tag_t>(&ngx_http_llmproxy_module);
        **tail = cl;
        *tail = &cl->next;
        data.remove_prefix(len);
    }
    return NGX_OK;
}

ngx_int_t transcode(ngx_http_request_t *r, RequestCtx *ctx, ngx_chain_t *in) {
    if (in != nullptr && ngx_chain_add_copy(r->pool, &ctx->pending, in) != NGX_OK) {
        return NGX_ERROR;
    }
    // Back-pressure: while the client is not taking what we already sent,
    // leave the provider's bytes unconsumed so nginx stops reading them.
    if (ctx->busy != nullptr && (r->connection->buffered & NGX_LOWLEVEL_BUFFERED)) {
        ngx_int_t rc = next_body_filter(r, nullptr);
        ngx_chain_t *none = nullptr;
        ngx_chain_update_chains(r->pool, &ctx->free, &ctx->busy, &none,
                                reinterpret_cast<ngx_buf_tag_t>(&ngx_http_llmproxy_module));
        if (rc == NGX_ERROR) return NGX_ERROR;
        if (ctx->busy != nullptr && (r->connection->buffered & NGX_LOWLEVEL_BUFFERED)) {
            return NGX_AGAIN;
        }
    }
    ctx->out.clear();
    while (ctx->pending != nullptr) {
        ngx_chain_t *cl = ctx->pending;
        ngx_buf_t *b = cl->buf;
        std::size_t n = static_cast<std::size_t>(b->last - b->pos);
        if (n > 0) {
            std::string_view data = decoded(ctx, {reinterpret_cast<const char *>(b->pos), n});
            if (!ctx->decode_error.empty()) {
                ctx->transcoder->fail(502, ctx->decode_error, ctx->out);
            } else {
                ctx->transcoder->feed(data, ctx->out);
            }
            b->pos = b->last;
        }
        if (b->last_in_chain || b->last_buf) {
            ctx->upstream_complete = true;
        }
        ctx->pending = cl->next;
        ngx_free_chain(r->pool, cl);
    }
    if (ctx->upstream_complete) {
        ctx->transcoder->finish(ctx->out);
    }
    ngx_chain_t *out = nullptr;
    ngx_chain_t **tail = &out;
    if (emit_events(r, ctx, ctx->out, &tail) != NGX_OK) {
        return NGX_ERROR;
    }
    if (out == nullptr && ctx->busy == nullptr) {
        return NGX_OK;
    }
    if (out != nullptr && !ctx->committed && commit_stream_header(ctx) != NGX_OK) {
        return NGX_ERROR;
    }
    if (out != nullptr) {
        ctx->last_output = ngx_current_msec;
    }
    ngx_int_t rc = next_body_filter(r, out);
    ngx_chain_update_chains(r->pool, &ctx->free, &ctx->busy, &out,
                            reinterpret_cast<ngx_buf_tag_t>(&ngx_http_llmproxy_module));
    return rc;
}

ngx_int_t body_filter(ngx_http_request_t *r, ngx_chain_t *in) noexcept {
    RequestCtx *ctx;
    if (!is_attempt(r, &ctx)) {
        return next_body_filter(r, in);
    }
    try {
        LocConf *lcf = loc_conf(ctx->request);
        switch (ctx->mode) {
        case UpstreamMode::kStream:
            return transcode(r, ctx, in);
        case UpstreamMode::kBuffer:
            collect(ctx, in, lcf->max_response_size);
            return NGX_OK;
        case UpstreamMode::kCaptureError:
        case UpstreamMode::kNone:
            collect(ctx, in, lcf->max_error_size);
            return NGX_OK;
        }
        return NGX_OK;
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "llmproxy: body filter: %s", e.what());
        return NGX_ERROR;
    }
}

ngx_int_t post_subrequest(ngx_http_request_t *sr, void *data, ngx_int_t rc) noexcept {
    auto *ctx = static_cast<RequestCtx *>(data);
    if (ctx->post_subrequest_done) {
        return NGX_OK;
    }
    ctx->post_subrequest_done = true;
    ctx->subrequest_rc = rc;
    sr->parent->write_event_handler = resume_parent;
    // Never let nginx turn a failed attempt into an error page inside the
    // client's response: resume_parent answers for it.
    return NGX_OK;
}

ngx_int_t send_final(ngx_http_request_t *r, RequestCtx *ctx, std::string_view extra) {
    ngx_chain_t *out = nullptr;
    ngx_chain_t **tail = &out;
    if (emit_events(r, ctx, extra, &tail) != NGX_OK) {
        return NGX_ERROR;
    }
    if (out != nullptr) {
        ngx_int_t rc = ngx_http_output_filter(r, out);
        if (rc == NGX_ERROR) return NGX_ERROR;
    }
    return ngx_http_send_special(r, NGX_HTTP_LAST);
}

ngx_int_t upstream_failure(ngx_http_request_t *r, RequestCtx *ctx) {
    const std::string &name = ctx->provider->record.name;
    ngx_int_t rc = ctx->subrequest_rc;
    int status = rc == NGX_HTTP_GATEWAY_TIME_OUT ? 504 : 502;
    std::string msg = status == 504 ? "provider " + name + " timed out"
                                    : "provider " + name + " is unreachable";
    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "llmproxy: upstream attempt to \"%s\" failed before a response (rc %i)",
                  name.c_str(), rc);
    return send_error(r, ctx->client, error_response(ctx->client, status, msg));
}

ngx_int_t finish_buffered(ngx_http_request_t *r, RequestCtx *ctx) {
    Dialect provider = ctx->provider->record.format;
    if (!ctx->decode_error.empty()) {
        return send_error(r, ctx->client, error_response(ctx->client, 502, ctx->decode_error));
    }
    if (!ctx->upstream_complete || ctx->collected_truncated) {
        std::string msg = ctx->collected_truncated
                              ? "provider response exceeds llmproxy_max_response_size"
                              : "provider response was cut short";
        return send_error(r, ctx->client, error_response(ctx->client, 502, msg));
    }
    if (ctx->parsed.facts.stream) {
        // Asked for a stream, got JSON: usually an error object with 200.
        ErrorResponse e = map_upstream_error(provider, ctx->client, 502, ctx->collected);
        return send_error(r, ctx->client, e);
    }
    auto body = translate_response(provider, ctx->client, ctx->collected, ctx->translated.response,
                                   &ctx->usage);
    if (!body.ok()) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "llmproxy: invalid response from provider \"%s\": %s",
                      ctx->provider->record.name.c_str(), body.error().describe().c_str());
        return send_error(r, ctx->client,
                          error_response(ctx->client, 502,
                                         "provider returned an invalid response: " +
                                             body.error().describe()));
    }
    if (add_header(r, "x-llmproxy-provider", ctx->provider->record.name) != NGX_OK ||
        add_header(r, "x-llmproxy-model", ctx->target_model) != NGX_OK) {
        return NGX_ERROR;
    }
    return send_response(r, NGX_HTTP_OK, "application/json", body.value());
}

ngx_int_t finish_response(ngx_http_request_t *r, RequestCtx *ctx) {
    if (ctx->ping_ev.timer_set) {
        ngx_del_timer(&ctx->ping_ev);
    }
    if (r->connection->error) {
        // The client went away; the access log shows 499 even when a 200
        // header had already been sent.
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "llmproxy: client closed the connection, provider request closed");
        r->headers_out.status = NGX_HTTP_CLIENT_CLOSED_REQUEST;
        return NGX_HTTP_CLIENT_CLOSED_REQUEST;
    }
    if (ctx->committed) {
        if (ctx->upstream_complete) {
            return send_final(r, ctx, {});
        }
        // The provider went away mid-stream: end the client's stream with an
        // error event in its dialect rather than a silently truncated one.
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "llmproxy: provider \"%s\" stream ended early",
                      ctx->provider->record.name.c_str());
        std::string tail;
        ctx->transcoder->fail(502, "provider stream ended unexpectedly", tail);
        return send_final(r, ctx, tail);
    }
    switch (ctx->mode) {
    case UpstreamMode::kNone:
        return upstream_failure(r, ctx);
    case UpstreamMode::kCaptureError: {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "llmproxy: provider \"%s\" answered %ui",
                      ctx->provider->record.name.c_str(), ctx->upstream_status);
        ErrorResponse e = map_upstream_error(ctx->provider->record.format, ctx->client,
                                             static_cast<int>(ctx->upstream_status),
                                             ctx->collected);
        return send_error(r, ctx->client, e);
    }
    case UpstreamMode::kBuffer:
        return finish_buffered(r, ctx);
    case UpstreamMode::kStream:
        return send_error(r, ctx->client,
                          error_response(ctx->client, 502,
                                         "provider closed the stream before sending any event"));
    }
    return NGX_ERROR;
}

void resume_parent(ngx_http_request_t *r) noexcept {
    RequestCtx *ctx = get_ctx(r);
    if (ctx == nullptr || !ctx->post_subrequest_done || ctx->finished) {
        return;
    }
    ctx->finished = true;
    r->write_event_handler = ngx_http_request_empty_handler;
    ngx_int_t rc;
    try {
        rc = finish_response(r, ctx);
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "llmproxy: %s", e.what());
        rc = ctx->committed ? NGX_ERROR : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ngx_http_finalize_request(r, rc);
}

}  // namespace

ngx_int_t init_upstream_filters(ngx_conf_t *cf) {
    next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = header_filter;
    next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = body_filter;
    return NGX_OK;
}

}  // namespace llmproxy::ngx
