/*
 * The route's targets, tried in order: breaker admission, per-attempt
 * timeouts, and after each attempt the decision to finish, retry the same
 * target (with backoff), fall back to the next one, or give up with the
 * mapped error. Retries and fallbacks happen only while nothing has been
 * sent to the client.
 */
#include "ngx_http_llmproxy.hpp"

#include <algorithm>
#include <exception>

#include "core/errors.hpp"

namespace llmproxy::ngx {
namespace {

// Why an attempt failed, and what the client gets if nothing better comes.
struct Failure {
    FailureKind kind = FailureKind::kConnect;
    int status = 502;
    ErrorResponse error;
    std::optional<std::uint64_t> retry_after_ms;
};

ngx_int_t begin_attempt(ngx_http_request_t *r, RequestCtx *ctx, const ErrorResponse *fallback);

void watch_handler(ngx_event_t *ev) noexcept;

// An attempt over its time: emulate nginx's own timer expiry on the upstream
// connection, so the upstream module ends the attempt as a timeout (504)
// through its normal path.
void abort_attempt(RequestCtx *ctx) {
    ngx_http_request_t *sr = ctx->at.sr;
    ngx_http_upstream_t *u = sr != nullptr ? sr->upstream : nullptr;
    if (u == nullptr || u->peer.connection == nullptr) {
        return;  // still resolving: resolver_timeout ends it
    }
    ctx->at.timed_out = true;
    ngx_event_t *ev = u->request_sent ? u->peer.connection->read : u->peer.connection->write;
    ev->timedout = 1;
    ev->handler(ev);
}

// Next time a timeout could expire for the running attempt, 0 if now.
ngx_msec_t watch_remaining(RequestCtx *ctx) {
    const TimeoutConfig &t = ctx->at.timeout;
    ngx_msec_t now = ngx_current_msec;
    ngx_msec_t deadline = ctx->started + static_cast<ngx_msec_t>(t.total_ms);
    // Until the request has gone out the connection is still being made:
    // the connect timeout applies (bounded by the first-byte one).
    ngx_http_upstream_t *u = ctx->at.sr != nullptr ? ctx->at.sr->upstream : nullptr;
    std::uint64_t first_byte_ms = t.first_byte_ms;
    if (u == nullptr || !u->request_sent) {
        first_byte_ms = std::min(first_byte_ms, t.connect_ms);
    }
    ngx_msec_t attempt_deadline =
        ctx->at.got_data ? ctx->at.last_data + static_cast<ngx_msec_t>(t.idle_ms)
                         : ctx->at.started + static_cast<ngx_msec_t>(first_byte_ms);
    if (attempt_deadline < deadline) deadline = attempt_deadline;
    return deadline > now ? deadline - now : 0;
}

void watch_handler(ngx_event_t *ev) noexcept {
    auto *ctx = static_cast<RequestCtx *>(ev->data);
    if (ctx->at.sr == nullptr || ctx->at.post_subrequest_done) {
        return;
    }
    ngx_msec_t left = watch_remaining(ctx);
    if (left > 0) {
        ngx_add_timer(ev, left);  // data arrived since: look again later
        return;
    }
    ngx_log_error(NGX_LOG_WARN, ev->log, 0, "llmproxy: provider \"%s\" %s timed out",
                  ctx->at.provider->record.name.c_str(),
                  ctx->at.got_data ? "stream (idle or total time)" : "first byte");
    abort_attempt(ctx);
}

void arm_timer(ngx_event_t *ev, ngx_event_handler_pt handler, RequestCtx *ctx, ngx_msec_t ms) {
    ev->handler = handler;
    ev->data = ctx;
    ev->log = ctx->request->connection->log;
    if (ev->timer_set) {
        ngx_del_timer(ev);
    }
    ngx_add_timer(ev, ms);
}

void retry_handler(ngx_event_t *ev) noexcept {
    auto *ctx = static_cast<RequestCtx *>(ev->data);
    ngx_http_request_t *r = ctx->request;
    ngx_connection_t *c = r->connection;
    ngx_int_t rc;
    try {
        rc = begin_attempt(r, ctx, &ctx->last_error);
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0, "llmproxy: %s", e.what());
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (rc != NGX_DONE) {
        ctx->finished = true;
        ngx_http_finalize_request(r, rc);
    }
    ngx_http_run_posted_requests(c);
}

void record(RequestCtx *ctx, bool failure, std::uint64_t retry_after_ms = 0) {
    if (ctx->at.recorded) return;
    ctx->at.recorded = true;
    zone_record(ctx->at.target, loc_conf(ctx->request)->breaker,
                ctx->plan->outcome(failure, retry_after_ms, ngx_current_msec - ctx->at.started));
}

std::string provider_name(const RequestCtx *ctx) { return ctx->at.provider->record.name; }


// A non-stream 2xx: the translated body, or why it cannot be used.
std::optional<Failure> buffered_result(RequestCtx *ctx, std::string *body) {
    Dialect provider = ctx->at.provider->record.format;
    Dialect client = ctx->client;
    Failure f;
    f.kind = FailureKind::kStatus;
    f.status = 502;
    if (!ctx->at.decode_error.empty()) {
        f.error = error_response(client, 502, ctx->at.decode_error);
        return f;
    }
    if (!ctx->at.upstream_complete || ctx->at.collected_truncated) {
        f.kind = FailureKind::kStreamError;
        f.error = error_response(client, 502,
                                 ctx->at.collected_truncated
                                     ? "provider response exceeds llmproxy_max_response_size"
                                     : "provider response was cut short");
        return f;
    }
    if (ctx->parsed.facts.stream) {
        // Asked for a stream, got JSON: usually an error object with 200.
        f.error = map_upstream_error(provider, client, 502, ctx->at.collected);
        return f;
    }
    auto translated = translate_response(provider, client, ctx->at.collected,
                                         ctx->at.translated.response, &ctx->usage);
    if (!translated.ok()) {
        ngx_log_error(NGX_LOG_WARN, ctx->request->connection->log, 0,
                      "llmproxy: invalid response from provider \"%s\": %s",
                      provider_name(ctx).c_str(), translated.error().describe().c_str());
        f.error = error_response(client, 502, "provider returned an invalid response: " +
                                                  translated.error().describe());
        return f;
    }
    *body = std::move(translated.value());
    return std::nullopt;
}

// Classifies an attempt that ended before anything reached the client.
std::optional<Failure> attempt_failure(RequestCtx *ctx, std::string *body) {
    Dialect client = ctx->client;
    Failure f;
    switch (ctx->at.mode) {
    case UpstreamMode::kNone: {
        bool timeout = ctx->at.timed_out || ctx->at.subrequest_rc == NGX_HTTP_GATEWAY_TIME_OUT;
        f.kind = timeout ? FailureKind::kTimeout : FailureKind::kConnect;
        f.status = timeout ? 504 : 502;
        f.error = error_response(client, f.status,
                                 "provider " + provider_name(ctx) +
                                     (timeout ? " timed out" : " is unreachable"));
        return f;
    }
    case UpstreamMode::kCaptureError: {
        f.kind = FailureKind::kStatus;
        f.status = static_cast<int>(ctx->at.upstream_status);
        f.error = map_upstream_error(ctx->at.provider->record.format, client, f.status,
                                     ctx->at.collected);
        f.retry_after_ms = parse_retry_after(ctx->at.retry_after, ctx->at.retry_after_ms,
                                             static_cast<std::int64_t>(ngx_time()));
        return f;
    }
    case UpstreamMode::kBuffer:
        return buffered_result(ctx, body);
    case UpstreamMode::kStream:
    case UpstreamMode::kDiscard:
        f.kind = ctx->at.timed_out ? FailureKind::kTimeout : FailureKind::kStreamError;
        if (ctx->at.stream_failure) {
            f.status = ctx->at.stream_failure->status;
            f.error = error_response(client, f.status, ctx->at.stream_failure->message);
        } else {
            f.status = ctx->at.timed_out ? 504 : 502;
            f.error = error_response(client, f.status,
                                     "provider " + provider_name(ctx) +
                                         " closed the stream before sending any event");
        }
        return f;
    }
    return f;
}

// The last events and the end of the response, in one output call (one
// write, the chunked terminator included).
ngx_int_t send_final(ngx_http_request_t *r, RequestCtx *ctx, std::string_view extra) {
    if (ctx->flush_ev.posted) {
        ngx_delete_posted_event(&ctx->flush_ev);
    }
    ctx->turn_events.append(extra);
    ngx_chain_t *out = nullptr;
    ngx_chain_t **tail = &out;
    if (emit_turn_events(r, ctx, &tail) != NGX_OK) {
        return NGX_ERROR;
    }
    auto *b = static_cast<ngx_buf_t *>(ngx_calloc_buf(r->pool));
    ngx_chain_t *cl = ngx_alloc_chain_link(r->pool);
    if (b == nullptr || cl == nullptr) {
        return NGX_ERROR;
    }
    b->last_buf = 1;
    cl->buf = b;
    cl->next = nullptr;
    *tail = cl;
    ctx->last_output = ngx_current_msec;
    ngx_int_t rc = ngx_http_output_filter(r, out);
    ngx_chain_update_chains(r->pool, &ctx->free, &ctx->busy, &out,
                            reinterpret_cast<ngx_buf_tag_t>(&ngx_http_llmproxy_module));
    return rc;
}

// The stream was committed: end it, with an error event if the provider
// went away before finishing.
ngx_int_t finish_stream(ngx_http_request_t *r, RequestCtx *ctx) {
    if (ctx->at.upstream_complete) {
        return send_final(r, ctx, {});
    }
    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "llmproxy: provider \"%s\" stream ended early%s", provider_name(ctx).c_str(),
                  ctx->at.timed_out ? " (timeout)" : "");
    std::string tail;
    ctx->at.transcoder->fail(ctx->at.timed_out ? 504 : 502,
                             ctx->at.timed_out ? "provider stream timed out"
                                               : "provider stream ended unexpectedly",
                             tail);
    return send_final(r, ctx, tail);
}

// After an attempt: NGX_DONE when another attempt runs or is scheduled,
// otherwise the rc to finalize the request with.
ngx_int_t conclude(ngx_http_request_t *r, RequestCtx *ctx) {
    if (r->connection->error) {
        // The client went away; the access log shows 499 even when a 200
        // header had already been sent.
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "llmproxy: client closed the connection, provider request closed");
        r->headers_out.status = NGX_HTTP_CLIENT_CLOSED_REQUEST;
        return NGX_HTTP_CLIENT_CLOSED_REQUEST;
    }
    if (ctx->committed) {
        return finish_stream(r, ctx);
    }
    std::string body;
    std::optional<Failure> failure = attempt_failure(ctx, &body);
    if (!failure) {
        record(ctx, false);
        if (add_attempt_headers(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }
        return send_response(r, NGX_HTTP_OK, "application/json", body);
    }
    bool target_fault = failure->kind != FailureKind::kStatus || is_failure_status(failure->status);
    record(ctx, target_fault, failure->retry_after_ms.value_or(0));
    LocConf *lcf = loc_conf(r);
    Decision d = ctx->plan->on_failure(lcf->retry, ngx_current_msec - ctx->started, failure->kind,
                                       failure->status, failure->retry_after_ms,
                                       static_cast<std::uint64_t>(ngx_random()) << 32 ^
                                           static_cast<std::uint64_t>(ngx_random()));
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "llmproxy: attempt %uz on \"%s/%s\" failed (%d): %s", ctx->plan->attempts(),
                  provider_name(ctx).c_str(), ctx->at.target_model.c_str(), failure->status,
                  d.action == RetryAction::kRetrySame    ? "retrying"
                  : d.action == RetryAction::kNextTarget ? "next target"
                                                         : "giving up");
    switch (d.action) {
    case RetryAction::kRetrySame:
        if (d.delay_ms == 0) {
            return begin_attempt(r, ctx, &failure->error);
        }
        ctx->last_error = failure->error;
        arm_timer(&ctx->retry_ev, retry_handler, ctx, static_cast<ngx_msec_t>(d.delay_ms));
        return NGX_DONE;
    case RetryAction::kNextTarget:
        return begin_attempt(r, ctx, &failure->error);
    case RetryAction::kGiveUp:
        break;
    }
    // The last attempt's answer: say who gave it, and pass the provider's
    // wait hint on so clients back off as asked.
    if (add_attempt_headers(r, ctx) != NGX_OK ||
        (!ctx->at.retry_after.empty() && add_header(r, "Retry-After", ctx->at.retry_after) != NGX_OK) ||
        (!ctx->at.retry_after_ms.empty() &&
         add_header(r, "retry-after-ms", ctx->at.retry_after_ms) != NGX_OK)) {
        return NGX_ERROR;
    }
    return send_error(r, ctx->client, failure->error);
}

