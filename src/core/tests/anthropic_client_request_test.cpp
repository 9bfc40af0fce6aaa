// Anthropic request -> OpenAI request (Anthropic client, OpenAI provider).
// Golden input and expected output per case; test names carry the checklist
// item of shared/notes/translation.md (b).
#include <gtest/gtest.h>

#include "core/mapping.hpp"
#include "core/translate_internal.hpp"
#include "openai_client_test_util.hpp"  // JsonEq
#include "stream_test_util.hpp"

namespace llmproxy {
namespace {

using testing::JsonEq;

TranslateOptions gpt_options() {
    TranslateOptions o;
    o.target_model = "gpt-4.1";
    return o;
}

// Keeps the body alive for the ParsedRequest's view.
struct AnthropicCase {
    std::string body;
    ParsedRequest parsed;
    Status parse_status;
    explicit AnthropicCase(std::string text) : body(std::move(text)) {
        parse_status = parse_request(Dialect::kAnthropic, body, JsonLimits{}, parsed);
    }
    Result<TranslatedRequest> translate(const TranslateOptions& o = gpt_options()) const {
        return detail::anthropic_to_openai_request(parsed, o);
    }
};

// Wraps `messages_json` in a minimal request.
std::string request_with(std::string_view messages_json, std::string_view extra = {}) {
    std::string r = R"({"model":"claude-sonnet-4-5","max_tokens":1024,"messages":)";
    r += messages_json;
    if (!extra.empty()) {
        r += ",";
        r += extra;
    }
    return r + "}";
}

// Translates and returns the output document (fails the test on error).
rapidjson::Document translate_ok(const std::string& body, const TranslateOptions& o = gpt_options()) {
    AnthropicCase c(body);
    EXPECT_TRUE(c.parse_status.ok()) << c.parse_status.error().describe();
    auto r = c.translate(o);
    rapidjson::Document d;
    if (!r.ok()) {
        ADD_FAILURE() << r.error().describe();
        return d;
    }
    EXPECT_TRUE(parse_json(r->body, JsonLimits{}, d, "translated").ok()) << r->body;
    return d;
}

std::string messages_of(const std::string& body, const TranslateOptions& o = gpt_options()) {
    rapidjson::Document d = translate_ok(body, o);
    if (!d.IsObject() || !d.HasMember("messages")) return "null";
    return json_to_string(d["messages"]);
}

Error translate_error(const std::string& body, const TranslateOptions& o = gpt_options()) {
    AnthropicCase c(body);
    if (!c.parse_status.ok()) return c.parse_status.error();
    auto r = c.translate(o);
    EXPECT_FALSE(r.ok()) << "expected an error, got " << (r.ok() ? r->body : "");
    return r.ok() ? Error{} : r.error();
}

TEST(AnthropicClientRequest, GoldenMinimalRequest) {
    AnthropicCase c(R"({"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"Hello"}]})");
    auto r = c.translate();
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_TRUE(JsonEq(r->body, R"({"model":"gpt-4.1","messages":[{"role":"user","content":"Hello"}],"max_tokens":256,"stream":false})"));
    EXPECT_EQ(r->response.client_model, "claude-sonnet-4-5");
    EXPECT_FALSE(r->response.stream);
}

TEST(AnthropicClientRequest, Item01_ToolResultBeforeTrailingText) {
    std::string msgs = R"([
      {"role":"user","content":"go"},
      {"role":"assistant","content":[{"type":"tool_use","id":"toolu_01","name":"Bash","input":{"command":"ls"}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":"ok"},
                                {"type":"text","text":"Now run the tests."}]}])";
    EXPECT_TRUE(JsonEq(messages_of(request_with(msgs)), R"([
      {"role":"user","content":"go"},
      {"role":"assistant","content":null,"tool_calls":[{"id":"toolu_01","type":"function","function":{"name":"Bash","arguments":"{\"command\":\"ls\"}"}}]},
      {"role":"tool","tool_call_id":"toolu_01","content":"ok"},
      {"role":"user","content":"Now run the tests."}])"));
}

