// The store: one LMDB environment directory written only by llmproxy-ctl and
// read by nginx workers. Schema, record codec (versioned JSON records) and the
// LMDB access for both sides live here, so there is one schema and one codec.
//
// Named databases:
//   meta       "schema_version" -> "1"
//   keys       32-byte SHA-256 digest of the secret -> KeyRecord JSON
//   key_ids    key id -> 32-byte digest (for ctl commands by id)
//   providers  provider name -> ProviderRecord JSON
//   routes     pattern -> RouteRecord JSON
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dialect.hpp"
#include "core/provider_quirks.hpp"
#include "core/status.hpp"

namespace llmproxy::store {

inline constexpr unsigned kSchemaVersion = 1;
inline constexpr unsigned kMaxReaders = 1024;                  // ctl and workers agree
inline constexpr std::size_t kMapSize = std::size_t(1) << 30;  // 1 GiB
inline constexpr unsigned kMaxDbs = 8;
inline constexpr std::uint64_t kDefaultLongContextThreshold = 60000;

using Digest = std::array<std::uint8_t, 32>;

struct Header {
    std::string name;
    std::string value;
};

struct ProviderRecord {
    std::string name;                 // [a-z0-9][a-z0-9._-]{0,63}
    Dialect format = Dialect::kOpenAI;
    std::string base_url;             // http(s)://host[:port][/path], no trailing slash
    std::string api_key_sealed;       // base64(nonce || ciphertext || tag), AES-256-GCM, AAD = name
    std::string api_key_env;          // or: environment variable the worker reads
    std::vector<Header> headers;      // extra headers sent upstream
    // Optional name of an nginx `upstream {}` block to connect through (for
    // keepalive pools and load balancing); base_url still gives scheme, Host
    // header, TLS SNI name and path.
    std::string upstream;
    std::map<std::string, std::uint64_t> model_max_tokens;
    std::map<std::string, std::string> quirks;  // validated with set_quirk()
    // Per-provider attempt timeouts, "connect=5s first_byte=30s idle=2m
    // total=15m" (retry_policy.hpp apply_timeout_settings); empty = defaults.
    std::string timeouts;
    std::int64_t created_at = 0;      // unix seconds
    std::int64_t updated_at = 0;
};

struct Target {
    std::string provider;
    std::string model;
};

struct RouteRecord {
    std::string pattern;              // exact name, glob with '*', "re:REGEX", or "default"
    std::vector<Target> targets;      // ordered: first is primary, rest fallbacks
    // scenario:long-context only: estimated input tokens above which the
    // scenario applies (0 = kDefaultLongContextThreshold).
    std::uint64_t threshold = 0;
    std::int64_t created_at = 0;
};

struct KeyRecord {
    std::string id;                   // "key_" + 12 hex chars, stable across rotate
    std::string name;
    std::string prefix;               // display: "sk-llmp-" + first 4 secret chars
    std::string last4;
    Digest digest{};
    std::vector<std::string> models;  // allowed model patterns (same syntax as routes); empty = all
    std::int64_t expires_at = 0;      // unix seconds, 0 = never
    bool disabled = false;
    std::int64_t created_at = 0;
};

// ---- codec (JSON, {"v":1,...}); decode fails on a newer "v" ----
std::string encode(const ProviderRecord& r);
std::string encode(const RouteRecord& r);
std::string encode(const KeyRecord& r);
Result<ProviderRecord> decode_provider(std::string_view json);
Result<RouteRecord> decode_route(std::string_view json);
Result<KeyRecord> decode_key(std::string_view json);

// ---- validation (ctl checks input with these; the writer re-checks records) ----
// [a-z0-9][a-z0-9._-]{0,63}
Status validate_provider_name(std::string_view name);
// http(s)://host[:port][/path]: no userinfo, query or fragment. Returns the
// URL with the scheme lower-cased and trailing slashes removed.
Result<std::string> normalize_base_url(std::string_view url);
// Name is an HTTP token; value has no CR, LF or NUL.
Status validate_header(const Header& h);
// [A-Za-z_][A-Za-z0-9_]{0,127}
Status validate_env_var_name(std::string_view name);
// nginx upstream block name: [A-Za-z0-9._-]{1,128}
Status validate_upstream_name(std::string_view name);
// Everything above plus quirks, targets and sizes, for a whole record.
Status validate_provider(const ProviderRecord& r);
Status validate_route(const RouteRecord& r);

enum class KeyState { kActive, kDisabled, kExpired };
KeyState key_state(const KeyRecord& k, std::int64_t now_unix);
std::string_view key_state_name(KeyState s);

// ---- keys and secrets ----
Digest sha256(std::string_view data);
// "sk-llmp-" + 43 base62 chars (>= 256 random bits from OpenSSL's CSPRNG).
std::string generate_key_secret();
std::string generate_key_id();
bool constant_time_equal(const Digest& a, const Digest& b);
// Fills digest, prefix and last4 of `k` from a secret (create and rotate).
void set_key_secret(KeyRecord& k, std::string_view secret);

// 32-byte master key, stored as 64 hex chars + "\n" in a 0600 file.
struct MasterKey {
    std::array<std::uint8_t, 32> bytes{};
};
Result<MasterKey> load_master_key(const std::string& path);
// Creates the file (mode 0600, parent directory 0700 if created) unless it
// exists; an existing file is validated and kept.
Result<MasterKey> create_master_key_if_missing(const std::string& path);
std::string seal_secret(const MasterKey& k, std::string_view associated_data,
                        std::string_view plaintext);
Result<std::string> open_secret(const MasterKey& k, std::string_view associated_data,
                                std::string_view sealed);

// ---- route patterns ----
// A compiled set of routes. Precedence: exact name, then globs (most literal
// characters first, ties by pattern text), then regexes (in pattern order),
// then "default". Scenario keys ("scenario:NAME", core/scenario.hpp) are
// looked up by the gateway before any of these.
class RouteTable {
public:
    RouteTable();
    ~RouteTable();
    RouteTable(RouteTable&&) noexcept;
    RouteTable& operator=(RouteTable&&) noexcept;

