#include "core/errors.hpp"
#include "core/mapping.hpp"

#include <gtest/gtest.h>

#include "core/json.hpp"
#include "core/provider_quirks.hpp"

namespace llmproxy {
namespace {

Usage usage_of(const char* json) {
    rapidjson::Document d;
    EXPECT_TRUE(parse_json(json, JsonLimits{}, d).ok());
    return usage_from_openai(d);
}

// Checklist 33: every finish_reason value in the notes.
TEST(Mapping, FinishReasonToStopReasonCatalogue) {
    struct Row { const char* in; const char* out; bool error; };
    const Row rows[] = {
        {"stop", "end_turn", false},          {"eos", "end_turn", false},
        {"eos_token", "end_turn", false},     {"", "end_turn", false},
        {"something_new", "end_turn", false}, {"length", "max_tokens", false},
        {"tool_calls", "tool_use", false},    {"function_call", "tool_use", false},
        {"content_filter", "refusal", false}, {"sensitive", "refusal", false},
        {"error", "end_turn", true},          {"network_error", "end_turn", true},
        {"model_context_window_exceeded", "model_context_window_exceeded", false},
    };
    for (const auto& r : rows) {
        StopMapping m = anthropic_stop_reason(r.in, false);
        EXPECT_EQ(m.stop_reason, r.out) << r.in;
        EXPECT_EQ(m.is_error, r.error) << r.in;
    }
    // Tool calls were emitted but the server says "stop": tool_use.
    EXPECT_EQ(anthropic_stop_reason("stop", true).stop_reason, "tool_use");
    EXPECT_EQ(anthropic_stop_reason("", true).stop_reason, "tool_use");
    EXPECT_EQ(anthropic_stop_reason("length", true).stop_reason, "max_tokens");
}

TEST(Mapping, StopReasonToFinishReasonCatalogue) {
    EXPECT_EQ(openai_finish_reason("end_turn"), "stop");
    EXPECT_EQ(openai_finish_reason("stop_sequence"), "stop");
    EXPECT_EQ(openai_finish_reason("pause_turn"), "stop");
    EXPECT_EQ(openai_finish_reason("max_tokens"), "length");
    EXPECT_EQ(openai_finish_reason("model_context_window_exceeded"), "length");
    EXPECT_EQ(openai_finish_reason("compaction"), "length");
    EXPECT_EQ(openai_finish_reason("tool_use"), "tool_calls");
    EXPECT_EQ(openai_finish_reason("refusal"), "content_filter");
    EXPECT_EQ(openai_finish_reason("whatever"), "stop");
}

// Checklist 26: cache arithmetic from every known field.
TEST(Mapping, UsageOpenAICachedTokensExcludedFromInput) {
    Usage u = usage_of(R"({"prompt_tokens":1200,"completion_tokens":50,"prompt_tokens_details":{"cached_tokens":1024}})");
    EXPECT_TRUE(u.known);
    EXPECT_EQ(u.input_tokens, 176u);
    EXPECT_EQ(u.cache_read_input_tokens, 1024u);
    EXPECT_EQ(u.cache_creation_input_tokens, 0u);
    EXPECT_EQ(u.output_tokens, 50u);
}

TEST(Mapping, UsageCacheWriteTokens) {
    Usage u = usage_of(R"({"prompt_tokens":1000,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":100,"cache_write_tokens":300}})");
    EXPECT_EQ(u.input_tokens, 600u);
    EXPECT_EQ(u.cache_read_input_tokens, 100u);
    EXPECT_EQ(u.cache_creation_input_tokens, 300u);
    u = usage_of(R"({"prompt_tokens":1000,"completion_tokens":5,"prompt_tokens_details":{"cache_creation_tokens":200}})");
    EXPECT_EQ(u.input_tokens, 800u);
    EXPECT_EQ(u.cache_creation_input_tokens, 200u);
}

