#include "core/mapping.hpp"

#include <array>
#include <charconv>
#include <cstring>

#include <rapidjson/internal/dtoa.h>

#include "core/errors.hpp"

namespace llmproxy {

// ---- finish_reason / stop_reason -------------------------------------------

StopMapping anthropic_stop_reason(std::string_view r, bool saw_tool_use) {
    if (r == "length" || r == "max_tokens") return {"max_tokens", false};
    if (r == "tool_calls" || r == "function_call" || r == "tool_use") return {"tool_use", false};
    if (r == "content_filter" || r == "sensitive" || r == "refusal") return {"refusal", false};
    if (r == "model_context_window_exceeded") return {"model_context_window_exceeded", false};
    if (r == "stop_sequence") return {"stop_sequence", false};
    if (r == "pause_turn") return {"pause_turn", false};
    if (r == "error" || r == "network_error") return {"end_turn", true};
    // stop, eos, eos_token, end_turn, null/absent and anything unknown.
    return {saw_tool_use ? "tool_use" : "end_turn", false};
}

std::string_view openai_finish_reason(std::string_view s) {
    if (s == "max_tokens" || s == "model_context_window_exceeded" || s == "compaction") {
        return "length";
    }
    if (s == "tool_use") return "tool_calls";
    if (s == "refusal") return "content_filter";
    return "stop";  // end_turn, stop_sequence, pause_turn, unknown
}

// ---- usage -------------------------------------------------------------------

void OpenAIUsageFields::set(std::string_view key, std::uint64_t v, bool in_details) {
    any = true;
    if (in_details) {
        if (key == "cached_tokens") cached_tokens = v;
        else if (key == "cache_write_tokens" || key == "cache_creation_tokens") cache_write_tokens = v;
        return;
    }
    if (key == "prompt_tokens") {
        prompt_tokens = v;
        has_prompt_tokens = true;
    } else if (key == "completion_tokens") {
        completion_tokens = v;
        has_completion_tokens = true;
    } else if (key == "prompt_cache_hit_tokens") {
        cache_hit_tokens = v;
    } else if (key == "prompt_cache_miss_tokens") {
        cache_miss_tokens = v;
        has_miss_tokens = true;
    } else if (key == "cache_read_input_tokens") {
        anthropic_cache_read = v;
    } else if (key == "cache_creation_input_tokens" || key == "cache_creation_tokens" ||
               key == "cache_write_tokens") {
        anthropic_cache_creation = v;
    } else if (key == "input_tokens") {
        input_tokens = v;
        has_input_tokens = true;
    } else if (key == "output_tokens") {
        output_tokens = v;
        has_output_tokens = true;
    } else if (key == "cached_tokens") {
        cached_tokens = v;  // a few relays put it at the top level
    }
}

Usage usage_from_openai_fields(const OpenAIUsageFields& f) {
    Usage u;
    if (!f.any) return u;
    u.known = true;
    u.cache_read_input_tokens =
        f.cached_tokens ? f.cached_tokens : (f.cache_hit_tokens ? f.cache_hit_tokens : f.anthropic_cache_read);
    u.cache_creation_input_tokens = f.cache_write_tokens ? f.cache_write_tokens : f.anthropic_cache_creation;
    std::uint64_t cache_total = u.cache_read_input_tokens + u.cache_creation_input_tokens;
    if (f.has_prompt_tokens) {
        u.input_tokens = f.prompt_tokens > cache_total ? f.prompt_tokens - cache_total : 0;
    } else if (f.has_miss_tokens) {
        // DeepSeek: miss tokens are exactly the uncached part of the prompt.
        u.input_tokens = f.cache_miss_tokens;
    } else if (f.has_input_tokens) {
        // Responses-style counters include cached tokens like prompt_tokens.
        u.input_tokens = f.input_tokens > cache_total ? f.input_tokens - cache_total : 0;
    }
    u.output_tokens = f.has_completion_tokens ? f.completion_tokens
                                              : (f.has_output_tokens ? f.output_tokens : 0);
    return u;
}

namespace {

bool read_uint(const rapidjson::Value& v, std::uint64_t& out) {
    if (v.IsUint64()) {
        out = v.GetUint64();
        return true;
    }
    if (v.IsDouble() && v.GetDouble() >= 0 && v.GetDouble() < 1.8e19) {
        out = static_cast<std::uint64_t>(v.GetDouble());
        return true;
    }
    return false;
}

}  // namespace

Usage usage_from_openai(const rapidjson::Value& usage) {
    OpenAIUsageFields f;
    if (!usage.IsObject()) return Usage{};
    for (auto it = usage.MemberBegin(); it != usage.MemberEnd(); ++it) {
        std::string_view key(it->name.GetString(), it->name.GetStringLength());
        std::uint64_t v = 0;
        if (it->value.IsObject() &&
            (key == "prompt_tokens_details" || key == "input_tokens_details")) {
            for (auto d = it->value.MemberBegin(); d != it->value.MemberEnd(); ++d) {
                if (read_uint(d->value, v)) {
                    f.set(std::string_view(d->name.GetString(), d->name.GetStringLength()), v, true);
                }
            }
            f.any = true;
        } else if (read_uint(it->value, v)) {
            f.set(key, v, false);
        }
    }
    return usage_from_openai_fields(f);
}

void merge_anthropic_usage(const rapidjson::Value& usage, Usage& u) {
    if (!usage.IsObject()) return;
    std::uint64_t v = 0;
    auto take = [&](const char* name, std::uint64_t& field) {
        auto it = usage.FindMember(name);
        if (it != usage.MemberEnd() && read_uint(it->value, v)) {
            field = v;
            u.known = true;
        }
    };
    take("input_tokens", u.input_tokens);
    take("output_tokens", u.output_tokens);
    take("cache_read_input_tokens", u.cache_read_input_tokens);
    take("cache_creation_input_tokens", u.cache_creation_input_tokens);
}

void append_openai_usage(std::string& out, const Usage& u) {
    std::uint64_t prompt = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens;
    out += "{\"prompt_tokens\":";
    append_uint(out, prompt);
    out += ",\"completion_tokens\":";
    append_uint(out, u.output_tokens);
    out += ",\"total_tokens\":";
    append_uint(out, prompt + u.output_tokens);
    out += ",\"prompt_tokens_details\":{\"cached_tokens\":";
    append_uint(out, u.cache_read_input_tokens);
    if (u.cache_creation_input_tokens != 0) {
        out += ",\"cache_creation_tokens\":";
        append_uint(out, u.cache_creation_input_tokens);
    }
    out += "}}";
}

void append_anthropic_usage(std::string& out, const Usage& u) {
    out += "{\"input_tokens\":";
    append_uint(out, u.input_tokens);
    out += ",\"cache_creation_input_tokens\":";
    append_uint(out, u.cache_creation_input_tokens);
    out += ",\"cache_read_input_tokens\":";
    append_uint(out, u.cache_read_input_tokens);
    out += ",\"output_tokens\":";
    append_uint(out, u.output_tokens);
    out += "}";
}

// ---- tool names ----------------------------------------------------------------

namespace {

constexpr std::size_t kMaxToolName = 64;
constexpr std::size_t kHashedPrefix = 55;  // 55 + "_" + 8 hex = 64

bool is_tool_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

}  // namespace

bool is_valid_provider_tool_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxToolName) return false;
    for (char c : name) {
        if (!is_tool_name_char(c)) return false;
    }
    return true;
}

