// core/passthrough_stream via make_stream_transcoder(provider == client):
// events pass through with only the model replaced, usage is read on the way,
// and a stream cut short ends with an error event.
#include "core/passthrough_stream.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/json.hpp"
#include "stream_test_util.hpp"

namespace llmproxy {
namespace {

ResponseContext ctx_for(std::string client_model) {
    ResponseContext ctx;
    ctx.client_model = std::move(client_model);
    ctx.stream = true;
    return ctx;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
        s.replace(pos, from.size(), to);
    }
    return s;
}

std::size_t count(std::string_view s, std::string_view what) {
    std::size_t n = 0;
    for (std::size_t pos = s.find(what); pos != std::string_view::npos; pos = s.find(what, pos + 1)) ++n;
    return n;
}

// Runs whole / byte-by-byte / random splits and requires identical output.
std::string run(Dialect d, std::string_view input, const ResponseContext& ctx) {
    auto r = testing::run_all_splits([&] { return make_stream_transcoder(d, d, ctx); }, input);
    EXPECT_TRUE(r.identical) << r.mismatch;
    return r.output;
}

std::string anthropic_event(std::string_view name, std::string_view data) {
    return "event: " + std::string(name) + "\ndata: " + std::string(data) + "\n\n";
}

const char* const kMessageStart =
    R"({"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant",)"
    R"("model":"provider-model-v2","content":[],"stop_reason":null,"stop_sequence":null,)"
    R"("usage":{"input_tokens":25,"cache_creation_input_tokens":3,"cache_read_input_tokens":7,"output_tokens":1}}})";

std::string anthropic_body_events() {
    return anthropic_event("content_block_start",
                           R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})") +
           anthropic_event("ping", R"({"type": "ping"})") +
           anthropic_event("content_block_delta",
                           R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta",)"
                           R"("text":"the \"model\":\"provider-model-v2\" said {hi}\n"}})") +
           anthropic_event("content_block_stop", R"({"type":"content_block_stop","index":0})") +
           anthropic_event("message_delta",
                           R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},)"
                           R"("usage":{"output_tokens":15}})");
}

std::string anthropic_stream(bool with_stop = true) {
    return anthropic_event("message_start", kMessageStart) + anthropic_body_events() +
           (with_stop ? anthropic_event("message_stop", R"({"type":"message_stop"})") : "");
}

TEST(PassthroughAnthropic, ModelRewrittenOnlyInMessageStart) {
    std::string input = anthropic_stream();
    std::string out = run(Dialect::kAnthropic, input, ctx_for("claude-client"));
    // The message_start payload is compact already, so re-serialising it
    // changes nothing but the model; every other event is byte-identical
    // (including the quoted model name inside the text delta).
    std::string want = anthropic_event("message_start",
                                       replace_all(kMessageStart, "provider-model-v2", "claude-client")) +
                       anthropic_body_events() + anthropic_event("message_stop", R"({"type":"message_stop"})");
    EXPECT_EQ(out, want);
}

TEST(PassthroughAnthropic, MessageStartWithWhitespaceStillRewritten) {
    std::string start =
        R"({ "type": "message_start", "message": { "id": "m", "model": "prov", "usage": { "input_tokens": 3 } } })";
    std::string input = anthropic_event("message_start", start) +
                        anthropic_event("message_stop", R"({"type":"message_stop"})");
    std::string out = run(Dialect::kAnthropic, input, ctx_for("client-m"));
    // Only the model's literal changes: the provider's spacing stays.
    EXPECT_EQ(out, anthropic_event("message_start", replace_all(start, "\"prov\"", "\"client-m\"")) +
                       anthropic_event("message_stop", R"({"type":"message_stop"})"));
    std::size_t data = out.find("data: ");
    std::size_t end = out.find("\n\n");
    ASSERT_NE(data, std::string::npos);
    EXPECT_EQ(out.substr(0, data), "event: message_start\n");
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json(out.substr(data + 6, end - data - 6), JsonLimits{}, doc).ok()) << out;
    EXPECT_STREQ(doc["message"]["model"].GetString(), "client-m");
    EXPECT_STREQ(doc["message"]["id"].GetString(), "m");
    EXPECT_EQ(doc["message"]["usage"]["input_tokens"].GetInt(), 3);
}

