// The cross-dialect translators behind translate.hpp's facade. One function
// per direction and shape; translate.cpp dispatches on (provider, client).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/translate.hpp"

namespace llmproxy::detail {

// A JSON path ("messages[3].content[0]") kept as a chain of stack objects
// and turned into text only when an error names it: converting a request
// must not allocate a path string for every message and part.
class Path {
public:
    explicit Path(std::string_view root) : name_(root) {}
    Path(const Path& parent, std::string_view name) : parent_(&parent), name_(name) {}
    Path(const Path& parent, std::size_t index) : parent_(&parent), index_(index), is_index_(true) {}

    std::string str() const {
        std::string s = parent_ != nullptr ? parent_->str() : std::string();
        if (is_index_) {
            s += '[';
            s += std::to_string(index_);
            s += ']';
        } else {
            if (!s.empty()) s += '.';
            s += name_;
        }
        return s;
    }

private:
    const Path* parent_ = nullptr;
    std::string_view name_;
    std::size_t index_ = 0;
    bool is_index_ = false;
};

// Anthropic client -> OpenAI provider (Claude Code's direction).
Result<TranslatedRequest> anthropic_to_openai_request(const ParsedRequest& req,
                                                      const TranslateOptions& opts);
Result<std::string> openai_to_anthropic_response(std::string_view body,
                                                 const ResponseContext& ctx, Usage* usage);
std::unique_ptr<StreamTranscoder> make_openai_to_anthropic_stream(const ResponseContext& ctx);

// OpenAI client -> Anthropic provider.
Result<TranslatedRequest> openai_to_anthropic_request(const ParsedRequest& req,
                                                      const TranslateOptions& opts);
Result<std::string> anthropic_to_openai_response(std::string_view body,
                                                 const ResponseContext& ctx, Usage* usage);
std::unique_ptr<StreamTranscoder> make_anthropic_to_openai_stream(const ResponseContext& ctx);

}  // namespace llmproxy::detail
