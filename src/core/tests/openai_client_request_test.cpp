// OpenAI Chat Completions request -> Anthropic Messages request: one named
// test per edge case, golden input and expected output.
#include <gtest/gtest.h>

#include <string>

#include "core/errors.hpp"
#include "core/tests/openai_client_test_util.hpp"

namespace llmproxy {
namespace {

using testing::JsonEq;
using testing::OpenAIRequestCase;
using testing::default_options;

// Translates `input` and compares with `expected`; `rc` receives the
// response context when given.
::testing::AssertionResult Translates(std::string_view input, std::string_view expected,
                                      const TranslateOptions& opts = default_options(),
                                      ResponseContext* rc = nullptr) {
    OpenAIRequestCase c{std::string(input)};
    if (!c.parse_status.ok()) {
        return ::testing::AssertionFailure() << "parse: " << c.parse_status.error().describe();
    }
    auto r = c.translate(opts);
    if (!r.ok()) return ::testing::AssertionFailure() << "translate: " << r.error().describe();
    if (rc != nullptr) *rc = r->response;
    return JsonEq(r->body, expected);
}

// Expects a typed kInvalidRequest error naming `field`.
::testing::AssertionResult Rejects(std::string_view input, std::string_view field,
                                   const TranslateOptions& opts = default_options()) {
    OpenAIRequestCase c{std::string(input)};
    if (!c.parse_status.ok()) {
        return ::testing::AssertionFailure() << "parse: " << c.parse_status.error().describe();
    }
    auto r = c.translate(opts);
    if (r.ok()) return ::testing::AssertionFailure() << "accepted: " << r->body;
    if (r.error().code != ErrorCode::kInvalidRequest) {
        return ::testing::AssertionFailure() << "wrong code for " << r.error().describe();
    }
    if (r.error().field != field) {
        return ::testing::AssertionFailure()
               << "field \"" << r.error().field << "\" != \"" << field << "\" ("
               << r.error().describe() << ")";
    }
    if (r.error().message.empty()) return ::testing::AssertionFailure() << "no reason given";
    return ::testing::AssertionSuccess();
}

// ---- basics ----------------------------------------------------------------

TEST(OpenAIClientRequest, PlainUserStringGetsTargetModelAndDefaultMaxTokens) {
    EXPECT_TRUE(Translates(
        R"({"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[{"role":"user","content":[{"type":"text","text":"Hello"}]}]})"));
}

// A function's parameters become input_schema as the client wrote them.
TEST(OpenAIClientRequest, ToolParametersAreCopiedAsWritten) {
    const std::string params = R"({ "type" : "object", "properties": {"q": {"type":"string","pattern":"^\\d+$"}},
      "required" : ["q"] })";
    OpenAIRequestCase c{R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],)"
                        R"("tools":[{"type":"function","function":{"name":"find","parameters":)" + params + "}}]}"};
    ASSERT_TRUE(c.parse_status.ok()) << c.parse_status.error().describe();
    auto r = c.translate(default_options());
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_NE(r->body.find("\"input_schema\":" + params), std::string::npos) << r->body;
    EXPECT_TRUE(JsonEq(r->body,
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],)"
        R"("tools":[{"name":"find","input_schema":{"type":"object","properties":{"q":{"type":"string","pattern":"^\\d+$"}},"required":["q"]}}]})"));
}

TEST(OpenAIClientRequest, EmptyTargetModelKeepsClientModel) {
    TranslateOptions opts;
    EXPECT_TRUE(Translates(
        R"({"model":"claude-x","messages":[{"role":"user","content":"Hi"}]})",
        R"({"model":"claude-x","max_tokens":4096,
            "messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]})",
        opts));
}

TEST(OpenAIClientRequest, AbsentMaxTokensUsesConfiguredCap) {
    TranslateOptions opts = default_options();
    opts.max_tokens_cap = 64000;
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[{"role":"user","content":"Hi"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":64000,
            "messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]})",
        opts));
}

TEST(OpenAIClientRequest, MaxTokensClampedToCap) {
    TranslateOptions opts = default_options();
    opts.max_tokens_cap = 8192;
    EXPECT_TRUE(Translates(
        R"({"model":"m","max_tokens":100000,"messages":[{"role":"user","content":"Hi"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":8192,
            "messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]})",
        opts));
}

TEST(OpenAIClientRequest, MaxCompletionTokensPreferredOverMaxTokens) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","max_tokens":10,"max_completion_tokens":300,
            "messages":[{"role":"user","content":"Hi"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":300,
            "messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]})"));
}

TEST(OpenAIClientRequest, ZeroMaxTokensRejected) {
    EXPECT_TRUE(Rejects(R"({"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]})",
                        "max_tokens"));
    EXPECT_TRUE(Rejects(
        R"({"model":"m","max_completion_tokens":"5","messages":[{"role":"user","content":"x"}]})",
        "max_completion_tokens"));
}

