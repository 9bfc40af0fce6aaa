// Strict UTF-8 validation (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF) with an ASCII fast path, for whole stream events:
// one pass over an event's bytes is much cheaper than RapidJSON's
// per-character kParseValidateEncodingFlag, and accepts exactly the same
// sequences.
#pragma once

#include <string_view>

namespace llmproxy {

bool utf8_valid(std::string_view s);

}  // namespace llmproxy
