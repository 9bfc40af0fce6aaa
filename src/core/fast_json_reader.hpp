// A fast in-situ SAX pass, used before RapidJSON's Reader for the small JSON
// objects of streamed events and for request bodies.
//
// It handles the common subset only: objects, arrays, strings (escapes
// decoded in place, \u escapes outside the surrogate range), numbers
// (non-negative integers of up to 18 digits itself, the others through
// RapidJSON's own number reader), true/false/null. On anything else (a
// surrogate escape, an embedded NUL, nesting beyond kMaxDepth, any syntax
// error, a handler returning false) it returns false, and the caller parses
// the original bytes again with RapidJSON (kParseInsituFlag), which then
// decides and reports exactly as it always did. Whenever it returns true, it
// has made the same handler calls RapidJSON would have made for that text,
// in the same order (tested differentially against RapidJSON).
//
// It also checks UTF-8 (with utf8_valid's rules): a text it accepts is valid
// UTF-8 throughout, so the caller needs no separate pass, nor RapidJSON's
// kParseValidateEncodingFlag.
//
// Precondition: `text` is followed by kPadding NUL bytes (strings are scanned
// 16 bytes at a time; the NUL stops every scan at the end). Strings are
// decoded in place: the handler receives pointers into `text`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <rapidjson/reader.h>

#include "core/utf8.hpp"

// The per-token helpers must be inlined into the parse loop (the position
// then stays in a register); compilers otherwise stop at the larger ones.
#if defined(__GNUC__)
#define LLMPROXY_FAST_JSON_INLINE __attribute__((always_inline)) inline
#else
#define LLMPROXY_FAST_JSON_INLINE inline
#endif

namespace llmproxy {

class FastJsonReader {
public:
    static constexpr std::size_t kPadding = 16;
    static constexpr unsigned kMaxDepth = 160;

    // Parses the whole of [text, text + size) as one JSON value, optionally
    // surrounded by whitespace. text[size] is a NUL (the padding): it ends
    // every scan, so most bounds checks below are that sentinel.
    template <class Handler>
    static bool parse(char* text, std::size_t size, Handler& h) {
        char* p = text;
        char* const end = text + size;
        // Per open container: is it an array, and how many members so far.
        bool is_array[kMaxDepth];
        std::uint32_t count[kMaxDepth];
        unsigned depth = 0;
        skip_ws(p);
        for (;;) {
            // ---- a value ----
            const char c = *p;
            if (c == '"') {
                const char* s;
                std::size_t n;
                if (!string(p, end, s, n) || !h.String(s, static_cast<unsigned>(n), false)) return false;
            } else if (c == '{' || c == '[') {
                if (depth == kMaxDepth) return false;
                const bool array = c == '[';
                ++p;
                if (!(array ? h.StartArray() : h.StartObject())) return false;
                skip_ws(p);
                if (*p == (array ? ']' : '}')) {
                    ++p;
                    if (!(array ? h.EndArray(0) : h.EndObject(0))) return false;
                } else {
                    is_array[depth] = array;
                    count[depth] = 0;
                    ++depth;
                    if (!array && !key(p, end, h)) return false;
                    continue;  // the first member's value
                }
            } else if ((c >= '0' && c <= '9') || c == '-') {
                if (!number(p, h)) return false;
            } else if (c == 't') {
                if (!literal(p, end, "true", 4) || !h.Bool(true)) return false;
            } else if (c == 'f') {
                if (!literal(p, end, "false", 5) || !h.Bool(false)) return false;
            } else if (c == 'n') {
                if (!literal(p, end, "null", 4) || !h.Null()) return false;
            } else if (is_ws(c)) {
                // Whitespace before a value is rare: looked for only here.
                skip_ws(p);
                continue;
            } else {
                return false;  // NUL (the end) and everything invalid
            }
            // ---- after a value: close containers, or move to the next member ----
            for (;;) {
                skip_ws(p);
                if (depth == 0) return p == end;
                const bool array = is_array[depth - 1];
                ++count[depth - 1];
                if (*p == ',') {
                    ++p;
                    if (!array && !key(p, end, h)) return false;
                    break;  // the next value
                }
                if (*p != (array ? ']' : '}')) return false;
                ++p;
                --depth;
                if (!(array ? h.EndArray(count[depth]) : h.EndObject(count[depth]))) return false;
            }
        }
    }

