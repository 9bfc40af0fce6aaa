// Strict UTF-8 validation (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF) with an ASCII fast path, for whole stream events:
// one pass over an event's bytes is much cheaper than RapidJSON's
// per-character kParseValidateEncodingFlag, and accepts exactly the same
// sequences.
#pragma once

#include <string_view>

namespace llmproxy {

bool utf8_valid(std::string_view s);

// Checks the run of non-ASCII bytes starting at `p` and returns the first
// ASCII byte after it, or nullptr when the run is not valid UTF-8 (same rules
// as utf8_valid). The run must be followed by an ASCII byte (a NUL sentinel
// will do): nothing past it is read.
const char* utf8_skip_non_ascii(const char* p);

}  // namespace llmproxy
