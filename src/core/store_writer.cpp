// StoreWriter: llmproxy-ctl's side of the store. Every mutating call is one
// LMDB write transaction, so workers see either the old or the new state,
// never a half-applied command.
#include <cerrno>
#include <cstring>

#include <sys/stat.h>
#include <unistd.h>

#include "core/store.hpp"
#include "core/store_internal.hpp"

namespace llmproxy::store {

namespace {

Error not_found(std::string_view what, std::string_view name) {
    return make_error(ErrorCode::kNotFound, "", std::string(what) + " '" + std::string(name) + "' not found");
}

Error already_exists(std::string_view what, std::string_view name) {
    return make_error(ErrorCode::kInvalidRequest, "",
                      std::string(what) + " '" + std::string(name) + "' already exists");
}

// Aborts the transaction unless it was committed.
class TxnGuard {
public:
    explicit TxnGuard(MDB_txn* txn) : txn_(txn) {}
    ~TxnGuard() {
        if (txn_) mdb_txn_abort(txn_);
    }
    TxnGuard(const TxnGuard&) = delete;
    TxnGuard& operator=(const TxnGuard&) = delete;
    MDB_txn* get() const { return txn_; }
    Status commit() {
        int rc = mdb_txn_commit(txn_);
        txn_ = nullptr;
        if (rc != 0) return lmdb_error("commit", rc);
        return Status();
    }

private:
    MDB_txn* txn_;
};

Status mkdir_p(const std::string& dir, mode_t mode) {
    for (std::size_t pos = 1; pos <= dir.size(); ++pos) {
        if (pos != dir.size() && dir[pos] != '/') continue;
        std::string prefix = dir.substr(0, pos);
        if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) {
            return errno_error(errno, "cannot create directory", prefix);
        }
    }
    return Status();
}

// Maps an mdb_env_open failure to the file actually at fault.
Error env_open_error(const std::string& dir, int rc) {
    if (rc == EACCES || rc == EPERM || rc == EROFS) {
        for (const char* file : {"/data.mdb", "/lock.mdb"}) {
            std::string path = dir + file;
            if (::access(path.c_str(), R_OK | W_OK) != 0 && errno != ENOENT) {
                return errno_error(errno, "cannot open", path);
            }
        }
        return errno_error(EACCES, "cannot open", dir);
    }
    if (rc == ENOENT) return not_initialised_error(dir);
    return lmdb_error("open " + dir, rc);
}

bool is_key_id(std::string_view id) {
    if (id.size() != 16 || id.substr(0, 4) != "key_") return false;
    for (char c : id.substr(4)) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

Status validate_key(const KeyRecord& r) {
    if (!is_key_id(r.id)) {
        return make_error(ErrorCode::kInvalidRequest, "id", "invalid key id '" + r.id + "'");
    }
    if (r.prefix.empty() || r.last4.empty()) {
        return make_error(ErrorCode::kInvalidRequest, "prefix", "key record without display prefix");
    }
    for (const auto& m : r.models) {
        if (m == "default") {
            return make_error(ErrorCode::kInvalidRequest, "models", "'default' is not a model pattern");
        }
        if (Status st = validate_pattern(m); !st) return st;
    }
    return Status();
}

std::string_view digest_view(const Digest& d) {
    return {reinterpret_cast<const char*>(d.data()), d.size()};
}

}  // namespace

struct StoreWriter::Impl {
    std::string dir;
    MDB_env* env = nullptr;
    MDB_dbi meta = 0, keys = 0, key_ids = 0, providers = 0, routes = 0;

    ~Impl() {
        if (env) mdb_env_close(env);
    }

    Result<MDB_txn*> begin(bool read_only) {
        MDB_txn* txn = nullptr;
        int rc = mdb_txn_begin(env, nullptr, read_only ? MDB_RDONLY : 0, &txn);
        if (rc == MDB_READERS_FULL) {
            int dead = 0;
            mdb_reader_check(env, &dead);
            rc = mdb_txn_begin(env, nullptr, read_only ? MDB_RDONLY : 0, &txn);
        }
        if (rc != 0) return lmdb_error("begin transaction", rc);
        return txn;
    }

    // Copies the value stored under `key` in `dbi`; nullopt when absent.
    static Result<std::optional<std::string>> get(MDB_txn* txn, MDB_dbi dbi, std::string_view key) {
        MDB_val k = to_val(key), v{};
        int rc = mdb_get(txn, dbi, &k, &v);
        if (rc == MDB_NOTFOUND) return std::optional<std::string>();
        if (rc != 0) return lmdb_error("get", rc);
        return std::optional<std::string>(std::string(from_val(v)));
    }

