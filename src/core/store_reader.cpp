// StoreReader: the nginx worker's read-only view of the store. One read
// transaction per reader, created once and then only renewed and reset
// (MDB_NOTLS ties the reader slot to it), so a lookup costs no allocation or
// reader-table locking, and no snapshot is pinned between lookups.
#include <cstdlib>
#include <map>

#include "core/store.hpp"
#include "core/store_internal.hpp"

namespace llmproxy::store {

namespace {

// Every value of `dbi`, copied out of the map.
Result<std::vector<std::string>> copy_values(MDB_txn* txn, MDB_dbi dbi) {
    MDB_cursor* cur = nullptr;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0) return lmdb_error("cursor", rc);
    std::vector<std::string> out;
    MDB_val k{}, v{};
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        out.emplace_back(from_val(v));
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND) return lmdb_error("cursor", rc);
    return out;
}

}  // namespace

const ResolvedProvider* Snapshot::provider(std::string_view name) const {
    auto it = providers.find(name);
    return it == providers.end() ? nullptr : &it->second;
}

struct StoreReader::Impl {
    std::string dir;
    std::optional<MasterKey> master_key;
    MDB_env* env = nullptr;
    MDB_txn* txn = nullptr;  // reset between lookups
    MDB_dbi keys = 0, providers = 0, routes = 0;
    std::shared_ptr<const Snapshot> cached;
    std::vector<std::string> warnings;
    // Decoded keys found in the store as of txn `key_cache_txn`, by digest,
    // so a client's repeated requests do not re-parse its record. Cleared
    // on any write and when full (bounds memory under key spraying; misses
    // are never cached).
    static constexpr std::size_t kKeyCacheMax = 4096;
    std::uint64_t key_cache_txn = 0;
    std::map<Digest, KeyRecord> key_cache;
    Sha256Hasher hasher;

    ~Impl() {
        if (txn) mdb_txn_abort(txn);
        if (env) mdb_env_close(env);
    }

    // Renews the cached transaction. Another process growing the map shows
    // up as MDB_MAP_RESIZED (adopt the new size, retry); a full reader table
    // as MDB_READERS_FULL (clear slots of dead processes, retry).
    Status renew() {
        int rc = 0;
        for (int attempt = 0; attempt < 3; ++attempt) {
            rc = mdb_txn_renew(txn);
            if (rc == MDB_MAP_RESIZED) {
                mdb_env_set_mapsize(env, 0);
            } else if (rc == MDB_READERS_FULL) {
                int dead = 0;
                mdb_reader_check(env, &dead);
            } else {
                break;
            }
        }
        if (rc != 0) return lmdb_error("renew read transaction", rc);
        return Status();
    }

    // Resets the transaction when a lookup scope ends, whatever the path.
    struct ResetGuard {
        MDB_txn* txn;
        ~ResetGuard() { mdb_txn_reset(txn); }
    };

    std::shared_ptr<const Snapshot> decode_snapshot(std::uint64_t txn_id,
                                                    const std::vector<std::string>& raw_providers,
                                                    const std::vector<std::string>& raw_routes);
};

StoreReader::StoreReader() : impl_(std::make_unique<Impl>()) {}
StoreReader::~StoreReader() = default;

Result<std::unique_ptr<StoreReader>> StoreReader::open(const std::string& dir,
                                                       std::optional<MasterKey> master_key) {
    std::unique_ptr<StoreReader> reader(new StoreReader());
    Impl& impl = *reader->impl_;
    impl.dir = dir;
    impl.master_key = std::move(master_key);
    auto env = create_env();
    if (!env) return env.error();
    impl.env = *env;
    // The mode matters only if this reader is the first to create lock.mdb
    // (LMDB creates it even for read-only environments); 0 would lock out
    // every later opener.
    int rc = mdb_env_open(impl.env, dir.c_str(), MDB_RDONLY | MDB_NOTLS, 0640);
    if (rc == ENOENT) return not_initialised_error(dir);
    if (rc == EACCES || rc == EPERM) {
        return make_error(ErrorCode::kUnavailable, "",
                          "permission denied: " + dir + " (workers need read access to data.mdb and "
                          "write access to lock.mdb; see llmproxy-ctl init --owner)");
    }
    if (rc != 0) return lmdb_error("open " + dir, rc);
    // A crashed worker leaves its reader slot behind; the respawned one clears it.
    reader->reader_check();

    rc = mdb_txn_begin(impl.env, nullptr, MDB_RDONLY, &impl.txn);
    if (rc == MDB_READERS_FULL) {
        reader->reader_check();
        rc = mdb_txn_begin(impl.env, nullptr, MDB_RDONLY, &impl.txn);
    }
    if (rc != 0) {
        impl.txn = nullptr;
        return lmdb_error("begin read transaction", rc);
    }
    MDB_dbi meta = 0;
    rc = mdb_dbi_open(impl.txn, kDbMeta, 0, &meta);
    if (rc == 0) rc = mdb_dbi_open(impl.txn, kDbKeys, 0, &impl.keys);
    if (rc == 0) rc = mdb_dbi_open(impl.txn, kDbProviders, 0, &impl.providers);
    if (rc == 0) rc = mdb_dbi_open(impl.txn, kDbRoutes, 0, &impl.routes);
    if (rc == MDB_NOTFOUND) return not_initialised_error(dir);
    if (rc != 0) return lmdb_error("open databases", rc);
    if (Status st = check_schema_version(impl.txn, meta, dir); !st) return st.error();
    // Committing the first transaction makes the DBI handles permanent; the
    // handle itself is then gone, so begin the one we keep for lookups.
    rc = mdb_txn_commit(impl.txn);
    impl.txn = nullptr;
    if (rc != 0) return lmdb_error("commit", rc);
    rc = mdb_txn_begin(impl.env, nullptr, MDB_RDONLY, &impl.txn);
    if (rc != 0) {
        impl.txn = nullptr;
        return lmdb_error("begin read transaction", rc);
    }
    mdb_txn_reset(impl.txn);
    return reader;
}

