// Anthropic SSE stream -> OpenAI chat.completion.chunk stream (OpenAI client,
// Anthropic provider). Every test runs its input whole, byte by byte and at
// random split points (identical output required) and validates the output
// with the OpenAI stream grammar validator.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/openai_from_anthropic.hpp"
#include "core/tests/alloc_counter.hpp"
#include "core/tests/openai_client_test_util.hpp"
#include "core/tests/openai_stream_validator.hpp"
#include "core/tests/stream_test_util.hpp"

namespace llmproxy {
namespace {

using testing::OpenAIStreamSummary;
using testing::validate_openai_stream;

constexpr std::int64_t kCreated = 1700000000;

ResponseContext stream_ctx(bool include_usage = false) {
    ResponseContext c;
    c.client_model = "gpt-4o";
    c.stream = true;
    c.include_usage_requested = include_usage;
    return c;
}

// "event: NAME\ndata: DATA\n\n" for each (name, data).
std::string anthropic_sse(const std::vector<std::pair<std::string, std::string>>& events) {
    std::string out;
    for (const auto& [name, data] : events) out += "event: " + name + "\ndata: " + data + "\n\n";
    return out;
}

std::pair<std::string, std::string> message_start(std::string_view usage =
    R"({"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1})") {
    return {"message_start",
            R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":)" +
                std::string(usage) + "}}"};
}
std::pair<std::string, std::string> ping() { return {"ping", R"({"type": "ping"})"}; }
std::pair<std::string, std::string> text_start(int index) {
    return {"content_block_start", R"({"type":"content_block_start","index":)" + std::to_string(index) +
                                       R"(,"content_block":{"type":"text","text":""}})"};
}
std::pair<std::string, std::string> thinking_start(int index) {
    return {"content_block_start", R"({"type":"content_block_start","index":)" + std::to_string(index) +
                                       R"(,"content_block":{"type":"thinking","thinking":""}})"};
}
std::pair<std::string, std::string> tool_start(int index, std::string_view id, std::string_view name) {
    return {"content_block_start", R"({"type":"content_block_start","index":)" + std::to_string(index) +
                                       R"(,"content_block":{"type":"tool_use","id":")" + std::string(id) +
                                       R"(","name":")" + std::string(name) + R"(","input":{}}})"};
}
std::pair<std::string, std::string> delta(int index, std::string_view type, std::string_view field,
                                          std::string_view json_string) {
    return {"content_block_delta", R"({"type":"content_block_delta","index":)" + std::to_string(index) +
                                       R"(,"delta":{"type":")" + std::string(type) + R"(",")" +
                                       std::string(field) + R"(":)" + std::string(json_string) + "}}"};
}
std::pair<std::string, std::string> text_delta(int index, std::string_view json_string) {
    return delta(index, "text_delta", "text", json_string);
}
std::pair<std::string, std::string> block_stop(int index) {
    return {"content_block_stop",
            R"({"type":"content_block_stop","index":)" + std::to_string(index) + "}"};
}
std::pair<std::string, std::string> message_delta(std::string_view stop_reason,
                                                  std::string_view usage = R"({"output_tokens":12})") {
    return {"message_delta", R"({"type":"message_delta","delta":{"stop_reason":")" + std::string(stop_reason) +
                                 R"(","stop_sequence":null},"usage":)" + std::string(usage) + "}"};
}
std::pair<std::string, std::string> message_stop() {
    return {"message_stop", R"({"type":"message_stop"})"};
}

