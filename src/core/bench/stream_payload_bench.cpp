// The translated stream paths on the real bench payloads (bench/payloads/*.sse,
// ~100 events each, the streams the nginx benchmark's mock providers send).
// One iteration is one whole response stream: a fresh encoder (as each request
// gets), every event fed, finish(). items/s = upstream events per second.
//
// The argument says how the stream arrives:
//   0   the whole stream in one feed
//   1   one feed per event (what a provider flushing each event looks like)
//   N   N-byte pieces (e.g. 1400: TCP segment sized, events split anywhere)
#include <benchmark/benchmark.h>

#include <string>
#include <string_view>
#include <vector>

#include "bench_data.hpp"
#include "core/sse.hpp"
#include "core/translate.hpp"
#include "core/translate_internal.hpp"

namespace llmproxy {
namespace {

std::string read_payload(const char* name) {
    return bench::read_test_data(std::string("../../../../bench/payloads/") + name);
}

// The pieces a stream arrives in, per the benchmark argument.
std::vector<std::string_view> split(std::string_view s, long arg) {
    std::vector<std::string_view> pieces;
    if (arg == 0) {
        pieces.push_back(s);
    } else if (arg == 1) {
        std::size_t pos = 0;
        while (pos < s.size()) {
            std::size_t end = s.find("\n\n", pos);
            end = end == std::string_view::npos ? s.size() : end + 2;
            pieces.push_back(s.substr(pos, end - pos));
            pos = end;
        }
    } else {
        const auto step = static_cast<std::size_t>(arg);
        for (std::size_t pos = 0; pos < s.size(); pos += step) pieces.push_back(s.substr(pos, step));
    }
    return pieces;
}

std::size_t count_events(std::string_view s) {
    std::size_t n = 0;
    SseParser parser;
    parser.feed(s, [&](const SseEvent&) { ++n; });
    parser.finish([&](const SseEvent&) { ++n; });
    return n;
}

template <class MakeEncoder>
void run_stream(benchmark::State& state, const std::string& payload, MakeEncoder make) {
    if (payload.empty()) {
        state.SkipWithError("bench payload not found");
        return;
    }
    const std::vector<std::string_view> pieces = split(payload, state.range(0));
    const std::size_t events = count_events(payload);
    std::string out;
    out.reserve(1 << 16);
    for (auto _ : state) {
        auto enc = make();
        out.clear();
        for (std::string_view p : pieces) enc->feed(p, out);
        enc->finish(out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * payload.size()));
    state.counters["events"] = static_cast<double>(events);
    state.counters["out_bytes"] = static_cast<double>(out.size());
}

// Case 2 of the nginx bench: Anthropic client, OpenAI provider.
void BM_PayloadStream_OpenAIToAnthropic(benchmark::State& state) {
    static const std::string payload = read_payload("openai-stream.sse");
    ResponseContext ctx;
    ctx.client_model = "claude-mock";
    ctx.stream = true;
    run_stream(state, payload, [&] { return detail::make_openai_to_anthropic_stream(ctx); });
}
BENCHMARK(BM_PayloadStream_OpenAIToAnthropic)->Arg(0)->Arg(1)->Arg(1400);

// Case 4 of the nginx bench: OpenAI client, Anthropic provider.
void BM_PayloadStream_AnthropicToOpenAI(benchmark::State& state) {
    static const std::string payload = read_payload("anthropic-stream.sse");
    ResponseContext ctx;
    ctx.client_model = "gpt-mock";
    ctx.stream = true;
    ctx.include_usage_requested = true;
    run_stream(state, payload, [&] { return detail::make_anthropic_to_openai_stream(ctx); });
}
BENCHMARK(BM_PayloadStream_AnthropicToOpenAI)->Arg(0)->Arg(1)->Arg(1400);

// The passthrough stream (same dialect both sides: framing, model rewrite).
void BM_PayloadStream_Passthrough(benchmark::State& state) {
    static const std::string openai = read_payload("openai-stream.sse");
    static const std::string anthropic = read_payload("anthropic-stream.sse");
    const bool is_openai = state.range(1) == 0;
    ResponseContext ctx;
    ctx.client_model = is_openai ? "gpt-mock" : "claude-mock";
    ctx.stream = true;
    const Dialect d = is_openai ? Dialect::kOpenAI : Dialect::kAnthropic;
    run_stream(state, is_openai ? openai : anthropic, [&] { return make_stream_transcoder(d, d, ctx); });
}
BENCHMARK(BM_PayloadStream_Passthrough)->Args({0, 0})->Args({1400, 0})->Args({0, 1})->Args({1400, 1});

// The SSE framing alone (shared by every stream path, passthrough included).
void BM_PayloadStream_SseParser(benchmark::State& state) {
    static const std::string openai = read_payload("openai-stream.sse");
    static const std::string anthropic = read_payload("anthropic-stream.sse");
    const std::string& payload = state.range(1) == 0 ? openai : anthropic;
    if (payload.empty()) {
        state.SkipWithError("bench payload not found");
        return;
    }
    const std::vector<std::string_view> pieces = split(payload, state.range(0));
    std::size_t events = 0;
    std::size_t data_bytes = 0;
    SseParser parser;
    for (auto _ : state) {
        parser.reset();
        events = 0;
        auto on_event = [&](const SseEvent& e) {
            ++events;
            data_bytes += e.data.size();
        };
        for (std::string_view p : pieces) parser.feed(p, on_event);
        parser.finish(on_event);
    }
    benchmark::DoNotOptimize(data_bytes);
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * payload.size()));
    state.counters["events"] = static_cast<double>(events);
}
BENCHMARK(BM_PayloadStream_SseParser)
    ->Args({0, 0})->Args({1, 0})->Args({1400, 0})
    ->Args({0, 1})->Args({1, 1})->Args({1400, 1});

}  // namespace
}  // namespace llmproxy
