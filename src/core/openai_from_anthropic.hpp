// Anthropic provider output -> OpenAI client output: the non-stream
// chat.completion translator and the SSE stream encoder behind
// detail::anthropic_to_openai_response / detail::make_anthropic_to_openai_stream.
// Declared here so tests, fuzz targets and benchmarks can pin the "created"
// timestamp, which otherwise comes from the clock.
#pragma once

#include <cstdint>
#include <forward_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rapidjson/reader.h>

#include "core/sse.hpp"
#include "core/translate.hpp"

namespace llmproxy::detail {

// anthropic_to_openai_response with an explicit "created" (Unix seconds).
Result<std::string> anthropic_to_openai_response_at(std::string_view body,
                                                    const ResponseContext& ctx, Usage* usage,
                                                    std::int64_t created);

// Fields of one Anthropic stream event, filled by a SAX pass (no DOM, so
// steady-state chunks do not touch the heap once buffers have grown). The
// strings are views into the encoder's in-situ copy of the event data (or its
// copies of them), valid until the next event is parsed.
struct AnthropicEventFields {
    std::string_view type;          // "type"
    std::uint64_t index = 0;        // "index"
    bool has_index = false;
    std::string_view message_id;    // message.id (message_start)
    std::string_view block_type;    // content_block.type
    std::string_view block_id;      // content_block.id
    std::string_view block_name;    // content_block.name
    std::string_view block_text;    // content_block.text / content_block.thinking
    std::string_view delta_type;    // delta.type
    std::string_view delta_text;    // delta.text / thinking / partial_json
    std::string_view stop_reason;   // delta.stop_reason
    bool has_stop_reason = false;
    std::string_view error_type;    // error.type
    std::string_view error_message; // error.message
    // usage counters from message.usage (message_start) or usage (message_delta)
    std::uint64_t input_tokens = 0, output_tokens = 0, cache_read = 0, cache_creation = 0;
    bool has_input = false, has_output = false, has_cache_read = false, has_cache_creation = false;

    void clear();
};

// Anthropic SSE in (arbitrary slices), OpenAI chat.completion.chunk events out.
class OpenAIStreamEncoder final : public StreamTranscoder {
public:
    OpenAIStreamEncoder(const ResponseContext& ctx, std::int64_t created);

    void feed(std::string_view bytes, std::string& out) override;
    void finish(std::string& out) override;
    void fail(int status, std::string_view message, std::string& out) override;
    const Usage& usage() const override { return usage_; }
    bool started() const override { return started_; }

private:
    enum class State { kAwaitingStart, kStreaming, kDone };

    void on_event(const SseEvent& ev, std::string& out);
    bool parse_fields(std::string_view data);
    void begin(std::string& out);
    void on_block_start(std::string& out);
    void on_block_delta(std::string& out);
    void merge_usage();
    void complete(std::string& out);
    void end_with_error(int status, std::string_view message, std::string& out);

    // One chunk is chunk_prefix_, the delta object (written by the caller
    // straight into `out`), then end_chunk's tail with the finish_reason
    // (a JSON literal).
    void begin_chunk(std::string& out);
    void end_chunk(std::string_view finish_reason, std::string& out);
    // A chunk whose delta is `open` (`{"content":` ...) and `text` as a string.
    void text_chunk(std::string_view open, std::string_view text, std::string& out);
    int tool_index_for_block(std::uint64_t block) const;

    ResponseContext ctx_;
    std::int64_t created_;
    SseParser parser_;
    rapidjson::Reader reader_;
    AnthropicEventFields fields_;
    std::string header_;   // {"id":..,"object":"chat.completion.chunk","created":..,"model":..
    std::string chunk_prefix_;  // "data: " header_ ,"choices":[{"index":0,"delta":
    std::string insitu_;   // the current event's data, parsed in place (fields_ point into it)
    std::forward_list<std::string> owned_strings_;  // fields_' strings when RapidJSON parsed the event
    // Anthropic block index -> OpenAI tool_calls index, for tool_use blocks.
    std::vector<std::pair<std::uint64_t, int>> tool_blocks_;
    std::vector<std::string> tool_ids_;  // ids of the tool calls sent so far
    int next_tool_index_ = 0;
    std::string stop_reason_;
    bool have_stop_reason_ = false;
    Usage usage_;
    State state_ = State::kAwaitingStart;
    bool started_ = false;
};

}  // namespace llmproxy::detail
