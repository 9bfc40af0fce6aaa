// OpenAI SSE stream -> Anthropic SSE stream (Anthropic client, OpenAI
// provider). Every test runs its input whole, byte by byte and at random split
// points (identical output required) and validates the Anthropic grammar.
// Test names carry the checklist item of shared/notes/translation.md (b).
#include <gtest/gtest.h>

#include "alloc_counter.hpp"
#include "anthropic_stream_validator.hpp"
#include "core/translate_internal.hpp"
#include "stream_test_util.hpp"

namespace llmproxy {
namespace {

using testing::AnthropicStreamSummary;
using testing::openai_sse;

ResponseContext stream_ctx() {
    ResponseContext c;
    c.client_model = "claude-sonnet-4-5";
    c.stream = true;
    return c;
}

struct StreamRun {
    std::string out;
    AnthropicStreamSummary s;
};

StreamRun transcode(std::string_view input, const ResponseContext& c = stream_ctx()) {
    auto r = testing::run_all_splits([&] { return detail::make_openai_to_anthropic_stream(c); }, input);
    EXPECT_TRUE(r.identical) << r.mismatch;
    StreamRun run{r.output, testing::validate_anthropic_stream(r.output)};
    EXPECT_TRUE(run.s.ok) << run.s.error << "\n" << r.output;
    return run;
}

std::string chunk_text(std::string_view text, std::string_view finish = {}) {
    std::string c = R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":")" + std::string(text) +
                    R"("},"finish_reason":)";
    c += finish.empty() ? "null" : "\"" + std::string(finish) + "\"";
    return c + "}]}";
}

const char* kRoleChunk =
    R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]})";

// The exact bytes of a simple text stream (golden output).
TEST(AnthropicClientStream, GoldenSimpleTextStream) {
    std::string in = openai_sse({kRoleChunk, chunk_text("Hello"), chunk_text(" world", "stop"),
                                 R"({"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3}})"});
    StreamRun r = transcode(in);
    const char* want =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_chatcmpl-1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":0}}}\n\n"
        "event: ping\ndata: {\"type\":\"ping\"}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" world\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":3}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    EXPECT_EQ(r.out, want);
}

TEST(AnthropicClientStream, Item17_RoleOnlyChunkOpensNoBlock) {
    StreamRun r = transcode(openai_sse({kRoleChunk, chunk_text("Hi", "stop")}));
    ASSERT_EQ(r.s.blocks.size(), 1u);
    EXPECT_EQ(r.s.blocks[0].type, "text");
    EXPECT_EQ(r.s.blocks[0].text, "Hi");
    // Nothing but a role chunk and a finish: a valid message with no blocks.
    StreamRun empty = transcode(openai_sse({kRoleChunk, chunk_text("", "stop")}));
    EXPECT_TRUE(empty.s.blocks.empty());
    EXPECT_EQ(empty.s.stop_reason, "end_turn");
}

TEST(AnthropicClientStream, Item17_RoleOnlyChunkStartsTheMessageButOpensNoBlock) {
    auto t = detail::make_openai_to_anthropic_stream(stream_ctx());
    std::string out;
    t->feed(std::string("data: ") + kRoleChunk + "\n\n", out);
    // The message starts (the response is committed, so keepalive pings can
    // flow while a model thinks), but no empty content block is opened.
    EXPECT_TRUE(t->started());
    EXPECT_EQ(out.rfind("event: message_start\n", 0), 0u) << out;
    EXPECT_EQ(out.find("content_block_start"), std::string::npos) << out;
    t->feed("data: " + chunk_text("x") + "\n\n", out);
    EXPECT_NE(out.find("content_block_start"), std::string::npos);
}

// Item 32: nothing is committed before the provider's first chunk (comments
// and empty keepalive chunks do not count), so a failure up to then can still
// be answered with a real HTTP status by the gateway.
TEST(AnthropicClientStream, Item32_NothingCommittedBeforeTheFirstChunk) {
    auto t = detail::make_openai_to_anthropic_stream(stream_ctx());
    std::string out;
    t->feed(": OPENROUTER PROCESSING\n\ndata: {\"choices\":[],\"usage\":null}\n\n", out);
    EXPECT_FALSE(t->started());
    EXPECT_TRUE(out.empty());
    t->fail(503, "upstream went away", out);
    auto s = testing::validate_anthropic_stream(out);
    EXPECT_TRUE(s.ok) << s.error;
    EXPECT_EQ(s.error_type, "api_error");
}

