// core/request.cpp: parse_request validation and facts, peek_request's
// DOM-free scan, ensure_parsed, and the byte-preserving top-level rewrites.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>

#include "core/translate.hpp"

namespace llmproxy {
namespace {

Status parse(Dialect d, std::string_view body, ParsedRequest& out) {
    return parse_request(d, body, JsonLimits{}, out);
}

// The whole peek a passthrough gets: peek_request, then finish_peek.
Status peek(Dialect d, std::string_view body, ParsedRequest& out) {
    Status st = peek_request(d, body, JsonLimits{}, out);
    return st.ok() ? finish_peek(out) : st;
}

RequestFacts facts_of(Dialect d, std::string_view body) {
    ParsedRequest req;
    Status st = parse(d, body, req);
    EXPECT_TRUE(st.ok()) << st.error().describe() << "\n" << body;
    return req.facts;
}

void expect_error(const Status& st, ErrorCode code, std::string_view field) {
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, code) << st.error().describe();
    EXPECT_EQ(st.error().field, field) << st.error().describe();
}

// ---- rewrite_model / replace_top_level_values ----------------------------

TEST(RewriteModel, ReplacesOnlyTheModelValue) {
    std::string_view raw =
        R"({"model":"claude-3-haiku","max_tokens":10,"messages":[{"role":"user","content":"hi"}]})";
    EXPECT_EQ(rewrite_model(raw, "target-1"),
              R"({"model":"target-1","max_tokens":10,"messages":[{"role":"user","content":"hi"}]})");
}

TEST(RewriteModel, KeepsWhitespaceAndOrderByteForByte) {
    std::string_view raw = "\r\n {\n\t\"stream\" :\ttrue ,\n  \"model\"\r\n:\n  \"old\"  ,\"x\" : [ 1 ,2 ]\n}\n ";
    EXPECT_EQ(rewrite_model(raw, "new"),
              "\r\n {\n\t\"stream\" :\ttrue ,\n  \"model\"\r\n:\n  \"new\"  ,\"x\" : [ 1 ,2 ]\n}\n ");
}

TEST(RewriteModel, ModelAsLastAndOnlyMember) {
    EXPECT_EQ(rewrite_model(R"({"model":"a"})", "b"), R"({"model":"b"})");
    EXPECT_EQ(rewrite_model(R"({"a":1,"model":"a"})", "b"), R"({"a":1,"model":"b"})");
    EXPECT_EQ(rewrite_model(R"({ "model" : "a" })", "b"), R"({ "model" : "b" })");
}

TEST(RewriteModel, NestedModelKeysUntouched) {
    std::string_view raw =
        R"({"metadata":{"model":"inner"},"messages":[{"model":"m","content":[{"model":"x"}]}],)"
        R"("model":"outer","tools":[{"name":"t","input_schema":{"properties":{"model":{"type":"string"}}}}]})";
    std::string out = rewrite_model(raw, "NEW");
    std::string want(raw);
    want.replace(want.find("\"outer\""), 7, "\"NEW\"");
    EXPECT_EQ(out, want);
}

TEST(RewriteModel, StringsWithQuotesBackslashesAndBracesBeforeModel) {
    // Values that would confuse a naive scanner: escaped quotes, trailing
    // backslashes, unbalanced braces/brackets and a fake "model" key in text.
    std::string_view raw =
        R"({"system":"he said \"}\" and {\"model\":\"fake\"} [[","a":"C:\\","b":"\\\"",)"
        R"("c":{"d":"}}]]{{","e":["]",{"f":"\\"}]},"model":"real","z":"\"model\":\"x\""})";
    std::string out = rewrite_model(raw, "changed");
    std::string want(raw);
    want.replace(want.find("\"real\""), 6, "\"changed\"");
    EXPECT_EQ(out, want);
}

TEST(RewriteModel, ModelWithEscapesIsReplacedWhole) {
    std::string_view raw = R"({"model":"a\"b\\c\u00e9","n":1})";
    EXPECT_EQ(rewrite_model(raw, "plain"), R"({"model":"plain","n":1})");
}

TEST(RewriteModel, NewModelIsJsonEscaped) {
    std::string out = rewrite_model(R"({"model":"x","n":1})", "we\"ird\\na\nme");
    EXPECT_EQ(out, R"({"model":"we\"ird\\na\nme","n":1})");
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json(out, JsonLimits{}, doc).ok());
    EXPECT_STREQ(doc["model"].GetString(), "we\"ird\\na\nme");
}

