// Request parsing shared by every route through the gateway, and the
// byte-preserving model rewrite used for same-dialect passthrough.
#include <cstring>

#include "core/translate.hpp"

namespace llmproxy {
namespace {

// Minimal scanner over JSON text: it finds token boundaries, it does not
// validate (peek_request's callers forward the body to a provider that does,
// or parse it fully first).
class JsonScanner {
public:
    explicit JsonScanner(std::string_view s) : s_(s) {}

    std::size_t pos() const { return pos_; }
    bool at_end() const { return pos_ >= s_.size(); }
    void seek(std::size_t pos) { pos_ = pos; }
    char peek() const { return at_end() ? '\0' : s_[pos_]; }
    void advance() { ++pos_; }

    void skip_ws() {
        while (!at_end()) {
            char c = s_[pos_];
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
            ++pos_;
        }
    }

    // At a '"': returns the raw contents between the quotes (escapes kept).
    std::string_view string_token() {
        std::size_t start = ++pos_;
        const char* end = s_.data() + s_.size();
        const char* after = json_skip_string(s_.data() + start, end);
        pos_ = static_cast<std::size_t>(after - s_.data());
        if (after == end && (pos_ == start || s_[pos_ - 1] != '"')) return s_.substr(start);
        return s_.substr(start, pos_ - 1 - start);
    }

