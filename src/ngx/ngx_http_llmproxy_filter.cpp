/*
 * Header and body filters on the upstream subrequest: they turn the
 * provider's response into the client's dialect as it arrives (whole events
 * only, in flushed buffers; the events of one event-loop turn leave in one
 * buffer and one write),
 * hold the client's header back until the first event is known to be good,
 * and send keepalive pings while the provider is silent.
 */
#include "ngx_http_llmproxy.hpp"

#include <exception>

#include "core/errors.hpp"
#include "core/inflate.hpp"
#include "core/sse.hpp"

namespace llmproxy::ngx {
namespace {

ngx_http_output_header_filter_pt next_header_filter;
ngx_http_output_body_filter_pt next_body_filter;

bool is_attempt(ngx_http_request_t *r, RequestCtx **out) {
    if (r == r->main) return false;
    RequestCtx *ctx = get_ctx(r);
    if (ctx == nullptr || ctx->at.sr != r) return false;
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
    ngx_http_request_t *sr = ctx->at.sr;
    if (ctx->finished || ctx->at.post_subrequest_done || sr == nullptr) {
        return;
    }
    ngx_msec_t interval = loc_conf(ctx->request)->ping_interval;
    // Events held for this turn's write are output: not idle, and a ping
    // now would overtake them.
    ngx_msec_t idle = ctx->turn_events.empty() ? ngx_current_msec - ctx->last_output : 0;
    if (idle >= interval) {
        if (pass_events(sr, ctx, keepalive_event(ctx->client)) == NGX_ERROR) {
            ngx_log_error(NGX_LOG_INFO, ev->log, 0, "llmproxy: sending a keepalive ping failed");
            return;
        }
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
        add_attempt_headers(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }
    attempt_committed(ctx);
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
        ctx->at.upstream_status = status;
        // The subrequest's own header never reaches the client: the main
        // request's header is sent by commit_stream_header or resume_parent.
        r->header_sent = 1;
        r->filter_need_in_memory = 1;
        ctx->at.got_data = true;
        ctx->at.last_data = ngx_current_msec;
        if (r->headers_out.content_encoding != nullptr &&
            r->headers_out.content_encoding->value.len > 0) {
            // Asked for identity, got compressed anyway: decode, bounded.
            std::string_view enc = to_sv(r->headers_out.content_encoding->value);
            if (Inflater::handles(enc)) {
                auto inf = Inflater::create(enc, loc_conf(ctx->request)->max_response_size);
                if (inf.ok()) ctx->at.inflater = std::move(inf.value());
            } else if (enc != "identity") {
                ctx->at.decode_error = "provider used unsupported content encoding " +
                                    std::string(enc);
            }
        }
        if (status < 200 || status >= 300) {
            ctx->at.mode = UpstreamMode::kCaptureError;
            if (ngx_table_elt_t *h = find_response_header(r, "retry-after")) {
                ctx->at.retry_after.assign(to_sv(h->value));
            }
            if (ngx_table_elt_t *h = find_response_header(r, "retry-after-ms")) {
                ctx->at.retry_after_ms.assign(to_sv(h->value));
            }
        } else if (ctx->parsed.facts.stream && is_event_stream(r)) {
            ctx->at.transcoder = make_stream_transcoder(ctx->at.provider->record.format, ctx->client,
                                                     ctx->at.translated.response);
            ctx->at.mode = UpstreamMode::kStream;
        } else {
            ctx->at.mode = UpstreamMode::kBuffer;
        }
        return NGX_OK;
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "llmproxy: header filter: %s",
                      e.what());
        return NGX_ERROR;
    }
}

// The provider's bytes, decoded when it compressed them. On a decoding
// error ctx->at.decode_error is set and nothing is returned.
std::string_view decoded(RequestCtx *ctx, std::string_view bytes) {
    if (!ctx->at.inflater || !ctx->at.decode_error.empty()) {
        return ctx->at.decode_error.empty() ? bytes : std::string_view{};
    }
    ctx->at.inflated.clear();
    if (Status st = ctx->at.inflater->feed(bytes, ctx->at.inflated); !st.ok()) {
        ctx->at.decode_error = st.error().describe();
        return {};
    }
    return ctx->at.inflated;
}

// Appends the bytes of `in` to ctx->at.collected (bounded), consuming them.
void collect(RequestCtx *ctx, ngx_chain_t *in, std::size_t cap) {
    for (ngx_chain_t *cl = in; cl != nullptr; cl = cl->next) {
        ngx_buf_t *b = cl->buf;
        std::size_t n = static_cast<std::size_t>(b->last - b->pos);
        if (n > 0) {
            std::string_view data = decoded(ctx, {reinterpret_cast<const char *>(b->pos), n});
            std::size_t room = cap > ctx->at.collected.size() ? cap - ctx->at.collected.size() : 0;
            if (data.size() > room) {
                ctx->at.collected_truncated = true;
                data = data.substr(0, room);
            }
            ctx->at.collected.append(data);
            b->pos = b->last;
        }
        if (b->last_in_chain || b->last_buf) {
            ctx->at.upstream_complete = true;
        }
    }
}

// One flushed memory buffer of `size` bytes at `data`, appended at *tail.
ngx_int_t queue_event_buf(ngx_http_request_t *r, RequestCtx *ctx, u_char *data, std::size_t size,
                          ngx_chain_t ***tail) {
    ngx_chain_t *cl = ngx_chain_get_free_buf(r->pool, &ctx->free);
    if (cl == nullptr) {
        return NGX_ERROR;
    }
    ngx_buf_t *b = cl->buf;
    b->start = b->pos = data;
    b->end = b->last = data + size;
    b->memory = 1;
    b->flush = 1;
    b->tag = reinterpret_cast<ngx_buf_tag_t>(&ngx_http_llmproxy_module);
    **tail = cl;
    *tail = &cl->next;
    return NGX_OK;
}

}  // namespace

