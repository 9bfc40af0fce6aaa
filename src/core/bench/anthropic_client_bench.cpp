// Anthropic client <-> OpenAI provider: request translation of the ~50 KB
// Claude Code fixture and stream transcoding of ~200-byte text chunks.
#include <benchmark/benchmark.h>

#include <string>

#include "bench_data.hpp"
#include "core/translate.hpp"
#include "core/translate_internal.hpp"

namespace llmproxy {
namespace {

std::string fixture() { return bench::read_test_data("claude_code_request.json"); }

TranslateOptions bench_options() {
    TranslateOptions o;
    o.target_model = "deepseek-chat";
    o.max_tokens_cap = 8192;
    o.quirks.replay_reasoning = true;
    return o;
}

// parse_request (parse + validation + facts) and translation: what a worker
// does per request.
void BM_ClaudeCodeRequest_ParseAndTranslate(benchmark::State& state) {
    const std::string body = fixture();
    const TranslateOptions opts = bench_options();
    for (auto _ : state) {
        ParsedRequest req;
        Status st = parse_request(Dialect::kAnthropic, body, JsonLimits{}, req);
        if (!st.ok()) {
            state.SkipWithError(st.error().describe().c_str());
            return;
        }
        auto r = detail::anthropic_to_openai_request(req, opts);
        if (!r.ok()) {
            state.SkipWithError(r.error().describe().c_str());
            return;
        }
        benchmark::DoNotOptimize(r->body.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
    state.counters["request_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_ClaudeCodeRequest_ParseAndTranslate)->Unit(benchmark::kMicrosecond);

// Translation alone, from an already parsed request.
void BM_ClaudeCodeRequest_TranslateOnly(benchmark::State& state) {
    const std::string body = fixture();
    const TranslateOptions opts = bench_options();
    ParsedRequest req;
    if (Status st = parse_request(Dialect::kAnthropic, body, JsonLimits{}, req); !st.ok()) {
        state.SkipWithError(st.error().describe().c_str());
        return;
    }
    for (auto _ : state) {
        auto r = detail::anthropic_to_openai_request(req, opts);
        benchmark::DoNotOptimize(r->body.data());
    }
}
BENCHMARK(BM_ClaudeCodeRequest_TranslateOnly)->Unit(benchmark::kMicrosecond);

// peek_request and finish_peek: the DOM-free look a passthrough gets.
void BM_ClaudeCodeRequest_Peek(benchmark::State& state) {
    const std::string body = fixture();
    for (auto _ : state) {
        ParsedRequest req;
        Status st = peek_request(Dialect::kAnthropic, body, JsonLimits{}, req);
        if (st.ok()) st = finish_peek(req);
        if (!st.ok()) {
            state.SkipWithError(st.error().describe().c_str());
            return;
        }
        benchmark::DoNotOptimize(req.facts.stream);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_ClaudeCodeRequest_Peek)->Unit(benchmark::kMicrosecond);

// One ~200-byte OpenAI text chunk as an SSE event.
std::string text_chunk() {
    std::string c =
        R"(data: {"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4.1","choices":[{"index":0,"delta":{"content":" the quick brown fox"},"finish_reason":null}]})";
    c += "\n\n";
    return c;
}

// OpenAI chunks -> Anthropic events; items/s = upstream chunks per second.
// `pieces` > 1 feeds every chunk in that many slices (network splits).
void BM_OpenAIToAnthropicStream_TextChunks(benchmark::State& state) {
    const std::string chunk = text_chunk();
    const std::size_t pieces = static_cast<std::size_t>(state.range(0));
    ResponseContext ctx;
    ctx.client_model = "claude-sonnet-4-5";
    ctx.stream = true;
    auto enc = detail::make_openai_to_anthropic_stream(ctx);
    std::string out;
    out.reserve(1 << 20);
    const std::size_t step = (chunk.size() + pieces - 1) / pieces;
    for (auto _ : state) {
        for (std::size_t pos = 0; pos < chunk.size(); pos += step) {
            enc->feed(std::string_view(chunk).substr(pos, step), out);
        }
        if (out.size() > (1 << 19)) out.clear();
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(chunk.size()));
    state.counters["chunk_bytes"] = static_cast<double>(chunk.size());
}
BENCHMARK(BM_OpenAIToAnthropicStream_TextChunks)->Arg(1)->Arg(3);

}  // namespace
}  // namespace llmproxy
