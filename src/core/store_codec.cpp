// The one record codec shared by llmproxy-ctl and the module: versioned JSON
// objects {"v":1,...}. Unknown fields are ignored (a newer ctl of the same
// schema may add optional ones); a newer "v" is refused.
#include <cstring>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/store.hpp"
#include "core/store_internal.hpp"

namespace llmproxy::store {

namespace {

constexpr unsigned kRecordVersion = 1;

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void put_string(JsonWriter& w, const char* key, std::string_view value) {
    w.Key(key);
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void put_int(JsonWriter& w, const char* key, std::int64_t value) {
    w.Key(key);
    w.Int64(value);
}

std::string finish(rapidjson::StringBuffer& sb) { return std::string(sb.GetString(), sb.GetSize()); }

// Reads one record: checks the envelope and gives typed field access whose
// errors name the record kind and field.
class RecordReader {
public:
    explicit RecordReader(const char* kind) : kind_(kind), pool_(buffer_, sizeof buffer_), doc_(&pool_) {}

    Status parse(std::string_view json) {
        Status st = parse_json(json, kRecordJsonLimits, doc_, std::string(kind_) + " record");
        if (!st) return st;
        if (!doc_.IsObject()) return fail("", "is not a JSON object");
        auto v = doc_.FindMember("v");
        if (v == doc_.MemberEnd() || !v->value.IsUint() || v->value.GetUint() == 0) {
            return fail("v", "missing or invalid record version");
        }
        if (v->value.GetUint() > kRecordVersion) {
            return fail("v", "record version " + std::to_string(v->value.GetUint()) +
                                 " is newer than this build supports (" +
                                 std::to_string(kRecordVersion) + "); upgrade llmproxy");
        }
        return Status();
    }

    const rapidjson::Value& root() const { return doc_; }

    Status string(const rapidjson::Value& obj, const char* key, std::string& out, bool required) {
        auto it = obj.FindMember(key);
        if (it == obj.MemberEnd() || it->value.IsNull()) {
            return required ? fail(key, "missing") : Status();
        }
        if (!it->value.IsString()) return fail(key, "expected a string");
        out.assign(it->value.GetString(), it->value.GetStringLength());
        return Status();
    }

    Status int64(const rapidjson::Value& obj, const char* key, std::int64_t& out) {
        auto it = obj.FindMember(key);
        if (it == obj.MemberEnd() || it->value.IsNull()) return Status();
        if (!it->value.IsInt64()) return fail(key, "expected an integer");
        out = it->value.GetInt64();
        return Status();
    }

    Status boolean(const rapidjson::Value& obj, const char* key, bool& out) {
        auto it = obj.FindMember(key);
        if (it == obj.MemberEnd() || it->value.IsNull()) return Status();
        if (!it->value.IsBool()) return fail(key, "expected a boolean");
        out = it->value.GetBool();
        return Status();
    }

    // Optional array member; null when absent.
    Result<const rapidjson::Value*> array(const rapidjson::Value& obj, const char* key) {
        auto it = obj.FindMember(key);
        if (it == obj.MemberEnd() || it->value.IsNull()) return static_cast<const rapidjson::Value*>(nullptr);
        if (!it->value.IsArray()) return fail(key, "expected an array");
        return &it->value;
    }

    Result<const rapidjson::Value*> object(const rapidjson::Value& obj, const char* key) {
        auto it = obj.FindMember(key);
        if (it == obj.MemberEnd() || it->value.IsNull()) return static_cast<const rapidjson::Value*>(nullptr);
        if (!it->value.IsObject()) return fail(key, "expected an object");
        return &it->value;
    }

    Error fail(std::string_view field, std::string_view why) const {
        std::string where = field.empty() ? std::string() : " field '" + std::string(field) + "'";
        return make_error(ErrorCode::kInternal, std::string(field),
                          std::string(kind_) + " record" + where + ": " + std::string(why));
    }

private:
    const char* kind_;
    // Records are decoded on the request path (find_key): parsing into a
    // stack buffer avoids RapidJSON's 64 KiB first heap chunk per document.
    char buffer_[4096];
    rapidjson::MemoryPoolAllocator<> pool_;
    rapidjson::Document doc_;
};

#define LLMP_TRY(expr)            \
    do {                          \
        Status st_ = (expr);      \
        if (!st_) return st_.error(); \
    } while (0)

}  // namespace

// ---- provider ----

std::string encode(const ProviderRecord& r) {
    rapidjson::StringBuffer sb;
    JsonWriter w(sb);
    w.StartObject();
    w.Key("v");
    w.Uint(kRecordVersion);
    put_string(w, "name", r.name);
    put_string(w, "format", dialect_name(r.format));
    put_string(w, "base_url", r.base_url);
    if (!r.api_key_sealed.empty()) put_string(w, "api_key_sealed", r.api_key_sealed);
    if (!r.api_key_env.empty()) put_string(w, "api_key_env", r.api_key_env);
    w.Key("headers");
    w.StartArray();
    for (const auto& h : r.headers) {
        w.StartObject();
        put_string(w, "name", h.name);
        put_string(w, "value", h.value);
        w.EndObject();
    }
    w.EndArray();
    if (!r.upstream.empty()) put_string(w, "upstream", r.upstream);
    if (!r.timeouts.empty()) put_string(w, "timeouts", r.timeouts);
    w.Key("model_max_tokens");
    w.StartObject();
    for (const auto& [model, n] : r.model_max_tokens) {
        w.Key(model.data(), static_cast<rapidjson::SizeType>(model.size()));
        w.Uint64(n);
    }
    w.EndObject();
    w.Key("quirks");
    w.StartObject();
    for (const auto& [name, value] : r.quirks) {
        w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
        w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    }
    w.EndObject();
    put_int(w, "created_at", r.created_at);
    put_int(w, "updated_at", r.updated_at);
    w.EndObject();
    return finish(sb);
}

Result<ProviderRecord> decode_provider(std::string_view json) {
    RecordReader rd("provider");
    LLMP_TRY(rd.parse(json));
    const auto& o = rd.root();
    ProviderRecord r;
    LLMP_TRY(rd.string(o, "name", r.name, true));
    std::string format;
    LLMP_TRY(rd.string(o, "format", format, true));
    if (format == "openai") r.format = Dialect::kOpenAI;
    else if (format == "anthropic") r.format = Dialect::kAnthropic;
    else return rd.fail("format", "unknown format");
    LLMP_TRY(rd.string(o, "base_url", r.base_url, true));
    LLMP_TRY(rd.string(o, "api_key_sealed", r.api_key_sealed, false));
    LLMP_TRY(rd.string(o, "api_key_env", r.api_key_env, false));
    LLMP_TRY(rd.string(o, "upstream", r.upstream, false));
    LLMP_TRY(rd.string(o, "timeouts", r.timeouts, false));

    auto headers = rd.array(o, "headers");
    if (!headers) return headers.error();
    if (*headers) {
        for (const auto& h : (*headers)->GetArray()) {
            if (!h.IsObject()) return rd.fail("headers", "expected objects");
            Header hdr;
            LLMP_TRY(rd.string(h, "name", hdr.name, true));
            LLMP_TRY(rd.string(h, "value", hdr.value, true));
            r.headers.push_back(std::move(hdr));
        }
    }
    auto caps = rd.object(o, "model_max_tokens");
    if (!caps) return caps.error();
    if (*caps) {
        for (const auto& m : (*caps)->GetObject()) {
            if (!m.value.IsUint64()) return rd.fail("model_max_tokens", "expected unsigned integers");
            r.model_max_tokens.emplace(std::string(m.name.GetString(), m.name.GetStringLength()),
                                       m.value.GetUint64());
        }
    }
    auto quirks = rd.object(o, "quirks");
    if (!quirks) return quirks.error();
    if (*quirks) {
        for (const auto& q : (*quirks)->GetObject()) {
            if (!q.value.IsString()) return rd.fail("quirks", "expected string values");
            r.quirks.emplace(std::string(q.name.GetString(), q.name.GetStringLength()),
                             std::string(q.value.GetString(), q.value.GetStringLength()));
        }
    }
    LLMP_TRY(rd.int64(o, "created_at", r.created_at));
    LLMP_TRY(rd.int64(o, "updated_at", r.updated_at));
    return r;
}

// ---- route ----

std::string encode(const RouteRecord& r) {
    rapidjson::StringBuffer sb;
    JsonWriter w(sb);
    w.StartObject();
    w.Key("v");
    w.Uint(kRecordVersion);
    put_string(w, "pattern", r.pattern);
    w.Key("targets");
    w.StartArray();
    for (const auto& t : r.targets) {
        w.StartObject();
        put_string(w, "provider", t.provider);
        put_string(w, "model", t.model);
        w.EndObject();
    }
    w.EndArray();
    if (r.threshold != 0) {
        w.Key("threshold");
        w.Uint64(r.threshold);
    }
    put_int(w, "created_at", r.created_at);
    w.EndObject();
    return finish(sb);
}

Result<RouteRecord> decode_route(std::string_view json) {
    RecordReader rd("route");
    LLMP_TRY(rd.parse(json));
    const auto& o = rd.root();
    RouteRecord r;
    LLMP_TRY(rd.string(o, "pattern", r.pattern, true));
    auto targets = rd.array(o, "targets");
    if (!targets) return targets.error();
    if (!*targets || (*targets)->Empty()) return rd.fail("targets", "missing or empty");
    for (const auto& t : (*targets)->GetArray()) {
        if (!t.IsObject()) return rd.fail("targets", "expected objects");
        Target target;
        LLMP_TRY(rd.string(t, "provider", target.provider, true));
        LLMP_TRY(rd.string(t, "model", target.model, true));
        r.targets.push_back(std::move(target));
    }
    std::int64_t threshold = 0;
    LLMP_TRY(rd.int64(o, "threshold", threshold));
    if (threshold < 0) return rd.fail("threshold", "must not be negative");
    r.threshold = static_cast<std::uint64_t>(threshold);
    LLMP_TRY(rd.int64(o, "created_at", r.created_at));
    return r;
}

// ---- key ----

std::string encode(const KeyRecord& r) {
    rapidjson::StringBuffer sb;
    JsonWriter w(sb);
    w.StartObject();
    w.Key("v");
    w.Uint(kRecordVersion);
    put_string(w, "id", r.id);
    put_string(w, "name", r.name);
    put_string(w, "prefix", r.prefix);
    put_string(w, "last4", r.last4);
    put_string(w, "digest", hex_encode(r.digest.data(), r.digest.size()));
    w.Key("models");
    w.StartArray();
    for (const auto& m : r.models) w.String(m.data(), static_cast<rapidjson::SizeType>(m.size()));
    w.EndArray();
    put_int(w, "expires_at", r.expires_at);
    w.Key("disabled");
    w.Bool(r.disabled);
    put_int(w, "created_at", r.created_at);
    w.EndObject();
    return finish(sb);
}

Result<KeyRecord> decode_key(std::string_view json) {
    RecordReader rd("key");
    LLMP_TRY(rd.parse(json));
    const auto& o = rd.root();
    KeyRecord r;
    LLMP_TRY(rd.string(o, "id", r.id, true));
    LLMP_TRY(rd.string(o, "name", r.name, false));
    LLMP_TRY(rd.string(o, "prefix", r.prefix, true));
    LLMP_TRY(rd.string(o, "last4", r.last4, true));
    std::string digest_hex;
    LLMP_TRY(rd.string(o, "digest", digest_hex, true));
    auto digest = hex_decode(digest_hex);
    if (!digest || digest->size() != r.digest.size()) return rd.fail("digest", "expected 64 hex characters");
    std::memcpy(r.digest.data(), digest->data(), r.digest.size());
    auto models = rd.array(o, "models");
    if (!models) return models.error();
    if (*models) {
        for (const auto& m : (*models)->GetArray()) {
            if (!m.IsString()) return rd.fail("models", "expected strings");
            r.models.emplace_back(m.GetString(), m.GetStringLength());
        }
    }
    LLMP_TRY(rd.int64(o, "expires_at", r.expires_at));
    LLMP_TRY(rd.boolean(o, "disabled", r.disabled));
    LLMP_TRY(rd.int64(o, "created_at", r.created_at));
    return r;
}

KeyState key_state(const KeyRecord& k, std::int64_t now_unix) {
    if (k.disabled) return KeyState::kDisabled;
    if (k.expires_at != 0 && now_unix >= k.expires_at) return KeyState::kExpired;
    return KeyState::kActive;
}

std::string_view key_state_name(KeyState s) {
    switch (s) {
    case KeyState::kActive: return "active";
    case KeyState::kDisabled: return "disabled";
    case KeyState::kExpired: return "expired";
    }
    return "unknown";
}

}  // namespace llmproxy::store
