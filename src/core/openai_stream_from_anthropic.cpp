// Anthropic Messages SSE stream -> OpenAI chat.completion.chunk stream.
//
// Event payloads are read with a SAX pass into AnthropicEventFields instead
// of parse_json's DOM: a DOM parse allocates its parse stack on every call,
// and this path runs once per streamed token. The same limits apply: the SSE
// parser caps an event at JsonLimits::max_bytes and the handler stops past
// JsonLimits::max_depth nesting levels. FastJsonReader takes the common
// events, in situ on a reused copy of the event (fields are views into it),
// checking UTF-8 as it scans; RapidJSON parses the rest exactly as before.
#include <ctime>
#include <forward_list>
#include <memory>

#include <rapidjson/memorystream.h>

#include "core/errors.hpp"
#include "core/fast_json_reader.hpp"
#include "core/json.hpp"
#include "core/mapping.hpp"
#include "core/openai_from_anthropic.hpp"
#include "core/translate_internal.hpp"

namespace llmproxy::detail {
namespace {

// Keys whose values the encoder reads; everything else is skipped.
enum class FieldKey : unsigned char {
    kOther,
    kType,
    kIndex,
    kMessage,
    kId,
    kName,
    kUsage,
    kContentBlock,
    kDelta,
    kText,
    kThinking,
    kPartialJson,
    kStopReason,
    kError,
    kInputTokens,
    kOutputTokens,
    kCacheRead,
    kCacheCreation,
};

FieldKey key_of(std::string_view k) {
    switch (k.size()) {
    case 2: return k == "id" ? FieldKey::kId : FieldKey::kOther;
    case 4:
        if (k == "type") return FieldKey::kType;
        if (k == "name") return FieldKey::kName;
        if (k == "text") return FieldKey::kText;
        return FieldKey::kOther;
    case 5:
        if (k == "index") return FieldKey::kIndex;
        if (k == "usage") return FieldKey::kUsage;
        if (k == "delta") return FieldKey::kDelta;
        if (k == "error") return FieldKey::kError;
        return FieldKey::kOther;
    case 7: return k == "message" ? FieldKey::kMessage : FieldKey::kOther;
    case 8: return k == "thinking" ? FieldKey::kThinking : FieldKey::kOther;
    case 11: return k == "stop_reason" ? FieldKey::kStopReason : FieldKey::kOther;
    case 12:
        if (k == "partial_json") return FieldKey::kPartialJson;
        if (k == "input_tokens") return FieldKey::kInputTokens;
        return FieldKey::kOther;
    case 13:
        if (k == "content_block") return FieldKey::kContentBlock;
        if (k == "output_tokens") return FieldKey::kOutputTokens;
        return FieldKey::kOther;
    case 23: return k == "cache_read_input_tokens" ? FieldKey::kCacheRead : FieldKey::kOther;
    case 27: return k == "cache_creation_input_tokens" ? FieldKey::kCacheCreation : FieldKey::kOther;
    default: return FieldKey::kOther;
    }
}

// Collects the fields of one event. Only paths up to three levels deep are
// of interest; arrays never are.
// kCopyStrings: keep copies of the strings read in *owned (RapidJSON's
// MemoryStream hands out strings valid only during the callback); without
// it the strings are in situ and outlive the parse.
template <bool kCopyStrings>
class EventHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, EventHandler<kCopyStrings>> {
public:
    EventHandler(AnthropicEventFields& f, unsigned max_depth, std::forward_list<std::string>* owned = nullptr)
        : f_(f), max_depth_(max_depth), owned_(owned) {}

    bool StartObject() { return open(false); }
    bool StartArray() { return open(true); }
    bool EndObject(rapidjson::SizeType) { return close(); }
    bool EndArray(rapidjson::SizeType) { return close(); }

    bool Key(const char* s, rapidjson::SizeType n, bool) {
        if (depth_ < kTracked) keys_[depth_] = key_of({s, n});
        return true;
    }