TEST(OpenAIClientRequest, ResponseContextCarriesClientModelAndStreamFlags) {
    ResponseContext rc;
    EXPECT_TRUE(Translates(
        R"({"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},
            "messages":[{"role":"user","content":"Hi"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,"stream":true,
            "messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]})",
        default_options(), &rc));
    EXPECT_EQ(rc.client_model, "gpt-4o");
    EXPECT_TRUE(rc.stream);
    EXPECT_TRUE(rc.include_usage_requested);
}

TEST(OpenAIClientRequest, StreamWithoutIncludeUsage) {
    ResponseContext rc;
    EXPECT_TRUE(Translates(
        R"({"model":"m","stream":true,"messages":[{"role":"user","content":"Hi"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,"stream":true,
            "messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]})",
        default_options(), &rc));
    EXPECT_FALSE(rc.include_usage_requested);
}

// ---- system / developer ----------------------------------------------------

TEST(OpenAIClientRequest, SingleLeadingSystemBecomesSystemString) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[{"role":"system","content":"Be brief."},
                                     {"role":"user","content":"Hi"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,"system":"Be brief.",
            "messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]})"));
}

TEST(OpenAIClientRequest, SystemAndDeveloperMessagesBecomeSystemBlocks) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[
              {"role":"system","content":"One."},
              {"role":"developer","content":[{"type":"text","text":"Two."},{"type":"text","text":"Three."}]},
              {"role":"user","content":"Hi"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "system":[{"type":"text","text":"One."},{"type":"text","text":"Two."},{"type":"text","text":"Three."}],
            "messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]})"));
}

TEST(OpenAIClientRequest, SystemCacheControlKept) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[
              {"role":"system","content":[{"type":"text","text":"Long prompt","cache_control":{"type":"ephemeral"}}]},
              {"role":"user","content":"Hi"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "system":[{"type":"text","text":"Long prompt","cache_control":{"type":"ephemeral"}}],
            "messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]})"));
}

TEST(OpenAIClientRequest, MidConversationSystemKeptInPlaceAsSystemReminder) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[
              {"role":"system","content":"Top."},
              {"role":"user","content":"Hi"},
              {"role":"assistant","content":"Hello!"},
              {"role":"system","content":"The user is now on mobile."},
              {"role":"user","content":"What now?"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,"system":"Top.",
            "messages":[
              {"role":"user","content":[{"type":"text","text":"Hi"}]},
              {"role":"assistant","content":[{"type":"text","text":"Hello!"}]},
              {"role":"user","content":[
                 {"type":"text","text":"<system-reminder>\nThe user is now on mobile.\n</system-reminder>"},
                 {"type":"text","text":"What now?"}]}]})"));
}

TEST(OpenAIClientRequest, SystemNonTextPartRejected) {
    EXPECT_TRUE(Rejects(
        R"({"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]},
                                     {"role":"user","content":"Hi"}]})",
        "messages[0].content[0].type"));
}

TEST(OpenAIClientRequest, OnlySystemMessagesRejected) {
    EXPECT_TRUE(Rejects(R"({"model":"m","messages":[{"role":"system","content":"x"}]})", "messages"));
}

// ---- user content ----------------------------------------------------------

TEST(OpenAIClientRequest, ConsecutiveUserMessagesMerged) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[{"role":"user","content":"a"},{"role":"user","content":[{"type":"text","text":"b"}]}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]})"));
}

TEST(OpenAIClientRequest, EmptyTextPartsAndEmptyMessagesDropped) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":""},{"type":"text","text":"q"}]},
                                     {"role":"assistant","content":""},
                                     {"role":"user","content":"r"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[{"role":"user","content":[{"type":"text","text":"q"},{"type":"text","text":"r"}]}]})"));
}

TEST(OpenAIClientRequest, ImageDataUrlBecomesBase64Source) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[{"role":"user","content":[
              {"type":"text","text":"What is this?"},
              {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}}]}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[{"role":"user","content":[
              {"type":"text","text":"What is this?"},
              {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]}]})"));
}

TEST(OpenAIClientRequest, ImageHttpUrlBecomesUrlSource) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[{"role":"user","content":[
              {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[{"role":"user","content":[
              {"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]}]})"));
}

TEST(OpenAIClientRequest, ImageUrlAsPlainStringAccepted) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[{"role":"user","content":[
              {"type":"image_url","image_url":"data:image/jpeg;base64,/9j/4AAQ"}]}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[{"role":"user","content":[
              {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQ"}}]}]})"));
}

TEST(OpenAIClientRequest, ImageWithUnsupportedSchemeRejected) {
    EXPECT_TRUE(Rejects(
        R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]}]})",
        "messages[0].content[0].image_url.url"));
    EXPECT_TRUE(Rejects(
        R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,rawbytes"}}]}]})",
        "messages[0].content[0].image_url.url"));
}

TEST(OpenAIClientRequest, PdfFilePartBecomesDocument) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[{"role":"user","content":[
              {"type":"file","file":{"filename":"report.pdf","file_data":"data:application/pdf;base64,JVBERi0x"}},
              {"type":"text","text":"Summarise"}]}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[{"role":"user","content":[
              {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0x"},"title":"report.pdf"},
              {"type":"text","text":"Summarise"}]}]})"));
}

TEST(OpenAIClientRequest, FileIdRejected) {
    EXPECT_TRUE(Rejects(
        R"({"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-abc"}}]}]})",
        "messages[0].content[0].file.file_id"));
}

TEST(OpenAIClientRequest, AudioInputRejected) {
    EXPECT_TRUE(Rejects(
        R"({"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}}]}]})",
        "messages[0].content[0].type"));
}

