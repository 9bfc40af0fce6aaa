// libFuzzer target: the same-dialect stream (passthrough), Anthropic or
// OpenAI. The input is fed whole and at split points taken from its first
// bytes. Both runs must give the same events (compared parsed: an Anthropic
// stream is forwarded in the provider's framing until a CR shows up, and that
// moment depends on the split) and the same usage; every output is whole
// events and ends the stream (an end event or the error event).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/sse.hpp"
#include "core/translate.hpp"

namespace {

[[noreturn]] void fail(const char* why, std::string_view detail) {
    std::fprintf(stderr, "passthrough_stream_fuzz: %s\n%.*s\n", why,
                 static_cast<int>(detail.size() > 4000 ? 4000 : detail.size()), detail.data());
    std::abort();
}

// "name\x1f" "data" per event, as a client's SSE parser sees them.
std::vector<std::string> events_of(std::string_view stream) {
    std::vector<std::string> events;
    llmproxy::SseParser parser;
    auto take = [&](const llmproxy::SseEvent& ev) {
        events.push_back(std::string(ev.event) + '\x1f' + std::string(ev.data));
    };
    parser.feed(stream, take);
    parser.finish(take);
    return events;
}

bool same_usage(const llmproxy::Usage& a, const llmproxy::Usage& b) {
    return a.known == b.known && a.input_tokens == b.input_tokens &&
           a.output_tokens == b.output_tokens &&
           a.cache_read_input_tokens == b.cache_read_input_tokens &&
           a.cache_creation_input_tokens == b.cache_creation_input_tokens;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace llmproxy;
    if (size < 2) return 0;
    // Byte 0: options; byte 1: split seed; the rest is the provider stream.
    const Dialect dialect = (data[0] & 1) != 0 ? Dialect::kOpenAI : Dialect::kAnthropic;
    const bool use_fail = (data[0] & 2) != 0;
    ResponseContext ctx;
    ctx.client_model = (data[0] & 4) != 0 ? "" : "client-\"model\"";
    ctx.stream = true;
    unsigned seed = data[1];
    std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

    auto whole = make_stream_transcoder(dialect, dialect, ctx);
    std::string out_whole;
    whole->feed(input, out_whole);
    if (use_fail) whole->fail(502, "upstream failed", out_whole);
    whole->finish(out_whole);

    auto split = make_stream_transcoder(dialect, dialect, ctx);
    std::string out_split;
    std::size_t pos = 0;
    unsigned step = seed % 13 + 1;
    while (pos < input.size()) {
        split->feed(input.substr(pos, step), out_split);
        pos += step;
        step = (step * 7 + seed) % 17 + 1;
    }
    if (use_fail) split->fail(502, "upstream failed", out_split);
    split->finish(out_split);

    if (events_of(out_whole) != events_of(out_split)) {
        fail("split feeding changed the events", out_whole + "\n----\n" + out_split);
    }
    if (!same_usage(whole->usage(), split->usage())) fail("split feeding changed the usage", out_whole);
    for (const std::string& out : {out_whole, out_split}) {
        if (out.empty() || out.size() < 2 || out.compare(out.size() - 2, 2, "\n\n") != 0) {
            fail("output does not end with a whole event", out);
        }
    }
    if (!whole->started()) fail("finished stream not started", out_whole);
    return 0;
}
