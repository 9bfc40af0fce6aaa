// Provider quirks are data: one struct per provider, filled from the
// provider record in the store ("--quirk NAME=VALUE" in llmproxy-ctl), read by
// the translators. Nothing else in src/core branches on a provider's name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace llmproxy {

struct ProviderQuirks {
    // Field carrying reasoning text in OpenAI-dialect responses/streams and
    // replayed assistant turns: "reasoning_content" (DeepSeek, Qwen, vLLM),
    // "reasoning" (OpenRouter, Ollama). Responses accept every known field
    // regardless; this decides what is *sent*.
    std::string reasoning_field = "reasoning_content";
    // Assistant messages with only tool calls: content null (true) or "" (false).
    bool null_content_with_tool_calls = true;
    // System prompt as a plain string (true) or an array of text parts.
    bool system_as_string = true;
    // Send stream_options.include_usage on streaming requests.
    bool stream_include_usage = true;
    // Pass Anthropic cache_control markers through on OpenAI requests
    // (OpenRouter, some Qwen endpoints accept them).
    bool pass_cache_control = false;
    // Replay prior thinking blocks as the reasoning field of assistant turns.
    bool replay_reasoning = false;
    // Map Anthropic thinking config to reasoning_effort (o-series, some
    // OpenAI-compatible servers); when false thinking config is dropped.
    bool send_reasoning_effort = false;
    // Name of the max tokens field: "max_tokens" or "max_completion_tokens".
    std::string max_tokens_field = "max_tokens";
    // Map Anthropic thinking config to thinking: {"type": "enabled"|"disabled"}
    // (DeepSeek, GLM).
    bool send_thinking_object = false;
    // Map Anthropic thinking config to enable_thinking / thinking_budget
    // (Qwen / DashScope, some vLLM chat templates).
    bool send_enable_thinking = false;
    // Mid-conversation role:"system" messages: keep them as system messages in
    // place (true; OpenAI itself accepts that) or turn them into user turns
    // wrapped in <system-reminder> tags (false; vLLM and strict decoders reject
    // a system message after the first turn).
    bool inline_system_messages = false;
    // Most stop sequences the provider accepts (OpenAI: 4); more is an error.
    unsigned max_stop_sequences = 4;
    // Forward metadata.user_id as "user".
    bool send_user = true;
    // Forward top_k (vLLM, SGLang, OpenRouter accept it; OpenAI does not).
    bool send_top_k = false;
    // Map an Anthropic web_search server tool to web_search_options: {}
    // (OpenAI search models); when false such a tool is refused with a 400.
    bool web_search_options = false;
};

struct QuirkInfo {
    std::string_view name;
    std::string_view help;
};

// Every settable quirk with a one-line description (for --help and docs).
const std::vector<QuirkInfo>& quirk_catalog();

// Sets one quirk from its textual form ("true"/"false", a field name...).
// Fails with kInvalidRequest naming the quirk for an unknown name or a bad value.
Status set_quirk(ProviderQuirks& q, std::string_view name, std::string_view value);

}  // namespace llmproxy
