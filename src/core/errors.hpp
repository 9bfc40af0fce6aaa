// Error bodies in each client dialect, and the mapping from src/core errors
// and HTTP statuses to them. The gateway never answers with an error that is
// not valid JSON in the dialect of the endpoint the client called.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/dialect.hpp"
#include "core/status.hpp"

namespace llmproxy {

struct ErrorResponse {
    int status = 500;
    std::string body;  // JSON, in the client's dialect
};

// Anthropic error type for an HTTP status: 400 invalid_request_error,
// 401 authentication_error, 402 billing_error, 403 permission_error,
// 404 not_found_error, 408/504 timeout_error, 413 request_too_large,
// 429 rate_limit_error, 529 overloaded_error, other 5xx api_error.
std::string_view anthropic_error_type(int status);

// OpenAI error type for an HTTP status: invalid_request_error,
// authentication_error, permission_error, not_found_error,
// rate_limit_error (429), server_error (5xx).
std::string_view openai_error_type(int status);

// {"type":"error","error":{"type":...,"message":...}} or
// {"error":{"message":...,"type":...,"param":null,"code":...}}.
// `type` empty means "derive from status".
std::string error_body(Dialect client, int status, std::string_view message,
                       std::string_view type = {}, std::string_view code = {});

ErrorResponse error_response(Dialect client, int status, std::string_view message,
                             std::string_view type = {}, std::string_view code = {});

// A complete SSE event carrying an error, in the client's dialect, for
// failures after a stream has started: Anthropic "event: error", OpenAI a
// data line with an "error" object (the OpenAI SDKs raise on it).
std::string stream_error_event(Dialect client, int status, std::string_view message);

// When the first event of `events` (client-dialect SSE, as produced by a
// StreamTranscoder) is an error, its status and message: a provider that
// answers 200 and then fails at once can still be retried or replaced,
// since nothing has reached the client yet.
struct StreamFailure {
    int status = 502;
    std::string message;
};
std::optional<StreamFailure> leading_stream_error(Dialect client, std::string_view events);

// HTTP status for an error type of either dialect ("overloaded_error" 529,
// "rate_limit_error" 429, ...); 502 for unknown types.
int status_for_error_type(std::string_view type);

// Status for a src/core Error (400, 413, 404, 403, 401, 503, 500).
int http_status_for(const Error& e);
ErrorResponse error_response(Dialect client, const Error& e);

}  // namespace llmproxy