TEST(AnthropicClientStream, Item18_ReasoningContentBeforeContent) {
    StreamRun r = transcode(openai_sse({
        R"({"choices":[{"delta":{"reasoning_content":"Let me think"}}]})",
        R"({"choices":[{"delta":{"reasoning_content":" more"}}]})",
        R"({"choices":[{"delta":{"content":"Answer"}}]})",
        R"({"choices":[{"delta":{},"finish_reason":"stop"}]})"}));
    ASSERT_EQ(r.s.blocks.size(), 2u);
    EXPECT_EQ(r.s.blocks[0].type, "thinking");
    EXPECT_EQ(r.s.blocks[0].text, "Let me think more");
    EXPECT_EQ(r.s.blocks[0].signature, "");  // never invented
    EXPECT_EQ(r.s.blocks[1].type, "text");
    EXPECT_EQ(r.s.blocks[1].text, "Answer");
}

TEST(AnthropicClientStream, Item18_ReasoningFieldVariants) {
    // vLLM >= 2026 / OpenRouter "reasoning"
    StreamRun a = transcode(openai_sse({R"({"choices":[{"delta":{"reasoning":"r1"}}]})",
                                        R"({"choices":[{"delta":{"content":"c"},"finish_reason":"stop"}]})"}));
    ASSERT_EQ(a.s.blocks.size(), 2u);
    EXPECT_EQ(a.s.blocks[0].text, "r1");
    // OpenRouter sends reasoning and reasoning_details with the same text: no duplicate.
    StreamRun b = transcode(openai_sse({
        R"({"choices":[{"delta":{"reasoning":"abc","reasoning_details":[{"type":"reasoning.text","text":"abc"}]}}]})",
        R"({"choices":[{"delta":{"reasoning_details":[{"type":"reasoning.text","text":"","signature":"sig123"}]}}]})",
        R"({"choices":[{"delta":{"content":"c"},"finish_reason":"stop"}]})"}));
    ASSERT_EQ(b.s.blocks.size(), 2u);
    EXPECT_EQ(b.s.blocks[0].text, "abc");
    EXPECT_EQ(b.s.blocks[0].signature, "sig123");  // provider-given signature kept
    // reasoning_details alone, with summary and encrypted entries.
    StreamRun c = transcode(openai_sse({
        R"({"choices":[{"delta":{"reasoning_details":[{"type":"reasoning.summary","summary":"sum"}]}}]})",
        R"({"choices":[{"delta":{"reasoning_details":[{"type":"reasoning.encrypted","data":"opaque"}]}}]})",
        R"({"choices":[{"delta":{"content":"c"},"finish_reason":"stop"}]})"}));
    ASSERT_EQ(c.s.blocks.size(), 3u);
    EXPECT_EQ(c.s.blocks[0].type, "thinking");
    EXPECT_EQ(c.s.blocks[0].text, "sum");
    EXPECT_EQ(c.s.blocks[1].type, "redacted_thinking");
    EXPECT_EQ(c.s.blocks[1].text, "opaque");
    EXPECT_EQ(c.s.blocks[2].type, "text");
}

TEST(AnthropicClientStream, Item18_ThinkingAfterTextOpensANewBlock) {
    StreamRun r = transcode(openai_sse({
        R"({"choices":[{"delta":{"content":"a"}}]})",
        R"({"choices":[{"delta":{"reasoning_content":"b"}}]})",
        R"({"choices":[{"delta":{"content":"c"},"finish_reason":"stop"}]})"}));
    ASSERT_EQ(r.s.blocks.size(), 3u);
    EXPECT_EQ(r.s.blocks[0].type, "text");
    EXPECT_EQ(r.s.blocks[1].type, "thinking");
    EXPECT_EQ(r.s.blocks[2].type, "text");
}