    static Result<RouteTable> build(std::vector<RouteRecord> routes);
    // The model-pattern route for `model` (scenario keys never match here).
    const RouteRecord* match(std::string_view model) const;
    // The route stored under a scenario key ("scenario:think"), if any.
    const RouteRecord* scenario(std::string_view key) const;
    bool has_scenarios() const;
    const std::vector<RouteRecord>& routes() const;
    // The routes in the order match() tries them (for listings).
    std::vector<const RouteRecord*> in_precedence_order() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

Status validate_pattern(std::string_view pattern);
// Model allow-list check for a key (same pattern syntax, "default" not allowed).
bool pattern_matches(std::string_view pattern, std::string_view model);

// ---- where a provider request goes ----
struct UpstreamTarget {
    std::string url;   // scheme://(upstream block | host[:port])/path/endpoint[?query]
    std::string host;  // Host header: host[:port] of the base URL
    std::string sni;   // TLS server name: host of the base URL, no port or brackets
};
// The request URL for `p`: {base_url}/chat/completions (openai) or
// {base_url}/v1/messages (anthropic); through p.upstream (an nginx upstream
// block) when set. `query` (may be empty) is appended as "?query".
UpstreamTarget upstream_target(const ProviderRecord& p, std::string_view query);

// ---- worker-side view ----
struct ResolvedProvider {
    ProviderRecord record;
    std::string api_key;              // decrypted or read from the environment; may be empty
    ProviderQuirks quirks;            // record.quirks applied
};

// Decoded, ready-to-use tables, rebuilt only when the LMDB txn id changes.
struct Snapshot {
    std::uint64_t txn_id = 0;
    std::map<std::string, ResolvedProvider, std::less<>> providers;
    RouteTable routes;
    const ResolvedProvider* provider(std::string_view name) const;
};

// Read-only access for an nginx worker. Opened in init_process; one cached
// read transaction (MDB_NOTLS) renewed per lookup and reset before returning.
class StoreReader {
public:
    ~StoreReader();
    // master_key may be null (providers with sealed keys then resolve to an
    // empty key and a warning string in `warnings()`).
    static Result<std::unique_ptr<StoreReader>> open(const std::string& dir,
                                                     std::optional<MasterKey> master_key);

    // Key lookup by SHA-256 of the presented secret. nullopt: no such key.
    Result<std::optional<KeyRecord>> find_key(std::string_view secret);

    // The current snapshot; decoded again only after a ctl write.
    Result<std::shared_ptr<const Snapshot>> snapshot();

    // mdb_reader_check; returns the number of stale slots cleared.
    int reader_check();

    // Problems met while decoding (undecryptable key, missing env var), for
    // the glue to log once per snapshot. Never contains secrets.
    const std::vector<std::string>& warnings() const;

private:
    StoreReader();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// ---- ctl-side writer ----
class StoreWriter {
public:
    ~StoreWriter();
    // create: make the directory (0750) and environment if missing.
    static Result<std::unique_ptr<StoreWriter>> open(const std::string& dir, bool create);

    Status put_provider(const ProviderRecord& r, bool must_be_new);
    Result<std::optional<ProviderRecord>> get_provider(std::string_view name);
    Result<std::vector<ProviderRecord>> list_providers();
    Status remove_provider(std::string_view name);  // fails if a route uses it

    Status put_route(const RouteRecord& r);          // fails on unknown provider
    Result<std::vector<RouteRecord>> list_routes();
    Status remove_route(std::string_view pattern);

    Status put_key(const KeyRecord& r, bool must_be_new);
    Result<std::optional<KeyRecord>> get_key_by_id(std::string_view id);
    Result<std::vector<KeyRecord>> list_keys();
    Status replace_key_digest(std::string_view id, const KeyRecord& updated);  // rotate
    Status remove_key(std::string_view id);

    // Read-modify-write in ONE write transaction, so concurrent ctl commands
    // cannot undo each other (e.g. a disable reverting a rotation). `change`
    // edits the current record; its error aborts the update. The id/name
    // must not change; a changed key digest is re-filed (rotation). Returns
    // the stored record.
    Result<KeyRecord> update_key(std::string_view id, const std::function<Status(KeyRecord&)>& change);
    Result<ProviderRecord> update_provider(std::string_view name,
                                           const std::function<Status(ProviderRecord&)>& change);

private:
    StoreWriter();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace llmproxy::store