std::string_view ToolNameMap::to_client(std::string_view provider_name) const {
    for (const auto& [provider, client] : provider_to_client) {
        if (provider == provider_name) return client;
    }
    return provider_name;
}

bool ToolNameMapper::provider_name_taken(std::string_view name) const {
    for (const auto& kept : kept_) {
        if (kept == name) return true;
    }
    for (const auto& entry : map_.provider_to_client) {
        if (entry.first == name) return true;
    }
    return false;
}

std::string_view ToolNameMapper::provider_name(std::string_view client_name) {
    for (const auto& kept : kept_) {
        if (kept == client_name) return kept;
    }
    for (const auto& entry : map_.provider_to_client) {
        if (entry.second == client_name) return entry.first;
    }
    if (is_valid_provider_tool_name(client_name) && !provider_name_taken(client_name)) {
        kept_.emplace_back(client_name);
        return kept_.back();
    }
    static const char hex[] = "0123456789abcdef";
    std::string base;
    base.reserve(kMaxToolName);
    for (char c : client_name.substr(0, kHashedPrefix)) base.push_back(is_tool_name_char(c) ? c : '_');
    if (base.empty()) base = "tool";
    std::uint64_t seed = 0xcbf29ce484222325ull;
    for (;;) {
        std::uint64_t h = fnv1a64(client_name, seed);
        std::string candidate = base;
        candidate.push_back('_');
        for (int i = 0; i < 8; ++i) candidate.push_back(hex[(h >> (60 - 4 * i)) & 0xf]);
        // A valid name that was kept unchanged may later be asked for again;
        // it must not collide with a generated one, and vice versa.
        if (!provider_name_taken(candidate) && candidate != client_name) {
            map_.provider_to_client.emplace_back(std::move(candidate), std::string(client_name));
            return map_.provider_to_client.back().first;
        }
        seed = h + 1;
    }
}

// ---- errors ---------------------------------------------------------------------