TEST(OpenAIClientRequest, PartCacheControlPassedThrough) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[{"role":"user","content":[
              {"type":"text","text":"big doc","cache_control":{"type":"ephemeral","ttl":"1h"}}]}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[{"role":"user","content":[
              {"type":"text","text":"big doc","cache_control":{"type":"ephemeral","ttl":"1h"}}]}]})"));
}

// ---- assistant / tool calls / tool results -----------------------------------

TEST(OpenAIClientRequest, AssistantTextAndToolCallsBecomeTextThenToolUse) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[
              {"role":"user","content":"List files"},
              {"role":"assistant","content":"Let me look.","tool_calls":[
                 {"id":"call_1","type":"function","function":{"name":"Bash","arguments":"{\"command\":\"ls\"}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"a.txt"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[
              {"role":"user","content":[{"type":"text","text":"List files"}]},
              {"role":"assistant","content":[
                 {"type":"text","text":"Let me look."},
                 {"type":"tool_use","id":"call_1","name":"Bash","input":{"command":"ls"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":"a.txt"}]}]})"));
}

TEST(OpenAIClientRequest, ConsecutiveToolMessagesMergedIntoOneUserMessage) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","content":null,"tool_calls":[
                 {"id":"call_a","type":"function","function":{"name":"Read","arguments":"{\"p\":\"a\"}"}},
                 {"id":"call_b","type":"function","function":{"name":"Read","arguments":"{\"p\":\"b\"}"}}]},
              {"role":"tool","tool_call_id":"call_a","content":"A"},
              {"role":"tool","tool_call_id":"call_b","content":"B"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[
              {"role":"user","content":[{"type":"text","text":"go"}]},
              {"role":"assistant","content":[
                 {"type":"tool_use","id":"call_a","name":"Read","input":{"p":"a"}},
                 {"type":"tool_use","id":"call_b","name":"Read","input":{"p":"b"}}]},
              {"role":"user","content":[
                 {"type":"tool_result","tool_use_id":"call_a","content":"A"},
                 {"type":"tool_result","tool_use_id":"call_b","content":"B"}]}]})"));
}

TEST(OpenAIClientRequest, ToolResultsComeBeforeFollowingUserText) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"T","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"c1","content":"done"},
              {"role":"user","content":"now the tests"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[
              {"role":"user","content":[{"type":"text","text":"go"}]},
              {"role":"assistant","content":[{"type":"tool_use","id":"c1","name":"T","input":{}}]},
              {"role":"user","content":[
                 {"type":"tool_result","tool_use_id":"c1","content":"done"},
                 {"type":"text","text":"now the tests"}]}]})"));
}

TEST(OpenAIClientRequest, SystemMessageBetweenToolCallAndResultGoesAfterResult) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"T","arguments":"{}"}}]},
              {"role":"system","content":"note"},
              {"role":"tool","tool_call_id":"c1","content":"done"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[
              {"role":"user","content":[{"type":"text","text":"go"}]},
              {"role":"assistant","content":[{"type":"tool_use","id":"c1","name":"T","input":{}}]},
              {"role":"user","content":[
                 {"type":"tool_result","tool_use_id":"c1","content":"done"},
                 {"type":"text","text":"<system-reminder>\nnote\n</system-reminder>"}]}]})"));
}

TEST(OpenAIClientRequest, EmptyArgumentsBecomeEmptyInput) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"Now","arguments":""}}]},
              {"role":"tool","tool_call_id":"c1","content":"12:00"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[
              {"role":"user","content":[{"type":"text","text":"go"}]},
              {"role":"assistant","content":[{"type":"tool_use","id":"c1","name":"Now","input":{}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":"12:00"}]}]})"));
}

TEST(OpenAIClientRequest, InvalidArgumentsJsonKeptVerbatim) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","tool_calls":[
                 {"id":"c1","type":"function","function":{"name":"W","arguments":"{\"path\":\"a.t"}},
                 {"id":"c2","type":"function","function":{"name":"W","arguments":"[1,2]"}}]},
              {"role":"tool","tool_call_id":"c1","content":"x"},
              {"role":"tool","tool_call_id":"c2","content":"y"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[
              {"role":"user","content":[{"type":"text","text":"go"}]},
              {"role":"assistant","content":[
                 {"type":"tool_use","id":"c1","name":"W","input":{"_raw_arguments":"{\"path\":\"a.t"}},
                 {"type":"tool_use","id":"c2","name":"W","input":{"_raw_arguments":"[1,2]"}}]},
              {"role":"user","content":[
                 {"type":"tool_result","tool_use_id":"c1","content":"x"},
                 {"type":"tool_result","tool_use_id":"c2","content":"y"}]}]})"));
}

