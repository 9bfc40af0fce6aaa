// core/token_estimate: the documented counting rules, checked with hand-
// computed figures (ASCII bytes / 4 rounded up, one token per non-ASCII code
// point, 4 per message, 8 per tool, 1,600 per image, 1,600 per 100 KB of
// document data).
#include "core/token_estimate.hpp"

#include <gtest/gtest.h>

#include <string>

namespace llmproxy {
namespace {

std::uint64_t estimate(Dialect d, const std::string& body) {
    ParsedRequest req;
    Status st = parse_request(d, body, JsonLimits{}, req);
    EXPECT_TRUE(st.ok()) << st.error().describe() << "\n" << body;
    return estimate_input_tokens(req);
}

// A request with one user message whose content is the JSON `content`.
std::uint64_t one_message(Dialect d, const std::string& content) {
    return estimate(d, R"({"model":"m","messages":[{"role":"user","content":)" + content + "}]}");
}

TEST(EstimateTextTokens, AsciiRoundsUp) {
    EXPECT_EQ(estimate_text_tokens(""), 0u);
    EXPECT_EQ(estimate_text_tokens("a"), 1u);
    EXPECT_EQ(estimate_text_tokens("abcd"), 1u);
    EXPECT_EQ(estimate_text_tokens("abcde"), 2u);
    EXPECT_EQ(estimate_text_tokens(std::string(4000, 'x')), 1000u);
    EXPECT_EQ(estimate_text_tokens(std::string(4001, 'x')), 1001u);
}

TEST(EstimateTextTokens, OneTokenPerNonAsciiCodePoint) {
    EXPECT_EQ(estimate_text_tokens("日本語"), 3u);           // 9 bytes, 3 code points
    EXPECT_EQ(estimate_text_tokens("中文文本测试"), 6u);
    EXPECT_EQ(estimate_text_tokens("é"), 1u);                // 2-byte sequence
    EXPECT_EQ(estimate_text_tokens("\xF0\x9F\x98\x80"), 1u);  // 4-byte emoji
    // Mixed: 3 ASCII bytes -> 1, plus 2 code points.
    EXPECT_EQ(estimate_text_tokens("hi 日本"), 3u);
    // Stray continuation bytes start no code point.
    EXPECT_EQ(estimate_text_tokens("\x80\x80\x80"), 0u);
}

TEST(EstimateInputTokens, EmptyAndUnparsed) {
    EXPECT_EQ(estimate(Dialect::kAnthropic, R"({"model":"m","messages":[]})"), 0u);
    // peek_request leaves no DOM: nothing to count.
    ParsedRequest req;
    ASSERT_TRUE(peek_request(Dialect::kAnthropic,
                             R"({"model":"m","messages":[{"role":"user","content":"hello"}]})",
                             JsonLimits{}, req)
                    .ok());
    EXPECT_EQ(estimate_input_tokens(req), 0u);
}

TEST(EstimateInputTokens, StringContentAndMessageOverhead) {
    EXPECT_EQ(one_message(Dialect::kAnthropic, R"("abcdefgh")"), 4u + 2u);
    EXPECT_EQ(one_message(Dialect::kOpenAI, R"("日本語のテキスト")"), 4u + 8u);
    EXPECT_EQ(estimate(Dialect::kAnthropic,
                       R"({"model":"m","messages":[{"role":"user","content":"abcd"},)"
                       R"({"role":"assistant","content":"abcde"},1,"skip"]})"),
              (4u + 1u) + (4u + 2u));
}

TEST(EstimateInputTokens, SystemStringAndBlocks) {
    EXPECT_EQ(estimate(Dialect::kAnthropic, R"({"model":"m","system":"abcd","messages":[]})"), 4u + 1u);
    EXPECT_EQ(estimate(Dialect::kAnthropic,
                       R"({"model":"m","system":[{"type":"text","text":"abcdefgh"},)"
                       R"({"type":"text","text":"x","cache_control":{"type":"ephemeral"}}],"messages":[]})"),
              4u + 2u + 1u);
}

TEST(EstimateInputTokens, TextBlocks) {
    EXPECT_EQ(one_message(Dialect::kAnthropic,
                          R"([{"type":"text","text":"abcdefgh"},{"type":"text","text":"日本"}])"),
              4u + 2u + 2u);
    // OpenAI text parts use the same "text" member.
    EXPECT_EQ(one_message(Dialect::kOpenAI, R"([{"type":"text","text":"abcdefghi"}])"), 4u + 3u);
}

TEST(EstimateInputTokens, ImagesAreFlat) {
    std::string big_data(500000, 'A');
    EXPECT_EQ(one_message(Dialect::kAnthropic,
                          R"([{"type":"image","source":{"type":"base64","media_type":"image/png","data":")" +
                              big_data + R"("}}])"),
              4u + 1600u);
    EXPECT_EQ(one_message(Dialect::kOpenAI,
                          R"([{"type":"image_url","image_url":{"url":"https://x/y.png"}},)"
                          R"({"type":"input_image","image_url":"u"}])"),
              4u + 1600u + 1600u);
}

