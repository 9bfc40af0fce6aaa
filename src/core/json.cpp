#include "core/json.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>  // AVX2 intrinsics, used under a target attribute only
#endif

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/fast_json_reader.hpp"

namespace llmproxy {

const char* json_skip_string(const char* p, const char* end) {
    while (p < end) {
        auto* q = static_cast<const char*>(std::memchr(p, '"', static_cast<std::size_t>(end - p)));
        if (q == nullptr) return end;
        // The quote is escaped when an odd number of backslashes precede it.
        const char* b = q;
        while (b > p && b[-1] == '\\') --b;
        if (((q - b) & 1) == 0) return q + 1;
        p = q + 1;
    }
    return end;
}

namespace {

#if defined(__SSE2__)
// The four byte classes of a 64-byte block, one bit per byte.
struct BlockMasks {
    std::uint64_t quote = 0, backslash = 0, open = 0, close = 0;
};

#if defined(__GNUC__)
#define LLMPROXY_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define LLMPROXY_ALWAYS_INLINE inline
#endif

LLMPROXY_ALWAYS_INLINE std::uint64_t sse2_eq_mask(__m128i v, char c, int shift) {
    auto m = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c))));
    return static_cast<std::uint64_t>(m) << shift;
}

struct Sse2Masks {
    LLMPROXY_ALWAYS_INLINE BlockMasks operator()(const char* bytes) const {
        BlockMasks m;
        const __m128i fold = _mm_set1_epi8(0x20);  // '[' -> '{', ']' -> '}'
        for (int i = 0; i < 4; ++i) {
            __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + 16 * i));
            __m128i folded = _mm_or_si128(v, fold);
            m.quote |= sse2_eq_mask(v, '"', 16 * i);
            m.backslash |= sse2_eq_mask(v, '\\', 16 * i);
            m.open |= sse2_eq_mask(folded, '{', 16 * i);
            m.close |= sse2_eq_mask(folded, '}', 16 * i);
        }
        return m;
    }
};

#if defined(__GNUC__) && defined(__x86_64__)
#define LLMPROXY_HAVE_AVX2_SCAN 1
// The same masks 32 bytes at a time, on CPUs that have AVX2 (checked at run
// time: the build targets the baseline x86-64).
__attribute__((target("avx2"))) LLMPROXY_ALWAYS_INLINE std::uint64_t avx2_eq_mask(
    __m256i lo, __m256i hi, char c) {
    const __m256i needle = _mm256_set1_epi8(c);
    auto l = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, needle)));
    auto h = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, needle)));
    return static_cast<std::uint64_t>(l) | (static_cast<std::uint64_t>(h) << 32);
}

struct Avx2Masks {
    __attribute__((target("avx2"))) BlockMasks operator()(const char* bytes) const {
        const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bytes));
        const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bytes + 32));
        const __m256i fold = _mm256_set1_epi8(0x20);
        const __m256i flo = _mm256_or_si256(lo, fold);
        const __m256i fhi = _mm256_or_si256(hi, fold);
        BlockMasks m;
        m.quote = avx2_eq_mask(lo, hi, '"');
        m.backslash = avx2_eq_mask(lo, hi, '\\');
        m.open = avx2_eq_mask(flo, fhi, '{');
        m.close = avx2_eq_mask(flo, fhi, '}');
        return m;
    }
};
#endif