TEST(AnthropicClientRequest, Item02_EveryToolCallAnsweredInCallOrder) {
    std::string msgs = R"([
      {"role":"user","content":"go"},
      {"role":"assistant","content":[{"type":"tool_use","id":"a","name":"Read","input":{}},
                                     {"type":"tool_use","id":"b","name":"Read","input":{}},
                                     {"type":"tool_use","id":"c","name":"Read","input":{}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"c","content":"C"},
                                {"type":"tool_result","tool_use_id":"a","content":"A"}]}])";
    EXPECT_TRUE(JsonEq(messages_of(request_with(msgs)), R"([
      {"role":"user","content":"go"},
      {"role":"assistant","content":null,"tool_calls":[
         {"id":"a","type":"function","function":{"name":"Read","arguments":"{}"}},
         {"id":"b","type":"function","function":{"name":"Read","arguments":"{}"}},
         {"id":"c","type":"function","function":{"name":"Read","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"a","content":"A"},
      {"role":"tool","tool_call_id":"b","content":"(no result\u0029"},
      {"role":"tool","tool_call_id":"c","content":"C"}])"));
    // An assistant turn that is not followed by results at all.
    std::string unanswered = R"([
      {"role":"user","content":"go"},
      {"role":"assistant","content":[{"type":"tool_use","id":"a","name":"Read","input":{}}]},
      {"role":"assistant","content":"never mind"}])";
    EXPECT_TRUE(JsonEq(messages_of(request_with(unanswered)), R"([
      {"role":"user","content":"go"},
      {"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"Read","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"a","content":"(no result\u0029"},
      {"role":"assistant","content":"never mind"}])"));
}

TEST(AnthropicClientRequest, Item03_ToolResultVariantsIsErrorAndImagesMovedToUserMessage) {
    std::string msgs = R"([
      {"role":"user","content":"go"},
      {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{}},
                                     {"type":"tool_use","id":"t2","name":"Bash","input":{}},
                                     {"type":"tool_use","id":"t3","name":"Bash","input":{}}]},
      {"role":"user","content":[
        {"type":"tool_result","tool_use_id":"t1","is_error":true,
         "content":[{"type":"text","text":"exit code 1"},
                    {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBOR"}}]},
        {"type":"tool_result","tool_use_id":"t2"},
        {"type":"tool_result","tool_use_id":"t3","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}])";
    EXPECT_TRUE(JsonEq(messages_of(request_with(msgs)), R"([
      {"role":"user","content":"go"},
      {"role":"assistant","content":null,"tool_calls":[
         {"id":"t1","type":"function","function":{"name":"Bash","arguments":"{}"}},
         {"id":"t2","type":"function","function":{"name":"Bash","arguments":"{}"}},
         {"id":"t3","type":"function","function":{"name":"Bash","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"t1","content":"[error] exit code 1\n[image 1 attached in the next user message]"},
      {"role":"tool","tool_call_id":"t2","content":""},
      {"role":"tool","tool_call_id":"t3","content":"a\nb"},
      {"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBOR"}}]}])"));
}

TEST(AnthropicClientRequest, Item04_AssistantTextToolUseAndThinking) {
    std::string msgs = R"([
      {"role":"user","content":"list"},
      {"role":"assistant","content":[
        {"type":"thinking","thinking":"need to list files","signature":"EqQB"},
        {"type":"text","text":"Let me look."},
        {"type":"tool_use","id":"toolu_03","name":"Bash","input":{"command":"ls"}}]}])";
    TranslateOptions o = gpt_options();
    o.quirks.replay_reasoning = true;
    EXPECT_TRUE(JsonEq(messages_of(request_with(msgs), o), R"([
      {"role":"user","content":"list"},
      {"role":"assistant","content":"Let me look.","reasoning_content":"need to list files",
       "tool_calls":[{"id":"toolu_03","type":"function","function":{"name":"Bash","arguments":"{\"command\":\"ls\"}"}}]}])"));
    // Without text: content null or "" per quirk; thinking not replayed by default.
    std::string no_text = R"([{"role":"user","content":"x"},{"role":"assistant","content":[
        {"type":"thinking","thinking":"t","signature":"s"},{"type":"tool_use","id":"a","name":"B","input":{}}]}])";
    EXPECT_TRUE(JsonEq(messages_of(request_with(no_text)), R"([{"role":"user","content":"x"},
      {"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"B","arguments":"{}"}}]}])"));
    TranslateOptions empty_content = gpt_options();
    empty_content.quirks.null_content_with_tool_calls = false;
    EXPECT_TRUE(JsonEq(messages_of(request_with(no_text), empty_content), R"([{"role":"user","content":"x"},
      {"role":"assistant","content":"","tool_calls":[{"id":"a","type":"function","function":{"name":"B","arguments":"{}"}}]}])"));
}

TEST(AnthropicClientRequest, Item05_ReasoningReplayFieldPerProvider) {
    std::string msgs = R"([{"role":"user","content":"x"},{"role":"assistant","content":[
        {"type":"thinking","thinking":"plan","signature":"sig"},{"type":"redacted_thinking","data":"enc"},
        {"type":"tool_use","id":"a","name":"B","input":{}}]}])";
    TranslateOptions o = gpt_options();
    o.quirks.replay_reasoning = true;
    o.quirks.reasoning_field = "reasoning";
    std::string out = messages_of(request_with(msgs), o);
    EXPECT_NE(out.find(R"("reasoning":"plan")"), std::string::npos) << out;
    EXPECT_EQ(out.find("reasoning_content"), std::string::npos);
    EXPECT_EQ(out.find("enc"), std::string::npos);  // redacted_thinking never leaves for non-Anthropic providers
    EXPECT_EQ(out.find("sig"), std::string::npos);  // nor signatures
    // DeepSeek needs the field on a tool-calling turn even when no thinking was recorded.
    std::string no_thinking = R"([{"role":"user","content":"x"},{"role":"assistant","content":[
        {"type":"tool_use","id":"a","name":"B","input":{}}]}])";
    o.quirks.reasoning_field = "reasoning_content";
    EXPECT_NE(messages_of(request_with(no_thinking), o).find(R"("reasoning_content":"")"), std::string::npos);
}