// Starts the next attempt of the route's walk (core RouteAttempts: retry,
// or the next target whose breaker admits it; unknown providers are skipped
// like open breakers). When no target is left, the client gets `fallback`
// (the last attempt's error), or a 503 when no attempt was made.
ngx_int_t begin_attempt(ngx_http_request_t *r, RequestCtx *ctx, const ErrorResponse *fallback) {
    const auto &targets = ctx->route->targets;
    LocConf *lcf = loc_conf(r);
    TargetRef admitted;
    auto admit = [&](std::size_t i, bool last) {
        const store::Target &t = targets[i];
        Admission a;
        if (ctx->snapshot->provider(t.provider) == nullptr) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "llmproxy: route \"%s\" names unknown provider \"%s\"",
                          ctx->route->pattern.c_str(), t.provider.c_str());
            return a;
        }
        admitted = zone_target(main_conf(r)->zone, t.provider, t.model);
        a = zone_admit(admitted, lcf->breaker, last);
        if (!a.allowed) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "llmproxy: breaker open for \"%s/%s\", trying the next target",
                          t.provider.c_str(), t.model.c_str());
        }
        return a;
    };
    std::optional<RouteAttempts::Attempt> next = ctx->plan->next(admit);
    if (!next) {
        return send_error(r, ctx->client,
                          fallback != nullptr
                              ? *fallback
                              : error_response(ctx->client, 503,
                                               "no provider is available for this model"));
    }
    const store::Target &t = targets[next->target];
    const store::ResolvedProvider *p = ctx->snapshot->provider(t.provider);
    Attempt &at = ctx->at;
    at = Attempt{};
    at.provider = p;
    at.target_model = t.model;
    at.target = admitted;
    at.started = ngx_current_msec;
    at.timeout = lcf->timeout;
    if (!p->record.timeouts.empty()) {
        (void) apply_timeout_settings(at.timeout, p->record.timeouts);
    }

    TranslateOptions opts;
    opts.target_model = at.target_model;
    opts.quirks = p->quirks;
    auto cap = p->record.model_max_tokens.find(at.target_model);
    if (cap != p->record.model_max_tokens.end()) {
        opts.max_tokens_cap = cap->second;
    }
    // A translation (or the max_tokens clamp) needs the whole document; a
    // passthrough only the rest of the peek (stream, a duplicate model).
    const bool full_parse = p->record.format != ctx->client || opts.max_tokens_cap;
    if (Status st = full_parse ? ensure_parsed(ctx->parsed, json_limits(r))
                               : finish_peek(ctx->parsed);
        !st.ok()) {
        return send_error(r, ctx->client, error_response(ctx->client, st.error()));
    }
    auto translated = translate_request(ctx->parsed, p->record.format, opts);
    if (!translated.ok()) {
        return send_error(r, ctx->client, error_response(ctx->client, translated.error()));
    }
    at.translated = std::move(translated.value());
    // The request's DOM is not needed while the attempt runs (a retry that
    // translates parses again): thousands of waiting requests hold only
    // their body and its translation.
    rapidjson::Document().Swap(ctx->parsed.doc);
    ctx->parsed.doc_text.reset();
    ngx_int_t rc = start_upstream(r, ctx);
    if (rc != NGX_DONE) {
        return rc == NGX_ERROR ? NGX_HTTP_INTERNAL_SERVER_ERROR : rc;
    }
    arm_timer(&ctx->watch_ev, watch_handler, ctx, watch_remaining(ctx));
    return NGX_DONE;
}

}  // namespace

