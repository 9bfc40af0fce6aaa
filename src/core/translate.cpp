// Facade dispatch: same-dialect passthrough here, cross-dialect translation
// in the per-direction files (translate_internal.hpp).
#include "core/translate.hpp"

#include "core/mapping.hpp"
#include "core/passthrough_stream.hpp"
#include "core/translate_internal.hpp"

namespace llmproxy {
namespace {

// Top-level field of the client's request that carries the output cap.
std::string_view max_tokens_member(const ParsedRequest& req) {
    if (req.dialect == Dialect::kAnthropic) return "max_tokens";
    return req.doc.HasMember("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
}

std::string_view string_member(const rapidjson::Value& obj, const char* name) {
    if (!obj.IsObject()) return {};
    auto it = obj.FindMember(name);
    if (it == obj.MemberEnd() || !it->value.IsString()) return {};
    return {it->value.GetString(), it->value.GetStringLength()};
}

}  // namespace

std::string TranslatedRequest::joined() const {
    std::string all;
    all.reserve(size());
    all.append(head).append(body).append(tail);
    return all;
}

Result<TranslatedRequest> translate_request(const ParsedRequest& req, Dialect provider,
                                            const TranslateOptions& opts) {
    Result<TranslatedRequest> result = [&]() -> Result<TranslatedRequest> {
        if (provider != req.dialect) {
            return req.dialect == Dialect::kAnthropic
                       ? detail::anthropic_to_openai_request(req, opts)
                       : detail::openai_to_anthropic_request(req, opts);
        }
        TranslatedRequest out;
        std::string model;
        json_append_string(model, opts.target_model);
        if (!opts.max_tokens_cap && req.model_token_length != 0 && req.peek.complete) {
            // The common passthrough: splice the model where peek_request
            // saw it, around the client's own bytes (no copy of the body).
            std::string_view raw = req.raw;
            out.head = raw.substr(0, req.model_token_offset);
            out.body = std::move(model);
            out.tail = raw.substr(req.model_token_offset + req.model_token_length);
            return out;
        }
        std::vector<std::pair<std::string_view, std::string>> repl;
        repl.emplace_back("model", std::move(model));
        if (opts.max_tokens_cap && req.doc.IsObject()) {
            std::string_view field = max_tokens_member(req);
            auto it = req.doc.FindMember(rapidjson::StringRef(field.data(), field.size()));
            if (it != req.doc.MemberEnd() && it->value.IsUint64() &&
                it->value.GetUint64() > *opts.max_tokens_cap) {
                repl.emplace_back(field, std::to_string(*opts.max_tokens_cap));
            }
        }
        out.body = replace_top_level_values(req.raw, repl);
        return out;
    }();
    if (!result.ok()) return result;
    ResponseContext& rc = result->response;
    rc.client_model = req.facts.model;
    rc.stream = req.facts.stream;
    rc.quirks = opts.quirks;
    if (req.dialect == Dialect::kOpenAI && req.doc.IsObject()) {
        auto so = req.doc.FindMember("stream_options");
        if (so != req.doc.MemberEnd() && so->value.IsObject()) {
            auto iu = so->value.FindMember("include_usage");
            rc.include_usage_requested = iu != so->value.MemberEnd() && iu->value.IsBool() &&
                                         iu->value.GetBool();
        }
    }
    return result;
}

Result<std::string> translate_response(Dialect provider, Dialect client, std::string_view body,
                                       const ResponseContext& ctx, Usage* usage) {
    if (provider == client) {
        // Passthrough keeps the provider's bytes apart from the model name,
        // which clients expect to be the one they asked for.
        LocalDocument local_doc;
        rapidjson::Document& doc = local_doc.get();
        JsonLimits limits;
        if (Status st = parse_json(body, limits, doc, "provider response"); !st.ok()) {
            return st.error();
        }
        if (!doc.IsObject()) {
            return make_error(ErrorCode::kInternal, "", "provider response is not a JSON object");
        }
        auto u = doc.FindMember("usage");
        if (usage != nullptr && u != doc.MemberEnd() && u->value.IsObject()) {
            if (client == Dialect::kAnthropic) {
                merge_anthropic_usage(u->value, *usage);
            } else {
                *usage = usage_from_openai(u->value);
            }
        }
        return rewrite_model(body, ctx.client_model);
    }
    return provider == Dialect::kOpenAI
               ? detail::openai_to_anthropic_response(body, ctx, usage)
               : detail::anthropic_to_openai_response(body, ctx, usage);
}

std::unique_ptr<StreamTranscoder> make_stream_transcoder(Dialect provider, Dialect client,
                                                         const ResponseContext& ctx) {
    if (provider == client) return make_passthrough_stream(client, ctx);
    return provider == Dialect::kOpenAI ? detail::make_openai_to_anthropic_stream(ctx)
                                        : detail::make_anthropic_to_openai_stream(ctx);
}

ErrorResponse map_upstream_error(Dialect provider, Dialect client, int status,
                                 std::string_view body) {
    // Statuses outside the error range are provider bugs; call them 502.
    int mapped = (status >= 400 && status <= 599) ? status : 502;
    if (client == Dialect::kOpenAI && mapped == 529) mapped = 503;

    LocalDocument local_doc;
    rapidjson::Document& doc = local_doc.get();
    JsonLimits limits;
    limits.max_bytes = 1024 * 1024;
    limits.max_depth = 32;
    std::string_view message, type, code;
    bool parsed = parse_json(body, limits, doc, "provider error").ok() && doc.IsObject();
    if (parsed) {
        auto err = doc.FindMember("error");
        if (err != doc.MemberEnd() && err->value.IsObject()) {
            message = string_member(err->value, "message");
            type = string_member(err->value, "type");
            code = string_member(err->value, "code");
        } else if (err != doc.MemberEnd() && err->value.IsString()) {
            message = {err->value.GetString(), err->value.GetStringLength()};
        }
        if (message.empty()) message = string_member(doc, "message");
        if (message.empty()) message = string_member(doc, "detail");
    }
    if (provider == client && parsed && !message.empty() && mapped == status) {
        auto err = doc.FindMember("error");
        bool shaped = err != doc.MemberEnd() && err->value.IsObject() &&
                      (client == Dialect::kOpenAI || string_member(doc, "type") == "error");
        if (shaped) return ErrorResponse{mapped, std::string(body)};
    }
    std::string text;
    if (!message.empty()) {
        text.assign(message);
    } else {
        std::string_view snippet = body.substr(0, 512);
        text = "provider returned HTTP " + std::to_string(status);
        if (!snippet.empty() && !parsed) {
            text += ": ";
            // Keep only printable bytes of a non-JSON body (HTML error pages...).
            for (char c : snippet) text.push_back((c >= 0x20 && c < 0x7f) ? c : ' ');
        }
    }
    // Keep a provider's type when it is one of the client dialect's own.
    std::string_view client_type;
    if (provider == client) client_type = type;
    return error_response(client, mapped, text, client_type,
                          client == Dialect::kOpenAI ? code : std::string_view{});
}

}  // namespace llmproxy