// One expected output chunk.
std::string chunk(std::string_view delta_json, std::string_view finish = "null") {
    return R"(data: {"id":"chatcmpl-msg_1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[{"index":0,"delta":)" +
           std::string(delta_json) + R"(,"logprobs":null,"finish_reason":)" + std::string(finish) +
           "}]}\n\n";
}
const std::string kRole = chunk(R"({"role":"assistant","content":""})");
const std::string kDone = "data: [DONE]\n\n";

struct StreamRun {
    std::string out;
    OpenAIStreamSummary s;
};

StreamRun transcode(std::string_view input, const ResponseContext& ctx = stream_ctx()) {
    auto r = testing::run_all_splits(
        [&] { return std::make_unique<detail::OpenAIStreamEncoder>(ctx, kCreated); }, input);
    EXPECT_TRUE(r.identical) << r.mismatch;
    StreamRun run{r.output, {}};
    std::string why = validate_openai_stream(r.output, &run.s);
    EXPECT_EQ(why, "") << r.output;
    return run;
}

// ---- golden streams -----------------------------------------------------------

TEST(OpenAIClientStream, GoldenTextStream) {
    std::string in = anthropic_sse({message_start(), text_start(0), ping(), text_delta(0, R"("Hello")"),
                                    text_delta(0, R"(" world")"), block_stop(0), message_delta("end_turn"),
                                    message_stop()});
    StreamRun r = transcode(in);
    EXPECT_EQ(r.out, kRole + chunk(R"({"content":"Hello"})") + chunk(R"({"content":" world"})") +
                         chunk("{}", R"("stop")") + kDone);
}

TEST(OpenAIClientStream, UsageChunkWhenIncludeUsageRequested) {
    std::string in = anthropic_sse(
        {message_start(R"({"input_tokens":100,"cache_creation_input_tokens":20,"cache_read_input_tokens":1000,"output_tokens":1})"),
         text_start(0), text_delta(0, R"("Hi")"), block_stop(0),
         message_delta("end_turn", R"({"output_tokens":7})"), message_stop()});
    StreamRun r = transcode(in, stream_ctx(true));
    std::string usage_chunk =
        R"(data: {"id":"chatcmpl-msg_1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":1120,"completion_tokens":7,"total_tokens":1127,"prompt_tokens_details":{"cached_tokens":1000,"cache_creation_tokens":20}}})"
        "\n\n";
    EXPECT_EQ(r.out, kRole + chunk(R"({"content":"Hi"})") + chunk("{}", R"("stop")") + usage_chunk + kDone);
    EXPECT_TRUE(r.s.has_usage);
    EXPECT_EQ(r.s.prompt_tokens, 1120u);
    EXPECT_EQ(r.s.cached_tokens, 1000u);
}

TEST(OpenAIClientStream, NoUsageChunkWithoutIncludeUsage) {
    std::string in = anthropic_sse({message_start(), text_start(0), text_delta(0, R"("x")"), block_stop(0),
                                    message_delta("end_turn"), message_stop()});
    StreamRun r = transcode(in, stream_ctx(false));
    EXPECT_FALSE(r.s.has_usage);
}

TEST(OpenAIClientStream, EncoderUsageHasAnthropicSemantics) {
    std::string in = anthropic_sse(
        {message_start(R"({"input_tokens":100,"cache_creation_input_tokens":20,"cache_read_input_tokens":1000,"output_tokens":1})"),
         text_start(0), text_delta(0, R"("Hi")"), block_stop(0),
         message_delta("end_turn", R"({"output_tokens":7})"), message_stop()});
    detail::OpenAIStreamEncoder enc(stream_ctx(), kCreated);
    testing::run_transcoder(enc, in);
    EXPECT_TRUE(enc.usage().known);
    EXPECT_EQ(enc.usage().input_tokens, 100u);
    EXPECT_EQ(enc.usage().cache_read_input_tokens, 1000u);
    EXPECT_EQ(enc.usage().cache_creation_input_tokens, 20u);
    EXPECT_EQ(enc.usage().output_tokens, 7u);
}

TEST(OpenAIClientStream, MessageDeltaUsageUpdatesInputCounts) {
    // Newer Anthropic APIs repeat final input/cache counts in message_delta.
    std::string in = anthropic_sse(
        {message_start(R"({"input_tokens":0,"output_tokens":1})"), text_start(0), text_delta(0, R"("x")"),
         block_stop(0),
         message_delta("end_turn", R"({"input_tokens":40,"cache_read_input_tokens":60,"output_tokens":3})"),
         message_stop()});
    StreamRun r = transcode(in, stream_ctx(true));
    EXPECT_EQ(r.s.prompt_tokens, 100u);
    EXPECT_EQ(r.s.cached_tokens, 60u);
    EXPECT_EQ(r.s.completion_tokens, 3u);
}

TEST(OpenAIClientStream, ThinkingBecomesReasoningContent) {
    std::string in = anthropic_sse(
        {message_start(), thinking_start(0), delta(0, "thinking_delta", "thinking", R"("Let me think")"),
         delta(0, "signature_delta", "signature", R"("EqQBCkgIARAB")"), block_stop(0),
         {"content_block_start", R"({"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"EmwKAhgB"}})"},
         block_stop(1), text_start(2), text_delta(2, R"("Answer")"), block_stop(2), message_delta("end_turn"),
         message_stop()});
    StreamRun r = transcode(in);
    EXPECT_EQ(r.out, kRole + chunk(R"({"reasoning_content":"Let me think"})") +
                         chunk(R"({"content":"Answer"})") + chunk("{}", R"("stop")") + kDone);
}

