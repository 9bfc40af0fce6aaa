// One Anthropic stream event's JSON read with a SAX pass into the few fields
// the stream paths use (the OpenAI encoder and the passthrough), instead of a
// DOM per event: a DOM parse allocates on every call, and these paths run once
// per streamed token.
//
// FastJsonReader takes the common events, RapidJSON (validating UTF-8) the
// rest; both in situ on a reused copy of the event, so every string field is
// a view into that copy and its place in the event's own text is known
// (source_literal). The limits are JsonLimits': the SSE parser caps an
// event's size and the handler stops past max_depth nesting levels.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <rapidjson/reader.h>

#include "core/translate.hpp"

namespace llmproxy {

// Fields of one Anthropic stream event (views into the reader's copy of the
// event data, valid until the next read). A key that appears twice counts
// with its last value.
struct AnthropicEventFields {
    std::string_view type;          // "type"
    std::uint64_t index = 0;        // "index"
    bool has_index = false;
    std::string_view message_id;    // message.id (message_start)
    std::string_view message_model; // message.model (message_start)
    std::string_view block_type;    // content_block.type
    std::string_view block_id;      // content_block.id
    std::string_view block_name;    // content_block.name
    std::string_view block_text;    // content_block.text / content_block.thinking
    std::string_view delta_type;    // delta.type
    std::string_view delta_text;    // delta.text / thinking / partial_json
    std::string_view stop_reason;   // delta.stop_reason
    bool has_stop_reason = false;
    std::string_view error_type;    // error.type
    std::string_view error_message; // error.message
    // usage counters from message.usage (message_start) or usage (message_delta)
    std::uint64_t input_tokens = 0, output_tokens = 0, cache_read = 0, cache_creation = 0;
    bool has_input = false, has_output = false, has_cache_read = false, has_cache_creation = false;
};

class AnthropicEventReader {
public:
    // Reads `data` (one event's JSON). False when it is not valid JSON, UTF-8
    // included, or nests too deep; fields() is then empty.
    bool read(std::string_view data);

    const AnthropicEventFields& fields() const { return fields_; }

    // The literal (quotes included) in `data`, the text last read, of one of
    // fields()' strings.
    std::string_view source_literal(std::string_view field, std::string_view data) const;

    // The usage counters of the last event read, written over those in `u`
    // (Anthropic's output_tokens are cumulative: the last one counts).
    void merge_usage(Usage& u) const;

private:
    AnthropicEventFields fields_;
    std::string insitu_;   // the event's data, parsed in place (fields_ point into it)
    rapidjson::Reader reader_;
};

}  // namespace llmproxy