// Queues `data` (whole SSE events, each ending "\n\n") as one flushed
// buffer. Every event in it is complete, so the client never waits on a
// partial one; one buffer instead of one per event spares nginx a chain link
// per event in each filter (copy, chunked, write) on the way out. The buffer
// lies in a block that is reused once everything sent from it has left (no
// busy buffers); otherwise a new one is taken, which back-pressure makes rare.
ngx_int_t emit_events(ngx_http_request_t *r, RequestCtx *ctx, std::string_view data,
                      ngx_chain_t ***tail) {
    if (data.empty()) {
        return NGX_OK;
    }
    u_char *block = ctx->event_block;
    if (ctx->busy != nullptr || ctx->event_block_size < data.size()) {
        std::size_t size = (data.size() + 255) & ~static_cast<std::size_t>(255);
        block = static_cast<u_char *>(ngx_palloc(r->pool, size));
        if (block == nullptr) {
            return NGX_ERROR;
        }
        if (ctx->busy == nullptr) {
            if (ctx->event_block != nullptr) {
                ngx_pfree(r->pool, ctx->event_block);  // frees large blocks only
            }
            ctx->event_block = block;
            ctx->event_block_size = size;
        }
    }
    ngx_memcpy(block, data.data(), data.size());
    return queue_event_buf(r, ctx, block, data.size(), tail);
}

// Queues the turn's events (ctx->turn_events) like emit_events, without the
// copy when nothing sent earlier is still in nginx's hands: the string itself
// becomes the buffer (ctx->sending), and the one sent before, free again,
// takes the next turn's events with its capacity.
ngx_int_t emit_turn_events(ngx_http_request_t *r, RequestCtx *ctx, ngx_chain_t ***tail) {
    if (ctx->turn_events.empty()) {
        return NGX_OK;
    }
    if (ctx->busy != nullptr) {
        ngx_int_t rc = emit_events(r, ctx, ctx->turn_events, tail);
        ctx->turn_events.clear();
        return rc;
    }
    ctx->sending.swap(ctx->turn_events);
    ctx->turn_events.clear();
    return queue_event_buf(r, ctx, reinterpret_cast<u_char *>(ctx->sending.data()),
                           ctx->sending.size(), tail);
}

