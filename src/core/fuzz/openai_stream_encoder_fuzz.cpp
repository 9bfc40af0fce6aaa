// libFuzzer target: Anthropic SSE -> OpenAI chunk stream encoder. The input
// is fed whole and at split points taken from its first bytes; both runs must
// give identical output that passes the OpenAI stream grammar validator.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/openai_from_anthropic.hpp"
#include "core/tests/openai_stream_validator.hpp"

namespace {

[[noreturn]] void fail(const char* why, std::string_view detail) {
    std::fprintf(stderr, "openai_stream_encoder_fuzz: %s\n%.*s\n", why,
                 static_cast<int>(detail.size() > 4000 ? 4000 : detail.size()), detail.data());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace llmproxy;
    if (size < 2) return 0;
    // Byte 0: options; byte 1: split seed; the rest is the provider stream.
    ResponseContext ctx;
    ctx.client_model = "gpt-4o";
    ctx.stream = true;
    ctx.include_usage_requested = (data[0] & 1) != 0;
    if (data[0] & 2) ctx.tool_names.provider_to_client.emplace_back("T_1", "t.1");
    bool use_fail = (data[0] & 4) != 0;
    unsigned seed = data[1];
    std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

    detail::OpenAIStreamEncoder whole(ctx, 1700000000);
    std::string out_whole;
    whole.feed(input, out_whole);
    if (use_fail) whole.fail(502, "upstream failed", out_whole);
    whole.finish(out_whole);

    detail::OpenAIStreamEncoder split(ctx, 1700000000);
    std::string out_split;
    std::size_t pos = 0;
    unsigned step = seed % 13 + 1;
    while (pos < input.size()) {
        std::size_t n = step;
        split.feed(input.substr(pos, n), out_split);
        pos += n;
        step = (step * 7 + seed) % 17 + 1;
    }
    if (use_fail) split.fail(502, "upstream failed", out_split);
    split.finish(out_split);

    if (out_whole != out_split) fail("split feeding changed the output", out_whole + "\n----\n" + out_split);
    std::string why = llmproxy::testing::validate_openai_stream(out_whole);
    if (!why.empty()) fail(why.c_str(), out_whole);
    if (!whole.started()) fail("finished stream not started", out_whole);
    return 0;
}