TEST(AnthropicClientRequest, Item06_SignaturesNeverInventedOrForwarded) {
    std::string msgs = R"([{"role":"user","content":"x"},{"role":"assistant","content":[
        {"type":"thinking","thinking":"t","signature":"EqQBsecret"},{"type":"text","text":"hi"}]}])";
    AnthropicCase c(request_with(msgs));
    auto r = c.translate();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->body.find("signature"), std::string::npos);
    EXPECT_EQ(r->body.find("EqQBsecret"), std::string::npos);
}

TEST(AnthropicClientRequest, Item07_SystemBlocksFlattenedBillingLineRemovedCacheControlDropped) {
    std::string body = request_with(R"([{"role":"user","content":"hi"}])", R"("system":[
      {"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.117.48f; cc_entrypoint=cli; cch=71fea;"},
      {"type":"text","text":"You are Claude Code, ...","cache_control":{"type":"ephemeral"}},
      {"type":"text","text":"Second block"}])");
    EXPECT_TRUE(JsonEq(messages_of(body), R"([
      {"role":"system","content":"You are Claude Code, ...\n\nSecond block"},
      {"role":"user","content":"hi"}])"));
    // The billing line as the first line of a larger block.
    std::string inline_line = request_with(R"([{"role":"user","content":"hi"}])",
        R"("system":"x-anthropic-billing-header: cc_version=1; cch=abc;\nYou are helpful.")");
    EXPECT_TRUE(JsonEq(messages_of(inline_line), R"([{"role":"system","content":"You are helpful."},{"role":"user","content":"hi"}])"));
    // Array form with cache_control for providers that take it.
    TranslateOptions o = gpt_options();
    o.quirks.system_as_string = false;
    o.quirks.pass_cache_control = true;
    EXPECT_TRUE(JsonEq(messages_of(body, o), R"([
      {"role":"system","content":[{"type":"text","text":"You are Claude Code, ...","cache_control":{"type":"ephemeral"}},
                                  {"type":"text","text":"Second block"}]},
      {"role":"user","content":"hi"}])"));
    // Anthropic-native endpoints keep the line.
    o = gpt_options();
    o.provider_is_anthropic_native = true;
    EXPECT_NE(messages_of(body, o).find("x-anthropic-billing-header"), std::string::npos);
}

TEST(AnthropicClientRequest, Item08_MidConversationSystemMessagesKeptInAStrictOrder) {
    std::string msgs = R"([
      {"role":"user","content":"hi"},
      {"role":"assistant","content":[{"type":"tool_use","id":"a","name":"Read","input":{}}]},
      {"role":"system","content":"Deferred tools: X"},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"done"},{"type":"text","text":"next"}]},
      {"role":"system","content":[{"type":"text","text":"Plain reminder"}]}])";
    // Default: user turns, after the tool results the calls need first.
    EXPECT_TRUE(JsonEq(messages_of(request_with(msgs)), R"([
      {"role":"user","content":"hi"},
      {"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"Read","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"a","content":"done"},
      {"role":"user","content":"<system-reminder>\nDeferred tools: X\n</system-reminder>"},
      {"role":"user","content":"next"},
      {"role":"user","content":"<system-reminder>\nPlain reminder\n</system-reminder>"}])"));
    TranslateOptions o = gpt_options();
    o.quirks.inline_system_messages = true;
    std::string out = messages_of(request_with(msgs), o);
    EXPECT_NE(out.find(R"({"role":"system","content":"Deferred tools: X"})"), std::string::npos) << out;
    // Unknown roles are refused with the field named.
    Error e = translate_error(request_with(R"([{"role":"critic","content":"x"}])"));
    EXPECT_EQ(e.field, "messages[0].role");
}

