// Anthropic Messages response (non-stream) -> OpenAI chat.completion.
#include <ctime>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/mapping.hpp"
#include "core/openai_from_anthropic.hpp"
#include "core/translate_internal.hpp"

namespace llmproxy::detail {
namespace {

using rapidjson::Value;

std::string_view view(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

std::string_view string_member(const Value& obj, const char* name) {
    auto it = obj.FindMember(name);
    if (it == obj.MemberEnd() || !it->value.IsString()) return {};
    return view(it->value);
}

// A malformed provider response is the provider's fault, not the client's.
Error bad_response(std::string field, std::string message) {
    return make_error(ErrorCode::kInternal, std::move(field),
                      "provider response: " + std::move(message));
}

}  // namespace

Result<std::string> anthropic_to_openai_response_at(std::string_view body,
                                                    const ResponseContext& ctx, Usage* usage,
                                                    std::int64_t created) {
    LocalDocument local_doc;
    rapidjson::Document& doc = local_doc.get();
    JsonLimits limits;
    if (Status st = parse_json(body, limits, doc, "provider response"); !st.ok()) {
        Error e = st.error();
        e.code = ErrorCode::kInternal;
        return e;
    }
    if (!doc.IsObject()) return bad_response("", "not a JSON object");
    if (string_member(doc, "type") == "error") {
        // A 2xx carrying an error object: report it rather than an empty answer.
        auto err = doc.FindMember("error");
        std::string_view message;
        if (err != doc.MemberEnd() && err->value.IsObject()) message = string_member(err->value, "message");
        return bad_response("error", message.empty() ? "error without message" : std::string(message));
    }
    auto content = doc.FindMember("content");
    if (content == doc.MemberEnd() || !content->value.IsArray()) {
        return bad_response("content", "must be an array");
    }

    std::string text, reasoning, tool_calls;
    int tool_count = 0;
    std::vector<std::string_view> tool_ids;
    std::string arguments;
    std::size_t i = 0;
    for (const Value& block : content->value.GetArray()) {
        std::string path = "content[" + std::to_string(i++) + "]";
        if (!block.IsObject()) return bad_response(path, "must be an object");
        std::string_view type = string_member(block, "type");
        if (type == "text") {
            // Citations have no chat.completion counterpart; the cited text is kept.
            text.append(string_member(block, "text"));
        } else if (type == "thinking") {
            reasoning.append(string_member(block, "thinking"));
        } else if (type == "tool_use") {
            std::string_view id = string_member(block, "id");
            std::string_view name = string_member(block, "name");
            if (id.empty() || name.empty()) return bad_response(path, "tool_use needs id and name");
            // Clients key the results they send back on the ids.
            for (std::string_view seen : tool_ids) {
                if (seen == id) return bad_response(path, "tool_use id repeated");
            }
            tool_ids.push_back(id);
            if (tool_count++ > 0) tool_calls += ',';
            tool_calls += R"({"id":)";
            json_append_string(tool_calls, id);
            tool_calls += R"(,"type":"function","function":{"name":)";
            json_append_string(tool_calls, ctx.tool_names.to_client(name));
            tool_calls += R"(,"arguments":)";
            auto input = block.FindMember("input");
            arguments.assign("{}");
            if (input != block.MemberEnd() && input->value.IsObject()) {
                arguments.clear();
                JsonOut w(arguments);
                w.value(input->value);
            }
            json_append_string(tool_calls, arguments);
            tool_calls += "}}";
        }
        // redacted_thinking is encrypted and unreadable; server-tool blocks
        // (server_tool_use, *_tool_result) only appear for server tools, which
        // this route never declares.
    }

    Usage u;
    auto usage_it = doc.FindMember("usage");
    if (usage_it != doc.MemberEnd()) merge_anthropic_usage(usage_it->value, u);
    if (usage != nullptr) *usage = u;

    std::string_view id = string_member(doc, "id");
    std::string_view stop_reason = string_member(doc, "stop_reason");

    std::string out;
    out.reserve(256 + text.size() + reasoning.size() + tool_calls.size() + ctx.client_model.size());
    out += R"({"id":)";
    json_append_string(out, std::string("chatcmpl-").append(id.empty() ? "llmproxy" : id));
    out += R"(,"object":"chat.completion","created":)";
    out += std::to_string(created);
    out += R"(,"model":)";
    json_append_string(out, ctx.client_model);
    out += R"(,"choices":[{"index":0,"message":{"role":"assistant","content":)";
    if (text.empty() && tool_count > 0) {
        out += "null";  // OpenAI's shape for a tool-call-only answer
    } else {
        json_append_string(out, text);
    }
    if (!reasoning.empty()) {
        out += R"(,"reasoning_content":)";
        json_append_string(out, reasoning);
    }
    if (tool_count > 0) {
        out += R"(,"tool_calls":[)";
        out += tool_calls;
        out += ']';
    }
    out += R"(,"refusal":null},"logprobs":null,"finish_reason":)";
    json_append_string(out, openai_finish_reason(stop_reason));
    out += R"(}],"usage":)";
    append_openai_usage(out, u);
    out += '}';
    return out;
}

Result<std::string> anthropic_to_openai_response(std::string_view body, const ResponseContext& ctx,
                                                 Usage* usage) {
    return anthropic_to_openai_response_at(body, ctx, usage,
                                           static_cast<std::int64_t>(std::time(nullptr)));
}

}  // namespace llmproxy::detail
