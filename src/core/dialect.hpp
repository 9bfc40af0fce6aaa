// The two API dialects the gateway speaks, on either side of a request.
#pragma once

#include <cstdint>
#include <string_view>

namespace llmproxy {

enum class Dialect : std::uint8_t {
    kAnthropic,  // Anthropic Messages API (/v1/messages)
    kOpenAI,     // OpenAI Chat Completions API (/v1/chat/completions)
};

constexpr std::string_view dialect_name(Dialect d) {
    return d == Dialect::kAnthropic ? "anthropic" : "openai";
}

}  // namespace llmproxy