TEST(Mapping, UsageDeepSeekHitMiss) {
    Usage u = usage_of(R"({"prompt_tokens":900,"completion_tokens":7,"prompt_cache_hit_tokens":600,"prompt_cache_miss_tokens":300})");
    EXPECT_EQ(u.input_tokens, 300u);
    EXPECT_EQ(u.cache_read_input_tokens, 600u);
    u = usage_of(R"({"completion_tokens":7,"prompt_cache_hit_tokens":600,"prompt_cache_miss_tokens":300})");
    EXPECT_EQ(u.input_tokens, 300u);
}

TEST(Mapping, UsageAnthropicStyleRelayFields) {
    Usage u = usage_of(R"({"prompt_tokens":500,"completion_tokens":1,"cache_read_input_tokens":100,"cache_creation_input_tokens":50})");
    EXPECT_EQ(u.input_tokens, 350u);
    EXPECT_EQ(u.cache_read_input_tokens, 100u);
    EXPECT_EQ(u.cache_creation_input_tokens, 50u);
}

TEST(Mapping, UsageNeverNegative) {
    Usage u = usage_of(R"({"prompt_tokens":10,"prompt_tokens_details":{"cached_tokens":50}})");
    EXPECT_EQ(u.input_tokens, 0u);
}

TEST(Mapping, UsageToOpenAIRoundTrip) {
    Usage u;
    u.input_tokens = 176;
    u.cache_read_input_tokens = 1024;
    u.output_tokens = 50;
    std::string out;
    append_openai_usage(out, u);
    EXPECT_EQ(out, R"({"prompt_tokens":1200,"completion_tokens":50,"total_tokens":1250,"prompt_tokens_details":{"cached_tokens":1024}})");
    Usage back = usage_of(out.c_str());
    EXPECT_EQ(back.input_tokens, 176u);
    EXPECT_EQ(back.cache_read_input_tokens, 1024u);
}

TEST(Mapping, MergeAnthropicUsage) {
    rapidjson::Document d;
    ASSERT_TRUE(parse_json(R"({"input_tokens":5,"cache_read_input_tokens":7})", JsonLimits{}, d).ok());
    Usage u;
    merge_anthropic_usage(d, u);
    ASSERT_TRUE(parse_json(R"({"output_tokens":9})", JsonLimits{}, d).ok());
    merge_anthropic_usage(d, u);
    EXPECT_EQ(u.input_tokens, 5u);
    EXPECT_EQ(u.cache_read_input_tokens, 7u);
    EXPECT_EQ(u.output_tokens, 9u);
    std::string out;
    append_anthropic_usage(out, u);
    EXPECT_EQ(out, R"({"input_tokens":5,"cache_creation_input_tokens":0,"cache_read_input_tokens":7,"output_tokens":9})");
}

// Checklist 10: tool names outside [a-zA-Z0-9_-]{1,64} are rewritten and mapped back.
TEST(Mapping, ToolNamesSanitisedAndMappedBack) {
    ToolNameMap map;
    ToolNameMapper mapper(map);
    EXPECT_EQ(mapper.provider_name("Bash"), "Bash");
    std::string dotted(mapper.provider_name("mcp.server/tool name"));
    EXPECT_TRUE(is_valid_provider_tool_name(dotted));
    EXPECT_EQ(dotted.substr(0, 21), "mcp_server_tool_name_");
    std::string long_name(80, 'a');
    std::string long_mapped(mapper.provider_name(long_name));
    EXPECT_EQ(long_mapped.size(), 64u);
    EXPECT_TRUE(is_valid_provider_tool_name(long_mapped));
    // Same input, same output.
    EXPECT_EQ(mapper.provider_name("mcp.server/tool name"), dotted);
    EXPECT_EQ(map.to_client(dotted), "mcp.server/tool name");
    EXPECT_EQ(map.to_client(long_mapped), long_name);
    EXPECT_EQ(map.to_client("Bash"), "Bash");
    EXPECT_EQ(map.to_client("unknown"), "unknown");
    std::string empty(mapper.provider_name(""));
    EXPECT_TRUE(is_valid_provider_tool_name(empty));
    EXPECT_EQ(map.to_client(empty), "");
}

