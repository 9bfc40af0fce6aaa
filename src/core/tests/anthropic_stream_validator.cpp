#include "anthropic_stream_validator.hpp"

#include <set>

#include "core/json.hpp"
#include "core/sse.hpp"

namespace llmproxy::testing {
namespace {

std::string_view str(const rapidjson::Value& obj, const char* key, bool* present = nullptr) {
    if (present) *present = false;
    if (!obj.IsObject()) return {};
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd() || !it->value.IsString()) return {};
    if (present) *present = true;
    return {it->value.GetString(), it->value.GetStringLength()};
}

const rapidjson::Value* member(const rapidjson::Value& obj, const char* key) {
    if (!obj.IsObject()) return nullptr;
    auto it = obj.FindMember(key);
    return it == obj.MemberEnd() ? nullptr : &it->value;
}

bool valid_id(std::string_view id) {
    if (id.empty()) return false;
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

bool is_stop_reason(std::string_view s) {
    return s == "end_turn" || s == "max_tokens" || s == "stop_sequence" || s == "tool_use" ||
           s == "pause_turn" || s == "refusal" || s == "model_context_window_exceeded";
}

bool is_error_type(std::string_view s) {
    return s == "invalid_request_error" || s == "authentication_error" || s == "billing_error" ||
           s == "permission_error" || s == "not_found_error" || s == "request_too_large" ||
           s == "rate_limit_error" || s == "api_error" || s == "timeout_error" ||
           s == "overloaded_error";
}

bool read_count(const rapidjson::Value& usage, const char* key, std::uint64_t& out) {
    const rapidjson::Value* v = member(usage, key);
    if (!v) return false;
    if (!v->IsUint64()) return false;
    out = v->GetUint64();
    return true;
}

class Validator {
public:
    Validator(AnthropicStreamSummary& s, const AnthropicValidatorOptions& o) : s_(s), o_(o) {}

    void event(const SseEvent& e) {
        if (!s_.error.empty()) return;
        ++n_;
        if (ended_) return fail("event after the end of the stream: " + std::string(e.event));
        if (e.event.empty()) return fail("event without an event: name");
        rapidjson::Document d;
        if (!parse_json(e.data, JsonLimits{}, d, "event").ok() || !d.IsObject()) {
            return fail("event data is not a JSON object: " + std::string(e.data));
        }
        std::string_view type = str(d, "type");
        if (type != e.event) return fail("event name " + std::string(e.event) + " != type " + std::string(type));
        if (type == "error") return on_error(d);
        if (!started_) {
            if (type != "message_start") return fail("first event is " + std::string(type));
            return on_message_start(d);
        }
        if (type == "ping") {
            ++s_.pings;
            return;
        }
        if (delta_seen_ && type != "message_stop") return fail(std::string(type) + " after message_delta");
        if (type == "content_block_start") return on_block_start(d);
        if (type == "content_block_delta") return on_block_delta(d);
        if (type == "content_block_stop") return on_block_stop(d);
        if (type == "message_delta") return on_message_delta(d);
        if (type == "message_stop") {
            if (!delta_seen_) return fail("message_stop without message_delta");
            ended_ = true;
            s_.complete = true;
            return;
        }
        if (type == "message_start") return fail("second message_start");
        fail("unknown event type " + std::string(type));
    }

    void end() {
        if (!s_.error.empty()) return;
        if (o_.require_complete && !ended_) fail("stream did not end with message_stop or error");
    }

private:
    void fail(std::string why) {
        if (s_.error.empty()) s_.error = "event " + std::to_string(n_) + ": " + why;
    }

    void on_error(const rapidjson::Document& d) {
        const rapidjson::Value* err = member(d, "error");
        if (!err || !err->IsObject()) return fail("error event without an error object");
        std::string_view t = str(*err, "type");
        if (!is_error_type(t)) return fail("unknown error type " + std::string(t));
        bool has_msg = false;
        s_.error_message = std::string(str(*err, "message", &has_msg));
        if (!has_msg) return fail("error without message");
        s_.error_type = std::string(t);
        s_.errored = true;
        ended_ = true;
    }

    void on_message_start(const rapidjson::Document& d) {
        started_ = true;
        const rapidjson::Value* m = member(d, "message");
        if (!m || !m->IsObject()) return fail("message_start without message");
        std::string_view id = str(*m, "id");
        if (id.substr(0, 4) != "msg_" || !valid_id(id)) return fail("bad message id " + std::string(id));
        s_.message_id = std::string(id);
        if (str(*m, "type") != "message" || str(*m, "role") != "assistant") return fail("bad message type/role");
        bool has_model = false;
        s_.model = std::string(str(*m, "model", &has_model));
        if (!has_model) return fail("message without model");
        const rapidjson::Value* content = member(*m, "content");
        if (!content || !content->IsArray() || !content->Empty()) return fail("message content must be []");
        const rapidjson::Value* sr = member(*m, "stop_reason");
        if (!sr || !sr->IsNull()) return fail("message_start stop_reason must be null");
        const rapidjson::Value* usage = member(*m, "usage");
        if (!usage || !usage->IsObject()) return fail("message_start without usage");
        std::uint64_t v = 0;
        if (!read_count(*usage, "input_tokens", v) || !read_count(*usage, "output_tokens", v)) {
            return fail("message_start usage needs input_tokens and output_tokens");
        }
    }

    void on_block_start(const rapidjson::Document& d) {
        if (open_) return fail("content_block_start while block " + std::to_string(index_) + " is open");
        const rapidjson::Value* idx = member(d, "index");
        if (!idx || !idx->IsUint64() || idx->GetUint64() != s_.blocks.size()) {
            return fail("content_block_start index is not " + std::to_string(s_.blocks.size()));
        }
        const rapidjson::Value* cb = member(d, "content_block");
        if (!cb || !cb->IsObject()) return fail("content_block_start without content_block");
        AnthropicBlock b;
        b.type = std::string(str(*cb, "type"));
        bool present = false;
        if (b.type == "text") {
            str(*cb, "text", &present);
            if (!present) return fail("text block without text");
        } else if (b.type == "thinking") {
            str(*cb, "thinking", &present);
            if (!present) return fail("thinking block without thinking");
        } else if (b.type == "redacted_thinking") {
            b.text = std::string(str(*cb, "data", &present));
            if (!present) return fail("redacted_thinking without data");
        } else if (b.type == "tool_use") {
            b.id = std::string(str(*cb, "id"));
            b.name = std::string(str(*cb, "name"));
            if (!valid_id(b.id)) return fail("bad tool_use id '" + b.id + "'");
            if (!tool_ids_.insert(b.id).second) return fail("duplicate tool_use id " + b.id);
            if (b.name.empty()) return fail("tool_use without name");
            const rapidjson::Value* input = member(*cb, "input");
            if (!input || !input->IsObject() || !input->ObjectEmpty()) return fail("tool_use input must be {}");
        } else {
            return fail("unknown content block type " + b.type);
        }
        s_.blocks.push_back(std::move(b));
        open_ = true;
        index_ = s_.blocks.size() - 1;
    }

    void on_block_delta(const rapidjson::Document& d) {
        const rapidjson::Value* idx = member(d, "index");
        if (!open_ || !idx || !idx->IsUint64() || idx->GetUint64() != index_) {
            return fail("content_block_delta for a block that is not open");
        }
        const rapidjson::Value* delta = member(d, "delta");
        if (!delta || !delta->IsObject()) return fail("content_block_delta without delta");
        AnthropicBlock& b = s_.blocks[index_];
        std::string_view dt = str(*delta, "type");
        bool present = false;
        if (b.type == "text" && dt == "text_delta") {
            b.text += str(*delta, "text", &present);
        } else if (b.type == "thinking" && dt == "thinking_delta") {
            if (!b.signature.empty()) return fail("thinking_delta after signature_delta");
            b.text += str(*delta, "thinking", &present);
        } else if (b.type == "thinking" && dt == "signature_delta") {
            b.signature += str(*delta, "signature", &present);
        } else if (b.type == "tool_use" && dt == "input_json_delta") {
            b.text += str(*delta, "partial_json", &present);
        } else {
            return fail("delta type " + std::string(dt) + " in a " + b.type + " block");
        }
        if (!present) return fail("delta without its payload field");
        ++b.deltas;
    }

    void on_block_stop(const rapidjson::Document& d) {
        const rapidjson::Value* idx = member(d, "index");
        if (!open_ || !idx || !idx->IsUint64() || idx->GetUint64() != index_) {
            return fail("content_block_stop for a block that is not open");
        }
        open_ = false;
        const AnthropicBlock& b = s_.blocks[index_];
        if (b.type == "tool_use" && o_.tool_json_must_parse && !b.text.empty()) {
            rapidjson::Document args;
            if (!parse_json(b.text, JsonLimits{}, args, "tool input").ok() || !args.IsObject()) {
                return fail("tool_use " + b.id + " input is not a JSON object: " + b.text);
            }
        }
    }

    void on_message_delta(const rapidjson::Document& d) {
        if (open_) return fail("message_delta while a block is open");
        if (delta_seen_) return fail("second message_delta");
        delta_seen_ = true;
        const rapidjson::Value* delta = member(d, "delta");
        if (!delta || !delta->IsObject()) return fail("message_delta without delta");
        s_.stop_reason = std::string(str(*delta, "stop_reason"));
        if (!is_stop_reason(s_.stop_reason)) return fail("bad stop_reason " + s_.stop_reason);
        const rapidjson::Value* seq = member(*delta, "stop_sequence");
        if (!seq || !(seq->IsNull() || seq->IsString())) return fail("message_delta without stop_sequence");
        const rapidjson::Value* usage = member(d, "usage");
        if (!usage || !usage->IsObject()) return fail("message_delta without usage");
        if (!read_count(*usage, "output_tokens", s_.output_tokens)) return fail("usage.output_tokens missing");
        s_.final_usage_has_input = read_count(*usage, "input_tokens", s_.input_tokens);
        read_count(*usage, "cache_read_input_tokens", s_.cache_read);
        read_count(*usage, "cache_creation_input_tokens", s_.cache_creation);
    }

    AnthropicStreamSummary& s_;
    const AnthropicValidatorOptions& o_;
    std::set<std::string> tool_ids_;
    std::size_t n_ = 0;
    std::size_t index_ = 0;
    bool started_ = false;
    bool open_ = false;
    bool delta_seen_ = false;
    bool ended_ = false;
};

}  // namespace

AnthropicStreamSummary validate_anthropic_stream(std::string_view sse,
                                                 const AnthropicValidatorOptions& opts) {
    AnthropicStreamSummary s;
    // Every event the encoders write ends with a blank line; a trailing
    // partial event is itself a violation.
    if (!sse.empty() && sse.substr(sse.size() < 2 ? 0 : sse.size() - 2) != "\n\n") {
        s.error = "output does not end with a blank line";
        return s;
    }
    Validator v(s, opts);
    SseParser parser;
    parser.feed(sse, [&](const SseEvent& e) { v.event(e); });
    parser.finish([&](const SseEvent& e) { v.event(e); });
    v.end();
    s.ok = s.error.empty();
    return s;
}

}  // namespace llmproxy::testing