TEST(PassthroughAnthropic, EscapedProviderModelReplacedWhole) {
    // The provider's model literal has escapes; all of it is replaced, and a
    // client model needing escapes is written escaped.
    std::string start =
        R"({"type":"message_start","message":{"model":"pro\"v\u00e9\\","id":"m\n","usage":{"input_tokens":1}}})";
    std::string input = anthropic_event("message_start", start) +
                        anthropic_event("message_stop", R"({"type":"message_stop"})");
    std::string out = run(Dialect::kAnthropic, input, ctx_for("cli\"ent"));
    EXPECT_EQ(out, anthropic_event("message_start",
                                   replace_all(start, R"("pro\"v\u00e9\\")", R"("cli\"ent")")) +
                       anthropic_event("message_stop", R"({"type":"message_stop"})"));
}

TEST(PassthroughAnthropic, MessageStartInOtherShapesStillRewritten) {
    // Not "event: X\ndata: Y\n\n": the SSE parser reads these instead.
    const std::string stop = anthropic_event("message_stop", R"({"type":"message_stop"})");
    const std::string start = R"({"type":"message_start","message":{"model":"prov","usage":{"input_tokens":2}}})";
    const std::string want = anthropic_event("message_start", replace_all(start, "prov", "cli")) + stop;
    for (std::string framing : {"event: message_start\ndata:" + start + "\n\n",
                                "event: message_start\nid: 7\ndata: " + start + "\n\n",
                                ": note\nevent: message_start\ndata: " + start + "\n\n"}) {
        EXPECT_EQ(run(Dialect::kAnthropic, framing + stop, ctx_for("cli")), want) << framing;
    }
}

TEST(PassthroughAnthropic, MessageStartOutsideTheFastReaderStillRewritten) {
    // A surrogate pair escape: RapidJSON reads this event, in situ as well.
    std::string start =
        R"({"type":"message_start","message":{"id":"m\ud83d\ude00","model":"prov","usage":{"input_tokens":5}}})";
    std::string input = anthropic_event("message_start", start) +
                        anthropic_event("message_stop", R"({"type":"message_stop"})");
    auto t = make_stream_transcoder(Dialect::kAnthropic, Dialect::kAnthropic, ctx_for("cli"));
    std::string out;
    t->feed(input, out);
    t->finish(out);
    EXPECT_EQ(out, anthropic_event("message_start", replace_all(start, "\"prov\"", "\"cli\"")) +
                       anthropic_event("message_stop", R"({"type":"message_stop"})"));
    EXPECT_TRUE(t->usage().known);
    EXPECT_EQ(t->usage().input_tokens, 5u);
}