// A container's end found 64 bytes at a time, with bit masks instead of a
// branch per string: quotes that are not escaped bound the strings (a prefix
// XOR marks the bytes inside them), and only brackets outside strings move
// the depth. Token-boundary scanning, as the byte loop below does. `Load`
// makes a block's masks (SSE2, or AVX2 where the CPU has it).
class ContainerScanner {
public:
    // `p` at the container's opening bracket.
    template <class Load>
    LLMPROXY_ALWAYS_INLINE const char* skip(const char* p, const char* end, Load load) {
        while (end - p >= 64) {
            if (const char* stop = block(load(p), p); stop != nullptr) return stop;
            p += 64;
            if (string_carry_ != 0 && quotes_ == 0) {
                // 64 bytes of one string: the rest of a long one goes faster
                // with memchr (json_skip_string), from a byte not escaped.
                p = json_skip_string(p + escape_carry_, end);
                string_carry_ = escape_carry_ = 0;
            }
        }
        if (p < end) {
            // The tail, zero-padded: NUL bytes are not structural.
            alignas(32) char tail[64] = {};
            std::memcpy(tail, p, static_cast<std::size_t>(end - p));
            if (const char* stop = block(load(tail), p); stop != nullptr) return stop;
        }
        return end;
    }

private:
    static constexpr std::uint64_t kEvenBits = 0x5555555555555555ULL;

    // Bit i = XOR of bits 0..i: set from an opening quote up to (not
    // including) its closing one.
    static std::uint64_t prefix_xor(std::uint64_t x) {
        x ^= x << 1;
        x ^= x << 2;
        x ^= x << 4;
        x ^= x << 8;
        x ^= x << 16;
        x ^= x << 32;
        return x;
    }

    // The bytes escaped by a backslash: the one after each run of an odd
    // number of them. A run that starts at an even bit ends (adding its
    // start carries through it) at an odd bit when its length is odd, and
    // the other way round. escape_carry_: the block's first byte is escaped.
    std::uint64_t escaped(std::uint64_t backslash) {
        std::uint64_t b = backslash & ~escape_carry_;  // an escaped backslash starts no run
        std::uint64_t starts = b & ~(b << 1);
        std::uint64_t even_ends = (b + (starts & kEvenBits)) & ~b;
        std::uint64_t odd_ends = (b + (starts & ~kEvenBits)) & ~b;
        std::uint64_t out = (even_ends & ~kEvenBits) | (odd_ends & kEvenBits) | escape_carry_;
        escape_carry_ = 0;
        if (b >> 63) {  // the last run goes on into the next block
            int last_start = 63 - __builtin_clzll(starts);
            escape_carry_ = static_cast<std::uint64_t>(last_start & 1);  // odd length so far
        }
        return out;
    }

    // One block's masks; its bytes stand for the text at `at`.
    LLMPROXY_ALWAYS_INLINE const char* block(BlockMasks m, const char* at) {
        std::uint64_t quote = m.quote;
        if ((m.backslash | escape_carry_) != 0) quote &= ~escaped(m.backslash);
        quotes_ = quote;
        std::uint64_t in_string = prefix_xor(quote) ^ string_carry_;
        string_carry_ = static_cast<std::uint64_t>(static_cast<std::int64_t>(in_string) >> 63);
        const std::uint64_t open = m.open & ~in_string;
        const std::uint64_t close = m.close & ~in_string;
        for (std::uint64_t brackets = open | close; brackets != 0; brackets &= brackets - 1) {
            std::uint64_t bit = brackets & (~brackets + 1);
            if (open & bit) {
                ++depth_;
            } else if (--depth_ == 0) {
                return at + __builtin_ctzll(bit) + 1;
            }
        }
        return nullptr;
    }

    std::size_t depth_ = 0;
    std::uint64_t quotes_ = 0;        // the last block's string-bounding quotes
    std::uint64_t escape_carry_ = 0;
    std::uint64_t string_carry_ = 0;  // all ones while inside a string
};

const char* skip_container_sse2(const char* p, const char* end) {
    return ContainerScanner().skip(p, end, Sse2Masks());
}

#if defined(LLMPROXY_HAVE_AVX2_SCAN)
__attribute__((target("avx2"))) const char* skip_container_avx2(const char* p, const char* end) {
    return ContainerScanner().skip(p, end, Avx2Masks());
}
#endif
#endif

