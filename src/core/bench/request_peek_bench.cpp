// peek_request, the DOM-free look every request gets (model, stream), on the
// ~50 KB Claude Code fixture.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <string>

#include "core/translate.hpp"

namespace llmproxy {
namespace {

std::string claude_code_fixture() {
    std::ifstream f(std::string(LLMPROXY_TEST_DATA_DIR) + "/claude_code_request.json", std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void BM_ClaudeCodeRequest_Peek(benchmark::State& state) {
    const std::string body = claude_code_fixture();
    for (auto _ : state) {
        ParsedRequest req;
        Status st = peek_request(Dialect::kAnthropic, body, JsonLimits{}, req);
        if (!st.ok()) {
            state.SkipWithError(st.error().describe().c_str());
            return;
        }
        benchmark::DoNotOptimize(req.facts.stream);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_ClaudeCodeRequest_Peek)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace llmproxy
