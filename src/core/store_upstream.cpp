// Where a provider's requests go: URL, Host header and TLS name, derived
// from its (normalised) base URL and optional nginx upstream block.
#include "core/store.hpp"

namespace llmproxy::store {

UpstreamTarget upstream_target(const ProviderRecord& p, std::string_view query) {
    std::string_view url = p.base_url;
    std::string_view scheme, authority, path;
    if (std::size_t s = url.find("://"); s != std::string_view::npos) {
        scheme = url.substr(0, s);
        std::string_view rest = url.substr(s + 3);
        std::size_t slash = rest.find('/');
        authority = rest.substr(0, slash);
        if (slash != std::string_view::npos) path = rest.substr(slash);
    }
    std::string_view host;
    if (!authority.empty() && authority.front() == '[') {
        std::size_t close = authority.find(']');
        host = authority.substr(1, close == std::string_view::npos ? close : close - 1);
    } else {
        host = authority.substr(0, authority.find(':'));
    }
    UpstreamTarget t;
    // Through a named upstream block the URL's host is the block name; Host
    // and the TLS name still come from the base URL.
    std::string_view connect_to = p.upstream.empty() ? authority : std::string_view(p.upstream);
    t.url.reserve(url.size() + connect_to.size() + 24 + query.size());
    t.url.append(scheme).append("://").append(connect_to).append(path);
    t.url.append(p.format == Dialect::kOpenAI ? "/chat/completions" : "/v1/messages");
    if (!query.empty()) t.url.append("?").append(query);
    t.host.assign(authority);
    t.sni.assign(host);
    return t;
}

}  // namespace llmproxy::store