#if !defined(__SSE2__)
// A byte at a time, where there is no SSE2.
const char* skip_container_bytes(const char* p, const char* end) {
    unsigned depth = 0;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            p = json_skip_string(p + 1, end);
            continue;
        }
        ++p;
        if (c == '{' || c == '[') {
            ++depth;
        } else if ((c == '}' || c == ']') && --depth == 0) {
            return p;
        }
    }
    return end;
}
#endif

}  // namespace

const char* detail::json_skip_container(const char* p, const char* end, bool avx2) {
#if defined(LLMPROXY_HAVE_AVX2_SCAN)
    if (avx2 && __builtin_cpu_supports("avx2")) return skip_container_avx2(p, end);
#endif
#if defined(__SSE2__)
    (void)avx2;
    return skip_container_sse2(p, end);
#else
    (void)avx2;
    return skip_container_bytes(p, end);
#endif
}

const char* json_skip_value(const char* p, const char* end) {
    if (p >= end) return end;
    if (*p == '"') return json_skip_string(p + 1, end);
    if (*p == '{' || *p == '[') {
        return detail::json_skip_container(p, end, true);
    }
    while (p < end) {  // number, true, false, null
        char c = *p;
        if (c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            break;
        }
        ++p;
    }
    return p;
}

namespace {

// Where value `v` of the in-situ document begins in `src.raw`, or nullptr:
// a string at its opening quote; a container at the bracket before its first
// element (recursively), which must be a string or a container.
const char* source_value_start(const rapidjson::Value& v, const InsituSource& src) {
    const char* first = nullptr;
    char open = 0;
    if (v.IsString()) {
        std::string_view literal = json_source_literal(v, src);
        return literal.empty() ? nullptr : literal.data();
    }
    if (v.IsObject() && v.MemberCount() > 0) {
        std::string_view name = json_source_literal(v.MemberBegin()->name, src);
        first = name.empty() ? nullptr : name.data();
        open = '{';
    } else if (v.IsArray() && !v.Empty()) {
        first = source_value_start(v[0], src);
        open = '[';
    }
    if (first == nullptr) return nullptr;
    const char* begin = src.raw.data();
    while (first > begin) {
        char c = *--first;
        if (c == open) return first;
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return nullptr;
    }
    return nullptr;
}

}  // namespace

std::string_view json_source_span(const rapidjson::Value& v, const InsituSource& src) {
    if (v.IsString()) return json_source_literal(v, src);
    const char* start = source_value_start(v, src);
    if (start == nullptr) return {};
    const char* end = src.raw.data() + src.raw.size();
    const char* stop = json_skip_value(start, end);
    if (stop == end && stop[-1] != (v.IsObject() ? '}' : ']')) return {};
    return {start, static_cast<std::size_t>(stop - start)};
}

std::string_view json_source_literal(const rapidjson::Value& v, const InsituSource& src) {
    if (!v.IsString()) return {};
    return json_source_literal(std::string_view(v.GetString(), v.GetStringLength()), src);
}

std::string_view json_source_literal(std::string_view decoded, const InsituSource& src) {
    if (src.buffer == nullptr || decoded.data() == nullptr) return {};
    auto at = reinterpret_cast<std::uintptr_t>(decoded.data());
    auto base = reinterpret_cast<std::uintptr_t>(src.buffer);
    // An in-situ string is decoded from the first byte after its opening
    // quote, so its offset in the buffer is that of its content in `raw`.
    if (at <= base || at - base >= src.raw.size()) return {};
    std::size_t offset = at - base;
    if (src.raw[offset - 1] != '"') return {};
    const char* begin = src.raw.data() + offset;
    const char* end = src.raw.data() + src.raw.size();
    const char* close = json_skip_string(begin, end);
    if (close == begin || close[-1] != '"') return {};  // unterminated: not from this text
    auto content = static_cast<std::size_t>(close - 1 - begin);
    // Escapes only ever shorten a string: a shorter literal is not this one.
    if (content < decoded.size()) return {};
    return {begin - 1, content + 2};
}