TEST(PassthroughAnthropic, InvalidMessageStartPassesUnreadAndUncounted) {
    for (std::string start : {std::string(R"({"type":"message_start","message":{"model":"prov")"),
                              std::string(R"({"message":{"model":"pr)") + "\xff" + R"(ov","usage":{"input_tokens":1}}})",
                              std::string(R"({"message":{"model":"prov","usage":{"input_tokens":1}}}x)")}) {
        std::string input = anthropic_event("message_start", start) +
                            anthropic_event("message_stop", R"({"type":"message_stop"})");
        auto t = make_stream_transcoder(Dialect::kAnthropic, Dialect::kAnthropic, ctx_for("cli"));
        std::string out;
        t->feed(input, out);
        t->finish(out);
        EXPECT_EQ(out, input);
        EXPECT_FALSE(t->usage().known);
    }
}

TEST(PassthroughAnthropic, MessageStartWithoutModelUnchanged) {
    std::string start = R"({"type":"message_start", "message":{"id":"m","usage":{"input_tokens":4}}})";
    std::string input = anthropic_event("message_start", start) +
                        anthropic_event("message_stop", R"({"type":"message_stop"})");
    EXPECT_EQ(run(Dialect::kAnthropic, input, ctx_for("client")), input);
}

TEST(PassthroughAnthropic, EmptyClientModelKeepsProviderModel) {
    std::string input = anthropic_stream();
    EXPECT_EQ(run(Dialect::kAnthropic, input, ctx_for("")), input);
}

TEST(PassthroughAnthropic, UsageFromMessageStartAndDelta) {
    auto t = make_stream_transcoder(Dialect::kAnthropic, Dialect::kAnthropic, ctx_for("c"));
    EXPECT_FALSE(t->usage().known);
    std::string out;
    t->feed(anthropic_event("message_start", kMessageStart), out);
    EXPECT_TRUE(t->usage().known);
    EXPECT_EQ(t->usage().input_tokens, 25u);
    EXPECT_EQ(t->usage().output_tokens, 1u);
    EXPECT_EQ(t->usage().cache_read_input_tokens, 7u);
    EXPECT_EQ(t->usage().cache_creation_input_tokens, 3u);
    t->feed(anthropic_body_events(), out);
    t->feed(anthropic_event("message_stop", R"({"type":"message_stop"})"), out);
    t->finish(out);
    const Usage& u = t->usage();
    EXPECT_TRUE(u.known);
    EXPECT_EQ(u.input_tokens, 25u);
    EXPECT_EQ(u.output_tokens, 15u);
    EXPECT_EQ(u.cache_read_input_tokens, 7u);
    EXPECT_EQ(u.cache_creation_input_tokens, 3u);
}

TEST(PassthroughAnthropic, TruncatedStreamEndsWithErrorEvent) {
    std::string input = anthropic_stream(/*with_stop=*/false);
    std::string out = run(Dialect::kAnthropic, input, ctx_for("claude-client"));
    std::string body = replace_all(input, "provider-model-v2\",\"content\"", "claude-client\",\"content\"");
    ASSERT_EQ(out.compare(0, body.size(), body), 0) << out;
    std::string tail = out.substr(body.size());
    EXPECT_EQ(tail.rfind("event: error\ndata: ", 0), 0u) << tail;
    EXPECT_EQ(count(tail, "\n\n"), 1u);
    auto failure = leading_stream_error(Dialect::kAnthropic, tail);
    ASSERT_TRUE(failure.has_value()) << tail;
    EXPECT_EQ(failure->status, 500);  // api_error
    EXPECT_NE(failure->message.find("ended before"), std::string::npos);
}

TEST(PassthroughAnthropic, CutMidEventEndsWithErrorEvent) {
    std::string input = anthropic_stream(/*with_stop=*/false);
    std::string cut = input.substr(0, input.size() - 20);  // inside message_delta's JSON
    std::string out = run(Dialect::kAnthropic, cut, ctx_for(""));
    std::string err = stream_error_event(Dialect::kAnthropic, 502,
                                         "provider stream ended before the response was complete");
    ASSERT_GE(out.size(), err.size());
    EXPECT_EQ(out.substr(out.size() - err.size()), err);
}

// A provider stream cut inside an event's data line: only complete events pass
// through, then the error event (a truncated JSON event would make SDKs fail
// on the parse and never see the error).
TEST(PassthroughAnthropic, PartialEventAtCutIsNotForwarded) {
    std::string input = anthropic_stream(/*with_stop=*/false);
    std::string cut = input.substr(0, input.size() - 20);
    std::string out = run(Dialect::kAnthropic, cut, ctx_for(""));
    std::string complete = cut.substr(0, cut.rfind("event: message_delta"));
    EXPECT_EQ(out, complete + stream_error_event(Dialect::kAnthropic, 502,
                                                 "provider stream ended before the response was complete"));
}

TEST(PassthroughAnthropic, EmptyStreamIsAnError) {
    auto t = make_stream_transcoder(Dialect::kAnthropic, Dialect::kAnthropic, ctx_for("c"));
    std::string out;
    t->finish(out);
    EXPECT_EQ(out.rfind("event: error\n", 0), 0u) << out;
    EXPECT_TRUE(t->started());
}

TEST(PassthroughAnthropic, ProviderErrorEventCompletesTheStream) {
    std::string input = anthropic_event("message_start", kMessageStart) +
                        anthropic_event("error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
    std::string out = run(Dialect::kAnthropic, input, ctx_for(""));
    EXPECT_EQ(out, input);  // no second error appended by finish()
}

TEST(PassthroughAnthropic, FailIsIdempotentAndEndsTheStream) {
    auto t = make_stream_transcoder(Dialect::kAnthropic, Dialect::kAnthropic, ctx_for("c"));
    std::string out;
    EXPECT_FALSE(t->started());
    t->fail(504, "upstream timed out", out);
    EXPECT_TRUE(t->started());
    EXPECT_EQ(out, stream_error_event(Dialect::kAnthropic, 504, "upstream timed out"));
    std::string before = out;
    t->fail(500, "again", out);
    t->finish(out);
    t->feed(anthropic_stream(), out);
    EXPECT_EQ(out, before);
}

TEST(PassthroughAnthropic, FinishIdempotentAndFailAfterFinishIgnored) {
    auto t = make_stream_transcoder(Dialect::kAnthropic, Dialect::kAnthropic, ctx_for(""));
    std::string out;
    t->feed(anthropic_stream(), out);
    EXPECT_TRUE(t->started());
    std::string before = out;
    t->finish(out);
    t->finish(out);
    t->fail(502, "late", out);
    EXPECT_EQ(out, before);
}

TEST(PassthroughAnthropic, FailMidStreamAfterEvents) {
    auto t = make_stream_transcoder(Dialect::kAnthropic, Dialect::kAnthropic, ctx_for(""));
    std::string out;
    t->feed(anthropic_event("message_start", kMessageStart), out);
    std::string before = out;
    t->fail(502, "connection reset", out);
    EXPECT_EQ(out, before + stream_error_event(Dialect::kAnthropic, 502, "connection reset"));
}

TEST(PassthroughAnthropic, StartedOnlyAfterACompleteEvent) {
    auto t = make_stream_transcoder(Dialect::kAnthropic, Dialect::kAnthropic, ctx_for(""));
    std::string out;
    std::string ev = anthropic_event("message_start", kMessageStart);
    t->feed(std::string_view(ev).substr(0, ev.size() - 1), out);
    EXPECT_FALSE(t->started());
    EXPECT_EQ(out, "");
    t->feed("\n", out);
    EXPECT_TRUE(t->started());
    EXPECT_EQ(out, ev);
}

// Events nothing is read from are forwarded as the provider framed them
// (here "data:" without the space and an extra field), whatever the splits.
TEST(PassthroughAnthropic, UnreadEventsKeepTheProviderFraming) {
    std::string odd = "event: content_block_delta\ndata:{\"type\":\"content_block_delta\",\"index\":0,"
                      "\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\nid: 7\n\n";
    std::string input = anthropic_event("message_start", kMessageStart) + odd +
                        anthropic_event("message_stop", R"({"type":"message_stop"})");
    std::string out = run(Dialect::kAnthropic, input, ctx_for(""));
    EXPECT_EQ(out, input);
}

// Runs of unread events leave in one piece: runs broken by read events
// (message_delta, a provider error) and by a blank line before an event.
TEST(PassthroughAnthropic, RunsOfUnreadEventsBrokenByReadEventsAndBlankLines) {
    std::string delta = anthropic_event(
        "content_block_delta",
        R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ab"}})");
    std::string mdelta = anthropic_event(
        "message_delta", R"({"type":"message_delta","delta":{"stop_reason":null},"usage":{"output_tokens":2}})");
    std::string error = anthropic_event(
        "error", R"({"type":"error","error":{"type":"overloaded_error","message":"busy"}})");
    std::string start = anthropic_event("message_start", kMessageStart);
    std::string input = start + delta + delta + mdelta + delta + "\n" + delta + delta + error + delta;
    std::string out = run(Dialect::kAnthropic, input, ctx_for(""));
    EXPECT_EQ(out, start + delta + delta + mdelta + delta + delta + delta + error + delta);
}

TEST(PassthroughAnthropic, ExtraBlankLinesBetweenEventsAreDropped) {
    std::string input = anthropic_event("message_start", kMessageStart) + "\n\n" +
                        anthropic_body_events() + "\n" +
                        anthropic_event("message_stop", R"({"type":"message_stop"})");
    std::string out = run(Dialect::kAnthropic, input, ctx_for(""));
    EXPECT_EQ(out, anthropic_stream());
}

TEST(PassthroughAnthropic, CrlfFramedStreamIsParsedAndNormalised) {
    std::string lf = anthropic_stream();
    std::string crlf = replace_all(lf, "\n", "\r\n");
    std::string out = run(Dialect::kAnthropic, crlf, ctx_for(""));
    EXPECT_EQ(out, lf);
}

TEST(PassthroughAnthropic, CrlfAppearingMidStreamSwitchesToTheParser) {
    // The first events are LF-framed, the rest CRLF: usage and the end are
    // still seen, and every event comes out once.
    std::string head = anthropic_event("message_start", kMessageStart) + anthropic_body_events();
    std::string rest = replace_all(anthropic_event("message_stop", R"({"type":"message_stop"})"), "\n", "\r\n");
    auto t = make_stream_transcoder(Dialect::kAnthropic, Dialect::kAnthropic, ctx_for(""));
    std::string out;
    t->feed(head, out);
    t->feed(rest, out);
    t->finish(out);
    EXPECT_EQ(out, anthropic_stream());
    EXPECT_EQ(t->usage().output_tokens, 15u);
}

TEST(PassthroughAnthropic, LeadingBomIsParsedAway) {
    std::string out = run(Dialect::kAnthropic, "\xEF\xBB\xBF" + anthropic_stream(), ctx_for(""));
    EXPECT_EQ(out, anthropic_stream());
}

TEST(PassthroughAnthropic, OversizedUnterminatedEventFails) {
    auto t = make_stream_transcoder(Dialect::kAnthropic, Dialect::kAnthropic, ctx_for(""));
    std::string out;
    t->feed(anthropic_event("message_start", kMessageStart), out);
    std::string chunk(1u << 20, 'x');
    std::string first = "event: content_block_delta\ndata: " + chunk;
    t->feed(first, out);
    for (int i = 0; i < 33 && out.find("event: error") == std::string::npos; ++i) t->feed(chunk, out);
    EXPECT_NE(out.find("exceeds the size limit"), std::string::npos);
}

// ---- OpenAI ----------------------------------------------------------------

std::vector<std::string> openai_chunks(std::string_view model, bool finish = true, bool usage = true) {
    std::string m(model);
    std::vector<std::string> c{
        R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":")" + m +
            R"(","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]})",
        R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":")" + m +
            R"(","choices":[{"index":0,"delta":{"content":"say \"model\": \")" + m +
            R"(\" {ok}"},"finish_reason":null}]})",
        R"({"id":"chatcmpl-1", "object":"chat.completion.chunk", "created":1700000000, "model" : ")" + m +
            R"(", "choices":[{"index":0,"delta":{"content":"!"},"finish_reason":null}]})",
    };
    if (finish) {
        c.push_back(R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":")" + m +
                    R"(","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})");
    }
    if (usage) {
        c.push_back(R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":")" + m +
                    R"(","choices":[],"usage":{"prompt_tokens":30,"completion_tokens":5,"total_tokens":35,)"
                    R"("prompt_tokens_details":{"cached_tokens":10}}})");
    }
    return c;
}