TEST(OpenAIClientStream, ToolUseStreamsIdAndNameThenArgumentFragments) {
    std::string in = anthropic_sse(
        {message_start(), tool_start(0, "toolu_01", "Bash"),
         delta(0, "input_json_delta", "partial_json", R"("")"),
         delta(0, "input_json_delta", "partial_json", R"("{\"command\":")"),
         delta(0, "input_json_delta", "partial_json", R"("\"ls\"}")"), block_stop(0),
         message_delta("tool_use"), message_stop()});
    StreamRun r = transcode(in);
    EXPECT_EQ(r.out,
              kRole +
                  chunk(R"({"tool_calls":[{"index":0,"id":"toolu_01","type":"function","function":{"name":"Bash","arguments":""}}]})") +
                  chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"command\":"}}]})") +
                  chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"\"ls\"}"}}]})") +
                  chunk("{}", R"("tool_calls")") + kDone);
    ASSERT_EQ(r.s.tool_calls.size(), 1u);
    EXPECT_EQ(r.s.tool_calls[0].arguments, R"({"command":"ls"})");
}

TEST(OpenAIClientStream, TextThenParallelToolCallsGetSequentialIndices) {
    std::string in = anthropic_sse(
        {message_start(), text_start(0), text_delta(0, R"("Reading both.")"), block_stop(0),
         tool_start(1, "toolu_a", "Read"), delta(1, "input_json_delta", "partial_json", R"("{\"p\":\"a\"}")"),
         block_stop(1), tool_start(2, "toolu_b", "Read"),
         delta(2, "input_json_delta", "partial_json", R"("{\"p\":\"b\"}")"), block_stop(2),
         message_delta("tool_use"), message_stop()});
    StreamRun r = transcode(in);
    EXPECT_EQ(r.out,
              kRole + chunk(R"({"content":"Reading both."})") +
                  chunk(R"({"tool_calls":[{"index":0,"id":"toolu_a","type":"function","function":{"name":"Read","arguments":""}}]})") +
                  chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"p\":\"a\"}"}}]})") +
                  chunk(R"({"tool_calls":[{"index":1,"id":"toolu_b","type":"function","function":{"name":"Read","arguments":""}}]})") +
                  chunk(R"({"tool_calls":[{"index":1,"function":{"arguments":"{\"p\":\"b\"}"}}]})") +
                  chunk("{}", R"("tool_calls")") + kDone);
    EXPECT_EQ(r.s.content, "Reading both.");
    ASSERT_EQ(r.s.tool_calls.size(), 2u);
}

