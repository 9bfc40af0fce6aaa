// Anthropic Messages response (non-stream) -> OpenAI chat.completion: one
// named test per edge case, golden input and expected output.
#include <gtest/gtest.h>

#include <string>

#include "core/openai_from_anthropic.hpp"
#include "core/tests/openai_client_test_util.hpp"

namespace llmproxy {
namespace {

using testing::JsonEq;

constexpr std::int64_t kCreated = 1700000000;

ResponseContext ctx() {
    ResponseContext c;
    c.client_model = "gpt-4o";
    return c;
}

::testing::AssertionResult Converts(std::string_view body, std::string_view expected,
                                    const ResponseContext& c = ctx(), Usage* usage = nullptr) {
    auto r = detail::anthropic_to_openai_response_at(body, c, usage, kCreated);
    if (!r.ok()) return ::testing::AssertionFailure() << r.error().describe();
    return JsonEq(*r, expected);
}

std::string message(std::string_view content, std::string_view stop_reason = R"("end_turn")",
                    std::string_view usage = R"({"input_tokens":10,"output_tokens":5})") {
    return R"({"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":)" +
           std::string(content) + R"(,"stop_reason":)" + std::string(stop_reason) +
           R"(,"stop_sequence":null,"usage":)" + std::string(usage) + "}";
}

std::string completion(std::string_view message_fields, std::string_view finish,
                       std::string_view usage =
                           R"({"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":0}})") {
    return R"({"id":"chatcmpl-msg_01","object":"chat.completion","created":1700000000,"model":"gpt-4o",
               "choices":[{"index":0,"message":{"role":"assistant",)" +
           std::string(message_fields) + R"(,"refusal":null},"logprobs":null,"finish_reason":")" +
           std::string(finish) + R"("}],"usage":)" + std::string(usage) + "}";
}

TEST(OpenAIClientResponse, TextResponse) {
    EXPECT_TRUE(Converts(message(R"([{"type":"text","text":"Hello!"}])"),
                         completion(R"("content":"Hello!")", "stop")));
}

TEST(OpenAIClientResponse, SeveralTextBlocksConcatenated) {
    EXPECT_TRUE(Converts(message(R"([{"type":"text","text":"Part one. "},{"type":"text","text":"Part two.","citations":[]}])"),
                         completion(R"("content":"Part one. Part two.")", "stop")));
}

TEST(OpenAIClientResponse, EmptyContentGivesEmptyString) {
    EXPECT_TRUE(Converts(message("[]"), completion(R"("content":"")", "stop")));
}

TEST(OpenAIClientResponse, ToolUseOnlyHasNullContentAndToolCalls) {
    EXPECT_TRUE(Converts(
        message(R"([{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"city":"Oslo","days":[1,2]}}])",
                R"("tool_use")"),
        completion(R"("content":null,"tool_calls":[{"id":"toolu_01","type":"function",
                      "function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\",\"days\":[1,2]}"}}])",
                   "tool_calls")));
}

TEST(OpenAIClientResponse, TextAndParallelToolUse) {
    EXPECT_TRUE(Converts(
        message(R"([{"type":"text","text":"Checking both."},
                    {"type":"tool_use","id":"toolu_a","name":"Read","input":{"p":"a"}},
                    {"type":"tool_use","id":"toolu_b","name":"Read","input":{}}])",
                R"("tool_use")"),
        completion(R"("content":"Checking both.","tool_calls":[
                      {"id":"toolu_a","type":"function","function":{"name":"Read","arguments":"{\"p\":\"a\"}"}},
                      {"id":"toolu_b","type":"function","function":{"name":"Read","arguments":"{}"}}])",
                   "tool_calls")));
}

TEST(OpenAIClientResponse, ToolUseWithoutInputGetsEmptyArguments) {
    EXPECT_TRUE(Converts(
        message(R"([{"type":"tool_use","id":"toolu_01","name":"Now"}])", R"("tool_use")"),
        completion(R"("content":null,"tool_calls":[{"id":"toolu_01","type":"function","function":{"name":"Now","arguments":"{}"}}])",
                   "tool_calls")));
}

TEST(OpenAIClientResponse, ToolNamesMappedBackToClientNames) {
    ResponseContext c = ctx();
    c.tool_names.provider_to_client.emplace_back("mcp_x_1234abcd", "mcp.x");
    EXPECT_TRUE(Converts(
        message(R"([{"type":"tool_use","id":"toolu_01","name":"mcp_x_1234abcd","input":{}}])", R"("tool_use")"),
        completion(R"("content":null,"tool_calls":[{"id":"toolu_01","type":"function","function":{"name":"mcp.x","arguments":"{}"}}])",
                   "tool_calls"),
        c));
}

TEST(OpenAIClientResponse, ThinkingBecomesReasoningContentRedactedDropped) {
    EXPECT_TRUE(Converts(
        message(R"([{"type":"thinking","thinking":"Two plus two...","signature":"EqQB"},
                    {"type":"redacted_thinking","data":"EmwK"},
                    {"type":"text","text":"4"}])"),
        completion(R"("content":"4","reasoning_content":"Two plus two...")", "stop")));
}