namespace {

// Forwards the reader's SAX events to a document (or nowhere, to validate
// only), refusing to open a container deeper than the limit. RapidJSON's
// parser recurses once per level and has no limit of its own; stopping it
// here bounds the worker's stack without a separate pre-scan of the text.
class DepthLimitedHandler {
public:
    using Ch = char;
    DepthLimitedHandler(rapidjson::Document* doc, unsigned max_depth)
        : doc_(doc), max_depth_(max_depth) {}
    bool too_deep() const { return too_deep_; }
    bool root_is_object() const { return root_is_object_; }

    bool Null() { return (!doc_ || doc_->Null()); }
    bool Bool(bool b) { return (!doc_ || doc_->Bool(b)); }
    bool Int(int i) { return (!doc_ || doc_->Int(i)); }
    bool Uint(unsigned u) { return (!doc_ || doc_->Uint(u)); }
    bool Int64(std::int64_t i) { return (!doc_ || doc_->Int64(i)); }
    bool Uint64(std::uint64_t u) { return (!doc_ || doc_->Uint64(u)); }
    bool Double(double d) { return (!doc_ || doc_->Double(d)); }
    bool RawNumber(const Ch* s, rapidjson::SizeType n, bool copy) {
        return (!doc_ || doc_->RawNumber(s, n, copy));
    }
    bool String(const Ch* s, rapidjson::SizeType n, bool copy) {
        return (!doc_ || doc_->String(s, n, copy));
    }
    bool Key(const Ch* s, rapidjson::SizeType n, bool copy) { return !doc_ || doc_->Key(s, n, copy); }
    bool StartObject() {
        if (depth_ == 0) root_is_object_ = true;
        return open() && (!doc_ || doc_->StartObject());
    }
    bool EndObject(rapidjson::SizeType n) { --depth_; return !doc_ || doc_->EndObject(n); }
    bool StartArray() { return open() && (!doc_ || doc_->StartArray()); }
    bool EndArray(rapidjson::SizeType n) { --depth_; return !doc_ || doc_->EndArray(n); }

private:
    bool open() {
        if (++depth_ <= max_depth_) return true;
        too_deep_ = true;
        return false;
    }
    rapidjson::Document* doc_;
    unsigned max_depth_;
    unsigned depth_ = 0;
    bool too_deep_ = false;
    bool root_is_object_ = false;
};

// Strings from FastJsonReader as RapidJSON's reader would give them. In
// situ: ended with a NUL, as RapidJSON's in-situ strings are (GetString() is
// a C string; the closing quote is behind the reader by the time it calls).
// Otherwise: copied into the document, which must not point into the
// temporary buffer.
template <bool kInsitu>
class FastReaderHandler : public DepthLimitedHandler {
public:
    using DepthLimitedHandler::DepthLimitedHandler;
    bool String(const Ch* s, rapidjson::SizeType n, bool) {
        if (kInsitu) const_cast<Ch*>(s)[n] = '\0';
        return DepthLimitedHandler::String(s, n, !kInsitu);
    }
    bool Key(const Ch* s, rapidjson::SizeType n, bool) {
        if (kInsitu) const_cast<Ch*>(s)[n] = '\0';
        return DepthLimitedHandler::Key(s, n, !kInsitu);
    }
};

// Offset of the first byte 0x1a..0x1f in `text`, or npos. RapidJSON 1.1's
// SSE2 string scan compares against 0x19 instead of 0x1f and lets these
// control bytes through unescaped; they are never valid JSON anywhere.
std::size_t find_sse2_missed_control(std::string_view text) {
    const char* p = text.data();
    const char* end = p + text.size();
#if defined(__SSE2__)
    const __m128i hi = _mm_set1_epi8(0x1f);
    const __m128i lo = _mm_set1_epi8(0x19);
    for (; end - p >= 16; p += 16) {
        __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        __m128i le_1f = _mm_cmpeq_epi8(_mm_max_epu8(x, hi), hi);
        __m128i le_19 = _mm_cmpeq_epi8(_mm_max_epu8(x, lo), lo);
        if (int mask = _mm_movemask_epi8(_mm_andnot_si128(le_19, le_1f)); mask != 0) {
            return static_cast<std::size_t>(p - text.data()) +
                   static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
        }
    }
#endif
    for (; p < end; ++p) {
        unsigned char c = static_cast<unsigned char>(*p);
        if (c >= 0x1a && c <= 0x1f) return static_cast<std::size_t>(p - text.data());
    }
    return std::string_view::npos;
}

// FastJsonReader over the padded copy `buffer` of `text`. On a decline the
// copy is restored (strings were decoded in place) for RapidJSON to read.
template <bool kInsitu>
bool fast_read(std::string_view text, char* buffer, FastReaderHandler<kInsitu>& handler) {
    if (FastJsonReader::parse(buffer, text.size(), handler)) return true;
    std::memcpy(buffer, text.data(), text.size());
    return false;
}

// Runs the reader over the NUL-terminated, 16-byte padded `buffer` holding
// `text` (see parse_json for why padded) and maps its outcome to a Status.
// In situ, strings are decoded in place inside `buffer`.
template <unsigned kFlags>
Status read_padded(std::string_view text, char* buffer, const JsonLimits& limits,
                   DepthLimitedHandler& handler, std::string_view what) {
    rapidjson::Reader reader;
    std::size_t consumed;
    if constexpr ((kFlags & rapidjson::kParseInsituFlag) != 0) {
        rapidjson::InsituStringStream in(buffer);
        reader.Parse<kFlags>(in, handler);
        consumed = in.Tell();
    } else {
        rapidjson::StringStream in(buffer);
        reader.Parse<kFlags>(in, handler);
        consumed = in.Tell();
    }
    if (handler.too_deep()) {
        return make_error(ErrorCode::kTooLarge, "",
                          std::string(what) + " nests deeper than " +
                              std::to_string(limits.max_depth) + " levels");
    }
    if (reader.HasParseError()) {
        return make_error(ErrorCode::kInvalidRequest, "",
                          std::string(what) + " is not valid JSON at offset " +
                              std::to_string(reader.GetErrorOffset()) + ": " +
                              rapidjson::GetParseError_En(reader.GetParseErrorCode()));
    }
    // A raw NUL inside the text (never valid JSON) looks like the end of the
    // buffer to the reader, which then stops early.
    if (consumed != text.size()) {
        return make_error(ErrorCode::kInvalidRequest, "",
                          std::string(what) + " contains a NUL byte");
    }
    if (std::size_t at = find_sse2_missed_control(text); at != std::string_view::npos) {
        return make_error(ErrorCode::kInvalidRequest, "",
                          std::string(what) + " is not valid JSON at offset " +
                              std::to_string(at) + ": unescaped control character");
    }
    return Status();
}

// parse_json and parse_json_insitu: read_padded into `doc`, which is left
// null (its allocator kept) when the text is not accepted.
template <unsigned kFlags>
Status parse_padded(std::string_view text, char* buffer, const JsonLimits& limits,
                    rapidjson::Document& doc, std::string_view what) {
    // FastJsonReader first: a third faster on a Claude Code request (fewer
    // steps per escape), and what it accepts is valid JSON and UTF-8 with no
    // control bytes. Outside its subset (a surrogate escape, any error) it
    // declines and RapidJSON parses a fresh copy, deciding and reporting as
    // before.
    {
        bool accepted = false;
        auto fast = [&](rapidjson::Document& target) {
            FastReaderHandler<(kFlags & rapidjson::kParseInsituFlag) != 0> handler(&target,
                                                                               limits.max_depth);
            accepted = fast_read(text, buffer, handler);
            return accepted;
        };
        doc.SetNull();
        doc.Populate(fast);
        if (accepted) return Status();
        doc.SetNull();
    }
    Status st;
    auto generate = [&](rapidjson::Document& target) {
        DepthLimitedHandler handler(&target, limits.max_depth);
        st = read_padded<kFlags>(text, buffer, limits, handler, what);
        return st.ok();
    };
    doc.SetNull();
    doc.Populate(generate);
    if (!st.ok()) doc.SetNull();
    return st;
}

Status check_size(std::string_view text, const JsonLimits& limits, std::string_view what) {
    if (text.size() > limits.max_bytes) {
        return make_error(ErrorCode::kTooLarge, "",
                          std::string(what) + " is larger than " +
                              std::to_string(limits.max_bytes) + " bytes");
    }
    return Status();
}

// Copies `text` NUL-terminated and padded to a 16-byte multiple: the input
// form RapidJSON's SSE2 scanning works on (3x faster on a Claude Code
// request), its aligned 16-byte reads staying inside the buffer.
std::size_t padded_size(std::size_t n) { return n + 16 - (n % 16); }

}  // namespace

