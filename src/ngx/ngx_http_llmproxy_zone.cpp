/*
 * Shared memory zone (llmproxy_zone NAME SIZE): circuit-breaker state and
 * per-target counters, one slot per (provider, model), seen by all workers
 * and kept across reloads. The breaker logic itself is src/core/breaker.hpp;
 * here are only the table, the lock and the status location.
 */
#include "ngx_http_llmproxy.hpp"

#include <cstring>
#include <exception>
#include <vector>

#include "core/status_format.hpp"

namespace llmproxy::ngx {
namespace {

constexpr uint32_t kZoneMagic = 0x6c6c6d70;  // "llmp"
// Bump when Slot or BreakerState changes layout: an old zone is then
// refused by name at reload instead of being misread.
constexpr uint32_t kZoneVersion = 2;
constexpr std::size_t kMaxKey = 200;

struct Slot {
    uint32_t          hash;
    uint16_t          key_len;  /* 0: free */
    uint16_t          provider_len;
    char              key[kMaxKey];  /* "provider/model" */
    BreakerState      state;
};

struct ZoneHeader {
    uint32_t          magic;
    uint32_t          version;
    uint32_t          slot_count;
    uint32_t          used;
    Slot              slots[1];
};

ZoneHeader *header_of(Zone *zone) {
    auto *h = static_cast<ZoneHeader *>(zone->header);
    if (h == nullptr || h->magic != kZoneMagic || h->version != kZoneVersion) {
        return nullptr;
    }
    return h;
}

ngx_int_t init_zone(ngx_shm_zone_t *shm_zone, void *data) noexcept {
    auto *zone = static_cast<Zone *>(shm_zone->data);
    if (data != nullptr) {
        // Reload: the old cycle's zone, still serving the old workers. A
        // module with another slot layout must not read it: refuse the reload
        // (the old configuration keeps running) rather than misread state.
        auto *old = static_cast<Zone *>(data);
        auto *h = static_cast<ZoneHeader *>(old->header);
        if (h == nullptr || h->magic != kZoneMagic || h->version != kZoneVersion) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "llmproxy_zone \"%V\" was created by another llmproxy version; "
                          "rename the zone or restart nginx",
                          &shm_zone->shm.name);
            return NGX_ERROR;
        }
        zone->shpool = old->shpool;
        zone->header = old->header;
        return NGX_OK;
    }
    zone->shpool = reinterpret_cast<ngx_slab_pool_t *>(shm_zone->shm.addr);
    if (shm_zone->shm.exists) {
        zone->header = zone->shpool->data;
        return header_of(zone) != nullptr ? NGX_OK : NGX_ERROR;
    }
    std::size_t avail = shm_zone->shm.size - 2 * ngx_pagesize - sizeof(ZoneHeader);
    std::size_t count = avail / sizeof(Slot) / 2;  // the slab allocator needs room
    if (count < 16) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "llmproxy_zone \"%V\" is too small", &shm_zone->shm.name);
        return NGX_ERROR;
    }
    std::size_t bytes = sizeof(ZoneHeader) + (count - 1) * sizeof(Slot);
    auto *h = static_cast<ZoneHeader *>(ngx_slab_alloc(zone->shpool, bytes));
    if (h == nullptr) {
        return NGX_ERROR;
    }
    ngx_memzero(h, bytes);
    h->magic = kZoneMagic;
    h->version = kZoneVersion;
    h->slot_count = static_cast<uint32_t>(count);
    zone->header = h;
    zone->shpool->data = h;
    static const char log_ctx[] = " in llmproxy_zone";
    zone->shpool->log_ctx = reinterpret_cast<u_char *>(const_cast<char *>(log_ctx));
    return NGX_OK;
}


// Finds or claims the slot of `key`; caller holds the zone mutex.
Slot *find_slot_locked(ZoneHeader *h, std::string_view key, std::size_t provider_len,
                       uint32_t hash) {
    for (uint32_t i = 0; i < h->slot_count; i++) {
        Slot *s = &h->slots[(hash + i) % h->slot_count];
        if (s->key_len == 0) {
            if (key.size() > kMaxKey) return nullptr;
            s->hash = hash;
            s->key_len = static_cast<uint16_t>(key.size());
            s->provider_len = static_cast<uint16_t>(provider_len);
            std::memcpy(s->key, key.data(), key.size());
            ngx_memzero(&s->state, sizeof(BreakerState));
            h->used++;
            return s;
        }
        if (s->hash == hash && s->key_len == key.size() &&
            std::memcmp(s->key, key.data(), key.size()) == 0) {
            return s;
        }
    }
    return nullptr;  // table full: this target goes untracked
}

}  // namespace

