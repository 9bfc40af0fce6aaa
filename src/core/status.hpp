// Error values for src/core. Nothing in src/core throws across its public
// boundary: functions return Status or Result<T>, and the nginx glue maps an
// Error to the client's dialect (see translate.hpp: error mapping).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace llmproxy {

enum class ErrorCode {
    kInvalidRequest,   // malformed / wrong-typed input: 400 invalid_request_error
    kTooLarge,         // body or nesting over a configured limit: 413 / 400
    kNotFound,         // unknown model / record: 404 not_found_error
    kPermission,       // key may not use this: 403 permission_error
    kAuthentication,   // bad or missing key: 401 authentication_error
    kUnavailable,      // store not open, provider key missing: 503 / 500
    kInternal,         // a bug or a resource failure: 500 api_error
};

struct Error {
    ErrorCode code = ErrorCode::kInvalidRequest;
    std::string field;    // JSON path of the offending field ("messages[3].content"), may be empty
    std::string message;  // why, for humans; never contains secrets

    // "messages[3].content: expected an array" or just the message.
    std::string describe() const {
        return field.empty() ? message : field + ": " + message;
    }
};

class Status {
public:
    Status() = default;
    Status(Error e) : error_(std::move(e)), ok_(false) {}  // NOLINT: implicit on purpose
    static Status ok_status() { return Status(); }

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { return error_; }

private:
    Error error_;
    bool ok_ = true;
};

template <class T>
class Result {
public:
    Result(T value) : v_(std::move(value)) {}   // NOLINT
    Result(Error e) : v_(std::move(e)) {}       // NOLINT

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    T& operator*() { return value(); }
    const Error& error() const { return std::get<1>(v_); }
    Status status() const { return ok() ? Status() : Status(error()); }

private:
    std::variant<T, Error> v_;
};

inline Error make_error(ErrorCode code, std::string field, std::string message) {
    return Error{code, std::move(field), std::move(message)};
}

}  // namespace llmproxy
