// The cross-dialect translators behind translate.hpp's facade. One function
// per direction and shape; translate.cpp dispatches on (provider, client).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/translate.hpp"

namespace llmproxy::detail {

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