TEST(RewriteModel, EscapedKeyMatches) {
    // "mod\u0065l" is the key "model" spelled with an escape.
    EXPECT_EQ(rewrite_model(R"({"mod\u0065l":"old","a":1})", "new"), R"({"mod\u0065l":"new","a":1})");
    // A key merely starting with model is a different key.
    EXPECT_EQ(rewrite_model(R"({"models":"old","model_x":"y"})", "new"),
              R"({"models":"old","model_x":"y"})");
    // A key with an escaped quote is not "model".
    EXPECT_EQ(rewrite_model(R"({"mo\"del":"old","model":"m"})", "new"),
              R"({"mo\"del":"old","model":"new"})");
}

TEST(RewriteModel, NonStringModelValueReplacedToo) {
    EXPECT_EQ(rewrite_model(R"({"model":null,"a":1})", "m"), R"({"model":"m","a":1})");
    EXPECT_EQ(rewrite_model(R"({"model":{"x":[1,"}"]},"a":1})", "m"), R"({"model":"m","a":1})");
    EXPECT_EQ(rewrite_model(R"({"model":12.5e3 ,"a":1})", "m"), R"({"model":"m" ,"a":1})");
}

TEST(RewriteModel, NoModelOrNotAnObjectLeavesBodyUnchanged) {
    EXPECT_EQ(rewrite_model(R"({"a":{"model":"x"}})", "m"), R"({"a":{"model":"x"}})");
    EXPECT_EQ(rewrite_model(R"(["model","x"])", "m"), R"(["model","x"])");
    EXPECT_EQ(rewrite_model("", "m"), "");
    EXPECT_EQ(rewrite_model("{}", "m"), "{}");
}

TEST(RewriteModel, LargeContentPreserved) {
    std::string big(200000, 'x');
    for (std::size_t i = 0; i < big.size(); i += 97) big[i] = '"';  // escaped below
    std::string raw = R"({"messages":[{"role":"user","content":)";
    json_append_string(raw, big);
    raw += R"(}],"model":"a"})";
    std::string out = rewrite_model(raw, "bb");
    ASSERT_EQ(out.size(), raw.size() + 1);
    EXPECT_EQ(out.substr(0, raw.size() - 5), raw.substr(0, raw.size() - 5));
    EXPECT_EQ(out.substr(out.size() - 5), R"("bb"})");
}

TEST(ReplaceTopLevelValues, SeveralMembersAtOnce) {
    std::string_view raw = R"({"model":"a","max_tokens":100000,"stream":false,"x":{"max_tokens":5}})";
    std::string out = replace_top_level_values(
        raw, {{"max_tokens", "4096"}, {"stream", "true"}, {"model", "\"b\""}});
    EXPECT_EQ(out, R"({"model":"b","max_tokens":4096,"stream":true,"x":{"max_tokens":5}})");
}

TEST(ReplaceTopLevelValues, AbsentNamesAreNotAdded) {
    std::string_view raw = R"({"model":"a"})";
    EXPECT_EQ(replace_top_level_values(raw, {{"max_tokens", "1"}}), raw);
    EXPECT_EQ(replace_top_level_values(raw, {}), raw);
}

TEST(ReplaceTopLevelValues, ArrayAndObjectValues) {
    std::string_view raw = R"({"messages":[{"a":"]"},[]] , "tools" : {"b":"}"}, "k":1})";
    EXPECT_EQ(replace_top_level_values(raw, {{"messages", "[]"}, {"tools", "null"}}),
              R"({"messages":[] , "tools" : null, "k":1})");
}

// ---- peek_request --------------------------------------------------------

TEST(PeekRequest, FindsModelAndStreamWithoutDom) {
    ParsedRequest req;
    std::string_view body = R"({"messages":[{"model":"inner"}],"stream":true,"model":"claude-x"})";
    ASSERT_TRUE(peek(Dialect::kAnthropic, body, req).ok());
    EXPECT_EQ(req.facts.model, "claude-x");
    EXPECT_TRUE(req.facts.stream);
    EXPECT_TRUE(req.doc.IsNull());
    EXPECT_EQ(req.raw.data(), body.data());
    EXPECT_EQ(req.dialect, Dialect::kAnthropic);
}

TEST(PeekRequest, StreamFalseNullAndAbsent) {
    ParsedRequest req;
    ASSERT_TRUE(peek(Dialect::kOpenAI, R"({"model":"m","stream":false})", req).ok());
    EXPECT_FALSE(req.facts.stream);
    ASSERT_TRUE(peek(Dialect::kOpenAI, R"({"model":"m","stream":null})", req).ok());
    EXPECT_FALSE(req.facts.stream);
    ASSERT_TRUE(peek(Dialect::kOpenAI, R"({"stream" : true , "model":"m"})", req).ok());
    EXPECT_TRUE(req.facts.stream);
    // Facts are reset between calls on the same object.
    ASSERT_TRUE(peek(Dialect::kOpenAI, R"({"model":"m"})", req).ok());
    EXPECT_FALSE(req.facts.stream);
}

