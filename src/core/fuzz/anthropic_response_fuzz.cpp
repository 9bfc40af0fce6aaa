// Fuzzes OpenAI response -> Anthropic response: no crash, and a successful
// translation is an Anthropic message object.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/translate_internal.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace llmproxy;
    std::string_view body(reinterpret_cast<const char*>(data), size);
    ResponseContext ctx;
    ctx.client_model = "claude-sonnet-4-5";
    ctx.tool_names.provider_to_client.emplace_back("renamed_tool_0123abcd", "renamed.tool");
    Usage usage;
    auto r = detail::openai_to_anthropic_response(body, ctx, &usage);
    if (!r.ok()) return 0;
    rapidjson::Document out;
    JsonLimits limits;
    limits.max_depth = 1000;
    if (!parse_json(*r, limits, out, "translated").ok() || !out.IsObject()) std::abort();
    if (!out.HasMember("content") || !out["content"].IsArray()) std::abort();
    if (!out.HasMember("stop_reason") || !out["stop_reason"].IsString()) std::abort();
    return 0;
}
