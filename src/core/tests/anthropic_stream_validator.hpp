// Grammar validator for Anthropic Messages SSE output, applied to every
// encoder output in tests and fuzz targets. It checks the event sequence
// (message_start, strictly sequential content blocks with deltas of their own
// type, one message_delta, message_stop, nothing after; or an error event
// that ends the stream) and the payload shapes, and returns what the stream
// said so tests can assert on content instead of bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llmproxy::testing {

struct AnthropicBlock {
    std::string type;        // text, thinking, redacted_thinking, tool_use
    std::string text;        // text / thinking / joined partial_json
    std::string id, name;    // tool_use
    std::string signature;   // thinking
    std::size_t deltas = 0;  // number of content_block_delta events
};

struct AnthropicStreamSummary {
    bool ok = false;
    std::string error;          // first grammar violation (empty when ok)
    std::string message_id, model;
    std::vector<AnthropicBlock> blocks;
    std::string stop_reason;    // from message_delta
    bool complete = false;      // ended with message_stop
    bool errored = false;       // ended with an error event
    std::string error_type, error_message;
    std::uint64_t input_tokens = 0, output_tokens = 0, cache_read = 0, cache_creation = 0;
    bool final_usage_has_input = false;
    std::size_t pings = 0;
};

struct AnthropicValidatorOptions {
    // Require a finished stream (message_stop or error last).
    bool require_complete = true;
    // Require each tool_use block's joined partial_json to be valid JSON
    // (false in fuzzing, where upstream arguments are arbitrary).
    bool tool_json_must_parse = true;
};

AnthropicStreamSummary validate_anthropic_stream(std::string_view sse,
                                                 const AnthropicValidatorOptions& opts = {});

}  // namespace llmproxy::testing