TEST(AnthropicClientRequest, Item09_ImagesBase64AndUrl) {
    std::string msgs = R"([{"role":"user","content":[
      {"type":"text","text":"What is this?"},
      {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQ"}},
      {"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}]}])";
    EXPECT_TRUE(JsonEq(messages_of(request_with(msgs)), R"([{"role":"user","content":[
      {"type":"text","text":"What is this?"},
      {"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4AAQ"}},
      {"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}])"));
    // PDFs become file parts; unsupported sources are refused explicitly.
    std::string pdf = R"([{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBER"}}]}])";
    EXPECT_TRUE(JsonEq(messages_of(request_with(pdf)), R"([{"role":"user","content":[
      {"type":"file","file":{"filename":"document.pdf","file_data":"data:application/pdf;base64,JVBER"}}]}])"));
    // A PDF read by a tool moves to the following user message like images.
    std::string tool_pdf = R"([{"role":"user","content":"x"},
      {"role":"assistant","content":[{"type":"tool_use","id":"r","name":"Read","input":{}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"r","content":[
        {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBER"},"title":"spec.pdf"}]}]}])";
    std::string out = messages_of(request_with(tool_pdf));
    EXPECT_NE(out.find(R"({"role":"tool","tool_call_id":"r","content":"[document 1 attached in the next user message]"})"), std::string::npos) << out;
    EXPECT_NE(out.find(R"({"type":"file","file":{"filename":"spec.pdf","file_data":"data:application/pdf;base64,JVBER"}})"), std::string::npos) << out;
    Error e = translate_error(request_with(R"([{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}])"));
    EXPECT_EQ(e.field, "messages[0].content[0].source.type");
}

TEST(AnthropicClientRequest, Item10_ToolDefinitionsNamesSchemasAndServerTools) {
    std::string body = request_with(R"([{"role":"user","content":"x"},
      {"role":"assistant","content":[{"type":"tool_use","id":"a","name":"mcp.server/do thing","input":{"k":1}}]}])",
      R"("tools":[
        {"name":"Bash","description":"Run","input_schema":{"type":"object","properties":{"command":{"type":"string"}},"required":["command"]},"cache_control":{"type":"ephemeral"}},
        {"name":"mcp.server/do thing","input_schema":{}},
        {"type":"custom","name":"NoSchema","description":"d"}],
      "tool_choice":{"type":"tool","name":"mcp.server/do thing"})");
    AnthropicCase c(body);
    auto r = c.translate();
    ASSERT_TRUE(r.ok()) << r.error().describe();
    rapidjson::Document d;
    ASSERT_TRUE(parse_json(r->body, JsonLimits{}, d).ok());
    std::string mapped(r->response.tool_names.provider_to_client.at(0).first);
    EXPECT_TRUE(is_valid_provider_tool_name(mapped));
    EXPECT_EQ(r->response.tool_names.to_client(mapped), "mcp.server/do thing");
    std::string tools = json_to_string(d["tools"]);
    EXPECT_TRUE(JsonEq(tools, R"([
      {"type":"function","function":{"name":"Bash","description":"Run","parameters":{"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}}},
      {"type":"function","function":{"name":")" + mapped + R"(","parameters":{"type":"object","properties":{}}}},
      {"type":"function","function":{"name":"NoSchema","description":"d","parameters":{"type":"object","properties":{}}}}])"));
    // The same rewritten name in history and tool_choice.
    EXPECT_EQ(std::string(d["messages"][1]["tool_calls"][0]["function"]["name"].GetString()), mapped);
    EXPECT_EQ(std::string(d["tool_choice"]["function"]["name"].GetString()), mapped);
    // Server tools: web_search refused by default, mapped with the quirk; others refused.
    std::string ws = request_with(R"([{"role":"user","content":"x"}])",
                                  R"("tools":[{"type":"web_search_20250305","name":"web_search","max_uses":5}])");
    EXPECT_EQ(translate_error(ws).field, "tools[0].type");
    TranslateOptions o = gpt_options();
    o.quirks.web_search_options = true;
    rapidjson::Document wsd = translate_ok(ws, o);
    EXPECT_TRUE(wsd.HasMember("web_search_options"));
    EXPECT_FALSE(wsd.HasMember("tools"));
    EXPECT_EQ(translate_error(request_with(R"([{"role":"user","content":"x"}])",
                                           R"("tools":[{"type":"bash_20250124","name":"bash"}])")).field,
              "tools[0].type");
}

TEST(AnthropicClientRequest, Item11_ToolChoiceAndParallelToolUse) {
    const char* tools = R"("tools":[{"name":"A","input_schema":{"type":"object"}}])";
    struct Row { const char* choice; const char* want; };
    for (Row row : {Row{R"({"type":"auto"})", R"("auto")"}, Row{R"({"type":"any"})", R"("required")"},
                    Row{R"({"type":"none"})", R"("none")"},
                    Row{R"({"type":"tool","name":"A"})", R"({"type":"function","function":{"name":"A"}})"}}) {
        rapidjson::Document d = translate_ok(request_with(R"([{"role":"user","content":"x"}])",
                                                          std::string(tools) + R"(,"tool_choice":)" + row.choice));
        EXPECT_TRUE(JsonEq(json_to_string(d["tool_choice"]), row.want)) << row.choice;
        EXPECT_FALSE(d.HasMember("parallel_tool_calls"));
    }
    rapidjson::Document d = translate_ok(request_with(R"([{"role":"user","content":"x"}])",
        std::string(tools) + R"(,"tool_choice":{"type":"auto","disable_parallel_tool_use":true})"));
    EXPECT_FALSE(d["parallel_tool_calls"].GetBool());
    // No tools left: tool_choice dropped (OpenAI rejects it alone).
    rapidjson::Document none = translate_ok(request_with(R"([{"role":"user","content":"x"}])", R"("tool_choice":{"type":"any"})"));
    EXPECT_FALSE(none.HasMember("tool_choice"));
    EXPECT_EQ(translate_error(request_with(R"([{"role":"user","content":"x"}])", R"("tool_choice":{"type":"maybe"})")).field,
              "tool_choice.type");
}

TEST(AnthropicClientRequest, Item12_MaxTokensClampedAndFieldNamePerProvider) {
    std::string body = R"({"model":"m","max_tokens":32000,"messages":[{"role":"user","content":"x"}]})";
    TranslateOptions o = gpt_options();
    o.max_tokens_cap = 8192;
    EXPECT_EQ(translate_ok(body, o)["max_tokens"].GetUint64(), 8192u);
    o.max_tokens_cap = 64000;
    EXPECT_EQ(translate_ok(body, o)["max_tokens"].GetUint64(), 32000u);
    o.quirks.max_tokens_field = "max_completion_tokens";
    rapidjson::Document d = translate_ok(body, o);
    EXPECT_EQ(d["max_completion_tokens"].GetUint64(), 32000u);
    EXPECT_FALSE(d.HasMember("max_tokens"));
    EXPECT_EQ(translate_error(R"({"model":"m","max_tokens":"many","messages":[]})").field, "max_tokens");
    EXPECT_EQ(translate_error(R"({"model":"m","max_tokens":-5,"messages":[]})").field, "max_tokens");
}

TEST(AnthropicClientRequest, Item13_ThinkingConfigPerProvider) {
    std::string enabled = request_with(R"([{"role":"user","content":"x"}])", R"("thinking":{"type":"enabled","budget_tokens":10000})");
    std::string adaptive = request_with(R"([{"role":"user","content":"x"}])", R"("thinking":{"type":"adaptive"},"output_config":{"effort":"low"})");
    std::string disabled = request_with(R"([{"role":"user","content":"x"}])", R"("thinking":{"type":"disabled"})");
    // Default: dropped (non-reasoning models fail when it is forwarded).
    rapidjson::Document d = translate_ok(enabled);
    EXPECT_FALSE(d.HasMember("reasoning_effort"));
    EXPECT_FALSE(d.HasMember("thinking"));
    TranslateOptions o = gpt_options();
    o.quirks.send_reasoning_effort = true;
    EXPECT_STREQ(translate_ok(enabled, o)["reasoning_effort"].GetString(), "high");
    EXPECT_STREQ(translate_ok(adaptive, o)["reasoning_effort"].GetString(), "low");
    EXPECT_FALSE(translate_ok(disabled, o).HasMember("reasoning_effort"));
    o = gpt_options();
    o.quirks.send_thinking_object = true;
    EXPECT_TRUE(JsonEq(json_to_string(translate_ok(enabled, o)["thinking"]), R"({"type":"enabled"})"));
    EXPECT_TRUE(JsonEq(json_to_string(translate_ok(disabled, o)["thinking"]), R"({"type":"disabled"})"));
    o = gpt_options();
    o.quirks.send_enable_thinking = true;
    rapidjson::Document q = translate_ok(enabled, o);
    EXPECT_TRUE(q["enable_thinking"].GetBool());
    EXPECT_EQ(q["thinking_budget"].GetUint64(), 10000u);
    EXPECT_EQ(translate_error(request_with(R"([{"role":"user","content":"x"}])", R"("thinking":{"type":"enabled"})")).field,
              "thinking.budget_tokens");
}

TEST(AnthropicClientRequest, Item14_MetadataUserId) {
    std::string body = request_with(R"([{"role":"user","content":"x"}])", R"("metadata":{"user_id":"user_ab_account_cd_session_ef"})");
    EXPECT_STREQ(translate_ok(body)["user"].GetString(), "user_ab_account_cd_session_ef");
    TranslateOptions o = gpt_options();
    o.quirks.send_user = false;
    EXPECT_FALSE(translate_ok(body, o).HasMember("user"));
    EXPECT_EQ(translate_error(request_with(R"([{"role":"user","content":"x"}])", R"("metadata":{"user_id":5})")).field,
              "metadata.user_id");
}

TEST(AnthropicClientRequest, Item15_StopSequencesTemperatureTopPTopK) {
    std::string body = request_with(R"([{"role":"user","content":"x"}])",
                                    R"("stop_sequences":["END","###"],"temperature":0.2,"top_p":0.9,"top_k":40)");
    rapidjson::Document d = translate_ok(body);
    EXPECT_TRUE(JsonEq(json_to_string(d["stop"]), R"(["END","###"])"));
    EXPECT_DOUBLE_EQ(d["temperature"].GetDouble(), 0.2);
    EXPECT_DOUBLE_EQ(d["top_p"].GetDouble(), 0.9);
    EXPECT_FALSE(d.HasMember("top_k"));
    TranslateOptions o = gpt_options();
    o.quirks.send_top_k = true;
    EXPECT_EQ(translate_ok(body, o)["top_k"].GetUint64(), 40u);
    Error e = translate_error(request_with(R"([{"role":"user","content":"x"}])", R"("stop_sequences":["a","b","c","d","e"])"));
    EXPECT_EQ(e.field, "stop_sequences");
    EXPECT_EQ(translate_error(request_with(R"([{"role":"user","content":"x"}])", R"("temperature":"hot")")).field, "temperature");
}

TEST(AnthropicClientRequest, Item16_UnknownTopLevelFieldsNeverForwarded) {
    std::string body = request_with(R"([{"role":"user","content":"x"}])",
        R"("context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]},"output_config":{"effort":"high"},"container":"c","mcp_servers":[],"betas":["x"],"service_tier":"auto")");
    AnthropicCase c(body);
    auto r = c.translate();
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(JsonEq(r->body, R"({"model":"gpt-4.1","messages":[{"role":"user","content":"x"}],"max_tokens":1024,"stream":false})"));
}

TEST(AnthropicClientRequest, StreamingSetsStreamOptions) {
    std::string body = request_with(R"([{"role":"user","content":"x"}])", R"("stream":true)");
    AnthropicCase c(body);
    auto r = c.translate();
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->response.stream);
    EXPECT_TRUE(JsonEq(r->body, R"({"model":"gpt-4.1","messages":[{"role":"user","content":"x"}],"max_tokens":1024,"stream":true,"stream_options":{"include_usage":true}})"));
    TranslateOptions o = gpt_options();
    o.quirks.stream_include_usage = false;
    EXPECT_FALSE(translate_ok(body, o).HasMember("stream_options"));
}

TEST(AnthropicClientRequest, UserTextBlocksFlattenedUnlessCacheControlPassed) {
    std::string msgs = R"([{"role":"user","content":[
      {"type":"text","text":"<system-reminder>\nctx\n</system-reminder>"},
      {"type":"text","text":"question","cache_control":{"type":"ephemeral"}}]}])";
    EXPECT_TRUE(JsonEq(messages_of(request_with(msgs)),
                       R"([{"role":"user","content":"<system-reminder>\nctx\n</system-reminder>\nquestion"}])"));
    TranslateOptions o = gpt_options();
    o.quirks.pass_cache_control = true;
    EXPECT_TRUE(JsonEq(messages_of(request_with(msgs), o), R"([{"role":"user","content":[
      {"type":"text","text":"<system-reminder>\nctx\n</system-reminder>"},
      {"type":"text","text":"question","cache_control":{"type":"ephemeral"}}]}])"));
}