TEST(OpenAIClientRequest, ToolMessageWithContentParts) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"Shot","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"c1","content":[
                 {"type":"text","text":"screenshot:"},
                 {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[
              {"role":"user","content":[{"type":"text","text":"go"}]},
              {"role":"assistant","content":[{"type":"tool_use","id":"c1","name":"Shot","input":{}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":[
                 {"type":"text","text":"screenshot:"},
                 {"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]}]}]})"));
}

TEST(OpenAIClientRequest, EmptyToolResultOmitsContent) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"T","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"c1","content":""}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[
              {"role":"user","content":[{"type":"text","text":"go"}]},
              {"role":"assistant","content":[{"type":"tool_use","id":"c1","name":"T","input":{}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"c1"}]}]})"));
}

TEST(OpenAIClientRequest, DuplicateToolCallIdsAcrossTurnsRenamed) {
    // Some providers number calls per turn ("call_0" every time); Anthropic
    // rejects duplicate tool_use ids anywhere in the conversation.
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","tool_calls":[{"id":"call_0","type":"function","function":{"name":"T","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"call_0","content":"first"},
              {"role":"assistant","tool_calls":[{"id":"call_0","type":"function","function":{"name":"T","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"call_0","content":"second"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[
              {"role":"user","content":[{"type":"text","text":"go"}]},
              {"role":"assistant","content":[{"type":"tool_use","id":"call_0","name":"T","input":{}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"call_0","content":"first"}]},
              {"role":"assistant","content":[{"type":"tool_use","id":"call_0_2","name":"T","input":{}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"call_0_2","content":"second"}]}]})"));
}

TEST(OpenAIClientRequest, LongSystemPromptCopiedAsWritten) {
    // Long leading system texts go out as the client wrote them (escapes
    // and all), a string or parts; they still decode to the same text.
    const std::string literal =
        R"("You are a coding agent.\nRules:\n\t- keep changes small\n\t- caf\u00e9 \/ \"quotes\"\n")";
    for (bool parts : {false, true}) {
        std::string in = R"({"model":"m","messages":[{"role":"system","content":)";
        in += parts ? R"([{"type":"text","text":)" + literal + R"(,"cache_control":{"type":"ephemeral"}}])" : literal;
        in += R"(},{"role":"user","content":"go"}]})";
        OpenAIRequestCase c{in};
        ASSERT_TRUE(c.parse_status.ok());
        auto r = c.translate(default_options());
        ASSERT_TRUE(r.ok()) << r.error().describe();
        EXPECT_NE(r->body.find(literal), std::string::npos) << r->body;
        std::string expected_system = parts
            ? R"([{"type":"text","text":)" + literal + R"(,"cache_control":{"type":"ephemeral"}}])"
            : literal;
        EXPECT_TRUE(JsonEq(r->body, R"({"model":"claude-sonnet-4-5","max_tokens":4096,"system":)" +
                                        expected_system +
                                        R"(,"messages":[{"role":"user","content":[{"type":"text","text":"go"}]}]})"));
    }
}

TEST(OpenAIClientRequest, LongHistoryOfOneReusedToolCallIdStaysPaired) {
    // 400 turns of "call_0" (more ids than the converter's own buffer holds),
    // with a client id that is already "call_0_3": every call gets its own id
    // and every result answers the call before it.
    std::string in = R"({"model":"m","messages":[{"role":"user","content":"go"})";
    std::string out = R"({"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[)"
                      R"({"role":"user","content":[{"type":"text","text":"go"}]})";
    auto turn = [&](std::string_view client_id, std::string_view id, int i) {
        std::string n = std::to_string(i);
        in += R"(,{"role":"assistant","tool_calls":[{"id":")" + std::string(client_id) +
              R"(","type":"function","function":{"name":"T","arguments":"{}"}}]},)"
              R"({"role":"tool","tool_call_id":")" + std::string(client_id) + R"(","content":"r)" + n + R"("})";
        out += R"(,{"role":"assistant","content":[{"type":"tool_use","id":")" + std::string(id) +
               R"(","name":"T","input":{}}]},)"
               R"({"role":"user","content":[{"type":"tool_result","tool_use_id":")" + std::string(id) +
               R"(","content":"r)" + n + R"("}]})";
    };
    turn("call_0_3", "call_0_3", 0);
    turn("call_0", "call_0", 1);
    for (int i = 2; i <= 400; ++i) {
        // call_0_3 is taken by the client's own id: the renaming skips it.
        int suffix = i < 3 ? i : i + 1;
        turn("call_0", "call_0_" + std::to_string(suffix), i);
    }
    in += "]}";
    out += "]}";
    EXPECT_TRUE(Translates(in, out));
}

TEST(OpenAIClientRequest, ToolCallIdsOutsideAnthropicAlphabetSanitised) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","tool_calls":[{"id":"functions.Bash:0","type":"function","function":{"name":"Bash","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"functions.Bash:0","content":"ok"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[
              {"role":"user","content":[{"type":"text","text":"go"}]},
              {"role":"assistant","content":[{"type":"tool_use","id":"functions_Bash_0","name":"Bash","input":{}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"functions_Bash_0","content":"ok"}]}]})"));
}

