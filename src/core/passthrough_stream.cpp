#include "core/passthrough_stream.hpp"

#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "core/anthropic_event_reader.hpp"
#include "core/errors.hpp"
#include "core/fast_json_reader.hpp"
#include "core/json.hpp"
#include "core/mapping.hpp"
#include "core/sse.hpp"

namespace llmproxy {
namespace {

constexpr std::size_t kMaxEventBytes = SseParser::kDefaultMaxEventBytes;

// The Anthropic events a passthrough never needs to look into: nothing in
// them is rewritten or counted, so their bytes are forwarded as they came.
bool forwarded_unread(std::string_view name) {
    return name == "content_block_delta" || name == "content_block_start" ||
           name == "content_block_stop" || name == "ping";
}

// What a passthrough needs to know about an OpenAI chunk.
struct OpenAIChunkFacts {
    bool top_level_model = false;  // a top-level "model" member (rewritten)
    bool usage_object = false;     // top-level "usage" is an object (read)
    bool error = false;            // top-level "error": the provider ended the stream
    bool finish_reason = false;    // a choice has a string finish_reason
};

// SAX handler filling OpenAIChunkFacts; it refuses nesting past the limit,
// so the recursive reader stays bounded.
class OpenAIChunkFactsHandler {
public:
    using Ch = char;
    OpenAIChunkFactsHandler(OpenAIChunkFacts& facts, unsigned max_depth)
        : facts_(facts), max_depth_(max_depth) {}

    bool Key(const Ch* s, rapidjson::SizeType n, bool) {
        std::string_view k(s, n);
        if (depth_ == 1) {
            top_key_ = k == "usage" ? TopKey::kUsage : k == "choices" ? TopKey::kChoices : TopKey::kOther;
            if (k == "model") facts_.top_level_model = true;
            if (k == "error") facts_.error = true;
        } else if (depth_ == 3 && in_choices_) {
            finish_key_ = k == "finish_reason";
        }
        return true;
    }
    bool String(const Ch*, rapidjson::SizeType, bool) {
        if (depth_ == 3 && in_choices_ && finish_key_) facts_.finish_reason = true;
        return true;
    }
    bool Null() { return true; }
    bool Bool(bool) { return true; }
    bool Int(int) { return true; }
    bool Uint(unsigned) { return true; }
    bool Int64(std::int64_t) { return true; }
    bool Uint64(std::uint64_t) { return true; }
    bool Double(double) { return true; }
    bool RawNumber(const Ch*, rapidjson::SizeType, bool) { return true; }
    bool StartObject() {
        if (depth_ == 1 && top_key_ == TopKey::kUsage) facts_.usage_object = true;
        return open();
    }
    bool EndObject(rapidjson::SizeType) { return close(); }
    bool StartArray() {
        if (depth_ == 1 && top_key_ == TopKey::kChoices) in_choices_ = true;
        return open();
    }
    bool EndArray(rapidjson::SizeType) {
        if (depth_ == 2) in_choices_ = false;
        return close();
    }

private:
    enum class TopKey { kOther, kUsage, kChoices };
    bool open() { return ++depth_ <= max_depth_; }
    bool close() {
        --depth_;
        return true;
    }
    OpenAIChunkFacts& facts_;
    unsigned max_depth_;
    unsigned depth_ = 0;
    TopKey top_key_ = TopKey::kOther;
    bool in_choices_ = false;
    bool finish_key_ = false;
};

class PassthroughStream final : public StreamTranscoder {
public:
    PassthroughStream(Dialect dialect, const ResponseContext& ctx)
        : dialect_(dialect), client_model_(ctx.client_model),
          raw_framing_(dialect == Dialect::kAnthropic) {
        std::string literal;
        json_append_string(literal, client_model_);
        model_literal_.emplace_back("model", std::move(literal));
    }

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
        if (parser_) {
            parser_->finish([&](const SseEvent& ev) {
                LocalDocument local_doc;
                rapidjson::Document& doc = local_doc.get();
                if (ev.data == "[DONE]" || parse_json(ev.data, limits_, doc, "provider event").ok()) {
                    on_event(ev, out);
                }
            });
        }
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
        if (!parser_) parser_.emplace(kMaxEventBytes);  // most Anthropic streams never need it
        bool ok = parser_->feed(bytes, [&](const SseEvent& ev) { on_event(ev, out); });
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
            pass_event(tail_, out);  // never touches tail_
            tail_.clear();           // its capacity serves the next cut event
        }
        // Consecutive events forwarded unread leave in one append.
        std::size_t run_start = 0, run_end = 0, at = 0;
        while (!ended_ && at < bytes.size()) {
            std::size_t blank = bytes.find("\n\n", at);
            if (blank == std::string_view::npos) break;
            std::string_view event = bytes.substr(at, blank + 2 - at);
            if (forwarded_as_is(event)) {
                if (run_end != at) run_start = at;
                run_end = blank + 2;
            } else {
                out.append(bytes.substr(run_start, run_end - run_start));
                run_start = run_end = 0;
                pass_event(event, out);
            }
            at = blank + 2;
        }
        out.append(bytes.substr(run_start, run_end - run_start));
        if (!ended_ && at < bytes.size()) keep_tail(bytes.substr(at), out);
    }