namespace {

constexpr std::size_t kTurnEventsMax = 64 * 1024;

// Writes the queued event buffers: from the subrequest while it runs, from
// the main request after it. What nginx could not send yet stays busy.
ngx_int_t output_events(ngx_http_request_t *r, RequestCtx *ctx, ngx_chain_t *out) {
    if (out == nullptr) {
        return NGX_OK;
    }
    ctx->last_output = ngx_current_msec;
    ngx_int_t rc = r == r->main ? ngx_http_output_filter(r, out) : next_body_filter(r, out);
    ngx_chain_update_chains(r->pool, &ctx->free, &ctx->busy, &out,
                            reinterpret_cast<ngx_buf_tag_t>(&ngx_http_llmproxy_module));
    return rc;
}

// Writes the events of this turn (ctx->turn_events) through the subrequest.
ngx_int_t flush_turn_events(ngx_http_request_t *sr, RequestCtx *ctx) {
    if (ctx->flush_ev.posted) {
        ngx_delete_posted_event(&ctx->flush_ev);
    }
    ngx_chain_t *out = nullptr;
    ngx_chain_t **tail = &out;
    if (emit_turn_events(sr, ctx, &tail) != NGX_OK) {
        return NGX_ERROR;
    }
    return output_events(sr, ctx, out);
}

// Posted at the first event of a turn; runs after the turn's I/O handlers.
void flush_handler(ngx_event_t *ev) noexcept {
    auto *ctx = static_cast<RequestCtx *>(ev->data);
    ngx_http_request_t *sr = ctx->at.sr;
    if (ctx->finished || ctx->at.post_subrequest_done || sr == nullptr ||
        ctx->turn_events.empty()) {
        return;  // send_final took them, or the request is gone
    }
    try {
        if (flush_turn_events(sr, ctx) == NGX_ERROR) {
            ngx_log_error(NGX_LOG_INFO, ev->log, 0, "llmproxy: writing stream events failed");
        }
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, ev->log, 0, "llmproxy: flush: %s", e.what());
    }
}

// Feeds `data` one provider event at a time until the transcoder has output
// something; returns what is left. Until the response is committed, a burst's
// first output then leaves before the rest of the burst is transcoded.
std::string_view feed_until_output(StreamTranscoder &transcoder, std::string_view data,
                                   std::string &out) {
    const std::size_t before = out.size();
    while (!data.empty() && out.size() == before) {
        std::size_t end = sse_first_event_end(data);
        transcoder.feed(data.substr(0, end), out);
        data.remove_prefix(end);
    }
    return data;
}

// Consumes the provider's bytes not transcoded (the attempt is discarded).
void drop_pending(ngx_http_request_t *r, RequestCtx *ctx) {
    while (ctx->pending != nullptr) {
        ngx_chain_t *cl = ctx->pending;
        cl->buf->pos = cl->buf->last;
        if (cl->buf->last_in_chain || cl->buf->last_buf) {
            ctx->at.upstream_complete = true;
        }
        ctx->pending = cl->next;
        ngx_free_chain(r->pool, cl);
    }
}

enum class FirstEvents { kSent, kDiscarded, kError };