    static Status put(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view value) {
        MDB_val k = to_val(key), v = to_val(value);
        int rc = mdb_put(txn, dbi, &k, &v, 0);
        if (rc != 0) return lmdb_error("put", rc);
        return Status();
    }

    // Deletes `key`; false when it was absent.
    static Result<bool> del(MDB_txn* txn, MDB_dbi dbi, std::string_view key) {
        MDB_val k = to_val(key);
        int rc = mdb_del(txn, dbi, &k, nullptr);
        if (rc == MDB_NOTFOUND) return false;
        if (rc != 0) return lmdb_error("delete", rc);
        return true;
    }

    // Every value of `dbi`, copied out, in key order.
    static Result<std::vector<std::string>> values(MDB_txn* txn, MDB_dbi dbi) {
        MDB_cursor* cur = nullptr;
        int rc = mdb_cursor_open(txn, dbi, &cur);
        if (rc != 0) return lmdb_error("cursor", rc);
        std::vector<std::string> out;
        MDB_val k{}, v{};
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            out.emplace_back(from_val(v));
        }
        mdb_cursor_close(cur);
        if (rc != MDB_NOTFOUND) return lmdb_error("cursor", rc);
        return out;
    }

    Status open_dbis(MDB_txn* txn, unsigned flags) {
        struct Entry {
            const char* name;
            MDB_dbi* dbi;
        };
        for (Entry e : {Entry{kDbMeta, &meta}, Entry{kDbKeys, &keys}, Entry{kDbKeyIds, &key_ids},
                        Entry{kDbProviders, &providers}, Entry{kDbRoutes, &routes}}) {
            int rc = mdb_dbi_open(txn, e.name, flags, e.dbi);
            if (rc == MDB_NOTFOUND) return not_initialised_error(dir);
            if (rc != 0) return lmdb_error(std::string("open database ") + e.name, rc);
        }
        return Status();
    }

    // Files `r` under its digest inside `txn`, replacing the record of the
    // same id (whose digest may differ after a rotation).
    Status put_key_in(MDB_txn* txn, const KeyRecord& r, const std::optional<std::string>& old_digest) {
        if (Status st = validate_key(r); !st) return st;
        std::string_view digest = digest_view(r.digest);
        auto holder = get(txn, keys, digest);
        if (!holder) return holder.status();
        if (*holder && (!old_digest || *old_digest != digest)) {
            // Another id owns this digest: only a reused secret gets here.
            return make_error(ErrorCode::kInvalidRequest, "", "key secret already in use");
        }
        if (old_digest && *old_digest != digest) {
            auto removed = del(txn, keys, *old_digest);
            if (!removed) return removed.status();
        }
        if (Status st = put(txn, keys, digest, encode(r)); !st) return st;
        return put(txn, key_ids, r.id, digest);
    }

    // Shared by put_key and replace_key_digest.
    Status store_key(const KeyRecord& r, bool must_be_new, bool must_exist) {
        auto txn = begin(false);
        if (!txn) return txn.status();
        TxnGuard guard(*txn);
        auto old_digest = get(*txn, key_ids, r.id);
        if (!old_digest) return old_digest.status();
        if (*old_digest && must_be_new) return already_exists("key", r.id);
        if (!*old_digest && must_exist) return not_found("key", r.id);
        if (Status st = put_key_in(*txn, r, *old_digest); !st) return st;
        return guard.commit();
    }
};

StoreWriter::StoreWriter() : impl_(std::make_unique<Impl>()) {}
StoreWriter::~StoreWriter() = default;

Result<std::unique_ptr<StoreWriter>> StoreWriter::open(const std::string& dir, bool create) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        int err = errno;
        if (err != ENOENT) return errno_error(err, "cannot access store", dir);
        if (!create) return not_initialised_error(dir);
        if (Status s = mkdir_p(dir, 0750); !s) return s.error();
    } else if (!S_ISDIR(st.st_mode)) {
        return make_error(ErrorCode::kUnavailable, "", "store path " + dir + " is not a directory");
    }
    if (!create) {
        // mdb_env_open would silently create an empty environment.
        std::string data = dir + "/data.mdb";
        if (::stat(data.c_str(), &st) != 0) {
            if (errno == ENOENT) return not_initialised_error(dir);
            return errno_error(errno, "cannot access", data);
        }
    }

    std::unique_ptr<StoreWriter> writer(new StoreWriter());
    Impl& impl = *writer->impl_;
    impl.dir = dir;
    auto env = create_env();
    if (!env) return env.error();
    impl.env = *env;
    int rc = mdb_env_open(impl.env, dir.c_str(), 0, 0640);
    if (rc != 0) return env_open_error(dir, rc);
    // Clear slots of crashed readers before writing (they pin old pages).
    int dead = 0;
    mdb_reader_check(impl.env, &dead);

    auto txn = impl.begin(!create);
    if (!txn) return txn.error();
    TxnGuard guard(*txn);
    if (Status s = impl.open_dbis(*txn, create ? MDB_CREATE : 0); !s) return s.error();
    if (create) {
        auto version = Impl::get(*txn, impl.meta, kSchemaVersionKey);
        if (!version) return version.error();
        if (!*version) {
            Status s = Impl::put(*txn, impl.meta, kSchemaVersionKey, std::to_string(kSchemaVersion));
            if (!s) return s.error();
        }
    }
    if (Status s = check_schema_version(*txn, impl.meta, dir); !s) return s.error();
    // Committing (even read-only) makes the DBI handles usable by later txns.
    if (Status s = guard.commit(); !s) return s.error();
    return writer;
}

