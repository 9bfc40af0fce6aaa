// OpenAI Chat Completions SSE stream -> Anthropic Messages SSE stream.
//
// One explicit state machine: message_start is sent with the first good
// chunk (blocks still open lazily: no empty block for a role-only chunk), content blocks are strictly sequential (start, deltas of the
// block's own type, stop), tool calls are tracked per (index, id) slot so
// interleaved indices, several calls per chunk and Gemini-style "same index,
// new id" calls each become their own tool_use block, and message_delta is
// held until usage, [DONE] or end of input.
//
// Upstream chunks are parsed with RapidJSON's SAX reader in situ (a reused
// copy of the event data), not into a DOM: a DOM parse allocates on every
// call, and this path must not allocate per chunk in steady state. The same
// limits as parse_json apply (event size and nesting depth).
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include "core/errors.hpp"
#include "core/fast_json_reader.hpp"
#include "core/json.hpp"
#include "core/mapping.hpp"
#include "core/sse.hpp"
#include "core/translate_internal.hpp"

namespace llmproxy::detail {
namespace {

// ---- what one upstream chunk carries ----------------------------------------

struct ToolDelta {
    long long index = 0;
    bool has_index = false;
    std::string_view id, name, arguments;
};

struct ReasoningDetail {
    std::string_view type, text, signature, data;
};

struct ChoiceData {
    long long index = -1;                 // explicit "index", -1 when absent
    std::vector<std::string_view> texts;  // content string or text parts, in order
    std::string_view reasoning_content, reasoning, refusal;
    std::string_view finish_reason;
    bool has_finish_reason = false;       // non-null finish_reason present
    std::vector<ToolDelta> tools;
    std::vector<ReasoningDetail> details;

    void clear() {
        index = -1;
        texts.clear();
        reasoning_content = reasoning = refusal = finish_reason = {};
        has_finish_reason = false;
        tools.clear();
        details.clear();
    }
    bool empty() const {
        return texts.empty() && reasoning_content.empty() && reasoning.empty() && refusal.empty() &&
               !has_finish_reason && tools.empty() && details.empty();
    }
};

struct ChunkData {
    std::string_view id;
    bool has_choice0 = false;
    std::size_t choices_seen = 0;
    ChoiceData choice0;
    ChoiceData current;
    bool has_usage = false;
    OpenAIUsageFields usage;
    bool has_error = false;
    std::string_view error_message, error_type, error_code;
    long long error_code_number = 0;

    void clear() {
        id = {};
        has_choice0 = false;
        choices_seen = 0;
        choice0.clear();
        current.clear();
        has_usage = false;
        usage = OpenAIUsageFields{};
        has_error = false;
        error_message = error_type = error_code = {};
        error_code_number = 0;
    }
};

// ---- SAX handler ------------------------------------------------------------

enum class Ctx : unsigned char {
    kRoot, kChoices, kChoice, kDelta, kContentParts, kContentPart, kToolCalls, kToolCall,
    kFunction, kDetails, kDetail, kUsage, kUsageDetails, kError, kOther,
};

struct Frame {
    Ctx ctx;
    std::string_view key;  // last key seen in this object frame
};

class ChunkHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, ChunkHandler> {
public:
    ChunkHandler(ChunkData& chunk, unsigned max_depth) : c_(chunk), max_depth_(max_depth) {
        frames_.resize(max_depth + 2);  // indexed by depth_: no capacity checks per value
    }
    void reset() { depth_ = 0; }