    // Copies `data` into `buf` followed by kPadding NULs and returns the copy,
    // ready for parse(). `buf` keeps its largest size: no reallocation once
    // events stop growing.
    static char* copy_padded(std::string& buf, std::string_view data) {
        const std::size_t need = data.size() + kPadding;
        if (buf.size() < need) buf.resize(need);
        char* text = &buf[0];
        if (!data.empty()) std::memcpy(text, data.data(), data.size());
        std::memset(text + data.size(), 0, kPadding);
        return text;
    }

private:
    static bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

    LLMPROXY_FAST_JSON_INLINE static void skip_ws(char*& p) {
        // Most bytes are above ' ': one comparison for them.
        while (static_cast<unsigned char>(*p) <= ' ' && is_ws(*p)) ++p;
    }

    // A member's key and its colon, whitespace around them included
    // (looked for only when the expected byte is not there: provider JSON
    // is compact).
    template <class Handler>
    LLMPROXY_FAST_JSON_INLINE static bool key(char*& p, const char* end, Handler& h) {
        if (*p != '"') {
            skip_ws(p);
            if (*p != '"') return false;
        }
        const char* s;
        std::size_t n;
        if (!string(p, end, s, n) || !h.Key(s, static_cast<unsigned>(n), false)) return false;
        if (*p != ':') {
            skip_ws(p);
            if (*p != ':') return false;
        }
        ++p;
        return true;
    }

    static bool literal(char*& p, const char* end, const char* word, std::size_t n) {
        if (static_cast<std::size_t>(end - p) < n || std::memcmp(p, word, n) != 0) return false;
        p += n;
        return true;
    }

    template <class Handler>
    LLMPROXY_FAST_JSON_INLINE static bool number(char*& p, Handler& h) {
        const char* start = p;
        std::uint64_t v = 0;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + static_cast<unsigned>(*p - '0');
            ++p;
        }
        const auto digits = static_cast<std::size_t>(p - start);
        if (digits == 0 || digits > 18 || *p == '.' || *p == 'e' || *p == 'E') {
            p = const_cast<char*>(start);
            return rapidjson_number(p, h);
        }
        if (digits > 1 && *start == '0') return false;
        // RapidJSON's choice between its 32- and 64-bit callbacks.
        return v <= 0xFFFFFFFFull ? h.Uint(static_cast<unsigned>(v)) : h.Uint64(v);
    }

    // Forwards the one number RapidJSON's reader finds to the handler.
    template <class Handler>
    struct NumberForwarder {
        using Ch = char;
        Handler& h;
        bool called = false;
        bool Int(int i) { return called = true, h.Int(i); }
        bool Uint(unsigned u) { return called = true, h.Uint(u); }
        bool Int64(std::int64_t i) { return called = true, h.Int64(i); }
        bool Uint64(std::uint64_t u) { return called = true, h.Uint64(u); }
        bool Double(double d) { return called = true, h.Double(d); }
        bool Null() { return false; }
        bool Bool(bool) { return false; }
        bool RawNumber(const Ch*, rapidjson::SizeType, bool) { return false; }
        bool String(const Ch*, rapidjson::SizeType, bool) { return false; }
        bool StartObject() { return false; }
        bool Key(const Ch*, rapidjson::SizeType, bool) { return false; }
        bool EndObject(rapidjson::SizeType) { return false; }
        bool StartArray() { return false; }
        bool EndArray(rapidjson::SizeType) { return false; }
    };

    // A number outside the fast subset (a sign, a fraction, an exponent, 19
    // digits or more): RapidJSON's reader converts it, so the value and the
    // callback are exactly those of a whole-document RapidJSON parse
    // (default flags). Common in requests: "temperature": 0.7.
    template <class Handler>
    static bool rapidjson_number(char*& p, Handler& h) {
        NumberForwarder<Handler> forward{h};
        // The caller's allocator: a Reader otherwise takes one from the heap.
        // A number never touches the reader's stack.
        rapidjson::CrtAllocator crt;
        rapidjson::Reader reader(&crt, 0);
        rapidjson::StringStream in(p);
        reader.Parse<rapidjson::kParseStopWhenDoneFlag>(in, forward);
        if (reader.HasParseError() || !forward.called) return false;
        p += in.Tell();
        return true;
    }

