// FastJsonReader against RapidJSON: whenever the fast reader accepts a text,
// RapidJSON (in situ, as the stream encoders run it) accepts it too and makes
// the very same handler calls. Inputs: the bench stream payloads' events,
// hand-written edge cases, and many random mutations of them.
#include "core/fast_json_reader.hpp"

#include <gtest/gtest.h>

#include <cstdio>

#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include "core/sse.hpp"
#include "core/utf8.hpp"

namespace llmproxy {
namespace {

// Records every callback as text.
struct Recorder : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Recorder> {
    std::string log;
    bool StartObject() { log += "{"; return true; }
    bool EndObject(rapidjson::SizeType n) { log += "}" + std::to_string(n); return true; }
    bool StartArray() { log += "["; return true; }
    bool EndArray(rapidjson::SizeType n) { log += "]" + std::to_string(n); return true; }
    bool Key(const char* s, rapidjson::SizeType n, bool) { log += "K(" + std::string(s, n) + ")"; return true; }
    bool String(const char* s, rapidjson::SizeType n, bool) { log += "S(" + std::string(s, n) + ")"; return true; }
    bool Uint(unsigned v) { log += "u" + std::to_string(v); return true; }
    bool Uint64(std::uint64_t v) { log += "U" + std::to_string(v); return true; }
    bool Int(int v) { log += "i" + std::to_string(v); return true; }
    bool Int64(std::int64_t v) { log += "I" + std::to_string(v); return true; }
    bool Double(double v) {
        char b[40];
        std::snprintf(b, sizeof b, "d%.17g", v);  // every bit of the value
        log += b;
        return true;
    }
    bool Bool(bool b) { log += b ? "T" : "F"; return true; }
    bool Null() { log += "N"; return true; }
};

// Returns whether the fast reader accepted `text`; if it did, checks the text
// is valid UTF-8 and RapidJSON agrees.
bool check(const std::string& text) {
    std::string fast_buf = text + std::string(FastJsonReader::kPadding, '\0');
    Recorder fast;
    if (!FastJsonReader::parse(&fast_buf[0], text.size(), fast)) return false;
    EXPECT_TRUE(utf8_valid(text)) << "fast reader accepted invalid UTF-8: " << text;
    // In situ, as the Anthropic-client encoder parses.
    // Padded: RapidJSON's SSE2 scan reads aligned 16-byte blocks.
    std::string slow_buf = text + std::string(16, '\0');
    Recorder slow;
    rapidjson::Reader reader;
    rapidjson::InsituStringStream in(&slow_buf[0]);
    rapidjson::ParseResult r = reader.Parse<rapidjson::kParseInsituFlag>(in, slow);
    EXPECT_FALSE(r.IsError()) << "fast reader accepted what RapidJSON rejects: " << text;
    EXPECT_EQ(fast.log, slow.log) << text;
    // From a MemoryStream with UTF-8 validation, as the OpenAI-client encoder
    // parses (stricter: RapidJSON's SSE2 in-situ scan lets control bytes pass).
    Recorder validated;
    rapidjson::MemoryStream ms(text.data(), text.size());
    r = reader.Parse<rapidjson::kParseValidateEncodingFlag>(ms, validated);
    EXPECT_FALSE(r.IsError()) << "fast reader accepted what validating RapidJSON rejects: " << text;
    EXPECT_EQ(fast.log, validated.log) << text;
    return true;
}

std::vector<std::string> payload_events() {
    std::vector<std::string> events;
    for (const char* name : {"openai-stream.sse", "anthropic-stream.sse"}) {
        std::ifstream in(std::string(LLMPROXY_TEST_DATA_DIR) + "/../../../../bench/payloads/" + name,
                         std::ios::binary);
        std::ostringstream ss;
        ss << in.rdbuf();
        SseParser parser;
        auto sink = [&](const SseEvent& e) {
            if (!e.data.empty() && e.data[0] == '{') events.emplace_back(e.data);
        };
        parser.feed(ss.str(), sink);
        parser.finish(sink);
    }
    return events;
}

const std::vector<std::string>& edge_cases() {
    static const std::vector<std::string> cases = {
        R"({})", R"([])", R"({"a":[]})", R"({"a":{}})", R"([1,[2,[3]],{"x":null}])",
        R"(  {"a" : 1 , "b" :	true,"c":false , "d":null}  )", "{\"a\":1}\r\n",
        R"({"s":"plain","e":"q\"b\\s\/f\bf\fn\nr\rt\t"})",
        R"({"u":"\u0041\u00e9\u20AC\u0000x\u007f\u0800\uffff"})",
        R"({"sur":"\ud83d\ude00"})", R"({"lone":"\udc00"})", R"({"hi":"\ud800x"})",
        R"({"n":0,"m":4294967295,"o":4294967296,"p":999999999999999999,"q":1000000000000000000})",
        R"({"neg":-1})", R"({"f":1.5})", R"({"e":1e3})", R"({"z":012})", R"({"z":00})",
        R"({"a":1,})", R"({"a":1 "b":2})", R"({"a"})", R"({"a":})", R"({,})", R"([1,])", R"([,1])",
        R"({"a":tru})", R"({"a":nul})", R"({"a":"x)", R"({"a":"\x"})", R"({"a":"\u12"})",
        "{\"a\":\"tab\there\"}", "{\"a\":\"esc\x1b\"}", "{\"a\":\"lf\nin\"}", "{\"a\":\"nul\0\"}", "{\"a\":1}\0", "{\"a\":1} x", R"({"a":1}})",
        R"("just a string")", R"(42)", R"(true)", "", "   ",
        R"({"long":"0123456789abcdef0123456789abcdef0123456789abcdef\"0123456789abcdef0123456789"})",
        R"({"esc_at_16":"0123456789abcde\n0123456789abcde\\0123456789abcde\""})",
        "{\"utf8\":\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"}",
        "{\"bad\":\"caf\xC3\"}", "{\"bad\":\"\xED\xA0\x80\"}", "{\"bad\":\"\xC0\xAF\"}",
        "{\"bad\":\"x\xFF\"}", "{\"k\xC3\xA9\":\"\\n\xE2\x82\"}", "{\"a\":1}\xC3\xA9",
        "{\"cjk\":\"\xE4\xBD\xA0\xE5\xA5\xBD\\n\xE4\xB8\x96\xE7\x95\x8C\"}",
    };
    return cases;
}

