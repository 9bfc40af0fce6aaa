// The Anthropic stream grammar validator must reject what real clients
// reject, or the stream tests that rely on it prove nothing.
#include <gtest/gtest.h>

#include "anthropic_stream_validator.hpp"

namespace llmproxy::testing {
namespace {

std::string ev(const std::string& name, const std::string& data) {
    return "event: " + name + "\ndata: " + data + "\n\n";
}

const std::string kStart = ev("message_start",
    R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":0}}})");
const std::string kTextStart = ev("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
const std::string kTextDelta = ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}})");
const std::string kStop0 = ev("content_block_stop", R"({"type":"content_block_stop","index":0})");
const std::string kMsgDelta = ev("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":3}})");
const std::string kMsgStop = ev("message_stop", R"({"type":"message_stop"})");

TEST(AnthropicStreamValidator, AcceptsAValidStream) {
    auto s = validate_anthropic_stream(kStart + kTextStart + kTextDelta + kStop0 + kMsgDelta + kMsgStop);
    EXPECT_TRUE(s.ok) << s.error;
    ASSERT_EQ(s.blocks.size(), 1u);
    EXPECT_EQ(s.blocks[0].text, "hi");
    EXPECT_EQ(s.stop_reason, "end_turn");
}

TEST(AnthropicStreamValidator, RejectsGrammarViolations) {
    const std::string thinking_delta = ev("content_block_delta",
        R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"x"}})");
    const std::string start1 = ev("content_block_start",
        R"({"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}})");
    const std::string bad_reason = ev("message_delta",
        R"({"type":"message_delta","delta":{"stop_reason":"error","stop_sequence":null},"usage":{"output_tokens":3}})");
    const std::string tool = ev("content_block_start",
        R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"a:b","name":"X","input":{}}})");
    const std::string bad_json = ev("content_block_delta",
        R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}})");
    const std::string good_tool = ev("content_block_start",
        R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t1","name":"X","input":{}}})");
    const std::string bad_error = ev("error", R"({"type":"error","error":{"type":"cancelled","message":"x"}})");
    const std::string unnamed = "data: {\"type\":\"ping\"}\n\n";
    const std::vector<std::string> bad = {
        "",                                                                       // empty
        kTextStart + kTextDelta + kStop0 + kMsgDelta + kMsgStop,                  // no message_start
        kStart + kTextStart + kTextDelta + kStop0 + kMsgDelta,                    // no message_stop
        kStart + kTextStart + kTextDelta + kMsgDelta + kMsgStop,                  // block left open
        kStart + kTextStart + thinking_delta + kStop0 + kMsgDelta + kMsgStop,     // wrong delta type
        kStart + start1 + kMsgDelta + kMsgStop,                                   // index gap
        kStart + kTextStart + kTextStart + kMsgDelta + kMsgStop,                  // overlapping blocks
        kStart + kTextDelta + kMsgDelta + kMsgStop,                               // delta without block
        kStart + kMsgDelta + kMsgStop + kMsgStop,                                 // event after the end
        kStart + bad_reason + kMsgStop,                                           // unknown stop_reason
        kStart + tool + kStop0 + kMsgDelta + kMsgStop,                            // bad tool id
        kStart + good_tool + bad_json + kStop0 + kMsgDelta + kMsgStop,            // tool input not JSON
        kStart + bad_error,                                                       // unknown error type
        kStart + unnamed + kMsgDelta + kMsgStop,                                  // event without a name
        kStart + kMsgDelta + kMsgDelta + kMsgStop,                                // two message_delta
        kStart + kMsgDelta + kMsgStop.substr(0, kMsgStop.size() - 1),             // no final blank line
    };
    for (std::size_t i = 0; i < bad.size(); ++i) {
        auto s = validate_anthropic_stream(bad[i]);
        EXPECT_FALSE(s.ok) << "case " << i << " accepted:\n" << bad[i];
    }
}

}  // namespace
}  // namespace llmproxy::testing
