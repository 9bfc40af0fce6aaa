// OpenAI Chat Completions request -> Anthropic Messages request (OpenAI SDK
// clients on Anthropic providers). Every OpenAI field is handled on purpose:
// mapped, rejected with a typed error naming the field, or left out with the
// reason written next to it. Fields that are not part of the Chat Completions
// API are not forwarded: they have no Anthropic meaning.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory_resource>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/json.hpp"
#include "core/mapping.hpp"
#include "core/translate_internal.hpp"

namespace llmproxy::detail {
namespace {

using rapidjson::Value;

// Anthropic requires max_tokens; OpenAI clients usually omit it, meaning "as
// long as the model allows". Without a configured per-model cap, 4096 is the
// largest value every Anthropic model accepts.
constexpr std::uint64_t kDefaultMaxTokens = 4096;
// Anthropic's smallest accepted thinking budget.
constexpr std::uint64_t kMinThinkingBudget = 1024;

std::string_view view(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

// Absent and explicit null mean the same thing in OpenAI requests.
template <std::size_t N>
const Value* present(const Value& obj, const char (&name)[N]) {
    const Value* v = json_member(obj, name);
    return (v == nullptr || v->IsNull()) ? nullptr : v;
}

Error invalid(std::string field, std::string message) {
    return make_error(ErrorCode::kInvalidRequest, std::move(field), std::move(message));
}

Error invalid(const Path& field, std::string message) { return invalid(field.str(), std::move(message)); }

void append_string(std::string& out, std::string_view s) { json_append_string(out, s); }

// Copies a parsed value (schemas, cache_control, numbers) into `out`; strings
// of `source` as they stand in its text (see JsonOut::value).
void append_value(std::string& out, const Value& v, InsituSource source = {}) {
    JsonOut w(out, source);
    w.value(v);
}

void comma(std::string& out) {
    if (!out.empty()) out += ',';
}

bool valid_tool_token(std::string_view s, std::size_t max_len) {
    if (s.empty() || s.size() > max_len) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

// "data:<media type>[;params];base64,<payload>"
struct DataUrl {
    std::string_view media_type;
    std::string_view data;
};

bool parse_base64_data_url(std::string_view url, DataUrl& out) {
    constexpr std::string_view kPrefix = "data:";
    constexpr std::string_view kMarker = ";base64,";
    if (url.substr(0, kPrefix.size()) != kPrefix) return false;
    std::size_t marker = url.find(kMarker);
    if (marker == std::string_view::npos) return false;
    std::string_view meta = url.substr(kPrefix.size(), marker - kPrefix.size());
    out.media_type = meta.substr(0, meta.find(';'));
    out.data = url.substr(marker + kMarker.size());
    return !out.media_type.empty();
}

bool is_http_url(std::string_view url) {
    return url.substr(0, 7) == "http://" || url.substr(0, 8) == "https://";
}

// Which content part types a message role may carry.
enum class PartContext { kUser, kAssistant, kTool };

// Thinking budgets for reasoning_effort, doubling from Anthropic's minimum.
bool thinking_budget_for(std::string_view effort, std::uint64_t& budget) {
    if (effort == "minimal") budget = 1024;
    else if (effort == "low") budget = 2048;
    else if (effort == "medium") budget = 8192;
    else if (effort == "high") budget = 16384;
    else if (effort == "xhigh") budget = 32768;
    else return false;
    return true;
}

// The members of one OpenAI message that matter, found in one pass over its
// members (messages are the bulk of a request; repeated lookups add up).
struct MessageFields {
    const Value* role = nullptr;
    const Value* content = nullptr;
    const Value* tool_calls = nullptr;
    const Value* tool_call_id = nullptr;
    const Value* function_call = nullptr;
    const Value* refusal = nullptr;
    const Value* audio = nullptr;

    explicit MessageFields(const Value& msg) {
        for (auto it = msg.MemberBegin(); it != msg.MemberEnd(); ++it) {
            std::string_view k = view(it->name);
            const Value* v = &it->value;
            if (k == "role") role = v;
            else if (k == "content") content = v;
            else if (k == "tool_calls") tool_calls = v;
            else if (k == "tool_call_id") tool_call_id = v;
            else if (k == "function_call") function_call = v;
            else if (k == "refusal") refusal = v;
            else if (k == "audio") audio = v;
            // "name" (participant name) has no Anthropic equivalent; it is not sent.
        }
    }
    // Absent and explicit null mean the same thing in OpenAI requests.
    static const Value* present(const Value* v) { return v != nullptr && !v->IsNull() ? v : nullptr; }
};

// One Anthropic message being assembled. Anthropic requires tool_result
// blocks to come first in a user message, so they are kept apart from the
// other blocks and written first.
struct PendingMessage {
    bool assistant = false;
    std::string tool_results;  // comma-separated tool_result blocks
    std::string blocks;        // comma-separated other blocks
};

struct SystemPart {
    const Value* text = nullptr;  // a string of the request document
    const Value* cache_control = nullptr;
};

class RequestConverter {
public:
    RequestConverter(const Value& root, InsituSource source, const TranslateOptions& opts)
        : root_(root), source_(source), opts_(opts) {}

    Result<TranslatedRequest> run();

private:
    Status convert_messages(const Value& messages);
    Status collect_system_parts(const Value& content, const Path& path,
                                std::vector<SystemPart>& parts);
    Status convert_system_message(const MessageFields& msg, const Path& path, bool leading);
    Status convert_user_message(const MessageFields& msg, const Path& path);
    Status convert_assistant_message(const MessageFields& msg, const Path& path, std::size_t index);
    Status convert_tool_message(const MessageFields& msg, const Path& path, bool legacy_function);
    Status append_parts(const Value& content, const Path& path, PartContext ctx,
                        std::string& out);
    Status append_part(const Value& part, const Path& path, PartContext ctx,
                       std::string& out);
    Status append_image(const Value& part, const Path& path, std::string& out);
    Status append_file(const Value& part, const Path& path, std::string& out);
    Status append_tool_use(std::string_view id, std::string_view name, const Value* arguments,
                           const Path& path, std::string& out);
    Status append_cache_control(const Value& part, const Path& path, std::string& out);
    Status convert_tools(std::string& out, bool& have_tools);
    Status append_tool_definition(const Value& fn, const Path& path, std::string& out);
    Status convert_tool_choice(bool have_tools, std::string& out, bool& forced);
    Status convert_sampling_and_limits();
    Status check_unsupported_fields();

    PendingMessage& message_for(bool assistant);
    void write_oldest_message();
    // `original` must stay valid for the whole conversion (a document
    // string or an own()ed one).
    std::string_view assign_tool_id(std::string_view original);
    std::string_view own(std::string s);
    std::string_view resolve_tool_id(std::string_view original);

    const Value& root_;
    InsituSource source_;  // the request's text, for copying its string literals
    const TranslateOptions& opts_;
    TranslatedRequest result_;
    // OpenAI and Anthropic share the tool-name alphabet; names from lenient
    // clients that do not fit it are rewritten and mapped back in responses.
    ToolNameMapper tool_names_{result_.response.tool_names};

    std::vector<SystemPart> system_;
    // Only the newest message changes (a merge) or goes (dropped when it
    // stayed empty), and then the one before it is the newest again; older
    // ones are final: written to written_messages_, their buffers reused.
    std::deque<PendingMessage> messages_;
    std::string written_messages_;    // final messages, comma-separated
    std::vector<std::string> spare_;  // emptied message buffers, capacity kept
    // Tool call ids: Anthropic accepts [a-zA-Z0-9_-]+ and rejects duplicates
    // anywhere in the conversation, while histories from other providers can
    // carry ids like "functions.Bash:0" or reuse "call_0" every turn. Each
    // original id maps to the id most recently assigned to it, so tool
    // messages answer the call they follow.
    // Views point into the request document or into owned_ids_ (a deque,
    // so they stay valid as it grows).
    std::deque<std::string> owned_ids_;
    // One node per tool call in each: taken from this buffer first, then
    // from the heap in growing blocks, instead of a heap allocation each (an
    // agent's history has a tool call per turn).
    alignas(std::max_align_t) unsigned char id_arena_[8192];
    std::pmr::monotonic_buffer_resource id_memory_{id_arena_, sizeof id_arena_};
    std::pmr::unordered_map<std::string_view, std::string_view> current_ids_{&id_memory_};
    std::pmr::unordered_set<std::string_view> used_ids_{&id_memory_};
    // Per id that had to be renamed: the next suffix to try, so a history
    // that says "call_0" every turn is renamed in linear time.
    std::pmr::unordered_map<std::string_view, unsigned> next_suffix_{&id_memory_};
    std::string pending_legacy_id_;  // id given to the last legacy function_call
    bool seen_conversation_ = false;  // a user/assistant/tool message was seen

    // Scalars gathered by convert_sampling_and_limits().
    std::uint64_t max_tokens_ = kDefaultMaxTokens;
    bool max_tokens_given_ = false;
    const char* max_tokens_field_ = "max_tokens";
    std::uint64_t thinking_budget_ = 0;  // 0: thinking not requested
    std::string sampling_;               // ,"temperature":..,"top_p":..,"top_k":..
    std::string stop_sequences_;
    std::string user_id_;
    bool stream_ = false;
};

void append_message(std::string& out, const PendingMessage& m) {
    if (!out.empty()) out += ',';
    out += m.assistant ? R"({"role":"assistant","content":[)" : R"({"role":"user","content":[)";
    out += m.tool_results;
    if (!m.tool_results.empty() && !m.blocks.empty()) out += ',';
    out += m.blocks;
    out += "]}";
}

void RequestConverter::write_oldest_message() {
    PendingMessage& m = messages_.front();
    append_message(written_messages_, m);
    for (std::string* buffer : {&m.blocks, &m.tool_results}) {
        buffer->clear();
        spare_.push_back(std::move(*buffer));
    }
    messages_.pop_front();
}

PendingMessage& RequestConverter::message_for(bool assistant) {
    // Consecutive turns of one role become one Anthropic message.
    if (messages_.empty() || messages_.back().assistant != assistant) {
        while (messages_.size() > 1) write_oldest_message();
        PendingMessage& m = messages_.emplace_back();
        m.assistant = assistant;
        for (std::string* buffer : {&m.blocks, &m.tool_results}) {
            if (spare_.empty()) break;
            *buffer = std::move(spare_.back());
            spare_.pop_back();
        }
        if (m.blocks.capacity() < 256) m.blocks.reserve(256);
    }
    return messages_.back();
}

std::string_view RequestConverter::own(std::string s) {
    owned_ids_.push_back(std::move(s));
    return owned_ids_.back();
}

std::string_view RequestConverter::assign_tool_id(std::string_view original) {
    std::string_view id = original;
    if (!valid_tool_token(original, 256)) {
        std::string clean;
        clean.reserve(original.size());
        for (char c : original) {
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-';
            clean.push_back(ok ? c : '_');
        }
        if (clean.empty()) clean = "call";
        id = own(std::move(clean));
    }
    if (used_ids_.count(id) != 0) {
        std::string_view base = id;
        unsigned& next = next_suffix_.try_emplace(base, 2).first->second;
        for (;; ++next) {
            std::string candidate(base);
            candidate += '_';
            candidate += std::to_string(next);
            if (used_ids_.count(candidate) == 0) {
                id = own(std::move(candidate));
                ++next;
                break;
            }
        }
    }
    used_ids_.insert(id);
    current_ids_[original] = id;
    return id;
}

std::string_view RequestConverter::resolve_tool_id(std::string_view original) {
    auto it = current_ids_.find(original);
    if (it != current_ids_.end()) return it->second;
    // A result for a call not in the history: keep the id as written when
    // it is valid (Anthropic reports the dangling reference itself).
    if (valid_tool_token(original, 256)) return original;
    return assign_tool_id(original);
}

Status RequestConverter::append_cache_control(const Value& part, const Path& path,
                                              std::string& out) {
    // Anthropic understands cache_control natively; OpenRouter-style clients
    // put it on content parts.
    const Value* cc = present(part, "cache_control");
    if (cc == nullptr) return Status();
    if (!cc->IsObject()) return invalid(Path(path, "cache_control"), "must be an object");
    out += R"(,"cache_control":)";
    append_value(out, *cc);
    return Status();
}

Status RequestConverter::append_image(const Value& part, const Path& path,
                                      std::string& out) {
    const Value* image = json_member(part, "image_url");
    Path image_path(path, "image_url");
    Path url_path(image_path, "url");
    const Path* url_field = &image_path;
    const Value* url = nullptr;
    if (image != nullptr && image->IsString()) {
        url = image;  // some clients send the URL directly
    } else if (image != nullptr && image->IsObject()) {
        url = json_member(*image, "url");
        url_field = &url_path;
        // "detail" (low/high/auto) is a resolution hint with no Anthropic
        // equivalent; Anthropic picks the resolution itself.
    } else {
        return invalid(image_path, "must be an object with a url");
    }
    if (url == nullptr || !url->IsString()) return invalid(*url_field, "must be a string");
    std::string_view u = view(*url);
    DataUrl data;
    comma(out);
    if (parse_base64_data_url(u, data)) {
        bool pdf = data.media_type == "application/pdf";
        out += pdf ? R"({"type":"document","source":{"type":"base64","media_type":)"
                   : R"({"type":"image","source":{"type":"base64","media_type":)";
        append_string(out, data.media_type);
        out += R"(,"data":)";
        append_string(out, data.data);
        out += '}';
    } else if (is_http_url(u)) {
        out += R"({"type":"image","source":{"type":"url","url":)";
        append_string(out, u);
        out += '}';
    } else {
        return invalid(*url_field, "must be an http(s) URL or a base64 data: URL");
    }
    if (Status st = append_cache_control(part, path, out); !st.ok()) return st;
    out += '}';
    return Status();
}

Status RequestConverter::append_file(const Value& part, const Path& path,
                                     std::string& out) {
    const Value* file = json_member(part, "file");
    Path file_path(path, "file");
    if (file == nullptr || !file->IsObject()) return invalid(file_path, "must be an object");
    if (present(*file, "file_id") != nullptr && present(*file, "file_data") == nullptr) {
        return invalid(Path(file_path, "file_id"),
                       "uploaded OpenAI files cannot be read by an Anthropic provider; "
                       "send file_data instead");
    }
    const Value* data_v = present(*file, "file_data");
    if (data_v == nullptr || !data_v->IsString()) {
        return invalid(Path(file_path, "file_data"), "must be a base64 data: URL string");
    }
    DataUrl data;
    if (!parse_base64_data_url(view(*data_v), data)) {
        return invalid(Path(file_path, "file_data"), "must be a base64 data: URL");
    }
    comma(out);
    if (data.media_type == "application/pdf") {
        out += R"({"type":"document","source":{"type":"base64","media_type":"application/pdf","data":)";
    } else if (data.media_type == "text/plain") {
        // Anthropic plain-text documents carry the text itself, not base64;
        // decoding is not worth it here, so ask for a text part instead.
        return invalid(Path(file_path, "file_data"),
                       "send plain text as a text content part, not as a file");
    } else if (data.media_type.substr(0, 6) == "image/") {
        out += R"({"type":"image","source":{"type":"base64","media_type":)";
        append_string(out, data.media_type);
        out += R"(,"data":)";
    } else {
        return invalid(Path(file_path, "file_data"),
                       "unsupported file type for an Anthropic provider (PDF or image only)");
    }
    append_string(out, data.data);
    out += '}';
    const Value* filename = present(*file, "filename");
    if (filename != nullptr && filename->IsString() && data.media_type == "application/pdf") {
        out += R"(,"title":)";
        append_string(out, view(*filename));
    }
    if (Status st = append_cache_control(part, path, out); !st.ok()) return st;
    out += '}';
    return Status();
}

Status RequestConverter::append_part(const Value& part, const Path& path, PartContext ctx,
                                     std::string& out) {
    if (!part.IsObject()) return invalid(path, "must be an object");
    const Value* type = json_member(part, "type");
    if (type == nullptr || !type->IsString()) return invalid(Path(path, "type"), "must be a string");
    std::string_view t = view(*type);

    if (t == "text" || (t == "refusal" && ctx == PartContext::kAssistant)) {
        const char* field = t == "text" ? "text" : "refusal";
        const Value* text = json_member(part, field);
        if (text == nullptr || !text->IsString()) return invalid(Path(path, field), "must be a string");
        // Anthropic rejects empty text blocks; an empty part carries nothing.
        if (text->GetStringLength() == 0) return Status();
        comma(out);
        out += R"({"type":"text","text":)";
        append_value(out, *text, source_);
        if (Status st = append_cache_control(part, path, out); !st.ok()) return st;
        out += '}';
        return Status();
    }
    if (t == "image_url" && (ctx == PartContext::kUser || ctx == PartContext::kTool)) {
        return append_image(part, path, out);
    }
    if (t == "file" && ctx == PartContext::kUser) return append_file(part, path, out);
    if (t == "input_audio") {
        return invalid(Path(path, "type"), "audio input is not supported by Anthropic providers");
    }
    std::string why = "content part type \"";
    why += t;
    why += "\" is not supported here";
    return invalid(Path(path, "type"), std::move(why));
}

Status RequestConverter::append_parts(const Value& content, const Path& path,
                                      PartContext ctx, std::string& out) {
    if (content.IsString()) {
        if (content.GetStringLength() == 0) return Status();
        comma(out);
        out += R"({"type":"text","text":)";
        append_value(out, content, source_);
        out += '}';
        return Status();
    }
    if (!content.IsArray()) return invalid(path, "must be a string or an array of content parts");
    std::size_t i = 0;
    for (const Value& part : content.GetArray()) {
        if (Status st = append_part(part, Path(path, i), ctx, out); !st.ok()) return st;
        ++i;
    }
    return Status();
}

Status RequestConverter::collect_system_parts(const Value& content, const Path& path,
                                              std::vector<SystemPart>& parts) {
    if (content.IsString()) {
        if (content.GetStringLength() > 0) parts.push_back({&content, nullptr});
        return Status();
    }
    if (!content.IsArray()) return invalid(path, "must be a string or an array");
    std::size_t i = 0;
    for (const Value& part : content.GetArray()) {
        Path part_path(path, i++);
        if (!part.IsObject()) return invalid(part_path, "must be an object");
        const Value* type = json_member(part, "type");
        if (type == nullptr || !type->IsString() || view(*type) != "text") {
            return invalid(Path(part_path, "type"), "system content parts must be text");
        }
        const Value* text = json_member(part, "text");
        if (text == nullptr || !text->IsString()) {
            return invalid(Path(part_path, "text"), "must be a string");
        }
        const Value* cc = present(part, "cache_control");
        if (cc != nullptr && !cc->IsObject()) {
            return invalid(Path(part_path, "cache_control"), "must be an object");
        }
        if (text->GetStringLength() > 0) parts.push_back({text, cc});
    }
    return Status();
}

Status RequestConverter::convert_system_message(const MessageFields& msg, const Path& path,
                                                bool leading) {
    const Value* content = msg.content;
    Path content_path(path, "content");
    if (content == nullptr) return invalid(content_path, "field required");
    // Leading system/developer messages form Anthropic's top-level system.
    if (leading) return collect_system_parts(*content, content_path, system_);

    // A system message inside the conversation keeps its position, as a
    // user-turn text block. Anthropic has one top-level system prompt only,
    // and moving the text there would change what the model saw when and
    // break prompt caching of the conversation prefix. <system-reminder> is
    // the wrapper Claude models are trained to read as system-originated.
    std::vector<SystemPart> parts;
    if (Status st = collect_system_parts(*content, content_path, parts); !st.ok()) return st;
    if (parts.empty()) return Status();
    std::string text = "<system-reminder>\n";
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) text += '\n';
        text.append(view(*parts[i].text));
    }
    text += "\n</system-reminder>";
    PendingMessage& m = message_for(false);
    comma(m.blocks);
    m.blocks += R"({"type":"text","text":)";
    append_string(m.blocks, text);
    if (parts.back().cache_control != nullptr) {
        m.blocks += R"(,"cache_control":)";
        append_value(m.blocks, *parts.back().cache_control);
    }
    m.blocks += '}';
    return Status();
}

Status RequestConverter::convert_user_message(const MessageFields& msg, const Path& path) {
    const Value* content = msg.content;
    Path content_path(path, "content");
    if (content == nullptr) return invalid(content_path, "field required");
    // Blocks go straight into the Anthropic message; a turn that turns out
    // empty is removed again (Anthropic rejects empty turns).
    bool created = messages_.empty() || messages_.back().assistant;
    PendingMessage& m = message_for(false);
    if (Status st = append_parts(*content, content_path, PartContext::kUser, m.blocks); !st.ok()) {
        return st;
    }
    if (created && m.blocks.empty() && m.tool_results.empty()) messages_.pop_back();
    return Status();
}

Status RequestConverter::append_tool_use(std::string_view id, std::string_view name,
                                         const Value* arguments, const Path& path,
                                         std::string& out) {
    comma(out);
    out += R"({"type":"tool_use","id":)";
    append_string(out, id);
    out += R"(,"name":)";
    append_string(out, tool_names_.provider_name(name));
    out += R"(,"input":)";
    std::string_view args;
    if (arguments != nullptr) {
        if (!arguments->IsString()) return invalid(path, "must be a string of JSON");
        args = view(*arguments);
    }
    bool blank = std::all_of(args.begin(), args.end(),
                             [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
    if (blank) {
        out += "{}";  // functions without parameters often send ""
    } else {
        if (json_is_object(args, JsonLimits{})) {
            out.append(args);  // already valid JSON: keep the client's bytes
        } else {
            // Anthropic input must be an object. Arguments that are not an
            // object (a model cut off by max_tokens writes half a JSON
            // document) are kept verbatim under one key, never lost.
            out += R"({"_raw_arguments":)";
            append_string(out, args);
            out += '}';
        }
    }
    out += '}';
    return Status();
}

Status RequestConverter::convert_assistant_message(const MessageFields& msg, const Path& path,
                                                   std::size_t index) {
    bool created = messages_.empty() || !messages_.back().assistant;
    PendingMessage& m = message_for(true);
    std::string& blocks = m.blocks;
    const Value* content = MessageFields::present(msg.content);
    if (content != nullptr) {
        if (Status st = append_parts(*content, Path(path, "content"), PartContext::kAssistant,
                                     blocks);
            !st.ok()) {
            return st;
        }
    }
    // A refusal the model gave earlier is part of what it said.
    const Value* refusal = MessageFields::present(msg.refusal);
    if (refusal != nullptr) {
        if (!refusal->IsString()) return invalid(Path(path, "refusal"), "must be a string");
        if (refusal->GetStringLength() > 0) {
            comma(blocks);
            blocks += R"({"type":"text","text":)";
            append_string(blocks, view(*refusal));
            blocks += '}';
        }
    }
    if (MessageFields::present(msg.audio) != nullptr) {
        return invalid(Path(path, "audio"), "audio is not supported by Anthropic providers");
    }
    // reasoning_content / reasoning replayed by a client cannot be sent back:
    // Anthropic only accepts thinking blocks with the signature it issued,
    // which OpenAI-shaped responses have no field for. The thinking
    // requirement for tool loops is handled in run().

    const Value* tool_calls = MessageFields::present(msg.tool_calls);
    if (tool_calls != nullptr) {
        Path calls_path(path, "tool_calls");
        if (!tool_calls->IsArray()) return invalid(calls_path, "must be an array");
        std::size_t i = 0;
        for (const Value& call : tool_calls->GetArray()) {
            Path call_path(calls_path, i++);
            if (!call.IsObject()) return invalid(call_path, "must be an object");
            const Value* type = present(call, "type");
            if (type != nullptr && (!type->IsString() || view(*type) != "function")) {
                return invalid(Path(call_path, "type"), "only \"function\" tool calls are supported");
            }
            const Value* id = json_member(call, "id");
            if (id == nullptr || !id->IsString() || id->GetStringLength() == 0) {
                return invalid(Path(call_path, "id"), "must be a non-empty string");
            }
            const Value* fn = json_member(call, "function");
            if (fn == nullptr || !fn->IsObject()) {
                return invalid(Path(call_path, "function"), "must be an object");
            }
            const Value* name = json_member(*fn, "name");
            if (name == nullptr || !name->IsString() || name->GetStringLength() == 0) {
                return invalid(Path(call_path, "function.name"), "must be a non-empty string");
            }
            std::string_view assigned = assign_tool_id(view(*id));
            if (Status st = append_tool_use(assigned, view(*name), present(*fn, "arguments"),
                                            Path(call_path, "function.arguments"), blocks);
                !st.ok()) {
                return st;
            }
        }
    }
    // Legacy single function call (pre-tools API): it has no id, so one is
    // made up and the following role:"function" message answers it.
    const Value* function_call = MessageFields::present(msg.function_call);
    if (function_call != nullptr) {
        Path fc_path(path, "function_call");
        if (!function_call->IsObject()) return invalid(fc_path, "must be an object");
        const Value* name = json_member(*function_call, "name");
        if (name == nullptr || !name->IsString() || name->GetStringLength() == 0) {
            return invalid(Path(fc_path, "name"), "must be a non-empty string");
        }
        pending_legacy_id_.assign(assign_tool_id(own("call_legacy_" + std::to_string(index))));
        if (Status st = append_tool_use(pending_legacy_id_, view(*name),
                                        present(*function_call, "arguments"),
                                        Path(fc_path, "arguments"), blocks);
            !st.ok()) {
            return st;
        }
    }
    if (created && blocks.empty()) messages_.pop_back();  // an empty turn says nothing
    return Status();
}

Status RequestConverter::convert_tool_message(const MessageFields& msg, const Path& path,
                                              bool legacy_function) {
    std::string_view tool_use_id;
    if (legacy_function) {
        if (pending_legacy_id_.empty()) {
            return invalid(Path(path, "role"),
                           "a function message must follow an assistant function_call");
        }
        tool_use_id = pending_legacy_id_;
    } else {
        const Value* id = msg.tool_call_id;
        if (id == nullptr || !id->IsString() || id->GetStringLength() == 0) {
            return invalid(Path(path, "tool_call_id"), "must be a non-empty string");
        }
        tool_use_id = resolve_tool_id(view(*id));
    }
    PendingMessage& m = message_for(false);
    std::string& out = m.tool_results;
    comma(out);
    out += R"({"type":"tool_result","tool_use_id":)";
    append_string(out, tool_use_id);
    const Value* content = MessageFields::present(msg.content);
    if (content != nullptr) {
        Path content_path(path, "content");
        if (content->IsString()) {
            if (content->GetStringLength() > 0) {
                out += R"(,"content":)";
                append_value(out, *content, source_);
            }
        } else {
            std::string parts;
            if (Status st = append_parts(*content, content_path, PartContext::kTool, parts); !st.ok()) {
                return st;
            }
            if (!parts.empty()) {
                out += R"(,"content":[)";
                out += parts;
                out += ']';
            }
        }
    }
    // OpenAI tool messages have no error flag, so is_error is never set:
    // guessing it from the text would mislabel results that mention errors.
    out += '}';
    if (legacy_function) pending_legacy_id_.clear();
    return Status();
}

Status RequestConverter::convert_messages(const Value& messages) {
    if (!messages.IsArray()) return invalid("messages", "must be an array");
    std::size_t i = 0;
    const Path messages_path("messages");
    for (const Value& raw : messages.GetArray()) {
        Path path(messages_path, i);
        if (!raw.IsObject()) return invalid(path, "must be an object");
        const MessageFields msg(raw);
        const Value* role = msg.role;
        if (role == nullptr || !role->IsString()) return invalid(Path(path, "role"), "must be a string");
        std::string_view r = view(*role);
        Status st;
        if (r == "system" || r == "developer") {
            st = convert_system_message(msg, path, !seen_conversation_);
        } else if (r == "user") {
            seen_conversation_ = true;
            st = convert_user_message(msg, path);
        } else if (r == "assistant") {
            seen_conversation_ = true;
            st = convert_assistant_message(msg, path, i);
        } else if (r == "tool" || r == "function") {
            seen_conversation_ = true;
            st = convert_tool_message(msg, path, r == "function");
        } else {
            std::string why = "unknown role \"";
            why += r;
            why += '"';
            return invalid(Path(path, "role"), std::move(why));
        }
        if (!st.ok()) return st;
        ++i;
    }
    if (messages_.empty()) {
        return invalid("messages", "at least one user or assistant message with content is required");
    }
    return Status();
}

Status RequestConverter::append_tool_definition(const Value& fn, const Path& path,
                                                std::string& out) {
    if (!fn.IsObject()) return invalid(path, "must be an object");
    const Value* name = json_member(fn, "name");
    if (name == nullptr || !name->IsString() || name->GetStringLength() == 0) {
        return invalid(Path(path, "name"), "must be a non-empty string");
    }
    comma(out);
    out += R"({"name":)";
    append_string(out, tool_names_.provider_name(view(*name)));
    const Value* description = present(fn, "description");
    if (description != nullptr) {
        if (!description->IsString()) return invalid(Path(path, "description"), "must be a string");
        out += R"(,"description":)";
        append_value(out, *description, source_);
    }
    out += R"(,"input_schema":)";
    const Value* params = present(fn, "parameters");
    if (params == nullptr) {
        out += R"({"type":"object","properties":{}})";
    } else if (!params->IsObject()) {
        return invalid(Path(path, "parameters"), "must be a JSON Schema object");
    } else if (!params->HasMember("type")) {
        // Anthropic requires input_schema.type = "object"; an OpenAI schema
        // may leave it implicit.
        out += R"({"type":"object")";
        for (auto m = params->MemberBegin(); m != params->MemberEnd(); ++m) {
            out += ',';
            append_value(out, m->name, source_);
            out += ':';
            append_value(out, m->value, source_);
        }
        out += '}';
    } else {
        append_value(out, *params, source_);
    }
    // "strict" (guaranteed schema adherence) is OpenAI structured-output
    // machinery; the schema itself is passed, the guarantee cannot be.
    out += '}';
    return Status();
}

Status RequestConverter::convert_tools(std::string& out, bool& have_tools) {
    const Value* tools = present(root_, "tools");
    if (tools != nullptr) {
        if (!tools->IsArray()) return invalid("tools", "must be an array");
        std::size_t i = 0;
        const Path tools_path("tools");
        for (const Value& tool : tools->GetArray()) {
            Path path(tools_path, i++);
            if (!tool.IsObject()) return invalid(path, "must be an object");
            const Value* type = present(tool, "type");
            if (type != nullptr && (!type->IsString() || view(*type) != "function")) {
                return invalid(Path(path, "type"),
                               "only \"function\" tools are supported by Anthropic providers");
            }
            const Value* fn = json_member(tool, "function");
            if (fn == nullptr) return invalid(Path(path, "function"), "field required");
            if (Status st = append_tool_definition(*fn, Path(path, "function"), out); !st.ok()) {
                return st;
            }
        }
    }
    const Value* functions = present(root_, "functions");  // legacy spelling
    if (functions != nullptr) {
        if (!functions->IsArray()) return invalid("functions", "must be an array");
        std::size_t i = 0;
        const Path functions_path("functions");
        for (const Value& fn : functions->GetArray()) {
            if (Status st = append_tool_definition(fn, Path(functions_path, i++), out); !st.ok()) {
                return st;
            }
        }
    }
    have_tools = !out.empty();
    return Status();
}

Status RequestConverter::convert_tool_choice(bool have_tools, std::string& out, bool& forced) {
    forced = false;
    const char* field = "tool_choice";
    const Value* choice = present(root_, "tool_choice");
    if (choice == nullptr) {
        choice = present(root_, "function_call");  // legacy spelling
        field = "function_call";
    }
    std::string_view kind = "auto";
    std::string_view forced_name;
    bool explicit_choice = choice != nullptr;
    if (choice != nullptr) {
        if (choice->IsString()) {
            kind = view(*choice);
            if (kind != "auto" && kind != "none" && kind != "required") {
                return invalid(field, "must be \"auto\", \"none\", \"required\" or a function choice");
            }
        } else if (choice->IsObject()) {
            const Value* fn = json_member(*choice, "function");  // {"type":"function","function":{"name"}}
            const Value* name = fn != nullptr && fn->IsObject() ? json_member(*fn, "name")
                                                                : json_member(*choice, "name");
            const Value* type = present(*choice, "type");
            if (type != nullptr && type->IsString() && view(*type) == "allowed_tools") {
                return invalid(field, "allowed_tools is not supported by Anthropic providers");
            }
            if (name == nullptr || !name->IsString() || name->GetStringLength() == 0) {
                return invalid(field, "a function choice needs function.name");
            }
            kind = "tool";
            forced_name = view(*name);
        } else {
            return invalid(field, "must be a string or an object");
        }
    }
    if (!have_tools) {
        // Nothing to choose from: "auto" and "none" mean the same as no tools.
        if (kind == "required" || kind == "tool") return invalid(field, "requires tools");
        return Status();
    }
    bool no_parallel = false;
    const Value* parallel = present(root_, "parallel_tool_calls");
    if (parallel != nullptr) {
        if (!parallel->IsBool()) return invalid("parallel_tool_calls", "must be a boolean");
        no_parallel = !parallel->GetBool();
    }
    if (!explicit_choice && !no_parallel) return Status();  // Anthropic default is auto
    out += R"(,"tool_choice":{"type":)";
    if (kind == "auto") {
        out += R"("auto")";
    } else if (kind == "none") {
        out += R"("none"})";
        return Status();  // disable_parallel_tool_use is meaningless without tool use
    } else if (kind == "required") {
        out += R"("any")";
        forced = true;
    } else {
        out += R"("tool","name":)";
        append_string(out, tool_names_.provider_name(forced_name));
        forced = true;
    }
    if (no_parallel) out += R"(,"disable_parallel_tool_use":true)";
    out += '}';
    return Status();
}

Status RequestConverter::check_unsupported_fields() {
    if (const Value* n = present(root_, "n")) {
        if (!n->IsUint64()) return invalid("n", "must be a positive integer");
        if (n->GetUint64() != 1) {
            return invalid("n", "only n=1 is supported by Anthropic providers");
        }
    }
    if (const Value* lp = present(root_, "logprobs")) {
        if (!lp->IsBool()) return invalid("logprobs", "must be a boolean");
        if (lp->GetBool()) return invalid("logprobs", "log probabilities are not available from Anthropic providers");
    }
    if (const Value* tlp = present(root_, "top_logprobs")) {
        if (!tlp->IsUint64()) return invalid("top_logprobs", "must be a non-negative integer");
        if (tlp->GetUint64() > 0) {
            return invalid("top_logprobs", "log probabilities are not available from Anthropic providers");
        }
    }
    if (const Value* rf = present(root_, "response_format")) {
        const Value* type = rf->IsObject() ? json_member(*rf, "type") : nullptr;
        if (type == nullptr || !type->IsString()) {
            return invalid("response_format.type", "must be a string");
        }
        std::string_view t = view(*type);
        if (t == "json_schema") {
            return invalid("response_format",
                           "json_schema structured output is not supported for Anthropic providers");
        }
        // "text" is the default. "json_object" only switches OpenAI's JSON
        // guarantee on; OpenAI requires the prompt itself to ask for JSON, so
        // the model is already instructed and the request is sent as is.
        if (t != "text" && t != "json_object") {
            return invalid("response_format.type", "must be \"text\", \"json_object\" or \"json_schema\"");
        }
    }
    if (const Value* bias = present(root_, "logit_bias")) {
        if (!bias->IsObject()) return invalid("logit_bias", "must be an object");
        // A token-level hard constraint (often used to ban tokens) cannot be
        // approximated; refuse rather than ignore it.
        if (bias->MemberCount() > 0) {
            return invalid("logit_bias", "token biasing is not supported by Anthropic providers");
        }
    }
    if (const Value* modalities = present(root_, "modalities")) {
        if (!modalities->IsArray()) return invalid("modalities", "must be an array");
        for (const Value& m : modalities->GetArray()) {
            if (!m.IsString() || view(m) != "text") {
                return invalid("modalities", "only text output is supported by Anthropic providers");
            }
        }
    }
    if (present(root_, "audio") != nullptr) {
        return invalid("audio", "audio output is not supported by Anthropic providers");
    }
    if (present(root_, "web_search_options") != nullptr) {
        return invalid("web_search_options", "web search is not supported through this gateway route");
    }
    // Dropped on purpose, each with no Anthropic counterpart:
    //  - presence_penalty / frequency_penalty: soft sampling preferences;
    //    clients send them by default, refusing would break them.
    //  - seed: OpenAI itself documents determinism as best effort.
    //  - store, metadata: OpenAI's stored-completions feature (Anthropic's
    //    metadata only takes user_id, mapped from "user").
    //  - service_tier, prompt_cache_key, prediction, verbosity: OpenAI
    //    latency/cost/caching hints.
    return Status();
}

Status RequestConverter::convert_sampling_and_limits() {
    const Value* max_completion = present(root_, "max_completion_tokens");
    const Value* max_tokens = present(root_, "max_tokens");
    const char* max_field = max_completion != nullptr ? "max_completion_tokens" : "max_tokens";
    const Value* max_v = max_completion != nullptr ? max_completion : max_tokens;
    if (max_v != nullptr) {
        if (!max_v->IsUint64() || max_v->GetUint64() == 0) {
            return invalid(max_field, "must be a positive integer");
        }
        max_tokens_ = max_v->GetUint64();
        max_tokens_given_ = true;
        max_tokens_field_ = max_field;
    } else if (opts_.max_tokens_cap) {
        max_tokens_ = *opts_.max_tokens_cap;  // "as long as the model allows"
    }

    if (const Value* effort = present(root_, "reasoning_effort")) {
        if (!effort->IsString()) return invalid("reasoning_effort", "must be a string");
        std::string_view e = view(*effort);
        if (e != "none" && !thinking_budget_for(e, thinking_budget_)) {
            return invalid("reasoning_effort",
                           "must be one of none, minimal, low, medium, high, xhigh");
        }
    }
    if (opts_.max_tokens_cap && max_tokens_ > *opts_.max_tokens_cap) {
        max_tokens_ = *opts_.max_tokens_cap;
    }

    if (const Value* t = present(root_, "temperature")) {
        if (!t->IsNumber() || t->GetDouble() < 0 || t->GetDouble() > 2) {
            return invalid("temperature", "must be a number between 0 and 2");
        }
        sampling_ += R"(,"temperature":)";
        // OpenAI's range is 0..2, Anthropic's 0..1; 1 is already Anthropic's
        // most random setting, so higher values are clamped to it.
        if (t->GetDouble() > 1) {
            sampling_ += '1';
        } else {
            append_value(sampling_, *t);
        }
    }
    if (const Value* p = present(root_, "top_p")) {
        if (!p->IsNumber() || p->GetDouble() < 0 || p->GetDouble() > 1) {
            return invalid("top_p", "must be a number between 0 and 1");
        }
        sampling_ += R"(,"top_p":)";
        append_value(sampling_, *p);
    }
    if (const Value* k = present(root_, "top_k")) {  // common extension
        if (!k->IsUint64()) return invalid("top_k", "must be a non-negative integer");
        sampling_ += R"(,"top_k":)";
        append_value(sampling_, *k);
    }

    if (const Value* stop = present(root_, "stop")) {
        if (stop->IsString()) {
            stop_sequences_ += R"(,"stop_sequences":[)";
            append_string(stop_sequences_, view(*stop));
            stop_sequences_ += ']';
        } else if (stop->IsArray()) {
            std::string list;
            std::size_t i = 0;
            for (const Value& s : stop->GetArray()) {
                if (!s.IsString()) return invalid(Path(Path("stop"), i), "must be a string");
                comma(list);
                append_string(list, view(s));
                ++i;
            }
            if (!list.empty()) {
                stop_sequences_ += R"(,"stop_sequences":[)";
                stop_sequences_ += list;
                stop_sequences_ += ']';
            }
        } else {
            return invalid("stop", "must be a string or an array of strings");
        }
    }

    // "user" (and its successor "safety_identifier") identify the end user,
    // which is what Anthropic's metadata.user_id is for.
    const Value* user = present(root_, "user");
    const char* user_field = "user";
    if (user == nullptr) {
        user = present(root_, "safety_identifier");
        user_field = "safety_identifier";
    }
    if (user != nullptr) {
        if (!user->IsString()) return invalid(user_field, "must be a string");
        if (user->GetStringLength() > 0) user_id_.assign(user->GetString(), user->GetStringLength());
    }

    if (const Value* stream = present(root_, "stream")) {
        if (!stream->IsBool()) return invalid("stream", "must be a boolean");
        stream_ = stream->GetBool();
    }
    if (const Value* so = present(root_, "stream_options")) {
        if (!so->IsObject()) return invalid("stream_options", "must be an object");
        const Value* iu = present(*so, "include_usage");
        if (iu != nullptr) {
            if (!iu->IsBool()) return invalid("stream_options.include_usage", "must be a boolean");
            result_.response.include_usage_requested = stream_ && iu->GetBool();
        }
    }
    return Status();
}

Result<TranslatedRequest> RequestConverter::run() {
    if (!root_.IsObject()) return invalid("", "request body must be a JSON object");
    const Value* model = json_member(root_, "model");
    if (model == nullptr || !model->IsString() || model->GetStringLength() == 0) {
        return invalid("model", "must be a non-empty string");
    }
    if (Status st = check_unsupported_fields(); !st.ok()) return st.error();
    if (Status st = convert_sampling_and_limits(); !st.ok()) return st.error();

    std::string tools;
    bool have_tools = false;
    if (Status st = convert_tools(tools, have_tools); !st.ok()) return st.error();
    std::string tool_choice;
    bool forced_tool = false;
    if (Status st = convert_tool_choice(have_tools, tool_choice, forced_tool); !st.ok()) {
        return st.error();
    }

    const Value* messages = json_member(root_, "messages");
    if (messages == nullptr) return invalid("messages", "field required");
    if (Status st = convert_messages(*messages); !st.ok()) return st.error();

    // Thinking is left off, rather than failing the request, where Anthropic
    // would refuse it:
    //  - with forced tool use (tool_choice any/tool), which Anthropic does
    //    not allow together with thinking;
    //  - in the middle of a tool loop (last message carries tool results):
    //    Anthropic then requires the previous assistant turn to start with
    //    its signed thinking block, which OpenAI clients cannot send back;
    //  - after an assistant prefill (last message from the assistant), which
    //    Anthropic likewise requires to start with a thinking block.
    const PendingMessage& last = messages_.back();
    bool thinking = thinking_budget_ > 0 && !forced_tool && !last.assistant &&
                    last.tool_results.empty();
    std::uint64_t budget = thinking_budget_;
    if (thinking && !max_tokens_given_ && !opts_.max_tokens_cap) {
        // max_tokens covers thinking and answer on Anthropic (like
        // max_completion_tokens on OpenAI); leave the default room for the answer.
        max_tokens_ = budget + kDefaultMaxTokens;
    }
    if (thinking && budget >= max_tokens_) {
        // The budget must stay below max_tokens, which bounds thinking and
        // answer together; split what the client allowed.
        if (max_tokens_ <= kMinThinkingBudget) {
            return invalid(max_tokens_given_ ? max_tokens_field_ : "reasoning_effort",
                           "reasoning on Anthropic providers needs max_tokens above 1024");
        }
        budget = std::max(kMinThinkingBudget, max_tokens_ / 2);
    }

    std::string& out = result_.body;
    std::size_t estimate = 256 + tools.size() + tool_choice.size() + sampling_.size();
    estimate += written_messages_.size();
    for (const auto& m : messages_) estimate += 48 + m.tool_results.size() + m.blocks.size();
    for (const auto& s : system_) estimate += 64 + s.text->GetStringLength();
    out.reserve(estimate);

    out += R"({"model":)";
    append_string(out, opts_.target_model.empty() ? view(*model) : opts_.target_model);
    out += R"(,"max_tokens":)";
    out += std::to_string(max_tokens_);
    if (!system_.empty()) {
        out += R"(,"system":)";
        if (system_.size() == 1 && system_[0].cache_control == nullptr) {
            // A long system prompt is copied as the client wrote it.
            append_value(out, *system_[0].text, source_);
        } else {
            out += '[';
            bool first = true;
            for (const auto& part : system_) {
                if (!first) out += ',';
                first = false;
                out += R"({"type":"text","text":)";
                append_value(out, *part.text, source_);
                if (part.cache_control != nullptr) {
                    out += R"(,"cache_control":)";
                    append_value(out, *part.cache_control);
                }
                out += '}';
            }
            out += ']';
        }
    }
    out += R"(,"messages":[)";
    for (const auto& m : messages_) append_message(written_messages_, m);
    out += written_messages_;
    out += ']';
    if (have_tools) {
        out += R"(,"tools":[)";
        out += tools;
        out += ']';
    }
    out += tool_choice;
    out += stop_sequences_;
    if (thinking) {
        out += R"(,"thinking":{"type":"enabled","budget_tokens":)";
        out += std::to_string(budget);
        out += '}';
        // Anthropic refuses temperature/top_k changes and top_p below 0.95
        // with thinking on; reasoning models on OpenAI ignore them as well.
    } else {
        out += sampling_;
    }
    if (!user_id_.empty()) {
        out += R"(,"metadata":{"user_id":)";
        append_string(out, user_id_);
        out += '}';
    }
    if (stream_) out += R"(,"stream":true)";
    out += '}';

    ResponseContext& rc = result_.response;
    rc.client_model.assign(model->GetString(), model->GetStringLength());
    rc.stream = stream_;
    rc.quirks = opts_.quirks;
    return std::move(result_);
}

}  // namespace

Result<TranslatedRequest> openai_to_anthropic_request(const ParsedRequest& req,
                                                      const TranslateOptions& opts) {
    RequestConverter converter(req.doc, req.insitu_source(), opts);
    return converter.run();
}

}  // namespace llmproxy::detail
