// Input-token estimate for /v1/messages/count_tokens and for long-context
// routing, computed locally (no provider call). It is an estimate, and says
// so: text counts ceil(ASCII bytes / 4) plus one token per non-ASCII code
// point (CJK text is close to one token per character); JSON (tool schemas,
// tool inputs) counts its keys and string values the same way plus one token
// per other value; every message adds 4 tokens of framing, every tool 8;
// images a flat 1,600 tokens (Anthropic's cost for a ~1.15 megapixel image,
// the largest it keeps unscaled) and documents 1,600 per 100 KB of data.
#pragma once

#include <cstdint>

#include "core/translate.hpp"

namespace llmproxy {

std::uint64_t estimate_input_tokens(const ParsedRequest& req);

// Text cost alone (exposed for tests).
std::uint64_t estimate_text_tokens(std::string_view text);

}  // namespace llmproxy