TEST(AnthropicClientRequest, OrphanToolResultStaysVisibleAsText) {
    std::string msgs = R"([{"role":"user","content":[{"type":"tool_result","tool_use_id":"gone","content":"42"}]}])";
    EXPECT_TRUE(JsonEq(messages_of(request_with(msgs)), R"([{"role":"user","content":"[tool result for gone]\n42"}])"));
}

TEST(AnthropicClientRequest, RequestStringsKeepTheirLiteralsAndMeaning) {
    // Text the request carries through unchanged is copied as the client
    // wrote it (escapes included); text that is rebuilt is escaped afresh.
    // Long enough (64 bytes) to be copied rather than escaped again.
    const std::string lit = R"("a\"b\\c\nd \u00e9 \/ \ud83d\ude00, then plain text long enough to pass the sixty-four byte mark")";
    const std::string dec = "a\"b\\c\nd \xC3\xA9 / \xF0\x9F\x98\x80, then plain text long enough to pass the sixty-four byte mark";
    std::string body = R"({"model":"claude-sonnet-4-5","max_tokens":10,)"
        R"("system":[{"type":"text","text":)" + lit + R"(}],)"
        R"("tools":[{"name":"t","description":)" + lit + R"(,"input_schema":{"type":"object","properties":{"p":{"type":"string","description":)" + lit + R"(}}}}],)"
        R"("messages":[{"role":"user","content":)" + lit + R"(},)"
        R"({"role":"assistant","content":[{"type":"tool_use","id":"c1","name":"t","input":{}},{"type":"tool_use","id":"c2","name":"t","input":{}}]},)"
        R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":)" + lit + R"(},)"
        R"({"type":"tool_result","tool_use_id":"c2","content":[{"type":"text","text":)" + lit + R"(}]},)"
        R"({"type":"text","text":)" + lit + R"(}]}]})";
    AnthropicCase c(body);
    ASSERT_TRUE(c.parse_status.ok()) << c.parse_status.error().describe();
    auto r = c.translate();
    ASSERT_TRUE(r.ok()) << r.error().describe();
    // system, description, schema description, user string, two tool
    // results, user text block: seven verbatim copies.
    std::size_t copies = 0;
    for (std::size_t at = r->body.find(lit); at != std::string::npos; at = r->body.find(lit, at + 1)) ++copies;
    EXPECT_EQ(copies, 7u) << r->body;
    rapidjson::Document d;
    ASSERT_TRUE(parse_json(r->body, JsonLimits{}, d).ok()) << r->body;
    EXPECT_EQ(std::string(d["messages"][0]["content"].GetString()), dec);
    EXPECT_EQ(std::string(d["messages"][3]["content"].GetString()), dec);
    EXPECT_EQ(std::string(d["messages"][4]["content"].GetString()), dec);
    EXPECT_EQ(std::string(d["tools"][0]["function"]["description"].GetString()), dec);

    // Joined texts (system blocks, user text parts) keep each literal's
    // content between one pair of quotes; a rebuilt text is escaped.
    std::string joined = R"({"model":"m","max_tokens":1,"system":[{"type":"text","text":"x-anthropic-billing-header: cc=1\ntab\there"},{"type":"text","text":)" + lit +
                         R"(}],"messages":[{"role":"user","content":[{"type":"text","text":""},{"type":"text","text":)" + lit + R"(},{"type":"text","text":"b\u0041"}]}]})";
    AnthropicCase j(joined);
    ASSERT_TRUE(j.parse_status.ok());
    auto jr = j.translate();
    ASSERT_TRUE(jr.ok()) << jr.error().describe();
    std::string content = lit.substr(1, lit.size() - 2);
    EXPECT_NE(jr->body.find(R"("tab\there\n\n)" + content + R"(")"), std::string::npos) << jr->body;
    EXPECT_NE(jr->body.find("\"" + content + R"(\nb\u0041")"), std::string::npos) << jr->body;
    rapidjson::Document jd;
    ASSERT_TRUE(parse_json(jr->body, JsonLimits{}, jd).ok()) << jr->body;
    EXPECT_EQ(std::string(jd["messages"][0]["content"].GetString()), "tab\there\n\n" + dec);
    // The empty first part adds no separator.
    EXPECT_EQ(std::string(jd["messages"][1]["content"].GetString()), dec + "\nbA");

    // A system text that loses its billing line is rebuilt and escaped.
    std::string billed = R"({"model":"m","max_tokens":1,"system":"x-anthropic-billing-header: cc=1\nkeep \"this\"","messages":[{"role":"user","content":"hi"}]})";
    rapidjson::Document b = translate_ok(billed);
    ASSERT_TRUE(b.IsObject());
    EXPECT_TRUE(JsonEq(json_to_string(b["messages"][0]), R"({"role":"system","content":[{"type":"text","text":"keep \"this\""}]})") ||
                JsonEq(json_to_string(b["messages"][0]), R"({"role":"system","content":"keep \"this\""})"))
        << json_to_string(b["messages"][0]);
}