char *set_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept {
    auto *mcf = static_cast<MainConf *>(conf);
    if (mcf->zone != nullptr) {
        return const_cast<char *>("is duplicate");
    }
    auto *value = static_cast<ngx_str_t *>(cf->args->elts);
    ssize_t size = ngx_parse_size(&value[2]);
    if (size == NGX_ERROR || size < static_cast<ssize_t>(64 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "llmproxy_zone \"%V\": size must be at least %uz",
                           &value[2], static_cast<size_t>(64 * ngx_pagesize));
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    auto *zone = static_cast<Zone *>(ngx_pcalloc(cf->pool, sizeof(Zone)));
    if (zone == nullptr) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    // The layout version is part of the tag's identity through the name:
    // nginx reuses a zone across reloads only for the same name and size.
    zone->shm_zone = ngx_shared_memory_add(cf, &value[1], static_cast<size_t>(size),
                                           &ngx_http_llmproxy_module);
    if (zone->shm_zone == nullptr) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    if (zone->shm_zone->data != nullptr) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "llmproxy_zone \"%V\" is already defined",
                           &value[1]);
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    zone->shm_zone->init = init_zone;
    zone->shm_zone->data = zone;
    mcf->zone = zone;
    return NGX_CONF_OK;
}

TargetRef zone_target(Zone *zone, std::string_view provider, std::string_view model) {
    TargetRef ref;
    if (zone == nullptr) return ref;
    ZoneHeader *h = header_of(zone);
    if (h == nullptr) return ref;
    std::string key;
    key.reserve(provider.size() + 1 + model.size());
    key.append(provider).append("/").append(model);
    uint32_t hash = ngx_crc32_short(reinterpret_cast<u_char *>(key.data()), key.size());
    ngx_shmtx_lock(&zone->shpool->mutex);
    Slot *s = find_slot_locked(h, key, provider.size(), hash);
    ngx_shmtx_unlock(&zone->shpool->mutex);
    ref.zone = zone;
    ref.state = s != nullptr ? &s->state : nullptr;
    return ref;
}

Admission zone_admit(const TargetRef &t, const BreakerConfig &cfg, bool last_target) {
    if (t.state == nullptr) {
        Admission a;
        a.allowed = true;
        return a;
    }
    ngx_shmtx_lock(&t.zone->shpool->mutex);
    Admission a = breaker_admit(*t.state, cfg, ngx_current_msec, last_target);
    ngx_shmtx_unlock(&t.zone->shpool->mutex);
    return a;
}

void zone_record(const TargetRef &t, const BreakerConfig &cfg, const Outcome &o) {
    if (t.state == nullptr) return;
    ngx_shmtx_lock(&t.zone->shpool->mutex);
    breaker_record(*t.state, cfg, ngx_current_msec, o);
    ngx_shmtx_unlock(&t.zone->shpool->mutex);
}

namespace {

ngx_int_t status_handler(ngx_http_request_t *r) noexcept {
    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return NGX_HTTP_NOT_ALLOWED;
    }
    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    try {
        MainConf *mcf = main_conf(r);
        std::vector<StatusEntry> entries;
        BreakerConfig cfg = loc_conf(r)->breaker;
        if (mcf->zone != nullptr) {
            if (ZoneHeader *h = header_of(mcf->zone)) {
                // Copy under the lock, format after: scrapes never hold up requests.
                ngx_shmtx_lock(&mcf->zone->shpool->mutex);
                entries.reserve(h->used);
                for (uint32_t i = 0; i < h->slot_count; i++) {
                    const Slot &s = h->slots[i];
                    if (s.key_len == 0) continue;
                    StatusEntry e;
                    e.provider.assign(s.key, s.provider_len);
                    e.model.assign(s.key + s.provider_len + 1, s.key_len - s.provider_len - 1);
                    e.state = s.state;
                    e.config = cfg;
                    entries.push_back(std::move(e));
                }
                ngx_shmtx_unlock(&mcf->zone->shpool->mutex);
            }
        }
        ngx_str_t fmt;
        bool prometheus = ngx_http_arg(r, reinterpret_cast<u_char *>(const_cast<char *>("format")),
                                       6, &fmt) == NGX_OK &&
                          fmt.len == 10 && ngx_strncmp(fmt.data, "prometheus", 10) == 0;
        if (prometheus) {
            return send_response(r, NGX_HTTP_OK, kStatusPrometheusContentType,
                                 status_prometheus(entries, ngx_current_msec));
        }
        return send_response(r, NGX_HTTP_OK, kStatusJsonContentType,
                             status_json(entries, ngx_current_msec));
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "llmproxy: status: %s", e.what());
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}

}  // namespace

char *set_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept {
    auto *clcf = static_cast<ngx_http_core_loc_conf_t *>(
        ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
    clcf->handler = status_handler;
    return NGX_CONF_OK;
}

}  // namespace llmproxy::ngx