TEST(OpenAIClientRequest, AssistantRefusalKeptAsText) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[
              {"role":"user","content":"bad thing"},
              {"role":"assistant","content":null,"refusal":"I can't help with that."},
              {"role":"user","content":"ok then"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[
              {"role":"user","content":[{"type":"text","text":"bad thing"}]},
              {"role":"assistant","content":[{"type":"text","text":"I can't help with that."}]},
              {"role":"user","content":[{"type":"text","text":"ok then"}]}]})"));
}

TEST(OpenAIClientRequest, ToolMessageWithoutToolCallIdRejected) {
    EXPECT_TRUE(Rejects(
        R"({"model":"m","messages":[{"role":"user","content":"go"},{"role":"tool","content":"x"}]})",
        "messages[1].tool_call_id"));
}

TEST(OpenAIClientRequest, ToolCallWithoutIdRejected) {
    EXPECT_TRUE(Rejects(
        R"({"model":"m","messages":[{"role":"user","content":"go"},
              {"role":"assistant","tool_calls":[{"type":"function","function":{"name":"T","arguments":"{}"}}]}]})",
        "messages[1].tool_calls[0].id"));
}

TEST(OpenAIClientRequest, ToolCallArgumentsNotStringRejected) {
    EXPECT_TRUE(Rejects(
        R"({"model":"m","messages":[{"role":"user","content":"go"},
              {"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"T","arguments":{"a":1}}}]}]})",
        "messages[1].tool_calls[0].function.arguments"));
}

TEST(OpenAIClientRequest, LegacyFunctionCallAndFunctionMessage) {
    EXPECT_TRUE(Translates(
        R"({"model":"m",
            "functions":[{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}],
            "function_call":"auto",
            "messages":[
              {"role":"user","content":"Weather?"},
              {"role":"assistant","content":null,"function_call":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}},
              {"role":"function","name":"get_weather","content":"-3C"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[
              {"role":"user","content":[{"type":"text","text":"Weather?"}]},
              {"role":"assistant","content":[{"type":"tool_use","id":"call_legacy_1","name":"get_weather","input":{"city":"Oslo"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"call_legacy_1","content":"-3C"}]}],
            "tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
            "tool_choice":{"type":"auto"}})"));
}

TEST(OpenAIClientRequest, FunctionMessageWithoutCallRejected) {
    EXPECT_TRUE(Rejects(
        R"({"model":"m","messages":[{"role":"user","content":"go"},{"role":"function","name":"f","content":"x"}]})",
        "messages[1].role"));
}

TEST(OpenAIClientRequest, UnknownRoleRejected) {
    EXPECT_TRUE(Rejects(R"({"model":"m","messages":[{"role":"narrator","content":"x"}]})",
                        "messages[0].role"));
}

TEST(OpenAIClientRequest, WrongTypedContentRejected) {
    EXPECT_TRUE(Rejects(R"({"model":"m","messages":[{"role":"user","content":42}]})",
                        "messages[0].content"));
    EXPECT_TRUE(Rejects(R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":7}]}]})",
                        "messages[0].content[0].text"));
    EXPECT_TRUE(Rejects(R"({"model":"m","messages":["hi"]})", "messages[0]"));
    EXPECT_TRUE(Rejects(R"({"model":"m","messages":[{"role":"user"}]})", "messages[0].content"));
}

// ---- tools and tool_choice ------------------------------------------------------

TEST(OpenAIClientRequest, ToolDefinitionsMapped) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[{"role":"user","content":"go"}],
            "tools":[
              {"type":"function","function":{"name":"Read","description":"Read a file","strict":true,
                 "parameters":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}}},
              {"type":"function","function":{"name":"Now"}},
              {"type":"function","function":{"name":"Loose","parameters":{"properties":{"x":{"type":"number"}}}}}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[{"role":"user","content":[{"type":"text","text":"go"}]}],
            "tools":[
              {"name":"Read","description":"Read a file",
               "input_schema":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}},
              {"name":"Now","input_schema":{"type":"object","properties":{}}},
              {"name":"Loose","input_schema":{"type":"object","properties":{"x":{"type":"number"}}}}]})"));
}

TEST(OpenAIClientRequest, ToolNamesOutsideAlphabetRewrittenAndMapped) {
    ResponseContext rc;
    OpenAIRequestCase c{R"({"model":"m","messages":[{"role":"user","content":"go"}],
        "tools":[{"type":"function","function":{"name":"mcp.server/do thing"}}],
        "tool_choice":{"type":"function","function":{"name":"mcp.server/do thing"}}})"};
    ASSERT_TRUE(c.parse_status.ok());
    auto r = c.translate(default_options());
    ASSERT_TRUE(r.ok()) << r.error().describe();
    ASSERT_EQ(r->response.tool_names.provider_to_client.size(), 1u);
    const auto& [provider, client] = r->response.tool_names.provider_to_client[0];
    EXPECT_EQ(client, "mcp.server/do thing");
    EXPECT_NE(provider.find("mcp_server_do_thing"), std::string::npos);
    EXPECT_EQ(r->response.tool_names.to_client(provider), "mcp.server/do thing");
    std::string expected = R"({"model":"claude-sonnet-4-5","max_tokens":4096,
        "messages":[{"role":"user","content":[{"type":"text","text":"go"}]}],
        "tools":[{"name":")" + provider + R"(","input_schema":{"type":"object","properties":{}}}],
        "tool_choice":{"type":"tool","name":")" + provider + R"("}})";
    EXPECT_TRUE(JsonEq(r->body, expected));
}