std::string_view anthropic_error_type_for_openai_error(int status, std::string_view type,
                                                       std::string_view code) {
    // 503 from an OpenAI-compatible server means "try again later": the
    // Anthropic type clients treat that way is overloaded_error.
    if (status == 503) return "overloaded_error";
    if (status >= 400) {
        std::string_view t = anthropic_error_type(status);
        if (status != 400 || type.empty()) return t;
    }
    // A numeric code (OpenRouter: {"code":502}) is an HTTP status.
    int numeric = 0;
    auto [ptr, ec] = std::from_chars(code.data(), code.data() + code.size(), numeric);
    if (ec == std::errc() && ptr == code.data() + code.size() && numeric >= 400 && numeric < 600) {
        return numeric == 503 ? "overloaded_error" : anthropic_error_type(numeric);
    }
    for (std::string_view s : {type, code}) {
        if (s == "invalid_request_error" || s == "invalid_request" || s == "context_length_exceeded") {
            return "invalid_request_error";
        }
        if (s == "authentication_error" || s == "invalid_api_key") return "authentication_error";
        if (s == "permission_error" || s == "permission_denied") return "permission_error";
        if (s == "not_found_error" || s == "model_not_found") return "not_found_error";
        if (s == "rate_limit_error" || s == "rate_limit_exceeded" || s == "requests" || s == "tokens") {
            return "rate_limit_error";
        }
        if (s == "insufficient_quota" || s == "billing_error") return "billing_error";
        if (s == "overloaded_error" || s == "overloaded" || s == "server_overloaded") {
            return "overloaded_error";
        }
        if (s == "timeout" || s == "timeout_error") return "timeout_error";
    }
    return "api_error";
}

std::string_view openai_error_type_for_anthropic(std::string_view t) {
    if (t == "invalid_request_error" || t == "request_too_large") return "invalid_request_error";
    if (t == "authentication_error") return "authentication_error";
    if (t == "permission_error") return "permission_error";
    if (t == "not_found_error") return "not_found_error";
    if (t == "rate_limit_error") return "rate_limit_error";
    if (t == "billing_error") return "insufficient_quota";
    if (t == "timeout_error") return "timeout";
    return "server_error";  // api_error, overloaded_error, unknown
}

// ---- JSON output -------------------------------------------------------------

void JsonOut::open(char c) {
    separate();
    out_.push_back(c);
    first_.push_back(1);
}

void JsonOut::close(char c) {
    out_.push_back(c);
    first_.pop_back();
}

void JsonOut::key(std::string_view k) {
    separate();
    json_append_string(out_, k);  // short keys: one append (see append_escaped)
    out_.push_back(':');
    after_key_ = true;
}

void JsonOut::joined_string(const std::vector<Piece>& pieces, std::string_view separator) {
    separate();
    out_.push_back('"');
    bool any = false;  // the separator goes only after some text
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        if (any) json_append_string_content(out_, separator);
        any = any || !pieces[i].text.empty();
        // A literal's content (escapes and all) is a valid run of any JSON
        // string, so a source string joins without being escaped again.
        std::string_view literal =
            pieces[i].source ? json_source_literal(*pieces[i].source, source_) : std::string_view();
        if (!literal.empty()) {
            out_.append(literal.substr(1, literal.size() - 2));
        } else {
            json_append_string_content(out_, pieces[i].text);
        }
    }
    out_.push_back('"');
}

void JsonOut::value(const rapidjson::Value& v) {
    switch (v.GetType()) {
    case rapidjson::kNullType: null(); return;
    case rapidjson::kFalseType: boolean(false); return;
    case rapidjson::kTrueType: boolean(true); return;
    case rapidjson::kStringType: {
        // A long string of the source is copied as its literal; a short one
        // (names, types) costs less to escape than to look up.
        constexpr std::size_t kLiteralMin = 64;
        std::string_view literal;
        if (v.GetStringLength() >= kLiteralMin) literal = json_source_literal(v, source_);
        if (!literal.empty()) {
            separate();
            out_.append(literal);
        } else {
            string({v.GetString(), v.GetStringLength()});
        }
        return;
    }
    case rapidjson::kNumberType: {
        separate();
        char buf[32];
        char* end = buf;
        if (v.IsUint64()) {
            end = std::to_chars(buf, buf + sizeof(buf), v.GetUint64()).ptr;
        } else if (v.IsInt64()) {
            end = std::to_chars(buf, buf + sizeof(buf), v.GetInt64()).ptr;
        } else {
            end = rapidjson::internal::dtoa(v.GetDouble(), buf);
        }
        out_.append(buf, static_cast<std::size_t>(end - buf));
        return;
    }
    case rapidjson::kArrayType:
    case rapidjson::kObjectType: {
        // A container of the source document is copied as it stands in the
        // text (tool schemas are most of a coding agent's request).
        if (std::string_view span = json_source_span(v, source_); !span.empty()) {
            separate();
            out_.append(span);
        } else if (v.IsArray()) {
            start_array();
            for (const auto& e : v.GetArray()) value(e);
            end_array();
        } else {
            start_object();
            for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
                key({m->name.GetString(), m->name.GetStringLength()});
                value(m->value);
            }
            end_object();
        }
        return;
    }
    }
}

// ---- small helpers ------------------------------------------------------------

void append_uint(std::string& out, std::uint64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    (void)ec;  // 24 bytes always hold a uint64
    out.append(buf, static_cast<std::size_t>(end - buf));
}

std::uint64_t fnv1a64(std::string_view s, std::uint64_t seed) {
    std::uint64_t h = seed;
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return h;
}

}  // namespace llmproxy