    // The first '"', '\\', control byte (NUL included) or non-ASCII byte at
    // or after p.
    LLMPROXY_FAST_JSON_INLINE static const char* scan_plain(const char* p) {
#if defined(__SSE2__)
        const __m128i quote = _mm_set1_epi8('"');
        const __m128i backslash = _mm_set1_epi8('\\');
        const __m128i max_ctrl = _mm_set1_epi8(0x1F);
        for (;; p += 16) {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
            // Bytes < 0x20 as unsigned: min(v, 0x1F) == v.
            const __m128i ctrl = _mm_cmpeq_epi8(_mm_min_epu8(v, max_ctrl), v);
            const __m128i hit =
                _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), ctrl);
            const int mask = _mm_movemask_epi8(hit) | _mm_movemask_epi8(v);  // | high bits
            if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
        }
#else
        for (;; ++p) {
            const auto b = static_cast<unsigned char>(*p);
            if (b == '"' || b == '\\' || b < 0x20u || b >= 0x80u) return p;
        }
#endif
    }

    // The first '"', '\\' or control byte at or after p, with the UTF-8 of
    // what lies before it checked; nullptr if that is not valid UTF-8.
    LLMPROXY_FAST_JSON_INLINE static char* scan_string(char* p) {
        for (;;) {
            p = const_cast<char*>(scan_plain(p));
            if (static_cast<unsigned char>(*p) < 0x80u) return p;
            p = const_cast<char*>(utf8_skip_non_ascii(p));
            if (p == nullptr) return nullptr;
        }
    }

    // A string at p (on its opening quote); p ends after its closing quote.
    LLMPROXY_FAST_JSON_INLINE static bool string(char*& p, const char* end, const char*& out, std::size_t& n) {
        char* const start = p + 1;
        char* r = scan_string(start);
        if (r == nullptr) return false;
        if (*r == '"' && r < end) {  // the common case: no escapes
            out = start;
            n = static_cast<std::size_t>(r - start);
            p = r + 1;
            return true;
        }
        if (*r != '\\' || r >= end) return false;  // control byte, NUL or unterminated
        char* w = unescape(r, end);
        if (w == nullptr) return false;
        out = start;
        n = static_cast<std::size_t>(w - start);
        p = r + 1;
        return true;
    }

    // Decodes escapes in place from r (on a backslash) to the closing quote,
    // which r is left on. Returns the end of the decoded text, or nullptr.
    static char* unescape(char*& r, const char* end) {
        char* w = r;
        for (;;) {
            // r is on a backslash here.
            if (end - r < 2) return nullptr;
            switch (r[1]) {
            case '"': *w++ = '"'; break;
            case '\\': *w++ = '\\'; break;
            case '/': *w++ = '/'; break;
            case 'b': *w++ = '\b'; break;
            case 'f': *w++ = '\f'; break;
            case 'n': *w++ = '\n'; break;
            case 'r': *w++ = '\r'; break;
            case 't': *w++ = '\t'; break;
            case 'u': {
                if (end - r < 6 || !is_hex(r[2]) || !is_hex(r[3]) || !is_hex(r[4]) || !is_hex(r[5])) {
                    return nullptr;
                }
                const unsigned cp = hex_value(r[2]) << 12 | hex_value(r[3]) << 8 |
                                    hex_value(r[4]) << 4 | hex_value(r[5]);
                if (cp >= 0xD800u && cp <= 0xDFFFu) return nullptr;  // surrogates: RapidJSON decides
                // UTF-8 of cp is never longer than the 6-byte escape: w stays behind r.
                if (cp < 0x80u) {
                    *w++ = static_cast<char>(cp);
                } else if (cp < 0x800u) {
                    *w++ = static_cast<char>(0xC0u | (cp >> 6));
                    *w++ = static_cast<char>(0x80u | (cp & 0x3Fu));
                } else {
                    *w++ = static_cast<char>(0xE0u | (cp >> 12));
                    *w++ = static_cast<char>(0x80u | ((cp >> 6) & 0x3Fu));
                    *w++ = static_cast<char>(0x80u | (cp & 0x3Fu));
                }
                r += 4;
                break;
            }
            default: return nullptr;
            }
            r += 2;
            // The plain run up to the next special byte, moved down to w.
            char* next = scan_string(r);
            if (next == nullptr || next >= end) return nullptr;
            const auto run = static_cast<std::size_t>(next - r);
            std::memmove(w, r, run);
            w += run;
            r = next;
            if (*r == '"') return w;
            if (*r != '\\') return nullptr;  // control byte or NUL
        }
    }

    static bool is_hex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }
    static unsigned hex_value(char c) {
        if (c <= '9') return static_cast<unsigned>(c - '0');
        return static_cast<unsigned>((c | 0x20) - 'a' + 10);
    }
};

}  // namespace llmproxy

#undef LLMPROXY_FAST_JSON_INLINE
