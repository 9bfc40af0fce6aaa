/*
 * Content phase: endpoint dispatch, key authentication, body reading,
 * routing and request translation. The upstream exchange itself is in
 * ngx_http_llmproxy_upstream.cpp.
 */
#include "ngx_http_llmproxy.hpp"

#include <algorithm>
#include <exception>
#include <new>

#include "core/errors.hpp"
#include "core/model_listing.hpp"
#include "core/scenario.hpp"
#include "core/token_estimate.hpp"

namespace llmproxy::ngx {
namespace {

Endpoint classify(ngx_http_request_t *r) {
    std::string_view uri = to_sv(r->uri);
    // Tolerate one trailing slash, as clients that join base URLs often add one.
    if (uri.size() > 1 && uri.back() == '/') {
        uri.remove_suffix(1);
    }
    if (uri == "/" || uri.empty()) return Endpoint::kRoot;
    if (uri == "/api/hello") return Endpoint::kHello;
    if (uri == "/v1/messages") return Endpoint::kMessages;
    if (uri == "/v1/messages/count_tokens") return Endpoint::kCountTokens;
    if (uri == "/v1/chat/completions" || uri == "/chat/completions") {
        return Endpoint::kChatCompletions;
    }
    if (uri == "/v1/models" || uri == "/models") return Endpoint::kModels;
    return Endpoint::kUnknown;
}

// Dialect of the caller for endpoints that both SDKs use (/v1/models, 404s):
// Anthropic clients always send anthropic-version or x-api-key.
Dialect guess_dialect(ngx_http_request_t *r, Endpoint ep) {
    switch (ep) {
    case Endpoint::kMessages:
    case Endpoint::kCountTokens:
        return Dialect::kAnthropic;
    case Endpoint::kChatCompletions:
        return Dialect::kOpenAI;
    default:
        break;
    }
    if (find_request_header(r, "anthropic-version") != nullptr || find_request_header(r, "x-api-key") != nullptr) {
        return Dialect::kAnthropic;
    }
    return Dialect::kOpenAI;
}

std::string_view presented_key(ngx_http_request_t *r) {
    if (ngx_table_elt_t *h = find_request_header(r, "x-api-key"); h != nullptr && h->value.len > 0) {
        return to_sv(h->value);
    }
    if (r->headers_in.authorization != nullptr) {
        std::string_view v = to_sv(r->headers_in.authorization->value);
        if (v.size() > 7 && ngx_strncasecmp(reinterpret_cast<u_char *>(const_cast<char *>(v.data())),
                                            reinterpret_cast<u_char *>(const_cast<char *>("Bearer ")),
                                            7) == 0) {
            v.remove_prefix(7);
            while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
            return v;
        }
    }
    return {};
}

void destroy_ctx(void *data) noexcept {
    auto *ctx = static_cast<RequestCtx *>(data);
    stop_timers(ctx);
    ctx->~RequestCtx();
}

RequestCtx *create_ctx(ngx_http_request_t *r) {
    ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(r->pool, sizeof(RequestCtx));
    if (cln == nullptr) {
        return nullptr;
    }
    auto *ctx = new (cln->data) RequestCtx();
    cln->handler = destroy_ctx;
    ctx->request = r;
    ngx_http_set_ctx(r, ctx, ngx_http_llmproxy_module);
    return ctx;
}

// Discards a refused request's body. nginx's own discard reads 4 KB at a
// time, so a typical 24 KB coding request costs six reads; here the part
// read with the header and whatever the socket already holds go in reads of
// up to 64 KB into one buffer that every request of the worker shares
// (nothing is kept per connection, as with nginx's discard). A body that has
// not fully arrived, a chunked one, one over 1 MB (at most 16 reads here) and
// HTTP/2 are left to nginx's discard, which answers at once and reads the
// rest in the background.
ngx_int_t discard_refused_body(ngx_http_request_t *r) {
    constexpr off_t kDrainMax = 1024 * 1024;
    ngx_http_headers_in_t &in = r->headers_in;
    bool plain = r == r->main && r->request_body == nullptr && !r->discard_body &&
                 !in.chunked && in.content_length_n > 0 && in.content_length_n <= kDrainMax &&
                 in.expect == nullptr;
#if (NGX_HTTP_V2)
    plain = plain && r->stream == nullptr;
#endif
    if (!plain) {
        return ngx_http_discard_request_body(r);
    }
    ngx_buf_t *pre = r->header_in;
    off_t n = std::min<off_t>(pre->last - pre->pos, in.content_length_n);
    pre->pos += n;  // what follows the body there is the next request
    in.content_length_n -= n;
    r->request_length += n;
    static u_char scratch[64 * 1024];
    ngx_connection_t *c = r->connection;
    while (in.content_length_n > 0 && c->read->ready) {
        auto size = static_cast<size_t>(std::min<off_t>(in.content_length_n, sizeof(scratch)));
        ssize_t got = c->recv(c, scratch, size);
        if (got == NGX_AGAIN) {
            break;
        }
        if (got == NGX_ERROR || got == 0) {
            // As nginx's discard does: the answer is attempted, the
            // connection is not kept.
            if (got == NGX_ERROR) {
                c->error = 1;
            }
            r->keepalive = 0;
            return NGX_OK;
        }
        in.content_length_n -= got;
        r->request_length += got;
    }
    return in.content_length_n > 0 ? ngx_http_discard_request_body(r) : NGX_OK;
}

ngx_int_t reject(ngx_http_request_t *r, Dialect d, int status, std::string_view message,
                 std::string_view type = {}, std::string_view code = {}) {
    if (discard_refused_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    return send_error(r, d, error_response(d, status, message, type, code));
}

ngx_int_t method_not_allowed(ngx_http_request_t *r, Dialect d, std::string_view allow) {
    if (add_header(r, "Allow", allow) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    std::string msg = "method " + std::string(to_sv(r->method_name)) + " is not allowed on " +
                      std::string(to_sv(r->uri)) + "; use " + std::string(allow);
    return reject(r, d, 405, msg);
}

// Authenticates the presented key. Returns NGX_OK with ctx->key set, or the
// rc of an error response already sent.
ngx_int_t authenticate(ngx_http_request_t *r, RequestCtx *ctx, bool *ok) {
    *ok = false;
    Dialect d = ctx->client;
    std::string_view secret = presented_key(r);
    if (secret.empty()) {
        return reject(r, d, 401,
                      "missing API key: send it in the x-api-key header or as "
                      "Authorization: Bearer <key>",
                      {}, "missing_api_key");
    }
    store::StoreReader *reader = store_reader(r);
    if (reader == nullptr) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "llmproxy: store is not available, refusing request");
        return reject(r, d, 503, "the gateway's key store is not available");
    }
    auto found = reader->find_key(secret);
    if (!found.ok()) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "llmproxy: key lookup failed: %s",
                      found.error().describe().c_str());
        return reject(r, d, 503, "the gateway's key store is not available");
    }
    if (!found->has_value()) {
        return reject(r, d, 401, "invalid API key", {}, "invalid_api_key");
    }
    store::KeyRecord &key = **found;
    if (key.disabled) {
        return reject(r, d, 401, "API key " + key.id + " is disabled", {}, "invalid_api_key");
    }
    if (key.expires_at != 0 && key.expires_at <= static_cast<std::int64_t>(ngx_time())) {
        return reject(r, d, 401, "API key " + key.id + " has expired", {}, "invalid_api_key");
    }
    ctx->key = std::move(key);
    *ok = true;
    return NGX_OK;
}

