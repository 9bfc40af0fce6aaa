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

// Keepalive sent while a stream is idle: Anthropic's own ping event, and an
// SSE comment for OpenAI clients (their SDKs skip comments).
constexpr std::string_view keepalive_event(Dialect d) {
    return d == Dialect::kAnthropic ? "event: ping\ndata: {\"type\": \"ping\"}\n\n"
                                    : ": ping\n\n";
}

}  // namespace llmproxy