Status parse_json(std::string_view text, const JsonLimits& limits,
                  rapidjson::Document& doc, std::string_view what) {
    if (Status st = check_size(text, limits, what); !st.ok()) return st;
    // Not kParseFullPrecisionFlag: RapidJSON 1.1's full-precision path reads
    // out of bounds on crafted numbers.
    std::string padded;
    // RapidJSON's padding, then FastJsonReader's (see parse_json_insitu).
    std::size_t size = padded_size(text.size()) + FastJsonReader::kPadding;
    padded.reserve(size);
    padded.append(text);
    padded.append(size - text.size(), '\0');
    return parse_padded<rapidjson::kParseDefaultFlags>(text, padded.data(), limits, doc, what);
}

Status parse_json_insitu(std::string_view text, const JsonLimits& limits,
                         rapidjson::Document& doc, std::unique_ptr<char[]>& buffer,
                         std::string_view what) {
    if (Status st = check_size(text, limits, what); !st.ok()) return st;
    // RapidJSON's padding, then FastJsonReader's (it reads 16 bytes at a
    // time from any position).
    std::size_t size = padded_size(text.size()) + FastJsonReader::kPadding;
    std::unique_ptr<char[]> padded(new char[size]);
    std::memcpy(padded.get(), text.data(), text.size());
    std::memset(padded.get() + text.size(), 0, size - text.size());
    Status st = parse_padded<rapidjson::kParseInsituFlag>(text, padded.get(), limits, doc, what);
    buffer = std::move(padded);
    return st;
}