TEST(AnthropicClientRequest, ToolSchemaContainersAreCopiedAsWritten) {
    // The schema's containers go out as the client wrote them (spacing,
    // number forms, escapes); the wrapper the translator adds ("type" here)
    // is its own. Values are unchanged.
    const std::string props = R"({ "path" : {"type":"string", "description":"a \"quoted\"\npath"},
      "depth": {"type":"integer","maximum":1.50E1, "enum":[1, 2 ,3]} })";
    const std::string required = R"([ "path" ])";
    std::string body = R"({"model":"claude-sonnet-4-5","max_tokens":10,"tools":[{"name":"read","input_schema":)"
                       R"({"properties":)" + props + R"(,"required":)" + required + R"(}}],)"
                       R"("messages":[{"role":"user","content":"hi"}]})";
    AnthropicCase c(body);
    ASSERT_TRUE(c.parse_status.ok()) << c.parse_status.error().describe();
    auto r = c.translate();
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_NE(r->body.find("\"properties\":" + props), std::string::npos) << r->body;
    EXPECT_NE(r->body.find("\"required\":" + required), std::string::npos) << r->body;
    rapidjson::Document out;
    ASSERT_TRUE(parse_json(r->body, JsonLimits{}, out).ok()) << r->body;
    const rapidjson::Value& params = out["tools"][0]["function"]["parameters"];
    EXPECT_TRUE(JsonEq(json_to_string(params),
                       R"({"type":"object","properties":{"path":{"type":"string","description":"a \"quoted\"\npath"},)"
                       R"("depth":{"type":"integer","maximum":15.0,"enum":[1,2,3]}},"required":["path"]})"))
        << json_to_string(params);
}

