#include "core/errors.hpp"

#include "core/json.hpp"

namespace llmproxy {

std::string_view anthropic_error_type(int status) {
    switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 402: return "billing_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 408: return "timeout_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 504: return "timeout_error";
    case 529: return "overloaded_error";
    default:
        return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

std::string_view openai_error_type(int status) {
    switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 429: return "rate_limit_error";
    default:
        return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

std::string error_body(Dialect client, int status, std::string_view message,
                       std::string_view type, std::string_view code) {
    std::string out;
    out.reserve(96 + message.size());
    if (client == Dialect::kAnthropic) {
        out += R"({"type":"error","error":{"type":)";
        json_append_string(out, type.empty() ? anthropic_error_type(status) : type);
        out += R"(,"message":)";
        json_append_string(out, message);
        out += "}}";
    } else {
        out += R"({"error":{"message":)";
        json_append_string(out, message);
        out += R"(,"type":)";
        json_append_string(out, type.empty() ? openai_error_type(status) : type);
        out += R"(,"param":null,"code":)";
        if (code.empty()) {
            out += "null";
        } else {
            json_append_string(out, code);
        }
        out += "}}";
    }
    return out;
}

ErrorResponse error_response(Dialect client, int status, std::string_view message,
                             std::string_view type, std::string_view code) {
    return ErrorResponse{status, error_body(client, status, message, type, code)};
}

std::string stream_error_event(Dialect client, int status, std::string_view message) {
    std::string out = client == Dialect::kAnthropic ? "event: error\ndata: " : "data: ";
    out += error_body(client, status, message);
    out += "\n\n";
    return out;
}

int status_for_error_type(std::string_view type) {
    if (type == "invalid_request_error") return 400;
    if (type == "authentication_error") return 401;
    if (type == "billing_error" || type == "insufficient_quota") return 402;
    if (type == "permission_error") return 403;
    if (type == "not_found_error") return 404;
    if (type == "request_too_large") return 413;
    if (type == "rate_limit_error" || type == "rate_limit_exceeded" || type == "requests" ||
        type == "tokens") {
        return 429;
    }
    if (type == "timeout_error") return 504;
    if (type == "overloaded_error") return 529;
    if (type == "api_error" || type == "server_error") return 500;
    return 502;
}

std::optional<StreamFailure> leading_stream_error(Dialect client, std::string_view events) {
    std::size_t end = events.find("\n\n");
    std::string_view first = events.substr(0, end);
    std::string_view data;
    bool named_error = false;
    while (!first.empty()) {
        std::size_t nl = first.find('\n');
        std::string_view line = first.substr(0, nl);
        first = nl == std::string_view::npos ? std::string_view{} : first.substr(nl + 1);
        if (line == "event: error" || line == "event:error") named_error = true;
        if (line.rfind("data:", 0) == 0) {
            data = line.substr(5);
            if (!data.empty() && data.front() == ' ') data.remove_prefix(1);
        }
    }
    if (data.empty() || (client == Dialect::kAnthropic && !named_error)) return std::nullopt;
    LocalDocument local_doc;
    rapidjson::Document& doc = local_doc.get();
    JsonLimits limits;
    limits.max_bytes = 1024 * 1024;
    if (!parse_json(data, limits, doc, "stream event").ok() || !doc.IsObject()) {
        return std::nullopt;
    }
    auto err = doc.FindMember("error");
    if (err == doc.MemberEnd() || !err->value.IsObject()) return std::nullopt;
    StreamFailure f;
    auto type = err->value.FindMember("type");
    if (type != err->value.MemberEnd() && type->value.IsString()) {
        f.status = status_for_error_type({type->value.GetString(), type->value.GetStringLength()});
    }
    auto msg = err->value.FindMember("message");
    if (msg != err->value.MemberEnd() && msg->value.IsString()) {
        f.message.assign(msg->value.GetString(), msg->value.GetStringLength());
    }
    return f;
}

int http_status_for(const Error& e) {
    switch (e.code) {
    case ErrorCode::kInvalidRequest: return 400;
    case ErrorCode::kTooLarge: return 413;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kPermission: return 403;
    case ErrorCode::kAuthentication: return 401;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kInternal: return 500;
    }
    return 500;
}

ErrorResponse error_response(Dialect client, const Error& e) {
    return error_response(client, http_status_for(e), e.describe());
}

}  // namespace llmproxy
