#include "core/json.hpp"

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
    doc.Parse<rapidjson::kParseFullPrecisionFlag>(text.data(), text.size());
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

void json_append_string(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    out.push_back('"');
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (c < 0x20) {
                out += "\\u00";
                out.push_back(hex[c >> 4]);
                out.push_back(hex[c & 0xf]);
            } else {
                out.push_back(static_cast<char>(c));
            }
        }
    }
    out.push_back('"');
}

}  // namespace llmproxy