    bool StartObject() {
        if (depth_ > max_depth_) return false;
        if (depth_ == 0) {
            push({Ctx::kRoot, {}});
            return true;
        }
        const Frame& p = top();
        Ctx next = Ctx::kOther;
        switch (p.ctx) {
        case Ctx::kRoot:
            if (p.key == "usage") next = start_usage();
            else if (p.key == "error") next = start_error();
            break;
        case Ctx::kChoices:
            c_.current.clear();
            next = Ctx::kChoice;
            break;
        case Ctx::kChoice:
            if (p.key == "delta" || p.key == "message") next = Ctx::kDelta;
            else if (p.key == "usage") next = start_usage();
            else if (p.key == "error") next = start_error();
            break;
        case Ctx::kDelta:
            if (p.key == "function_call") {  // legacy single function call
                c_.current.tools.push_back(ToolDelta{0, true, {}, {}, {}});
                next = Ctx::kFunction;
            }
            break;
        case Ctx::kContentParts: next = Ctx::kContentPart; break;
        case Ctx::kToolCalls:
            c_.current.tools.push_back(ToolDelta{});
            next = Ctx::kToolCall;
            break;
        case Ctx::kToolCall:
            if (p.key == "function") next = Ctx::kFunction;
            break;
        case Ctx::kDetails:
            c_.current.details.push_back(ReasoningDetail{});
            next = Ctx::kDetail;
            break;
        case Ctx::kUsage:
            if (p.key == "prompt_tokens_details" || p.key == "input_tokens_details") {
                next = Ctx::kUsageDetails;
            }
            break;
        default: break;
        }
        push({next, {}});
        return true;
    }
    bool EndObject(rapidjson::SizeType) {
        Ctx ctx = top().ctx;
        --depth_;
        if (ctx == Ctx::kChoice) {
            long long idx = c_.current.index >= 0 ? c_.current.index
                                                  : static_cast<long long>(c_.choices_seen);
            ++c_.choices_seen;
            if (idx == 0 && !c_.has_choice0) {
                std::swap(c_.choice0, c_.current);  // keeps both buffers' capacity
                c_.has_choice0 = true;
            }
            c_.current.clear();
        }
        return true;
    }
    bool StartArray() {
        if (depth_ > max_depth_) return false;
        if (depth_ == 0) {  // a top-level array is not a chunk: ignored
            push({Ctx::kOther, {}});
            return true;
        }
        const Frame& p = top();
        Ctx next = Ctx::kOther;
        if (p.ctx == Ctx::kRoot && p.key == "choices") next = Ctx::kChoices;
        else if (p.ctx == Ctx::kDelta && p.key == "tool_calls") next = Ctx::kToolCalls;
        else if (p.ctx == Ctx::kDelta && p.key == "reasoning_details") next = Ctx::kDetails;
        else if (p.ctx == Ctx::kDelta && p.key == "content") next = Ctx::kContentParts;
        push({next, {}});
        return true;
    }
    bool EndArray(rapidjson::SizeType) {
        --depth_;
        return true;
    }
    bool Key(const char* s, rapidjson::SizeType n, bool) {
        top().key = std::string_view(s, n);
        return true;
    }
    bool String(const char* s, rapidjson::SizeType n, bool) {
        if (depth_ == 0) return true;  // a bare string document: ignored by the caller
        const Frame& f = top();
        std::string_view v(s, n);
        switch (f.ctx) {
        case Ctx::kRoot:
            if (f.key == "id") c_.id = v;
            break;
        case Ctx::kChoice:
            if (f.key == "finish_reason") {
                c_.current.finish_reason = v;
                c_.current.has_finish_reason = true;
            }
            break;
        case Ctx::kDelta:
            if (f.key == "content") c_.current.texts.push_back(v);
            else if (f.key == "reasoning_content") c_.current.reasoning_content = v;
            else if (f.key == "reasoning") c_.current.reasoning = v;
            else if (f.key == "refusal") c_.current.refusal = v;
            break;
        case Ctx::kContentPart:
            if (f.key == "text") c_.current.texts.push_back(v);
            break;
        case Ctx::kToolCall:
            if (f.key == "id") c_.current.tools.back().id = v;
            break;
        case Ctx::kFunction:
            if (f.key == "name") c_.current.tools.back().name = v;
            else if (f.key == "arguments") c_.current.tools.back().arguments = v;
            break;
        case Ctx::kDetail: {
            ReasoningDetail& d = c_.current.details.back();
            if (f.key == "type") d.type = v;
            else if (f.key == "text" || f.key == "summary") d.text = v;
            else if (f.key == "signature") d.signature = v;
            else if (f.key == "data") d.data = v;
            break;
        }
        case Ctx::kError:
            if (f.key == "message") c_.error_message = v;
            else if (f.key == "type") c_.error_type = v;
            else if (f.key == "code") c_.error_code = v;
            break;
        default: break;
        }
        return true;
    }
    bool Uint64(std::uint64_t v) { return number(v); }
    bool Int64(std::int64_t v) { return v < 0 ? true : number(static_cast<std::uint64_t>(v)); }
    bool Uint(unsigned v) { return number(v); }
    bool Int(int v) { return v < 0 ? true : number(static_cast<std::uint64_t>(v)); }
    bool Double(double d) {
        return d >= 0 && d < 1.8e19 ? number(static_cast<std::uint64_t>(d)) : true;
    }
    bool Null() { return true; }
    bool Bool(bool) { return true; }

private:
    void push(Frame f) { frames_[depth_++] = f; }
    Frame& top() { return frames_[depth_ - 1]; }