TEST(AnthropicClientStream, Item18_CombinedChunkInNativeOrder) {
    StreamRun r = transcode(openai_sse({
        R"({"choices":[{"delta":{"content":"text","reasoning_content":"think","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"Bash","arguments":"{}"}}]},"finish_reason":"tool_calls"}]})"}));
    ASSERT_EQ(r.s.blocks.size(), 3u);
    EXPECT_EQ(r.s.blocks[0].type, "thinking");
    EXPECT_EQ(r.s.blocks[1].type, "text");
    EXPECT_EQ(r.s.blocks[2].type, "tool_use");
    EXPECT_EQ(r.s.stop_reason, "tool_use");
}

TEST(AnthropicClientStream, Item19_ToolArgumentsSplitAcrossChunks) {
    StreamRun r = transcode(openai_sse({
        R"({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"Read","arguments":""}}]}}]})",
        R"({"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"file_"}}]}}]})",
        R"({"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"path\":\"a.py\"}"}}]}}]})",
        R"({"choices":[{"delta":{},"finish_reason":"tool_calls"}]})"}));
    ASSERT_EQ(r.s.blocks.size(), 1u);
    EXPECT_EQ(r.s.blocks[0].type, "tool_use");
    EXPECT_EQ(r.s.blocks[0].id, "call_a");
    EXPECT_EQ(r.s.blocks[0].name, "Read");
    EXPECT_EQ(r.s.blocks[0].text, R"({"file_path":"a.py"})");
    EXPECT_EQ(r.s.blocks[0].deltas, 2u);  // the empty fragment is skipped, nothing waits for valid JSON
    EXPECT_EQ(r.s.stop_reason, "tool_use");
}

TEST(AnthropicClientStream, Item20_InterleavedToolIndices) {
    StreamRun r = transcode(openai_sse({
        R"({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_a","function":{"name":"Read","arguments":""}}]}}]})",
        R"({"choices":[{"delta":{"tool_calls":[{"index":1,"id":"call_b","function":{"name":"Grep","arguments":""}}]}}]})",
        R"({"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"file_path\":"}}]}}]})",
        R"({"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"pattern\":"}}]}}]})",
        R"({"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"a\"}"}}]}}]})",
        R"({"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\"x\"}"}}]}}]})",
        R"({"choices":[{"delta":{},"finish_reason":"tool_calls"}]})"}));
    ASSERT_EQ(r.s.blocks.size(), 2u);
    EXPECT_EQ(r.s.blocks[0].id, "call_a");
    EXPECT_EQ(r.s.blocks[0].text, R"({"file_path":"a"})");
    EXPECT_EQ(r.s.blocks[1].id, "call_b");
    EXPECT_EQ(r.s.blocks[1].name, "Grep");
    EXPECT_EQ(r.s.blocks[1].text, R"({"pattern":"x"})");
}

TEST(AnthropicClientStream, Item20_SequentialCallsStreamWithoutWaitingForTheEnd) {
    // Once call 0's arguments are complete JSON, call 1 opens as soon as it starts.
    auto t = detail::make_openai_to_anthropic_stream(stream_ctx());
    std::string out;
    t->feed("data: " + std::string(R"({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c0","function":{"name":"A","arguments":"{\"x\":1}"}}]}}]})") + "\n\n", out);
    t->feed("data: " + std::string(R"({"choices":[{"delta":{"tool_calls":[{"index":1,"id":"c1","function":{"name":"B","arguments":"{\"y\""}}]}}]})") + "\n\n", out);
    EXPECT_NE(out.find("\"id\":\"c1\""), std::string::npos);
    EXPECT_NE(out.find(R"(\"y\")"), std::string::npos);
    t->finish(out);
    auto s = testing::validate_anthropic_stream(out, {true, false});
    EXPECT_TRUE(s.ok) << s.error;
}

TEST(AnthropicClientStream, Item21_SeveralCompleteToolCallsInOneChunk) {
    StreamRun r = transcode(openai_sse({
        R"({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"A","arguments":"{}"}},{"index":1,"id":"c2","function":{"name":"B","arguments":"{\"x\":1}"}}]},"finish_reason":"tool_calls"}]})"}));
    ASSERT_EQ(r.s.blocks.size(), 2u);
    EXPECT_EQ(r.s.blocks[0].name, "A");
    EXPECT_EQ(r.s.blocks[0].text, "{}");
    EXPECT_EQ(r.s.blocks[1].name, "B");
    EXPECT_EQ(r.s.blocks[1].text, R"({"x":1})");
}