TEST(OpenAIClientRequest, NonFunctionToolRejected) {
    EXPECT_TRUE(Rejects(
        R"({"model":"m","messages":[{"role":"user","content":"go"}],"tools":[{"type":"custom","custom":{"name":"x"}}]})",
        "tools[0].type"));
}

TEST(OpenAIClientRequest, ToolParametersNotObjectRejected) {
    EXPECT_TRUE(Rejects(
        R"({"model":"m","messages":[{"role":"user","content":"go"}],"tools":[{"type":"function","function":{"name":"x","parameters":"{}"}}]})",
        "tools[0].function.parameters"));
}

constexpr const char* kOneTool =
    R"("tools":[{"type":"function","function":{"name":"T","parameters":{"type":"object"}}}])";
constexpr const char* kOneToolOut = R"("tools":[{"name":"T","input_schema":{"type":"object"}}])";

std::string with_tool(std::string_view extra) {
    return std::string(R"({"model":"m","messages":[{"role":"user","content":"go"}],)") + kOneTool +
           std::string(extra) + "}";
}
std::string with_tool_out(std::string_view extra) {
    return std::string(R"({"model":"claude-sonnet-4-5","max_tokens":4096,
        "messages":[{"role":"user","content":[{"type":"text","text":"go"}]}],)") +
           kOneToolOut + std::string(extra) + "}";
}

TEST(OpenAIClientRequest, ToolChoiceAuto) {
    EXPECT_TRUE(Translates(with_tool(R"(,"tool_choice":"auto")"),
                           with_tool_out(R"(,"tool_choice":{"type":"auto"})")));
}

TEST(OpenAIClientRequest, ToolChoiceNone) {
    EXPECT_TRUE(Translates(with_tool(R"(,"tool_choice":"none")"),
                           with_tool_out(R"(,"tool_choice":{"type":"none"})")));
}

TEST(OpenAIClientRequest, ToolChoiceRequiredBecomesAny) {
    EXPECT_TRUE(Translates(with_tool(R"(,"tool_choice":"required")"),
                           with_tool_out(R"(,"tool_choice":{"type":"any"})")));
}

TEST(OpenAIClientRequest, ToolChoiceFunctionBecomesTool) {
    EXPECT_TRUE(Translates(with_tool(R"(,"tool_choice":{"type":"function","function":{"name":"T"}})"),
                           with_tool_out(R"(,"tool_choice":{"type":"tool","name":"T"})")));
}

TEST(OpenAIClientRequest, ParallelToolCallsFalseDisablesParallelToolUse) {
    EXPECT_TRUE(Translates(with_tool(R"(,"parallel_tool_calls":false)"),
                           with_tool_out(R"(,"tool_choice":{"type":"auto","disable_parallel_tool_use":true})")));
    EXPECT_TRUE(Translates(with_tool(R"(,"tool_choice":"required","parallel_tool_calls":false)"),
                           with_tool_out(R"(,"tool_choice":{"type":"any","disable_parallel_tool_use":true})")));
}

TEST(OpenAIClientRequest, ParallelToolCallsTrueIsAnthropicDefault) {
    EXPECT_TRUE(Translates(with_tool(R"(,"parallel_tool_calls":true)"), with_tool_out("")));
}

TEST(OpenAIClientRequest, ToolChoiceWithoutToolsDroppedOrRejected) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","tool_choice":"none","messages":[{"role":"user","content":"go"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"go"}]}]})"));
    EXPECT_TRUE(Rejects(R"({"model":"m","tool_choice":"required","messages":[{"role":"user","content":"go"}]})",
                        "tool_choice"));
}

TEST(OpenAIClientRequest, InvalidToolChoiceRejected) {
    EXPECT_TRUE(Rejects(with_tool(R"(,"tool_choice":"sometimes")"), "tool_choice"));
    EXPECT_TRUE(Rejects(with_tool(R"(,"tool_choice":{"type":"allowed_tools","allowed_tools":{}})"), "tool_choice"));
}

// ---- sampling, stop, user ----------------------------------------------------------

TEST(OpenAIClientRequest, StopStringBecomesStopSequences) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","stop":"END","messages":[{"role":"user","content":"go"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,"stop_sequences":["END"],
            "messages":[{"role":"user","content":[{"type":"text","text":"go"}]}]})"));
}

TEST(OpenAIClientRequest, StopArrayBecomesStopSequences) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","stop":["\n\n","###"],"messages":[{"role":"user","content":"go"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,"stop_sequences":["\n\n","###"],
            "messages":[{"role":"user","content":[{"type":"text","text":"go"}]}]})"));
    EXPECT_TRUE(Rejects(R"({"model":"m","stop":[1],"messages":[{"role":"user","content":"go"}]})", "stop[0]"));
}