TEST(PeekRequest, ModelWithEscapesIsDecoded) {
    ParsedRequest req;
    ASSERT_TRUE(peek(Dialect::kAnthropic, R"({"model":"a\"b\\c\u00e9\/d"})", req).ok());
    EXPECT_EQ(req.facts.model, "a\"b\\c\xc3\xa9/d");
}

TEST(PeekRequest, EscapedModelKey) {
    ParsedRequest req;
    ASSERT_TRUE(peek(Dialect::kAnthropic, R"({"\u006dodel":"m1","str\u0065am":true})", req).ok());
    EXPECT_EQ(req.facts.model, "m1");
    EXPECT_TRUE(req.facts.stream);
}

TEST(PeekRequest, SkipsTrickyValuesBeforeModel) {
    ParsedRequest req;
    std::string_view body =
        R"({"system":"\"model\":\"fake\" }{][","n":-1.5e+3,"t":true,"o":{"model":"no","a":["\\",{}]},"model":"yes"})";
    ASSERT_TRUE(peek(Dialect::kOpenAI, body, req).ok());
    EXPECT_EQ(req.facts.model, "yes");
}

// Random nested values (strings holding brackets, quotes and escaped
// backslashes, at every offset of the 16-byte scan) before the model: the
// peek finds exactly what a full parse finds.
TEST(PeekRequest, AgreesWithFullParseOnRandomNestedValues) {
    std::mt19937 rng(20261122);
    const char* pieces[] = {"[", "]", "{", "}", "\\\"", "\\\\", "x", " ", "model", ":", ","};
    std::function<std::string(int)> value = [&](int depth) -> std::string {
        int kind = static_cast<int>(rng() % (depth > 4 ? 3 : 5));
        if (kind == 0) {
            std::string str = "\"";
            for (int n = static_cast<int>(rng() % 24); n > 0; --n) str += pieces[rng() % 11];
            return str + "\"";
        }
        if (kind == 1) return std::to_string(static_cast<int>(rng() % 1000) - 500);
        if (kind == 2) return rng() % 2 ? "true" : "null";
        std::string out = kind == 3 ? "[" : "{";
        for (int n = static_cast<int>(rng() % 4); n > 0; --n) {
            if (out.size() > 1) out += ",";
            if (kind == 4) out += "\"k" + std::to_string(rng() % 9) + "\":";
            out += value(depth + 1);
        }
        return out + (kind == 3 ? "]" : "}");
    };
    for (int i = 0; i < 2000; ++i) {
        std::string body = "{\"pad\":\"" + std::string(rng() % 17, 'p') + "\",\"v\":" + value(0) +
                           ",\"model\":\"m" + std::to_string(i) + "\",\"stream\":" +
                           (i % 2 ? "true" : "false") + ",\"w\":" + value(0) + "}";
        rapidjson::Document doc;
        ASSERT_TRUE(parse_json(body, JsonLimits{}, doc).ok()) << body;
        ParsedRequest req;
        ASSERT_TRUE(peek(Dialect::kOpenAI, body, req).ok()) << body;
        EXPECT_EQ(req.facts.model, doc["model"].GetString()) << body;
        EXPECT_EQ(req.facts.stream, doc["stream"].GetBool()) << body;
    }
}

TEST(PeekRequest, Errors) {
    ParsedRequest req;
    expect_error(peek(Dialect::kAnthropic, R"({"messages":[]})", req), ErrorCode::kInvalidRequest,
                 "model");
    EXPECT_NE(peek(Dialect::kAnthropic, R"({"messages":[]})", req).error().message.find("required"),
              std::string::npos);
    expect_error(peek(Dialect::kAnthropic, R"({"model":""})", req), ErrorCode::kInvalidRequest,
                 "model");
    expect_error(peek(Dialect::kAnthropic, R"({"model":42})", req), ErrorCode::kInvalidRequest,
                 "model");
    expect_error(peek(Dialect::kAnthropic, R"({"model":null})", req), ErrorCode::kInvalidRequest,
                 "model");
    expect_error(peek(Dialect::kAnthropic, R"({"model":["a"]})", req), ErrorCode::kInvalidRequest,
                 "model");
    expect_error(peek(Dialect::kAnthropic, R"({"model":"m","stream":"true"})", req),
                 ErrorCode::kInvalidRequest, "stream");
    expect_error(peek(Dialect::kAnthropic, R"({"model":"m","stream":1})", req),
                 ErrorCode::kInvalidRequest, "stream");
    expect_error(peek(Dialect::kAnthropic, R"(["model","m"])", req), ErrorCode::kInvalidRequest, "");
    expect_error(peek(Dialect::kAnthropic, "", req), ErrorCode::kInvalidRequest, "");
    expect_error(peek(Dialect::kAnthropic, R"({"model":"bad\escape"})", req),
                 ErrorCode::kInvalidRequest, "model");
}

