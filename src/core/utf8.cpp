#include "core/utf8.hpp"

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace llmproxy {

namespace {

bool is_cont(unsigned char c) { return (c & 0xC0u) == 0x80u; }

// Advances `p` over the ASCII run starting there (stops at the first byte
// with the high bit set, or at `end`).
const unsigned char* skip_ascii(const unsigned char* p, const unsigned char* end) {
#if defined(__SSE2__)
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        int mask = _mm_movemask_epi8(v);
        if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
        p += 16;
    }
#endif
    while (end - p >= 8) {
        std::uint64_t x;
        std::memcpy(&x, p, 8);
        if ((x & 0x8080808080808080ull) != 0) break;
        p += 8;
    }
    while (p < end && *p < 0x80u) ++p;
    return p;
}

}  // namespace

bool utf8_valid(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const unsigned char* end = p + s.size();
    for (;;) {
        p = skip_ascii(p, end);
        if (p == end) return true;
        const unsigned char c = *p;
        const auto left = end - p;
        if (c >= 0xC2u && c <= 0xDFu) {
            if (left < 2 || !is_cont(p[1])) return false;
            p += 2;
        } else if (c >= 0xE0u && c <= 0xEFu) {
            if (left < 3) return false;
            // E0 needs A0..BF (no overlongs), ED needs 80..9F (no surrogates).
            const unsigned char lo = c == 0xE0u ? 0xA0u : 0x80u;
            const unsigned char hi = c == 0xEDu ? 0x9Fu : 0xBFu;
            if (p[1] < lo || p[1] > hi || !is_cont(p[2])) return false;
            p += 3;
        } else if (c >= 0xF0u && c <= 0xF4u) {
            if (left < 4) return false;
            // F0 needs 90..BF (no overlongs), F4 needs 80..8F (<= U+10FFFF).
            const unsigned char lo = c == 0xF0u ? 0x90u : 0x80u;
            const unsigned char hi = c == 0xF4u ? 0x8Fu : 0xBFu;
            if (p[1] < lo || p[1] > hi || !is_cont(p[2]) || !is_cont(p[3])) return false;
            p += 4;
        } else {
            return false;  // stray continuation byte, C0/C1 overlong lead, F5..FF
        }
    }
}

}  // namespace llmproxy