    Ctx start_usage() {
        c_.has_usage = true;
        c_.usage = OpenAIUsageFields{};  // repeated usage: the last one wins
        return Ctx::kUsage;
    }
    Ctx start_error() {
        c_.has_error = true;
        return Ctx::kError;
    }
    bool number(std::uint64_t v) {
        if (depth_ == 0) return true;
        const Frame& f = top();
        switch (f.ctx) {
        case Ctx::kChoice:
            if (f.key == "index") c_.current.index = static_cast<long long>(std::min<std::uint64_t>(v, 1u << 30));
            break;
        case Ctx::kToolCall:
            if (f.key == "index") {
                c_.current.tools.back().index = static_cast<long long>(std::min<std::uint64_t>(v, 1u << 30));
                c_.current.tools.back().has_index = true;
            }
            break;
        case Ctx::kUsage: c_.usage.set(f.key, v, false); break;
        case Ctx::kUsageDetails: c_.usage.set(f.key, v, true); break;
        case Ctx::kError:
            if (f.key == "code") c_.error_code_number = static_cast<long long>(std::min<std::uint64_t>(v, 999));
            break;
        default: break;
        }
        return true;
    }

    ChunkData& c_;
    unsigned max_depth_;
    std::vector<Frame> frames_;  // the open containers: frames_[0, depth_)
    std::size_t depth_ = 0;
};

bool is_ascii(std::string_view s) {
    std::size_t i = 0;
    std::uint64_t acc = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t x;
        std::memcpy(&x, s.data() + i, 8);
        acc |= x;
    }
    for (; i < s.size(); ++i) acc |= static_cast<unsigned char>(s[i]);
    return (acc & 0x8080808080808080ull) == 0;
}

// ---- incremental JSON completeness (is a tool call's argument string done?) --

struct JsonScan {
    int depth = 0;
    bool in_string = false;
    bool escape = false;
    bool started = false;
    bool complete() const { return started && depth == 0 && !in_string; }
    void feed(std::string_view s) {
        for (char ch : s) {
            if (in_string) {
                if (escape) escape = false;
                else if (ch == '\\') escape = true;
                else if (ch == '"') in_string = false;
                continue;
            }
            switch (ch) {
            case '"': in_string = true; started = true; break;
            case '{': case '[': ++depth; started = true; break;
            case '}': case ']': if (depth > 0) --depth; break;
            case ' ': case '\n': case '\r': case '\t': break;
            default: started = true; break;
            }
        }
    }
};

// ---- the encoder ------------------------------------------------------------

enum class BlockKind : unsigned char { kNone, kText, kThinking, kTool };

struct ToolSlot {
    enum class State : unsigned char { kPending, kOpen, kClosed };
    long long index = 0;
    bool has_index = false;
    std::string upstream_id;   // as the provider sent it (slot identity)
    std::string client_id;     // unique, [a-zA-Z0-9_-]+
    std::string name;          // provider name (mapped back when emitted)
    std::string buffered;      // argument fragments received while pending
    JsonScan scan;
    State state = State::kPending;
};

class AnthropicStreamEncoder final : public StreamTranscoder {
public:
    explicit AnthropicStreamEncoder(const ResponseContext& ctx)
        : ctx_(ctx), parser_(limits_.max_bytes), handler_(chunk_, limits_.max_depth) {
        scratch_.reserve(1024);
        delta_prefix_.reserve(128);
        chunk_.choice0.texts.reserve(4);
        chunk_.current.texts.reserve(4);
        chunk_.choice0.tools.reserve(4);
        chunk_.current.tools.reserve(4);
        chunk_.choice0.details.reserve(2);
        chunk_.current.details.reserve(2);
    }

    void feed(std::string_view bytes, std::string& out) override {
        if (finished_) return;
        out_ = &out;
        bool ok = parser_.feed(bytes, [this](const SseEvent& e) { on_event(e); });
        if (!ok && !finished_) emit_error("api_error", "provider stream event exceeds the size limit");
        out_ = nullptr;
    }

