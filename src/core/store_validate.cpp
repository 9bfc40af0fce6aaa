// Input validation for store records. llmproxy-ctl calls these on user input
// for precise messages; StoreWriter calls validate_provider/validate_route
// again so no invalid record reaches the store through any path.
#include <cctype>
#include <string>

#include "core/retry_policy.hpp"
#include "core/store.hpp"
#include "core/store_internal.hpp"

namespace llmproxy::store {

namespace {

Error invalid(std::string field, std::string message) {
    return make_error(ErrorCode::kInvalidRequest, std::move(field), std::move(message));
}

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

bool is_token_char(char c) {
    if (is_alnum(c)) return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        return true;
    default:
        return false;
    }
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

bool has_control_char(std::string_view s) {
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f) return true;
    }
    return false;
}

// Characters allowed in a URL path as given on a command line: printable
// ASCII minus space and the characters RFC 3986 never allows unescaped.
bool is_path_char(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
    switch (c) {
    case '"': case '<': case '>': case '\\': case '^': case '`': case '{': case '|': case '}':
    case '?': case '#':
        return false;
    default:
        return true;
    }
}

}  // namespace

Status validate_provider_name(std::string_view name) {
    bool ok = !name.empty() && name.size() <= 64 && is_lower_alnum(name[0]);
    for (std::size_t i = 1; ok && i < name.size(); ++i) {
        char c = name[i];
        ok = is_lower_alnum(c) || c == '.' || c == '_' || c == '-';
    }
    if (!ok) {
        return invalid("name", "invalid provider name '" + std::string(name) +
                                   "' (expected [a-z0-9][a-z0-9._-]{0,63})");
    }
    return Status();
}

Result<std::string> normalize_base_url(std::string_view url) {
    auto bad = [&](std::string_view why) {
        return invalid("base_url", "invalid base URL '" + std::string(url) + "': " + std::string(why));
    };
    if (url.size() > 2048) return invalid("base_url", "base URL is longer than 2048 characters");
    if (has_control_char(url)) return invalid("base_url", "base URL contains control characters");

    std::string out;
    std::string_view rest;
    auto starts_with_ci = [&](std::string_view prefix) {
        return url.size() >= prefix.size() && iequals(url.substr(0, prefix.size()), prefix);
    };
    if (starts_with_ci("https://")) {
        out = "https://";
        rest = url.substr(8);
    } else if (starts_with_ci("http://")) {
        out = "http://";
        rest = url.substr(7);
    } else {
        return bad("must start with http:// or https://");
    }
    if (rest.find('?') != std::string_view::npos || rest.find('#') != std::string_view::npos) {
        return bad("must not contain a query or fragment");
    }
    std::size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    if (authority.find('@') != std::string_view::npos) return bad("must not contain credentials");
    if (authority.empty()) return bad("missing host");

    std::string_view host, port;
    if (authority[0] == '[') {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos || close == 1) return bad("malformed IPv6 address");
        host = authority.substr(0, close + 1);
        for (char c : host.substr(1, host.size() - 2)) {
            if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
                return bad("malformed IPv6 address");
            }
        }
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') return bad("malformed authority");
            port = after.substr(1);
            if (port.empty()) return bad("empty port");
        }
    } else {
        std::size_t colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
            if (port.empty()) return bad("empty port");
        }
        if (host.empty()) return bad("missing host");
        if (host.size() > 253) return bad("host name too long");
        for (char c : host) {
            if (!is_alnum(c) && c != '.' && c != '-') return bad("invalid character in host");
        }
        if (host.front() == '.' || host.front() == '-') return bad("invalid host");
    }
    if (!port.empty()) {
        if (port.size() > 5) return bad("invalid port");
        unsigned long n = 0;
        for (char c : port) {
            if (c < '0' || c > '9') return bad("invalid port");
            n = n * 10 + static_cast<unsigned long>(c - '0');
        }
        if (n == 0 || n > 65535) return bad("port out of range");
    }
    for (char c : path) {
        if (!is_path_char(c)) return bad("invalid character in path");
    }
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);

    out.append(authority.data(), authority.size());
    out.append(path.data(), path.size());
    return out;
}

