// RapidJSON parsing with explicit size and depth limits. Every JSON document
// that enters src/core (request bodies, provider responses, SSE payloads,
// store records) goes through parse_json so the limits hold everywhere.
#pragma once

#include <cstddef>
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

// True when `text` is one JSON object, valid within `limits`. Validation
// only: no document is built.
bool json_is_object(std::string_view text, const JsonLimits& limits);

// Given `p` just past a string's opening quote, returns the position just
// past its closing quote (or `end` when unterminated). Uses memchr, so long
// strings (most of an LLM request's bytes) cost little.
const char* json_skip_string(const char* p, const char* end);

// Serialises a value compactly.
std::string json_to_string(const rapidjson::Value& v);

// Appends `s` as a JSON string literal (with quotes) to `out`.
void json_append_string(std::string& out, std::string_view s);

}  // namespace llmproxy