    void finish(std::string& out) override {
        if (finished_) return;
        out_ = &out;
        bool ok = parser_.finish([this](const SseEvent& e) { on_event(e); });
        if (!ok && !finished_) emit_error("api_error", "provider stream event exceeds the size limit");
        if (!finished_) finalize();
        out_ = nullptr;
    }

    void fail(int status, std::string_view message, std::string& out) override {
        if (finished_) return;
        out_ = &out;
        emit_error(anthropic_error_type(status), message);
        out_ = nullptr;
    }

    const Usage& usage() const override { return usage_; }
    bool started() const override { return emitted_any_; }

private:
    // ---- event intake ----
    void on_event(const SseEvent& e) {
        if (finished_) return;  // nothing after message_stop / error
        std::string_view data = e.data;
        while (!data.empty() && (data.front() == ' ' || data.front() == '\t')) data.remove_prefix(1);
        while (!data.empty() && (data.back() == ' ' || data.back() == '\t' || data.back() == '\n')) {
            data.remove_suffix(1);
        }
        if (data == "[DONE]") {
            finalize();
            return;
        }
        bool is_error_event = e.event == "error";
        if (data.empty() || data.front() != '{') {
            // Data-only keepalives ("data: ", "data: :ping") carry nothing; a
            // non-JSON error event still ends the stream with its text.
            if (is_error_event) emit_error("api_error", data.empty() ? "provider stream error" : data);
            return;
        }
        if (!message_started_ && id_seed_ == 0) id_seed_ = fnv1a64(data);
        if (!parse_chunk(data)) return;
        if (is_error_event && !chunk_.has_error) {
            emit_error("api_error", data);
            return;
        }
        process_chunk();
    }

    // Reads the event's JSON into chunk_: FastJsonReader takes the common
    // chunks, RapidJSON the rest (and reports invalid JSON, as an error
    // event; returns false then).
    bool parse_chunk(std::string_view data) {
        chunk_.clear();
        handler_.reset();
        // The fast reader checks UTF-8 as it goes.
        char* text = FastJsonReader::copy_padded(scratch_, data);
        if (FastJsonReader::parse(text, data.size(), handler_)) return true;
        // Anything else is parsed as it always was. (The flag choice matters
        // beyond UTF-8: RapidJSON's SSE2 in-situ scan lets control bytes in
        // strings pass, its validating scan does not.)
        chunk_.clear();
        handler_.reset();
        scratch_.assign(data.data(), data.size());  // undoes in-place decoding
        rapidjson::InsituStringStream in(&scratch_[0]);
        rapidjson::ParseResult r =
            is_ascii(data) ? reader_.Parse<rapidjson::kParseInsituFlag>(in, handler_)
                           : reader_.Parse<rapidjson::kParseInsituFlag | rapidjson::kParseValidateEncodingFlag>(
                                 in, handler_);
        if (r.IsError()) {
            error_text_.assign("provider sent invalid JSON in the stream at offset ");
            append_uint(error_text_, r.Offset());
            error_text_ += ": ";
            error_text_ += rapidjson::GetParseError_En(r.Code());
            emit_error("api_error", error_text_);
            return false;
        }
        return true;
    }

    void process_chunk() {
        if (chunk_.has_error) {
            int status = static_cast<int>(chunk_.error_code_number);
            std::string_view type = anthropic_error_type_for_openai_error(
                status, chunk_.error_type, status ? std::string_view() : chunk_.error_code);
            emit_error(type, chunk_.error_message.empty() ? std::string_view("provider stream error")
                                                          : chunk_.error_message);
            return;
        }
        if (upstream_id_.empty() && !chunk_.id.empty()) upstream_id_.assign(chunk_.id);
        if (chunk_.has_usage && chunk_.usage.any) {
            usage_ = usage_from_openai_fields(chunk_.usage);
        }
        if (chunk_.has_choice0) {
            // The first good chunk (even a role-only one) starts the message:
            // the client's response is committed, and keepalive pings can
            // flow while a reasoning model thinks before its first token.
            ensure_started();
            process_choice(chunk_.choice0);
        }
        if (finished_) return;
        // The usage-only chunk OpenAI sends after the finish chunk is the last
        // one with content; finalise now rather than wait for [DONE].
        if (finish_seen_ && chunk_.has_usage && !chunk_.has_choice0 && chunk_.choices_seen == 0) {
            finalize();
        }
    }

