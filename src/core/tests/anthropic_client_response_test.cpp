// OpenAI response JSON -> Anthropic response JSON (non-stream).
#include <gtest/gtest.h>

#include "core/translate_internal.hpp"
#include "openai_client_test_util.hpp"  // JsonEq

namespace llmproxy {
namespace {

using testing::JsonEq;

ResponseContext response_ctx() {
    ResponseContext c;
    c.client_model = "claude-sonnet-4-5";
    return c;
}

std::string translate_ok(std::string_view body, const ResponseContext& c = response_ctx(), Usage* u = nullptr) {
    auto r = detail::openai_to_anthropic_response(body, c, u);
    if (!r.ok()) {
        ADD_FAILURE() << r.error().describe();
        return "{}";
    }
    return *r;
}

TEST(AnthropicClientResponse, GoldenTextResponse) {
    Usage u;
    std::string out = translate_ok(R"({"id":"chatcmpl-9","object":"chat.completion","model":"gpt-4.1",
      "choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"finish_reason":"stop"}],
      "usage":{"prompt_tokens":1200,"completion_tokens":5,"total_tokens":1205,"prompt_tokens_details":{"cached_tokens":1024}}})",
                                   response_ctx(), &u);
    EXPECT_TRUE(JsonEq(out, R"({"id":"msg_chatcmpl-9","type":"message","role":"assistant","model":"claude-sonnet-4-5",
      "content":[{"type":"text","text":"Hello!"}],"stop_reason":"end_turn","stop_sequence":null,
      "usage":{"input_tokens":176,"cache_creation_input_tokens":0,"cache_read_input_tokens":1024,"output_tokens":5}})"));
    EXPECT_TRUE(u.known);
    EXPECT_EQ(u.input_tokens, 176u);
}

TEST(AnthropicClientResponse, Item34_ContentNullWithToolCallsAndThinkingFirst) {
    ResponseContext c = response_ctx();
    c.tool_names.provider_to_client.emplace_back("mcp_x_1234abcd", "mcp.x");
    std::string out = translate_ok(R"({"id":"r1","choices":[{"index":0,"message":{"role":"assistant","content":null,
      "reasoning_content":"think first",
      "tool_calls":[{"id":"call_1","type":"function","function":{"name":"Bash","arguments":"{\"command\":\"ls\"}"}},
                    {"id":"call_2","type":"function","function":{"name":"mcp_x_1234abcd","arguments":""}}]},
      "finish_reason":"tool_calls"}]})", c);
    EXPECT_TRUE(JsonEq(out, R"({"id":"msg_r1","type":"message","role":"assistant","model":"claude-sonnet-4-5",
      "content":[{"type":"thinking","thinking":"think first"},
                 {"type":"tool_use","id":"call_1","name":"Bash","input":{"command":"ls"}},
                 {"type":"tool_use","id":"call_2","name":"mcp.x","input":{}}],
      "stop_reason":"tool_use","stop_sequence":null,
      "usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}})"));
}

TEST(AnthropicClientResponse, Item34_InvalidToolArgumentsNeverA500) {
    std::string out = translate_ok(R"({"choices":[{"message":{"content":"","tool_calls":[
      {"id":"c1","function":{"name":"Write","arguments":"{\"file_path\":\"/a\",\"content\":\"trunc"}}]},"finish_reason":"length"}]})");
    rapidjson::Document d;
    ASSERT_TRUE(parse_json(out, JsonLimits{}, d).ok());
    ASSERT_EQ(d["content"].Size(), 2u);
    EXPECT_STREQ(d["content"][0]["type"].GetString(), "tool_use");
    EXPECT_TRUE(d["content"][0]["input"].ObjectEmpty());
    EXPECT_STREQ(d["content"][1]["type"].GetString(), "text");
    EXPECT_NE(std::string(d["content"][1]["text"].GetString()).find("trunc"), std::string::npos);
    EXPECT_STREQ(d["stop_reason"].GetString(), "max_tokens");
}

TEST(AnthropicClientResponse, Item34_SeveralChoicesUseChoiceZero) {
    std::string out = translate_ok(R"({"choices":[{"index":1,"message":{"content":"B"},"finish_reason":"stop"},
                                                   {"index":0,"message":{"content":"A"},"finish_reason":"length"}]})");
    rapidjson::Document d;
    ASSERT_TRUE(parse_json(out, JsonLimits{}, d).ok());
    EXPECT_STREQ(d["content"][0]["text"].GetString(), "A");
    EXPECT_STREQ(d["stop_reason"].GetString(), "max_tokens");
}

