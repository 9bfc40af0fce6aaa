#include "core/provider_quirks.hpp"

#include <charconv>

namespace llmproxy {

namespace {

// One row per settable quirk: its name, help line and how to set it. The
// catalog and set_quirk() both derive from this table, so they cannot drift.
struct QuirkField {
    std::string_view name;
    std::string_view help;
    bool ProviderQuirks::*flag = nullptr;
    std::string ProviderQuirks::*text = nullptr;
    unsigned ProviderQuirks::*number = nullptr;
};

const QuirkField kQuirkFields[] = {
    {"reasoning_field",
     "field carrying reasoning text sent to the provider: reasoning_content (DeepSeek, Qwen, "
     "vLLM) or reasoning (OpenRouter, Ollama, vLLM >= 0.10)",
     nullptr, &ProviderQuirks::reasoning_field, nullptr},
    {"null_content_with_tool_calls",
     "assistant messages with only tool calls carry content null (true) or \"\" (false)",
     &ProviderQuirks::null_content_with_tool_calls, nullptr, nullptr},
    {"system_as_string", "system prompt as one string (true) or an array of text parts (false)",
     &ProviderQuirks::system_as_string, nullptr, nullptr},
    {"stream_include_usage", "send stream_options.include_usage on streaming requests",
     &ProviderQuirks::stream_include_usage, nullptr, nullptr},
    {"pass_cache_control", "pass Anthropic cache_control markers through (OpenRouter, some Qwen)",
     &ProviderQuirks::pass_cache_control, nullptr, nullptr},
    {"replay_reasoning",
     "send prior thinking blocks back as the reasoning field of assistant turns (DeepSeek "
     "thinking mode, Kimi)",
     &ProviderQuirks::replay_reasoning, nullptr, nullptr},
    {"send_reasoning_effort", "map Anthropic thinking config to reasoning_effort (o-series)",
     &ProviderQuirks::send_reasoning_effort, nullptr, nullptr},
    {"max_tokens_field", "name of the max tokens field: max_tokens or max_completion_tokens",
     nullptr, &ProviderQuirks::max_tokens_field, nullptr},
    {"send_thinking_object",
     "map Anthropic thinking config to thinking: {type: enabled|disabled} (DeepSeek, GLM)",
     &ProviderQuirks::send_thinking_object, nullptr, nullptr},
    {"send_enable_thinking",
     "map Anthropic thinking config to enable_thinking / thinking_budget (Qwen, DashScope)",
     &ProviderQuirks::send_enable_thinking, nullptr, nullptr},
    {"inline_system_messages",
     "keep mid-conversation system messages as role system (true) or send them as user turns "
     "(false; needed by vLLM and strict servers)",
     &ProviderQuirks::inline_system_messages, nullptr, nullptr},
    {"max_stop_sequences", "most stop sequences the provider accepts (OpenAI: 4)", nullptr,
     nullptr, &ProviderQuirks::max_stop_sequences},
    {"send_user", "forward metadata.user_id as user", &ProviderQuirks::send_user, nullptr, nullptr},
    {"send_top_k", "forward top_k (vLLM, SGLang, OpenRouter)", &ProviderQuirks::send_top_k,
     nullptr, nullptr},
    {"web_search_options",
     "map the Anthropic web_search server tool to web_search_options (else it is refused)",
     &ProviderQuirks::web_search_options, nullptr, nullptr},
};

Error quirk_error(std::string_view name, std::string why) {
    return make_error(ErrorCode::kInvalidRequest, "quirk " + std::string(name), std::move(why));
}

}  // namespace

const std::vector<QuirkInfo>& quirk_catalog() {
    // Immutable after first use (thread-safe static initialisation).
    static const std::vector<QuirkInfo> catalog = [] {
        std::vector<QuirkInfo> out;
        for (const auto& f : kQuirkFields) out.push_back(QuirkInfo{f.name, f.help});
        return out;
    }();
    return catalog;
}

Status set_quirk(ProviderQuirks& q, std::string_view name, std::string_view value) {
    for (const auto& f : kQuirkFields) {
        if (f.name != name) continue;
        if (f.flag) {
            if (value == "true" || value == "1" || value == "yes" || value == "on") {
                q.*f.flag = true;
            } else if (value == "false" || value == "0" || value == "no" || value == "off") {
                q.*f.flag = false;
            } else {
                return quirk_error(name, "expected true or false, got \"" + std::string(value) + "\"");
            }
            return Status();
        }
        if (f.number) {
            unsigned v = 0;
            auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
            if (value.empty() || ec != std::errc() || ptr != value.data() + value.size()) {
                return quirk_error(name, "expected a non-negative integer, got \"" +
                                             std::string(value) + "\"");
            }
            q.*f.number = v;
            return Status();
        }
        if (name == "reasoning_field" && value != "reasoning_content" && value != "reasoning") {
            return quirk_error(name, "expected reasoning_content or reasoning");
        }
        if (name == "max_tokens_field" && value != "max_tokens" &&
            value != "max_completion_tokens") {
            return quirk_error(name, "expected max_tokens or max_completion_tokens");
        }
        q.*f.text = std::string(value);
        return Status();
    }
    return quirk_error(name, "unknown quirk");
}

}  // namespace llmproxy