Status validate_header(const Header& h) {
    if (h.name.empty() || h.name.size() > 256) return invalid("headers", "header name must be 1-256 characters");
    for (char c : h.name) {
        if (!is_token_char(c)) return invalid("headers", "invalid header name '" + h.name + "'");
    }
    // Framing and connection headers belong to the gateway; letting a
    // provider record override them would break or smuggle requests.
    static constexpr std::string_view kManaged[] = {
        "host", "content-length", "transfer-encoding", "connection", "keep-alive",
        "upgrade", "te", "trailer", "proxy-connection", "expect"};
    for (auto managed : kManaged) {
        if (iequals(h.name, managed)) {
            return invalid("headers", "header '" + h.name + "' is set by the gateway and cannot be configured");
        }
    }
    if (h.value.size() > 8192) return invalid("headers", "value of header '" + h.name + "' is too long");
    for (unsigned char c : h.value) {
        if (c == '\r' || c == '\n' || c == '\0') {
            return invalid("headers", "value of header '" + h.name + "' contains CR, LF or NUL");
        }
    }
    return Status();
}

Status validate_env_var_name(std::string_view name) {
    bool ok = !name.empty() && name.size() <= 128 &&
              (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_');
    for (std::size_t i = 1; ok && i < name.size(); ++i) ok = is_alnum(name[i]) || name[i] == '_';
    if (!ok) {
        return invalid("api_key_env", "invalid environment variable name '" + std::string(name) + "'");
    }
    return Status();
}

Status validate_upstream_name(std::string_view name) {
    bool ok = !name.empty() && name.size() <= 128;
    for (std::size_t i = 0; ok && i < name.size(); ++i) {
        char c = name[i];
        ok = is_alnum(c) || c == '.' || c == '_' || c == '-';
    }
    if (!ok) return invalid("upstream", "invalid upstream name '" + std::string(name) + "'");
    return Status();
}

Status validate_provider(const ProviderRecord& r) {
    if (Status st = validate_provider_name(r.name); !st) return st;
    auto url = normalize_base_url(r.base_url);
    if (!url) return url.status();
    if (*url != r.base_url) return invalid("base_url", "base URL is not normalised");
    if (!r.api_key_sealed.empty() && !r.api_key_env.empty()) {
        return invalid("api_key", "a provider has either a stored API key or an environment variable, not both");
    }
    if (!r.timeouts.empty()) {
        TimeoutConfig scratch;
        if (Status st = apply_timeout_settings(scratch, r.timeouts); !st) {
            return invalid("timeouts", st.error().describe());
        }
    }
    if (!r.api_key_env.empty()) {
        if (Status st = validate_env_var_name(r.api_key_env); !st) return st;
    }
    if (r.headers.size() > 64) return invalid("headers", "more than 64 headers");
    for (const auto& h : r.headers) {
        if (Status st = validate_header(h); !st) return st;
    }
    if (!r.upstream.empty()) {
        if (Status st = validate_upstream_name(r.upstream); !st) return st;
    }
    for (const auto& [model, cap] : r.model_max_tokens) {
        if (model.empty() || model.size() > 256 || has_control_char(model)) {
            return invalid("model_max_tokens", "invalid model name '" + model + "'");
        }
        if (cap == 0) return invalid("model_max_tokens", "max tokens for '" + model + "' must be positive");
    }
    ProviderQuirks scratch;
    for (const auto& [name, value] : r.quirks) {
        if (Status st = set_quirk(scratch, name, value); !st) return st;
    }
    return Status();
}

Status validate_route(const RouteRecord& r) {
    if (Status st = validate_pattern(r.pattern); !st) return st;
    if (r.targets.empty()) return invalid("targets", "a route needs at least one target");
    if (r.targets.size() > 16) return invalid("targets", "a route has at most 16 targets");
    for (const auto& t : r.targets) {
        if (Status st = validate_provider_name(t.provider); !st) return st;
        if (t.model.empty() || t.model.size() > 256 || has_control_char(t.model)) {
            return invalid("targets", "invalid target model '" + t.model + "'");
        }
    }
    return Status();
}

}  // namespace llmproxy::store