std::string json_to_string(const rapidjson::Value& v) {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    v.Accept(w);
    return std::string(sb.GetString(), sb.GetSize());
}

namespace {

// 0: copy as is; otherwise the character after the backslash ('u' = \u00XX).
constexpr std::array<char, 256> make_escape_table() {
    std::array<char, 256> t{};
    for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = 'u';
    t['\b'] = 'b';
    t['\f'] = 'f';
    t['\n'] = 'n';
    t['\r'] = 'r';
    t['\t'] = 't';
    t['"'] = '"';
    t['\\'] = '\\';
    return t;
}
constexpr std::array<char, 256> kEscape = make_escape_table();

#if defined(__SSE2__)
// Bit i set when byte i of the 16 at `p` needs escaping.
unsigned escape_mask16(const char* p) {
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i ctl_max = _mm_set1_epi8(0x1f);
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // x <= 0x1f unsigned  <=>  max(x, 0x1f) == 0x1f
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                               _mm_cmpeq_epi8(_mm_max_epu8(x, ctl_max), ctl_max));
    return static_cast<unsigned>(_mm_movemask_epi8(hit));
}
#endif

// Position of the first byte in [p, end) that a JSON string literal must
// escape (control byte, quote, backslash), or `end`. `begin` is where the
// string starts: a tail shorter than 16 bytes is checked with one load that
// ends at `end` and reaches back into bytes already checked.
const char* find_escape(const char* begin, const char* p, const char* end) {
#if defined(__SSE2__)
    for (; end - p >= 16; p += 16) {
        if (unsigned mask = escape_mask16(p); mask != 0) return p + __builtin_ctz(mask);
    }
    if (p == end) return end;
    if (end - begin >= 16) {
        const char* q = end - 16;
        unsigned mask = escape_mask16(q) >> (p - q);
        return mask != 0 ? p + __builtin_ctz(mask) : end;
    }
#else
    (void)begin;
#endif
    for (; p < end; ++p) {
        if (kEscape[static_cast<unsigned char>(*p)] != 0) return p;
    }
    return end;
}

}  // namespace

