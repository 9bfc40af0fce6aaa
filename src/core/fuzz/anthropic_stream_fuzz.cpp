// Fuzzes the OpenAI SSE -> Anthropic SSE encoder. The first input byte picks
// a split pattern; the rest is the upstream stream. Asserts: the output passes
// the Anthropic stream grammar validator (complete, sequential blocks, known
// types), and feeding it whole or split gives byte-identical output.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "anthropic_stream_validator.hpp"
#include "core/translate_internal.hpp"

namespace {

std::string run(std::string_view input, std::size_t step, bool fail_at_end) {
    llmproxy::ResponseContext ctx;
    ctx.client_model = "claude-sonnet-4-5";
    ctx.stream = true;
    auto enc = llmproxy::detail::make_openai_to_anthropic_stream(ctx);
    std::string out;
    if (step == 0) {
        enc->feed(input, out);
    } else {
        for (std::size_t pos = 0; pos < input.size(); pos += step) enc->feed(input.substr(pos, step), out);
    }
    if (fail_at_end) enc->fail(502, "upstream reset", out);
    enc->finish(out);
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::size_t step = 1 + (data[0] & 0x1f);
    bool fail_at_end = (data[0] & 0x80) != 0;
    std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
    std::string whole = run(input, 0, fail_at_end);
    llmproxy::testing::AnthropicValidatorOptions opts;
    opts.tool_json_must_parse = false;  // upstream arguments are arbitrary here
    auto summary = llmproxy::testing::validate_anthropic_stream(whole, opts);
    if (!summary.ok) {
        std::fprintf(stderr, "grammar violation: %s\n%s\n", summary.error.c_str(), whole.c_str());
        std::abort();
    }
    if (run(input, step, fail_at_end) != whole) {
        std::fprintf(stderr, "split feeding (step %zu) changed the output\n", step);
        std::abort();
    }
    return 0;
}
