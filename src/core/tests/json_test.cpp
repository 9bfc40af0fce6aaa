// core/json: size/depth limits of parse_json (copying and in situ), string
// skipping around escapes, and string-literal escaping.
#include "core/json.hpp"

#include <gtest/gtest.h>

#include <random>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

namespace llmproxy {
namespace {

std::size_t skip_len(std::string_view s) {
    // `s` starts just past an opening quote; returns how many bytes were skipped.
    return static_cast<std::size_t>(json_skip_string(s.data(), s.data() + s.size()) - s.data());
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

TEST(JsonSkipString, BackslashRunsAtEveryOffsetAcrossBlocks) {
    // A run of k backslashes before a quote at every offset around the
    // 16-byte steps: an odd run escapes it, an even one does not.
    for (std::size_t at = 0; at < 40; ++at) {
        for (std::size_t k = 0; k <= 5 && k <= at; ++k) {
            std::string s(at - k, 'a');
            s.append(k, '\\');
            s += '"';
            s += std::string(20, 'b') + "\" tail";
            std::size_t want = (k % 2 == 0) ? at + 1 : at + 1 + 20 + 1;
            EXPECT_EQ(skip_len(s), want) << "at " << at << " run " << k;
        }
    }
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

// What `find` (json_source_literal or json_source_span) finds for member
// `key` of an in-situ parse of `text`.
using SourceFinder = std::string_view (*)(const rapidjson::Value&, const InsituSource&);
std::string source_of(std::string_view text, const char* key, SourceFinder find) {
    rapidjson::Document doc;
    std::unique_ptr<char[]> buffer;
    EXPECT_TRUE(parse_json_insitu(text, JsonLimits{}, doc, buffer).ok());
    return std::string(find(doc[key], {buffer.get(), text}));
}

std::string source_literal_of(std::string_view text, const char* key) {
    return source_of(text, key, json_source_literal);
}

TEST(JsonSourceLiteral, CopiesTheLiteralAsWritten) {
    std::string text = R"({"a":"plain","b":"line\nnext \u00e9 \/ \"q\" \\","c":"","d":"\u005c"})";
    EXPECT_EQ(source_literal_of(text, "a"), R"("plain")");
    EXPECT_EQ(source_literal_of(text, "b"), R"("line\nnext \u00e9 \/ \"q\" \\")");
    EXPECT_EQ(source_literal_of(text, "c"), R"("")");
    EXPECT_EQ(source_literal_of(text, "d"), R"("\u005c")");
}

TEST(JsonSourceLiteral, EmptyForStringsNotOfThatText) {
    std::string text = R"({"a":"x\ny"})";
    rapidjson::Document doc;
    std::unique_ptr<char[]> buffer;
    ASSERT_TRUE(parse_json_insitu(text, JsonLimits{}, doc, buffer).ok());
    // Not a string, no source, a copied string, a string of another text.
    EXPECT_TRUE(json_source_literal(doc, {buffer.get(), text}).empty());
    EXPECT_TRUE(json_source_literal(doc["a"], {}).empty());
    rapidjson::Value copy;
    copy.SetString(doc["a"].GetString(), doc["a"].GetStringLength(), doc.GetAllocator());
    EXPECT_TRUE(json_source_literal(copy, {buffer.get(), text}).empty());
    rapidjson::Document copied;
    ASSERT_TRUE(parse_json(text, JsonLimits{}, copied).ok());
    EXPECT_TRUE(json_source_literal(copied["a"], {buffer.get(), text}).empty());
}

TEST(JsonSkipValue, EndsWhereTheValueEnds) {
    auto skipped = [](std::string_view text) {
        const char* end = text.data() + text.size();
        return std::string(text.data(), json_skip_value(text.data(), end));
    };
    EXPECT_EQ(skipped(R"("a\"}b" , 1)"), R"("a\"}b")");
    EXPECT_EQ(skipped(R"({"a":["}",{"b":"\\"}],"c":{}} ,"x")"), R"({"a":["}",{"b":"\\"}],"c":{}})");
    EXPECT_EQ(skipped(R"([1,[2,[3]],"]"]],9)"), R"([1,[2,[3]],"]"])");
    EXPECT_EQ(skipped("-12.5e3,"), "-12.5e3");
    EXPECT_EQ(skipped("true}"), "true");
    EXPECT_EQ(skipped(R"({"a":[1,2)"), R"({"a":[1,2)");  // cut short: all of it
    EXPECT_EQ(skipped(""), "");
}