TEST(PeekRequest, SizeLimit) {
    ParsedRequest req;
    JsonLimits limits;
    limits.max_bytes = 10;
    Status st = peek_request(Dialect::kAnthropic, R"({"model":"abc"})", limits, req);
    expect_error(st, ErrorCode::kTooLarge, "");
}

TEST(PeekRequest, DoesNotRequireMessages) {
    // peek only needs the model; messages are validated by the full parse.
    ParsedRequest req;
    EXPECT_TRUE(peek(Dialect::kOpenAI, R"({"model":"m"})", req).ok());
}

// Duplicate top-level keys: peek_request and the full parse must agree (the
// first value counts, as with RapidJSON's FindMember), or a key's model
// allow-list, checked on the peeked model, could be bypassed by a route chosen
// after ensure_parsed() with {"model":"expensive","model":"cheap",...}.
TEST(PeekRequest, DuplicateKeysAgreeWithFullParse) {
    std::string body =
        R"({"model":"expensive","stream":true,"model":"cheap","stream":false,"messages":[]})";
    ParsedRequest peeked;
    Status peek_st = peek(Dialect::kAnthropic, body, peeked);
    ParsedRequest full;
    Status full_st = parse(Dialect::kAnthropic, body, full);
    ASSERT_EQ(peek_st.ok(), full_st.ok());
    if (!peek_st.ok()) return;  // rejecting duplicates in both is fine too
    EXPECT_EQ(peeked.facts.model, full.facts.model);
    EXPECT_EQ(peeked.facts.stream, full.facts.stream);
    // And ensure_parsed after a peek must not change the model already checked.
    std::string checked = peeked.facts.model;
    ASSERT_TRUE(ensure_parsed(peeked, JsonLimits{}).ok());
    EXPECT_EQ(peeked.facts.model, checked);
}

// ---- ensure_parsed -------------------------------------------------------

TEST(EnsureParsed, ParsesAfterPeekAndFillsFacts) {
    std::string body =
        R"({"model":"m","stream":true,"thinking":{"type":"enabled","budget_tokens":1024},)"
        R"("messages":[{"role":"user","content":[{"type":"image","source":{}}]}]})";
    ParsedRequest req;
    ASSERT_TRUE(peek(Dialect::kAnthropic, body, req).ok());
    EXPECT_FALSE(req.facts.thinking);  // peek does not look that deep
    ASSERT_TRUE(ensure_parsed(req, JsonLimits{}).ok());
    EXPECT_TRUE(req.doc.IsObject());
    EXPECT_EQ(req.facts.model, "m");
    EXPECT_TRUE(req.facts.stream);
    EXPECT_TRUE(req.facts.thinking);
    EXPECT_TRUE(req.facts.has_image);
}

TEST(EnsureParsed, NoOpWhenAlreadyParsed) {
    std::string body = R"({"model":"m","messages":[]})";
    ParsedRequest req;
    ASSERT_TRUE(parse(Dialect::kOpenAI, body, req).ok());
    req.facts.estimated_input_tokens = 77;  // would be reset by a second parse
    ASSERT_TRUE(ensure_parsed(req, JsonLimits{}).ok());
    EXPECT_EQ(req.facts.estimated_input_tokens, 77u);
}

TEST(EnsureParsed, ReportsFullParseErrors) {
    // peek accepts it (messages unchecked); the full parse does not.
    std::string body = R"({"model":"m","messages":{}})";
    ParsedRequest req;
    ASSERT_TRUE(peek(Dialect::kAnthropic, body, req).ok());
    expect_error(ensure_parsed(req, JsonLimits{}), ErrorCode::kInvalidRequest, "messages");
}

// ---- parse_request validation --------------------------------------------

TEST(ParseRequest, MinimalValid) {
    ParsedRequest req;
    std::string body = R"({"model":"gpt-4o","messages":[]})";
    ASSERT_TRUE(parse(Dialect::kOpenAI, body, req).ok());
    EXPECT_EQ(req.facts.model, "gpt-4o");
    EXPECT_FALSE(req.facts.stream);
    EXPECT_FALSE(req.facts.thinking);
    EXPECT_FALSE(req.facts.has_image);
    EXPECT_FALSE(req.facts.has_web_search);
    EXPECT_EQ(req.dialect, Dialect::kOpenAI);
    EXPECT_EQ(req.raw, body);
}