TEST(OpenAIClientStream, ToolNamesMappedBackToClientNames) {
    ResponseContext ctx = stream_ctx();
    ctx.tool_names.provider_to_client.emplace_back("mcp_server_do_thing_1a2b3c4d", "mcp.server/do thing");
    std::string in = anthropic_sse({message_start(), tool_start(0, "toolu_1", "mcp_server_do_thing_1a2b3c4d"),
                                    block_stop(0), message_delta("tool_use"), message_stop()});
    StreamRun r = transcode(in, ctx);
    ASSERT_EQ(r.s.tool_calls.size(), 1u);
    EXPECT_EQ(r.s.tool_calls[0].name, "mcp.server/do thing");
}

TEST(OpenAIClientStream, EmptyDeltasProduceNoChunks) {
    std::string in = anthropic_sse({message_start(), text_start(0), text_delta(0, R"("")"),
                                    text_delta(0, R"("a")"), block_stop(0), message_delta("end_turn"),
                                    message_stop()});
    StreamRun r = transcode(in);
    EXPECT_EQ(r.out, kRole + chunk(R"({"content":"a"})") + chunk("{}", R"("stop")") + kDone);
}

TEST(OpenAIClientStream, TextEscapingAndMultibyteSurviveEverySplit) {
    std::string in = anthropic_sse({message_start(), text_start(0),
                                    text_delta(0, R"("say \"hi\"\n\t\u00e9t\u00e9 \ud83d\ude00 \u0001")"),
                                    block_stop(0), message_delta("end_turn"), message_stop()});
    StreamRun r = transcode(in);
    EXPECT_EQ(r.s.content, "say \"hi\"\n\t\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80 \x01");
}

TEST(OpenAIClientStream, PingAndUnknownEventsIgnored) {
    std::string in = anthropic_sse({message_start(), ping(), text_start(0),
                                    {"future_event", R"({"type":"future_event","x":1})"}, text_delta(0, R"("a")"),
                                    ping(), block_stop(0), message_delta("end_turn"), ping(), message_stop()});
    StreamRun r = transcode(in);
    EXPECT_EQ(r.out, kRole + chunk(R"({"content":"a"})") + chunk("{}", R"("stop")") + kDone);
}

TEST(OpenAIClientStream, CrlfFramingAndDataWithoutSpace) {
    std::string in =
        "event: message_start\r\ndata:" + message_start().second + "\r\n\r\n" +
        "event: content_block_start\r\ndata:" + text_start(0).second + "\r\n\r\n" +
        ": comment\r\n\r\n" +
        "event: content_block_delta\r\ndata: " + text_delta(0, R"("ok")").second + "\r\n\r\n" +
        "event: message_delta\rdata: " + message_delta("end_turn").second + "\r\r" +
        "event: message_stop\ndata: " + message_stop().second + "\n\n";
    StreamRun r = transcode(in);
    EXPECT_EQ(r.out, kRole + chunk(R"({"content":"ok"})") + chunk("{}", R"("stop")") + kDone);
}

TEST(OpenAIClientStream, NothingAfterDone) {
    std::string in = anthropic_sse({message_start(), text_start(0), text_delta(0, R"("a")"), block_stop(0),
                                    message_delta("end_turn"), message_stop(), text_delta(0, R"("late")"),
                                    message_stop()});
    StreamRun r = transcode(in);
    EXPECT_EQ(r.out, kRole + chunk(R"({"content":"a"})") + chunk("{}", R"("stop")") + kDone);
}

