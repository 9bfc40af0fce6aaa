#include "core/passthrough_stream.hpp"

#include <cstring>

#include "core/errors.hpp"
#include "core/json.hpp"
#include "core/mapping.hpp"
#include "core/sse.hpp"

namespace llmproxy {
namespace {

constexpr std::size_t kMaxEventBytes = 32u * 1024u * 1024u;

// The Anthropic events a passthrough never needs to look into: nothing in
// them is rewritten or counted, so their bytes are forwarded as they came.
bool forwarded_unread(std::string_view name) {
    return name == "content_block_delta" || name == "content_block_start" ||
           name == "content_block_stop" || name == "ping";
}

class PassthroughStream final : public StreamTranscoder {
public:
    PassthroughStream(Dialect dialect, const ResponseContext& ctx)
        : dialect_(dialect), client_model_(ctx.client_model), parser_(kMaxEventBytes),
          raw_framing_(dialect == Dialect::kAnthropic) {}

    void feed(std::string_view bytes, std::string& out) override {
        if (ended_) return;
        if (raw_framing_ && !fits_raw_framing(bytes)) {
            // CR line ends or a BOM: the full SSE parser handles those.
            raw_framing_ = false;
            std::string tail = std::move(tail_);
            tail_.clear();
            parse(tail, out);
        }
        if (raw_framing_) {
            split_events(bytes, out);
        } else {
            parse(bytes, out);
        }
    }

    void finish(std::string& out) override {
        if (ended_) return;
        if (!tail_.empty()) {
            std::string tail = std::move(tail_);
            tail_.clear();
            parse(tail, out);
            if (ended_) return;
        }
        // An event left without its blank line at EOF is passed on only when
        // it is whole (valid JSON or [DONE]); a cut one would break the
        // client's parser before it ever saw the error event.
        parser_.finish([&](const SseEvent& ev) {
            rapidjson::Document doc;
            if (ev.data == "[DONE]" || parse_json(ev.data, limits_, doc, "provider event").ok()) {
                on_event(ev, out);
            }
        });
        if (ended_) return;
        if (!complete_) {
            fail(502, "provider stream ended before the response was complete", out);
            return;
        }
        if (dialect_ == Dialect::kOpenAI && !saw_done_) sse_append_data(out, "[DONE]");
        ended_ = true;
    }

    void fail(int status, std::string_view message, std::string& out) override {
        if (ended_) return;
        out += stream_error_event(dialect_, status, message);
        if (dialect_ == Dialect::kOpenAI) sse_append_data(out, "[DONE]");
        started_ = true;
        ended_ = true;
    }

    const Usage& usage() const override { return usage_; }
    bool started() const override { return started_; }

private:
    void parse(std::string_view bytes, std::string& out) {
        bool ok = parser_.feed(bytes, [&](const SseEvent& ev) { on_event(ev, out); });
        if (!ok) fail(502, "provider stream event exceeds the size limit", out);
    }

    bool fits_raw_framing(std::string_view bytes) {
        if (!seen_bytes_ && !bytes.empty()) {
            seen_bytes_ = true;
            if (static_cast<unsigned char>(bytes[0]) == 0xEF) return false;  // BOM
        }
        return std::memchr(bytes.data(), '\r', bytes.size()) == nullptr;
    }

    // Splits LF-framed bytes at blank lines ("\n\n") without parsing lines:
    // most events of a stream are then one memchr and one copy each.
    void split_events(std::string_view bytes, std::string& out) {
        if (!tail_.empty()) {
            std::size_t end;
            if (tail_.back() == '\n' && !bytes.empty() && bytes.front() == '\n') {
                end = 1;
            } else {
                std::size_t blank = bytes.find("\n\n");
                if (blank == std::string_view::npos) {
                    keep_tail(bytes, out);
                    return;
                }
                end = blank + 2;
            }
            tail_.append(bytes.data(), end);
            bytes.remove_prefix(end);
            std::string event = std::move(tail_);
            tail_.clear();
            pass_event(event, out);
        }
        while (!ended_ && !bytes.empty()) {
            std::size_t blank = bytes.find("\n\n");
            if (blank == std::string_view::npos) {
                keep_tail(bytes, out);
                return;
            }
            pass_event(bytes.substr(0, blank + 2), out);
            bytes.remove_prefix(blank + 2);
        }
    }

    void keep_tail(std::string_view bytes, std::string& out) {
        if (tail_.size() + bytes.size() > kMaxEventBytes) {
            fail(502, "provider stream event exceeds the size limit", out);
            return;
        }
        tail_.append(bytes);
    }

