// core/anthropic_event_reader: the fields of one Anthropic stream event, read
// by FastJsonReader or (outside its subset) RapidJSON, always in situ.
#include "core/anthropic_event_reader.hpp"

#include <gtest/gtest.h>

#include <string>

namespace llmproxy {
namespace {

constexpr std::string_view kStart =
    R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant",)"
    R"("model":"prov-\"m\"","content":[],"usage":{"input_tokens":25,)"
    R"("cache_creation_input_tokens":3,"cache_read_input_tokens":7,"output_tokens":1}}})";

// The same event with a surrogate pair escape, which FastJsonReader leaves to RapidJSON.
std::string with_surrogate(std::string_view event) {
    std::string s(event);
    s.replace(s.find("msg_1"), 5, R"(msg_\ud83d\ude00)");
    return s;
}

TEST(AnthropicEventReader, MessageStartFieldsBothReaders) {
    for (const std::string& data : {std::string(kStart), with_surrogate(kStart)}) {
        AnthropicEventReader reader;
        ASSERT_TRUE(reader.read(data)) << data;
        const AnthropicEventFields& f = reader.fields();
        EXPECT_EQ(f.type, "message_start");
        EXPECT_EQ(f.message_model, "prov-\"m\"");
        EXPECT_EQ(reader.source_literal(f.message_model, data), R"("prov-\"m\"")");
        EXPECT_EQ(reader.source_literal(f.type, data), R"("message_start")");
        Usage u;
        u.output_tokens = 99;
        reader.merge_usage(u);
        EXPECT_TRUE(u.known);
        EXPECT_EQ(u.input_tokens, 25u);
        EXPECT_EQ(u.output_tokens, 1u);
        EXPECT_EQ(u.cache_read_input_tokens, 7u);
        EXPECT_EQ(u.cache_creation_input_tokens, 3u);
    }
    AnthropicEventReader reader;
    ASSERT_TRUE(reader.read(with_surrogate(kStart)));
    EXPECT_EQ(reader.fields().message_id, "msg_\xF0\x9F\x98\x80");
}

TEST(AnthropicEventReader, DeltaUsageMergesOnlyWhatIsThere) {
    AnthropicEventReader reader;
    ASSERT_TRUE(reader.read(R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}})"));
    EXPECT_TRUE(reader.fields().has_stop_reason);
    EXPECT_EQ(reader.fields().stop_reason, "end_turn");
    Usage u;
    u.input_tokens = 25;
    reader.merge_usage(u);
    EXPECT_TRUE(u.known);
    EXPECT_EQ(u.input_tokens, 25u);
    EXPECT_EQ(u.output_tokens, 15u);
    ASSERT_TRUE(reader.read(R"({"type":"ping"})"));
    Usage none;
    reader.merge_usage(none);
    EXPECT_FALSE(none.known);
}

TEST(AnthropicEventReader, FieldsInArraysOrDeeperAreNotRead) {
    AnthropicEventReader reader;
    ASSERT_TRUE(reader.read(R"({"message":[{"model":"a"}],"x":{"message":{"model":"b"}},"usage":[{"output_tokens":4}]})"));
    EXPECT_EQ(reader.fields().message_model.data(), nullptr);
    Usage u;
    reader.merge_usage(u);
    EXPECT_FALSE(u.known);
}

TEST(AnthropicEventReader, InvalidTextIsRejectedByEitherReader) {
    const std::string nul_inside = std::string(R"({"type":"ping"})") + '\0' + "x";
    for (const std::string& data : {
             std::string(R"({"type":"ping")"),                       // cut short
             std::string(R"({"type":"ping"} x)"),                    // trailing bytes
             std::string(R"({"type":"p)") + "\xff" + R"("})",        // bad UTF-8
             std::string(R"({"id":"\ud83d\ude00","type":"p)") + "\xff" + R"("})",  // bad UTF-8, RapidJSON
             std::string(R"({"id":"\ud83d\ude00","type":"p)") + "\x1b" + R"("})",  // control byte, RapidJSON
             nul_inside,
             std::string(200, '[') + std::string(200, ']'),          // deeper than JsonLimits
         }) {
        AnthropicEventReader reader;
        EXPECT_FALSE(reader.read(data)) << data;
        EXPECT_TRUE(reader.fields().type.empty());
    }
}

TEST(AnthropicEventReader, EmptyDataIsInvalid) {
    AnthropicEventReader reader;
    EXPECT_FALSE(reader.read(std::string_view{}));
    EXPECT_FALSE(reader.read(""));
}

TEST(AnthropicEventReader, LongEventsAfterShortOnes) {
    AnthropicEventReader reader;
    ASSERT_TRUE(reader.read(R"({"type":"ping"})"));
    std::string text(5000, 'x');
    std::string data = R"({"type":"content_block_delta","delta":{"type":"text_delta","text":")" + text + R"("}})";
    ASSERT_TRUE(reader.read(data));
    EXPECT_EQ(reader.fields().delta_text, text);
    EXPECT_EQ(reader.source_literal(reader.fields().delta_text, data), "\"" + text + "\"");
}

}  // namespace
}  // namespace llmproxy