TEST(OpenAIClientStream, InputJsonDeltaForNonToolBlockIgnored) {
    std::string in = anthropic_sse(
        {message_start(),
         {"content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}})"},
         delta(0, "input_json_delta", "partial_json", R"("{\"query\":\"x\"}")"), block_stop(0), text_start(1),
         text_delta(1, R"("found")"), block_stop(1), message_delta("end_turn"), message_stop()});
    StreamRun r = transcode(in);
    EXPECT_EQ(r.out, kRole + chunk(R"({"content":"found"})") + chunk("{}", R"("stop")") + kDone);
}

// ---- stop_reason -> finish_reason, every value --------------------------------------

struct StopCase {
    const char* stop_reason;
    const char* finish_reason;
};

class OpenAIClientStreamStopReason : public ::testing::TestWithParam<StopCase> {};

TEST_P(OpenAIClientStreamStopReason, MapsToFinishReason) {
    std::string in = anthropic_sse({message_start(), text_start(0), text_delta(0, R"("x")"), block_stop(0),
                                    message_delta(GetParam().stop_reason), message_stop()});
    StreamRun r = transcode(in);
    EXPECT_EQ(r.s.finish_reason, GetParam().finish_reason);
}

INSTANTIATE_TEST_SUITE_P(
    EveryStopReason, OpenAIClientStreamStopReason,
    ::testing::Values(StopCase{"end_turn", "stop"}, StopCase{"stop_sequence", "stop"},
                      StopCase{"pause_turn", "stop"}, StopCase{"max_tokens", "length"},
                      StopCase{"model_context_window_exceeded", "length"},
                      StopCase{"compaction", "length"}, StopCase{"tool_use", "tool_calls"},
                      StopCase{"refusal", "content_filter"}, StopCase{"some_future_reason", "stop"}),
    [](const ::testing::TestParamInfo<StopCase>& info) { return std::string(info.param.stop_reason); });

// ---- errors and truncation ---------------------------------------------------------

TEST(OpenAIClientStream, MidStreamErrorEventBecomesOpenAIErrorThenDone) {
    std::string in = anthropic_sse(
        {message_start(), text_start(0), text_delta(0, R"("par")"),
         {"error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"},
         text_delta(0, R"("ignored")")});
    StreamRun r = transcode(in);
    EXPECT_EQ(r.out, kRole + chunk(R"({"content":"par"})") +
                         "data: {\"error\":{\"message\":\"Overloaded\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n" +
                         kDone);
    EXPECT_TRUE(r.s.error);
}

TEST(OpenAIClientStream, RateLimitErrorEventKeepsItsType) {
    std::string in = anthropic_sse(
        {message_start(), {"error", R"({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})"}});
    StreamRun r = transcode(in);
    EXPECT_EQ(r.s.error_type, "rate_limit_error");
    EXPECT_EQ(r.s.error_message, "slow down");
}

TEST(OpenAIClientStream, ErrorEventBeforeMessageStart) {
    std::string in = anthropic_sse(
        {{"error", R"({"type":"error","error":{"type":"api_error","message":"Internal server error"}})"}});
    StreamRun r = transcode(in);
    EXPECT_EQ(r.out, "data: {\"error\":{\"message\":\"Internal server error\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n" + kDone);
}

TEST(OpenAIClientStream, FailAfterStartEmitsErrorThenDoneOnce) {
    detail::OpenAIStreamEncoder enc(stream_ctx(), kCreated);
    std::string out;
    EXPECT_FALSE(enc.started());
    enc.feed(anthropic_sse({message_start(), text_start(0), text_delta(0, R"("a")")}), out);
    EXPECT_TRUE(enc.started());
    enc.fail(504, "upstream timed out", out);
    enc.fail(500, "again", out);
    enc.finish(out);
    enc.feed(anthropic_sse({text_delta(0, R"("b")")}), out);
    EXPECT_EQ(out, kRole + chunk(R"({"content":"a"})") +
                       "data: {\"error\":{\"message\":\"upstream timed out\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n" +
                       kDone);
    EXPECT_EQ(validate_openai_stream(out), "");
}

TEST(OpenAIClientStream, FinishThenFailIsNoOp) {
    detail::OpenAIStreamEncoder enc(stream_ctx(), kCreated);
    std::string out;
    enc.feed(anthropic_sse({message_start(), text_start(0), text_delta(0, R"("a")"), block_stop(0),
                            message_delta("end_turn"), message_stop()}),
             out);
    enc.finish(out);
    std::string before = out;
    enc.fail(500, "late", out);
    enc.finish(out);
    EXPECT_EQ(out, before);
    EXPECT_EQ(validate_openai_stream(out), "");
}

TEST(OpenAIClientStream, TruncatedStreamEndsWithError) {
    std::string in = anthropic_sse({message_start(), text_start(0), text_delta(0, R"("half")")});
    StreamRun r = transcode(in);
    EXPECT_TRUE(r.s.error);
    EXPECT_EQ(r.s.content, "half");
    EXPECT_EQ(r.s.error_type, "server_error");
}

TEST(OpenAIClientStream, EmptyInputEndsWithError) {
    StreamRun r = transcode("");
    EXPECT_TRUE(r.s.error);
    EXPECT_EQ(r.s.chunks, 0u);
}

TEST(OpenAIClientStream, MissingMessageStopAfterMessageDeltaCompletes) {
    std::string in = anthropic_sse({message_start(), text_start(0), text_delta(0, R"("a")"), block_stop(0),
                                    message_delta("max_tokens")});
    StreamRun r = transcode(in);
    EXPECT_EQ(r.out, kRole + chunk(R"({"content":"a"})") + chunk("{}", R"("length")") + kDone);
}

TEST(OpenAIClientStream, LastEventWithoutBlankLineStillCounts) {
    std::string in = anthropic_sse({message_start(), text_start(0), text_delta(0, R"("a")"), block_stop(0),
                                    message_delta("end_turn")}) +
                     "event: message_stop\ndata: {\"type\":\"message_stop\"}";
    StreamRun r = transcode(in);
    EXPECT_EQ(r.out, kRole + chunk(R"({"content":"a"})") + chunk("{}", R"("stop")") + kDone);
}

TEST(OpenAIClientStream, MalformedEventJsonEndsWithError) {
    std::string in = anthropic_sse({message_start(), {"content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a)"}});
    StreamRun r = transcode(in);
    EXPECT_TRUE(r.s.error);
    EXPECT_NE(r.s.error_message.find("malformed"), std::string::npos);
}

TEST(OpenAIClientStream, TooDeeplyNestedEventEndsWithError) {
    std::string deep = R"({"type":"content_block_delta","x":)" + std::string(200, '[') + std::string(200, ']') + "}";
    std::string in = anthropic_sse({message_start(), {"content_block_delta", deep}});
    StreamRun r = transcode(in);
    EXPECT_TRUE(r.s.error);
}

TEST(OpenAIClientStream, InvalidUtf8InEventEndsWithError) {
    std::string in = anthropic_sse({message_start(), text_start(0), text_delta(0, "\"bad \xff\xfe\"")});
    StreamRun r = transcode(in);
    EXPECT_TRUE(r.s.error);
}

TEST(OpenAIClientStream, EventBeforeMessageStartIsAProtocolError) {
    std::string in = anthropic_sse({text_start(0), text_delta(0, R"("a")")});
    StreamRun r = transcode(in);
    EXPECT_TRUE(r.s.error);
    EXPECT_EQ(r.s.chunks, 0u);
}

TEST(OpenAIClientStream, SecondMessageStartIsAProtocolError) {
    std::string in = anthropic_sse({message_start(), message_start()});
    StreamRun r = transcode(in);
    EXPECT_TRUE(r.s.error);
}

TEST(OpenAIClientStream, ToolUseWithoutIdIsAProtocolError) {
    std::string in = anthropic_sse(
        {message_start(),
         {"content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","name":"T","input":{}}})"}});
    StreamRun r = transcode(in);
    EXPECT_TRUE(r.s.error);
}

TEST(OpenAIClientStream, RepeatedToolUseIdIsAProtocolError) {
    // Found by openai_stream_encoder_fuzz: two tool_use blocks with one id
    // would give the client two tool calls it cannot answer apart.
    std::string in = anthropic_sse({message_start(), tool_start(0, "toolu_1", "T"), block_stop(0),
                                    tool_start(1, "toolu_1", "T"), block_stop(1), message_delta("tool_use"),
                                    message_stop()});
    StreamRun r = transcode(in);
    EXPECT_TRUE(r.s.error);
    EXPECT_EQ(r.s.tool_calls.size(), 1u);
}

// ---- consistency with the non-stream translator -----------------------------------------

TEST(OpenAIClientStream, StreamSaysWhatTheNonStreamResponseSays) {
    std::string in = anthropic_sse(
        {message_start(), thinking_start(0), delta(0, "thinking_delta", "thinking", R"("hmm")"), block_stop(0),
         text_start(1), text_delta(1, R"("Let me check.")"), block_stop(1), tool_start(2, "toolu_9", "Grep"),
         delta(2, "input_json_delta", "partial_json", R"("{\"pattern\":")"),
         delta(2, "input_json_delta", "partial_json", R"("\"x\"}")"), block_stop(2),
         message_delta("tool_use"), message_stop()});
    StreamRun r = transcode(in);
    std::string body = R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5",
        "content":[{"type":"thinking","thinking":"hmm","signature":"s"},{"type":"text","text":"Let me check."},
                   {"type":"tool_use","id":"toolu_9","name":"Grep","input":{"pattern":"x"}}],
        "stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":12}})";
    auto resp = detail::anthropic_to_openai_response_at(body, stream_ctx(), nullptr, kCreated);
    ASSERT_TRUE(resp.ok());
    rapidjson::Document d;
    ASSERT_TRUE(parse_json(*resp, JsonLimits{}, d).ok());
    const auto& msg = d["choices"][0]["message"];
    EXPECT_EQ(r.s.id, d["id"].GetString());
    EXPECT_EQ(r.s.model, d["model"].GetString());
    EXPECT_EQ(r.s.content, msg["content"].GetString());
    EXPECT_EQ(r.s.reasoning, msg["reasoning_content"].GetString());
    ASSERT_EQ(r.s.tool_calls.size(), 1u);
    EXPECT_EQ(r.s.tool_calls[0].id, msg["tool_calls"][0]["id"].GetString());
    EXPECT_EQ(r.s.tool_calls[0].name, msg["tool_calls"][0]["function"]["name"].GetString());
    EXPECT_TRUE(testing::JsonEq(r.s.tool_calls[0].arguments, msg["tool_calls"][0]["function"]["arguments"].GetString()));
    EXPECT_EQ(r.s.finish_reason, d["choices"][0]["finish_reason"].GetString());
}