    void process_choice(const ChoiceData& ch) {
        // Native Anthropic order inside one chunk: thinking, text, tool calls.
        std::string_view reasoning = !ch.reasoning_content.empty() ? ch.reasoning_content : ch.reasoning;
        if (!reasoning.empty()) thinking_delta(reasoning);
        for (const ReasoningDetail& d : ch.details) {
            if (d.type == "reasoning.encrypted" || (!d.data.empty() && d.text.empty())) {
                if (!d.data.empty()) redacted_thinking(d.data);
                continue;
            }
            // reasoning / reasoning_content usually repeat the detail text.
            if (reasoning.empty() && !d.text.empty()) thinking_delta(d.text);
            if (!d.signature.empty()) {
                if (block_ != BlockKind::kThinking) thinking_delta({});
                pending_signature_.assign(d.signature);
            }
        }
        for (std::string_view t : ch.texts) {
            if (!t.empty()) text_delta(t);
        }
        if (!ch.refusal.empty()) {
            refusal_seen_ = true;
            text_delta(ch.refusal);
        }
        for (const ToolDelta& d : ch.tools) tool_delta(d);
        if (ch.has_finish_reason) {
            StopMapping m = anthropic_stop_reason(ch.finish_reason, false);
            if (m.is_error) {
                error_text_.assign("provider ended the stream with finish_reason \"");
                error_text_.append(ch.finish_reason.data(), ch.finish_reason.size());
                error_text_ += "\"";
                emit_error("api_error", error_text_);
                return;
            }
            finish_reason_.assign(ch.finish_reason.data(), ch.finish_reason.size());
            finish_seen_ = true;
        }
    }

    // ---- blocks ----
    void text_delta(std::string_view text) {
        if (block_ != BlockKind::kText) {
            if (!close_block_for_content()) return;
            open_simple_block(BlockKind::kText);
        }
        begin_delta();
        out() += "\"text_delta\",\"text\":";
        json_append_string(out(), text);
        out() += "}}\n\n";
    }

    // Empty `text` only opens the block (a signature may follow).
    void thinking_delta(std::string_view text) {
        if (block_ != BlockKind::kThinking) {
            if (!close_block_for_content()) return;
            open_simple_block(BlockKind::kThinking);
        }
        if (text.empty()) return;
        begin_delta();
        out() += "\"thinking_delta\",\"thinking\":";
        json_append_string(out(), text);
        out() += "}}\n\n";
    }

    void redacted_thinking(std::string_view data) {
        if (!close_block_for_content()) return;
        ensure_started();
        out() += "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":";
        append_uint(out(), next_index_);
        out() += ",\"content_block\":{\"type\":\"redacted_thinking\",\"data\":";
        json_append_string(out(), data);
        out() += "}}\n\n";
        block_index_ = next_index_++;
        block_ = BlockKind::kThinking;  // closed right away below
        pending_signature_.clear();
        close_block();
    }

    // Before text or thinking: closes the open block; pending tool calls whose
    // arguments are already complete are emitted first (they came first).
    bool close_block_for_content() {
        if (block_ == BlockKind::kNone) {
            flush_complete_pending_tools();
            return true;
        }
        close_block();
        flush_complete_pending_tools();
        return true;
    }

    void open_simple_block(BlockKind kind) {
        ensure_started();
        out() += "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":";
        append_uint(out(), next_index_);
        out() += kind == BlockKind::kText ? ",\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
                                          : ",\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n";
        block_ = kind;
        block_index_ = next_index_++;
    }