TEST(AnthropicClientRequest, WrongTypedInputIsATypedErrorNamingTheField) {
    struct Row { const char* body; const char* field; };
    for (Row row : {
             Row{R"({"model":"m","max_tokens":1,"messages":[5]})", "messages[0]"},
             Row{R"({"model":"m","max_tokens":1,"messages":[{"role":"user"}]})", "messages[0].content"},
             Row{R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":7}]})", "messages[0].content"},
             Row{R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text"}]}]})", "messages[0].content[0].text"},
             Row{R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"video"}]}]})", "messages[0].content[0].type"},
             Row{R"({"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"","name":"x"}]}]})", "messages[0].content[0].id"},
             Row{R"({"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"i","name":"x","input":[]}]}]})", "messages[0].content[0].input"},
             Row{R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"i","is_error":"yes"}]}]})", "messages[0].content[0].is_error"},
             Row{R"({"model":"m","max_tokens":1,"messages":[],"system":5})", "system"},
             Row{R"({"model":"m","max_tokens":1,"messages":[],"system":[{"type":"image"}]})", "system[0].type"},
             Row{R"({"model":"m","max_tokens":1,"messages":[],"tools":{}})", "tools"},
             Row{R"({"model":"m","max_tokens":1,"messages":[],"tools":[{"name":"a","input_schema":"x"}]})", "tools[0].input_schema"},
             Row{R"({"model":"m","max_tokens":1,"messages":[],"stream":"yes"})", "stream"},
             // Deeper and later positions: each level of the path, indexes past 0.
             Row{R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"a"},{"role":"user","content":[{"type":"text","text":"b"},{"type":"tool_result","tool_use_id":"i","content":[{"type":"text","text":"c"},{"type":"audio"}]}]}]})", "messages[1].content[1].content[1].type"},
             Row{R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image","source":{"type":"base64","data":"x"}}]}]})", "messages[0].content[1].source.media_type"},
             Row{R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"a"},{"role":"system","content":[{"type":"text","text":"a"},{"type":"image"}]}]})", "messages[1].content[1]"},
             Row{R"({"model":"m","max_tokens":1,"messages":[],"system":[{"type":"text","text":"a"},{"type":"text","text":3}]})", "system[1].text"},
             Row{R"({"model":"m","max_tokens":1,"messages":[],"tools":[{"name":"a"},{"description":"d"}]})", "tools[1].name"},
         }) {
        Error e = translate_error(row.body);
        EXPECT_EQ(e.code, ErrorCode::kInvalidRequest) << row.body;
        EXPECT_EQ(e.field, row.field) << row.body << " -> " << e.describe();
        EXPECT_FALSE(e.message.empty());
    }
}

