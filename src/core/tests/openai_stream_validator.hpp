// Grammar validator for OpenAI chat.completion.chunk streams as the gateway
// sends them to OpenAI clients. Applied to every stream encoder output in the
// tests and the fuzz targets.
//
// Rules: events are exactly "data: <payload>\n\n"; the last event is
// "data: [DONE]" and nothing follows it; every other payload is a JSON
// object, either an error object {"error":{"message","type",...}} (then only
// [DONE] may follow) or a chunk with object "chat.completion.chunk" and the
// same id, created and model as the first chunk. Content chunks have exactly
// one choice with index 0, an object delta and a null or known finish_reason;
// the first chunk carries role "assistant" and no other chunk does. A tool
// call index appears first with id, type "function" and function.name, and
// indices are introduced in order 0, 1, 2...; continuation fragments carry
// neither id nor name. Exactly one chunk has a finish_reason (none when the
// stream ends in an error); after it only one usage chunk (choices [] and a
// usage object whose total is prompt + completion) may come.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llmproxy::testing {

// What the stream said, reassembled (for comparing with non-stream output).
struct OpenAIStreamSummary {
    struct ToolCall {
        std::string id;
        std::string name;
        std::string arguments;
    };
    std::string id;
    std::string model;
    std::string content;
    std::string reasoning;
    std::vector<ToolCall> tool_calls;
    std::string finish_reason;  // empty when the stream ended in an error
    bool has_usage = false;
    std::uint64_t prompt_tokens = 0, completion_tokens = 0, total_tokens = 0, cached_tokens = 0;
    bool error = false;
    std::string error_type;
    std::string error_message;
    std::size_t chunks = 0;  // chunk events, excluding error and [DONE]
};

// Empty when `sse` is a valid stream, else a description of the first
// violation (with the event number).
std::string validate_openai_stream(std::string_view sse, OpenAIStreamSummary* summary = nullptr);

}  // namespace llmproxy::testing