TEST(EstimateInputTokens, DocumentsScaleWithData) {
    auto doc_with = [](std::size_t bytes) {
        return R"([{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":")" +
               std::string(bytes, 'A') + R"("}}])";
    };
    EXPECT_EQ(one_message(Dialect::kAnthropic, doc_with(0)), 4u + 1600u);
    EXPECT_EQ(one_message(Dialect::kAnthropic, doc_with(100 * 1024 - 1)), 4u + 1600u);
    EXPECT_EQ(one_message(Dialect::kAnthropic, doc_with(100 * 1024)), 4u + 3200u);
    EXPECT_EQ(one_message(Dialect::kAnthropic, doc_with(350 * 1024)), 4u + 4u * 1600u);
    // No data (URL source, OpenAI file part): the minimum.
    EXPECT_EQ(one_message(Dialect::kAnthropic,
                          R"([{"type":"document","source":{"type":"url","url":"https://x/a.pdf"}}])"),
              4u + 1600u);
    EXPECT_EQ(one_message(Dialect::kOpenAI, R"([{"type":"file","file":{"file_id":"f"}}])"), 4u + 1600u);
}

TEST(EstimateInputTokens, ToolUseAndThinking) {
    // name "Read" 1 + input {"path":"abcd"} (1 + 1 + 1) + 4.
    EXPECT_EQ(one_message(Dialect::kAnthropic,
                          R"([{"type":"tool_use","id":"toolu_1","name":"Read","input":{"path":"abcd"}}])"),
              4u + 1u + 3u + 4u);
    EXPECT_EQ(one_message(Dialect::kAnthropic,
                          R"([{"type":"thinking","thinking":"abcdefgh","signature":"sig-ignored-xxxxxxxx"}])"),
              4u + 2u);
}

TEST(EstimateInputTokens, ToolResultNesting) {
    EXPECT_EQ(one_message(Dialect::kAnthropic,
                          R"([{"type":"tool_result","tool_use_id":"t","content":"abcdefgh"}])"),
              4u + 4u + 2u);
    EXPECT_EQ(one_message(Dialect::kAnthropic, R"([{"type":"tool_result","tool_use_id":"t"}])"),
              4u + 4u);
    // Text and an image inside a tool_result (Read on a picture).
    EXPECT_EQ(one_message(Dialect::kAnthropic,
                          R"([{"type":"tool_result","tool_use_id":"t","content":[)"
                          R"({"type":"text","text":"abcd"},{"type":"image","source":{"data":"AAAA"}}]}])"),
              4u + 4u + 1u + 1600u);
}

TEST(EstimateInputTokens, UnknownBlocksCountAsJson) {
    // {"type":"x"}: 1 for the object + "type" 1 + "x" 1.
    EXPECT_EQ(one_message(Dialect::kAnthropic, R"([{"type":"x"}])"), 4u + 3u);
    // Non-object blocks: strings as text, others one token.
    EXPECT_EQ(one_message(Dialect::kAnthropic, R"(["abcdefgh",7,null])"), 4u + 2u + 1u + 1u);
    // null content costs nothing beyond the message.
    EXPECT_EQ(one_message(Dialect::kOpenAI, "null"), 4u);
}

TEST(EstimateInputTokens, ToolsCountOverheadPlusSchema) {
    // 1 (object) + "name" 1 + "abcd" 1 + "description" 3 + "abcdefgh" 2 +
    // "input_schema" 3 + {"type":"object"} (1 + 1 + 2) = 15, plus 8 overhead.
    std::string tool = R"({"name":"abcd","description":"abcdefgh","input_schema":{"type":"object"}})";
    EXPECT_EQ(estimate(Dialect::kAnthropic, R"({"model":"m","messages":[],"tools":[)" + tool + "]}"),
              8u + 15u);
    EXPECT_EQ(estimate(Dialect::kAnthropic,
                       R"({"model":"m","messages":[],"tools":[)" + tool + "," + tool + "]}"),
              2u * (8u + 15u));
    // Tools that are not an array are ignored.
    EXPECT_EQ(estimate(Dialect::kAnthropic, R"({"model":"m","messages":[],"tools":{"a":1}})"), 0u);
}

TEST(EstimateInputTokens, OpenAIToolCalls) {
    // tool_calls array: 1 + object(1 + "id" 1 + "c1" 1 + "type" 1 + "function" 2 +
    // "function" 2 + {1 + "name" 1 + "f" 1 + "arguments" 3 + "{\"a\":1}" 2}) = 17.
    std::string body =
        R"({"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[)"
        R"({"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},)"
        R"({"role":"tool","tool_call_id":"c1","content":"abcd"}]})";
    EXPECT_EQ(estimate(Dialect::kOpenAI, body), (4u + 17u) + (4u + 1u));
}

TEST(EstimateInputTokens, GrowsWithContent) {
    std::string small = R"([{"type":"text","text":")" + std::string(1000, 'a') + R"("}])";
    std::string large = R"([{"type":"text","text":")" + std::string(100000, 'a') + R"("}])";
    EXPECT_EQ(one_message(Dialect::kAnthropic, small), 4u + 250u);
    EXPECT_EQ(one_message(Dialect::kAnthropic, large), 4u + 25000u);
}

}  // namespace
}  // namespace llmproxy