    bool String(const char* s, rapidjson::SizeType n, bool) {
        std::string_view* dst = string_target();
        if (dst == nullptr) return true;
        if constexpr (kCopyStrings) {
            *dst = owned_->emplace_front(s, n);  // list nodes never move
        } else {
            *dst = std::string_view(s, n);
        }
        return true;
    }

    bool Uint(unsigned v) { return number(v); }
    bool Uint64(std::uint64_t v) { return number(v); }
    bool Int(int v) { return v >= 0 ? number(static_cast<std::uint64_t>(v)) : true; }
    bool Int64(std::int64_t v) { return v >= 0 ? number(static_cast<std::uint64_t>(v)) : true; }
    bool Default() { return true; }  // null, bools, doubles: nothing read

private:
    static constexpr unsigned kTracked = 4;

    bool open(bool array) {
        if (++depth_ > max_depth_) return false;  // stops the parse: too deep
        if (depth_ < kTracked) {
            in_array_[depth_] = array;
            keys_[depth_] = FieldKey::kOther;
        }
        return true;
    }
    bool close() {
        --depth_;
        return true;
    }

    // The key path of the current value, or false when it runs through an
    // array or deeper than tracked.
    bool path(FieldKey& a, FieldKey& b,
              FieldKey& c) const {
                if (depth_ == 0 || depth_ >= kTracked) return false;
        for (unsigned d = 1; d <= depth_; ++d) {
            if (in_array_[d]) return false;
        }
        a = keys_[1];
        b = depth_ >= 2 ? keys_[2] : FieldKey::kOther;
        c = depth_ >= 3 ? keys_[3] : FieldKey::kOther;
        return true;
    }

    std::string_view* string_target() {
                FieldKey a, b, c;
        if (!path(a, b, c)) return nullptr;
        if (depth_ == 1) return a == FieldKey::kType ? &f_.type : nullptr;
        if (depth_ != 2) return nullptr;
        switch (a) {
        case FieldKey::kMessage: return b == FieldKey::kId ? &f_.message_id : nullptr;
        case FieldKey::kContentBlock:
            if (b == FieldKey::kType) return &f_.block_type;
            if (b == FieldKey::kId) return &f_.block_id;
            if (b == FieldKey::kName) return &f_.block_name;
            if (b == FieldKey::kText || b == FieldKey::kThinking) return &f_.block_text;
            return nullptr;
        case FieldKey::kDelta:
            if (b == FieldKey::kType) return &f_.delta_type;
            if (b == FieldKey::kText || b == FieldKey::kThinking || b == FieldKey::kPartialJson) return &f_.delta_text;
            if (b == FieldKey::kStopReason) {
                f_.has_stop_reason = true;
                return &f_.stop_reason;
            }
            return nullptr;
        case FieldKey::kError:
            if (b == FieldKey::kType) return &f_.error_type;
            if (b == FieldKey::kMessage) return &f_.error_message;
            return nullptr;
        default: return nullptr;
        }
    }

    bool number(std::uint64_t v) {
                FieldKey a, b, c;
        if (!path(a, b, c)) return true;
        if (depth_ == 1 && a == FieldKey::kIndex) {
            f_.index = v;
            f_.has_index = true;
            return true;
        }
        // usage at message.usage (message_start) or usage (message_delta)
        FieldKey field;
        if (depth_ == 2 && a == FieldKey::kUsage) {
            field = b;
        } else if (depth_ == 3 && a == FieldKey::kMessage && b == FieldKey::kUsage) {
            field = c;
        } else {
            return true;
        }
        switch (field) {
        case FieldKey::kInputTokens: f_.input_tokens = v; f_.has_input = true; break;
        case FieldKey::kOutputTokens: f_.output_tokens = v; f_.has_output = true; break;
        case FieldKey::kCacheRead: f_.cache_read = v; f_.has_cache_read = true; break;
        case FieldKey::kCacheCreation: f_.cache_creation = v; f_.has_cache_creation = true; break;
        default: break;
        }
        return true;
    }