    // Every delta of a block starts the same: built once per block.
    void begin_delta() {
        if (delta_prefix_index_ != block_index_ || delta_prefix_.empty()) {
            delta_prefix_.assign("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":");
            append_uint(delta_prefix_, block_index_);
            delta_prefix_ += ",\"delta\":{\"type\":";
            delta_prefix_index_ = block_index_;
        }
        out() += delta_prefix_;
    }

    void close_block() {
        if (block_ == BlockKind::kNone) return;
        if (block_ == BlockKind::kThinking && !pending_signature_.empty()) {
            begin_delta();
            out() += "\"signature_delta\",\"signature\":";
            json_append_string(out(), pending_signature_);
            out() += "}}\n\n";
            pending_signature_.clear();
        }
        if (block_ == BlockKind::kTool) slots_[open_slot_].state = ToolSlot::State::kClosed;
        out() += "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":";
        append_uint(out(), block_index_);
        out() += "}\n\n";
        block_ = BlockKind::kNone;
    }

    // ---- tool calls ----
    std::size_t find_slot(const ToolDelta& d) {
        if (d.has_index) {
            for (std::size_t i = slots_.size(); i-- > 0;) {
                const ToolSlot& s = slots_[i];
                if (!s.has_index || s.index != d.index) continue;
                // Same index: a new non-empty id means a new call (Gemini style).
                if (d.id.empty() || s.upstream_id.empty() || s.upstream_id == d.id) return i;
                return new_slot(d);
            }
            return new_slot(d);
        }
        if (!d.id.empty()) {
            for (std::size_t i = slots_.size(); i-- > 0;) {
                if (slots_[i].upstream_id == d.id) return i;
            }
            return new_slot(d);
        }
        return slots_.empty() ? new_slot(d) : slots_.size() - 1;
    }

    std::size_t new_slot(const ToolDelta& d) {
        ToolSlot s;
        s.index = d.index;
        s.has_index = d.has_index;
        s.upstream_id.assign(d.id.data(), d.id.size());
        s.client_id = unique_tool_id(d.id);
        slots_.push_back(std::move(s));
        return slots_.size() - 1;
    }

    std::string unique_tool_id(std::string_view upstream) {
        std::string id;
        for (char c : upstream.substr(0, 120)) {
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-';
            id.push_back(ok ? c : '_');
        }
        if (id.empty()) {
            id = "toolu_";
            append_uint(id, (id_seed_ ^ fnv1a64(upstream_id_)) % 1000000000000ull);
            id += "_";
            append_uint(id, slots_.size());
        }
        auto taken = [&](const std::string& cand) {
            for (const ToolSlot& s : slots_) {
                if (s.client_id == cand) return true;
            }
            return false;
        };
        if (taken(id)) {
            std::string base = id;
            for (std::size_t n = slots_.size();; ++n) {
                id = base + "_" + std::to_string(n);
                if (!taken(id)) break;
            }
        }
        return id;
    }

    void tool_delta(const ToolDelta& d) {
        std::size_t i = find_slot(d);
        ToolSlot& s = slots_[i];
        if (s.upstream_id.empty() && !d.id.empty()) s.upstream_id.assign(d.id.data(), d.id.size());
        if (s.name.empty() && !d.name.empty()) s.name.assign(d.name.data(), d.name.size());
        saw_tool_use_ = true;
        std::string_view args = d.arguments;
        if (s.state == ToolSlot::State::kOpen) {
            if (!args.empty()) {
                s.scan.feed(args);
                emit_args(s.client_id, args);
            }
        } else if (s.state == ToolSlot::State::kPending) {
            s.buffered.append(args.data(), args.size());
            s.scan.feed(args);
        } else if (!args.empty()) {
            // A fragment for a call whose block is already closed: cannot be
            // placed without breaking the block order. Counted, never mixed
            // into another block.
            ++late_fragments_;
        }
        advance_tools();
    }

    void emit_args(std::string_view, std::string_view args) {
        begin_delta();
        out() += "\"input_json_delta\",\"partial_json\":";
        json_append_string(out(), args);
        out() += "}}\n\n";
    }

    // Opens pending tool calls when nothing else is open, and moves on from
    // an open tool call once its arguments form complete JSON and another
    // call is waiting.
    void advance_tools() {
        for (;;) {
            std::size_t next = first_pending_named();
            if (next == slots_.size()) return;
            if (block_ == BlockKind::kTool) {
                if (!slots_[open_slot_].scan.complete()) return;
                close_block();
            } else if (block_ != BlockKind::kNone) {
                close_block();
            }
            open_tool(next);
        }
    }

    std::size_t first_pending_named() const {
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            if (slots_[i].state == ToolSlot::State::kPending && !slots_[i].name.empty()) return i;
        }
        return slots_.size();
    }

