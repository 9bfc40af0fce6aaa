// Fuzzes Anthropic request parsing and translation to OpenAI (with two quirk
// sets): nothing may crash, and every successful translation is a JSON object.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/translate.hpp"
#include "core/translate_internal.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace llmproxy;
    std::string_view body(reinterpret_cast<const char*>(data), size);
    JsonLimits limits;
    limits.max_depth = 64;
    ParsedRequest req;
    if (!parse_request(Dialect::kAnthropic, body, limits, req).ok()) return 0;
    for (int variant = 0; variant < 2; ++variant) {
        TranslateOptions opts;
        opts.target_model = "fuzz-model";
        if (variant == 1) {
            opts.max_tokens_cap = 100;
            opts.quirks.system_as_string = false;
            opts.quirks.pass_cache_control = true;
            opts.quirks.replay_reasoning = true;
            opts.quirks.inline_system_messages = true;
            opts.quirks.send_reasoning_effort = true;
            opts.quirks.send_thinking_object = true;
            opts.quirks.send_enable_thinking = true;
            opts.quirks.web_search_options = true;
            opts.quirks.null_content_with_tool_calls = false;
        }
        auto r = detail::anthropic_to_openai_request(req, opts);
        if (!r.ok()) {
            if (r.error().message.empty()) std::abort();  // errors always say why
            continue;
        }
        rapidjson::Document out;
        JsonLimits out_limits;
        out_limits.max_depth = 1000;
        if (!parse_json(r->body, out_limits, out, "translated").ok() || !out.IsObject()) std::abort();
        for (const auto& [provider, client] : r->response.tool_names.provider_to_client) {
            if (r->response.tool_names.to_client(provider) != client) std::abort();
        }
    }
    return 0;
}