TEST(ParseRequest, ModelErrorsNameTheField) {
    ParsedRequest req;
    for (Dialect d : {Dialect::kAnthropic, Dialect::kOpenAI}) {
        expect_error(parse(d, R"({"messages":[]})", req), ErrorCode::kInvalidRequest, "model");
        expect_error(parse(d, R"({"model":"","messages":[]})", req), ErrorCode::kInvalidRequest,
                     "model");
        expect_error(parse(d, R"({"model":1,"messages":[]})", req), ErrorCode::kInvalidRequest,
                     "model");
        expect_error(parse(d, R"({"model":null,"messages":[]})", req), ErrorCode::kInvalidRequest,
                     "model");
        expect_error(parse(d, R"({"model":{"id":"x"},"messages":[]})", req),
                     ErrorCode::kInvalidRequest, "model");
    }
}

TEST(ParseRequest, MessagesErrorsNameTheField) {
    ParsedRequest req;
    Status missing = parse(Dialect::kAnthropic, R"({"model":"m"})", req);
    expect_error(missing, ErrorCode::kInvalidRequest, "messages");
    EXPECT_NE(missing.error().describe().find("messages: "), std::string::npos);
    expect_error(parse(Dialect::kAnthropic, R"({"model":"m","messages":"hi"})", req),
                 ErrorCode::kInvalidRequest, "messages");
    expect_error(parse(Dialect::kOpenAI, R"({"model":"m","messages":{"role":"user"}})", req),
                 ErrorCode::kInvalidRequest, "messages");
    expect_error(parse(Dialect::kOpenAI, R"({"model":"m","messages":null})", req),
                 ErrorCode::kInvalidRequest, "messages");
}

TEST(ParseRequest, StreamMustBeBoolOrNull) {
    ParsedRequest req;
    expect_error(parse(Dialect::kAnthropic, R"({"model":"m","messages":[],"stream":"yes"})", req),
                 ErrorCode::kInvalidRequest, "stream");
    expect_error(parse(Dialect::kOpenAI, R"({"model":"m","messages":[],"stream":0})", req),
                 ErrorCode::kInvalidRequest, "stream");
    EXPECT_TRUE(facts_of(Dialect::kOpenAI, R"({"model":"m","messages":[],"stream":true})").stream);
    EXPECT_FALSE(facts_of(Dialect::kOpenAI, R"({"model":"m","messages":[],"stream":false})").stream);
    EXPECT_FALSE(facts_of(Dialect::kOpenAI, R"({"model":"m","messages":[],"stream":null})").stream);
}

TEST(ParseRequest, NotAnObjectOrMalformed) {
    ParsedRequest req;
    expect_error(parse(Dialect::kAnthropic, "[]", req), ErrorCode::kInvalidRequest, "");
    expect_error(parse(Dialect::kAnthropic, R"("model")", req), ErrorCode::kInvalidRequest, "");
    expect_error(parse(Dialect::kAnthropic, R"({"model":"m","messages":[)", req),
                 ErrorCode::kInvalidRequest, "");
}

TEST(ParseRequest, LimitsApply) {
    ParsedRequest req;
    JsonLimits limits;
    limits.max_depth = 4;
    std::string deep = R"({"model":"m","messages":[{"content":[{"a":[1]}]}]})";  // depth 6
    expect_error(parse_request(Dialect::kAnthropic, deep, limits, req), ErrorCode::kTooLarge, "");
    limits = JsonLimits{};
    limits.max_bytes = 5;
    expect_error(parse_request(Dialect::kAnthropic, R"({"model":"m","messages":[]})", limits, req),
                 ErrorCode::kTooLarge, "");
}

TEST(ParseRequest, ModelWithEscapes) {
    EXPECT_EQ(facts_of(Dialect::kAnthropic, R"({"model":"a\"b\u00e9","messages":[]})").model,
              "a\"b\xc3\xa9");
}

TEST(ParseRequest, FactsResetOnReuse) {
    ParsedRequest req;
    ASSERT_TRUE(parse(Dialect::kOpenAI,
                      R"({"model":"m","stream":true,"reasoning_effort":"high","messages":[]})", req)
                    .ok());
    EXPECT_TRUE(req.facts.stream);
    EXPECT_TRUE(req.facts.thinking);
    ASSERT_TRUE(parse(Dialect::kOpenAI, R"({"model":"n","messages":[]})", req).ok());
    EXPECT_FALSE(req.facts.stream);
    EXPECT_FALSE(req.facts.thinking);
    EXPECT_EQ(req.facts.model, "n");
}

// ---- facts ---------------------------------------------------------------

