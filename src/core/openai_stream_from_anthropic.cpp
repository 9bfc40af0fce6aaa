// Anthropic Messages SSE stream -> OpenAI chat.completion.chunk stream.
//
// Event payloads are read by AnthropicEventReader (a SAX pass into the
// fields used here, no DOM per event).
#include <ctime>
#include <memory>

#include "core/errors.hpp"
#include "core/json.hpp"
#include "core/mapping.hpp"
#include "core/openai_from_anthropic.hpp"
#include "core/translate_internal.hpp"

namespace llmproxy::detail {
namespace {

constexpr std::string_view kDone = "data: [DONE]\n\n";
constexpr std::string_view kChoicesOpen = R"(,"choices":[{"index":0,"delta":)";
constexpr std::string_view kNullFinishTail = R"(,"logprobs":null,"finish_reason":null}]})" "\n\n";

void append(std::string& out, std::string_view s) { out.append(s.data(), s.size()); }

}  // namespace

OpenAIStreamEncoder::OpenAIStreamEncoder(const ResponseContext& ctx, std::int64_t created)
    : ctx_(ctx), created_(created), parser_(JsonLimits{}.max_bytes) {}

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
    if (!events_.read(ev.data)) {
        end_with_error(502, "provider sent a malformed stream event", out);
        return;
    }
    // The payload's "type" is authoritative; the event: line is its echo.
    std::string_view type = fields().type;
    if (type.empty()) type = ev.event;

    if (type == "ping") return;
    if (type == "error") {
        std::string_view etype = fields().error_type;
        std::string_view message = fields().error_message;
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
        if (fields().has_stop_reason) {
            stop_reason_.assign(fields().stop_reason);
            have_stop_reason_ = true;
        }
        merge_usage();
    } else if (type == "message_stop") {
        complete(out);
    }
    // content_block_stop needs no output; unknown event types are skipped,
    // as Anthropic asks clients to do for types added later.
}

void OpenAIStreamEncoder::merge_usage() { events_.merge_usage(usage_); }

void OpenAIStreamEncoder::begin(std::string& out) {
    header_.clear();
    header_ += R"({"id":)";
    std::string id = "chatcmpl-";
    id += fields().message_id.empty() ? std::string_view("llmproxy") : fields().message_id;
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
    std::string_view type = fields().block_type;
    if (type == "tool_use") {
        if (!fields().has_index || fields().block_id.empty() || fields().block_name.empty() ||
            tool_index_for_block(fields().index) >= 0) {
            end_with_error(502, "provider stream sent an invalid tool_use block", out);
            return;
        }
        // Tool call ids must be unique within a response: clients key the
        // results they send back on them.
        for (const std::string& id : tool_ids_) {
            if (id == fields().block_id) {
                end_with_error(502, "provider stream repeated a tool_use id", out);
                return;
            }
        }
        tool_ids_.emplace_back(fields().block_id);
        int tool = next_tool_index_++;
        tool_blocks_.emplace_back(fields().index, tool);
        begin_chunk(out);
        out += R"({"tool_calls":[{"index":)";
        append_uint(out, static_cast<std::uint64_t>(tool));
        out += R"(,"id":)";
        json_append_string(out, fields().block_id);
        out += R"(,"type":"function","function":{"name":)";
        json_append_string(out, ctx_.tool_names.to_client(fields().block_name));
        out += R"(,"arguments":""}}]})";
        end_chunk("null", out);
        // Streamed tool_use blocks start with input {}; arguments follow as
        // input_json_delta fragments.
        return;
    }
    if (fields().block_text.empty()) return;
    std::string_view open;
    if (type == "text") {
        open = R"({"content":)";
    } else if (type == "thinking") {
        open = R"({"reasoning_content":)";
    } else {
        return;
    }
    text_chunk(open, fields().block_text, out);
    // redacted_thinking is encrypted and unreadable; server-tool blocks only
    // appear for server tools, which this route never declares.
}

void OpenAIStreamEncoder::on_block_delta(std::string& out) {
    std::string_view type = fields().delta_type;
    if (fields().delta_text.empty()) return;  // nothing to say
    std::string_view open;
    if (type == "text_delta") {
        open = R"({"content":)";
    } else if (type == "thinking_delta") {
        // ctx.quirks.reasoning_field names what providers are *sent*; OpenAI
        // clients read reasoning_content.
        open = R"({"reasoning_content":)";
    } else if (type == "input_json_delta") {
        int tool = fields().has_index ? tool_index_for_block(fields().index) : -1;
        if (tool < 0) return;  // arguments of a server tool, never declared here
        begin_chunk(out);
        out += R"({"tool_calls":[{"index":)";
        append_uint(out, static_cast<std::uint64_t>(tool));
        out += R"(,"function":{"arguments":)";
        json_append_string(out, fields().delta_text);
        out += "}}]}";
        end_chunk("null", out);
        return;
    } else {
        // signature_delta: the signature of a thinking block, which OpenAI
        // responses have no field for; citations_delta: no chunk counterpart.
        return;
    }
    text_chunk(open, fields().delta_text, out);
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