ngx_int_t probe_response(ngx_http_request_t *r) {
    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return method_not_allowed(r, guess_dialect(r, Endpoint::kRoot), "GET, HEAD");
    }
    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    return send_response(r, NGX_HTTP_OK, "application/json", R"({"status":"ok"})");
}

// The body as one contiguous view: a single memory buffer is used in place;
// anything else (several buffers, spilled to a temp file) is copied once,
// and nginx's buffers are then given back (one copy of a body is kept).
Status gather_body(ngx_http_request_t *r, RequestCtx *ctx, std::string_view *out) {
    if (r->request_body == nullptr || r->request_body->bufs == nullptr) {
        *out = {};
        return Status();
    }
    ngx_chain_t *cl = r->request_body->bufs;
    if (cl->next == nullptr && !cl->buf->in_file) {
        *out = {reinterpret_cast<const char *>(cl->buf->pos),
                static_cast<std::size_t>(cl->buf->last - cl->buf->pos)};
        return Status();
    }
    std::string &body = ctx->body_copy;
    std::size_t total = 0;
    for (ngx_chain_t *c = cl; c != nullptr; c = c->next) {
        total += c->buf->in_file ? static_cast<std::size_t>(c->buf->file_last - c->buf->file_pos)
                                 : static_cast<std::size_t>(c->buf->last - c->buf->pos);
    }
    body.reserve(total);  // one allocation, not one per growth
    for (; cl != nullptr; cl = cl->next) {
        ngx_buf_t *b = cl->buf;
        if (b->in_file) {
            off_t size = b->file_last - b->file_pos;
            std::size_t at = body.size();
            body.resize(at + static_cast<std::size_t>(size));
            ssize_t n = ngx_read_file(b->file, reinterpret_cast<u_char *>(&body[at]),
                                      static_cast<size_t>(size), b->file_pos);
            if (n != static_cast<ssize_t>(size)) {
                return make_error(ErrorCode::kInternal, "", "cannot read the request body file");
            }
        } else {
            body.append(reinterpret_cast<const char *>(b->pos),
                        static_cast<std::size_t>(b->last - b->pos));
        }
    }
    release_client_body(r);
    *out = body;
    return Status();
}

