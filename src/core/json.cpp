#include "core/json.hpp"

#include <array>
#include <cstdint>
#include <cstring>

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

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

unsigned json_nesting_depth(std::string_view text, unsigned cap) {
    unsigned depth = 0, max_depth = 0;
    const char* p = text.data();
    const char* end = p + text.size();
    while (p < end) {
        char c = *p++;
        switch (c) {
        case '"':
            p = json_skip_string(p, end);
            break;
        case '[':
        case '{':
            if (++depth > max_depth) {
                max_depth = depth;
                if (max_depth > cap) return cap + 1;
            }
            break;
        case ']':
        case '}':
            if (depth > 0) --depth;
            break;
        default:
            break;
        }
    }
    return max_depth;
}

Status parse_json(std::string_view text, const JsonLimits& limits,
                  rapidjson::Document& doc, std::string_view what) {
    if (text.size() > limits.max_bytes) {
        return make_error(ErrorCode::kTooLarge, "",
                          std::string(what) + " is larger than " +
                              std::to_string(limits.max_bytes) + " bytes");
    }
    // RapidJSON's recursive parser has no depth limit of its own; checking
    // first keeps hostile nesting from exhausting the worker's stack.
    if (json_nesting_depth(text, limits.max_depth) > limits.max_depth) {
        return make_error(ErrorCode::kTooLarge, "",
                          std::string(what) + " nests deeper than " +
                              std::to_string(limits.max_depth) + " levels");
    }
    // Parsed from a NUL-terminated copy padded to a 16-byte multiple: that is
    // the input form RapidJSON's SSE2 string scanning works on (3x faster on
    // a Claude Code request), and its aligned 16-byte reads stay inside our
    // buffer. A raw NUL inside the text (never valid JSON) ends the parse
    // early, which reports an error. Not kParseFullPrecisionFlag: RapidJSON
    // 1.1's full-precision path reads out of bounds on crafted numbers.
    std::string padded;
    padded.reserve(text.size() + 16);
    padded.append(text);
    padded.append(16 - (text.size() % 16), '\0');
    doc.Parse(padded.c_str());
    if (!doc.HasParseError() && std::strlen(padded.c_str()) != text.size()) {
        return make_error(ErrorCode::kInvalidRequest, "",
                          std::string(what) + " contains a NUL byte");
    }
    if (doc.HasParseError()) {
        return make_error(ErrorCode::kInvalidRequest, "",
                          std::string(what) + " is not valid JSON at offset " +
                              std::to_string(doc.GetErrorOffset()) + ": " +
                              rapidjson::GetParseError_En(doc.GetParseError()));
    }
    return Status();
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

}  // namespace

void json_append_string(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    out.push_back('"');
    const char* p = s.data();
    const char* end = p + s.size();
    const char* run = p;
    for (; p < end; ++p) {
        // Skip eight plain bytes at a time (no control byte, quote or
        // backslash among them): most text has nothing to escape.
        while (end - p >= 8) {
            std::uint64_t x;
            std::memcpy(&x, p, 8);
            constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
            std::uint64_t ctl = (x - ones * 0x20) & ~x & highs;
            std::uint64_t q = x ^ (ones * '"');
            std::uint64_t bs = x ^ (ones * '\\');
            std::uint64_t special = ctl | ((q - ones) & ~q & highs) | ((bs - ones) & ~bs & highs);
            if (special) break;
            p += 8;
        }
        if (p == end) break;
        char e = kEscape[static_cast<unsigned char>(*p)];
        if (e == 0) continue;
        out.append(run, static_cast<std::size_t>(p - run));
        char buf[6] = {'\\', e, '0', '0', 0, 0};
        if (e == 'u') {
            unsigned char c = static_cast<unsigned char>(*p);
            buf[4] = hex[c >> 4];
            buf[5] = hex[c & 0xf];
            out.append(buf, 6);
        } else {
            out.append(buf, 2);
        }
        run = p + 1;
    }
    out.append(run, static_cast<std::size_t>(end - run));
    out.push_back('"');
}

}  // namespace llmproxy
