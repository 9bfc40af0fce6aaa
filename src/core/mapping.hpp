// Small value mappings shared by the translators of both directions:
// finish_reason <-> stop_reason, usage fields, tool-name sanitising and error
// types. Everything here is pure and allocation-light.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "core/json.hpp"
#include "core/translate.hpp"

namespace llmproxy {

// ---- finish_reason / stop_reason -------------------------------------------

struct StopMapping {
    std::string_view stop_reason;  // Anthropic stop_reason ("end_turn", ...)
    bool is_error = false;         // the provider reported a failure ("error", "network_error")
};

// OpenAI-dialect finish_reason -> Anthropic stop_reason. `saw_tool_use` turns
// "stop"/unknown/empty into "tool_use" (some servers say "stop" after tool
// calls). Known values: stop, eos, eos_token, end_turn -> end_turn; length,
// max_tokens -> max_tokens; model_context_window_exceeded -> same;
// tool_calls, function_call, tool_use -> tool_use; content_filter, sensitive,
// refusal -> refusal; stop_sequence -> stop_sequence; pause_turn -> same;
// error, network_error -> error. Empty (null / absent) and unknown -> end_turn.
StopMapping anthropic_stop_reason(std::string_view finish_reason, bool saw_tool_use);

// Anthropic stop_reason -> OpenAI finish_reason: end_turn, stop_sequence,
// pause_turn -> stop; max_tokens, model_context_window_exceeded, compaction ->
// length; tool_use -> tool_calls; refusal -> content_filter; unknown -> stop.
std::string_view openai_finish_reason(std::string_view stop_reason);

// ---- usage -------------------------------------------------------------------

// Raw OpenAI-dialect usage counters as found in a usage object; kept separate
// so the stream encoder can fill it from a SAX parse without a DOM.
struct OpenAIUsageFields {
    std::uint64_t prompt_tokens = 0;
    std::uint64_t completion_tokens = 0;
    std::uint64_t cached_tokens = 0;            // prompt_tokens_details.cached_tokens
    std::uint64_t cache_write_tokens = 0;       // prompt_tokens_details.cache_write_tokens / cache_creation_tokens
    std::uint64_t cache_hit_tokens = 0;         // DeepSeek prompt_cache_hit_tokens
    std::uint64_t cache_miss_tokens = 0;        // DeepSeek prompt_cache_miss_tokens
    std::uint64_t anthropic_cache_read = 0;     // cache_read_input_tokens (some relays)
    std::uint64_t anthropic_cache_creation = 0; // cache_creation_input_tokens (some relays)
    std::uint64_t input_tokens = 0;             // input_tokens (Responses-style relays)
    std::uint64_t output_tokens = 0;            // output_tokens (Responses-style relays)
    bool has_prompt_tokens = false;
    bool has_completion_tokens = false;
    bool has_miss_tokens = false;
    bool has_input_tokens = false;
    bool has_output_tokens = false;
    bool any = false;