bool model_allowed(const store::KeyRecord &key, std::string_view model) {
    if (key.models.empty()) return true;
    for (const auto &pattern : key.models) {
        if (store::pattern_matches(pattern, model)) return true;
    }
    return false;
}

void log_snapshot_warnings(ngx_http_request_t *r, store::StoreReader *reader,
                           const store::Snapshot &snap) {
    MainConf *mcf = main_conf(r);
    if (mcf->warned_txn == snap.txn_id) return;
    mcf->warned_txn = snap.txn_id;
    for (const auto &w : reader->warnings()) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0, "llmproxy: store: %s", w.c_str());
    }
}

// The current store snapshot, or an error response already sent (*rc).
bool load_snapshot(ngx_http_request_t *r, RequestCtx *ctx, ngx_int_t *rc) {
    store::StoreReader *reader = store_reader(r);
    auto snap = reader != nullptr ? reader->snapshot()
                                  : Result<std::shared_ptr<const store::Snapshot>>(
                                        make_error(ErrorCode::kUnavailable, "", "store not open"));
    if (!snap.ok()) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "llmproxy: store snapshot failed: %s",
                      snap.error().describe().c_str());
        *rc = send_error(r, ctx->client,
                         error_response(ctx->client, 503, "the gateway's store is not available"));
        return false;
    }
    ctx->snapshot = std::move(snap.value());
    log_snapshot_warnings(r, reader, *ctx->snapshot);
    return true;
}

ngx_int_t list_models(ngx_http_request_t *r, RequestCtx *ctx) {
    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ngx_int_t rc;
    if (!load_snapshot(r, ctx, &rc)) {
        return rc;
    }
    return send_response(r, NGX_HTTP_OK, "application/json",
                         models_response(ctx->client, listable_models(*ctx->snapshot, *ctx->key)));
}

// Claude Code scenario routing (core/scenario.hpp): a fitting scenario with a
// route configured wins over the model's pattern route. Only stores with
// scenario routes pay for the full parse (and the token estimate only with
// a long-context route). Returns NGX_OK, or the rc of an error sent.
ngx_int_t scenario_route(ngx_http_request_t *r, RequestCtx *ctx,
                         const store::RouteRecord **route) {
    const store::RouteTable &routes = ctx->snapshot->routes;
    if (!routes.has_scenarios()) {
        return NGX_OK;
    }
    if (Status st = ensure_parsed(ctx->parsed, json_limits(r)); !st.ok()) {
        return send_error(r, ctx->client, error_response(ctx->client, st.error()));
    }
    auto has_route = [&](std::string_view key) { return routes.scenario(key) != nullptr; };
    std::uint64_t threshold = 0;
    if (const store::RouteRecord *lc = routes.scenario("scenario:long-context")) {
        threshold = lc->threshold != 0 ? lc->threshold : store::kDefaultLongContextThreshold;
    }
    RequestFacts &facts = ctx->parsed.facts;
    if (long_context_estimate_needed(threshold, has_route)) {
        facts.estimated_input_tokens = estimate_input_tokens(ctx->parsed);
    }
    Scenario s = classify(facts, threshold, has_route);
    if (s != Scenario::kNone) {
        *route = routes.scenario(scenario_route_key(s));
    }
    return NGX_OK;
}