TEST(AnthropicClientStream, Item22_SameIndexNewIdIsANewCall) {
    StreamRun r = transcode(openai_sse({
        R"({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"g1","function":{"name":"Read","arguments":"{\"a\":1}"}}]}}]})",
        R"({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"g2","function":{"name":"Read","arguments":"{\"a\":2}"}}]}}]})",
        R"({"choices":[{"delta":{},"finish_reason":"tool_calls"}]})"}));
    ASSERT_EQ(r.s.blocks.size(), 2u);
    EXPECT_EQ(r.s.blocks[0].id, "g1");
    EXPECT_EQ(r.s.blocks[0].text, R"({"a":1})");
    EXPECT_EQ(r.s.blocks[1].id, "g2");
    EXPECT_EQ(r.s.blocks[1].text, R"({"a":2})");
}

TEST(AnthropicClientStream, Item22_RepeatedIdAndNameDoNotOpenANewBlock) {
    StreamRun r = transcode(openai_sse({
        R"({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"Bash","arguments":"{\"command\":"}}]}}]})",
        R"({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"Bash","arguments":"\"ls\"}"}}]}}]})",
        R"({"choices":[{"delta":{},"finish_reason":"tool_calls"}]})"}));
    ASSERT_EQ(r.s.blocks.size(), 1u);
    EXPECT_EQ(r.s.blocks[0].text, R"({"command":"ls"})");
}

TEST(AnthropicClientStream, Item23_TextAfterAToolCallOpensANewTextBlock) {
    StreamRun r = transcode(openai_sse({
        R"({"choices":[{"delta":{"content":"Let me look."}}]})",
        R"({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"Bash","arguments":"{\"command\":\"ls\"}"}}]}}]})",
        R"({"choices":[{"delta":{"content":"And then"}}]})",
        R"({"choices":[{"delta":{"tool_calls":[{"index":1,"id":"c2","function":{"name":"Read","arguments":"{}"}}]}}]})",
        R"({"choices":[{"delta":{"content":" done."}}]})",
        R"({"choices":[{"delta":{},"finish_reason":"tool_calls"}]})"}));
    ASSERT_EQ(r.s.blocks.size(), 5u);
    EXPECT_EQ(r.s.blocks[0].type, "text");
    EXPECT_EQ(r.s.blocks[1].type, "tool_use");
    EXPECT_EQ(r.s.blocks[2].type, "text");
    EXPECT_EQ(r.s.blocks[2].text, "And then");
    EXPECT_EQ(r.s.blocks[3].type, "tool_use");
    EXPECT_EQ(r.s.blocks[4].text, " done.");
}

TEST(AnthropicClientStream, Item24_FinishReasonInAChunkWithContent) {
    StreamRun r = transcode(openai_sse({R"({"choices":[{"delta":{"content":"done."},"finish_reason":"stop"}]})"}));
    ASSERT_EQ(r.s.blocks.size(), 1u);
    EXPECT_EQ(r.s.blocks[0].text, "done.");
    EXPECT_EQ(r.s.stop_reason, "end_turn");
}

TEST(AnthropicClientStream, Item25a_UsageInTrailingChunkWithEmptyChoices) {
    std::string in = openai_sse({chunk_text("x"), R"({"choices":[{"delta":{},"finish_reason":"tool_calls"}]})",
                                 R"({"choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":50,"prompt_tokens_details":{"cached_tokens":1024}}})"});
    StreamRun r = transcode(in);
    EXPECT_EQ(r.s.input_tokens, 176u);
    EXPECT_EQ(r.s.cache_read, 1024u);
    EXPECT_EQ(r.s.cache_creation, 0u);
    EXPECT_EQ(r.s.output_tokens, 50u);
    // The usage chunk is the last one: finalised without waiting for [DONE].
    auto t = detail::make_openai_to_anthropic_stream(stream_ctx());
    std::string out;
    t->feed(openai_sse({chunk_text("x", "stop"), R"({"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}})"}, false), out);
    EXPECT_NE(out.find("message_stop"), std::string::npos);
    EXPECT_EQ(t->usage().input_tokens, 3u);
}

