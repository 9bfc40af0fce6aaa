// OpenAI client <-> Anthropic provider: request translation of a realistic
// ~50 KB agent request, non-stream response translation, and stream
// transcoding of ~200-byte Anthropic text_delta events (chunks per second).
#include <benchmark/benchmark.h>

#include <string>

#include "core/json.hpp"
#include "core/openai_from_anthropic.hpp"
#include "core/translate.hpp"
#include "core/translate_internal.hpp"

namespace llmproxy {
namespace {

// An OpenAI-SDK agent request of about 50 KB: a long system prompt, 12
// function tools with JSON schemas, and a 72-turn tool-using conversation.
std::string agent_request() {
    std::string filler;
    for (int i = 0; i < 60; ++i) {
        filler += "Follow the repository conventions, keep changes small and explain each step. ";
    }
    std::string r = R"({"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},)"
                    R"("max_completion_tokens":16000,"temperature":0.2,"parallel_tool_calls":true,)";
    r += R"("tools":[)";
    for (int t = 0; t < 12; ++t) {
        if (t > 0) r += ',';
        r += R"({"type":"function","function":{"name":"tool_)" + std::to_string(t) +
             R"(","description":"Performs operation number )" + std::to_string(t) +
             R"( on the workspace; returns its output as text.","parameters":{"type":"object","properties":{)"
             R"("path":{"type":"string","description":"Absolute path of the file to operate on"},)"
             R"("pattern":{"type":"string","description":"Optional regular expression"},)"
             R"("limit":{"type":"integer","minimum":1,"maximum":1000},)"
             R"("flags":{"type":"array","items":{"type":"string","enum":["a","b","c"]}}},"required":["path"]}}})";
    }
    r += R"(],"messages":[{"role":"system","content":)";
    json_append_string(r, "You are a coding agent. " + filler);
    r += '}';
    for (int turn = 0; turn < 72; ++turn) {
        std::string id = "call_" + std::to_string(turn);
        r += R"(,{"role":"user","content":)";
        json_append_string(r, "Step " + std::to_string(turn) + ": please inspect the next module and fix any issue you find.");
        r += R"(},{"role":"assistant","content":"Let me look at it.","tool_calls":[{"id":")" + id +
             R"(","type":"function","function":{"name":"tool_)" + std::to_string(turn % 12) +
             R"(","arguments":"{\"path\":\"/src/module_)" + std::to_string(turn) +
             R"(.cpp\",\"limit\":200}"}}]},{"role":"tool","tool_call_id":")" + id + R"(","content":)";
        json_append_string(r, "int main() {\n  return compute(" + std::to_string(turn) +
                                  ");\n}\n// end of file, 3 lines shown of 3 total lines in this module");
        r += '}';
    }
    r += "]}";
    return r;
}

TranslateOptions bench_options() {
    TranslateOptions o;
    o.target_model = "claude-sonnet-4-5";
    o.max_tokens_cap = 64000;
    return o;
}

void BM_OpenAIRequest_ParseAndTranslate(benchmark::State& state) {
    const std::string body = agent_request();
    const TranslateOptions opts = bench_options();
    for (auto _ : state) {
        ParsedRequest req;
        if (Status st = parse_request(Dialect::kOpenAI, body, JsonLimits{}, req); !st.ok()) {
            state.SkipWithError(st.error().describe().c_str());
            return;
        }
        auto r = detail::openai_to_anthropic_request(req, opts);
        if (!r.ok()) {
            state.SkipWithError(r.error().describe().c_str());
            return;
        }
        benchmark::DoNotOptimize(r->body.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
    state.counters["request_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_OpenAIRequest_ParseAndTranslate)->Unit(benchmark::kMicrosecond);

void BM_OpenAIRequest_TranslateOnly(benchmark::State& state) {
    const std::string body = agent_request();
    const TranslateOptions opts = bench_options();
    ParsedRequest req;
    if (Status st = parse_request(Dialect::kOpenAI, body, JsonLimits{}, req); !st.ok()) {
        state.SkipWithError(st.error().describe().c_str());
        return;
    }
    for (auto _ : state) {
        auto r = detail::openai_to_anthropic_request(req, opts);
        benchmark::DoNotOptimize(r->body.data());
    }
}
BENCHMARK(BM_OpenAIRequest_TranslateOnly)->Unit(benchmark::kMicrosecond);

void BM_AnthropicResponseToOpenAI(benchmark::State& state) {
    std::string text;
    for (int i = 0; i < 40; ++i) text += "A typical answer sentence of moderate length. ";
    std::string body = R"({"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":")" +
                       text + R"("},{"type":"tool_use","id":"toolu_01","name":"tool_3","input":{"path":"/src/a.cpp","limit":20}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":1200,"cache_read_input_tokens":30000,"output_tokens":310}})";
    ResponseContext ctx;
    ctx.client_model = "gpt-4o";
    for (auto _ : state) {
        auto r = detail::anthropic_to_openai_response_at(body, ctx, nullptr, 1700000000);
        benchmark::DoNotOptimize(r->data());
    }
    state.counters["response_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_AnthropicResponseToOpenAI)->Unit(benchmark::kMicrosecond);

// Anthropic events -> OpenAI chunks; items/s = upstream events per second.
// `pieces` > 1 feeds every event in that many slices (network splits).
void BM_AnthropicToOpenAIStream_TextDeltas(benchmark::State& state) {
    const std::string start =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":472,\"output_tokens\":2}}}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n";
    // ~200 bytes, the size of a typical Anthropic text_delta event.
    const std::string event =
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" the quick brown fox jumps over the lazy dog, then \\\"rests\\\" a while\"}}\n\n";
    const std::size_t pieces = static_cast<std::size_t>(state.range(0));
    ResponseContext ctx;
    ctx.client_model = "gpt-4o";
    ctx.stream = true;
    auto enc = detail::make_anthropic_to_openai_stream(ctx);
    std::string out;
    out.reserve(1 << 20);
    enc->feed(start, out);
    const std::size_t step = (event.size() + pieces - 1) / pieces;
    for (auto _ : state) {
        for (std::size_t pos = 0; pos < event.size(); pos += step) {
            enc->feed(std::string_view(event).substr(pos, step), out);
        }
        if (out.size() > (1 << 19)) out.clear();
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(event.size()));
    state.counters["event_bytes"] = static_cast<double>(event.size());
}
BENCHMARK(BM_AnthropicToOpenAIStream_TextDeltas)->Arg(1)->Arg(3);

}  // namespace
}  // namespace llmproxy
