// Files the benchmarks read, by path relative to src/core/tests/data: the
// test fixtures, and (through ../../../../bench/payloads) the canned
// responses of the nginx benchmark's mock providers.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace llmproxy::bench {

inline std::string read_test_data(std::string_view relative) {
    std::ifstream in(std::string(LLMPROXY_TEST_DATA_DIR) + "/" + std::string(relative), std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace llmproxy::bench
