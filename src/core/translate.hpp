// The translation facade the nginx glue calls. Requests are parsed once
// (ParsedRequest), then either passed through (same dialect, model rewritten
// in place, every other byte kept) or translated to the provider's dialect.
// Responses and SSE streams are translated back with the ResponseContext the
// request translation produced (client model name, tool-name map...).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "core/dialect.hpp"
#include "core/errors.hpp"
#include "core/json.hpp"
#include "core/provider_quirks.hpp"
#include "core/status.hpp"

namespace llmproxy {

// What routing and auth need to know about a request, from one parse.
struct RequestFacts {
    std::string model;             // as the client sent it
    bool stream = false;
    bool thinking = false;         // Anthropic thinking enabled / OpenAI reasoning_effort
    bool has_image = false;        // any image part anywhere
    bool has_web_search = false;   // a web_search server tool is declared
    // Not filled by parse_request (it costs a walk of the whole body); see
    // token_estimate.hpp for callers that need it.
    std::uint64_t estimated_input_tokens = 0;
};

// How far peek_request has read the top-level members: it stops at the
// first "model" (all routing needs); finish_peek reads the rest.
struct PeekState {
    std::size_t resume_after = 0;  // the end of the model's value
    bool saw_stream = false;       // the first "stream" member was read
    bool complete = false;         // every member was read (or the full parse ran)
};

class ParsedRequest {
public:
    Dialect dialect = Dialect::kAnthropic;
    std::string_view raw;          // the client's bytes; must outlive this object
    rapidjson::Document doc;       // parsed in situ: its strings point into doc_text
    std::unique_ptr<char[]> doc_text;
    RequestFacts facts;
    // Where peek_request found the top-level "model" value token in `raw`
    // (quotes included), so a passthrough rewrite is one splice, no rescan.
    std::size_t model_token_offset = 0;
    std::size_t model_token_length = 0;
    PeekState peek;
    // For copying the request's string literals as they stand (JsonOut).
    InsituSource insitu_source() const { return {doc_text.get(), raw}; }
};

// Parses and validates the top-level shape (object, "model" a non-empty
// string, "messages" an array, "stream" a bool if present) and fills facts.
Status parse_request(Dialect client, std::string_view body, const JsonLimits& limits,
                     ParsedRequest& out);

// The cheap first look used on every request: finds the top-level "model"
// (required, a non-empty string) with a scan that builds no DOM, leaving
// `out.doc` null, and stops there: routing needs nothing more. Then either
// finish_peek() reads the remaining members ("stream", a duplicate "model";
// a passthrough needs nothing more) or ensure_parsed() does the full
// parse_request when a translation, a scenario decision or a token estimate
// needs it, so a translated body is not scanned twice. facts.stream is known
// only after one of them.
Status peek_request(Dialect client, std::string_view body, const JsonLimits& limits,
                    ParsedRequest& out);
Status finish_peek(ParsedRequest& req);
Status ensure_parsed(ParsedRequest& req, const JsonLimits& limits);

// Same-dialect passthrough: `raw` with the top-level "model" value replaced by
// `model` (JSON-escaped), all other bytes untouched.
std::string rewrite_model(std::string_view raw, std::string_view model);

// Replaces the values of the named top-level members of a validated JSON
// object with the given JSON literals, keeping every other byte.
std::string replace_top_level_values(
    std::string_view raw, const std::vector<std::pair<std::string_view, std::string>>& repl);
// The same, appended to `out` (no temporary string).
void append_replacing_top_level_values(
    std::string& out, std::string_view raw,
    const std::vector<std::pair<std::string_view, std::string>>& repl);

// Maps provider tool names (restricted to [a-zA-Z0-9_-]{1,64}) back to the
// client's originals.
struct ToolNameMap {
    std::vector<std::pair<std::string, std::string>> provider_to_client;
    std::string_view to_client(std::string_view provider_name) const;
};

struct TranslateOptions {
    std::string_view target_model;              // provider's model name
    std::optional<std::uint64_t> max_tokens_cap;
    ProviderQuirks quirks;
    bool provider_is_anthropic_native = false;  // keep Anthropic-only header lines
};

// Everything response translation needs from the request side.
struct ResponseContext {
    std::string client_model;      // echoed in responses as "model"
    bool stream = false;
    bool include_usage_requested = false;  // OpenAI client asked stream_options.include_usage
    ToolNameMap tool_names;
    ProviderQuirks quirks;
};

struct TranslatedRequest {
    // The provider's body is `head`, then `body`, then `tail`. The common
    // passthrough splices the model into the client's bytes without copying
    // them: head and tail are then views of ParsedRequest::raw (valid while
    // it is) and body is the new model's literal. Otherwise both are empty.
    std::string_view head;
    std::string body;
    std::string_view tail;
    ResponseContext response;

    std::size_t size() const { return head.size() + body.size() + tail.size(); }
    std::string joined() const;  // the whole body as one string
};

// Translates a parsed request to the provider's dialect. For
// provider == req.dialect this is rewrite_model plus the max_tokens clamp
// (which needs the full parse: ensure_parsed first when a cap is set).
Result<TranslatedRequest> translate_request(const ParsedRequest& req, Dialect provider,
                                            const TranslateOptions& opts);

struct Usage {
    std::uint64_t input_tokens = 0;           // Anthropic meaning: excludes cache reads/writes
    std::uint64_t output_tokens = 0;
    std::uint64_t cache_read_input_tokens = 0;
    std::uint64_t cache_creation_input_tokens = 0;
    bool known = false;
};

// Non-stream response body from the provider (2xx) to the client's dialect.
Result<std::string> translate_response(Dialect provider, Dialect client, std::string_view body,
                                       const ResponseContext& ctx, Usage* usage = nullptr);

// Incremental SSE transcoder: feed arbitrary byte slices, get complete events
// in the client's dialect appended to `out` (each ends with "\n\n").
class StreamTranscoder {
public:
    virtual ~StreamTranscoder() = default;
    virtual void feed(std::string_view bytes, std::string& out) = 0;
    // End of upstream input (clean or not): closes open blocks, emits the
    // final events ([DONE] for OpenAI clients). Idempotent.
    virtual void finish(std::string& out) = 0;
    // Emits an error event in the client's dialect and ends the stream
    // (used when the upstream fails mid-stream). Idempotent with finish().
    virtual void fail(int status, std::string_view message, std::string& out) = 0;
    virtual const Usage& usage() const = 0;
    // True once at least one event has been produced (the response is committed).
    virtual bool started() const = 0;
};

// For provider == client this is the passthrough stream (passthrough_stream.hpp).
std::unique_ptr<StreamTranscoder> make_stream_transcoder(Dialect provider, Dialect client,
                                                         const ResponseContext& ctx);

// Provider error (non-2xx) to the client's dialect, keeping the provider's
// message; status mapped (e.g. OpenAI 429 stays 429, Anthropic 529 becomes
// 503 for OpenAI clients).
ErrorResponse map_upstream_error(Dialect provider, Dialect client, int status,
                                 std::string_view body);

}  // namespace llmproxy