ngx_int_t add_attempt_headers(ngx_http_request_t *r, const RequestCtx *ctx) {
    if (add_header(r, "x-llmproxy-provider", provider_name(ctx)) != NGX_OK ||
        add_header(r, "x-llmproxy-model", ctx->at.target_model) != NGX_OK ||
        add_header(r, "x-llmproxy-route", ctx->route_key) != NGX_OK) {
        return NGX_ERROR;
    }
    return NGX_OK;
}

ngx_int_t start_route(ngx_http_request_t *r, RequestCtx *ctx) {
    ctx->started = ngx_current_msec;
    ctx->plan.emplace(ctx->route->targets.size());
    return begin_attempt(r, ctx, nullptr);
}

void attempt_committed(RequestCtx *ctx) {
    record(ctx, false);
    // No retry can follow a committed stream: drop what only a new attempt
    // would need, so thousands of long-lived streams cost little memory
    // each. Once nginx has sent all of the provider's body (the subrequest's
    // buffers point into it), that goes too, and with it the client's
    // body: the body copy or nginx's buffers, which a passthrough sends from.
    ngx_http_request_t *sr = ctx->at.sr;
    if (sr != nullptr && sr->upstream != nullptr && sr->upstream->request_body_sent) {
        std::string().swap(ctx->at.translated.body);
        ctx->at.translated.head = ctx->at.translated.tail = {};
        std::string().swap(ctx->body_copy);
        ctx->parsed.raw = {};
        release_client_body(ctx->request);
    }
}