TEST(RequestFacts, AnthropicThinking) {
    auto thinking = [](std::string_view t) {
        std::string body = R"({"model":"m","messages":[])" + std::string(t) + "}";
        return facts_of(Dialect::kAnthropic, body).thinking;
    };
    EXPECT_FALSE(thinking(""));
    EXPECT_TRUE(thinking(R"(,"thinking":{"type":"enabled","budget_tokens":2048})"));
    EXPECT_TRUE(thinking(R"(,"thinking":{"type":"adaptive"})"));
    EXPECT_FALSE(thinking(R"(,"thinking":{"type":"disabled"})"));
    EXPECT_FALSE(thinking(R"(,"thinking":{"budget_tokens":2048})"));
    EXPECT_FALSE(thinking(R"(,"thinking":true)"));
    EXPECT_FALSE(thinking(R"(,"thinking":null)"));
    // OpenAI's field means nothing to an Anthropic request.
    EXPECT_FALSE(thinking(R"(,"reasoning_effort":"high")"));
}

TEST(RequestFacts, OpenAIReasoningEffort) {
    auto thinking = [](std::string_view t) {
        std::string body = R"({"model":"m","messages":[])" + std::string(t) + "}";
        return facts_of(Dialect::kOpenAI, body).thinking;
    };
    EXPECT_FALSE(thinking(""));
    EXPECT_TRUE(thinking(R"(,"reasoning_effort":"low")"));
    EXPECT_TRUE(thinking(R"(,"reasoning_effort":"high")"));
    EXPECT_FALSE(thinking(R"(,"reasoning_effort":"none")"));
    EXPECT_FALSE(thinking(R"(,"reasoning_effort":null)"));
    EXPECT_FALSE(thinking(R"(,"thinking":{"type":"enabled"})"));
}

TEST(RequestFacts, AnthropicImages) {
    auto has_image = [](std::string_view messages) {
        std::string body = R"({"model":"m","messages":)" + std::string(messages) + "}";
        return facts_of(Dialect::kAnthropic, body).has_image;
    };
    EXPECT_FALSE(has_image(R"([{"role":"user","content":"an image please"}])"));
    EXPECT_FALSE(has_image(R"([{"role":"user","content":[{"type":"text","text":"image"}]}])"));
    EXPECT_TRUE(has_image(
        R"([{"role":"user","content":"x"},{"role":"user","content":[{"type":"text","text":"a"},)"
        R"({"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}]}])"));
    // Read tool returning an image: nested in a tool_result.
    EXPECT_TRUE(has_image(
        R"([{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":)"
        R"([{"type":"text","text":"file"},{"type":"image","source":{"type":"base64","data":"AA=="}}]}]}])"));
    EXPECT_FALSE(has_image(
        R"([{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"image"}]}])"));
    // Documents (PDFs) are not images.
    EXPECT_FALSE(has_image(
        R"([{"role":"user","content":[{"type":"document","source":{"type":"base64","data":"AA=="}}]}])"));
    // OpenAI's part type in an Anthropic request is not an image.
    EXPECT_FALSE(has_image(R"([{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}])"));
    // Non-object messages and blocks are skipped without error.
    EXPECT_FALSE(has_image(R"([1,"s",{"role":"user","content":[null,2]}])"));
}

TEST(RequestFacts, OpenAIImages) {
    auto has_image = [](std::string_view messages) {
        std::string body = R"({"model":"m","messages":)" + std::string(messages) + "}";
        return facts_of(Dialect::kOpenAI, body).has_image;
    };
    EXPECT_FALSE(has_image(R"([{"role":"user","content":"image_url"}])"));
    EXPECT_TRUE(has_image(
        R"([{"role":"user","content":[{"type":"text","text":"x"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}])"));
    EXPECT_TRUE(has_image(
        R"([{"role":"tool","tool_call_id":"c","content":[{"type":"image_url","image_url":{"url":"u"}}]}])"));
    EXPECT_FALSE(has_image(R"([{"role":"user","content":[{"type":"image","source":{}}]}])"));
}

TEST(RequestFacts, AnthropicWebSearch) {
    auto web = [](std::string_view tools) {
        std::string body = R"({"model":"m","messages":[],"tools":)" + std::string(tools) + "}";
        return facts_of(Dialect::kAnthropic, body).has_web_search;
    };
    EXPECT_TRUE(web(R"([{"type":"web_search_20250305","name":"web_search","max_uses":5}])"));
    EXPECT_TRUE(web(R"([{"name":"Read","input_schema":{}},{"type":"web_search_20260101","name":"w"}])"));
    EXPECT_FALSE(web(R"([{"name":"web_search","input_schema":{}}])"));
    EXPECT_FALSE(web(R"([{"type":"custom","name":"web_search","input_schema":{}}])"));
    EXPECT_FALSE(web(R"([{"type":"web_fetch_20250910","name":"web_fetch"}])"));
    EXPECT_FALSE(web(R"([])"));
    EXPECT_FALSE(web(R"({"type":"web_search_20250305"})"));
    EXPECT_FALSE(web(R"([1,"web_search"])"));
    EXPECT_FALSE(facts_of(Dialect::kAnthropic, R"({"model":"m","messages":[],"web_search_options":{}})")
                     .has_web_search);
}

