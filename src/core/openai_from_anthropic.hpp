// Anthropic provider output -> OpenAI client output: the non-stream
// chat.completion translator and the SSE stream encoder behind
// detail::anthropic_to_openai_response / detail::make_anthropic_to_openai_stream.
// Declared here so tests, fuzz targets and benchmarks can pin the "created"
// timestamp, which otherwise comes from the clock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/anthropic_event_reader.hpp"
#include "core/sse.hpp"
#include "core/translate.hpp"

namespace llmproxy::detail {

// anthropic_to_openai_response with an explicit "created" (Unix seconds).
Result<std::string> anthropic_to_openai_response_at(std::string_view body,
                                                    const ResponseContext& ctx, Usage* usage,
                                                    std::int64_t created);

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
    const AnthropicEventFields& fields() const { return events_.fields(); }
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
    AnthropicEventReader events_;
    std::string header_;   // {"id":..,"object":"chat.completion.chunk","created":..,"model":..
    std::string chunk_prefix_;  // "data: " header_ ,"choices":[{"index":0,"delta":
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
