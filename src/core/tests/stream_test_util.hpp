// Runs a stream transcoder over the same input fed whole, one byte at a time
// and at random split points, and checks that every run gives identical
// output. Used by the stream tests of both directions.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/translate.hpp"

namespace llmproxy::testing {

using TranscoderFactory = std::function<std::unique_ptr<StreamTranscoder>()>;

// Feeds `input` in slices whose sizes come from `cuts` (cycled; empty = one
// slice), then calls finish(). Returns everything the transcoder wrote.
std::string run_transcoder(StreamTranscoder& t, std::string_view input,
                           const std::vector<std::size_t>& cuts = {});

struct SplitRunResult {
    std::string output;       // output of the whole-input run
    bool identical = true;    // every split run matched it
    std::string mismatch;     // description of the first difference
};

// Whole input, byte by byte, and `random_runs` runs at random split points
// (deterministic seeds). Compares outputs.
SplitRunResult run_all_splits(const TranscoderFactory& make, std::string_view input,
                              int random_runs = 20);

// Joins SSE events given as JSON payloads into "data: X\n\n" frames.
std::string openai_sse(const std::vector<std::string>& payloads, bool done = true);

// Reads a file from LLMPROXY_TEST_DATA_DIR.
std::string read_test_data(std::string_view name);

}  // namespace llmproxy::testing