// The first events of a response (ctx->turn_events from `before` on): a
// provider that answers 200 and then an error is a failed attempt that can
// still be retried elsewhere; otherwise the client's header and these events
// leave at once (time to first event).
FirstEvents send_first_events(ngx_http_request_t *r, RequestCtx *ctx, std::size_t before) {
    std::string &out = ctx->turn_events;
    if (auto failure = leading_stream_error(ctx->client, std::string_view(out).substr(before))) {
        ctx->at.stream_failure = std::move(failure);
        ctx->at.mode = UpstreamMode::kDiscard;
        out.resize(before);
        return FirstEvents::kDiscarded;
    }
    if (commit_stream_header(ctx) != NGX_OK || flush_turn_events(r, ctx) == NGX_ERROR) {
        return FirstEvents::kError;
    }
    return FirstEvents::kSent;
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
    // The transcoder appends straight to this turn's events (no staging
    // copy); what it adds this call starts at `before`.
    std::string &out = ctx->turn_events;
    std::size_t before = out.size();
    // Room for about as much as comes in (a passthrough's output is its
    // input): one allocation instead of a doubling per size on the way up.
    auto reserve_for = [&out](std::size_t incoming, ngx_chain_t *more) {
        for (ngx_chain_t *cl = more; cl != nullptr; cl = cl->next) {
            incoming += static_cast<std::size_t>(cl->buf->last - cl->buf->pos);
        }
        if (out.capacity() - out.size() < incoming) {
            out.reserve(out.size() + incoming);
        }
    };
    reserve_for(0, ctx->pending);
    while (ctx->pending != nullptr) {
        ngx_chain_t *cl = ctx->pending;
        ngx_buf_t *b = cl->buf;
        std::size_t n = static_cast<std::size_t>(b->last - b->pos);
        std::string_view data;
        if (n > 0) {
            data = decoded(ctx, {reinterpret_cast<const char *>(b->pos), n});
            b->pos = b->last;
        }
        if (b->last_in_chain || b->last_buf) {
            ctx->at.upstream_complete = true;
        }
        ctx->pending = cl->next;
        ngx_free_chain(r->pool, cl);
        if (!ctx->at.decode_error.empty()) {
            if (n > 0) ctx->at.transcoder->fail(502, ctx->at.decode_error, out);
            continue;
        }
        if (!ctx->committed && !data.empty()) {
            data = feed_until_output(*ctx->at.transcoder, data, out);
            if (out.size() > before) {
                switch (send_first_events(r, ctx, before)) {
                case FirstEvents::kDiscarded: drop_pending(r, ctx); return NGX_OK;
                case FirstEvents::kError: return NGX_ERROR;
                case FirstEvents::kSent: break;
                }
                // The rest of this turn's events, in the string sent before.
                before = out.size();
                reserve_for(data.size(), ctx->pending);
            }
        }
        if (!data.empty()) {
            ctx->at.transcoder->feed(data, out);
        }
    }
    if (ctx->at.upstream_complete) {
        ctx->at.transcoder->finish(out);
    }
    // Output only at the end (an error event, or events the provider's end
    // completed) is still the first.
    if (!ctx->committed && out.size() > before) {
        FirstEvents sent = send_first_events(r, ctx, before);
        return sent == FirstEvents::kError ? NGX_ERROR : NGX_OK;
    }
    // Later events go out in the event-loop turn they arrived in, but
    // together: nginx reads the provider in several buffers per turn, and
    // the end of the response comes in a call of its own. One write per turn
    // (the posted flush, or send_final with the response's end) instead of
    // one per buffer. A large turn is written at once, for back-pressure.
    if (ctx->turn_events.size() < kTurnEventsMax) {
        if (!ctx->turn_events.empty() && !ctx->flush_ev.posted) {
            ctx->flush_ev.handler = flush_handler;
            ctx->flush_ev.data = ctx;
            ctx->flush_ev.log = r->connection->log;
            ngx_post_event(&ctx->flush_ev, &ngx_posted_events);
        }
        return NGX_OK;
    }
    return flush_turn_events(r, ctx);
}

ngx_int_t body_filter(ngx_http_request_t *r, ngx_chain_t *in) noexcept {
    RequestCtx *ctx;
    if (!is_attempt(r, &ctx)) {
        return next_body_filter(r, in);
    }
    try {
        LocConf *lcf = loc_conf(ctx->request);
        if (in != nullptr) {
            ctx->at.got_data = true;
            ctx->at.last_data = ngx_current_msec;
        }
        switch (ctx->at.mode) {
        case UpstreamMode::kStream:
            return transcode(r, ctx, in);
        case UpstreamMode::kBuffer:
            collect(ctx, in, lcf->max_response_size);
            return NGX_OK;
        case UpstreamMode::kCaptureError:
        case UpstreamMode::kNone:
            collect(ctx, in, lcf->max_error_size);
            return NGX_OK;
        case UpstreamMode::kDiscard:
            collect(ctx, in, 0);
            return NGX_OK;
        }
        return NGX_OK;
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "llmproxy: body filter: %s", e.what());
        return NGX_ERROR;
    }
}

}  // namespace

ngx_int_t pass_events(ngx_http_request_t *r, RequestCtx *ctx, std::string_view data) {
    ngx_chain_t *out = nullptr;
    ngx_chain_t **tail = &out;
    if (emit_events(r, ctx, data, &tail) != NGX_OK) {
        return NGX_ERROR;
    }
    return output_events(r, ctx, out);
}

ngx_int_t init_upstream_filters(ngx_conf_t *cf) {
    next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = header_filter;
    next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = body_filter;
    return NGX_OK;
}

}  // namespace llmproxy::ngx