// Random JSON values with what trips a container scan: brackets and quotes
// inside strings, runs of backslashes of every length before quotes, long
// strings and deep nesting across 64-byte blocks. The scan must end exactly
// where the generated value ends, whatever follows it.
class RandomJson {
public:
    explicit RandomJson(unsigned seed) : rng_(seed) {}

    std::string value(int depth = 0) {
        int kind = pick(depth > 6 ? 2 : 5);
        if (kind == 0) return string();
        if (kind == 1) return pick(2) ? "-12.5e3" : "true";
        std::string out(1, kind == 2 ? '[' : '{');
        int n = pick(6);
        for (int i = 0; i < n; ++i) {
            if (i) out += pick(2) ? "," : " ,\n ";
            if (kind != 2) out += string() + " : ";
            out += value(depth + 1);
        }
        out += kind == 2 ? ']' : '}';
        return out;
    }

private:
    int pick(int n) { return static_cast<int>(rng_() % static_cast<unsigned>(n)); }

    std::string string() {
        std::string out = "\"";
        int n = pick(4) == 0 ? 40 + pick(200) : pick(12);
        for (int i = 0; i < n; ++i) {
            switch (pick(8)) {
            case 0: out += std::string(static_cast<std::size_t>(2 * pick(4)), '\\'); break;  // even runs
            case 1: out += std::string(static_cast<std::size_t>(2 * pick(4)), '\\') + "\\\""; break;  // odd run + quote
            case 2: out += "{[}]"[pick(4)]; break;
            case 3: out += "\\n"; break;
            default: out += "abc "[pick(4)]; break;
            }
        }
        return out + "\"";
    }

    std::mt19937 rng_;
};

// Each scan variant this build has: AVX2 (where the CPU has it) and SSE2 (or
// the byte loop), and json_skip_value, which picks one.
TEST(JsonSkipValue, RandomContainersEndExactly) {
    using Skip = const char* (*)(const char*, const char*);
    const Skip variants[] = {
        [](const char* p, const char* e) { return detail::json_skip_container(p, e, true); },
        [](const char* p, const char* e) { return detail::json_skip_container(p, e, false); },
        json_skip_value,
    };
    for (Skip skip : variants) {
        RandomJson gen(20261122);
        int containers = 0;
        for (int i = 0; i < 3000; ++i) {
            std::string v = gen.value();
            if (v[0] != '{' && v[0] != '[') continue;
            ++containers;
            for (std::string_view after : {"", ",\"x\":\"}\"}", "]]]]"}) {
                std::string text = v + std::string(after);
                const char* end = skip(text.data(), text.data() + text.size());
                ASSERT_EQ(static_cast<std::size_t>(end - text.data()), v.size()) << text;
            }
            // Cut short: the whole rest.
            std::string cut = v.substr(0, v.size() - 1);
            ASSERT_EQ(skip(cut.data(), cut.data() + cut.size()), cut.data() + cut.size()) << cut;
        }
        EXPECT_GT(containers, 1000);
    }
}

std::string source_span_of(std::string_view text, const char* key) {
    return source_of(text, key, json_source_span);
}

TEST(JsonSourceSpan, ContainersAsWritten) {
    std::string text =
        "{\"o\": { \"k\" :\t[1, 2.50, \"}\\\"\"], \"e\":{}, \"u\":\"\\u00e9\" } ,"
        "\"a\":[ {\"x\":1} ,\"s\"],\"s\":\"a\\nb\",\"n\":[1,{\"y\":2}],"
        "\"empty\":{},\"nested\":[[\"q\"]],\"num\":7}";
    EXPECT_EQ(source_span_of(text, "o"), "{ \"k\" :\t[1, 2.50, \"}\\\"\"], \"e\":{}, \"u\":\"\\u00e9\" }");
    EXPECT_EQ(source_span_of(text, "a"), "[ {\"x\":1} ,\"s\"]");
    EXPECT_EQ(source_span_of(text, "s"), "\"a\\nb\"");
    EXPECT_EQ(source_span_of(text, "nested"), "[[\"q\"]]");
    // Not found from the text: an array that starts with a number, an empty
    // container, a number.
    EXPECT_EQ(source_span_of(text, "n"), "");
    EXPECT_EQ(source_span_of(text, "empty"), "");
    EXPECT_EQ(source_span_of(text, "num"), "");
}