TEST(PassthroughOpenAI, ModelRewrittenInEveryChunk) {
    std::string input = testing::openai_sse(openai_chunks("gpt-provider"));
    std::string out = run(Dialect::kOpenAI, input, ctx_for("gpt-client"));
    // Only the top-level "model" values change: the content text that quotes
    // the provider model, the other members and the whitespace stay.
    std::vector<std::string> want_chunks = openai_chunks("gpt-client");
    for (auto& c : want_chunks) {
        std::size_t text = c.find(R"(\"model\": \")");
        if (text != std::string::npos) c.replace(text + 13, 10, "gpt-provider");
    }
    EXPECT_EQ(out, testing::openai_sse(want_chunks));
    EXPECT_EQ(count(out, "gpt-client"), 5u);
    EXPECT_EQ(count(out, "gpt-provider"), 1u);  // inside the content text
    EXPECT_EQ(out.substr(out.size() - 14), "data: [DONE]\n\n");
}

TEST(PassthroughOpenAI, NestedModelKeysUntouched) {
    std::string chunk =
        R"({"id":"x","x":{"model":"nested"},"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}],"model":"p"})";
    std::string input = testing::openai_sse({chunk});
    std::string out = run(Dialect::kOpenAI, input, ctx_for("client \"q\""));
    std::string want = chunk;
    want.replace(want.rfind(R"("p")"), 3, R"("client \"q\"")");
    EXPECT_EQ(out, testing::openai_sse({want}));
}

