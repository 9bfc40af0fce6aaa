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