// Everything after the body has been read; returns what a content handler
// would return (an rc to finalize with, or NGX_DONE when a subrequest runs).
ngx_int_t handle_inference(ngx_http_request_t *r, RequestCtx *ctx) {
    Dialect d = ctx->client;
    std::string_view body;
    if (Status gathered = gather_body(r, ctx, &body); !gathered.ok()) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "llmproxy: %s",
                      gathered.error().describe().c_str());
        return send_error(r, d, error_response(d, gathered.error()));
    }
    if (body.empty()) {
        return send_error(r, d, error_response(d, 400, "request body is empty"));
    }
    JsonLimits limits = json_limits(r);
    // Passthrough needs only model and stream; the full parse happens when a
    // translation, a token estimate or a scenario decision needs it.
    Status st = ctx->endpoint == Endpoint::kCountTokens ? parse_request(d, body, limits, ctx->parsed)
                                                        : peek_request(d, body, limits, ctx->parsed);
    if (!st.ok()) {
        return send_error(r, d, error_response(d, st.error()));
    }
    const std::string &model = ctx->parsed.facts.model;
    if (!model_allowed(*ctx->key, model)) {
        return send_error(r, d,
                          error_response(d, 403,
                                         "API key " + ctx->key->id + " may not use model " + model,
                                         {}, "model_not_allowed"));
    }
    if (ctx->endpoint == Endpoint::kCountTokens) {
        std::string json = "{\"input_tokens\":" +
                           std::to_string(estimate_input_tokens(ctx->parsed)) + "}";
        return send_response(r, NGX_HTTP_OK, "application/json", json);
    }
    ngx_int_t rc;
    if (!load_snapshot(r, ctx, &rc)) {
        return rc;
    }

    const store::RouteRecord *route = nullptr;
    if (ngx_int_t rc2 = scenario_route(r, ctx, &route); rc2 != NGX_OK) {
        return rc2;
    }
    if (route == nullptr) {
        route = ctx->snapshot->routes.match(model);
    }
    if (route == nullptr || route->targets.empty()) {
        return send_error(r, d,
                          error_response(d, 404, "model " + model + " is not served here (no route)",
                                         {}, "model_not_found"));
    }
    ctx->route = route;
    ctx->route_key = route->pattern;
    return start_route(r, ctx);
}

void body_read_handler(ngx_http_request_t *r) noexcept {
    RequestCtx *ctx = get_ctx(r);
    ngx_int_t rc;
    try {
        rc = handle_inference(r, ctx);
    } catch (const std::bad_alloc &) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "llmproxy: out of memory");
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "llmproxy: %s", e.what());
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (rc == NGX_DONE) {
        return;  // the upstream subrequest owns the request now
    }
    ngx_http_finalize_request(r, rc);
}

ngx_int_t handle(ngx_http_request_t *r) {
    Endpoint ep = classify(r);
    if (ep == Endpoint::kRoot || ep == Endpoint::kHello) {
        return probe_response(r);
    }
    RequestCtx *ctx = create_ctx(r);
    if (ctx == nullptr) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ctx->endpoint = ep;
    ctx->client = guess_dialect(r, ep);
    if (ep == Endpoint::kUnknown) {
        return reject(r, ctx->client, 404,
                      "no such endpoint: " + std::string(to_sv(r->uri)), "not_found_error",
                      "unknown_url");
    }
    if (ep == Endpoint::kModels) {
        if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
            return method_not_allowed(r, ctx->client, "GET");
        }
    } else if (r->method != NGX_HTTP_POST) {
        return method_not_allowed(r, ctx->client, "POST");
    }
    bool ok = false;
    ngx_int_t rc = authenticate(r, ctx, &ok);
    if (!ok) {
        return rc;
    }
    if (ep == Endpoint::kModels) {
        return list_models(r, ctx);
    }
    rc = ngx_http_read_client_request_body(r, body_read_handler);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }
    return NGX_DONE;
}

}  // namespace

RequestCtx *get_ctx(ngx_http_request_t *r) {
    return static_cast<RequestCtx *>(ngx_http_get_module_ctx(r, ngx_http_llmproxy_module));
}

ngx_int_t content_handler(ngx_http_request_t *r) noexcept {
    try {
        return handle(r);
    } catch (const std::bad_alloc &) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "llmproxy: out of memory");
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "llmproxy: %s", e.what());
    }
    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}

void release_client_body(ngx_http_request_t *r) {
    ngx_http_request_body_t *rb = r->request_body;
    if (rb == nullptr) {
        return;
    }
    for (ngx_chain_t *cl = rb->bufs; cl != nullptr; cl = cl->next) {
        if (!cl->buf->in_file && cl->buf->start != nullptr) {
            ngx_pfree(r->pool, cl->buf->start);  // frees large allocations only
        }
    }
    rb->bufs = nullptr;
    rb->buf = nullptr;
}

}  // namespace llmproxy::ngx