Status StoreWriter::put_provider(const ProviderRecord& r, bool must_be_new) {
    if (Status st = validate_provider(r); !st) return st;
    auto txn = impl_->begin(false);
    if (!txn) return txn.status();
    TxnGuard guard(*txn);
    if (must_be_new) {
        auto existing = Impl::get(*txn, impl_->providers, r.name);
        if (!existing) return existing.status();
        if (*existing) return already_exists("provider", r.name);
    }
    if (Status st = Impl::put(*txn, impl_->providers, r.name, encode(r)); !st) return st;
    return guard.commit();
}

Result<std::optional<ProviderRecord>> StoreWriter::get_provider(std::string_view name) {
    auto txn = impl_->begin(true);
    if (!txn) return txn.error();
    TxnGuard guard(*txn);
    auto raw = Impl::get(*txn, impl_->providers, name);
    if (!raw) return raw.error();
    if (!*raw) return std::optional<ProviderRecord>();
    auto rec = decode_provider(**raw);
    if (!rec) return rec.error();
    return std::optional<ProviderRecord>(std::move(rec.value()));
}

Result<std::vector<ProviderRecord>> StoreWriter::list_providers() {
    auto txn = impl_->begin(true);
    if (!txn) return txn.error();
    TxnGuard guard(*txn);
    auto raw = Impl::values(*txn, impl_->providers);
    if (!raw) return raw.error();
    std::vector<ProviderRecord> out;
    for (const auto& json : *raw) {
        auto rec = decode_provider(json);
        if (!rec) return rec.error();
        out.push_back(std::move(rec.value()));
    }
    return out;
}

Status StoreWriter::remove_provider(std::string_view name) {
    auto txn = impl_->begin(false);
    if (!txn) return txn.status();
    TxnGuard guard(*txn);
    auto raw_routes = Impl::values(*txn, impl_->routes);
    if (!raw_routes) return raw_routes.status();
    for (const auto& json : *raw_routes) {
        auto route = decode_route(json);
        if (!route) return route.status();
        for (const auto& t : route->targets) {
            if (t.provider == name) {
                return make_error(ErrorCode::kInvalidRequest, "",
                                  "provider '" + std::string(name) + "' is used by route '" +
                                      route->pattern + "'; change or remove the route first");
            }
        }
    }
    auto removed = Impl::del(*txn, impl_->providers, name);
    if (!removed) return removed.status();
    if (!*removed) return not_found("provider", name);
    return guard.commit();
}

Status StoreWriter::put_route(const RouteRecord& r) {
    if (Status st = validate_route(r); !st) return st;
    auto txn = impl_->begin(false);
    if (!txn) return txn.status();
    TxnGuard guard(*txn);
    for (const auto& t : r.targets) {
        auto provider = Impl::get(*txn, impl_->providers, t.provider);
        if (!provider) return provider.status();
        if (!*provider) {
            return make_error(ErrorCode::kInvalidRequest, "targets",
                              "unknown provider '" + t.provider + "' in target '" + t.provider +
                                  "/" + t.model + "'");
        }
    }
    if (Status st = Impl::put(*txn, impl_->routes, r.pattern, encode(r)); !st) return st;
    return guard.commit();
}

Result<std::vector<RouteRecord>> StoreWriter::list_routes() {
    auto txn = impl_->begin(true);
    if (!txn) return txn.error();
    TxnGuard guard(*txn);
    auto raw = Impl::values(*txn, impl_->routes);
    if (!raw) return raw.error();
    std::vector<RouteRecord> out;
    for (const auto& json : *raw) {
        auto rec = decode_route(json);
        if (!rec) return rec.error();
        out.push_back(std::move(rec.value()));
    }
    return out;
}

