#include "core/token_estimate.hpp"

#include <cstring>

namespace llmproxy {
namespace {

constexpr std::uint64_t kImageTokens = 1600;
constexpr std::uint64_t kMessageOverhead = 4;
constexpr std::uint64_t kToolOverhead = 8;

std::string_view sv(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

std::uint64_t json_tokens(const rapidjson::Value& v) {
    switch (v.GetType()) {
    case rapidjson::kStringType:
        return estimate_text_tokens(sv(v));
    case rapidjson::kObjectType: {
        std::uint64_t n = 1;
        for (const auto& m : v.GetObject()) n += estimate_text_tokens(sv(m.name)) + json_tokens(m.value);
        return n;
    }
    case rapidjson::kArrayType: {
        std::uint64_t n = 1;
        for (const auto& e : v.GetArray()) n += json_tokens(e);
        return n;
    }
    default:
        return 1;
    }
}

bool type_is(const rapidjson::Value& block, const char* type) {
    auto t = block.FindMember("type");
    return t != block.MemberEnd() && t->value.IsString() && std::strcmp(t->value.GetString(), type) == 0;
}

std::uint64_t member_text(const rapidjson::Value& obj, const char* name) {
    auto it = obj.FindMember(name);
    if (it == obj.MemberEnd()) return 0;
    return it->value.IsString() ? estimate_text_tokens(sv(it->value)) : json_tokens(it->value);
}

std::uint64_t content_tokens(const rapidjson::Value& content);

std::uint64_t block_tokens(const rapidjson::Value& b) {
    if (b.IsString()) return estimate_text_tokens(sv(b));
    if (!b.IsObject()) return json_tokens(b);
    if (type_is(b, "image") || type_is(b, "image_url") || type_is(b, "input_image")) {
        return kImageTokens;
    }
    if (type_is(b, "document") || type_is(b, "file")) {
        std::uint64_t bytes = 0;
        auto src = b.FindMember("source");
        if (src != b.MemberEnd() && src->value.IsObject()) {
            auto data = src->value.FindMember("data");
            if (data != src->value.MemberEnd() && data->value.IsString()) {
                bytes = data->value.GetStringLength();
            }
        }
        return kImageTokens * (1 + bytes / (100 * 1024));
    }
    if (type_is(b, "text")) return member_text(b, "text");
    if (type_is(b, "thinking")) return member_text(b, "thinking");
    if (type_is(b, "tool_use")) return member_text(b, "name") + member_text(b, "input") + 4;
    if (type_is(b, "tool_result")) {
        auto c = b.FindMember("content");
        return 4 + (c == b.MemberEnd() ? 0 : content_tokens(c->value));
    }
    return json_tokens(b);
}

std::uint64_t content_tokens(const rapidjson::Value& content) {
    if (content.IsString()) return estimate_text_tokens(sv(content));
    if (!content.IsArray()) return content.IsNull() ? 0 : json_tokens(content);
    std::uint64_t n = 0;
    for (const auto& b : content.GetArray()) n += block_tokens(b);
    return n;
}

}  // namespace

std::uint64_t estimate_text_tokens(std::string_view text) {
    std::uint64_t ascii = 0, code_points = 0;
    for (unsigned char c : text) {
        if (c < 0x80) {
            ++ascii;
        } else if ((c & 0xC0) != 0x80) {
            ++code_points;  // a UTF-8 lead byte starts one non-ASCII code point
        }
    }
    return (ascii + 3) / 4 + code_points;
}

std::uint64_t estimate_input_tokens(const ParsedRequest& req) {
    const rapidjson::Value& doc = req.doc;
    if (!doc.IsObject()) return 0;
    std::uint64_t n = 0;
    auto system = doc.FindMember("system");
    if (system != doc.MemberEnd()) n += content_tokens(system->value) + kMessageOverhead;
    auto messages = doc.FindMember("messages");
    if (messages != doc.MemberEnd() && messages->value.IsArray()) {
        for (const auto& m : messages->value.GetArray()) {
            if (!m.IsObject()) continue;
            n += kMessageOverhead;
            auto c = m.FindMember("content");
            if (c != m.MemberEnd()) n += content_tokens(c->value);
            auto calls = m.FindMember("tool_calls");  // OpenAI assistant turns
            if (calls != m.MemberEnd()) n += json_tokens(calls->value);
        }
    }
    auto tools = doc.FindMember("tools");
    if (tools != doc.MemberEnd() && tools->value.IsArray()) {
        for (const auto& t : tools->value.GetArray()) n += kToolOverhead + json_tokens(t);
    }
    return n;
}

}  // namespace llmproxy
