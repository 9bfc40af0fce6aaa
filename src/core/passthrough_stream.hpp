// Same-dialect SSE streams: events pass through with only the model name
// replaced by the one the client asked for, usage is read on the way for
// accounting, and a stream the provider cuts short is ended with an error
// event instead of silently (so clients never see a truncated success).
#pragma once

#include <memory>

#include "core/translate.hpp"

namespace llmproxy {

std::unique_ptr<StreamTranscoder> make_passthrough_stream(Dialect dialect,
                                                          const ResponseContext& ctx);

}  // namespace llmproxy