TEST(AnthropicClientStream, Item25b_UsageInsideTheFinishChunk) {
    StreamRun r = transcode(openai_sse({chunk_text("x"),
        R"({"choices":[{"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":2}})"}));
    EXPECT_EQ(r.s.input_tokens, 10u);
    EXPECT_EQ(r.s.output_tokens, 2u);
    EXPECT_TRUE(r.s.final_usage_has_input);
}

TEST(AnthropicClientStream, Item25b_UsageInsideTheChoiceObject) {
    // Moonshot/Kimi put usage inside choices[0].
    StreamRun r = transcode(openai_sse({chunk_text("x"),
        R"({"choices":[{"delta":{},"finish_reason":"stop","usage":{"prompt_tokens":7,"completion_tokens":4}}]})"}));
    EXPECT_EQ(r.s.input_tokens, 7u);
    EXPECT_EQ(r.s.output_tokens, 4u);
}

TEST(AnthropicClientStream, Item25c_RepeatedUsageTakesTheLastValue) {
    StreamRun r = transcode(openai_sse({
        R"({"choices":[{"delta":{"content":"a"}}],"usage":{"prompt_tokens":10,"completion_tokens":1}})",
        R"({"choices":[{"delta":{"content":"b"}}],"usage":{"prompt_tokens":10,"completion_tokens":2}})",
        R"({"choices":[{"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":3}})"}));
    EXPECT_EQ(r.s.input_tokens, 10u);
    EXPECT_EQ(r.s.output_tokens, 3u);
}

TEST(AnthropicClientStream, Item25d_NoUsageAtAll) {
    StreamRun r = transcode(openai_sse({chunk_text("x", "stop")}));
    EXPECT_EQ(r.s.output_tokens, 0u);
    EXPECT_EQ(r.s.stop_reason, "end_turn");
}

TEST(AnthropicClientStream, Item26_CacheArithmeticFromEveryProviderField) {
    StreamRun deepseek = transcode(openai_sse({chunk_text("x", "stop"),
        R"({"choices":[],"usage":{"prompt_tokens":900,"completion_tokens":7,"prompt_cache_hit_tokens":600,"prompt_cache_miss_tokens":300}})"}));
    EXPECT_EQ(deepseek.s.input_tokens, 300u);
    EXPECT_EQ(deepseek.s.cache_read, 600u);
    StreamRun writes = transcode(openai_sse({chunk_text("x", "stop"),
        R"({"choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":100,"cache_write_tokens":300}}})"}));
    EXPECT_EQ(writes.s.input_tokens, 600u);
    EXPECT_EQ(writes.s.cache_read, 100u);
    EXPECT_EQ(writes.s.cache_creation, 300u);
}

TEST(AnthropicClientStream, Item27_PlainEofWithoutDone) {
    StreamRun r = transcode(openai_sse({chunk_text("a"), chunk_text("b", "stop")}, false));
    EXPECT_TRUE(r.s.complete);
    EXPECT_EQ(r.s.blocks[0].text, "ab");
    // Not even a finish_reason: still a complete message.
    StreamRun cut = transcode(openai_sse({chunk_text("a")}, false));
    EXPECT_TRUE(cut.s.complete);
    EXPECT_EQ(cut.s.stop_reason, "end_turn");
}

TEST(AnthropicClientStream, Item27_NothingAfterMessageStopAndNoDoneForAnthropicClients) {
    std::string in = openai_sse({chunk_text("a", "stop")}) + "data: " + chunk_text("late") + "\n\n";
    StreamRun r = transcode(in);
    EXPECT_EQ(r.s.blocks[0].text, "a");
    EXPECT_EQ(r.out.find("[DONE]"), std::string::npos);
    const std::string last = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    ASSERT_GE(r.out.size(), last.size());
    EXPECT_EQ(r.out.substr(r.out.size() - last.size()), last);
}

TEST(AnthropicClientStream, Item28_SplitInsideLinesJsonStringsAndUtf8) {
    // run_all_splits feeds this byte by byte, so every UTF-8 sequence and
    // escape is split somewhere.
    StreamRun r = transcode(openai_sse({chunk_text("H\xC3\xA9llo \xF0\x9F\x98\x80 \\\"q\\\" \\u00e9"), chunk_text("", "stop")}));
    ASSERT_EQ(r.s.blocks.size(), 1u);
    EXPECT_EQ(r.s.blocks[0].text, "H\xC3\xA9llo \xF0\x9F\x98\x80 \"q\" \xC3\xA9");
}