TEST(PassthroughOpenAI, EscapedModelKeyRewrittenAndNestedFactsIgnored) {
    // A finish_reason or usage below the places they mean something does
    // not end the stream or count.
    std::string chunk =
        R"({"\u006dodel":"p","choices":[{"index":0,"delta":{"content":"a","finish_reason":"stop",)"
        R"("usage":{"prompt_tokens":9}},"finish_reason":null}]})";
    auto t = make_stream_transcoder(Dialect::kOpenAI, Dialect::kOpenAI, ctx_for("c"));
    std::string out;
    t->feed(testing::openai_sse({chunk}).substr(0, testing::openai_sse({chunk}).find("data: [DONE]")), out);
    std::string want = chunk;
    want.replace(want.find(R"("p")"), 3, R"("c")");
    EXPECT_EQ(out, "data: " + want + "\n\n");
    EXPECT_FALSE(t->usage().known);
    t->finish(out);
    EXPECT_NE(out.find("ended before the response was complete"), std::string::npos) << out;
}

TEST(PassthroughOpenAI, HostileNestingInAChunkIsBounded) {
    std::string chunk = "{\"model\":\"p\",\"x\":" + std::string(200000, '[') + std::string(200000, ']') + "}";
    auto t = make_stream_transcoder(Dialect::kOpenAI, Dialect::kOpenAI, ctx_for("c"));
    std::string out;
    t->feed("data: " + chunk + "\n\n", out);
    EXPECT_EQ(out, "data: " + chunk + "\n\n");  // forwarded as it came, not parsed
}