void attempt_abandoned(RequestCtx *ctx) {
    // Not the provider's fault; a probe still reports, so the breaker can move on.
    record(ctx, false);
    ctx->request->headers_out.status = NGX_HTTP_CLIENT_CLOSED_REQUEST;
}

void stop_timers(RequestCtx *ctx) {
    for (ngx_event_t *ev : {&ctx->ping_ev, &ctx->watch_ev, &ctx->retry_ev}) {
        if (ev->timer_set) {
            ngx_del_timer(ev);
        }
    }
    if (ctx->flush_ev.posted) {
        ngx_delete_posted_event(&ctx->flush_ev);
    }
}

void attempt_finished(ngx_http_request_t *r) noexcept {
    RequestCtx *ctx = get_ctx(r);
    if (ctx == nullptr || !ctx->at.post_subrequest_done || ctx->finished) {
        return;
    }
    if (ctx->watch_ev.timer_set) {
        ngx_del_timer(&ctx->watch_ev);
    }
    r->write_event_handler = ngx_http_request_empty_handler;
    ngx_int_t rc;
    try {
        rc = conclude(r, ctx);
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "llmproxy: %s", e.what());
        rc = ctx->committed ? NGX_ERROR : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (rc == NGX_DONE) {
        return;  // another attempt runs or waits for its retry timer
    }
    ctx->finished = true;
    stop_timers(ctx);
    ngx_http_finalize_request(r, rc);
}

}  // namespace llmproxy::ngx