TEST(AnthropicClientStream, Item29_CrlfCrNoSpaceMultiLineDataAndBom) {
    std::string lf = openai_sse({chunk_text("a"), chunk_text("b", "stop")});
    std::string reference = transcode(lf).out;
    std::string crlf = "data: " + chunk_text("a") + "\r\n\r\ndata: " + chunk_text("b", "stop") + "\r\n\r\ndata: [DONE]\r\n\r\n";
    EXPECT_EQ(transcode(crlf).out, reference);
    std::string cr = "data: " + chunk_text("a") + "\r\rdata: " + chunk_text("b", "stop") + "\r\rdata: [DONE]\r\r";
    EXPECT_EQ(transcode(cr).out, reference);
    std::string nospace = "\xEF\xBB\xBF" "data:" + chunk_text("a") + "\n\ndata:" + chunk_text("b", "stop") + "\n\ndata:[DONE]\n\n";
    EXPECT_EQ(transcode(nospace).out, reference);
    // One JSON object spread over several data: lines (joined with "\n").
    std::string multi = "data: {\"id\":\"chatcmpl-1\",\ndata: \"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\n\n"
                        "data: " + chunk_text("b", "stop") + "\n\ndata: [DONE]\n\n";
    EXPECT_EQ(transcode(multi).out, reference);
}

TEST(AnthropicClientStream, Item30_CommentsAndKeepalivesIgnored) {
    std::string lf = openai_sse({chunk_text("a"), chunk_text("b", "stop")});
    std::string noisy = ": OPENROUTER PROCESSING\n\n: keep-alive\n\ndata: \n\ndata: :ping\n\ndata: " + chunk_text("a") +
                        "\n\n: ping\n\nevent: keepalive\ndata:\n\ndata: " + chunk_text("b", "stop") + "\n\ndata: [DONE]\n\n";
    EXPECT_EQ(transcode(noisy).out, transcode(lf).out);
}

TEST(AnthropicClientStream, Item31_MidStreamErrorObject) {
    StreamRun r = transcode(openai_sse({chunk_text("partial"), R"({"error":{"message":"Provider returned error","code":502}})",
                                        chunk_text("never")}, false));
    EXPECT_TRUE(r.s.errored);
    EXPECT_EQ(r.s.error_type, "api_error");
    EXPECT_EQ(r.s.error_message, "Provider returned error");
    EXPECT_EQ(r.out.find("never"), std::string::npos);
    StreamRun rl = transcode(openai_sse({R"({"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}})"}));
    EXPECT_EQ(rl.s.error_type, "rate_limit_error");
    StreamRun ov = transcode(openai_sse({R"({"error":{"message":"busy","code":529}})"}));
    EXPECT_EQ(ov.s.error_type, "overloaded_error");
}

TEST(AnthropicClientStream, Item31_FinishReasonErrorAndErrorEvents) {
    StreamRun r = transcode(openai_sse({chunk_text("x"), R"({"choices":[{"delta":{},"finish_reason":"error"}]})"}));
    EXPECT_TRUE(r.s.errored);
    EXPECT_EQ(r.s.error_type, "api_error");
    StreamRun ev = transcode("data: " + chunk_text("x") + "\n\nevent: error\ndata: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\n");
    EXPECT_TRUE(ev.s.errored);
    EXPECT_EQ(ev.s.error_message, "boom");
}

TEST(AnthropicClientStream, Item33_FinishReasonCatalogueInStreams) {
    struct Row { const char* finish; const char* stop; };
    for (Row row : {Row{"stop", "end_turn"}, Row{"length", "max_tokens"}, Row{"tool_calls", "tool_use"},
                    Row{"function_call", "tool_use"}, Row{"content_filter", "refusal"},
                    Row{"sensitive", "refusal"}, Row{"eos", "end_turn"}, Row{"eos_token", "end_turn"},
                    Row{"brand_new_reason", "end_turn"}}) {
        StreamRun r = transcode(openai_sse({chunk_text("x", row.finish)}));
        EXPECT_EQ(r.s.stop_reason, row.stop) << row.finish;
    }
}

