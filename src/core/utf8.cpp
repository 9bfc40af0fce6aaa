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

namespace {

// Length of the valid UTF-8 sequence at p (whose first byte is >= 0x80), or
// 0 if it is not one. Reads at most `left` bytes.
std::size_t sequence_length(const unsigned char* p, std::ptrdiff_t left) {
    const unsigned char c = *p;
    if (c >= 0xC2u && c <= 0xDFu) {
        return left >= 2 && is_cont(p[1]) ? 2 : 0;
    }
    if (c >= 0xE0u && c <= 0xEFu) {
        if (left < 3) return 0;
        // E0 needs A0..BF (no overlongs), ED needs 80..9F (no surrogates).
        const unsigned char lo = c == 0xE0u ? 0xA0u : 0x80u;
        const unsigned char hi = c == 0xEDu ? 0x9Fu : 0xBFu;
        return p[1] >= lo && p[1] <= hi && is_cont(p[2]) ? 3 : 0;
    }
    if (c >= 0xF0u && c <= 0xF4u) {
        if (left < 4) return 0;
        // F0 needs 90..BF (no overlongs), F4 needs 80..8F (<= U+10FFFF).
        const unsigned char lo = c == 0xF0u ? 0x90u : 0x80u;
        const unsigned char hi = c == 0xF4u ? 0x8Fu : 0xBFu;
        return p[1] >= lo && p[1] <= hi && is_cont(p[2]) && is_cont(p[3]) ? 4 : 0;
    }
    return 0;  // stray continuation byte, C0/C1 overlong lead, F5..FF
}

}  // namespace

bool utf8_valid(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const unsigned char* end = p + s.size();
    for (;;) {
        p = skip_ascii(p, end);
        if (p == end) return true;
        const std::size_t n = sequence_length(p, end - p);
        if (n == 0) return false;
        p += n;
    }
}

const char* utf8_skip_non_ascii(const char* p) {
    auto* q = reinterpret_cast<const unsigned char*>(p);
    while (*q >= 0x80u) {
        // The ASCII byte that ends the run also ends every sequence check.
        const std::size_t n = sequence_length(q, 4);
        if (n == 0) return nullptr;
        q += n;
    }
    return reinterpret_cast<const char*>(q);
}

}  // namespace llmproxy
