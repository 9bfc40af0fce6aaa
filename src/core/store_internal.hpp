// Private helpers shared by the store_*.cpp files (and llmproxy-ctl): byte
// encodings, the LMDB environment setup both sides must agree on, and error
// mapping. Not part of the module's contract.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <lmdb.h>
#include <openssl/types.h>

#include "core/json.hpp"
#include "core/status.hpp"
#include "core/store.hpp"

namespace llmproxy::store {

// Names of the named databases (see store.hpp).
inline constexpr const char* kDbMeta = "meta";
inline constexpr const char* kDbKeys = "keys";
inline constexpr const char* kDbKeyIds = "key_ids";
inline constexpr const char* kDbProviders = "providers";
inline constexpr const char* kDbRoutes = "routes";
inline constexpr std::string_view kSchemaVersionKey = "schema_version";

// Store records are small; anything bigger is corruption or abuse.
inline constexpr JsonLimits kRecordJsonLimits{1u << 20, 16};

inline constexpr std::string_view kKeySecretPrefix = "sk-llmp-";
inline constexpr std::size_t kKeySecretRandomChars = 43;

// ---- byte encodings ----
std::string hex_encode(const std::uint8_t* data, std::size_t len);
// Lower- or upper-case hex; nullopt on odd length or a non-hex character.
std::optional<std::string> hex_decode(std::string_view hex);
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);
// Fills `out` from OpenSSL's CSPRNG; terminates the process if the CSPRNG
// fails (a broken RNG must never yield a predictable key).
void random_bytes(std::uint8_t* out, std::size_t len);

// ---- LMDB ----
// "LMDB <what>: <mdb_strerror>", kInternal (or kUnavailable for full
// reader tables / map).
Error lmdb_error(std::string_view what, int rc);
// mdb_env_create + maxreaders/mapsize/maxdbs, identical for ctl and workers
// (the first opener sizes the reader table).
Result<MDB_env*> create_env();
// The message both sides print for a missing or uninitialised store.
Error not_initialised_error(const std::string& dir);
// Checks meta.schema_version inside an open transaction: missing -> not
// initialised; newer than kSchemaVersion -> refuse.
Status check_schema_version(MDB_txn* txn, MDB_dbi meta, const std::string& dir);

inline MDB_val to_val(std::string_view s) {
    return MDB_val{s.size(), const_cast<char*>(s.data())};
}
inline std::string_view from_val(const MDB_val& v) {
    return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// "permission denied: <path>" for EACCES/EPERM, else "<what> <path>: strerror".
Error errno_error(int err, std::string_view what, const std::string& path);

// SHA-256 that keeps its OpenSSL context between calls. OpenSSL 3's one-shot
// SHA256() looks the algorithm up on every call, which costs about three
// times the hash of a key; the reader hashes a key on every request.
class Sha256Hasher {
public:
    Sha256Hasher();
    ~Sha256Hasher();
    Sha256Hasher(const Sha256Hasher&) = delete;
    Sha256Hasher& operator=(const Sha256Hasher&) = delete;
    Digest digest(std::string_view data);

private:
    EVP_MD* md_ = nullptr;
    EVP_MD_CTX* ctx_ = nullptr;
};

}  // namespace llmproxy::store