    void keep_tail(std::string_view bytes, std::string& out) {
        if (tail_.size() + bytes.size() > kMaxEventBytes) {
            fail(502, "provider stream event exceeds the size limit", out);
            return;
        }
        tail_.append(bytes);
    }

    // An LF-framed event ("event: NAME\ndata:...\n\n", no blank line
    // before it) whose bytes go out unchanged (forwarded_unread).
    bool forwarded_as_is(std::string_view event) {
        constexpr std::string_view kEvent = "event: ";
        if (event.substr(0, kEvent.size()) != kEvent) return false;
        std::size_t nl = event.find('\n');
        std::string_view name = event.substr(kEvent.size(), nl - kEvent.size());
        if (!forwarded_unread(name) || event.substr(nl + 1, 5) != "data:") return false;
        started_ = true;
        return true;
    }

    // One complete LF-framed event (ending "\n\n", maybe after blank lines).
    void pass_event(std::string_view event, std::string& out) {
        std::size_t start = event.find_first_not_of('\n');
        if (start == std::string_view::npos || ended_) return;
        event.remove_prefix(start);
        if (forwarded_as_is(event)) {
            out.append(event);
            return;
        }
        if (SseEvent ev; plain_event(event, ev)) {
            on_event(ev, out);
            return;
        }
        parse(event, out);
    }

    // "event: NAME\ndata: DATA\n\n", as Anthropic writes every event: its
    // name and data without the SSE parser (which takes any other shape).
    static bool plain_event(std::string_view event, SseEvent& ev) {
        constexpr std::string_view kEvent = "event: ", kData = "data: ";
        if (event.substr(0, kEvent.size()) != kEvent) return false;
        std::size_t name_end = event.find('\n', kEvent.size());
        std::size_t data_at = name_end + 1;
        if (event.substr(data_at, kData.size()) != kData) return false;
        std::size_t data_end = event.find('\n', data_at);
        if (data_end + 2 != event.size()) return false;  // one data line, then the blank line
        ev.event = event.substr(kEvent.size(), name_end - kEvent.size());
        ev.data = event.substr(data_at + kData.size(), data_end - data_at - kData.size());
        return true;
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
            // Once or twice per stream: usage is read, and message_start's
            // model is replaced in the provider's own bytes.
            if (events_.read(ev.data)) {
                events_.merge_usage(usage_);
                std::string_view literal;
                if (name == "message_start" && !client_model_.empty()) {
                    literal = events_.source_literal(events_.fields().message_model, ev.data);
                }
                if (!literal.empty()) {
                    // The client's model name in place of the provider's.
                    auto at = static_cast<std::size_t>(literal.data() - ev.data.data());
                    rewritten_.assign(ev.data.substr(0, at));
                    rewritten_.append(model_literal_.front().second);
                    rewritten_.append(ev.data.substr(at + literal.size()));
                    sse_append_event(out, name, rewritten_);
                    return;
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
        OpenAIChunkFacts facts = chunk_facts(data);
        if (facts.error || facts.finish_reason) complete_ = true;  // some providers end without [DONE]
        if (facts.usage_object) {
            // Once per stream: the usage chunk is read whole.
            LocalDocument local_doc;
            rapidjson::Document& doc = local_doc.get();
            if (parse_json(data, limits_, doc, "provider event").ok() && doc.IsObject()) {
                auto u = doc.FindMember("usage");
                if (u != doc.MemberEnd() && u->value.IsObject()) usage_ = usage_from_openai(u->value);
            }
        }
        if (facts.top_level_model && !client_model_.empty()) {
            rewritten_.clear();
            append_replacing_top_level_values(rewritten_, data, model_literal_);
            sse_append_data(out, rewritten_);
        } else {
            sse_append_data(out, data);
        }
    }

    // One SAX pass over a chunk (the fast reader, RapidJSON when it declines)
    // instead of a DOM per chunk: every chunk names "finish_reason", most as
    // null.
    OpenAIChunkFacts chunk_facts(std::string_view data) {
        OpenAIChunkFacts facts;
        if (data.empty() || data.front() != '{') return facts;
        scratch_.assign(data);
        scratch_.append(FastJsonReader::kPadding, '\0');
        OpenAIChunkFactsHandler fast(facts, limits_.max_depth);
        if (FastJsonReader::parse(scratch_.data(), data.size(), fast)) return facts;
        facts = OpenAIChunkFacts{};
        std::memcpy(scratch_.data(), data.data(), data.size());
        OpenAIChunkFactsHandler slow(facts, limits_.max_depth);
        rapidjson::Reader reader;
        rapidjson::InsituStringStream in(scratch_.data());
        if (reader.Parse<rapidjson::kParseInsituFlag>(in, slow).IsError()) return OpenAIChunkFacts{};
        return facts;
    }

    Dialect dialect_;
    std::string client_model_;
    std::optional<SseParser> parser_;  // made when an event needs it
    AnthropicEventReader events_;
    bool raw_framing_;      // Anthropic events split at "\n\n", see split_events
    bool seen_bytes_ = false;
    std::string tail_;      // an event not complete yet (raw framing only)
    std::vector<std::pair<std::string_view, std::string>> model_literal_;  // {"model", "\"name\""}
    std::string scratch_;   // padded copy of an OpenAI chunk, parsed in situ
    std::string rewritten_;
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