TEST(AnthropicClientRequest, ClaudeCodeFixtureTranslates) {
    std::string body = testing::read_test_data("claude_code_request.json");
    ASSERT_GT(body.size(), 45000u);
    TranslateOptions o = gpt_options();
    o.quirks.replay_reasoning = true;
    o.max_tokens_cap = 16384;
    rapidjson::Document d = translate_ok(body, o);
    ASSERT_TRUE(d.IsObject());
    EXPECT_EQ(d["tools"].Size(), 12u);
    EXPECT_EQ(d["max_tokens"].GetUint64(), 16384u);
    EXPECT_FALSE(d.HasMember("context_management"));
    EXPECT_FALSE(d.HasMember("thinking"));
    const auto& msgs = d["messages"];
    EXPECT_STREQ(msgs[0]["role"].GetString(), "system");
    std::string all = json_to_string(d);
    EXPECT_EQ(all.find("x-anthropic-billing-header"), std::string::npos);
    EXPECT_EQ(all.find("cache_control"), std::string::npos);
    EXPECT_EQ(all.find("signature"), std::string::npos);
    // Only the first message is a system message; every tool call is answered
    // by tool messages that follow it directly.
    std::vector<std::string> pending;
    for (rapidjson::SizeType i = 0; i < msgs.Size(); ++i) {
        std::string role = msgs[i]["role"].GetString();
        if (i > 0) {
            EXPECT_NE(role, "system") << i;
        }
        if (!pending.empty()) {
            ASSERT_EQ(role, "tool") << "message " << i << " before all tool calls were answered";
            EXPECT_EQ(std::string(msgs[i]["tool_call_id"].GetString()), pending.front());
            pending.erase(pending.begin());
            continue;
        }
        if (role == "assistant" && msgs[i].HasMember("tool_calls")) {
            for (const auto& tc : msgs[i]["tool_calls"].GetArray()) pending.emplace_back(tc["id"].GetString());
        }
    }
    EXPECT_TRUE(pending.empty());
    // The image of the last tool result travels in a user message, not as text.
    EXPECT_NE(all.find(R"("type":"image_url")"), std::string::npos);
    EXPECT_NE(all.find("Deferred tools are now available"), std::string::npos);
}

}  // namespace
}  // namespace llmproxy
