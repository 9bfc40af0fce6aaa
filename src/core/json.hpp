// RapidJSON parsing with explicit size and depth limits. Every JSON document
// that enters src/core (request bodies, provider responses, SSE payloads,
// store records) goes through parse_json so the limits hold everywhere.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "core/status.hpp"

namespace llmproxy {

struct JsonLimits {
    std::size_t max_bytes = 32u * 1024u * 1024u;  // 32 MiB
    unsigned max_depth = 128;
};

// Parses `text` into `doc` (which owns copies of all strings). Fails with
// kTooLarge when over max_bytes or max_depth, kInvalidRequest when malformed
// ("invalid JSON at offset N: <reason>"). `what` names the document in errors
// ("request body", "provider response").
Status parse_json(std::string_view text, const JsonLimits& limits,
                  rapidjson::Document& doc, std::string_view what = "request body");

// Like parse_json, but in situ: `buffer` receives a padded copy of `text`
// that the document's strings are decoded into and point at (no per-string
// copies), so `buffer` must outlive `doc`. For large documents such as
// request bodies.
Status parse_json_insitu(std::string_view text, const JsonLimits& limits,
                         rapidjson::Document& doc, std::unique_ptr<char[]>& buffer,
                         std::string_view what = "request body");

// A document whose first 8 KB of values live inside it (on the caller's
// stack when it is a local): RapidJSON's default pool takes 64 KB from the
// heap for every document, more than parsing a small event or response costs.
class LocalDocument {
public:
    LocalDocument() : doc_(&pool_) {}
    LocalDocument(const LocalDocument&) = delete;
    LocalDocument& operator=(const LocalDocument&) = delete;
    rapidjson::Document& get() { return doc_; }

private:
    alignas(16) char buffer_[8192];
    rapidjson::MemoryPoolAllocator<> pool_{buffer_, sizeof buffer_};
    rapidjson::Document doc_;
};

// A document parsed in situ: `buffer` is the parse_json_insitu buffer its
// strings point into, `raw` the text it was parsed from (same offsets).
struct InsituSource {
    const char* buffer = nullptr;
    std::string_view raw;
};

// The literal of string `v` (quotes included) as it stands in `src.raw`, when
// `v` is a whole string of that document; empty otherwise. Copying it is
// exact JSON for the same value and skips escaping the decoded text again,
// which costs one step per escape (an LLM request's text is full of "\n").
std::string_view json_source_literal(const rapidjson::Value& v, const InsituSource& src);
// The same for a string handed out by an in-situ SAX pass over `src.buffer`
// (its decoded content, a view into the buffer).
std::string_view json_source_literal(std::string_view decoded, const InsituSource& src);

// True when `text` is one JSON object, valid within `limits`. Validation
// only: no document is built.
bool json_is_object(std::string_view text, const JsonLimits& limits);

// Given `p` just past a string's opening quote, returns the position just
// past its closing quote (or `end` when unterminated). Uses memchr, so long
// strings (most of an LLM request's bytes) cost little.
const char* json_skip_string(const char* p, const char* end);

// Given `p` at the first byte of a value, returns the position just past it
// (or `end` when it is cut short): a string, a container with everything in
// it, or a number or literal. A scan for token boundaries, not a validation.
const char* json_skip_value(const char* p, const char* end);

namespace detail {
// json_skip_value's container scan (`p` at the opening bracket), 64 bytes at
// a time with SSE2, or AVX2 when `avx2` and the CPU has it; a byte loop
// without SSE2. Tests run each variant.
const char* json_skip_container(const char* p, const char* end, bool avx2);
}  // namespace detail

// The text of `v` (a string, or an object or array that is not empty) as it
// stands in `src.raw`, when `v` belongs to that in-situ document; empty
// otherwise. The container is found from its first string (its literal's
// place in the text) and ends where its brackets close. Copying it writes
// the same JSON value without walking the document again. `v` must be as the
// parse left it: a container changed afterwards (or a copy sharing its
// strings and then changed) would be found as the text it was parsed from.
std::string_view json_source_span(const rapidjson::Value& v, const InsituSource& src);

// The value of member `key` of `obj` (the first, as FindMember finds), or null
// when `obj` is not an object or has no such member. Lengths are compared
// before bytes, and inlined with a literal the length is a constant: most
// members are passed over without a memcmp call.
inline const rapidjson::Value* json_member(const rapidjson::Value& obj, std::string_view key) {
    if (!obj.IsObject()) return nullptr;
    for (auto m = obj.MemberBegin(); m != obj.MemberEnd(); ++m) {
        if (m->name.GetStringLength() == key.size() &&
            (key.empty() || std::memcmp(m->name.GetString(), key.data(), key.size()) == 0)) {
            return &m->value;
        }
    }
    return nullptr;
}
template <std::size_t N>
inline const rapidjson::Value* json_member(const rapidjson::Value& obj, const char (&key)[N]) {
    // A char array holding a shorter string is measured like a pointer.
    if (N > 1 && key[N - 2] == '\0') return json_member(obj, std::string_view(key));
    return json_member(obj, std::string_view(key, N - 1));
}

// Serialises a value compactly.
std::string json_to_string(const rapidjson::Value& v);

// Appends `s` as a JSON string literal (with quotes) to `out`.
void json_append_string(std::string& out, std::string_view s);
// The same without the quotes: one piece of a literal built from several.
void json_append_string_content(std::string& out, std::string_view s);

}  // namespace llmproxy