    void open_tool(std::size_t i) {
        ensure_started();
        ToolSlot& s = slots_[i];
        out() += "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":";
        append_uint(out(), next_index_);
        out() += ",\"content_block\":{\"type\":\"tool_use\",\"id\":";
        json_append_string(out(), s.client_id);
        out() += ",\"name\":";
        // A call the provider never named still becomes a block (never
        // dropped); the client answers it with a "no such tool" result.
        json_append_string(out(), s.name.empty() ? std::string_view("unnamed_tool")
                                                      : ctx_.tool_names.to_client(s.name));
        out() += ",\"input\":{}}}\n\n";
        block_ = BlockKind::kTool;
        block_index_ = next_index_++;
        open_slot_ = i;
        s.state = ToolSlot::State::kOpen;
        if (!s.buffered.empty()) {
            emit_args(s.client_id, s.buffered);
            s.buffered.clear();
        }
    }

    void flush_complete_pending_tools() {
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            ToolSlot& s = slots_[i];
            if (s.state != ToolSlot::State::kPending || s.name.empty() || !s.scan.complete()) continue;
            open_tool(i);
            close_block();
        }
    }

    void flush_all_pending_tools() {
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            if (slots_[i].state != ToolSlot::State::kPending) continue;
            open_tool(i);
            close_block();
        }
    }

    // ---- message level ----

    void ensure_started() {
        if (message_started_) return;
        message_started_ = true;
        emitted_any_ = true;
        out() += "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":";
        std::string id = "msg_";
        for (char c : std::string_view(upstream_id_).substr(0, 100)) {
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-';
            id.push_back(ok ? c : '_');
        }
        if (upstream_id_.empty()) {
            static const char hex[] = "0123456789abcdef";
            // Deterministic: derived from the first upstream event.
            std::uint64_t h = id_seed_;
            for (int i = 0; i < 16; ++i) id.push_back(hex[(h >> (60 - 4 * i)) & 0xf]);
        }
        json_append_string(out(), id);
        out() += ",\"type\":\"message\",\"role\":\"assistant\",\"model\":";
        json_append_string(out(), ctx_.client_model);
        out() += ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":";
        Usage start = usage_;
        start.output_tokens = 0;
        append_anthropic_usage(out(), start);
        out() += "}}\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n";
    }

    void finalize() {
        if (finished_) return;
        ensure_started();
        close_block();
        flush_all_pending_tools();
        StopMapping m = anthropic_stop_reason(finish_reason_, saw_tool_use_);
        std::string_view stop = m.stop_reason;
        if (refusal_seen_ && stop == "end_turn") stop = "refusal";
        out() += "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":";
        json_append_string(out(), stop);
        out() += ",\"stop_sequence\":null},\"usage\":";
        if (usage_.known) {
            append_anthropic_usage(out(), usage_);
        } else {
            out() += "{\"output_tokens\":0}";
        }
        out() += "}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        finished_ = true;
    }

    void emit_error(std::string_view type, std::string_view message) {
        if (finished_) return;
        out() += "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":";
        json_append_string(out(), type);
        out() += ",\"message\":";
        json_append_string(out(), message.substr(0, 4096));
        out() += "}}\n\n";
        emitted_any_ = true;
        finished_ = true;
    }

    std::string& out() { return *out_; }

    ResponseContext ctx_;
    JsonLimits limits_;
    SseParser parser_;
    ChunkData chunk_;
    ChunkHandler handler_;
    rapidjson::Reader reader_;
    std::string scratch_;           // in-situ copy of the current event's data
    std::string error_text_;
    std::string upstream_id_;
    std::string finish_reason_;
    std::string pending_signature_;
    std::string delta_prefix_;      // begin_delta's text for block delta_prefix_index_
    std::size_t delta_prefix_index_ = 0;
    std::vector<ToolSlot> slots_;
    std::string* out_ = nullptr;
    Usage usage_;
    std::uint64_t id_seed_ = 0;
    std::size_t next_index_ = 0;
    std::size_t block_index_ = 0;
    std::size_t open_slot_ = 0;
    std::size_t late_fragments_ = 0;
    BlockKind block_ = BlockKind::kNone;
    bool message_started_ = false;
    bool emitted_any_ = false;
    bool finished_ = false;
    bool finish_seen_ = false;
    bool saw_tool_use_ = false;
    bool refusal_seen_ = false;
};

}  // namespace

std::unique_ptr<StreamTranscoder> make_openai_to_anthropic_stream(const ResponseContext& ctx) {
    return std::make_unique<AnthropicStreamEncoder>(ctx);
}

}  // namespace llmproxy::detail
