#include "stream_test_util.hpp"

#include <fstream>
#include <random>
#include <sstream>

namespace llmproxy::testing {

std::string run_transcoder(StreamTranscoder& t, std::string_view input,
                           const std::vector<std::size_t>& cuts) {
    std::string out;
    if (cuts.empty()) {
        t.feed(input, out);
    } else {
        std::size_t pos = 0, k = 0;
        while (pos < input.size()) {
            std::size_t n = cuts[k++ % cuts.size()];
            if (n == 0) n = 1;
            t.feed(input.substr(pos, n), out);
            pos += n;
        }
    }
    t.finish(out);
    return out;
}

SplitRunResult run_all_splits(const TranscoderFactory& make, std::string_view input,
                              int random_runs) {
    SplitRunResult r;
    {
        auto t = make();
        r.output = run_transcoder(*t, input);
    }
    auto compare = [&](const std::string& got, const std::string& how) {
        if (r.identical && got != r.output) {
            r.identical = false;
            std::size_t i = 0;
            while (i < got.size() && i < r.output.size() && got[i] == r.output[i]) ++i;
            r.mismatch = how + ": differs at byte " + std::to_string(i) + "\nwhole: " +
                         r.output.substr(i > 80 ? i - 80 : 0, 200) + "\nsplit: " +
                         got.substr(i > 80 ? i - 80 : 0, 200);
        }
    };
    {
        auto t = make();
        compare(run_transcoder(*t, input, {1}), "byte by byte");
    }
    std::mt19937 rng(12345);
    for (int run = 0; run < random_runs; ++run) {
        std::vector<std::size_t> cuts;
        std::uniform_int_distribution<std::size_t> len(1, run % 2 ? 7 : 64);
        for (int i = 0; i < 64; ++i) cuts.push_back(len(rng));
        auto t = make();
        compare(run_transcoder(*t, input, cuts), "random split run " + std::to_string(run));
    }
    return r;
}

std::string openai_sse(const std::vector<std::string>& payloads, bool done) {
    std::string out;
    for (const auto& p : payloads) out += "data: " + p + "\n\n";
    if (done) out += "data: [DONE]\n\n";
    return out;
}

std::string read_test_data(std::string_view name) {
    std::ifstream f(std::string(LLMPROXY_TEST_DATA_DIR) + "/" + std::string(name), std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

}  // namespace llmproxy::testing