TEST(OpenAIClientRequest, TemperatureAndTopPAndTopKMapped) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","temperature":0.2,"top_p":0.9,"top_k":40,"messages":[{"role":"user","content":"go"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,"temperature":0.2,"top_p":0.9,"top_k":40,
            "messages":[{"role":"user","content":[{"type":"text","text":"go"}]}]})"));
}

TEST(OpenAIClientRequest, TemperatureAboveOneClampedToOne) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","temperature":1.7,"messages":[{"role":"user","content":"go"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,"temperature":1,
            "messages":[{"role":"user","content":[{"type":"text","text":"go"}]}]})"));
}

TEST(OpenAIClientRequest, TemperatureOutOfRangeRejected) {
    EXPECT_TRUE(Rejects(R"({"model":"m","temperature":3,"messages":[{"role":"user","content":"go"}]})", "temperature"));
    EXPECT_TRUE(Rejects(R"({"model":"m","temperature":"hot","messages":[{"role":"user","content":"go"}]})", "temperature"));
    EXPECT_TRUE(Rejects(R"({"model":"m","top_p":1.5,"messages":[{"role":"user","content":"go"}]})", "top_p"));
}

TEST(OpenAIClientRequest, UserBecomesMetadataUserId) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","user":"user-123","messages":[{"role":"user","content":"go"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,"metadata":{"user_id":"user-123"},
            "messages":[{"role":"user","content":[{"type":"text","text":"go"}]}]})"));
    EXPECT_TRUE(Translates(
        R"({"model":"m","safety_identifier":"h-9","messages":[{"role":"user","content":"go"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,"metadata":{"user_id":"h-9"},
            "messages":[{"role":"user","content":[{"type":"text","text":"go"}]}]})"));
}

TEST(OpenAIClientRequest, OpenAIOnlyHintsNotForwarded) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","presence_penalty":0.5,"frequency_penalty":0.1,"seed":7,"store":true,
            "metadata":{"k":"v"},"service_tier":"auto","prompt_cache_key":"abc","n":1,"logprobs":false,
            "response_format":{"type":"text"},"logit_bias":{},"modalities":["text"],"verbosity":"low",
            "messages":[{"role":"user","content":"go"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[{"role":"user","content":[{"type":"text","text":"go"}]}]})"));
}

TEST(OpenAIClientRequest, JsonObjectResponseFormatAccepted) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"Reply in JSON"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,
            "messages":[{"role":"user","content":[{"type":"text","text":"Reply in JSON"}]}]})"));
}

TEST(OpenAIClientRequest, NGreaterThanOneRejected) {
    EXPECT_TRUE(Rejects(R"({"model":"m","n":3,"messages":[{"role":"user","content":"go"}]})", "n"));
}

TEST(OpenAIClientRequest, LogprobsRejected) {
    EXPECT_TRUE(Rejects(R"({"model":"m","logprobs":true,"messages":[{"role":"user","content":"go"}]})", "logprobs"));
    EXPECT_TRUE(Rejects(R"({"model":"m","top_logprobs":2,"messages":[{"role":"user","content":"go"}]})", "top_logprobs"));
}

TEST(OpenAIClientRequest, JsonSchemaResponseFormatRejected) {
    EXPECT_TRUE(Rejects(
        R"({"model":"m","response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}},"messages":[{"role":"user","content":"go"}]})",
        "response_format"));
}

TEST(OpenAIClientRequest, LogitBiasRejected) {
    EXPECT_TRUE(Rejects(R"({"model":"m","logit_bias":{"50256":-100},"messages":[{"role":"user","content":"go"}]})",
                        "logit_bias"));
}

TEST(OpenAIClientRequest, AudioOutputAndWebSearchRejected) {
    EXPECT_TRUE(Rejects(R"({"model":"m","modalities":["text","audio"],"messages":[{"role":"user","content":"go"}]})",
                        "modalities"));
    EXPECT_TRUE(Rejects(R"({"model":"m","audio":{"voice":"alloy"},"messages":[{"role":"user","content":"go"}]})", "audio"));
    EXPECT_TRUE(Rejects(R"({"model":"m","web_search_options":{},"messages":[{"role":"user","content":"go"}]})",
                        "web_search_options"));
}

// ---- reasoning ------------------------------------------------------------------

TEST(OpenAIClientRequest, ReasoningEffortBecomesThinkingBudgetAndRaisesDefaultMaxTokens) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","reasoning_effort":"medium","temperature":0.3,"messages":[{"role":"user","content":"go"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":12288,"thinking":{"type":"enabled","budget_tokens":8192},
            "messages":[{"role":"user","content":[{"type":"text","text":"go"}]}]})"));
}