TEST(PassthroughOpenAI, EmptyClientModelLeavesBytes) {
    std::string input = testing::openai_sse(openai_chunks("gpt-provider"));
    EXPECT_EQ(run(Dialect::kOpenAI, input, ctx_for("")), input);
}

TEST(PassthroughOpenAI, UsageCapturedFromUsageChunk) {
    auto t = make_stream_transcoder(Dialect::kOpenAI, Dialect::kOpenAI, ctx_for("c"));
    std::string out;
    t->feed(testing::openai_sse(openai_chunks("p", true, false), false), out);
    EXPECT_FALSE(t->usage().known);
    t->feed(testing::openai_sse(openai_chunks("p"), true), out);
    t->finish(out);
    const Usage& u = t->usage();
    EXPECT_TRUE(u.known);
    EXPECT_EQ(u.input_tokens, 20u);  // prompt_tokens minus cached
    EXPECT_EQ(u.cache_read_input_tokens, 10u);
    EXPECT_EQ(u.output_tokens, 5u);
}

TEST(PassthroughOpenAI, TruncatedWithoutDoneOrFinishReasonEndsWithError) {
    std::string input = testing::openai_sse(openai_chunks("p", false, false), /*done=*/false);
    std::string out = run(Dialect::kOpenAI, input, ctx_for("p"));
    ASSERT_EQ(out.compare(0, input.size(), input), 0) << out;
    std::string tail = out.substr(input.size());
    EXPECT_EQ(tail.rfind("data: {\"error\":", 0), 0u) << tail;
    EXPECT_EQ(tail.substr(tail.size() - 14), "data: [DONE]\n\n");
    auto failure = leading_stream_error(Dialect::kOpenAI, tail);
    ASSERT_TRUE(failure.has_value());
    EXPECT_NE(failure->message.find("ended before"), std::string::npos);
    EXPECT_EQ(count(tail, "\n\n"), 2u);
}

