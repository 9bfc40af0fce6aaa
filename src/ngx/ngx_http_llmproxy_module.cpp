/*
 * Module definition, directives, configuration and the worker life cycle
 * (the LMDB store is opened after fork, in init_process, never in the master).
 */
#include "ngx_http_llmproxy.hpp"

#include <cstdlib>
#include <exception>
#include <new>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace llmproxy::ngx {
namespace {

constexpr ngx_msec_t kReaderCheckInterval = 60000;
constexpr ngx_msec_t kReopenInterval = 1000;
constexpr ssize_t kMallocRetainMin = 128 * 1024;
constexpr ssize_t kMallocRetainMax = 32 * 1024 * 1024;
constexpr size_t kMallocRetainDefault = 16 * 1024 * 1024;

void *create_main_conf(ngx_conf_t *cf) noexcept;
char *init_main_conf(ngx_conf_t *cf, void *conf) noexcept;
void *create_loc_conf(ngx_conf_t *cf) noexcept;
char *merge_loc_conf(ngx_conf_t *cf, void *parent, void *child) noexcept;
char *set_llmproxy(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *set_timeouts(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *set_breaker(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
char *set_malloc_retain(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept;
ngx_int_t preconfiguration(ngx_conf_t *cf) noexcept;
ngx_int_t postconfiguration(ngx_conf_t *cf) noexcept;
ngx_int_t init_process(ngx_cycle_t *cycle) noexcept;
void exit_process(ngx_cycle_t *cycle) noexcept;

// clang-format off
ngx_command_t commands[] = {
    { ngx_string("llmproxy_store"),
      NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(MainConf, store_path),
      nullptr },

    { ngx_string("llmproxy_master_key"),
      NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(MainConf, master_key_path),
      nullptr },

    { ngx_string("llmproxy_zone"),
      NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE2,
      set_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      nullptr },

    { ngx_string("llmproxy_malloc_retain"),
      NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
      set_malloc_retain,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      nullptr },

    { ngx_string("llmproxy_status"),
      NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS,
      set_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      nullptr },

    { ngx_string("llmproxy_max_retries"),
      NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(LocConf, max_retries),
      nullptr },

    { ngx_string("llmproxy_timeouts"),
      NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_1MORE,
      set_timeouts,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      nullptr },

    { ngx_string("llmproxy_breaker"),
      NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_1MORE,
      set_breaker,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      nullptr },

    { ngx_string("llmproxy"),
      NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS,
      set_llmproxy,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      nullptr },

    { ngx_string("llmproxy_upstream_location"),
      NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(LocConf, upstream_location),
      nullptr },

    { ngx_string("llmproxy_max_response_size"),
      NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(LocConf, max_response_size),
      nullptr },

    { ngx_string("llmproxy_json_max_depth"),
      NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(LocConf, json_max_depth),
      nullptr },

    { ngx_string("llmproxy_ping_interval"),
      NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(LocConf, ping_interval),
      nullptr },

    ngx_null_command
};

ngx_http_module_t module_ctx = {
    preconfiguration,
    postconfiguration,
    create_main_conf,
    init_main_conf,
    nullptr,
    nullptr,
    create_loc_conf,
    merge_loc_conf,
};
// clang-format on

void *create_main_conf(ngx_conf_t *cf) noexcept {
    auto *mcf = static_cast<MainConf *>(ngx_pcalloc(cf->pool, sizeof(MainConf)));
    if (mcf == nullptr) {
        return nullptr;
    }
    mcf->malloc_retain = NGX_CONF_UNSET_SIZE;
    return mcf;
}

// "llmproxy_malloc_retain SIZE | off". Sizes from 128k (glibc's own
// threshold) to 32m (the largest mmap threshold glibc accepts).
char *set_malloc_retain(ngx_conf_t *cf, ngx_command_t *, void *conf) noexcept {
    auto *mcf = static_cast<MainConf *>(conf);
    if (mcf->malloc_retain != NGX_CONF_UNSET_SIZE) {
        return const_cast<char *>("is duplicate");
    }
    ngx_str_t *value = static_cast<ngx_str_t *>(cf->args->elts);
    if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
        mcf->malloc_retain = 0;
        return NGX_CONF_OK;
    }
    ssize_t size = ngx_parse_size(&value[1]);
    if (size == NGX_ERROR || size < kMallocRetainMin || size > kMallocRetainMax) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llmproxy_malloc_retain: \"%V\" is not \"off\" or a size from 128k "
                           "to 32m",
                           &value[1]);
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    mcf->malloc_retain = static_cast<size_t>(size);
    return NGX_CONF_OK;
}

char *init_main_conf(ngx_conf_t *cf, void *conf) noexcept {
    auto *mcf = static_cast<MainConf *>(conf);
    // Unset, it applies only where the gateway is configured (a store), not
    // to every nginx that loads the module.
    if (mcf->malloc_retain == NGX_CONF_UNSET_SIZE) {
        mcf->malloc_retain = mcf->store_path.len > 0 ? kMallocRetainDefault : 0;
    }
    if (mcf->master_key_path.len == 0) {
        return NGX_CONF_OK;
    }
    try {
        // Read in the master (as root) at configuration time, so workers
        // never need access to the key file.
        std::string path(reinterpret_cast<char *>(mcf->master_key_path.data),
                         mcf->master_key_path.len);
        auto key = store::load_master_key(path);
        if (!key.ok()) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "llmproxy_master_key \"%V\": %s",
                               &mcf->master_key_path, key.error().describe().c_str());
            return static_cast<char *>(NGX_CONF_ERROR);
        }
        ngx_memcpy(mcf->master_key, key->bytes.data(), sizeof(mcf->master_key));
        mcf->has_master_key = 1;
    } catch (const std::exception &e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "llmproxy_master_key: %s", e.what());
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    return NGX_CONF_OK;
}

void *create_loc_conf(ngx_conf_t *cf) noexcept {
    auto *lcf = static_cast<LocConf *>(ngx_pcalloc(cf->pool, sizeof(LocConf)));
    if (lcf == nullptr) {
        return nullptr;
    }
    lcf->enable = NGX_CONF_UNSET;
    lcf->max_response_size = NGX_CONF_UNSET_SIZE;
    lcf->max_error_size = NGX_CONF_UNSET_SIZE;
    lcf->json_max_depth = NGX_CONF_UNSET_UINT;
    lcf->ping_interval = NGX_CONF_UNSET_MSEC;
    lcf->max_retries = NGX_CONF_UNSET_UINT;
    new (&lcf->timeout) TimeoutConfig{};
    new (&lcf->retry) RetryConfig{};
    new (&lcf->breaker) BreakerConfig{};
    return lcf;
}

char *merge_loc_conf(ngx_conf_t *cf, void *parent, void *child) noexcept {
    auto *prev = static_cast<LocConf *>(parent);
    auto *conf = static_cast<LocConf *>(child);
    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_str_value(conf->upstream_location, prev->upstream_location,
                             "/_llmproxy_upstream");
    ngx_conf_merge_size_value(conf->max_response_size, prev->max_response_size,
                              32 * 1024 * 1024);
    ngx_conf_merge_size_value(conf->max_error_size, prev->max_error_size, 64 * 1024);
    ngx_conf_merge_uint_value(conf->json_max_depth, prev->json_max_depth, 128);
    ngx_conf_merge_msec_value(conf->ping_interval, prev->ping_interval, 10000);
    ngx_conf_merge_uint_value(conf->max_retries, prev->max_retries, 2);
    conf->retry.max_retries = static_cast<std::uint32_t>(conf->max_retries);
    if (conf->timeouts.data == nullptr) {
        conf->timeouts = prev->timeouts;
        conf->timeout = prev->timeout;
    }
    if (conf->breaker_set == 0) {
        conf->breaker_set = prev->breaker_set;
        conf->breaker = prev->breaker;
    }
    if (conf->upstream_location.len == 0 || conf->upstream_location.data[0] != '/') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llmproxy_upstream_location must be a URI starting with \"/\"");
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    return NGX_CONF_OK;
}