    AnthropicEventFields& f_;
    unsigned max_depth_;
    std::forward_list<std::string>* owned_;
    unsigned depth_ = 0;
    FieldKey keys_[kTracked] = {};
    bool in_array_[kTracked] = {};
};

constexpr std::string_view kDone = "data: [DONE]\n\n";
constexpr std::string_view kChoicesOpen = R"(,"choices":[{"index":0,"delta":)";
constexpr std::string_view kNullFinishTail = R"(,"logprobs":null,"finish_reason":null}]})" "\n\n";

void append(std::string& out, std::string_view s) { out.append(s.data(), s.size()); }

}  // namespace

void AnthropicEventFields::clear() { *this = AnthropicEventFields{}; }

OpenAIStreamEncoder::OpenAIStreamEncoder(const ResponseContext& ctx, std::int64_t created)
    : ctx_(ctx), created_(created), parser_(JsonLimits{}.max_bytes) {
    insitu_.reserve(512 + FastJsonReader::kPadding);  // typical events fit: no growth once streaming
}

bool OpenAIStreamEncoder::parse_fields(std::string_view data) {
    fields_.clear();
    {
        // The common events; the reader checks UTF-8 as it scans, so no
        // per-character kParseValidateEncodingFlag pass is needed for them.
        char* text = FastJsonReader::copy_padded(insitu_, data);
        EventHandler<false> handler(fields_, JsonLimits{}.max_depth);
        if (FastJsonReader::parse(text, data.size(), handler)) return true;
    }
    // Outside the fast reader's subset (or invalid): RapidJSON decides, as
    // it always did (not in situ: RapidJSON's SSE2 in-situ string scan lets
    // control characters through, which this parse has always rejected).
    fields_.clear();
    owned_strings_.clear();
    EventHandler<true> handler(fields_, JsonLimits{}.max_depth, &owned_strings_);
    rapidjson::MemoryStream ms(data.data(), data.size());
    rapidjson::ParseResult ok =
        reader_.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseStopWhenDoneFlag>(
            ms, handler);
    if (!ok) return false;
    // kParseStopWhenDoneFlag leaves trailing bytes unread; only whitespace may follow.
    for (std::size_t i = ms.Tell(); i < data.size(); ++i) {
        char c = data[i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
    }
    return true;
}

void OpenAIStreamEncoder::feed(std::string_view bytes, std::string& out) {
    if (state_ == State::kDone) return;
    bool ok = parser_.feed(bytes, [&](const SseEvent& ev) { on_event(ev, out); });
    if (!ok && state_ != State::kDone) {
        end_with_error(502, "provider stream event exceeds the size limit", out);
    }
}

void OpenAIStreamEncoder::finish(std::string& out) {
    if (state_ == State::kDone) return;
    bool ok = parser_.finish([&](const SseEvent& ev) { on_event(ev, out); });
    if (state_ == State::kDone) return;
    if (!ok) {
        end_with_error(502, "provider stream event exceeds the size limit", out);
    } else if (state_ == State::kStreaming && have_stop_reason_) {
        // message_delta arrived, only message_stop is missing: the answer is complete.
        complete(out);
    } else {
        end_with_error(502, "provider stream ended before the response was complete", out);
    }
}

void OpenAIStreamEncoder::fail(int status, std::string_view message, std::string& out) {
    if (state_ == State::kDone) return;
    end_with_error(status, message, out);
}

void OpenAIStreamEncoder::end_with_error(int status, std::string_view message,
                                         std::string& out) {
    // OpenAI streams report failures as a data line with an "error" object
    // (the OpenAI SDKs raise on it), then end.
    out += stream_error_event(Dialect::kOpenAI, status, message);
    out += kDone;
    state_ = State::kDone;
    started_ = true;
}

void OpenAIStreamEncoder::on_event(const SseEvent& ev, std::string& out) {
    if (state_ == State::kDone) return;
    if (!parse_fields(ev.data)) {
        end_with_error(502, "provider sent a malformed stream event", out);
        return;
    }
    // The payload's "type" is authoritative; the event: line is its echo.
    std::string_view type = fields_.type;
    if (type.empty()) type = ev.event;

    if (type == "ping") return;
    if (type == "error") {
        std::string_view etype = fields_.error_type;
        std::string_view message = fields_.error_message;
        end_with_error(status_for_error_type(etype),
                       message.empty() ? std::string_view("provider stream error") : message, out);
        return;
    }
    if (type == "message_start") {
        if (state_ != State::kAwaitingStart) {
            end_with_error(502, "provider stream sent message_start twice", out);
            return;
        }
        begin(out);
        return;
    }
    if (state_ == State::kAwaitingStart) {
        end_with_error(502, "provider stream did not start with message_start", out);
        return;
    }
    if (type == "content_block_start") {
        on_block_start(out);
    } else if (type == "content_block_delta") {
        on_block_delta(out);
    } else if (type == "message_delta") {
        if (fields_.has_stop_reason) {
            stop_reason_.assign(fields_.stop_reason);
            have_stop_reason_ = true;
        }
        merge_usage();
    } else if (type == "message_stop") {
        complete(out);
    }
    // content_block_stop needs no output; unknown event types are skipped,
    // as Anthropic asks clients to do for types added later.
}

void OpenAIStreamEncoder::merge_usage() {
    if (fields_.has_input) usage_.input_tokens = fields_.input_tokens;
    if (fields_.has_output) usage_.output_tokens = fields_.output_tokens;  // cumulative
    if (fields_.has_cache_read) usage_.cache_read_input_tokens = fields_.cache_read;
    if (fields_.has_cache_creation) usage_.cache_creation_input_tokens = fields_.cache_creation;
    if (fields_.has_input || fields_.has_output || fields_.has_cache_read ||
        fields_.has_cache_creation) {
        usage_.known = true;
    }
}

void OpenAIStreamEncoder::begin(std::string& out) {
    header_.clear();
    header_ += R"({"id":)";
    std::string id = "chatcmpl-";
    id += fields_.message_id.empty() ? std::string_view("llmproxy") : fields_.message_id;
    json_append_string(header_, id);
    header_ += R"(,"object":"chat.completion.chunk","created":)";
    append_uint(header_, created_ < 0 ? 0 : static_cast<std::uint64_t>(created_));
    header_ += R"(,"model":)";
    json_append_string(header_, ctx_.client_model);
    chunk_prefix_.assign("data: ");
    chunk_prefix_ += header_;
    append(chunk_prefix_, kChoicesOpen);
    merge_usage();
    state_ = State::kStreaming;

    begin_chunk(out);
    out += R"({"role":"assistant","content":""})";
    end_chunk("null", out);
}

int OpenAIStreamEncoder::tool_index_for_block(std::uint64_t block) const {
    for (const auto& [b, tool] : tool_blocks_) {
        if (b == block) return tool;
    }
    return -1;
}

void OpenAIStreamEncoder::on_block_start(std::string& out) {
    std::string_view type = fields_.block_type;
    if (type == "tool_use") {
        if (!fields_.has_index || fields_.block_id.empty() || fields_.block_name.empty() ||
            tool_index_for_block(fields_.index) >= 0) {
            end_with_error(502, "provider stream sent an invalid tool_use block", out);
            return;
        }
        // Tool call ids must be unique within a response: clients key the
        // results they send back on them.
        for (const std::string& id : tool_ids_) {
            if (id == fields_.block_id) {
                end_with_error(502, "provider stream repeated a tool_use id", out);
                return;
            }
        }
        tool_ids_.emplace_back(fields_.block_id);
        int tool = next_tool_index_++;
        tool_blocks_.emplace_back(fields_.index, tool);
        begin_chunk(out);
        out += R"({"tool_calls":[{"index":)";
        append_uint(out, static_cast<std::uint64_t>(tool));
        out += R"(,"id":)";
        json_append_string(out, fields_.block_id);
        out += R"(,"type":"function","function":{"name":)";
        json_append_string(out, ctx_.tool_names.to_client(fields_.block_name));
        out += R"(,"arguments":""}}]})";
        end_chunk("null", out);
        // Streamed tool_use blocks start with input {}; arguments follow as
        // input_json_delta fragments.
        return;
    }
    if (fields_.block_text.empty()) return;
    std::string_view open;
    if (type == "text") {
        open = R"({"content":)";
    } else if (type == "thinking") {
        open = R"({"reasoning_content":)";
    } else {
        return;
    }
    text_chunk(open, fields_.block_text, out);
    // redacted_thinking is encrypted and unreadable; server-tool blocks only
    // appear for server tools, which this route never declares.
}

void OpenAIStreamEncoder::on_block_delta(std::string& out) {
    std::string_view type = fields_.delta_type;
    if (fields_.delta_text.empty()) return;  // nothing to say
    std::string_view open;
    if (type == "text_delta") {
        open = R"({"content":)";
    } else if (type == "thinking_delta") {
        // ctx.quirks.reasoning_field names what providers are *sent*; OpenAI
        // clients read reasoning_content.
        open = R"({"reasoning_content":)";
    } else if (type == "input_json_delta") {
        int tool = fields_.has_index ? tool_index_for_block(fields_.index) : -1;
        if (tool < 0) return;  // arguments of a server tool, never declared here
        begin_chunk(out);
        out += R"({"tool_calls":[{"index":)";
        append_uint(out, static_cast<std::uint64_t>(tool));
        out += R"(,"function":{"arguments":)";
        json_append_string(out, fields_.delta_text);
        out += "}}]}";
        end_chunk("null", out);
        return;
    } else {
        // signature_delta: the signature of a thinking block, which OpenAI
        // responses have no field for; citations_delta: no chunk counterpart.
        return;
    }
    text_chunk(open, fields_.delta_text, out);
}

// The per-token path: prefix, text, fixed tail, each one append.
void OpenAIStreamEncoder::text_chunk(std::string_view open, std::string_view text,
                                     std::string& out) {
    begin_chunk(out);
    append(out, open);
    json_append_string(out, text);
    out += '}';
    append(out, kNullFinishTail);
    started_ = true;
}

void OpenAIStreamEncoder::complete(std::string& out) {
    std::string_view reason = openai_finish_reason(stop_reason_);
    // finish_reason values are plain identifiers: no escaping needed.
    std::string_view literal;
    if (reason == "length") literal = R"("length")";
    else if (reason == "tool_calls") literal = R"("tool_calls")";
    else if (reason == "content_filter") literal = R"("content_filter")";
    else literal = R"("stop")";
    begin_chunk(out);
    out += "{}";
    end_chunk(literal, out);
    if (ctx_.include_usage_requested) {
        out += "data: ";
        out += header_;
        out += R"(,"choices":[],"usage":)";
        append_openai_usage(out, usage_);
        out += "}\n\n";
    }
    out += kDone;
    state_ = State::kDone;
}

void OpenAIStreamEncoder::begin_chunk(std::string& out) { out += chunk_prefix_; }

void OpenAIStreamEncoder::end_chunk(std::string_view finish_reason, std::string& out) {
    out += R"(,"logprobs":null,"finish_reason":)";
    append(out, finish_reason);
    out += "}]}\n\n";
    started_ = true;
}

std::unique_ptr<StreamTranscoder> make_anthropic_to_openai_stream(const ResponseContext& ctx) {
    return std::make_unique<OpenAIStreamEncoder>(ctx,
                                                 static_cast<std::int64_t>(std::time(nullptr)));
}

}  // namespace llmproxy::detail