TEST(RequestFacts, OpenAIWebSearchOptions) {
    EXPECT_TRUE(facts_of(Dialect::kOpenAI, R"({"model":"m","messages":[],"web_search_options":{}})")
                    .has_web_search);
    EXPECT_FALSE(facts_of(Dialect::kOpenAI, R"({"model":"m","messages":[]})").has_web_search);
    EXPECT_FALSE(facts_of(Dialect::kOpenAI,
                          R"({"model":"m","messages":[],"tools":[{"type":"web_search_20250305"}]})")
                     .has_web_search);
}

// An explicit null means "absent" in OpenAI requests: SDKs that serialise
// unset options as null must not be routed to scenario:web-search.
TEST(RequestFacts, OpenAIWebSearchOptionsNullIsNotWebSearch) {
    EXPECT_FALSE(facts_of(Dialect::kOpenAI, R"({"model":"m","messages":[],"web_search_options":null})")
                     .has_web_search);
}

// ---- the peek in two steps ------------------------------------------------

// peek_request stops at the first "model": routing needs nothing more, and
// a translated request's full parse should not follow a scan of the rest.
TEST(PeekInSteps, StopsAtTheModelAndFinishPeekReadsTheRest) {
    std::string body = R"({"model":"m","stream":"yes","messages":[1,2,3]})";
    ParsedRequest req;
    ASSERT_TRUE(peek_request(Dialect::kOpenAI, body, JsonLimits{}, req).ok());
    EXPECT_EQ(req.facts.model, "m");
    EXPECT_FALSE(req.peek.complete);
    EXPECT_EQ(req.peek.resume_after, req.model_token_offset + req.model_token_length);
    EXPECT_FALSE(req.facts.stream);  // not read yet
    expect_error(finish_peek(req), ErrorCode::kInvalidRequest, "stream");

    body = R"({"model":"m", "tools":[{"a":"}"}], "stream" : true })";
    ASSERT_TRUE(peek_request(Dialect::kOpenAI, body, JsonLimits{}, req).ok());
    ASSERT_TRUE(finish_peek(req).ok());
    EXPECT_TRUE(req.facts.stream);
    EXPECT_TRUE(req.peek.complete);
    ASSERT_TRUE(finish_peek(req).ok());  // once is enough; again changes nothing
    EXPECT_TRUE(req.facts.stream);
}

TEST(PeekInSteps, StreamBeforeTheModelIsReadByTheFirstStep) {
    ParsedRequest req;
    ASSERT_TRUE(peek_request(Dialect::kAnthropic, R"({"stream":true,"model":"m","stream":false})",
                             JsonLimits{}, req)
                    .ok());
    EXPECT_TRUE(req.facts.stream);
    ASSERT_TRUE(finish_peek(req).ok());
    EXPECT_TRUE(req.facts.stream);  // the first one counts, as in the full parse
    expect_error(peek_request(Dialect::kAnthropic, R"({"stream":2,"model":"m"})", JsonLimits{}, req),
                 ErrorCode::kInvalidRequest, "stream");
}

// A passthrough splices only after the whole peek: before it, a duplicate
// "model" later in the body could still be waiting.
TEST(PeekInSteps, SpliceOnlyAfterTheWholeBodyWasSeen) {
    std::string body = R"({"model":"a","messages":[],"model":"b"})";
    ParsedRequest req;
    ASSERT_TRUE(peek_request(Dialect::kAnthropic, body, JsonLimits{}, req).ok());
    TranslateOptions opts;
    opts.target_model = "t";
    auto early = translate_request(req, Dialect::kAnthropic, opts);
    ASSERT_TRUE(early.ok());
    EXPECT_TRUE(early->head.empty());  // no splice: the rewrite of every "model"
    EXPECT_EQ(early->joined(), R"({"model":"t","messages":[],"model":"t"})");
}

// The full parse after the first step sees a later duplicate in the document
// instead of scanning the text again.
TEST(PeekInSteps, FullParseAfterTheFirstStepFindsDuplicates) {
    TranslateOptions opts;
    opts.target_model = "t";
    for (bool duplicate : {false, true}) {
        std::string body = duplicate ? R"({"model":"a","messages":[],"stream":true,"model":"b"})"
                                     : R"({"model":"a","messages":[],"stream":true})";
        ParsedRequest req;
        ASSERT_TRUE(peek_request(Dialect::kAnthropic, body, JsonLimits{}, req).ok());
        ASSERT_TRUE(ensure_parsed(req, JsonLimits{}).ok());
        EXPECT_TRUE(req.peek.complete);
        EXPECT_TRUE(req.facts.stream);
        EXPECT_EQ(req.facts.model, "a");
        EXPECT_EQ(req.model_token_length, duplicate ? 0u : 3u) << body;
        auto tr = translate_request(req, Dialect::kAnthropic, opts);
        ASSERT_TRUE(tr.ok());
        EXPECT_EQ(tr->head.empty(), duplicate);
        std::string want = duplicate ? R"({"model":"t","messages":[],"stream":true,"model":"t"})"
                                     : R"({"model":"t","messages":[],"stream":true})";
        EXPECT_EQ(tr->joined(), want);
    }
}