TEST(Mapping, ToolNamesCollisionFree) {
    ToolNameMap map;
    ToolNameMapper mapper(map);
    std::string a(mapper.provider_name("a.b"));
    // A valid client name that happens to equal the generated one must not share it.
    std::string b(mapper.provider_name(a));
    EXPECT_NE(a, b);
    EXPECT_EQ(map.to_client(a), "a.b");
    EXPECT_EQ(map.to_client(b), a);
    std::string c(mapper.provider_name("a/b"));
    EXPECT_NE(c, a);
    EXPECT_EQ(map.to_client(c), "a/b");
}

TEST(Mapping, ErrorTypes) {
    EXPECT_EQ(anthropic_error_type_for_openai_error(0, "", "502"), "api_error");
    EXPECT_EQ(anthropic_error_type_for_openai_error(0, "", "529"), "overloaded_error");
    EXPECT_EQ(anthropic_error_type_for_openai_error(0, "", "503"), "overloaded_error");
    EXPECT_EQ(anthropic_error_type_for_openai_error(503, "", ""), "overloaded_error");
    EXPECT_EQ(anthropic_error_type_for_openai_error(504, "", ""), "timeout_error");
    EXPECT_EQ(anthropic_error_type_for_openai_error(0, "requests", "rate_limit_exceeded"), "rate_limit_error");
    EXPECT_EQ(anthropic_error_type_for_openai_error(429, "", ""), "rate_limit_error");
    EXPECT_EQ(anthropic_error_type_for_openai_error(0, "invalid_request_error", ""), "invalid_request_error");
    EXPECT_EQ(anthropic_error_type_for_openai_error(0, "insufficient_quota", ""), "billing_error");
    EXPECT_EQ(anthropic_error_type_for_openai_error(0, "server_error", ""), "api_error");
    EXPECT_EQ(openai_error_type_for_anthropic("overloaded_error"), "server_error");
    EXPECT_EQ(openai_error_type_for_anthropic("rate_limit_error"), "rate_limit_error");
    EXPECT_EQ(status_for_error_type("overloaded_error"), 529);
    EXPECT_EQ(status_for_error_type("invalid_request_error"), 400);
}

TEST(ProviderQuirks, CatalogCoversEverySettableField) {
    ProviderQuirks q;
    for (const auto& info : quirk_catalog()) {
        std::string_view value = "true";
        if (info.name == "reasoning_field") value = "reasoning";
        if (info.name == "max_tokens_field") value = "max_completion_tokens";
        if (info.name == "max_stop_sequences") value = "8";
        EXPECT_TRUE(set_quirk(q, info.name, value).ok()) << info.name;
        EXPECT_FALSE(info.help.empty());
    }
    EXPECT_EQ(q.reasoning_field, "reasoning");
    EXPECT_EQ(q.max_tokens_field, "max_completion_tokens");
    EXPECT_EQ(q.max_stop_sequences, 8u);
    EXPECT_TRUE(q.replay_reasoning);
    EXPECT_TRUE(q.web_search_options);
    EXPECT_EQ(quirk_catalog().size(), 15u);
}

TEST(ProviderQuirks, BadValuesAreTypedErrors) {
    ProviderQuirks q;
    Status s = set_quirk(q, "replay_reasoning", "maybe");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().field, "quirk replay_reasoning");
    EXPECT_FALSE(set_quirk(q, "no_such_quirk", "true").ok());
    EXPECT_FALSE(set_quirk(q, "reasoning_field", "thoughts").ok());
    EXPECT_FALSE(set_quirk(q, "max_stop_sequences", "-1").ok());
    EXPECT_FALSE(set_quirk(q, "max_stop_sequences", "").ok());
    EXPECT_TRUE(set_quirk(q, "replay_reasoning", "false").ok());
    EXPECT_FALSE(q.replay_reasoning);
}

}  // namespace
}  // namespace llmproxy

