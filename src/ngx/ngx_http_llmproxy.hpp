/*
 * llmproxy nginx glue: shared declarations. The business logic lives in
 * src/core (no nginx headers there); these files only adapt it to nginx's
 * phases, pools, chains, subrequests and filters.
 */
#pragma once

extern "C" {
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

extern ngx_module_t ngx_http_llmproxy_module;
}

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/breaker.hpp"
#include "core/errors.hpp"
#include "core/retry_policy.hpp"
#include "core/inflate.hpp"
#include "core/store.hpp"
#include "core/translate.hpp"

namespace llmproxy::ngx {

/* llmproxy_zone: breaker state and counters shared by all workers. */
struct Zone {
    ngx_shm_zone_t           *shm_zone;
    ngx_slab_pool_t          *shpool;
    void                     *header;   /* ZoneHeader, see zone.cpp */
};

/* One (provider, model) slot of the zone; state is null when untracked. */
struct TargetRef {
    Zone                     *zone = nullptr;
    BreakerState             *state = nullptr;
};

/* http{} level configuration plus the per-worker runtime state hung off it. */
struct MainConf {
    ngx_str_t                 store_path;
    ngx_str_t                 master_key_path;
    u_char                    master_key[32];
    ngx_flag_t                has_master_key;
    Zone                     *zone;
    size_t                    malloc_retain;  /* 0: off */

    /* worker runtime (init_process); the reader is owned here */
    store::StoreReader       *reader;
    ngx_msec_t                last_open_attempt;
    uint64_t                  warned_txn;
    ngx_event_t               reader_check_ev;
};

struct LocConf {
    ngx_flag_t                enable;
    ngx_str_t                 upstream_location;
    size_t                    max_response_size;
    size_t                    max_error_size;
    ngx_uint_t                json_max_depth;
    ngx_msec_t                ping_interval;
    ngx_uint_t                max_retries;
    ngx_str_t                 timeouts;      /* "connect=5s first_byte=30s ..." */
    TimeoutConfig             timeout;       /* parsed from timeouts */
    RetryConfig               retry;
    BreakerConfig             breaker;
    ngx_flag_t                breaker_set;
};

enum class Endpoint {
    kRoot,            /* "/" probes */
    kHello,           /* /api/hello */
    kMessages,        /* POST /v1/messages */
    kCountTokens,     /* POST /v1/messages/count_tokens */
    kChatCompletions, /* POST /v1/chat/completions */
    kModels,          /* GET /v1/models */
    kUnknown,
};

/* What the upstream subrequest's filters are doing with its response. */
enum class UpstreamMode {
    kNone,         /* no header seen yet */
    kCaptureError, /* non-2xx: keep a bounded copy for the error mapping */
    kBuffer,       /* non-stream 2xx: collect, translate when complete */
    kStream,       /* SSE: through the StreamTranscoder (passthrough or translating) */
    kDiscard,      /* a failed attempt's remaining bytes */
};

/* One upstream attempt: a target (provider/model) and its subrequest. */
struct Attempt {
    const store::ResolvedProvider *provider = nullptr;
    std::string               target_model;
    TranslatedRequest         translated;

    ngx_http_request_t       *sr = nullptr;
    store::UpstreamTarget     upstream;       /* url, Host, TLS name */
    UpstreamMode              mode = UpstreamMode::kNone;
    ngx_uint_t                upstream_status = 0;
    bool                      upstream_complete = false; /* saw last_in_chain */
    bool                      post_subrequest_done = false;
    ngx_int_t                 subrequest_rc = NGX_OK;
    std::string               collected;                 /* kBuffer / kCaptureError */
    bool                      collected_truncated = false;
    std::unique_ptr<StreamTranscoder> transcoder;
    std::unique_ptr<Inflater> inflater;                  /* provider compressed anyway */
    std::string               inflated;
    std::string               decode_error;
    std::string               retry_after;               /* Retry-After of a failed answer */
    std::string               retry_after_ms;
    std::optional<StreamFailure> stream_failure;         /* stream began with an error event */
    ngx_msec_t                started = 0;
    ngx_msec_t                last_data = 0;
    bool                      got_data = false;
    bool                      timed_out = false;
    TargetRef                 target;
    bool                      recorded = false;          /* breaker outcome reported */
    TimeoutConfig             timeout;
};

/*
 * Per-request state of the main request; C++ object in the request pool,
 * destroyed by a pool cleanup. The upstream subrequest points at the same
 * object through its module ctx.
 */
struct RequestCtx {
    ngx_http_request_t       *request = nullptr;
    Endpoint                  endpoint = Endpoint::kUnknown;
    Dialect                   client = Dialect::kAnthropic;