TEST(JsonSourceSpan, EmptyForValuesNotOfThatText) {
    std::string text = R"({"o":{"k":"v"}})";
    rapidjson::Document doc;
    std::unique_ptr<char[]> buffer;
    ASSERT_TRUE(parse_json_insitu(text, JsonLimits{}, doc, buffer).ok());
    EXPECT_EQ(json_source_span(doc["o"], {buffer.get(), text}), R"({"k":"v"})");
    EXPECT_TRUE(json_source_span(doc["o"], {}).empty());
    rapidjson::Document copied;
    ASSERT_TRUE(parse_json(text, JsonLimits{}, copied).ok());
    EXPECT_TRUE(json_source_span(copied["o"], {buffer.get(), text}).empty());
    // A copy that copies its strings is not of the text. (One that shares them,
    // RapidJSON's default, is found as the original: json_source_span is for
    // values of the document as parsed, which the translators never modify.)
    rapidjson::Value copy(rapidjson::kObjectType);
    copy.AddMember(rapidjson::Value("k", doc.GetAllocator()), rapidjson::Value("v", doc.GetAllocator()),
                   doc.GetAllocator());
    EXPECT_TRUE(json_source_span(copy, {buffer.get(), text}).empty());
}

TEST(ParseJsonInsitu, FastAndFallbackPathsGiveTheSameDocument) {
    // The fast reader takes the first three (the signed and fractional
    // numbers through RapidJSON's number reader); the surrogate escape makes
    // it decline after it has decoded "x\ny" in place, so RapidJSON must get
    // the text back.
    for (const char* tail : {R"(1)", R"(-1)", R"(0.5)", R"("\ud83d\ude00")"}) {
        std::string text = std::string(R"({"a":"x\ny \"q\" \u00e9","k\tey":[true,null,{"b":"")") + "}],\"n\":" + tail + "}";
        rapidjson::Document doc;
        std::unique_ptr<char[]> buffer;
        ASSERT_TRUE(parse_json_insitu(text, JsonLimits{}, doc, buffer).ok()) << text;
        EXPECT_EQ(std::string(doc["a"].GetString(), doc["a"].GetStringLength()), "x\ny \"q\" \xC3\xA9") << text;
        // Strings end in a NUL, as RapidJSON's in-situ strings do.
        EXPECT_EQ(std::strlen(doc["a"].GetString()), doc["a"].GetStringLength()) << text;
        EXPECT_STREQ(doc["k\tey"][2]["b"].GetString(), "");
        rapidjson::Document copied;
        ASSERT_TRUE(parse_json(text, JsonLimits{}, copied).ok());
        EXPECT_EQ(json_to_string(doc), json_to_string(copied)) << text;
    }
}

TEST(ParseJson, StringsAreTheDocumentsOwnOnBothPaths) {
    // parse_json's document owns its strings: nothing points into the text
    // or into the padded copy the readers worked on (fast path: first text;
    // RapidJSON after a decline: second).
    for (std::string text : {std::string(R"({"short":"ab","long":"a string longer than sixteen bytes\nwith an escape","k\"ey":-0.5})"),
                             std::string(R"({"short":"ab","long":"a string longer than sixteen bytes\nwith an escape","k\"ey":"\ud83d\ude00"})")}) {
        rapidjson::Document doc;
        ASSERT_TRUE(parse_json(text, JsonLimits{}, doc).ok());
        std::fill(text.begin(), text.end(), 'x');
        EXPECT_STREQ(doc["short"].GetString(), "ab");
        EXPECT_STREQ(doc["long"].GetString(), "a string longer than sixteen bytes\nwith an escape");
        EXPECT_TRUE(doc.HasMember("k\"ey"));
    }
}

TEST(ParseJsonInsitu, ErrorsAreRapidJsonsAfterTheFastReaderDeclines) {
    rapidjson::Document doc;
    std::unique_ptr<char[]> buffer;
    Status st = parse_json_insitu(R"({"a":"x\ny",})", JsonLimits{}, doc, buffer);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("not valid JSON at offset"), std::string::npos) << st.error().message;
    EXPECT_TRUE(doc.IsNull());
    JsonLimits shallow;
    shallow.max_depth = 3;
    st = parse_json_insitu(R"({"a":[[{"b":1}]]})", shallow, doc, buffer);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::kTooLarge);
    // Raw bytes 0x1a..0x1f in a string are refused on both paths.
    st = parse_json_insitu(std::string("{\"a\":\"x\x1by\"}"), JsonLimits{}, doc, buffer);
    EXPECT_FALSE(st.ok());
    st = parse_json_insitu(std::string("{\"a\":\"x\x1by\",\"n\":-1}"), JsonLimits{}, doc, buffer);
    EXPECT_FALSE(st.ok());
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