char *set_llmproxy(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept {
    auto *lcf = static_cast<LocConf *>(conf);
    if (lcf->enable != NGX_CONF_UNSET) {
        return const_cast<char *>("is duplicate");
    }
    lcf->enable = 1;
    auto *clcf = static_cast<ngx_http_core_loc_conf_t *>(
        ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
    clcf->handler = content_handler;
    return NGX_CONF_OK;
}

// llmproxy_timeouts connect=5s first_byte=30s idle=2m total=15m;
char *set_timeouts(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept {
    auto *lcf = static_cast<LocConf *>(conf);
    if (lcf->timeouts.data != nullptr) {
        return const_cast<char *>("is duplicate");
    }
    auto *value = static_cast<ngx_str_t *>(cf->args->elts);
    try {
        std::string settings;
        for (ngx_uint_t i = 1; i < cf->args->nelts; i++) {
            settings.append(reinterpret_cast<char *>(value[i].data), value[i].len).append(" ");
        }
        if (Status st = apply_timeout_settings(lcf->timeout, settings); !st.ok()) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "llmproxy_timeouts: %s",
                               st.error().describe().c_str());
            return static_cast<char *>(NGX_CONF_ERROR);
        }
        lcf->timeouts = value[1];
    } catch (const std::exception &e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "llmproxy_timeouts: %s", e.what());
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    return NGX_CONF_OK;
}

// llmproxy_breaker window=30s min_requests=5 failure_ratio=0.5 open=30s max_open=10m;
char *set_breaker(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept {
    auto *lcf = static_cast<LocConf *>(conf);
    if (lcf->breaker_set) {
        return const_cast<char *>("is duplicate");
    }
    auto *value = static_cast<ngx_str_t *>(cf->args->elts);
    try {
        BreakerConfig b;
        for (ngx_uint_t i = 1; i < cf->args->nelts; i++) {
            std::string_view arg(reinterpret_cast<char *>(value[i].data), value[i].len);
            std::size_t eq = arg.find('=');
            std::string_view name = arg.substr(0, eq);
            std::string_view val = eq == std::string_view::npos ? "" : arg.substr(eq + 1);
            bool ok = true;
            if (name == "window" || name == "open" || name == "max_open") {
                auto ms = parse_duration_ms(val);
                ok = ms.ok();
                if (ok) (name == "window" ? b.window_ms : name == "open" ? b.open_ms : b.max_open_ms) = *ms;
            } else if (name == "min_requests") {
                ngx_int_t n = ngx_atoi(value[i].data + eq + 1, val.size());
                ok = n > 0;
                if (ok) b.min_requests = static_cast<std::uint32_t>(n);
            } else if (name == "failure_ratio") {
                char *end = nullptr;
                std::string text(val);
                double r = std::strtod(text.c_str(), &end);
                ok = !text.empty() && *end == '\0' && r > 0 && r <= 1;
                if (ok) b.failure_ratio = r;
            } else {
                ok = false;
            }
            if (!ok) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "llmproxy_breaker: invalid \"%V\"", &value[i]);
                return static_cast<char *>(NGX_CONF_ERROR);
            }
        }
        lcf->breaker = b;
        lcf->breaker_set = 1;
    } catch (const std::exception &e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "llmproxy_breaker: %s", e.what());
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    return NGX_CONF_OK;
}