TEST(OpenAIClientRequest, ReasoningEffortLevels) {
    const std::pair<const char*, int> levels[] = {
        {"minimal", 1024}, {"low", 2048}, {"medium", 8192}, {"high", 16384}, {"xhigh", 32768}};
    for (const auto& [effort, budget] : levels) {
        std::string in = std::string(R"({"model":"m","max_tokens":64000,"reasoning_effort":")") + effort +
                         R"(","messages":[{"role":"user","content":"go"}]})";
        std::string out = R"({"model":"claude-sonnet-4-5","max_tokens":64000,"thinking":{"type":"enabled","budget_tokens":)" +
                          std::to_string(budget) +
                          R"(},"messages":[{"role":"user","content":[{"type":"text","text":"go"}]}]})";
        EXPECT_TRUE(Translates(in, out)) << effort;
    }
}

TEST(OpenAIClientRequest, ReasoningEffortNoneMeansNoThinking) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","reasoning_effort":"none","messages":[{"role":"user","content":"go"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"go"}]}]})"));
    EXPECT_TRUE(Rejects(R"({"model":"m","reasoning_effort":"max","messages":[{"role":"user","content":"go"}]})",
                        "reasoning_effort"));
}

TEST(OpenAIClientRequest, ThinkingBudgetSplitWhenMaxTokensSmall) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","max_tokens":4000,"reasoning_effort":"high","messages":[{"role":"user","content":"go"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4000,"thinking":{"type":"enabled","budget_tokens":2000},
            "messages":[{"role":"user","content":[{"type":"text","text":"go"}]}]})"));
}

TEST(OpenAIClientRequest, ThinkingWithTooSmallMaxTokensRejected) {
    EXPECT_TRUE(Rejects(
        R"({"model":"m","max_completion_tokens":800,"reasoning_effort":"low","messages":[{"role":"user","content":"go"}]})",
        "max_completion_tokens"));
}

TEST(OpenAIClientRequest, ThinkingLeftOffDuringToolLoop) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","max_tokens":20000,"reasoning_effort":"low","temperature":0.5,"messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"T","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"c1","content":"r"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":20000,"temperature":0.5,"messages":[
              {"role":"user","content":[{"type":"text","text":"go"}]},
              {"role":"assistant","content":[{"type":"tool_use","id":"c1","name":"T","input":{}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":"r"}]}]})"));
}

TEST(OpenAIClientRequest, DefaultMaxTokensNotRaisedWhenThinkingLeftOff) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","reasoning_effort":"medium","messages":[
              {"role":"user","content":"go"},
              {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"T","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"c1","content":"r"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[
              {"role":"user","content":[{"type":"text","text":"go"}]},
              {"role":"assistant","content":[{"type":"tool_use","id":"c1","name":"T","input":{}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":"r"}]}]})"));
}

TEST(OpenAIClientRequest, ThinkingLeftOffWithForcedToolChoice) {
    EXPECT_TRUE(Translates(with_tool(R"(,"max_tokens":4096,"reasoning_effort":"low","tool_choice":"required")"),
                           with_tool_out(R"(,"tool_choice":{"type":"any"})")));
}

TEST(OpenAIClientRequest, ThinkingLeftOffAfterAssistantPrefill) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","max_tokens":9000,"reasoning_effort":"low","messages":[
              {"role":"user","content":"Write JSON"},{"role":"assistant","content":"{"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":9000,"messages":[
              {"role":"user","content":[{"type":"text","text":"Write JSON"}]},
              {"role":"assistant","content":[{"type":"text","text":"{"}]}]})"));
}

TEST(OpenAIClientRequest, ReplayedReasoningContentNotSent) {
    EXPECT_TRUE(Translates(
        R"({"model":"m","messages":[
              {"role":"user","content":"q"},
              {"role":"assistant","content":"a","reasoning_content":"thought"},
              {"role":"user","content":"q2"}]})",
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[
              {"role":"user","content":[{"type":"text","text":"q"}]},
              {"role":"assistant","content":[{"type":"text","text":"a"}]},
              {"role":"user","content":[{"type":"text","text":"q2"}]}]})"));
}

// ---- errors reach the client as 400 invalid_request_error --------------------------

TEST(OpenAIClientRequest, TypedErrorBecomesOpenAI400) {
    OpenAIRequestCase c{R"({"model":"m","n":2,"messages":[{"role":"user","content":"go"}]})"};
    ASSERT_TRUE(c.parse_status.ok());
    auto r = c.translate(default_options());
    ASSERT_FALSE(r.ok());
    ErrorResponse resp = error_response(Dialect::kOpenAI, r.error());
    EXPECT_EQ(resp.status, 400);
    EXPECT_TRUE(JsonEq(resp.body, R"({"error":{"message":"n: only n=1 is supported by Anthropic providers",
        "type":"invalid_request_error","param":null,"code":null}})"));
}

TEST(OpenAIClientRequest, FacadeDispatchesToThisTranslator) {
    OpenAIRequestCase c{R"({"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]})"};
    ASSERT_TRUE(c.parse_status.ok());
    auto r = translate_request(c.parsed, Dialect::kAnthropic, default_options());
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_TRUE(JsonEq(r->body, R"({"model":"claude-sonnet-4-5","max_tokens":4096,
        "messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]})"));
    EXPECT_EQ(r->response.client_model, "gpt-4o");
}

}  // namespace
}  // namespace llmproxy