TEST(OpenAIClientResponse, UsageIncludesCacheReadsAndWritesInPromptTokens) {
    Usage u;
    EXPECT_TRUE(Converts(
        message(R"([{"type":"text","text":"ok"}])", R"("end_turn")",
                R"({"input_tokens":50,"cache_creation_input_tokens":200,"cache_read_input_tokens":3000,"output_tokens":9})"),
        completion(R"("content":"ok")", "stop",
                   R"({"prompt_tokens":3250,"completion_tokens":9,"total_tokens":3259,
                       "prompt_tokens_details":{"cached_tokens":3000,"cache_creation_tokens":200}})"),
        ctx(), &u));
    EXPECT_TRUE(u.known);
    EXPECT_EQ(u.input_tokens, 50u);
    EXPECT_EQ(u.cache_read_input_tokens, 3000u);
    EXPECT_EQ(u.cache_creation_input_tokens, 200u);
    EXPECT_EQ(u.output_tokens, 9u);
}

TEST(OpenAIClientResponse, MissingUsageGivesZeros) {
    Usage u;
    u.known = true;
    EXPECT_TRUE(Converts(
        R"({"id":"msg_01","type":"message","role":"assistant","content":[{"type":"text","text":"x"}],"stop_reason":"end_turn"})",
        completion(R"("content":"x")", "stop",
                   R"({"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"prompt_tokens_details":{"cached_tokens":0}})"),
        ctx(), &u));
    EXPECT_FALSE(u.known);
}

// ---- stop_reason -> finish_reason, every value --------------------------------------

struct StopCase {
    const char* stop_reason;  // JSON literal
    const char* finish_reason;
    const char* name;
};

class OpenAIClientResponseStopReason : public ::testing::TestWithParam<StopCase> {};

TEST_P(OpenAIClientResponseStopReason, MapsToFinishReason) {
    EXPECT_TRUE(Converts(message(R"([{"type":"text","text":"x"}])", GetParam().stop_reason),
                         completion(R"("content":"x")", GetParam().finish_reason)));
}

INSTANTIATE_TEST_SUITE_P(
    EveryStopReason, OpenAIClientResponseStopReason,
    ::testing::Values(StopCase{R"("end_turn")", "stop", "end_turn"},
                      StopCase{R"("stop_sequence")", "stop", "stop_sequence"},
                      StopCase{R"("pause_turn")", "stop", "pause_turn"},
                      StopCase{R"("max_tokens")", "length", "max_tokens"},
                      StopCase{R"("model_context_window_exceeded")", "length", "model_context_window_exceeded"},
                      StopCase{R"("compaction")", "length", "compaction"},
                      StopCase{R"("tool_use")", "tool_calls", "tool_use"},
                      StopCase{R"("refusal")", "content_filter", "refusal"},
                      StopCase{"null", "stop", "null"},
                      StopCase{R"("some_future_reason")", "stop", "unknown"}),
    [](const ::testing::TestParamInfo<StopCase>& info) { return std::string(info.param.name); });

// ---- malformed provider responses are the provider's fault ----------------------------

::testing::AssertionResult FailsAsProviderError(std::string_view body) {
    auto r = detail::anthropic_to_openai_response_at(body, ctx(), nullptr, kCreated);
    if (r.ok()) return ::testing::AssertionFailure() << "accepted: " << *r;
    if (r.error().code != ErrorCode::kInternal) {
        return ::testing::AssertionFailure() << "wrong code: " << r.error().describe();
    }
    return ::testing::AssertionSuccess();
}

TEST(OpenAIClientResponse, MalformedJsonIsAProviderError) {
    EXPECT_TRUE(FailsAsProviderError(R"({"id":"msg_01","content":[)"));
    EXPECT_TRUE(FailsAsProviderError(""));
}

TEST(OpenAIClientResponse, WrongShapesAreProviderErrors) {
    EXPECT_TRUE(FailsAsProviderError("[1,2]"));
    EXPECT_TRUE(FailsAsProviderError(R"({"id":"msg_01","content":"text"})"));
    EXPECT_TRUE(FailsAsProviderError(R"({"id":"msg_01","content":[42]})"));
    EXPECT_TRUE(FailsAsProviderError(R"({"id":"msg_01","content":[{"type":"tool_use","name":"T","input":{}}]})"));
    EXPECT_TRUE(FailsAsProviderError(
        R"({"id":"msg_01","content":[{"type":"tool_use","id":"t1","name":"T","input":{}},{"type":"tool_use","id":"t1","name":"T","input":{}}]})"));
}

TEST(OpenAIClientResponse, ErrorObjectWithSuccessStatusIsReported) {
    auto r = detail::anthropic_to_openai_response_at(
        R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})", ctx(), nullptr, kCreated);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInternal);
    EXPECT_NE(r.error().describe().find("Overloaded"), std::string::npos);
}

TEST(OpenAIClientResponse, TooDeeplyNestedResponseRejected) {
    std::string body = R"({"content":[{"type":"tool_use","id":"t","name":"n","input":{"a":)" +
                       std::string(200, '[') + std::string(200, ']') + "}}]}";
    EXPECT_TRUE(FailsAsProviderError(body));
}

TEST(OpenAIClientResponse, FacadeDispatchesToThisTranslator) {
    Usage u;
    auto r = translate_response(Dialect::kAnthropic, Dialect::kOpenAI,
                                message(R"([{"type":"text","text":"hi"}])"), ctx(), &u);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    rapidjson::Document d;
    ASSERT_TRUE(parse_json(*r, JsonLimits{}, d).ok());
    EXPECT_STREQ(d["object"].GetString(), "chat.completion");
    EXPECT_STREQ(d["choices"][0]["message"]["content"].GetString(), "hi");
    EXPECT_EQ(u.output_tokens, 5u);
}

}  // namespace
}  // namespace llmproxy