ngx_int_t preconfiguration(ngx_conf_t *cf) noexcept {
    try {
        return add_variables(cf);
    } catch (const std::exception &e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "llmproxy: %s", e.what());
        return NGX_ERROR;
    }
}

ngx_int_t postconfiguration(ngx_conf_t *cf) noexcept {
    return init_upstream_filters(cf);
}

MainConf *cycle_main_conf(ngx_cycle_t *cycle) {
    if (ngx_http_cycle_get_module_main_conf(cycle, ngx_http_core_module) == nullptr) {
        return nullptr;  // no http{} block
    }
    return static_cast<MainConf *>(
        ngx_http_cycle_get_module_main_conf(cycle, ngx_http_llmproxy_module));
}

void open_store(MainConf *mcf, ngx_log_t *log) {
    mcf->last_open_attempt = ngx_current_msec;
    std::optional<store::MasterKey> key;
    if (mcf->has_master_key) {
        store::MasterKey mk;
        ngx_memcpy(mk.bytes.data(), mcf->master_key, mk.bytes.size());
        key = mk;
    }
    std::string path(reinterpret_cast<char *>(mcf->store_path.data), mcf->store_path.len);
    auto reader = store::StoreReader::open(path, key);
    if (!reader.ok()) {
        ngx_log_error(NGX_LOG_ERR, log, 0, "llmproxy: cannot open store \"%V\": %s",
                      &mcf->store_path, reader.error().describe().c_str());
        return;
    }
    mcf->reader = reader.value().release();
    ngx_log_error(NGX_LOG_INFO, log, 0, "llmproxy: store \"%V\" opened", &mcf->store_path);
}

