// Decoding of provider responses that arrive compressed although the gateway
// asked for identity. Bounded: total output may not exceed a cap, so a
// compression bomb costs at most the cap.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.hpp"

namespace llmproxy {

class Inflater {
public:
    // `encoding` is the Content-Encoding value: "gzip", "x-gzip" or "deflate".
    static Result<std::unique_ptr<Inflater>> create(std::string_view encoding,
                                                    std::size_t max_total_out);
    ~Inflater();
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;

    // Appends the decoded bytes of `in` to `out`. Fails on corrupt input or
    // when the total decoded size would pass the cap.
    Status feed(std::string_view in, std::string& out);

    static bool handles(std::string_view encoding);

private:
    Inflater();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace llmproxy
