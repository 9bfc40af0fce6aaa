// core/json: nesting-depth scan, size/depth limits of parse_json, string
// skipping around escapes, and string-literal escaping.
#include "core/json.hpp"

#include <gtest/gtest.h>

#include <string>

namespace llmproxy {
namespace {

std::size_t skip_len(std::string_view s) {
    // `s` starts just past an opening quote; returns how many bytes were skipped.
    return static_cast<std::size_t>(json_skip_string(s.data(), s.data() + s.size()) - s.data());
}

TEST(JsonNestingDepth, CountsArraysAndObjects) {
    EXPECT_EQ(json_nesting_depth("", 10), 0u);
    EXPECT_EQ(json_nesting_depth("42", 10), 0u);
    EXPECT_EQ(json_nesting_depth("{}", 10), 1u);
    EXPECT_EQ(json_nesting_depth("[[],[[]]]", 10), 3u);
    EXPECT_EQ(json_nesting_depth(R"({"a":{"b":[1,{"c":2}]},"d":[]})", 10), 4u);
}

TEST(JsonNestingDepth, SiblingsDoNotAccumulate) {
    EXPECT_EQ(json_nesting_depth("[[1],[2],[3],[4],[5]]", 10), 2u);
}

TEST(JsonNestingDepth, BracketsInsideStringsAreIgnored) {
    EXPECT_EQ(json_nesting_depth(R"({"a":"[[[[{{{{"})", 10), 1u);
    EXPECT_EQ(json_nesting_depth(R"(["]]]]}}}}", [1]])", 10), 2u);
}

TEST(JsonNestingDepth, EscapedQuotesDoNotEndStrings) {
    // The string holds  \"[[[  : the escaped quote must not reopen code mode.
    EXPECT_EQ(json_nesting_depth(R"({"a":"x\"[[[[["})", 10), 1u);
    // An escaped backslash before the quote: the quote does end the string.
    EXPECT_EQ(json_nesting_depth(R"({"a":"x\\","b":[[1]]})", 10), 3u);
    // Three backslashes: escaped backslash then escaped quote, string goes on.
    EXPECT_EQ(json_nesting_depth(R"({"a":"x\\\"[[[[","b":1})", 10), 1u);
}

TEST(JsonNestingDepth, StopsAtCapPlusOne) {
    std::string deep(1000, '[');
    EXPECT_EQ(json_nesting_depth(deep, 5), 6u);
    EXPECT_EQ(json_nesting_depth("[[[[[]]]]]", 5), 5u);
    EXPECT_EQ(json_nesting_depth("[[[[[[]]]]]]", 5), 6u);
}

TEST(JsonNestingDepth, UnbalancedClosersDoNotUnderflow) {
    EXPECT_EQ(json_nesting_depth("]]]]}}[[", 10), 2u);
}

TEST(JsonNestingDepth, UnterminatedStringEndsScan) {
    EXPECT_EQ(json_nesting_depth(R"([{"a":"[[[[[[)", 3), 2u);
}

TEST(JsonSkipString, PlainAndEmpty) {
    EXPECT_EQ(skip_len(R"(abc" rest)"), 4u);
    EXPECT_EQ(skip_len(R"(")"), 1u);
}

TEST(JsonSkipString, BackslashRuns) {
    // \"  escaped quote, string continues to the next quote.
    EXPECT_EQ(skip_len(R"(a\"b" x)"), 5u);
    // \\"  escaped backslash, quote closes.
    EXPECT_EQ(skip_len(R"(a\\" x)"), 4u);
    // \\\"  escaped backslash + escaped quote.
    EXPECT_EQ(skip_len(R"(a\\\"b" x)"), 7u);
    // \\\\"  two escaped backslashes, quote closes.
    EXPECT_EQ(skip_len(R"(\\\\" x)"), 5u);
    // Escaped quote right at the start, then an even run closing later.
    EXPECT_EQ(skip_len(R"(\"\\" x)"), 5u);
    // \u005c is a backslash character but not a backslash byte: quote closes.
    EXPECT_EQ(skip_len(R"(\u005c" x)"), 7u);
}

TEST(JsonSkipString, UnterminatedReturnsEnd) {
    EXPECT_EQ(skip_len("abc"), 3u);
    EXPECT_EQ(skip_len(R"(abc\")"), 5u);
    EXPECT_EQ(skip_len(""), 0u);
}

TEST(JsonSkipString, LongStringWithManyEscapedQuotes) {
    std::string s;
    for (int i = 0; i < 1000; ++i) s += "x\\\"";
    std::size_t content = s.size();
    s += "\"tail";
    EXPECT_EQ(skip_len(s), content + 1);
}

TEST(ParseJson, ParsesValidDocument) {
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json(R"({"a":[1,2,{"b":"c"}]})", JsonLimits{}, doc).ok());
    ASSERT_TRUE(doc.IsObject());
    EXPECT_EQ(doc["a"].Size(), 3u);
}

TEST(ParseJson, SizeLimitIsInclusive) {
    JsonLimits limits;
    limits.max_bytes = 7;
    rapidjson::Document doc;
    EXPECT_TRUE(parse_json(R"({"a":1})", limits, doc).ok());  // exactly 7 bytes
    Status st = parse_json(R"({"a":12})", limits, doc, "provider response");
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::kTooLarge);
    EXPECT_NE(st.error().message.find("provider response"), std::string::npos);
    EXPECT_NE(st.error().message.find("7 bytes"), std::string::npos);
}

TEST(ParseJson, DepthLimitIsInclusive) {
    JsonLimits limits;
    limits.max_depth = 3;
    rapidjson::Document doc;
    EXPECT_TRUE(parse_json("[[[1]]]", limits, doc).ok());
    Status st = parse_json("[[[[1]]]]", limits, doc);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::kTooLarge);
    EXPECT_NE(st.error().message.find("3 levels"), std::string::npos);
    // Brackets inside strings do not count toward the limit.
    EXPECT_TRUE(parse_json(R"(["[[[[[[[[", {"k":"{{{{{{"}])", limits, doc).ok());
}

TEST(ParseJson, HostileNestingFailsWithoutRecursing) {
    std::string bomb(1000000, '[');
    rapidjson::Document doc;
    Status st = parse_json(bomb, JsonLimits{}, doc);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::kTooLarge);
}

TEST(ParseJson, MalformedIsInvalidRequestWithOffset) {
    rapidjson::Document doc;
    Status st = parse_json(R"({"a":})", JsonLimits{}, doc);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidRequest);
    EXPECT_NE(st.error().message.find("request body"), std::string::npos);
    EXPECT_NE(st.error().message.find("offset 5"), std::string::npos) << st.error().message;
    EXPECT_FALSE(parse_json("", JsonLimits{}, doc).ok());
    EXPECT_FALSE(parse_json("{} trailing", JsonLimits{}, doc).ok());
}

TEST(ParseJson, CommonNumbersParseExactly) {
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json("[0.1, 18446744073709551615]", JsonLimits{}, doc).ok());
    EXPECT_EQ(doc[0].GetDouble(), 0.1);
    EXPECT_EQ(doc[1].GetUint64(), 18446744073709551615ull);
}

TEST(JsonAppendString, EscapesQuotesBackslashesAndNamedControls) {
    std::string out = "x=";
    json_append_string(out, "a\"b\\c\nd\re\tf\bg\fh/");
    EXPECT_EQ(out, R"(x="a\"b\\c\nd\re\tf\bg\fh/")");
}

TEST(JsonAppendString, EscapesOtherControlCharactersAsUnicode) {
    std::string out;
    json_append_string(out, std::string_view("\x00\x01\x1f\x7f", 4));
    EXPECT_EQ(out, R"("\u0000\u0001\u001f)" "\x7f\"");
}

TEST(JsonAppendString, KeepsUtf8BytesAsIs) {
    std::string out;
    json_append_string(out, "日本語 é");
    EXPECT_EQ(out, "\"日本語 é\"");
}

TEST(JsonAppendString, EveryByteRoundTripsThroughParser) {
    std::string all;
    for (int c = 1; c < 0x80; ++c) all.push_back(static_cast<char>(c));
    all.push_back('\0');
    std::string lit;
    json_append_string(lit, all);
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json(lit, JsonLimits{}, doc).ok()) << lit;
    ASSERT_TRUE(doc.IsString());
    EXPECT_EQ(std::string(doc.GetString(), doc.GetStringLength()), all);
}

TEST(JsonToString, CompactSerialisation) {
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json(R"( { "a" : [ 1 , "x\"y" ] , "b" : null } )", JsonLimits{}, doc).ok());
    EXPECT_EQ(json_to_string(doc), R"({"a":[1,"x\"y"],"b":null})");
}

}  // namespace
}  // namespace llmproxy