// ---- same-dialect passthrough body (peek offsets -> translate_request) ----

std::string passthrough_body(const ParsedRequest& req, std::string_view target) {
    TranslateOptions opts;
    opts.target_model = target;
    auto tr = translate_request(req, req.dialect, opts);
    EXPECT_TRUE(tr.ok()) << tr.error().describe();
    return tr.ok() ? tr->joined() : std::string();
}

TEST(PassthroughRewrite, SpliceAtPeekedOffsetKeepsEveryOtherByte) {
    std::string body =
        "{ \"system\" : \"x\\\"model\\\": y\",\n \"model\" :\t\"old\" , \"messages\":[{\"model\":\"n\"}]}";
    ParsedRequest req;
    ASSERT_TRUE(peek(Dialect::kAnthropic, body, req).ok());
    EXPECT_EQ(body.substr(req.model_token_offset, req.model_token_length), "\"old\"");
    std::string want = body;
    want.replace(want.find("\"old\""), 5, "\"new \\\"q\\\"\"");
    EXPECT_EQ(passthrough_body(req, "new \"q\""), want);
    // The same result through the full parse.
    ASSERT_TRUE(ensure_parsed(req, JsonLimits{}).ok());
    EXPECT_EQ(passthrough_body(req, "new \"q\""), want);
}

// The splice refers to the client's bytes instead of copying them: the
// provider's body is head + the new literal + tail, with head and tail inside
// the raw body. Other rewrites (duplicates, the max_tokens cap) are one string.
TEST(PassthroughRewrite, SpliceRefersToTheClientBytes) {
    std::string body = R"({"messages":[],"model":"old","max_tokens":9})";
    ParsedRequest req;
    ASSERT_TRUE(peek(Dialect::kAnthropic, body, req).ok());
    TranslateOptions opts;
    opts.target_model = "new";
    auto tr = translate_request(req, Dialect::kAnthropic, opts);
    ASSERT_TRUE(tr.ok());
    EXPECT_EQ(tr->head.data(), body.data());
    EXPECT_EQ(tr->head, R"({"messages":[],"model":)");
    EXPECT_EQ(tr->body, R"("new")");
    EXPECT_EQ(tr->tail.data(), body.data() + body.find(",\"max_tokens\""));
    EXPECT_EQ(tr->tail, R"(,"max_tokens":9})");
    EXPECT_EQ(tr->size(), tr->joined().size());
    EXPECT_EQ(tr->joined(), R"({"messages":[],"model":"new","max_tokens":9})");

    ASSERT_TRUE(ensure_parsed(req, JsonLimits{}).ok());
    opts.max_tokens_cap = 4;
    auto capped = translate_request(req, Dialect::kAnthropic, opts);
    ASSERT_TRUE(capped.ok());
    EXPECT_TRUE(capped->head.empty());
    EXPECT_TRUE(capped->tail.empty());
    EXPECT_EQ(capped->body, R"({"messages":[],"model":"new","max_tokens":4})");
}

TEST(PassthroughRewrite, DuplicateModelKeysAllRewritten) {
    std::string body = R"({"model":"a","messages":[],"model":"b"})";
    ParsedRequest req;
    ASSERT_TRUE(peek(Dialect::kOpenAI, body, req).ok());
    EXPECT_EQ(passthrough_body(req, "t"), R"({"model":"t","messages":[],"model":"t"})");
}

// A ParsedRequest peeked for one body and then parse_request'ed for another
// must not splice the model at the first body's offset into the second:
// parse_request resets the splice fields (ensure_parsed keeps them, same raw).
TEST(PassthroughRewrite, ReusedParsedRequestDoesNotSpliceAtStaleOffset) {
    std::string first = R"({"model":"first-model","messages":[]})";
    std::string second = R"({"messages":[{"role":"user","content":"hello there"}],"model":"m2"})";
    ParsedRequest req;
    ASSERT_TRUE(peek(Dialect::kAnthropic, first, req).ok());
    ASSERT_TRUE(parse(Dialect::kAnthropic, second, req).ok());
    EXPECT_EQ(passthrough_body(req, "t"),
              R"({"messages":[{"role":"user","content":"hello there"}],"model":"t"})");
}

}  // namespace
}  // namespace llmproxy