TEST(AnthropicClientResponse, Item35_ToolIdsSanitisedAndUnique) {
    std::string out = translate_ok(R"({"id":"x","choices":[{"message":{"tool_calls":[
      {"id":"functions.Bash:0","function":{"name":"Bash","arguments":"{}"}},
      {"id":"functions.Bash:0","function":{"name":"Bash","arguments":"{}"}},
      {"function":{"name":"Read","arguments":"{}"}}]},"finish_reason":"tool_calls"}]})");
    rapidjson::Document d;
    ASSERT_TRUE(parse_json(out, JsonLimits{}, d).ok());
    std::string a = d["content"][0]["id"].GetString(), b = d["content"][1]["id"].GetString(),
                c = d["content"][2]["id"].GetString();
    EXPECT_EQ(a, "functions_Bash_0");
    EXPECT_NE(a, b);
    EXPECT_FALSE(c.empty());
    for (const std::string& id : {a, b, c}) {
        EXPECT_EQ(id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"), std::string::npos) << id;
    }
}

TEST(AnthropicClientResponse, Item33_FinishReasonsAndStopWithToolCalls) {
    struct Row { const char* finish; const char* stop; };
    for (Row row : {Row{"stop", "end_turn"}, Row{"length", "max_tokens"}, Row{"content_filter", "refusal"},
                    Row{"tool_calls", "tool_use"}, Row{"function_call", "tool_use"}, Row{"eos", "end_turn"}}) {
        std::string out = translate_ok(std::string(R"({"choices":[{"message":{"content":"x"},"finish_reason":")") +
                                       row.finish + "\"}]}");
        rapidjson::Document d;
        ASSERT_TRUE(parse_json(out, JsonLimits{}, d).ok());
        EXPECT_STREQ(d["stop_reason"].GetString(), row.stop) << row.finish;
    }
    std::string null_finish = translate_ok(R"({"choices":[{"message":{"content":"x"},"finish_reason":null}]})");
    EXPECT_NE(null_finish.find(R"("stop_reason":"end_turn")"), std::string::npos);
    std::string tool_stop = translate_ok(R"({"choices":[{"message":{"tool_calls":[{"id":"a","function":{"name":"A","arguments":"{}"}}]},"finish_reason":"stop"}]})");
    EXPECT_NE(tool_stop.find(R"("stop_reason":"tool_use")"), std::string::npos);
    auto err = detail::openai_to_anthropic_response(R"({"choices":[{"message":{"content":""},"finish_reason":"error"}]})",
                                                    response_ctx(), nullptr);
    EXPECT_FALSE(err.ok());
}

TEST(AnthropicClientResponse, Item18_ReasoningVariantsAndSignatures) {
    std::string a = translate_ok(R"({"choices":[{"message":{"content":"c","reasoning":"r"},"finish_reason":"stop"}]})");
    EXPECT_NE(a.find(R"({"type":"thinking","thinking":"r"})"), std::string::npos) << a;
    std::string b = translate_ok(R"({"choices":[{"message":{"content":"c","reasoning_details":[
        {"type":"reasoning.text","text":"step","signature":"sig"},{"type":"reasoning.encrypted","data":"blob"}]},"finish_reason":"stop"}]})");
    EXPECT_TRUE(JsonEq(b, R"({"id":"msg_gateway","type":"message","role":"assistant","model":"claude-sonnet-4-5",
      "content":[{"type":"thinking","thinking":"step","signature":"sig"},{"type":"redacted_thinking","data":"blob"},{"type":"text","text":"c"}],
      "stop_reason":"end_turn","stop_sequence":null,
      "usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}})"));
}

TEST(AnthropicClientResponse, RefusalBecomesTextWithRefusalStopReason) {
    std::string out = translate_ok(R"({"choices":[{"message":{"content":null,"refusal":"I can't."},"finish_reason":"stop"}]})");
    EXPECT_NE(out.find(R"({"type":"text","text":"I can't."})"), std::string::npos);
    EXPECT_NE(out.find(R"("stop_reason":"refusal")"), std::string::npos);
}

TEST(AnthropicClientResponse, Item26_DeepSeekCacheUsage) {
    Usage u;
    translate_ok(R"({"choices":[{"message":{"content":"x"},"finish_reason":"stop"}],
      "usage":{"prompt_tokens":900,"completion_tokens":7,"prompt_cache_hit_tokens":600,"prompt_cache_miss_tokens":300}})",
                 response_ctx(), &u);
    EXPECT_EQ(u.input_tokens, 300u);
    EXPECT_EQ(u.cache_read_input_tokens, 600u);
    EXPECT_EQ(u.output_tokens, 7u);
}

TEST(AnthropicClientResponse, BadProviderBodiesAreTypedErrors) {
    for (const char* body : {"", "not json", "[]", R"({"choices":[]})", R"({"choices":[{"message":"x"}]})",
                             R"({"error":{"message":"quota exceeded","type":"insufficient_quota"}})"}) {
        auto r = detail::openai_to_anthropic_response(body, response_ctx(), nullptr);
        ASSERT_FALSE(r.ok()) << body;
        EXPECT_FALSE(r.error().describe().empty());
    }
    auto r = detail::openai_to_anthropic_response(R"({"error":{"message":"quota exceeded"}})", response_ctx(), nullptr);
    EXPECT_NE(r.error().message.find("quota exceeded"), std::string::npos);
}

}  // namespace
}  // namespace llmproxy