TEST(AnthropicClientStream, Item33_StopAfterToolCallsBecomesToolUse) {
    StreamRun r = transcode(openai_sse({
        R"({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"A","arguments":"{}"}}]},"finish_reason":"stop"}]})"}));
    EXPECT_EQ(r.s.stop_reason, "tool_use");
}

TEST(AnthropicClientStream, Item33_RefusalDeltaBecomesTextAndRefusal) {
    StreamRun r = transcode(openai_sse({R"({"choices":[{"delta":{"refusal":"I can't help with that."},"finish_reason":"stop"}]})"}));
    ASSERT_EQ(r.s.blocks.size(), 1u);
    EXPECT_EQ(r.s.blocks[0].text, "I can't help with that.");
    EXPECT_EQ(r.s.stop_reason, "refusal");
}

TEST(AnthropicClientStream, Item35_ToolIdsSanitisedSynthesisedAndUnique) {
    StreamRun r = transcode(openai_sse({
        R"({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"functions.Bash:0","function":{"name":"Bash","arguments":"{}"}}]}}]})",
        R"({"choices":[{"delta":{"tool_calls":[{"index":1,"id":"","function":{"name":"Read","arguments":"{}"}}]}}]})",
        R"({"choices":[{"delta":{"tool_calls":[{"index":2,"id":"functions.Bash:0x","function":{"name":"Bash","arguments":"{}"}}]}}]})",
        R"({"choices":[{"delta":{"tool_calls":[{"index":3,"id":"functions_Bash_0","function":{"name":"Bash","arguments":"{}"}}]}}]})",
        R"({"choices":[{"delta":{},"finish_reason":"tool_calls"}]})"}));
    ASSERT_EQ(r.s.blocks.size(), 4u);  // the validator checks the id charset and uniqueness
    EXPECT_EQ(r.s.blocks[0].id, "functions_Bash_0");
    EXPECT_EQ(r.s.blocks[1].id.substr(0, 6), "toolu_");
    EXPECT_NE(r.s.blocks[3].id, r.s.blocks[0].id);
}

TEST(AnthropicClientStream, Item10_RewrittenToolNamesMappedBack) {
    ResponseContext c = stream_ctx();
    c.tool_names.provider_to_client.emplace_back("mcp_github_create_issue_1a2b3c4d", "mcp__github.create/issue");
    StreamRun r = transcode(openai_sse({
        R"({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"mcp_github_create_issue_1a2b3c4d","arguments":"{}"}}]},"finish_reason":"tool_calls"}]})"}), c);
    ASSERT_EQ(r.s.blocks.size(), 1u);
    EXPECT_EQ(r.s.blocks[0].name, "mcp__github.create/issue");
}

// Found by anthropic_stream_fuzz: a call whose name never arrives.
TEST(AnthropicClientStream, ToolCallWithoutNameIsKeptNotDropped) {
    StreamRun r = transcode(openai_sse({
        R"({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"arguments":"{\"a\":1}"}}]}}]})",
        R"({"choices":[{"delta":{"content":"x"},"finish_reason":"tool_calls"}]})"}));
    ASSERT_EQ(r.s.blocks.size(), 2u);
    EXPECT_EQ(r.s.blocks[0].type, "text");
    EXPECT_EQ(r.s.blocks[1].name, "unnamed_tool");
    EXPECT_EQ(r.s.blocks[1].text, R"({"a":1})");
}

TEST(AnthropicClientStream, MessageStartCarriesClientModelAndIdAndChoiceZeroOnly) {
    StreamRun r = transcode(openai_sse({
        R"({"id":"chatcmpl-Xy.9","model":"gpt-4.1","choices":[{"index":1,"delta":{"content":"other"}},{"index":0,"delta":{"content":"mine"}}]})",
        R"({"choices":[{"delta":{"content":"x"},"index":1},{"delta":{},"finish_reason":"stop","index":0}]})"}));
    EXPECT_EQ(r.s.model, "claude-sonnet-4-5");
    EXPECT_EQ(r.s.message_id, "msg_chatcmpl-Xy_9");
    ASSERT_EQ(r.s.blocks.size(), 1u);
    EXPECT_EQ(r.s.blocks[0].text, "mine");
    EXPECT_EQ(r.s.pings, 1u);
}

