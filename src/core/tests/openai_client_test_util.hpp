// Helpers shared by the openai_client_* tests (OpenAI client <-> Anthropic
// provider): request translation from JSON text and JSON comparison.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "core/json.hpp"
#include "core/translate.hpp"
#include "core/translate_internal.hpp"

namespace llmproxy::testing {

// Compares two JSON texts structurally (member order ignored); on mismatch
// reports both in canonical compact form.
inline ::testing::AssertionResult JsonEq(std::string_view actual, std::string_view expected) {
    rapidjson::Document a, e;
    JsonLimits limits;
    if (Status st = parse_json(actual, limits, a, "actual"); !st.ok()) {
        return ::testing::AssertionFailure() << st.error().describe() << "\n" << actual;
    }
    if (Status st = parse_json(expected, limits, e, "expected"); !st.ok()) {
        return ::testing::AssertionFailure() << st.error().describe() << "\n" << expected;
    }
    if (a == e) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "\n  actual:   " << json_to_string(a)
                                         << "\n  expected: " << json_to_string(e);
}

// Holds the request text so the ParsedRequest's view stays valid.
struct OpenAIRequestCase {
    std::string body;
    ParsedRequest parsed;
    Status parse_status;

    explicit OpenAIRequestCase(std::string text) : body(std::move(text)) {
        parse_status = parse_request(Dialect::kOpenAI, body, JsonLimits{}, parsed);
    }

    Result<TranslatedRequest> translate(const TranslateOptions& opts) const {
        return detail::openai_to_anthropic_request(parsed, opts);
    }
};

inline TranslateOptions default_options() {
    TranslateOptions opts;
    opts.target_model = "claude-sonnet-4-5";
    return opts;
}

}  // namespace llmproxy::testing