TEST(OpenAIClientStream, FactoryMakesAWorkingEncoder) {
    auto enc = make_stream_transcoder(Dialect::kAnthropic, Dialect::kOpenAI, stream_ctx());
    ASSERT_NE(enc, nullptr);
    std::string out = testing::run_transcoder(
        *enc, anthropic_sse({message_start(), text_start(0), text_delta(0, R"("a")"), block_stop(0),
                             message_delta("end_turn"), message_stop()}));
    OpenAIStreamSummary s;
    EXPECT_EQ(validate_openai_stream(out, &s), "");
    EXPECT_EQ(s.content, "a");
}

// ---- no heap allocation per chunk in steady state ----------------------------------------

TEST(OpenAIClientStream, NoHeapAllocationPerChunkInSteadyState) {
    detail::OpenAIStreamEncoder enc(stream_ctx(true), kCreated);
    std::string out;
    out.reserve(1 << 20);
    enc.feed(anthropic_sse({message_start(), text_start(0)}), out);
    std::string one = anthropic_sse({text_delta(0, R"("Some typical streamed text of a few dozen bytes, with \"quotes\".")")});
    std::string tool = anthropic_sse({delta(1, "input_json_delta", "partial_json", R"("{\"a\":1")")});
    for (int i = 0; i < 50; ++i) enc.feed(one, out);  // warm-up: buffers reach their size
    {
        testing::AllocationCounter allocs;
        for (int i = 0; i < 1000; ++i) {
            out.clear();  // keeps capacity: only the encoder's allocations count
            enc.feed(one, out);
            // Also in slices, as the network delivers them.
            enc.feed(std::string_view(one).substr(0, 17), out);
            enc.feed(std::string_view(one).substr(17), out);
        }
        EXPECT_EQ(allocs.count(), 0u);
    }
    enc.feed(anthropic_sse({block_stop(0), tool_start(1, "toolu_1", "T")}), out);
    for (int i = 0; i < 50; ++i) enc.feed(tool, out);
    {
        testing::AllocationCounter allocs;
        for (int i = 0; i < 1000; ++i) {
            out.clear();
            enc.feed(tool, out);
        }
        EXPECT_EQ(allocs.count(), 0u);
    }
}

// ---- the validator itself rejects broken streams ----------------------------------------

TEST(OpenAIStreamValidator, AcceptsAMinimalStream) {
    EXPECT_EQ(validate_openai_stream(kRole + chunk("{}", R"("stop")") + kDone), "");
}

TEST(OpenAIStreamValidator, RejectsBrokenStreams) {
    const std::string fin = chunk("{}", R"("stop")");
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"no [DONE]", kRole + fin},
        {"event after [DONE]", kRole + fin + kDone + kDone},
        {"no finish_reason", kRole + kDone},
        {"two finish reasons", kRole + fin + fin + kDone},
        {"role missing first", chunk(R"({"content":"a"})") + fin + kDone},
        {"role twice", kRole + kRole + fin + kDone},
        {"not JSON", kRole + "data: {nope\n\n" + fin + kDone},
        {"named event", kRole + "event: x\ndata: {}\n\n" + fin + kDone},
        {"unterminated", kRole + fin + "data: [DONE]\n"},
        {"tool index skipped",
         kRole + chunk(R"({"tool_calls":[{"index":1,"id":"c","type":"function","function":{"name":"T","arguments":""}}]})") + fin + kDone},
        {"tool call without id",
         kRole + chunk(R"({"tool_calls":[{"index":0,"type":"function","function":{"name":"T","arguments":""}}]})") + fin + kDone},
        {"continuation repeats id",
         kRole + chunk(R"({"tool_calls":[{"index":0,"id":"c","type":"function","function":{"name":"T","arguments":""}}]})") +
             chunk(R"({"tool_calls":[{"index":0,"id":"c","function":{"arguments":"{}"}}]})") + fin + kDone},
        {"content after finish", kRole + fin + chunk(R"({"content":"a"})") + kDone},
        {"usage before finish",
         kRole + R"(data: {"id":"chatcmpl-msg_1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})" "\n\n" + fin + kDone},
        {"usage total wrong",
         kRole + fin + R"(data: {"id":"chatcmpl-msg_1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":3}})" "\n\n" + kDone},
        {"id changes",
         kRole + R"(data: {"id":"other","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]})" "\n\n" + kDone},
        {"unknown finish_reason", kRole + chunk("{}", R"("done")") + kDone},
        {"chunk after error",
         kRole + R"(data: {"error":{"message":"x","type":"server_error"}})" "\n\n" + fin + kDone},
        {"unexpected delta field", kRole + chunk(R"({"foo":1})") + fin + kDone},
    };
    for (const auto& [name, stream] : bad) {
        EXPECT_NE(validate_openai_stream(stream), "") << name;
    }
}

}  // namespace
}  // namespace llmproxy