TEST(FastJsonReader, AcceptsEveryBenchPayloadEventLikeRapidJson) {
    std::vector<std::string> events = payload_events();
    ASSERT_GT(events.size(), 200u);
    for (const std::string& e : events) EXPECT_TRUE(check(e)) << e;
}

TEST(FastJsonReader, EdgeCasesAgreeWithRapidJson) {
    std::size_t accepted = 0;
    for (const std::string& e : edge_cases()) accepted += check(e) ? 1 : 0;
    // The subset really is used for escapes, \u, nesting, literals and numbers.
    EXPECT_GE(accepted, 12u);
    EXPECT_TRUE(check(R"({"e":"q\"b\\s\/f\bf\fn\nr\rt\t","u":"\u00e9"})"));
    EXPECT_TRUE(check(R"({"m":4294967295,"o":4294967296})"));
    // Numbers outside the fast subset go through RapidJSON's number reader:
    // accepted, with RapidJSON's own callbacks and values.
    EXPECT_TRUE(check(R"({"neg":-1,"f":0.7,"e":1e3,"big":12345678901234567890,"n":-9223372036854775808})"));
    EXPECT_TRUE(check(R"([-0,0.1,-2.5e-3,1E+2,18446744073709551615,18446744073709551616])"));
    EXPECT_TRUE(check("-12"));
    EXPECT_FALSE(check(R"({"bad":-})"));           // invalid numbers: RapidJSON reports them
    EXPECT_FALSE(check(R"({"bad":1.})"));
    EXPECT_FALSE(check(R"({"bad":01})"));
    EXPECT_FALSE(check(R"({"bad":-x})"));
    EXPECT_FALSE(check(R"({"sur":"\ud83d\ude00"})"));
    EXPECT_FALSE(check(R"({"a":1,})"));             // invalid: RapidJSON reports it
    EXPECT_TRUE(check("{\"cjk\":\"\xE4\xBD\xA0\xE5\xA5\xBD\\n\xE4\xB8\x96\xE7\x95\x8C\"}"));
    EXPECT_FALSE(check("{\"bad\":\"caf\xC3\"}"));   // invalid UTF-8 never accepted
    EXPECT_FALSE(check("{\"bad\":\"\xED\xA0\x80\"}"));
}

TEST(FastJsonReader, HandlerStopIsNotAcceptance) {
    struct Stopper : Recorder {
        bool StartArray() { return false; }
    } stopper;
    std::string text = R"({"a":[1]})";
    text.append(FastJsonReader::kPadding, '\0');
    EXPECT_FALSE(FastJsonReader::parse(&text[0], 9, stopper));
}

TEST(FastJsonReader, DeepNestingFallsBack) {
    std::string deep(FastJsonReader::kMaxDepth + 1, '[');
    deep += std::string(FastJsonReader::kMaxDepth + 1, ']');
    EXPECT_FALSE(check(deep));
    std::string ok(FastJsonReader::kMaxDepth, '[');
    ok += std::string(FastJsonReader::kMaxDepth, ']');
    EXPECT_TRUE(check(ok));
}

TEST(FastJsonReader, RandomMutationsAgreeWithRapidJson) {
    std::vector<std::string> seeds = payload_events();
    for (const std::string& e : edge_cases()) seeds.push_back(e);
    const std::string alphabet = "{}[]:,\"\\/ \t\n\r0123456789-+.eEtrufalsn\x01\x1f" "aA\\u\xC3\xA9\x80\xE2\x82\xAC\xF0\x9F\x98\x80\xED\xC0\xFF";
    std::mt19937 rng(20261122);
    std::size_t accepted = 0;
    for (int round = 0; round < 60000; ++round) {
        std::string s = seeds[rng() % seeds.size()];
        const int edits = 1 + static_cast<int>(rng() % 3);
        for (int k = 0; k < edits && !s.empty(); ++k) {
            const std::size_t at = rng() % s.size();
            const char c = alphabet[rng() % alphabet.size()];
            switch (rng() % 4) {
            case 0: s[at] = c; break;
            case 1: s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), c); break;
            case 2: s.erase(at, 1); break;
            default: s.resize(at); break;
            }
        }
        accepted += check(s) ? 1 : 0;
        if (HasFailure()) break;
    }
    EXPECT_GT(accepted, 1000u);  // plenty of mutants still take the fast path
}

}  // namespace
}  // namespace llmproxy
