// OpenAI Chat Completions response (non-stream) -> Anthropic Messages response.
// Content order follows the native API: thinking, text, tool_use. Provider
// oddities are absorbed, never turned into a 500: content null with tool
// calls, arguments that are not valid JSON (input {} and the raw text kept in
// a text block), several choices (choice 0 is used).
#include <string>
#include <vector>

#include "core/mapping.hpp"
#include "core/translate_internal.hpp"

namespace llmproxy::detail {
namespace {

using rapidjson::Value;

std::string_view sv(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

std::string_view string_or_empty(const Value* v) {
    return v && v->IsString() ? sv(*v) : std::string_view();
}

std::string safe_id(std::string_view in) {
    std::string id(in.substr(0, 120));
    for (char& c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '-';
        if (!ok) c = '_';
    }
    return id;
}

bool blank_json(std::string_view s) {
    return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

Error provider_error(std::string field, std::string why) {
    // The provider, not the client, sent something unusable: 503 family.
    return make_error(ErrorCode::kUnavailable, std::move(field), std::move(why));
}

}  // namespace

Result<std::string> openai_to_anthropic_response(std::string_view body, const ResponseContext& ctx,
                                                 Usage* usage_out) {
    LocalDocument local_doc;
    rapidjson::Document& doc = local_doc.get();
    if (Status st = parse_json(body, JsonLimits{}, doc, "provider response"); !st.ok()) {
        return provider_error(st.error().field, st.error().message);
    }
    if (!doc.IsObject()) return provider_error("", "provider response is not a JSON object");
    const Value* choices = json_member(doc, "choices");
    if (const Value* err = json_member(doc, "error"); err && !err->IsNull() && (!choices || !choices->IsArray())) {
        std::string_view msg = string_or_empty(json_member(*err, "message"));
        return provider_error("error", "provider returned an error: " +
                                           std::string(msg.empty() ? std::string_view("(no message)") : msg));
    }
    if (!choices || !choices->IsArray() || choices->Empty()) {
        return provider_error("choices", "provider response has no choices");
    }
    const Value* choice = &(*choices)[0];
    for (const auto& c : choices->GetArray()) {
        const Value* idx = json_member(c, "index");
        if (idx && idx->IsUint64() && idx->GetUint64() == 0) {
            choice = &c;
            break;
        }
    }
    if (!choice->IsObject()) return provider_error("choices[0]", "expected an object");
    const Value* message = json_member(*choice, "message");
    if (!message || !message->IsObject()) return provider_error("choices[0].message", "expected an object");

    Usage usage;
    if (const Value* u = json_member(doc, "usage"); u && u->IsObject()) {
        usage = usage_from_openai(*u);
    } else if (const Value* cu = json_member(*choice, "usage"); cu && cu->IsObject()) {
        usage = usage_from_openai(*cu);
    }

    std::string out;
    out.reserve(body.size() + 256);
    JsonOut w(out);
    auto key = [&](const auto& k) { w.key(k); };  // literals keep their overload
    auto str = [&](const auto& s) { w.string(s); };

    w.start_object();
    key("id");
    std::string id = "msg_" + safe_id(string_or_empty(json_member(doc, "id")));
    if (id.size() == 4) id += "gateway";
    str(id);
    key("type");
    str("message");
    key("role");
    str("assistant");
    key("model");
    str(ctx.client_model);
    key("content");
    w.start_array();

    // Thinking first.
    std::string_view reasoning = string_or_empty(json_member(*message, "reasoning_content"));
    if (reasoning.empty()) reasoning = string_or_empty(json_member(*message, "reasoning"));
    std::string details_text, signature;
    std::vector<std::string_view> redacted;
    if (const Value* details = json_member(*message, "reasoning_details"); details && details->IsArray()) {
        for (const auto& d : details->GetArray()) {
            std::string_view type = string_or_empty(json_member(d, "type"));
            std::string_view data = string_or_empty(json_member(d, "data"));
            if (type == "reasoning.encrypted") {
                if (!data.empty()) redacted.push_back(data);
                continue;
            }
            std::string_view t = string_or_empty(json_member(d, "text"));
            if (t.empty()) t = string_or_empty(json_member(d, "summary"));
            details_text.append(t.data(), t.size());
            std::string_view sig = string_or_empty(json_member(d, "signature"));
            if (!sig.empty()) signature.assign(sig.data(), sig.size());
        }
    }
    if (reasoning.empty()) reasoning = details_text;
    if (!reasoning.empty() || !signature.empty()) {
        w.start_object();
        key("type");
        str("thinking");
        key("thinking");
        str(reasoning);
        if (!signature.empty()) {  // only a provider-given signature, never an invented one
            key("signature");
            str(signature);
        }
        w.end_object();
    }
    for (std::string_view data : redacted) {
        w.start_object();
        key("type");
        str("redacted_thinking");
        key("data");
        str(data);
        w.end_object();
    }

    // Text: a string, or an array of text parts; refusals are text too.
    auto text_block = [&](std::string_view t) {
        if (t.empty()) return;
        w.start_object();
        key("type");
        str("text");
        key("text");
        str(t);
        w.end_object();
    };
    const Value* content = json_member(*message, "content");
    if (content && content->IsString()) {
        text_block(sv(*content));
    } else if (content && content->IsArray()) {
        std::string joined;
        for (const auto& part : content->GetArray()) {
            std::string_view type = string_or_empty(json_member(part, "type"));
            if (type == "text" || type.empty()) joined.append(string_or_empty(json_member(part, "text")));
        }
        text_block(joined);
    }
    std::string_view refusal = string_or_empty(json_member(*message, "refusal"));
    text_block(refusal);

    // Tool calls (and the legacy single function_call).
    struct Call {
        std::string_view id, name;
        const Value* arguments;
    };
    std::vector<Call> calls;
    if (const Value* tcs = json_member(*message, "tool_calls"); tcs && tcs->IsArray()) {
        for (const auto& tc : tcs->GetArray()) {
            const Value* fn = json_member(tc, "function");
            if (!fn || !fn->IsObject()) continue;
            calls.push_back({string_or_empty(json_member(tc, "id")), string_or_empty(json_member(*fn, "name")),
                             json_member(*fn, "arguments")});
        }
    }
    if (const Value* fc = json_member(*message, "function_call"); fc && fc->IsObject() && calls.empty()) {
        calls.push_back({{}, string_or_empty(json_member(*fc, "name")), json_member(*fc, "arguments")});
    }
    std::vector<std::string> used_ids;
    std::vector<std::string> bad_arguments;
    for (std::size_t i = 0; i < calls.size(); ++i) {
        const Call& c = calls[i];
        std::string tid = safe_id(c.id);
        if (tid.empty()) tid = "toolu_" + safe_id(id.substr(4)) + "_" + std::to_string(i);
        for (const auto& u : used_ids) {
            if (u == tid) {
                tid += "_" + std::to_string(i);
                break;
            }
        }
        used_ids.push_back(tid);
        w.start_object();
        key("type");
        str("tool_use");
        key("id");
        str(tid);
        key("name");
        str(ctx.tool_names.to_client(c.name));
        key("input");
        rapidjson::Document args;
        bool written = false;
        if (c.arguments && c.arguments->IsObject()) {
            w.value(*c.arguments);
            written = true;
        } else if (c.arguments && c.arguments->IsString() && !blank_json(sv(*c.arguments))) {
            std::string_view raw = sv(*c.arguments);
            if (parse_json(raw, JsonLimits{}, args, "tool arguments").ok() && args.IsObject()) {
                w.value(args);
                written = true;
            } else {
                bad_arguments.push_back("The provider returned tool call " + tid + " (" +
                                        std::string(c.name) + ") with arguments that are not a JSON object: " +
                                        std::string(raw));
            }
        }
        if (!written) {
            w.start_object();
            w.end_object();
        }
        w.end_object();
    }
    for (const auto& t : bad_arguments) text_block(t);
    w.end_array();

    std::string_view finish = string_or_empty(json_member(*choice, "finish_reason"));
    StopMapping stop = anthropic_stop_reason(finish, !calls.empty());
    if (stop.is_error) {
        return provider_error("choices[0].finish_reason",
                              "provider ended the response with finish_reason \"" + std::string(finish) + "\"");
    }
    std::string_view stop_reason = stop.stop_reason;
    if (!refusal.empty() && stop_reason == "end_turn") stop_reason = "refusal";
    key("stop_reason");
    str(stop_reason);
    key("stop_sequence");
    w.null();
    key("usage");
    w.start_object();
    for (auto [name, value] : {std::pair<std::string_view, std::uint64_t>{"input_tokens", usage.input_tokens},
                               {"cache_creation_input_tokens", usage.cache_creation_input_tokens},
                               {"cache_read_input_tokens", usage.cache_read_input_tokens},
                               {"output_tokens", usage.output_tokens}}) {
        key(name);
        w.uint(value);
    }
    w.end_object();
    w.end_object();
    if (usage_out) *usage_out = usage;
    return out;
}

}  // namespace llmproxy::detail