    // Records one numeric field by its key; `in_details` is true inside
    // prompt_tokens_details / input_tokens_details. Unknown keys are ignored.
    void set(std::string_view key, std::uint64_t value, bool in_details);
};

// Anthropic-semantics Usage from the raw fields: cache reads from
// cached_tokens / prompt_cache_hit_tokens / cache_read_input_tokens, cache
// writes from cache_write_tokens / cache_creation_tokens /
// cache_creation_input_tokens, input_tokens = prompt_tokens - reads - writes
// (never negative; prompt_cache_miss_tokens when prompt_tokens is absent).
Usage usage_from_openai_fields(const OpenAIUsageFields& f);

// The same from a usage JSON object (non-object -> Usage{} with known=false).
Usage usage_from_openai(const rapidjson::Value& usage);

// Merges the fields present in an Anthropic usage object into `u`
// (message_start carries input/cache counts, message_delta the output count
// and, on newer APIs, final input counts).
void merge_anthropic_usage(const rapidjson::Value& usage, Usage& u);

// Appends an OpenAI usage object: prompt_tokens = input + cache read + cache
// write, completion_tokens, total_tokens, prompt_tokens_details.cached_tokens
// (and cache_creation_tokens when non-zero).
void append_openai_usage(std::string& out, const Usage& u);

// Appends an Anthropic usage object with input_tokens,
// cache_creation_input_tokens, cache_read_input_tokens and output_tokens.
void append_anthropic_usage(std::string& out, const Usage& u);

// ---- tool names ----------------------------------------------------------------

// True when `name` already satisfies [a-zA-Z0-9_-]{1,64}.
bool is_valid_provider_tool_name(std::string_view name);

// Assigns provider-side tool names during one request translation. Valid
// names are kept; others are rewritten (invalid characters -> '_', cut to 55
// characters, "_" + 8 hex digits of a hash of the original) and recorded in
// the ToolNameMap so responses and streams can map them back. The same client
// name always gets the same provider name, and no two client names share one.
class ToolNameMapper {
public:
    explicit ToolNameMapper(ToolNameMap& map) : map_(map) {}
    // Returns the provider name for `client_name` (valid until the mapper or
    // map changes).
    std::string_view provider_name(std::string_view client_name);

private:
    bool provider_name_taken(std::string_view name) const;
    ToolNameMap& map_;
    std::vector<std::string> kept_;  // valid client names used unchanged
};

// ---- errors ---------------------------------------------------------------------

// Anthropic error type for an OpenAI-dialect error object's type/code (the
// code may be an HTTP status such as 502, or a string such as
// "rate_limit_exceeded"). `status` (0 when unknown) wins when it maps to a
// specific type. 503 maps to overloaded_error (retryable for Anthropic clients).
std::string_view anthropic_error_type_for_openai_error(int status, std::string_view type,
                                                       std::string_view code);

// OpenAI error type for an Anthropic error type.
std::string_view openai_error_type_for_anthropic(std::string_view anthropic_type);


// ---- small helpers ------------------------------------------------------------

// Appends the decimal form of `v` without allocating a temporary.
void append_uint(std::string& out, std::uint64_t v);

// 64-bit FNV-1a hash (stable ids and tool-name suffixes).
std::uint64_t fnv1a64(std::string_view s, std::uint64_t seed = 0xcbf29ce484222325ull);

// ---- JSON output -------------------------------------------------------------


// Minimal streaming JSON writer appending to a std::string: commas and colons
// are placed automatically. The caller keeps the structure balanced.
class JsonOut {
public:
    explicit JsonOut(std::string& out, InsituSource source = {}) : out_(out), source_(source) {}
    void start_object() { open('{'); }
    void end_object() { close('}'); }
    void start_array() { open('['); }
    void end_array() { close(']'); }
    void key(std::string_view k);
    // A key or string our code spells as a literal ("role", "function"):
    // written with one append, without the escape scan a document's text
    // needs. A literal that is not plain printable ASCII (or is a char array
    // holding a shorter string) takes the general path.
    template <std::size_t N>
    void key(const char (&k)[N]) {
        if (!plain_literal(k, N - 1)) return key(std::string_view(k));
        separate();
        write_literal(k, true);
        after_key_ = true;
    }
    void string(std::string_view s) {
        separate();
        json_append_string(out_, s);
    }
    template <std::size_t N>
    void string(const char (&s)[N]) {
        if (!plain_literal(s, N - 1)) return string(std::string_view(s));
        separate();
        write_literal(s, false);
    }
    void uint(std::uint64_t v) {
        separate();
        append_uint(out_, v);
    }
    void boolean(bool b) {
        separate();
        out_ += b ? "true" : "false";
    }
    void null() {
        separate();
        out_ += "null";
    }
    // A piece of a joined string: a string of the source document (copied as
    // its literal's content) or other text (escaped).
    struct Piece {
        std::string_view text;
        const rapidjson::Value* source = nullptr;
    };
    // One JSON string: the pieces joined by `separator` (none before the
    // first non-empty piece).
    void joined_string(const std::vector<Piece>& pieces, std::string_view separator);
    // Serialises a parsed DOM value (numbers keep their parsed form). Long
    // strings of the source document are copied as they stand in its text.
    void value(const rapidjson::Value& v);

private:
    static bool plain_literal(const char* s, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\') return false;
        }
        return true;
    }
    // The literal `s` in quotes, and a colon after it for a key.
    template <std::size_t N>
    void write_literal(const char (&s)[N], bool colon) {
        char buf[N + 2];
        buf[0] = '"';
        std::memcpy(buf + 1, s, N - 1);
        buf[N] = '"';
        buf[N + 1] = ':';
        out_.append(buf, colon ? N + 2 : N + 1);
    }
    void separate() {
        if (after_key_) {
            after_key_ = false;
        } else if (!first_.empty()) {
            if (first_.back()) {
                first_.back() = 0;
            } else {
                out_.push_back(',');
            }
        }
    }
    void open(char c);
    void close(char c);
    std::string& out_;
    InsituSource source_;
    // Per open container: no element written yet. A string, so the first 15
    // levels need no heap (a JsonOut is made per copied value).
    std::string first_;
    bool after_key_ = false;
};

}  // namespace llmproxy