Status StoreWriter::remove_route(std::string_view pattern) {
    auto txn = impl_->begin(false);
    if (!txn) return txn.status();
    TxnGuard guard(*txn);
    auto removed = Impl::del(*txn, impl_->routes, pattern);
    if (!removed) return removed.status();
    if (!*removed) return not_found("route", pattern);
    return guard.commit();
}

Status StoreWriter::put_key(const KeyRecord& r, bool must_be_new) {
    return impl_->store_key(r, must_be_new, false);
}

Result<std::optional<KeyRecord>> StoreWriter::get_key_by_id(std::string_view id) {
    auto txn = impl_->begin(true);
    if (!txn) return txn.error();
    TxnGuard guard(*txn);
    auto digest = Impl::get(*txn, impl_->key_ids, id);
    if (!digest) return digest.error();
    if (!*digest) return std::optional<KeyRecord>();
    auto raw = Impl::get(*txn, impl_->keys, **digest);
    if (!raw) return raw.error();
    if (!*raw) {
        return make_error(ErrorCode::kInternal, "", "key '" + std::string(id) + "' has an id but no record");
    }
    auto rec = decode_key(**raw);
    if (!rec) return rec.error();
    return std::optional<KeyRecord>(std::move(rec.value()));
}

Result<std::vector<KeyRecord>> StoreWriter::list_keys() {
    auto txn = impl_->begin(true);
    if (!txn) return txn.error();
    TxnGuard guard(*txn);
    auto raw = Impl::values(*txn, impl_->keys);
    if (!raw) return raw.error();
    std::vector<KeyRecord> out;
    for (const auto& json : *raw) {
        auto rec = decode_key(json);
        if (!rec) return rec.error();
        out.push_back(std::move(rec.value()));
    }
    return out;
}

Status StoreWriter::replace_key_digest(std::string_view id, const KeyRecord& updated) {
    if (updated.id != id) {
        return make_error(ErrorCode::kInvalidRequest, "id", "a rotated key keeps its id");
    }
    return impl_->store_key(updated, false, true);
}

Result<KeyRecord> StoreWriter::update_key(std::string_view id,
                                          const std::function<Status(KeyRecord&)>& change) {
    auto txn = impl_->begin(false);
    if (!txn) return txn.error();
    TxnGuard guard(*txn);
    auto digest = Impl::get(*txn, impl_->key_ids, id);
    if (!digest) return digest.error();
    if (!*digest) return not_found("key", id);
    auto raw = Impl::get(*txn, impl_->keys, **digest);
    if (!raw) return raw.error();
    if (!*raw) return make_error(ErrorCode::kInternal, "", "key '" + std::string(id) + "' has an id but no record");
    auto rec = decode_key(**raw);
    if (!rec) return rec.error();
    KeyRecord k = std::move(rec.value());
    if (Status st = change(k); !st) return st.error();
    if (k.id != id) return make_error(ErrorCode::kInvalidRequest, "id", "a key keeps its id");
    if (Status st = impl_->put_key_in(*txn, k, *digest); !st) return st.error();
    if (Status st = guard.commit(); !st) return st.error();
    return k;
}

Result<ProviderRecord> StoreWriter::update_provider(std::string_view name,
                                                    const std::function<Status(ProviderRecord&)>& change) {
    auto txn = impl_->begin(false);
    if (!txn) return txn.error();
    TxnGuard guard(*txn);
    auto raw = Impl::get(*txn, impl_->providers, name);
    if (!raw) return raw.error();
    if (!*raw) return not_found("provider", name);
    auto rec = decode_provider(**raw);
    if (!rec) return rec.error();
    ProviderRecord p = std::move(rec.value());
    if (Status st = change(p); !st) return st.error();
    if (p.name != name) return make_error(ErrorCode::kInvalidRequest, "name", "a provider keeps its name");
    if (Status st = validate_provider(p); !st) return st.error();
    if (Status st = Impl::put(*txn, impl_->providers, p.name, encode(p)); !st) return st.error();
    if (Status st = guard.commit(); !st) return st.error();
    return p;
}

Status StoreWriter::remove_key(std::string_view id) {
    auto txn = impl_->begin(false);
    if (!txn) return txn.status();
    TxnGuard guard(*txn);
    auto digest = Impl::get(*txn, impl_->key_ids, id);
    if (!digest) return digest.status();
    if (!*digest) return not_found("key", id);
    auto removed = Impl::del(*txn, impl_->keys, **digest);
    if (!removed) return removed.status();
    removed = Impl::del(*txn, impl_->key_ids, id);
    if (!removed) return removed.status();
    return guard.commit();
}

}  // namespace llmproxy::store