TEST(AnthropicClientStream, ContentAsArrayOfTextParts) {
    StreamRun r = transcode(openai_sse({R"({"choices":[{"delta":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},"finish_reason":"stop"}]})"}));
    ASSERT_EQ(r.s.blocks.size(), 1u);
    EXPECT_EQ(r.s.blocks[0].text, "ab");
}

TEST(AnthropicClientStream, LegacyFunctionCallDelta) {
    StreamRun r = transcode(openai_sse({
        R"({"choices":[{"delta":{"function_call":{"name":"Bash","arguments":"{\"command\":"}}}]})",
        R"({"choices":[{"delta":{"function_call":{"arguments":"\"ls\"}"}}}]})",
        R"({"choices":[{"delta":{},"finish_reason":"function_call"}]})"}));
    ASSERT_EQ(r.s.blocks.size(), 1u);
    EXPECT_EQ(r.s.blocks[0].name, "Bash");
    EXPECT_EQ(r.s.blocks[0].text, R"({"command":"ls"})");
    EXPECT_EQ(r.s.stop_reason, "tool_use");
}

TEST(AnthropicClientStream, FailEmitsAnthropicErrorAndEndsTheStream) {
    auto t = detail::make_openai_to_anthropic_stream(stream_ctx());
    std::string out;
    t->feed("data: " + chunk_text("partial") + "\n\n", out);
    t->fail(529, "upstream overloaded", out);
    t->finish(out);                    // idempotent
    t->fail(500, "again", out);        // idempotent
    t->feed("data: " + chunk_text("more") + "\n\n", out);
    auto s = testing::validate_anthropic_stream(out);
    EXPECT_TRUE(s.ok) << s.error;
    EXPECT_TRUE(s.errored);
    EXPECT_EQ(s.error_type, "overloaded_error");
    EXPECT_EQ(s.error_message, "upstream overloaded");
    // Before anything was produced, fail() is still a valid (error-only) stream.
    auto t2 = detail::make_openai_to_anthropic_stream(stream_ctx());
    std::string out2;
    t2->fail(429, "slow", out2);
    EXPECT_TRUE(t2->started());
    EXPECT_EQ(testing::validate_anthropic_stream(out2).error_type, "rate_limit_error");
}

TEST(AnthropicClientStream, MalformedAndTruncatedInputBecomesAnErrorEvent) {
    StreamRun bad = transcode(openai_sse({chunk_text("a"), R"({"choices":[{"delta":{"content":"b"})"}));
    EXPECT_TRUE(bad.s.errored);
    EXPECT_EQ(bad.s.error_type, "api_error");
    EXPECT_NE(bad.s.error_message.find("invalid JSON"), std::string::npos);
    // Input cut in the middle of an event.
    std::string full = openai_sse({chunk_text("a"), chunk_text("b", "stop")}, false);
    StreamRun cut = transcode(full.substr(0, full.size() - 20));
    EXPECT_TRUE(cut.s.errored);
    // Over-deep nesting is refused, not recursed into.
    std::string deep = "data: {\"choices\":" + std::string(300, '[') + std::string(300, ']') + "}\n\n";
    StreamRun d = transcode(deep);
    EXPECT_TRUE(d.s.errored);
}

TEST(AnthropicClientStream, NoPerChunkHeapAllocationInSteadyState) {
    auto t = detail::make_openai_to_anthropic_stream(stream_ctx());
    std::string out;
    out.reserve(1 << 16);
    std::string chunk = "data: " + chunk_text("Some typical streamed text of a coding assistant answer, about forty tokens long: `ls -la` shows...") + "\n\n";
    ASSERT_GT(chunk.size(), 150u);
    for (int i = 0; i < 100; ++i) {  // warm-up: buffers reach their working size
        t->feed(chunk, out);
        t->feed(std::string_view(chunk).substr(0, 37), out);
        t->feed(std::string_view(chunk).substr(37), out);
    }
    out.clear();
    {
        testing::AllocationCounter counter;
        for (int i = 0; i < 1000; ++i) {
            t->feed(std::string_view(chunk).substr(0, 37), out);  // split mid-line too
            t->feed(std::string_view(chunk).substr(37), out);
            if (out.size() > (1 << 15)) out.clear();
        }
        EXPECT_EQ(counter.count(), 0u);
    }
    t->finish(out);
}

}  // namespace
}  // namespace llmproxy
