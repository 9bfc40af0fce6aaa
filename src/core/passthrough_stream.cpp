#include "core/passthrough_stream.hpp"

#include "core/errors.hpp"
#include "core/json.hpp"
#include "core/mapping.hpp"
#include "core/sse.hpp"

namespace llmproxy {
namespace {

class PassthroughStream final : public StreamTranscoder {
public:
    PassthroughStream(Dialect dialect, const ResponseContext& ctx)
        : dialect_(dialect), client_model_(ctx.client_model) {}

    void feed(std::string_view bytes, std::string& out) override {
        if (ended_) return;
        bool ok = parser_.feed(bytes, [&](const SseEvent& ev) { on_event(ev, out); });
        if (!ok) fail(502, "provider stream event exceeds the size limit", out);
    }

    void finish(std::string& out) override {
        if (ended_) return;
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