TEST(PassthroughOpenAI, FinishReasonWithoutDoneIsComplete) {
    // Some providers end after finish_reason without [DONE]: no error event.
    std::string input = testing::openai_sse(openai_chunks("p", true, false), /*done=*/false);
    std::string out = run(Dialect::kOpenAI, input, ctx_for("p"));
    EXPECT_EQ(out.find("\"error\""), std::string::npos) << out;
    EXPECT_EQ(out.compare(0, input.size(), input), 0);
}

// A provider stream that ends after finish_reason without [DONE] is complete;
// finish() adds the [DONE] terminator clients expect.
TEST(PassthroughOpenAI, FinishAddsDoneWhenProviderOmittedIt) {
    std::string input = testing::openai_sse(openai_chunks("p", true, true), /*done=*/false);
    std::string out = run(Dialect::kOpenAI, input, ctx_for("p"));
    EXPECT_EQ(out, input + "data: [DONE]\n\n");
}

TEST(PassthroughOpenAI, DoneAloneCompletes) {
    std::string input = testing::openai_sse(openai_chunks("p", false, false), /*done=*/true);
    std::string out = run(Dialect::kOpenAI, input, ctx_for("p"));
    EXPECT_EQ(out, input);
}

TEST(PassthroughOpenAI, ProviderErrorChunkCompletes) {
    std::string input = testing::openai_sse(
        {R"({"id":"x","model":"p","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]})",
         R"({"error":{"message":"overloaded","type":"server_error","code":null}})"},
        /*done=*/false);
    std::string out = run(Dialect::kOpenAI, input, ctx_for("c"));
    EXPECT_EQ(count(out, "\"error\""), 1u) << out;
    // The stream is complete (the provider's error ended it); like fail(), the
    // client still gets its terminator.
    EXPECT_EQ(count(out, "[DONE]"), 1u) << out;
}

TEST(PassthroughOpenAI, FailIsIdempotent) {
    auto t = make_stream_transcoder(Dialect::kOpenAI, Dialect::kOpenAI, ctx_for("c"));
    std::string out;
    t->feed(testing::openai_sse(openai_chunks("p", false, false), false), out);
    std::string before = out;
    t->fail(502, "reset", out);
    EXPECT_EQ(out, before + stream_error_event(Dialect::kOpenAI, 502, "reset") + "data: [DONE]\n\n");
    std::string after = out;
    t->fail(500, "again", out);
    t->finish(out);
    t->feed(testing::openai_sse(openai_chunks("p")), out);
    EXPECT_EQ(out, after);
}

TEST(PassthroughOpenAI, CommentsAndKeepalivesDoNotBreakStream) {
    std::string chunks = testing::openai_sse(openai_chunks("p"));
    std::string input = ": keepalive\n\n" + chunks;
    std::string out = run(Dialect::kOpenAI, input, ctx_for("p"));
    EXPECT_EQ(out, chunks);
}

}  // namespace
}  // namespace llmproxy
