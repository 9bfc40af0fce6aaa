#include "core/anthropic_event_reader.hpp"

#include <cstring>

#include "core/fast_json_reader.hpp"
#include "core/json.hpp"

namespace llmproxy {
namespace {

// Keys whose values are read; everything else is skipped.
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
    kModel,
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
        if (k == "model") return FieldKey::kModel;
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

// Collects the fields of one event (its strings are in situ and outlive the
// parse). Only paths up to three levels deep are of interest; arrays never
// are.
class EventHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, EventHandler> {
public:
    EventHandler(AnthropicEventFields& f, unsigned max_depth) : f_(f), max_depth_(max_depth) {}

    bool StartObject() { return open(false); }
    bool StartArray() { return open(true); }
    bool EndObject(rapidjson::SizeType) { return close(); }
    bool EndArray(rapidjson::SizeType) { return close(); }

    bool Key(const char* s, rapidjson::SizeType n, bool) {
        if (depth_ < kTracked) keys_[depth_] = key_of({s, n});
        return true;
    }

    bool String(const char* s, rapidjson::SizeType n, bool) {
        if (std::string_view* dst = string_target()) *dst = std::string_view(s, n);
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
    bool path(FieldKey& a, FieldKey& b, FieldKey& c) const {
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
        case FieldKey::kMessage:
            if (b == FieldKey::kId) return &f_.message_id;
            if (b == FieldKey::kModel) return &f_.message_model;
            return nullptr;
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
    unsigned depth_ = 0;
    FieldKey keys_[kTracked] = {};
    bool in_array_[kTracked] = {};
};

}  // namespace

bool AnthropicEventReader::read(std::string_view data) {
    const unsigned max_depth = JsonLimits{}.max_depth;
    fields_ = AnthropicEventFields{};
    // Typical events fit: no growth once streaming.
    if (insitu_.empty()) insitu_.resize(512 + FastJsonReader::kPadding);
    char* text = FastJsonReader::copy_padded(insitu_, data);
    {
        // The common events; the reader checks UTF-8 as it scans.
        EventHandler handler(fields_, max_depth);
        if (FastJsonReader::parse(text, data.size(), handler)) return true;
    }
    // Outside the fast reader's subset (or invalid): RapidJSON decides, on a
    // fresh copy (the strings were decoded in place). Validating UTF-8 also
    // turns off its SSE2 string scan, which would let control bytes through.
    fields_ = AnthropicEventFields{};
    if (!data.empty()) std::memcpy(text, data.data(), data.size());
    EventHandler handler(fields_, max_depth);
    rapidjson::InsituStringStream in(text);
    bool ok = !reader_.Parse<rapidjson::kParseInsituFlag | rapidjson::kParseValidateEncodingFlag>(in, handler)
                   .IsError() &&
              in.Tell() == data.size();  // a NUL inside the text ends the reader's input early
    if (!ok) fields_ = AnthropicEventFields{};
    return ok;
}

std::string_view AnthropicEventReader::source_literal(std::string_view field,
                                                      std::string_view data) const {
    return json_source_literal(field, InsituSource{insitu_.data(), data});
}

void AnthropicEventReader::merge_usage(Usage& u) const {
    const AnthropicEventFields& f = fields_;
    if (f.has_input) u.input_tokens = f.input_tokens;
    if (f.has_output) u.output_tokens = f.output_tokens;
    if (f.has_cache_read) u.cache_read_input_tokens = f.cache_read;
    if (f.has_cache_creation) u.cache_creation_input_tokens = f.cache_creation;
    if (f.has_input || f.has_output || f.has_cache_read || f.has_cache_creation) u.known = true;
}

}  // namespace llmproxy