Result<std::optional<KeyRecord>> StoreReader::find_key(std::string_view secret) {
    Digest digest = impl_->hasher.digest(secret);
    std::string raw;
    std::uint64_t txn_id = 0;
    {
        if (Status st = impl_->renew(); !st) return st.error();
        Impl::ResetGuard reset{impl_->txn};
        txn_id = mdb_txn_id(impl_->txn);
        if (impl_->key_cache_txn != txn_id) {
            impl_->key_cache.clear();
            impl_->key_cache_txn = txn_id;
        }
        if (auto it = impl_->key_cache.find(digest); it != impl_->key_cache.end()) {
            return std::optional<KeyRecord>(it->second);
        }
        MDB_val k{digest.size(), digest.data()}, v{};
        int rc = mdb_get(impl_->txn, impl_->keys, &k, &v);
        if (rc == MDB_NOTFOUND) return std::optional<KeyRecord>();
        if (rc != 0) return lmdb_error("key lookup", rc);
        raw.assign(from_val(v));
    }
    auto rec = decode_key(raw);
    if (!rec) return rec.error();
    // The LMDB key already is the digest; comparing the stored copy guards
    // against a record filed under the wrong key, in constant time.
    if (!constant_time_equal(rec->digest, digest)) return std::optional<KeyRecord>();
    if (impl_->key_cache.size() >= Impl::kKeyCacheMax) impl_->key_cache.clear();
    impl_->key_cache.emplace(digest, rec.value());
    return std::optional<KeyRecord>(std::move(rec.value()));
}

Result<std::shared_ptr<const Snapshot>> StoreReader::snapshot() {
    std::vector<std::string> raw_providers, raw_routes;
    std::uint64_t txn_id = 0;
    {
        if (Status st = impl_->renew(); !st) return st.error();
        Impl::ResetGuard reset{impl_->txn};
        txn_id = mdb_txn_id(impl_->txn);
        if (impl_->cached && impl_->cached->txn_id == txn_id) return impl_->cached;
        auto p = copy_values(impl_->txn, impl_->providers);
        if (!p) return p.error();
        auto r = copy_values(impl_->txn, impl_->routes);
        if (!r) return r.error();
        raw_providers = std::move(p.value());
        raw_routes = std::move(r.value());
    }
    // Decoding (and decryption) happens after the reset: no snapshot pinned.
    impl_->cached = impl_->decode_snapshot(txn_id, raw_providers, raw_routes);
    return impl_->cached;
}

std::shared_ptr<const Snapshot> StoreReader::Impl::decode_snapshot(
    std::uint64_t txn_id, const std::vector<std::string>& raw_providers,
    const std::vector<std::string>& raw_routes) {
    auto snap = std::make_shared<Snapshot>();
    snap->txn_id = txn_id;
    warnings.clear();

    for (const auto& json : raw_providers) {
        auto rec = decode_provider(json);
        if (!rec) {
            warnings.push_back("skipping unreadable provider record: " + rec.error().describe());
            continue;
        }
        ResolvedProvider p;
        p.record = std::move(rec.value());
        const std::string& name = p.record.name;
        if (!p.record.api_key_sealed.empty()) {
            if (!master_key) {
                warnings.push_back("provider '" + name +
                                   "' has a stored API key but no master key is configured");
            } else {
                auto key = open_secret(*master_key, name, p.record.api_key_sealed);
                if (key) {
                    p.api_key = std::move(key.value());
                } else {
                    warnings.push_back("provider '" + name +
                                       "': stored API key cannot be decrypted with the configured "
                                       "master key");
                }
            }
        } else if (!p.record.api_key_env.empty()) {
            const char* value = std::getenv(p.record.api_key_env.c_str());
            if (value && *value) {
                p.api_key = value;
            } else {
                warnings.push_back("provider '" + name + "': environment variable " +
                                   p.record.api_key_env +
                                   " is not set in the worker (add 'env " + p.record.api_key_env +
                                   ";' to nginx.conf)");
            }
        }
        for (const auto& [quirk, value] : p.record.quirks) {
            if (Status st = set_quirk(p.quirks, quirk, value); !st) {
                warnings.push_back("provider '" + name + "': ignoring quirk: " + st.error().describe());
            }
        }
        std::string key = name;
        snap->providers.emplace(std::move(key), std::move(p));
    }

    std::vector<RouteRecord> routes;
    for (const auto& json : raw_routes) {
        auto rec = decode_route(json);
        if (!rec) {
            warnings.push_back("skipping unreadable route record: " + rec.error().describe());
            continue;
        }
        if (Status st = validate_pattern(rec->pattern); !st) {
            warnings.push_back("skipping route: " + st.error().describe());
            continue;
        }
        for (const auto& t : rec->targets) {
            if (!snap->provider(t.provider)) {
                warnings.push_back("route '" + rec->pattern + "' targets unknown provider '" +
                                   t.provider + "'");
            }
        }
        routes.push_back(std::move(rec.value()));
    }
    auto table = RouteTable::build(std::move(routes));
    if (table) {
        snap->routes = std::move(table.value());
    } else {
        // Patterns were validated one by one above; only duplicates remain.
        warnings.push_back("route table rejected: " + table.error().describe());
    }
    return snap;
}

int StoreReader::reader_check() {
    int dead = 0;
    mdb_reader_check(impl_->env, &dead);
    return dead;
}

const std::vector<std::string>& StoreReader::warnings() const { return impl_->warnings; }

}  // namespace llmproxy::store