TEST(JsonAppendString, EmptyViewWithoutData) {
    // A default string_view has a null data(): no copy may touch it (UBSan).
    std::string out;
    json_append_string(out, std::string_view());
    json_append_string_content(out, std::string_view());
    EXPECT_EQ(out, "\"\"");
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

// A plain reference escaper: the fast one must produce exactly this.
std::string reference_literal(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out.push_back(static_cast<char>(c));
            }
        }
    }
    return out + "\"";
}

TEST(JsonAppendString, EscapesAtEveryPositionOfTheSixteenByteScan) {
    // Every escapable byte at every offset around the 16-byte blocks, in
    // strings of every length up to three blocks, appended after a prefix.
    const std::string escapable = std::string("\"\\\n\x01\x1f", 5) + std::string(1, '\0');
    for (std::size_t len = 0; len <= 48; ++len) {
        for (std::size_t at = 0; at < len; ++at) {
            for (char e : escapable) {
                std::string s(len, 'a');
                s[at] = e;
                std::string out = "prefix:";
                json_append_string(out, s);
                ASSERT_EQ(out, "prefix:" + reference_literal(s)) << "len " << len << " at " << at;
            }
        }
    }
}

TEST(JsonAppendString, DenseEscapesGrowTheOutput) {
    // Worst case: every byte becomes six; the output grows as it goes.
    std::string s(1000, '\x02');
    s += std::string(1000, '"') + "tail";
    std::string out;
    json_append_string(out, s);
    EXPECT_EQ(out, reference_literal(s));
    EXPECT_EQ(out.size(), 2 + 6000 + 2000 + 4u);
}

TEST(JsonAppendString, EmptyAndHighBytes) {
    std::string out;
    json_append_string(out, std::string_view());
    EXPECT_EQ(out, "\"\"");
    std::string high;
    for (int c = 0x80; c < 0x100; ++c) high.push_back(static_cast<char>(c));
    out.clear();
    json_append_string(out, high);
    EXPECT_EQ(out, "\"" + high + "\"");  // bytes >= 0x80 are not control bytes
}

TEST(ParseJsonInsitu, StringsPointIntoTheBufferAtTheirOffset) {
    std::string text = R"({"a":"plain","b":["x\ny",{"c":"\u00e9"}],"n":12})";
    rapidjson::Document doc;
    std::unique_ptr<char[]> buffer;
    ASSERT_TRUE(parse_json_insitu(text, JsonLimits{}, doc, buffer).ok());
    const char* a = doc["a"].GetString();
    EXPECT_EQ(a - buffer.get(), static_cast<std::ptrdiff_t>(text.find("plain")));
    EXPECT_EQ(std::string(doc["b"][0].GetString(), doc["b"][0].GetStringLength()), "x\ny");
    EXPECT_EQ(std::string(doc["b"][1]["c"].GetString()), "\xc3\xa9");
    EXPECT_EQ(doc["n"].GetInt(), 12);
    // The caller's text is untouched.
    EXPECT_EQ(text, R"({"a":"plain","b":["x\ny",{"c":"\u00e9"}],"n":12})");
}