    // One complete LF-framed event (ending "\n\n", maybe after blank lines).
    void pass_event(std::string_view event, std::string& out) {
        std::size_t start = event.find_first_not_of('\n');
        if (start == std::string_view::npos || ended_) return;
        event.remove_prefix(start);
        constexpr std::string_view kEvent = "event: ";
        if (event.substr(0, kEvent.size()) == kEvent) {
            std::size_t nl = event.find('\n');
            std::string_view name = event.substr(kEvent.size(), nl - kEvent.size());
            if (forwarded_unread(name) && event.substr(nl + 1, 5) == "data:") {
                started_ = true;
                out.append(event);
                return;
            }
        }
        parse(event, out);
    }

    void on_event(const SseEvent& ev, std::string& out) {
        if (ended_) return;
        started_ = true;
        if (dialect_ == Dialect::kAnthropic) {
            anthropic_event(ev, out);
        } else {
            openai_event(ev, out);
        }
    }

    void anthropic_event(const SseEvent& ev, std::string& out) {
        std::string_view name = ev.event;
        if (name == "message_start" || name == "message_delta") {
            rapidjson::Document doc;
            if (parse_json(ev.data, limits_, doc, "provider event").ok() && doc.IsObject()) {
                if (name == "message_start") {
                    auto msg = doc.FindMember("message");
                    if (msg != doc.MemberEnd() && msg->value.IsObject()) {
                        auto u = msg->value.FindMember("usage");
                        if (u != msg->value.MemberEnd()) merge_anthropic_usage(u->value, usage_);
                        auto m = msg->value.FindMember("model");
                        if (m != msg->value.MemberEnd() && !client_model_.empty()) {
                            m->value.SetString(client_model_.data(),
                                               static_cast<rapidjson::SizeType>(client_model_.size()),
                                               doc.GetAllocator());
                            sse_append_event(out, name, json_to_string(doc));
                            return;
                        }
                    }
                } else {
                    auto u = doc.FindMember("usage");
                    if (u != doc.MemberEnd()) merge_anthropic_usage(u->value, usage_);
                }
            }
        } else if (name == "message_stop") {
            complete_ = true;
        } else if (name == "error") {
            complete_ = true;  // the provider ended the stream with its own error
        }
        sse_append_event(out, name.empty() ? std::string_view("message") : name, ev.data);
    }

    void openai_event(const SseEvent& ev, std::string& out) {
        std::string_view data = ev.data;
        if (data == "[DONE]") {
            complete_ = true;
            saw_done_ = true;
            sse_append_data(out, data);
            return;
        }
        if (data.find("\"usage\"") != std::string_view::npos ||
            data.find("\"finish_reason\"") != std::string_view::npos ||
            data.find("\"error\"") != std::string_view::npos) {
            rapidjson::Document doc;
            if (parse_json(data, limits_, doc, "provider event").ok() && doc.IsObject()) {
                auto u = doc.FindMember("usage");
                if (u != doc.MemberEnd() && u->value.IsObject()) usage_ = usage_from_openai(u->value);
                if (doc.HasMember("error")) complete_ = true;
                auto choices = doc.FindMember("choices");
                if (choices != doc.MemberEnd() && choices->value.IsArray()) {
                    for (const auto& c : choices->value.GetArray()) {
                        auto fr = c.IsObject() ? c.FindMember("finish_reason") : c.MemberEnd();
                        if (c.IsObject() && fr != c.MemberEnd() && fr->value.IsString()) {
                            complete_ = true;  // some providers end without [DONE]
                        }
                    }
                }
            }
        }
        if (!client_model_.empty() && data.find("\"model\"") != std::string_view::npos &&
            !data.empty() && data.front() == '{') {
            sse_append_data(out, rewrite_model(data, client_model_));
        } else {
            sse_append_data(out, data);
        }
    }

    Dialect dialect_;
    std::string client_model_;
    SseParser parser_;
    bool raw_framing_;      // Anthropic events split at "\n\n", see split_events
    bool seen_bytes_ = false;
    std::string tail_;      // an event not complete yet (raw framing only)
    JsonLimits limits_;
    Usage usage_;
    bool started_ = false;
    bool complete_ = false;
    bool saw_done_ = false;
    bool ended_ = false;
};

}  // namespace

std::unique_ptr<StreamTranscoder> make_passthrough_stream(Dialect dialect,
                                                          const ResponseContext& ctx) {
    return std::make_unique<PassthroughStream>(dialect, ctx);
}

}  // namespace llmproxy
