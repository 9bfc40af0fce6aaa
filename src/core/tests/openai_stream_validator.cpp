#include "core/tests/openai_stream_validator.hpp"

#include <rapidjson/document.h>

#include "core/json.hpp"

namespace llmproxy::testing {
namespace {

using rapidjson::Value;

std::string_view view(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

const Value* member(const Value& obj, const char* name) {
    auto it = obj.FindMember(name);
    return it == obj.MemberEnd() ? nullptr : &it->value;
}

bool known_finish_reason(std::string_view r) {
    return r == "stop" || r == "length" || r == "tool_calls" || r == "content_filter" ||
           r == "function_call";
}

class Validator {
public:
    explicit Validator(OpenAIStreamSummary& s) : s_(s) {}

    std::string run(std::string_view sse);

private:
    std::string fail(std::string why) const {
        return "event " + std::to_string(event_no_) + ": " + why;
    }
    std::string check_error(const Value& doc);
    std::string check_chunk(const Value& doc);
    std::string check_delta(const Value& delta, bool first);
    std::string check_usage_chunk(const Value& doc);

    OpenAIStreamSummary& s_;
    std::size_t event_no_ = 0;
    bool done_ = false;
    bool errored_ = false;
    bool finished_ = false;
    bool usage_seen_ = false;
    std::int64_t created_ = 0;
};

std::string Validator::check_error(const Value& doc) {
    const Value* err = member(doc, "error");
    if (!err->IsObject()) return fail("error must be an object");
    const Value* message = member(*err, "message");
    const Value* type = member(*err, "type");
    if (message == nullptr || !message->IsString()) return fail("error.message must be a string");
    if (type == nullptr || !type->IsString() || type->GetStringLength() == 0) {
        return fail("error.type must be a non-empty string");
    }
    s_.error = true;
    s_.error_type.assign(view(*type));
    s_.error_message.assign(view(*message));
    errored_ = true;
    return {};
}

std::string Validator::check_delta(const Value& delta, bool first) {
    if (!delta.IsObject()) return fail("delta must be an object");
    for (auto it = delta.MemberBegin(); it != delta.MemberEnd(); ++it) {
        std::string_view key = view(it->name);
        const Value& v = it->value;
        if (key == "role") {
            if (!first) return fail("role after the first chunk");
            if (!v.IsString() || view(v) != "assistant") return fail("role must be \"assistant\"");
        } else if (key == "content" || key == "refusal") {
            if (!v.IsString() && !v.IsNull()) return fail(std::string(key) + " must be a string or null");
            if (key == "content" && v.IsString()) s_.content.append(view(v));
        } else if (key == "reasoning_content") {
            if (!v.IsString()) return fail("reasoning_content must be a string");
            s_.reasoning.append(view(v));
        } else if (key == "tool_calls") {
            if (!v.IsArray() || v.Empty()) return fail("tool_calls must be a non-empty array");
            for (const Value& call : v.GetArray()) {
                if (!call.IsObject()) return fail("tool call must be an object");
                const Value* index = member(call, "index");
                if (index == nullptr || !index->IsUint()) return fail("tool call index must be a non-negative integer");
                unsigned i = index->GetUint();
                const Value* id = member(call, "id");
                const Value* type = member(call, "type");
                const Value* fn = member(call, "function");
                if (fn != nullptr && !fn->IsObject()) return fail("tool call function must be an object");
                const Value* name = fn != nullptr ? member(*fn, "name") : nullptr;
                const Value* args = fn != nullptr ? member(*fn, "arguments") : nullptr;
                if (args != nullptr && !args->IsString()) return fail("function.arguments must be a string");
                if (i == s_.tool_calls.size()) {
                    if (id == nullptr || !id->IsString() || id->GetStringLength() == 0) {
                        return fail("first fragment of tool call " + std::to_string(i) + " needs an id");
                    }
                    if (type == nullptr || !type->IsString() || view(*type) != "function") {
                        return fail("first fragment of tool call " + std::to_string(i) + " needs type \"function\"");
                    }
                    if (name == nullptr || !name->IsString() || name->GetStringLength() == 0) {
                        return fail("first fragment of tool call " + std::to_string(i) + " needs function.name");
                    }
                    for (const auto& prior : s_.tool_calls) {
                        if (prior.id == view(*id)) return fail("duplicate tool call id " + prior.id);
                    }
                    s_.tool_calls.push_back({std::string(view(*id)), std::string(view(*name)), {}});
                } else if (i < s_.tool_calls.size()) {
                    if (id != nullptr || name != nullptr || type != nullptr) {
                        return fail("continuation of tool call " + std::to_string(i) + " repeats id/type/name");
                    }
                    if (args == nullptr) return fail("continuation of tool call without arguments");
                } else {
                    return fail("tool call index " + std::to_string(i) + " skips an index");
                }
                if (args != nullptr) s_.tool_calls[i].arguments.append(view(*args));
            }
        } else {
            return fail("unexpected delta field " + std::string(key));
        }
    }
    return {};
}

std::string Validator::check_usage_chunk(const Value& doc) {
    if (!finished_) return fail("usage chunk before the finish chunk");
    if (usage_seen_) return fail("second usage chunk");
    const Value* usage = member(doc, "usage");
    if (usage == nullptr || !usage->IsObject()) return fail("choices [] needs a usage object");
    const Value* p = member(*usage, "prompt_tokens");
    const Value* c = member(*usage, "completion_tokens");
    const Value* t = member(*usage, "total_tokens");
    if (p == nullptr || !p->IsUint64() || c == nullptr || !c->IsUint64() || t == nullptr ||
        !t->IsUint64()) {
        return fail("usage needs prompt_tokens, completion_tokens, total_tokens");
    }
    if (t->GetUint64() != p->GetUint64() + c->GetUint64()) {
        return fail("total_tokens != prompt_tokens + completion_tokens");
    }
    const Value* details = member(*usage, "prompt_tokens_details");
    if (details != nullptr) {
        const Value* cached = details->IsObject() ? member(*details, "cached_tokens") : nullptr;
        if (cached == nullptr || !cached->IsUint64() || cached->GetUint64() > p->GetUint64()) {
            return fail("prompt_tokens_details.cached_tokens must be a count within prompt_tokens");
        }
        s_.cached_tokens = cached->GetUint64();
    }
    usage_seen_ = true;
    s_.has_usage = true;
    s_.prompt_tokens = p->GetUint64();
    s_.completion_tokens = c->GetUint64();
    s_.total_tokens = t->GetUint64();
    return {};
}

std::string Validator::check_chunk(const Value& doc) {
    const Value* object = member(doc, "object");
    if (object == nullptr || !object->IsString() || view(*object) != "chat.completion.chunk") {
        return fail("object must be \"chat.completion.chunk\"");
    }
    const Value* id = member(doc, "id");
    const Value* created = member(doc, "created");
    const Value* model = member(doc, "model");
    if (id == nullptr || !id->IsString() || id->GetStringLength() == 0) return fail("id must be a non-empty string");
    if (created == nullptr || !created->IsInt64()) return fail("created must be an integer");
    if (model == nullptr || !model->IsString()) return fail("model must be a string");
    bool first = s_.chunks == 0;
    if (first) {
        s_.id.assign(view(*id));
        s_.model.assign(view(*model));
        created_ = created->GetInt64();
    } else if (s_.id != view(*id) || s_.model != view(*model) || created_ != created->GetInt64()) {
        return fail("id, created or model differ from the first chunk");
    }
    ++s_.chunks;
    const Value* choices = member(doc, "choices");
    if (choices == nullptr || !choices->IsArray()) return fail("choices must be an array");
    if (choices->Empty()) {
        if (first) return fail("first chunk must carry the role");
        return check_usage_chunk(doc);
    }
    if (finished_) return fail("content chunk after the finish chunk");
    if (choices->Size() != 1) return fail("exactly one choice expected");
    const Value& choice = (*choices)[0];
    if (!choice.IsObject()) return fail("choice must be an object");
    const Value* index = member(choice, "index");
    if (index == nullptr || !index->IsUint() || index->GetUint() != 0) return fail("choice index must be 0");
    const Value* delta = member(choice, "delta");
    if (delta == nullptr) return fail("choice needs a delta");
    if (first) {
        const Value* role = delta->IsObject() ? member(*delta, "role") : nullptr;
        if (role == nullptr) return fail("first chunk must carry role \"assistant\"");
    }
    if (std::string why = check_delta(*delta, first); !why.empty()) return why;
    const Value* fr = member(choice, "finish_reason");
    if (fr == nullptr) return fail("choice needs finish_reason (null or a reason)");
    if (!fr->IsNull()) {
        if (!fr->IsString() || !known_finish_reason(view(*fr))) return fail("unknown finish_reason");
        finished_ = true;
        s_.finish_reason.assign(view(*fr));
    }
    return {};
}

std::string Validator::run(std::string_view sse) {
    std::size_t pos = 0;
    while (pos < sse.size()) {
        ++event_no_;
        std::size_t end = sse.find("\n\n", pos);
        if (end == std::string_view::npos) return fail("event not terminated by a blank line");
        std::string_view event = sse.substr(pos, end - pos);
        pos = end + 2;
        if (done_) return fail("event after [DONE]");
        if (event.substr(0, 6) != "data: ") return fail("event must be a single \"data: \" line");
        std::string_view payload = event.substr(6);
        if (payload.find('\n') != std::string_view::npos) return fail("event must be a single line");
        if (payload == "[DONE]") {
            done_ = true;
            continue;
        }
        if (errored_) return fail("event after an error event");
        rapidjson::Document doc;
        JsonLimits limits;
        if (Status st = parse_json(payload, limits, doc, "chunk"); !st.ok()) {
            return fail(st.error().describe());
        }
        if (!doc.IsObject()) return fail("payload must be a JSON object");
        std::string why = member(doc, "error") != nullptr ? check_error(doc) : check_chunk(doc);
        if (!why.empty()) return why;
    }
    if (!done_) return "stream does not end with data: [DONE]";
    if (!errored_ && !finished_) return "stream ended without a finish_reason or an error";
    if (s_.chunks > 0 && !errored_ && s_.finish_reason.empty()) return "no finish_reason";
    return {};
}

}  // namespace

std::string validate_openai_stream(std::string_view sse, OpenAIStreamSummary* summary) {
    OpenAIStreamSummary local;
    Validator v(summary != nullptr ? *summary : local);
    if (summary != nullptr) *summary = OpenAIStreamSummary{};
    return v.run(sse);
}

}  // namespace llmproxy::testing