// Most strings (keys, ids, prose) have nothing to escape: one vector scan
// and one append. Text that does (code, tool output: a newline or quote
// every few dozen bytes) is written through a pointer into room made once,
// not with two appends per escape.
namespace {

void append_escaped(std::string& out, std::string_view s, bool quoted) {
    static const char hex[] = "0123456789abcdef";
    const char* p = s.data();
    const char* end = p + s.size();
    const char* q = find_escape(p, p, end);
    if (q == end) {
        if (quoted && s.size() <= 62) {
            char buf[64];  // a short string: one append, quotes included
            buf[0] = '"';
            if (!s.empty()) std::memcpy(buf + 1, p, s.size());  // data() may be null
            buf[s.size() + 1] = '"';
            out.append(buf, s.size() + 2);
            return;
        }
        if (quoted) out.push_back('"');
        out.append(p, s.size());
        if (quoted) out.push_back('"');
        return;
    }
    std::size_t at = out.size();
    out.resize(at + s.size() + s.size() / 4 + 16);
    char* base = out.data();
    char* d = base + at;
    if (quoted) *d++ = '"';
    // Invariant: room for the rest of `s` unescaped and the closing quote.
    while (true) {
        std::size_t run = static_cast<std::size_t>(q - p);
        if (run != 0) {
            std::memcpy(d, p, run);
            d += run;
        }
        p = q;
        if (p == end) break;
        std::size_t used = static_cast<std::size_t>(d - base);
        std::size_t need = used + 6 + static_cast<std::size_t>(end - p);
        if (need > out.size()) {
            out.resize(need > 2 * out.size() ? need : 2 * out.size());
            base = out.data();
            d = base + used;
        }
        unsigned char c = static_cast<unsigned char>(*p++);
        char e = kEscape[c];
        d[0] = '\\';
        d[1] = e;
        if (e == 'u') {
            d[2] = '0';
            d[3] = '0';
            d[4] = hex[c >> 4];
            d[5] = hex[c & 0xf];
            d += 6;
        } else {
            d += 2;
        }
        q = find_escape(s.data(), p, end);
    }
    if (quoted) *d++ = '"';
    out.resize(static_cast<std::size_t>(d - base));
}

}  // namespace

void json_append_string(std::string& out, std::string_view s) { append_escaped(out, s, true); }

void json_append_string_content(std::string& out, std::string_view s) {
    append_escaped(out, s, false);
}

bool json_is_object(std::string_view text, const JsonLimits& limits) {
    if (!check_size(text, limits, "").ok()) return false;
    // Tool-call arguments and the like are small: checked from a stack copy.
    char small[4096];
    std::string large;
    char* buffer = small;
    std::size_t size = padded_size(text.size());
    if (size > sizeof small) {
        large.resize(size);
        buffer = large.data();
    }
    std::memcpy(buffer, text.data(), text.size());
    std::memset(buffer + text.size(), 0, size - text.size());
    // The fast reader first, as for documents (an agent's history has a
    // tool call per turn); outside its subset RapidJSON decides.
    FastReaderHandler<true> fast(nullptr, limits.max_depth);
    if (fast_read(text, buffer, fast)) return fast.root_is_object();
    DepthLimitedHandler handler(nullptr, limits.max_depth);
    return read_padded<rapidjson::kParseInsituFlag>(text, buffer, limits, handler, "").ok() &&
           handler.root_is_object();
}

}  // namespace llmproxy
