// LMDB plumbing shared by StoreReader and StoreWriter.
#include <cerrno>
#include <cstring>

#include "core/store_internal.hpp"

namespace llmproxy::store {

Error errno_error(int err, std::string_view what, const std::string& path) {
    if (err == EACCES || err == EPERM) {
        return make_error(ErrorCode::kUnavailable, "", "permission denied: " + path);
    }
    return make_error(ErrorCode::kUnavailable, "",
                      std::string(what) + " " + path + ": " + std::strerror(err));
}

Error lmdb_error(std::string_view what, int rc) {
    ErrorCode code = (rc == MDB_READERS_FULL || rc == MDB_MAP_FULL || rc == MDB_MAP_RESIZED)
                         ? ErrorCode::kUnavailable
                         : ErrorCode::kInternal;
    return make_error(code, "", "LMDB " + std::string(what) + ": " + mdb_strerror(rc));
}

Result<MDB_env*> create_env() {
    MDB_env* env = nullptr;
    int rc = mdb_env_create(&env);
    if (rc != 0) return lmdb_error("env_create", rc);
    if ((rc = mdb_env_set_maxreaders(env, kMaxReaders)) != 0 ||
        (rc = mdb_env_set_mapsize(env, kMapSize)) != 0 ||
        (rc = mdb_env_set_maxdbs(env, kMaxDbs)) != 0) {
        mdb_env_close(env);
        return lmdb_error("env setup", rc);
    }
    return env;
}

Error not_initialised_error(const std::string& dir) {
    return make_error(ErrorCode::kUnavailable, "",
                      "store at " + dir + " is not initialised; run llmproxy-ctl init");
}

Status check_schema_version(MDB_txn* txn, MDB_dbi meta, const std::string& dir) {
    MDB_val key = to_val(kSchemaVersionKey);
    MDB_val val{};
    int rc = mdb_get(txn, meta, &key, &val);
    if (rc == MDB_NOTFOUND) return not_initialised_error(dir);
    if (rc != 0) return lmdb_error("read schema version", rc);
    std::string_view text = from_val(val);
    unsigned version = 0;
    bool ok = !text.empty() && text.size() <= 9;
    for (char c : text) {
        if (c < '0' || c > '9') ok = false;
        else version = version * 10 + static_cast<unsigned>(c - '0');
    }
    if (!ok || version == 0) {
        return make_error(ErrorCode::kUnavailable, "",
                          "store at " + dir + " has a malformed schema version");
    }
    if (version > kSchemaVersion) {
        return make_error(ErrorCode::kUnavailable, "",
                          "store at " + dir + " has schema version " + std::to_string(version) +
                              ", newer than this build supports (" + std::to_string(kSchemaVersion) +
                              "); upgrade llmproxy");
    }
    return Status();
}

}  // namespace llmproxy::store