    std::optional<store::KeyRecord> key;
    std::string               body_copy;   /* only when the body was not one memory buf */
    ParsedRequest             parsed;
    std::shared_ptr<const store::Snapshot> snapshot;
    const store::RouteRecord *route = nullptr;  /* owned by snapshot */
    std::string               route_key;        /* the route pattern chosen */

    Attempt                   at;               /* the current (or last) attempt */
    std::optional<RouteAttempts> plan;          /* walk over route->targets */
    ngx_msec_t                started = 0;
    ngx_event_t               retry_ev{};
    ErrorResponse             last_error;     /* answer if the retry finds no target */
    ngx_event_t               watch_ev{};     /* per-attempt timeouts */

    bool                      committed = false;         /* main header sent */
    bool                      finished = false;
    Usage                     usage;                     /* non-stream responses */
    std::string               turn_events;               /* events of this loop turn, unsent */
    std::string               sending;                   /* earlier turn_events, a buffer in nginx */
    ngx_event_t               flush_ev{};                /* posted: writes turn_events */
    u_char                   *event_block = nullptr;     /* reused memory of the event bufs */
    std::size_t               event_block_size = 0;
    ngx_chain_t              *pending = nullptr;         /* input not yet consumed */
    ngx_chain_t              *free = nullptr;
    ngx_chain_t              *busy = nullptr;
    ngx_event_t               ping_ev{};
    ngx_msec_t                last_output = 0;
};

/* module.cpp */
MainConf *main_conf(ngx_http_request_t *r);
LocConf *loc_conf(ngx_http_request_t *r);
/* Opens the store lazily (after a failed open, at most once a second). */
store::StoreReader *store_reader(ngx_http_request_t *r);
JsonLimits json_limits(ngx_http_request_t *r);

/* handler.cpp */
ngx_int_t content_handler(ngx_http_request_t *r) noexcept;
/* Gives nginx's buffers of the client's body back (large ones to the
 * allocator) once the gateway holds what it needs; $request_body is then
 * empty. */
void release_client_body(ngx_http_request_t *r);

/* upstream.cpp */
/* Runs the route's targets in order with retries; NGX_DONE while an attempt
 * runs, else the rc of a response already sent. */
ngx_int_t start_route(ngx_http_request_t *r, RequestCtx *ctx);
ngx_int_t init_upstream_filters(ngx_conf_t *cf);
void stop_timers(RequestCtx *ctx);

/* filter.cpp */
/* Passes complete SSE events to the client in one flushed buffer: from the
 * subrequest while it runs, from the main request after it. */
ngx_int_t pass_events(ngx_http_request_t *r, RequestCtx *ctx, std::string_view data);
ngx_int_t emit_events(ngx_http_request_t *r, RequestCtx *ctx, std::string_view data,
                      ngx_chain_t ***tail);
ngx_int_t emit_turn_events(ngx_http_request_t *r, RequestCtx *ctx, ngx_chain_t ***tail);

/* subrequest.cpp */
ngx_int_t start_upstream(ngx_http_request_t *r, RequestCtx *ctx);

/* attempt.cpp */
void attempt_finished(ngx_http_request_t *r) noexcept;  /* parent's write handler */
void attempt_committed(RequestCtx *ctx);                /* first good event sent */
void attempt_abandoned(RequestCtx *ctx);                /* the client went away */
/* x-llmproxy-provider / -model / -route of the current attempt. */
ngx_int_t add_attempt_headers(ngx_http_request_t *r, const RequestCtx *ctx);

/* zone.cpp */
char *set_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *set_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
TargetRef zone_target(Zone *zone, std::string_view provider, std::string_view model);
Admission zone_admit(const TargetRef &t, const BreakerConfig &cfg, bool last_target);
void zone_record(const TargetRef &t, const BreakerConfig &cfg, const Outcome &o);

/* response.cpp */
ngx_int_t add_header(ngx_http_request_t *r, std::string_view name, std::string_view value);
/* Sends a complete in-memory response; returns what a content handler returns. */
ngx_int_t send_response(ngx_http_request_t *r, ngx_uint_t status, std::string_view content_type,
                        std::string_view body);
ngx_int_t send_error(ngx_http_request_t *r, Dialect client, const ErrorResponse &err);
ngx_str_t *copy_to_pool(ngx_pool_t *pool, std::string_view s);

/* variables.cpp */
ngx_int_t add_variables(ngx_conf_t *cf);

RequestCtx *get_ctx(ngx_http_request_t *r);

inline std::string_view to_sv(const ngx_str_t &s) {
    return {reinterpret_cast<const char *>(s.data), s.len};
}

/* First header named `lowcase_name` (in lower case) of a request / of a
 * response's headers_out. */
ngx_table_elt_t *find_request_header(ngx_http_request_t *r, std::string_view lowcase_name);
ngx_table_elt_t *find_response_header(ngx_http_request_t *r, std::string_view lowcase_name);

}  // namespace llmproxy::ngx