void reader_check_handler(ngx_event_t *ev) noexcept {
    auto *mcf = static_cast<MainConf *>(ev->data);
    try {
        if (mcf->reader != nullptr) {
            int cleared = mcf->reader->reader_check();
            if (cleared > 0) {
                ngx_log_error(NGX_LOG_NOTICE, ev->log, 0,
                              "llmproxy: cleared %d stale LMDB reader slots", cleared);
            }
        }
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, ev->log, 0, "llmproxy: reader check failed: %s", e.what());
    }
    if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
        ngx_add_timer(ev, kReaderCheckInterval);
    }
}

// Every request allocates and frees buffers of tens to hundreds of KB (the
// body, its translation, JSON documents). With glibc's defaults the heap's
// top is given back to the system as soon as 128 KB of it are free and taken
// again by the next requests: a brk() pair and a page fault per 4 KB touched,
// for every request of a busy worker. Keeping freed memory up to the limit,
// and serving allocations below it from the heap, ends that churn.
void tune_malloc(MainConf *mcf, ngx_log_t *log) {
    size_t retain = mcf->malloc_retain;
    if (retain == 0) {
        return;
    }
#if defined(__GLIBC__)
    int size = static_cast<int>(retain);
    if (mallopt(M_MMAP_THRESHOLD, size) != 1 || mallopt(M_TRIM_THRESHOLD, size) != 1) {
        ngx_log_error(NGX_LOG_WARN, log, 0, "llmproxy: mallopt(%d) failed: malloc keeps its defaults",
                      size);
        return;
    }
    ngx_log_error(NGX_LOG_INFO, log, 0, "llmproxy: worker heap keeps up to %uz bytes freed",
                  retain);
#else
    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "llmproxy: llmproxy_malloc_retain has no effect without glibc");
#endif
}

ngx_int_t init_process(ngx_cycle_t *cycle) noexcept {
    MainConf *mcf = cycle_main_conf(cycle);
    if (mcf == nullptr) {
        return NGX_OK;
    }
    tune_malloc(mcf, cycle->log);
    if (mcf->store_path.len == 0) {
        return NGX_OK;
    }
    try {
        open_store(mcf, cycle->log);
        if (mcf->reader != nullptr) {
            int cleared = mcf->reader->reader_check();
            if (cleared > 0) {
                ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                              "llmproxy: cleared %d stale LMDB reader slots", cleared);
            }
        }
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, cycle->log, 0, "llmproxy: store open failed: %s", e.what());
    }
    ngx_event_t *ev = &mcf->reader_check_ev;
    ev->handler = reader_check_handler;
    ev->data = mcf;
    ev->log = cycle->log;
    ev->cancelable = 1;  // never delays a graceful shutdown
    ngx_add_timer(ev, kReaderCheckInterval);
    return NGX_OK;
}

void exit_process(ngx_cycle_t *cycle) noexcept {
    MainConf *mcf = cycle_main_conf(cycle);
    if (mcf == nullptr) {
        return;
    }
    if (mcf->reader_check_ev.timer_set) {
        ngx_del_timer(&mcf->reader_check_ev);
    }
    delete mcf->reader;  // aborts the cached read txn, closes the env
    mcf->reader = nullptr;
}

}  // namespace

MainConf *main_conf(ngx_http_request_t *r) {
    return static_cast<MainConf *>(ngx_http_get_module_main_conf(r, ngx_http_llmproxy_module));
}

LocConf *loc_conf(ngx_http_request_t *r) {
    return static_cast<LocConf *>(ngx_http_get_module_loc_conf(r, ngx_http_llmproxy_module));
}

JsonLimits json_limits(ngx_http_request_t *r) {
    JsonLimits limits;
    limits.max_depth = static_cast<unsigned>(loc_conf(r)->json_max_depth);
    return limits;
}

store::StoreReader *store_reader(ngx_http_request_t *r) {
    MainConf *mcf = main_conf(r);
    if (mcf->reader == nullptr && mcf->store_path.len != 0 &&
        ngx_current_msec - mcf->last_open_attempt >= kReopenInterval) {
        open_store(mcf, r->connection->log);
    }
    return mcf->reader;
}

}  // namespace llmproxy::ngx

// clang-format off
ngx_module_t ngx_http_llmproxy_module = {
    NGX_MODULE_V1,
    &llmproxy::ngx::module_ctx,
    llmproxy::ngx::commands,
    NGX_HTTP_MODULE,
    nullptr,
    nullptr,
    llmproxy::ngx::init_process,
    nullptr,
    nullptr,
    llmproxy::ngx::exit_process,
    nullptr,
    NGX_MODULE_V1_PADDING
};
// clang-format on
