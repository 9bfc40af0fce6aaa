// libFuzzer target: OpenAI Chat Completions request -> Anthropic request.
// Any input must give either a typed error with a reason or a JSON object
// with the fields Anthropic requires; nothing may crash or throw.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "core/json.hpp"
#include "core/translate.hpp"
#include "core/translate_internal.hpp"

namespace {

[[noreturn]] void fail(const char* why, std::string_view detail) {
    std::fprintf(stderr, "openai_client_request_fuzz: %s\n%.*s\n", why,
                 static_cast<int>(detail.size() > 2000 ? 2000 : detail.size()), detail.data());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace llmproxy;
    std::string_view body(reinterpret_cast<const char*>(data), size);
    JsonLimits limits;
    limits.max_bytes = 1 << 20;
    ParsedRequest req;
    if (!parse_request(Dialect::kOpenAI, body, limits, req).ok()) return 0;

    TranslateOptions opts;
    opts.target_model = "claude-sonnet-4-5";
    if (size % 3 == 0) opts.max_tokens_cap = 2048;
    auto r = detail::openai_to_anthropic_request(req, opts);
    if (!r.ok()) {
        if (r.error().message.empty()) fail("error without a reason", body);
        if (r.error().code != ErrorCode::kInvalidRequest) fail("non-400 error for client input", r.error().describe());
        return 0;
    }
    rapidjson::Document out;
    JsonLimits out_limits;
    out_limits.max_depth = 1024;  // the translation adds a few levels around client values
    if (!parse_json(r->body, out_limits, out, "translated request").ok()) fail("output is not JSON", r->body);
    if (!out.IsObject()) fail("output is not an object", r->body);
    auto has = [&](const char* name) { return out.HasMember(name); };
    if (!has("model") || !out["model"].IsString()) fail("no model", r->body);
    if (!has("max_tokens") || !out["max_tokens"].IsUint64() || out["max_tokens"].GetUint64() == 0) {
        fail("no positive max_tokens", r->body);
    }
    if (opts.max_tokens_cap && out["max_tokens"].GetUint64() > *opts.max_tokens_cap) fail("cap exceeded", r->body);
    if (!has("messages") || !out["messages"].IsArray() || out["messages"].Empty()) fail("no messages", r->body);
    for (const auto& m : out["messages"].GetArray()) {
        if (!m.IsObject() || !m.HasMember("role") || !m.HasMember("content") || !m["content"].IsArray() ||
            m["content"].Empty()) {
            fail("message without role or content blocks", r->body);
        }
        // tool_result blocks must come first in a user message.
        bool other_seen = false;
        for (const auto& b : m["content"].GetArray()) {
            bool is_result = b.IsObject() && b.HasMember("type") && b["type"] == "tool_result";
            if (is_result && other_seen) fail("tool_result after another block", r->body);
            if (!is_result) other_seen = true;
        }
    }
    if (has("thinking")) {
        std::uint64_t budget = out["thinking"]["budget_tokens"].GetUint64();
        if (budget < 1024 || budget >= out["max_tokens"].GetUint64()) fail("bad thinking budget", r->body);
    }
    return 0;
}