TEST(ParseJsonInsitu, SameLimitsAndErrorsAsCopyingParse) {
    JsonLimits limits;
    limits.max_depth = 3;
    rapidjson::Document doc;
    std::unique_ptr<char[]> buffer;
    EXPECT_TRUE(parse_json_insitu("[[[1]]]", limits, doc, buffer).ok());
    Status deep = parse_json_insitu("[[[[1]]]]", limits, doc, buffer);
    ASSERT_FALSE(deep.ok());
    EXPECT_EQ(deep.error().code, ErrorCode::kTooLarge);
    EXPECT_TRUE(doc.IsNull());
    EXPECT_TRUE(parse_json_insitu(R"(["[[[[[[[[", {"k":"{{{{{{"}])", limits, doc, buffer).ok());
    Status bad = parse_json_insitu(R"({"a":})", JsonLimits{}, doc, buffer);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("offset 5"), std::string::npos) << bad.error().message;
    limits = JsonLimits{};
    limits.max_bytes = 7;
    EXPECT_EQ(parse_json_insitu(R"({"a":12})", limits, doc, buffer).error().code, ErrorCode::kTooLarge);
}

TEST(ParseJson, RawNulIsRejectedEvenAfterACompleteValue) {
    rapidjson::Document doc;
    std::unique_ptr<char[]> buffer;
    std::string text("{\"a\":1}\0{}", 10);
    Status st = parse_json(text, JsonLimits{}, doc);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("NUL"), std::string::npos);
    EXPECT_FALSE(parse_json_insitu(text, JsonLimits{}, doc, buffer).ok());
    EXPECT_FALSE(parse_json(std::string("\"a\0b\"", 5), JsonLimits{}, doc).ok());
    // Trailing whitespace is fine.
    EXPECT_TRUE(parse_json("{\"a\":1} \n", JsonLimits{}, doc).ok());
}

TEST(JsonIsObject, ObjectsOnlyWithinLimits) {
    EXPECT_TRUE(json_is_object(R"({"path":"/a","n":[1,{"x":null}]})", JsonLimits{}));
    EXPECT_TRUE(json_is_object(" {} \n", JsonLimits{}));
    EXPECT_FALSE(json_is_object("[1]", JsonLimits{}));
    EXPECT_FALSE(json_is_object("\"{}\"", JsonLimits{}));
    EXPECT_FALSE(json_is_object("42", JsonLimits{}));
    EXPECT_FALSE(json_is_object(R"({"a":1)", JsonLimits{}));
    EXPECT_FALSE(json_is_object(R"({"a":1}{})", JsonLimits{}));
    EXPECT_FALSE(json_is_object(std::string("{}\0", 3), JsonLimits{}));
    JsonLimits shallow;
    shallow.max_depth = 2;
    EXPECT_TRUE(json_is_object(R"({"a":[1]})", shallow));
    EXPECT_FALSE(json_is_object(R"({"a":[[1]]})", shallow));
    JsonLimits tiny;
    tiny.max_bytes = 4;
    EXPECT_FALSE(json_is_object(R"({"a":1})", tiny));
    // Larger than the stack copy.
    std::string big = "{\"k\":\"" + std::string(10000, 'x') + "\"}";
    EXPECT_TRUE(json_is_object(big, JsonLimits{}));
    EXPECT_FALSE(json_is_object(big.substr(0, big.size() - 1), JsonLimits{}));
    // Escapes; a surrogate pair is outside the fast reader's subset, so the
    // text is read again from the caller's bytes after the first reader
    // decoded "x\ny" in place.
    EXPECT_TRUE(json_is_object(R"({"a":"x\ny\u00e9\"","b":"\ud83d\ude00"})", JsonLimits{}));
    EXPECT_FALSE(json_is_object(R"(["x\ny","\ud83d\ude00"])", JsonLimits{}));
    EXPECT_FALSE(json_is_object(R"({"a":"x\ny","b":"\ud83d\ude00")", JsonLimits{}));
    EXPECT_FALSE(json_is_object(R"({"a":"\q"})", JsonLimits{}));
    EXPECT_FALSE(json_is_object(R"({"a":[[1]],"b":"\ud83d\ude00"})", shallow));
}

// RapidJSON 1.1's SSE2 string scan misses the control bytes 0x1a..0x1f;
// every parse entry point rejects them anyway, wherever they sit.
TEST(ParseJson, ControlBytesTheVectorScanMissesAreRejected) {
    for (unsigned char c = 0x1a; c <= 0x1f; ++c) {
        for (std::size_t pad : {0u, 5u, 17u, 40u}) {
            std::string text = "{\"s\":\"" + std::string(pad, 'a') + std::string(1, static_cast<char>(c)) + "b\"}";
            rapidjson::Document doc;
            std::unique_ptr<char[]> buffer;
            Status st = parse_json(text, JsonLimits{}, doc);
            ASSERT_FALSE(st.ok()) << int(c) << " pad " << pad;
            EXPECT_NE(st.error().message.find("not valid JSON at offset"), std::string::npos)
                << st.error().message;
            EXPECT_FALSE(parse_json_insitu(text, JsonLimits{}, doc, buffer).ok());
            EXPECT_FALSE(json_is_object(text, JsonLimits{}));
        }
    }
    // Escaped, they are fine.
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json(R"({"s":"\u001f"})", JsonLimits{}, doc).ok());
    EXPECT_EQ(std::string(doc["s"].GetString()), "\x1f");
}

TEST(JsonToString, CompactSerialisation) {
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json(R"( { "a" : [ 1 , "x\"y" ] , "b" : null } )", JsonLimits{}, doc).ok());
    EXPECT_EQ(json_to_string(doc), R"({"a":[1,"x\"y"],"b":null})");
}

}  // namespace
}  // namespace llmproxy