namespace llmproxy {
namespace {

TEST(JsonOutput, FastEscapingMatchesJsonAppendString) {
    std::string all;
    for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
    // Every byte at every offset relative to the 8-byte scan.
    for (std::size_t pad = 0; pad < 9; ++pad) {
        for (int c = 0; c < 256; ++c) {
            std::string s(pad, 'a');
            s.push_back(static_cast<char>(c));
            s += "bcdefghijklmnop";
            std::string fast, reference;
            json_append_string(fast, s);
            json_append_string(reference, s);
            ASSERT_EQ(fast, reference) << "byte " << c << " at " << pad;
        }
    }
    std::string fast, reference;
    json_append_string(fast, all + all);
    json_append_string(reference, all + all);
    EXPECT_EQ(fast, reference);
    fast.clear();
    json_append_string(fast, "");
    EXPECT_EQ(fast, "\"\"");
}

TEST(JsonOutput, JsonOutWritesBalancedJsonAndRoundTripsValues) {
    const char* text = R"({"a":[1,-2,3.25,1e+300,true,false,null,"x\"y\n"],"b":{},"c":[],"d":{"e":{"f":18446744073709551615}}})";
    rapidjson::Document in;
    ASSERT_TRUE(parse_json(text, JsonLimits{}, in).ok());
    std::string out;
    JsonOut w(out);
    w.start_object();
    w.key("value");
    w.value(in);
    w.key("n");
    w.uint(7);
    w.key("list");
    w.start_array();
    w.string("s");
    w.null();
    w.boolean(true);
    w.end_array();
    w.end_object();
    rapidjson::Document back;
    ASSERT_TRUE(parse_json(out, JsonLimits{}, back).ok()) << out;
    EXPECT_TRUE(back["value"] == in) << out;
    EXPECT_EQ(back["n"].GetUint64(), 7u);
    EXPECT_EQ(json_to_string(back["list"]), R"(["s",null,true])");
}

TEST(JsonOutput, KeysNeedingEscapesAreEscaped) {
    // Plain short keys take the one-copy path; the others the escaper.
    std::string out;
    JsonOut w(out);
    w.start_object();
    w.key("plain_key");
    w.uint(1);
    w.key("q\"uo\\te");
    w.uint(2);
    w.key(std::string_view("ctl\x01\n", 5));
    w.uint(3);
    w.key(std::string(40, 'k'));
    w.uint(4);
    w.key("");
    w.uint(5);
    w.key(std::string_view());  // null data()
    w.uint(6);
    w.end_object();
    EXPECT_EQ(out, std::string(R"({"plain_key":1,"q\"uo\\te":2,"ctl\u0001\n":3,")") + std::string(40, 'k') +
                       R"(":4,"":5,"":6})");
}

TEST(JsonOutput, LiteralKeysAndStringsMatchTheGeneralPath) {
    // Literals take the one-append path only when they are plain printable
    // ASCII; the rest, and char arrays holding a shorter string, are written
    // exactly as the string_view overloads write them.
    char buffer[16] = "short";  // 10 NULs after the text
    std::string fast, general;
    JsonOut f(fast), g(general);
    f.start_object();
    g.start_object();
    f.key("role");
    g.key(std::string_view("role"));
    f.string("assistant");
    g.string(std::string_view("assistant"));
    f.key("caf\xc3\xa9");
    g.key(std::string_view("caf\xc3\xa9"));
    f.string("tab\there \"q\" \\");
    g.string(std::string_view("tab\there \"q\" \\"));
    f.key(buffer);
    g.key(std::string_view(buffer));
    f.string(buffer);
    g.string(std::string_view(buffer));
    f.key("");
    g.key(std::string_view(""));
    f.string("");
    g.string(std::string_view(""));
    f.end_object();
    g.end_object();
    EXPECT_EQ(fast, general);
    EXPECT_EQ(fast, "{\"role\":\"assistant\",\"caf\xc3\xa9\":\"tab\\there \\\"q\\\" \\\\\",\"short\":\"short\",\"\":\"\"}");
}

}  // namespace
}  // namespace llmproxy