    void skip_value() {
        skip_ws();
        const char* end = s_.data() + s_.size();
        pos_ = static_cast<std::size_t>(json_skip_value(s_.data() + pos_, end) - s_.data());
    }

private:
    std::string_view s_;
    std::size_t pos_ = 0;
};

// Key text as written, unescaped only when it contains escapes (rare).
bool key_equals(std::string_view raw_key, std::string_view want) {
    if (raw_key.find('\\') == std::string_view::npos) return raw_key == want;
    rapidjson::Document d;
    std::string quoted;
    quoted.reserve(raw_key.size() + 2);
    quoted.push_back('"');
    quoted.append(raw_key);
    quoted.push_back('"');
    d.Parse(quoted.data(), quoted.size());
    return !d.HasParseError() && d.IsString() &&
           std::string_view(d.GetString(), d.GetStringLength()) == want;
}

bool content_has_image(const rapidjson::Value& content, Dialect d);

bool block_has_image(const rapidjson::Value& block, Dialect d) {
    if (!block.IsObject()) return false;
    auto type = block.FindMember("type");
    if (type != block.MemberEnd() && type->value.IsString()) {
        std::string_view t(type->value.GetString(), type->value.GetStringLength());
        if (d == Dialect::kAnthropic && (t == "image" || t == "document")) return t == "image";
        if (d == Dialect::kOpenAI && t == "image_url") return true;
    }
    // tool_result blocks carry nested content (Read tool on an image).
    auto nested = block.FindMember("content");
    return nested != block.MemberEnd() && content_has_image(nested->value, d);
}

bool content_has_image(const rapidjson::Value& content, Dialect d) {
    if (!content.IsArray()) return false;
    for (const auto& b : content.GetArray()) {
        if (block_has_image(b, d)) return true;
    }
    return false;
}

// Calls on_member(key_raw, value_start, value_end) for each member of the
// top-level object, in order, until it returns false. Returns false when the
// text does not start with an object. With `resume_after` (the value_end of
// a member seen before), it goes on with the members after that one.
template <class OnMember>
bool for_each_top_level_member(std::string_view raw, OnMember&& on_member,
                               std::size_t resume_after = 0) {
    JsonScanner sc(raw);
    if (resume_after == 0) {
        sc.skip_ws();
        if (sc.peek() != '{') return false;
        sc.advance();
    } else {
        sc.seek(resume_after);
        sc.skip_ws();
        if (sc.peek() != ',') return true;
        sc.advance();
    }
    while (true) {
        sc.skip_ws();
        if (sc.peek() != '"') break;
        std::string_view key = sc.string_token();
        sc.skip_ws();
        if (sc.peek() != ':') break;
        sc.advance();
        sc.skip_ws();
        std::size_t value_start = sc.pos();
        sc.skip_value();
        if (!on_member(key, value_start, sc.pos())) break;
        sc.skip_ws();
        if (sc.peek() != ',') break;
        sc.advance();
    }
    return true;
}

}  // namespace

void append_replacing_top_level_values(
    std::string& out, std::string_view raw,
    const std::vector<std::pair<std::string_view, std::string>>& repl) {
    std::size_t at = out.size();
    std::size_t copied = 0;
    bool object = for_each_top_level_member(raw, [&](std::string_view key, std::size_t start,
                                                     std::size_t end) {
        for (const auto& [name, literal] : repl) {
            if (key_equals(key, name)) {
                out.append(raw.substr(copied, start - copied));
                out.append(literal);
                copied = end;
                break;
            }
        }
        return true;
    });
    if (!object) {
        out.resize(at);
        copied = 0;
    }
    out.append(raw.substr(copied));
}

std::string replace_top_level_values(
    std::string_view raw, const std::vector<std::pair<std::string_view, std::string>>& repl) {
    std::string out;
    out.reserve(raw.size() + 64);
    append_replacing_top_level_values(out, raw, repl);
    return out;
}

namespace {

// The first "stream" member's value: true, or false/null; anything else is
// the client's error.
Status read_stream(std::string_view value, RequestFacts& facts) {
    if (value == "true") {
        facts.stream = true;
    } else if (value != "false" && value != "null") {
        return make_error(ErrorCode::kInvalidRequest, "stream", "must be a boolean");
    }
    return Status();
}

}  // namespace

Status peek_request(Dialect client, std::string_view body, const JsonLimits& limits,
                    ParsedRequest& out) {
    out.dialect = client;
    out.raw = body;
    out.facts = RequestFacts{};
    out.doc.SetNull();
    out.model_token_length = 0;
    out.peek = PeekState{};
    if (body.size() > limits.max_bytes) {
        return make_error(ErrorCode::kTooLarge, "",
                          "request body is larger than " + std::to_string(limits.max_bytes) +
                              " bytes");
    }
    bool have_model = false;
    Status problem;
    bool object = for_each_top_level_member(body, [&](std::string_view key, std::size_t start,
                                                      std::size_t end) {
        std::string_view value = body.substr(start, end - start);
        if (key_equals(key, "model")) {
            if (value.size() < 3 || value.front() != '"') {
                problem = make_error(ErrorCode::kInvalidRequest, "model",
                                     "must be a non-empty string");
                return false;
            }
            std::string_view inner = value.substr(1, value.size() - 2);
            if (inner.find('\\') == std::string_view::npos) {
                out.facts.model.assign(inner);
            } else {
                rapidjson::Document d;
                d.Parse(value.data(), value.size());
                if (d.HasParseError() || !d.IsString()) {
                    problem = make_error(ErrorCode::kInvalidRequest, "model",
                                         "is not a valid string");
                    return false;
                }
                out.facts.model.assign(d.GetString(), d.GetStringLength());
            }
            out.model_token_offset = start;
            out.model_token_length = value.size();
            out.peek.resume_after = end;
            have_model = true;
            return false;  // the rest waits for finish_peek
        }
        if (key_equals(key, "stream") && !out.peek.saw_stream) {
            out.peek.saw_stream = true;
            problem = read_stream(value, out.facts);
            return problem.ok();
        }
        return true;
    });
    if (!object) {
        return make_error(ErrorCode::kInvalidRequest, "", "request body must be a JSON object");
    }
    if (!problem.ok()) return problem;
    if (!have_model) {
        return make_error(ErrorCode::kInvalidRequest, "model", "field required");
    }
    return Status();
}

Status finish_peek(ParsedRequest& req) {
    if (req.peek.complete) return Status();
    Status problem;
    for_each_top_level_member(
        req.raw,
        [&](std::string_view key, std::size_t start, std::size_t end) {
            if (key_equals(key, "model")) {
                // A duplicate: the first value counts (as in the full parse),
                // and the rewrite must replace every occurrence.
                req.model_token_length = 0;
            } else if (key_equals(key, "stream") && !req.peek.saw_stream) {
                req.peek.saw_stream = true;
                problem = read_stream(req.raw.substr(start, end - start), req.facts);
                return problem.ok();
            }
            return true;
        },
        req.peek.resume_after);
    if (!problem.ok()) return problem;
    req.peek.complete = true;
    return Status();
}

Status ensure_parsed(ParsedRequest& req, const JsonLimits& limits) {
    if (req.doc.IsObject()) return Status();
    // Same body: the model token peek_request found is still where it was.
    std::size_t offset = req.model_token_offset, length = req.model_token_length;
    PeekState peek = req.peek;
    Status st = parse_request(req.dialect, req.raw, limits, req);
    req.model_token_offset = offset;
    req.model_token_length = length;
    req.peek = peek;
    if (st.ok() && !req.peek.complete) {
        // The document has every member: a later duplicate "model" is seen
        // here without scanning the rest of the text again.
        int models = 0;
        for (const auto& m : req.doc.GetObject()) {
            if (std::string_view(m.name.GetString(), m.name.GetStringLength()) == "model") ++models;
        }
        if (models > 1) req.model_token_length = 0;
        req.peek.complete = true;
    }
    return st;
}

std::string rewrite_model(std::string_view raw, std::string_view model) {
    std::string literal;
    json_append_string(literal, model);
    return replace_top_level_values(raw, {{"model", std::move(literal)}});
}

Status parse_request(Dialect client, std::string_view body, const JsonLimits& limits,
                     ParsedRequest& out) {
    out.dialect = client;
    out.raw = body;
    out.facts = RequestFacts{};
    out.model_token_length = 0;  // only peek_request knows where the token is
    out.peek = PeekState{};
    if (Status st = parse_json_insitu(body, limits, out.doc, out.doc_text); !st.ok()) return st;
    const rapidjson::Value& doc = out.doc;
    if (!doc.IsObject()) {
        return make_error(ErrorCode::kInvalidRequest, "", "request body must be a JSON object");
    }
    auto model = doc.FindMember("model");
    if (model == doc.MemberEnd()) {
        return make_error(ErrorCode::kInvalidRequest, "model", "field required");
    }
    if (!model->value.IsString() || model->value.GetStringLength() == 0) {
        return make_error(ErrorCode::kInvalidRequest, "model", "must be a non-empty string");
    }
    out.facts.model.assign(model->value.GetString(), model->value.GetStringLength());

    auto messages = doc.FindMember("messages");
    if (messages == doc.MemberEnd()) {
        return make_error(ErrorCode::kInvalidRequest, "messages", "field required");
    }
    if (!messages->value.IsArray()) {
        return make_error(ErrorCode::kInvalidRequest, "messages", "must be an array");
    }
    auto stream = doc.FindMember("stream");
    if (stream != doc.MemberEnd() && !stream->value.IsNull()) {
        if (!stream->value.IsBool()) {
            return make_error(ErrorCode::kInvalidRequest, "stream", "must be a boolean");
        }
        out.facts.stream = stream->value.GetBool();
    }

    if (client == Dialect::kAnthropic) {
        auto thinking = doc.FindMember("thinking");
        if (thinking != doc.MemberEnd() && thinking->value.IsObject()) {
            auto type = thinking->value.FindMember("type");
            out.facts.thinking = type != thinking->value.MemberEnd() && type->value.IsString() &&
                                 std::strcmp(type->value.GetString(), "disabled") != 0;
        }
        auto tools = doc.FindMember("tools");
        if (tools != doc.MemberEnd() && tools->value.IsArray()) {
            for (const auto& t : tools->value.GetArray()) {
                if (!t.IsObject()) continue;
                auto type = t.FindMember("type");
                if (type != t.MemberEnd() && type->value.IsString() &&
                    std::strncmp(type->value.GetString(), "web_search", 10) == 0) {
                    out.facts.has_web_search = true;
                }
            }
        }
    } else {
        auto effort = doc.FindMember("reasoning_effort");
        out.facts.thinking = effort != doc.MemberEnd() && effort->value.IsString() &&
                             std::strcmp(effort->value.GetString(), "none") != 0;
        auto ws = doc.FindMember("web_search_options");
        out.facts.has_web_search = ws != doc.MemberEnd() && !ws->value.IsNull();
    }
    for (const auto& m : messages->value.GetArray()) {
        if (!m.IsObject()) continue;
        auto content = m.FindMember("content");
        if (content != m.MemberEnd() && content_has_image(content->value, client)) {
            out.facts.has_image = true;
            break;
        }
    }
    return Status();
}

}  // namespace llmproxy
