// Anthropic Messages request -> OpenAI Chat Completions request (Claude Code's
// direction). Written straight from the parsed DOM to JSON text with a
// small streaming writer (JsonOut); every rejected input is a typed error naming the field.
//
// Ordering rules OpenAI-compatible servers enforce, and how they are met:
// - an assistant message with tool_calls must be followed immediately by one
//   tool message per call id: tool_result blocks are emitted first, in the
//   order of the calls, missing ones answered with "(no result)";
// - system messages only at the start (vLLM, strict decoders): the system
//   prompt is flattened into one leading message and mid-conversation system
//   messages become user turns (or stay system with inline_system_messages),
//   never placed between tool calls and their results;
// - tool messages carry text only: images in tool results move to a user
//   message right after the tool messages.
#include <string>
#include <vector>

#include "core/mapping.hpp"
#include "core/translate_internal.hpp"

namespace llmproxy::detail {
namespace {

using rapidjson::SizeType;
using rapidjson::Value;

constexpr std::string_view kBillingHeaderPrefix = "x-anthropic-billing-header:";

std::string_view sv(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

// A user-side content part waiting to be written (flattening to a plain
// string is decided once all parts are known).
struct Part {
    enum class Kind { kText, kImage, kFile } kind = Kind::kText;
    std::string_view text;           // text, or image URL / file data when `owned` is empty
    std::string owned;               // built data: URL
    const Value* source = nullptr;   // the request's string `text` views, copied as it stands
    std::string_view filename;
    const Value* cache_control = nullptr;
    std::string_view value() const { return owned.empty() ? text : std::string_view(owned); }
};

class AnthropicToOpenAI {
public:
    AnthropicToOpenAI(const ParsedRequest& req, const TranslateOptions& opts)
        : req_(req), opts_(opts), q_(opts.quirks), w_(out_, req.insitu_source()), mapper_(names_) {
        out_.reserve(req.raw.size() + 256);
    }

    Result<TranslatedRequest> run();

private:
    Error bad(std::string field, std::string why) const {
        return make_error(ErrorCode::kInvalidRequest, std::move(field), std::move(why));
    }
    Error bad(const Path& field, std::string why) const { return bad(field.str(), std::move(why)); }

    void key(std::string_view k) { w_.key(k); }
    template <std::size_t N>
    void key(const char (&k)[N]) { w_.key(k); }
    void str(std::string_view s) { w_.string(s); }
    template <std::size_t N>
    void str(const char (&s)[N]) { w_.string(s); }
    // A string of the request (its literal is copied, see JsonOut::value).
    void str(const Value& s) { w_.value(s); }
    // `s`, or `source` when `s` is that string of the request.
    void str(std::string_view s, const Value* source) {
        if (source != nullptr) {
            str(*source);
        } else {
            str(s);
        }
    }
    void part_value(const Part& p) { str(p.value(), p.owned.empty() ? p.source : nullptr); }

    Status write_system();
    Status write_messages(const Value& messages);
    Status write_user(const Value& content, const Path& path);
    Status write_assistant(const Value& content, const Path& path);
    Status system_message_text(const Value& content, const Path& path, std::string& text);
    Status tool_result_text(const Value& block, const Path& path, std::string& text,
                            const Value*& single, std::vector<Part>& images);
    Status user_part(const Value& block, const Path& path, std::vector<Part>& parts);
    Status image_part(const Value& block, const Path& path, Part& part);
    void write_parts(const std::vector<Part>& parts);
    void write_tool_message(std::string_view id, std::string_view text, const Value* source = nullptr);
    void answer_pending_calls();
    void flush_deferred_system();
    void write_system_turn(const std::string& text);
    Status write_tools(bool& any_function_tool, bool& web_search);
    Status write_tool_choice(bool any_function_tool);
    Status write_scalars();
    Status write_thinking();

    const ParsedRequest& req_;
    const TranslateOptions& opts_;
    const ProviderQuirks& q_;
    std::string out_;
    JsonOut w_;
    ToolNameMap names_;
    ToolNameMapper mapper_;
    std::vector<std::string> pending_calls_;    // ids the next messages must answer
    std::vector<std::string> deferred_system_;  // system turns waiting for tool results
};

// ---- system prompt ------------------------------------------------------------

// Drops the per-request billing line Claude Code puts in the system prompt:
// it changes every request and defeats the provider's prefix cache.
std::string without_billing_header(std::string_view text) {
    std::string out;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t nl = text.find('\n', pos);
        std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        if (line.substr(0, kBillingHeaderPrefix.size()) != kBillingHeaderPrefix) {
            if (!out.empty()) out.push_back('\n');
            out.append(line.data(), line.size());
        }
        if (nl == std::string_view::npos) break;
        pos = nl + 1;
    }
    return out;
}

bool blank(std::string_view s) {
    return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

Status AnthropicToOpenAI::write_system() {
    const Value* system = json_member(req_.doc, "system");
    if (!system || system->IsNull()) return Status();
    struct SystemText {
        std::string text;               // when the request's text changed
        const Value* source = nullptr;  // when it did not
        const Value* cache_control = nullptr;
        std::string_view view() const { return source ? sv(*source) : std::string_view(text); }
    };
    std::vector<SystemText> texts;
    auto add = [&](const Value& v, const Value* cc) {
        std::string_view t = sv(v);
        if (blank(t)) return;
        if (opts_.provider_is_anthropic_native || t.find(kBillingHeaderPrefix) == std::string_view::npos) {
            texts.push_back({{}, &v, cc});
            return;
        }
        std::string text = without_billing_header(t);
        if (!blank(text)) texts.push_back({std::move(text), nullptr, cc});
    };
    if (system->IsString()) {
        add(*system, nullptr);
    } else if (system->IsArray()) {
        const Path system_path("system");
        for (SizeType i = 0; i < system->Size(); ++i) {
            const Value& b = (*system)[i];
            const Path path(system_path, i);
            if (!b.IsObject()) return bad(path, "expected a text block object");
            const Value* type = json_member(b, "type");
            if (!type || !type->IsString() || sv(*type) != "text") {
                return bad(Path(path, "type"), "system blocks must be of type \"text\"");
            }
            const Value* text = json_member(b, "text");
            if (!text || !text->IsString()) return bad(Path(path, "text"), "expected a string");
            add(*text, json_member(b, "cache_control"));
        }
    } else {
        return bad("system", "expected a string or an array of text blocks");
    }
    if (texts.empty()) return Status();
    w_.start_object();
    key("role");
    str("system");
    key("content");
    if (q_.system_as_string) {
        std::vector<JsonOut::Piece> pieces;
        pieces.reserve(texts.size());
        for (const auto& t : texts) pieces.push_back({t.view(), t.source});
        w_.joined_string(pieces, "\n\n");
    } else {
        w_.start_array();
        for (const auto& t : texts) {
            w_.start_object();
            key("type");
            str("text");
            key("text");
            str(t.text, t.source);
            if (q_.pass_cache_control && t.cache_control && t.cache_control->IsObject()) {
                key("cache_control");
                w_.value(*t.cache_control);
            }
            w_.end_object();
        }
        w_.end_array();
    }
    w_.end_object();
    return Status();
}

// ---- messages -------------------------------------------------------------------

void AnthropicToOpenAI::write_tool_message(std::string_view id, std::string_view text,
                                           const Value* source) {
    w_.start_object();
    key("role");
    str("tool");
    key("tool_call_id");
    str(id);
    key("content");
    str(text, source);
    w_.end_object();
}

void AnthropicToOpenAI::answer_pending_calls() {
    for (const auto& id : pending_calls_) write_tool_message(id, "(no result)");
    pending_calls_.clear();
}

void AnthropicToOpenAI::write_system_turn(const std::string& text) {
    w_.start_object();
    key("role");
    if (q_.inline_system_messages) {
        str("system");
        key("content");
        str(text);
    } else {
        str("user");
        key("content");
        str("<system-reminder>\n" + text + "\n</system-reminder>");
    }
    w_.end_object();
}

void AnthropicToOpenAI::flush_deferred_system() {
    for (const auto& t : deferred_system_) write_system_turn(t);
    deferred_system_.clear();
}

Status AnthropicToOpenAI::system_message_text(const Value& content, const Path& path,
                                              std::string& text) {
    if (content.IsString()) {
        text.assign(sv(content));
        return Status();
    }
    if (!content.IsArray()) return bad(path, "expected a string or an array of text blocks");
    for (SizeType i = 0; i < content.Size(); ++i) {
        const Value& b = content[i];
        const Path bpath(path, i);
        const Value* type = b.IsObject() ? json_member(b, "type") : nullptr;
        const Value* t = b.IsObject() ? json_member(b, "text") : nullptr;
        if (!type || !type->IsString() || sv(*type) != "text" || !t || !t->IsString()) {
            return bad(bpath, "system messages may only contain text blocks");
        }
        if (!text.empty()) text += "\n\n";
        text.append(sv(*t));
    }
    return Status();
}

Status AnthropicToOpenAI::image_part(const Value& block, const Path& path, Part& part) {
    const Value* source = json_member(block, "source");
    if (!source || !source->IsObject()) return bad(Path(path, "source"), "expected an object");
    const Value* type = json_member(*source, "type");
    if (!type || !type->IsString()) return bad(Path(path, "source.type"), "expected a string");
    std::string_view t = sv(*type);
    part.kind = Part::Kind::kImage;
    if (t == "base64") {
        const Value* media = json_member(*source, "media_type");
        const Value* data = json_member(*source, "data");
        if (!media || !media->IsString()) return bad(Path(path, "source.media_type"), "expected a string");
        if (!data || !data->IsString()) return bad(Path(path, "source.data"), "expected a string");
        part.owned.reserve(data->GetStringLength() + media->GetStringLength() + 16);
        part.owned += "data:";
        part.owned.append(sv(*media));
        part.owned += ";base64,";
        part.owned.append(sv(*data));
        return Status();
    }
    if (t == "url") {
        const Value* url = json_member(*source, "url");
        if (!url || !url->IsString()) return bad(Path(path, "source.url"), "expected a string");
        part.text = sv(*url);
        part.source = url;
        return Status();
    }
    return bad(Path(path, "source.type"), "image source type \"" + std::string(t) +
                                          "\" cannot be sent to an OpenAI-dialect provider");
}

Status AnthropicToOpenAI::user_part(const Value& block, const Path& path,
                                    std::vector<Part>& parts) {
    const Value* type = json_member(block, "type");
    std::string_view t = sv(*type);
    Part part;
    part.cache_control = json_member(block, "cache_control");
    if (t == "text") {
        const Value* text = json_member(block, "text");
        if (!text || !text->IsString()) return bad(Path(path, "text"), "expected a string");
        part.text = sv(*text);
        part.source = text;
    } else if (t == "image") {
        if (Status st = image_part(block, path, part); !st.ok()) return st;
    } else if (t == "document") {
        const Value* source = json_member(block, "source");
        const Value* stype = source && source->IsObject() ? json_member(*source, "type") : nullptr;
        if (!stype || !stype->IsString()) return bad(Path(path, "source.type"), "expected a string");
        if (sv(*stype) == "text") {
            const Value* data = json_member(*source, "data");
            if (!data || !data->IsString()) return bad(Path(path, "source.data"), "expected a string");
            part.text = sv(*data);
            part.source = data;
        } else if (sv(*stype) == "base64") {
            const Value* media = json_member(*source, "media_type");
            const Value* data = json_member(*source, "data");
            if (!media || !media->IsString()) return bad(Path(path, "source.media_type"), "expected a string");
            if (!data || !data->IsString()) return bad(Path(path, "source.data"), "expected a string");
            part.kind = Part::Kind::kFile;
            part.owned = "data:" + std::string(sv(*media)) + ";base64," + std::string(sv(*data));
            const Value* title = json_member(block, "title");
            part.filename = title && title->IsString() ? sv(*title) : std::string_view("document.pdf");
        } else {
            return bad(Path(path, "source.type"), "document source type \"" + std::string(sv(*stype)) +
                                                  "\" cannot be sent to an OpenAI-dialect provider");
        }
    } else {
        return bad(Path(path, "type"), "content block type \"" + std::string(t) +
                                       "\" is not supported in user messages for OpenAI-dialect providers");
    }
    parts.push_back(std::move(part));
    return Status();
}

// `text` gets the result's text; `single` the request's string when that text
// is exactly one of them (then `text` stays empty: nothing is copied).
Status AnthropicToOpenAI::tool_result_text(const Value& block, const Path& path,
                                           std::string& text, const Value*& single,
                                           std::vector<Part>& images) {
    const Value* err = json_member(block, "is_error");
    if (err && !err->IsBool()) return bad(Path(path, "is_error"), "expected a boolean");
    bool is_error = err && err->GetBool();
    if (is_error) text = "[error] ";
    const Value* content = json_member(block, "content");
    if (!content || content->IsNull()) return Status();
    if (content->IsString()) {
        if (is_error) {
            text.append(sv(*content));
        } else {
            single = content;
        }
        return Status();
    }
    if (!content->IsArray()) return bad(Path(path, "content"), "expected a string or an array");
    if (!is_error && content->Size() == 1 && (*content)[0].IsObject()) {
        const Value* type = json_member((*content)[0], "type");
        const Value* tv = json_member((*content)[0], "text");
        if (type && type->IsString() && sv(*type) == "text" && tv && tv->IsString()) {
            single = tv;
            return Status();
        }
    }
    bool first = true;
    const Path content_path(path, "content");
    for (SizeType i = 0; i < content->Size(); ++i) {
        const Value& b = (*content)[i];
        const Path bpath(content_path, i);
        const Value* type = b.IsObject() ? json_member(b, "type") : nullptr;
        if (!type || !type->IsString()) return bad(Path(bpath, "type"), "expected a string");
        std::string_view t = sv(*type);
        if (!first) text.push_back('\n');
        first = false;
        if (t == "text") {
            const Value* tv = json_member(b, "text");
            if (!tv || !tv->IsString()) return bad(Path(bpath, "text"), "expected a string");
            text.append(sv(*tv));
        } else if (t == "image" || t == "document") {
            // Tool messages carry text only; images and documents follow in
            // a user message (never inlined as base64 text).
            if (Status st = user_part(b, bpath, images); !st.ok()) return st;
            text += "[" + std::string(t) + " " + std::to_string(images.size()) +
                    " attached in the next user message]";
        } else {
            return bad(Path(bpath, "type"), "content block type \"" + std::string(t) +
                                            "\" is not supported in tool results");
        }
    }
    return Status();
}

void AnthropicToOpenAI::write_parts(const std::vector<Part>& parts) {
    bool all_text = true;
    for (const Part& p : parts) {
        if (p.kind != Part::Kind::kText || (q_.pass_cache_control && p.cache_control)) all_text = false;
    }
    w_.start_object();
    key("role");
    str("user");
    key("content");
    if (all_text) {
        // Plain string: accepted by every server (some reject arrays).
        std::vector<JsonOut::Piece> pieces;
        pieces.reserve(parts.size());
        for (const Part& p : parts) pieces.push_back({p.text, p.owned.empty() ? p.source : nullptr});
        w_.joined_string(pieces, "\n");
    } else {
        w_.start_array();
        for (const Part& p : parts) {
            w_.start_object();
            key("type");
            if (p.kind == Part::Kind::kText) {
                str("text");
                key("text");
                part_value(p);
            } else if (p.kind == Part::Kind::kImage) {
                str("image_url");
                key("image_url");
                w_.start_object();
                key("url");
                part_value(p);
                w_.end_object();
            } else {
                str("file");
                key("file");
                w_.start_object();
                key("filename");
                str(p.filename);
                key("file_data");
                part_value(p);
                w_.end_object();
            }
            if (q_.pass_cache_control && p.cache_control && p.cache_control->IsObject()) {
                key("cache_control");
                w_.value(*p.cache_control);
            }
            w_.end_object();
        }
        w_.end_array();
    }
    w_.end_object();
}

Status AnthropicToOpenAI::write_user(const Value& content, const Path& path) {
    if (content.IsString()) {
        answer_pending_calls();
        flush_deferred_system();
        w_.start_object();
        key("role");
        str("user");
        key("content");
        str(content);
        w_.end_object();
        return Status();
    }
    if (!content.IsArray()) return bad(path, "expected a string or an array of content blocks");
    struct Result_ {
        std::string_view id;
        std::string text;
        const Value* source = nullptr;  // instead of `text`, see tool_result_text
        std::string_view view() const { return source ? sv(*source) : std::string_view(text); }
    };
    std::vector<Result_> results;
    std::vector<Part> images;  // from tool results, placed before the user's own parts
    std::vector<Part> parts;
    for (SizeType i = 0; i < content.Size(); ++i) {
        const Value& b = content[i];
        const Path bpath(path, i);
        if (!b.IsObject()) return bad(bpath, "expected a content block object");
        const Value* type = json_member(b, "type");
        if (!type || !type->IsString()) return bad(Path(bpath, "type"), "expected a string");
        if (sv(*type) == "tool_result") {
            const Value* id = json_member(b, "tool_use_id");
            if (!id || !id->IsString()) return bad(Path(bpath, "tool_use_id"), "expected a string");
            Result_ r{sv(*id), {}};
            if (Status st = tool_result_text(b, bpath, r.text, r.source, images); !st.ok()) return st;
            results.push_back(std::move(r));
        } else if (Status st = user_part(b, bpath, parts); !st.ok()) {
            return st;
        }
    }
    // Tool messages first, in the order of the assistant's calls.
    std::vector<bool> used(results.size(), false);
    for (const auto& id : pending_calls_) {
        bool answered = false;
        for (std::size_t k = 0; k < results.size(); ++k) {
            if (!used[k] && results[k].id == id) {
                write_tool_message(id, results[k].text, results[k].source);
                used[k] = true;
                answered = true;
                break;
            }
        }
        if (!answered) write_tool_message(id, "(no result)");
    }
    pending_calls_.clear();
    // Results that answer no pending call (history edited or compacted)
    // cannot be tool messages; they stay visible as user text.
    std::vector<Part> all;
    std::vector<std::string> orphan_texts;
    for (std::size_t k = 0; k < results.size(); ++k) {
        if (used[k]) continue;
        orphan_texts.push_back("[tool result for " + std::string(results[k].id) + "]\n" +
                               std::string(results[k].view()));
    }
    for (const auto& t : orphan_texts) {
        Part p;
        p.text = t;
        all.push_back(std::move(p));
    }
    flush_deferred_system();
    for (auto& p : images) all.push_back(std::move(p));
    for (auto& p : parts) all.push_back(std::move(p));
    if (!all.empty()) write_parts(all);
    return Status();
}

Status AnthropicToOpenAI::write_assistant(const Value& content, const Path& path) {
    answer_pending_calls();
    flush_deferred_system();
    if (content.IsString()) {
        w_.start_object();
        key("role");
        str("assistant");
        key("content");
        str(content);
        w_.end_object();
        return Status();
    }
    if (!content.IsArray()) return bad(path, "expected a string or an array of content blocks");
    std::string text, reasoning;
    struct Call {
        std::string_view id;
        std::string name;
        const Value* input;
    };
    std::vector<Call> calls;
    for (SizeType i = 0; i < content.Size(); ++i) {
        const Value& b = content[i];
        const Path bpath(path, i);
        if (!b.IsObject()) return bad(bpath, "expected a content block object");
        const Value* type = json_member(b, "type");
        if (!type || !type->IsString()) return bad(Path(bpath, "type"), "expected a string");
        std::string_view t = sv(*type);
        if (t == "text") {
            const Value* tv = json_member(b, "text");
            if (!tv || !tv->IsString()) return bad(Path(bpath, "text"), "expected a string");
            if (!text.empty()) text.push_back('\n');
            text.append(sv(*tv));
        } else if (t == "thinking") {
            const Value* tv = json_member(b, "thinking");
            if (!tv || !tv->IsString()) return bad(Path(bpath, "thinking"), "expected a string");
            if (!reasoning.empty()) reasoning.push_back('\n');
            reasoning.append(sv(*tv));
        } else if (t == "redacted_thinking") {
            // Encrypted Anthropic reasoning: meaningless to any other provider.
        } else if (t == "tool_use") {
            const Value* id = json_member(b, "id");
            const Value* name = json_member(b, "name");
            const Value* input = json_member(b, "input");
            if (!id || !id->IsString() || id->GetStringLength() == 0) {
                return bad(Path(bpath, "id"), "expected a non-empty string");
            }
            if (!name || !name->IsString()) return bad(Path(bpath, "name"), "expected a string");
            if (input && !input->IsObject()) return bad(Path(bpath, "input"), "expected an object");
            calls.push_back({sv(*id), std::string(mapper_.provider_name(sv(*name))), input});
        } else {
            return bad(Path(bpath, "type"), "content block type \"" + std::string(t) +
                                            "\" is not supported in assistant messages for OpenAI-dialect providers");
        }
    }
    w_.start_object();
    key("role");
    str("assistant");
    key("content");
    if (!text.empty()) {
        str(text);
    } else if (!calls.empty() && q_.null_content_with_tool_calls) {
        w_.null();
    } else {
        str("");
    }
    if (q_.replay_reasoning && (!reasoning.empty() || !calls.empty())) {
        // DeepSeek thinking mode requires the field on tool-calling turns.
        key(q_.reasoning_field);
        str(reasoning);
    }
    if (!calls.empty()) {
        key("tool_calls");
        w_.start_array();
        std::string args;
        for (const Call& c : calls) {
            w_.start_object();
            key("id");
            str(c.id);
            key("type");
            str("function");
            key("function");
            w_.start_object();
            key("name");
            str(c.name);
            key("arguments");
            args.clear();
            if (c.input) {
                JsonOut(args).value(*c.input);
            } else {
                args = "{}";
            }
            str(args);
            w_.end_object();
            w_.end_object();
            pending_calls_.emplace_back(c.id);
        }
        w_.end_array();
    }
    w_.end_object();
    return Status();
}

Status AnthropicToOpenAI::write_messages(const Value& messages) {
    const Path messages_path("messages");
    for (SizeType i = 0; i < messages.Size(); ++i) {
        const Value& m = messages[i];
        const Path path(messages_path, i);
        if (!m.IsObject()) return bad(path, "expected an object");
        const Value* role = json_member(m, "role");
        if (!role || !role->IsString()) return bad(Path(path, "role"), "expected a string");
        const Value* content = json_member(m, "content");
        if (!content) return bad(Path(path, "content"), "missing");
        std::string_view r = sv(*role);
        Status st;
        if (r == "user") {
            st = write_user(*content, Path(path, "content"));
        } else if (r == "assistant") {
            st = write_assistant(*content, Path(path, "content"));
        } else if (r == "system") {
            std::string text;
            st = system_message_text(*content, Path(path, "content"), text);
            if (st.ok() && !blank(text)) {
                deferred_system_.push_back(std::move(text));
                if (pending_calls_.empty()) flush_deferred_system();
            }
        } else {
            return bad(Path(path, "role"), "unsupported role \"" + std::string(r) + "\"");
        }
        if (!st.ok()) return st;
    }
    if (!deferred_system_.empty()) {
        answer_pending_calls();
        flush_deferred_system();
    }
    return Status();
}

// ---- tools ----------------------------------------------------------------------

Status AnthropicToOpenAI::write_tools(bool& any_function_tool, bool& web_search) {
    const Value* tools = json_member(req_.doc, "tools");
    if (!tools || tools->IsNull()) return Status();
    if (!tools->IsArray()) return bad("tools", "expected an array");
    bool opened = false;
    const Path tools_path("tools");
    for (SizeType i = 0; i < tools->Size(); ++i) {
        const Value& t = (*tools)[i];
        const Path path(tools_path, i);
        if (!t.IsObject()) return bad(path, "expected an object");
        const Value* type = json_member(t, "type");
        if (type && !type->IsNull()) {
            if (!type->IsString()) return bad(Path(path, "type"), "expected a string");
            std::string_view ty = sv(*type);
            if (ty.substr(0, 11) == "web_search_") {
                if (!q_.web_search_options) {
                    return bad(Path(path, "type"), "the web_search server tool is not available on this provider");
                }
                web_search = true;
                continue;
            }
            if (ty != "custom") {
                return bad(Path(path, "type"), "server tool \"" + std::string(ty) +
                                               "\" cannot be sent to an OpenAI-dialect provider");
            }
        }
        const Value* name = json_member(t, "name");
        if (!name || !name->IsString()) return bad(Path(path, "name"), "expected a string");
        const Value* desc = json_member(t, "description");
        if (desc && !desc->IsString() && !desc->IsNull()) return bad(Path(path, "description"), "expected a string");
        const Value* schema = json_member(t, "input_schema");
        if (schema && !schema->IsObject()) return bad(Path(path, "input_schema"), "expected an object");
        if (!opened) {
            key("tools");
            w_.start_array();
            opened = true;
        }
        any_function_tool = true;
        w_.start_object();
        key("type");
        str("function");
        key("function");
        w_.start_object();
        key("name");
        str(mapper_.provider_name(sv(*name)));
        if (desc && desc->IsString()) {
            key("description");
            str(*desc);
        }
        key("parameters");
        // Some servers reject parameters without "type": "object".
        w_.start_object();
        const Value* schema_type = schema ? json_member(*schema, "type") : nullptr;
        bool has_props = schema && schema->HasMember("properties");
        if (!schema_type) {
            key("type");
            str("object");
        }
        bool object_schema = !schema_type || (schema_type->IsString() && sv(*schema_type) == "object");
        if (!has_props && object_schema) {
            key("properties");
            w_.start_object();
            w_.end_object();
        }
        if (schema) {
            for (auto m = schema->MemberBegin(); m != schema->MemberEnd(); ++m) {
                key(sv(m->name));
                w_.value(m->value);
            }
        }
        w_.end_object();
        w_.end_object();
        w_.end_object();
    }
    if (opened) w_.end_array();
    return Status();
}

Status AnthropicToOpenAI::write_tool_choice(bool any_function_tool) {
    const Value* choice = json_member(req_.doc, "tool_choice");
    if (!choice || choice->IsNull()) return Status();
    if (!choice->IsObject()) return bad("tool_choice", "expected an object");
    const Value* type = json_member(*choice, "type");
    if (!type || !type->IsString()) return bad("tool_choice.type", "expected a string");
    std::string_view t = sv(*type);
    if (t != "auto" && t != "any" && t != "tool" && t != "none") {
        return bad("tool_choice.type", "expected auto, any, tool or none");
    }
    const Value* name = json_member(*choice, "name");
    if (t == "tool" && (!name || !name->IsString())) return bad("tool_choice.name", "expected a string");
    const Value* dp = json_member(*choice, "disable_parallel_tool_use");
    if (dp && !dp->IsBool()) return bad("tool_choice.disable_parallel_tool_use", "expected a boolean");
    // OpenAI rejects tool_choice without tools.
    if (!any_function_tool) return Status();
    key("tool_choice");
    if (t == "auto") {
        str("auto");
    } else if (t == "any") {
        str("required");
    } else if (t == "none") {
        str("none");
    } else {
        w_.start_object();
        key("type");
        str("function");
        key("function");
        w_.start_object();
        key("name");
        str(mapper_.provider_name(sv(*name)));
        w_.end_object();
        w_.end_object();
    }
    if (dp && dp->GetBool() && t != "none") {
        key("parallel_tool_calls");
        w_.boolean(false);
    }
    return Status();
}

// ---- scalars ---------------------------------------------------------------------

Status AnthropicToOpenAI::write_scalars() {
    const Value& d = req_.doc;
    if (const Value* mt = json_member(d, "max_tokens")) {
        if (!mt->IsUint64() || mt->GetUint64() == 0) return bad("max_tokens", "expected a positive integer");
        std::uint64_t v = mt->GetUint64();
        if (opts_.max_tokens_cap && v > *opts_.max_tokens_cap) v = *opts_.max_tokens_cap;
        key(q_.max_tokens_field);
        w_.uint(v);
    } else if (opts_.max_tokens_cap) {
        key(q_.max_tokens_field);
        w_.uint(*opts_.max_tokens_cap);
    }
    for (const char* name : {"temperature", "top_p"}) {
        if (const Value* v = json_member(d, name)) {
            if (v->IsNull()) continue;
            if (!v->IsNumber()) return bad(name, "expected a number");
            key(name);
            w_.value(*v);
        }
    }
    if (const Value* v = json_member(d, "top_k")) {
        if (!v->IsNull() && !v->IsUint64()) return bad("top_k", "expected a non-negative integer");
        if (q_.send_top_k && v->IsUint64()) {
            key("top_k");
            w_.uint(v->GetUint64());
        }
    }
    if (const Value* v = json_member(d, "stop_sequences")) {
        if (!v->IsNull()) {
            if (!v->IsArray()) return bad("stop_sequences", "expected an array of strings");
            for (SizeType i = 0; i < v->Size(); ++i) {
                if (!(*v)[i].IsString()) return bad("stop_sequences[" + std::to_string(i) + "]", "expected a string");
            }
            if (v->Size() > q_.max_stop_sequences) {
                return bad("stop_sequences", "this provider accepts at most " +
                                                 std::to_string(q_.max_stop_sequences) + " stop sequences");
            }
            if (v->Size() > 0) {
                key("stop");
                w_.value(*v);
            }
        }
    }
    bool stream = false;
    if (const Value* v = json_member(d, "stream")) {
        if (!v->IsBool() && !v->IsNull()) return bad("stream", "expected a boolean");
        stream = v->IsBool() && v->GetBool();
    }
    key("stream");
    w_.boolean(stream);
    if (stream && q_.stream_include_usage) {
        key("stream_options");
        w_.start_object();
        key("include_usage");
        w_.boolean(true);
        w_.end_object();
    }
    if (const Value* meta = json_member(d, "metadata")) {
        if (!meta->IsNull() && !meta->IsObject()) return bad("metadata", "expected an object");
        const Value* user = meta->IsObject() ? json_member(*meta, "user_id") : nullptr;
        if (user && !user->IsString() && !user->IsNull()) return bad("metadata.user_id", "expected a string");
        if (user && user->IsString() && q_.send_user && user->GetStringLength() > 0) {
            key("user");
            str(sv(*user));
        }
    }
    return Status();
}

Status AnthropicToOpenAI::write_thinking() {
    const Value* thinking = json_member(req_.doc, "thinking");
    if (!thinking || thinking->IsNull()) return Status();
    if (!thinking->IsObject()) return bad("thinking", "expected an object");
    const Value* type = json_member(*thinking, "type");
    if (!type || !type->IsString()) return bad("thinking.type", "expected a string");
    std::string_view t = sv(*type);
    if (t != "enabled" && t != "disabled" && t != "adaptive") {
        return bad("thinking.type", "expected enabled, adaptive or disabled");
    }
    std::uint64_t budget = 0;
    if (const Value* b = json_member(*thinking, "budget_tokens")) {
        if (!b->IsUint64()) return bad("thinking.budget_tokens", "expected a non-negative integer");
        budget = b->GetUint64();
    }
    if (t == "enabled" && budget == 0) return bad("thinking.budget_tokens", "required when thinking is enabled");
    std::string_view effort = "medium";
    if (t == "enabled") {
        effort = budget <= 1024 ? "low" : budget <= 8192 ? "medium" : "high";
    } else if (const Value* oc = json_member(req_.doc, "output_config"); oc && oc->IsObject()) {
        const Value* e = json_member(*oc, "effort");
        if (e && e->IsString()) {
            std::string_view ev = sv(*e);
            if (ev == "low" || ev == "medium" || ev == "high") effort = ev;
            else if (ev == "max") effort = "high";
        }
    }
    bool on = t != "disabled";
    if (q_.send_reasoning_effort && on) {
        key("reasoning_effort");
        str(effort);
    }
    if (q_.send_thinking_object) {
        key("thinking");
        w_.start_object();
        key("type");
        str(on ? "enabled" : "disabled");
        w_.end_object();
    }
    if (q_.send_enable_thinking) {
        key("enable_thinking");
        w_.boolean(on);
        if (on && budget > 0) {
            key("thinking_budget");
            w_.uint(budget);
        }
    }
    return Status();
}

Result<TranslatedRequest> AnthropicToOpenAI::run() {
    const Value& d = req_.doc;
    if (!d.IsObject()) return bad("", "request body must be a JSON object");
    const Value* model = json_member(d, "model");
    if (!model || !model->IsString()) return bad("model", "expected a string");
    const Value* messages = json_member(d, "messages");
    if (!messages || !messages->IsArray()) return bad("messages", "expected an array");

    // Declared tools get their provider names first, so names in the history
    // and tool_choice map consistently.
    if (const Value* tools = json_member(d, "tools"); tools && tools->IsArray()) {
        for (const auto& t : tools->GetArray()) {
            if (!t.IsObject()) continue;
            const Value* name = json_member(t, "name");
            const Value* type = json_member(t, "type");
            bool custom = !type || type->IsNull() || (type->IsString() && sv(*type) == "custom");
            if (custom && name && name->IsString()) mapper_.provider_name(sv(*name));
        }
    }

    w_.start_object();
    key("model");
    str(opts_.target_model.empty() ? sv(*model) : opts_.target_model);
    key("messages");
    w_.start_array();
    if (Status st = write_system(); !st.ok()) return st.error();
    if (Status st = write_messages(*messages); !st.ok()) return st.error();
    w_.end_array();
    if (Status st = write_scalars(); !st.ok()) return st.error();
    bool any_function_tool = false, web_search = false;
    if (Status st = write_tools(any_function_tool, web_search); !st.ok()) return st.error();
    if (Status st = write_tool_choice(any_function_tool); !st.ok()) return st.error();
    if (web_search) {
        key("web_search_options");
        w_.start_object();
        w_.end_object();
    }
    if (Status st = write_thinking(); !st.ok()) return st.error();
    w_.end_object();

    TranslatedRequest tr;
    tr.body = std::move(out_);
    tr.response.client_model = req_.facts.model.empty() ? std::string(sv(*model)) : req_.facts.model;
    const Value* stream = json_member(d, "stream");
    tr.response.stream = stream && stream->IsBool() && stream->GetBool();
    tr.response.tool_names = std::move(names_);
    tr.response.quirks = q_;
    return tr;
}

}  // namespace

Result<TranslatedRequest> anthropic_to_openai_request(const ParsedRequest& req,
                                                      const TranslateOptions& opts) {
    return AnthropicToOpenAI(req, opts).run();
}

}  // namespace llmproxy::detail
