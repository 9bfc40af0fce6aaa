/*
 * Variables: the per-attempt upstream target for the internal proxy_pass
 * location, and request facts for log_format.
 */
#include "ngx_http_llmproxy.hpp"

#include <string>

namespace llmproxy::ngx {
namespace {

ngx_int_t set_value(ngx_http_request_t *r, ngx_http_variable_value_t *v, std::string_view s);

enum class Var : uintptr_t {
    kUpstreamUrl,
    kUpstreamHost,
    kUpstreamSni,
    kKeyId,
    kProvider,
    kModel,
    kInputTokens,
    kOutputTokens,
    kCacheReadTokens,
    kCacheCreationTokens,
    kUpstreamStatus,
    kRoute,
    kAttempts,
};

// Usage as far as it is known: the stream's (partial when the client left
// early) or the buffered response's.
const Usage *known_usage(const RequestCtx *ctx) {
    const Usage *u = ctx->at.transcoder ? &ctx->at.transcoder->usage() : &ctx->usage;
    return u->known ? u : nullptr;
}

ngx_int_t set_number(ngx_http_request_t *r, ngx_http_variable_value_t *v, const Usage *u,
                     std::uint64_t Usage::*field) {
    if (u == nullptr) {
        v->not_found = 1;
        return NGX_OK;
    }
    return set_value(r, v, std::to_string(u->*field));
}

ngx_int_t set_value(ngx_http_request_t *r, ngx_http_variable_value_t *v, std::string_view s) {
    if (s.empty()) {
        v->not_found = 1;
        return NGX_OK;
    }
    auto *data = static_cast<u_char *>(ngx_pnalloc(r->pool, s.size()));
    if (data == nullptr) {
        return NGX_ERROR;
    }
    ngx_memcpy(data, s.data(), s.size());
    v->data = data;
    v->len = static_cast<unsigned>(s.size());
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    return NGX_OK;
}

ngx_int_t get_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
                       uintptr_t data) noexcept {
    RequestCtx *ctx = get_ctx(r);
    if (ctx == nullptr && r != r->main) {
        ctx = get_ctx(r->main);
    }
    if (ctx == nullptr) {
        v->not_found = 1;
        return NGX_OK;
    }
    try {
        switch (static_cast<Var>(data)) {
        case Var::kUpstreamUrl:
            return set_value(r, v, ctx->at.upstream.url);
        case Var::kUpstreamHost:
            return set_value(r, v, ctx->at.upstream.host);
        case Var::kUpstreamSni:
            return set_value(r, v, ctx->at.upstream.sni);
        case Var::kKeyId:
            return set_value(r, v, ctx->key ? std::string_view(ctx->key->id) : "");
        case Var::kProvider:
            return set_value(r, v, ctx->at.provider ? std::string_view(ctx->at.provider->record.name)
                                                 : "");
        case Var::kModel:
            return set_value(r, v, ctx->at.target_model);
        case Var::kInputTokens:
            return set_number(r, v, known_usage(ctx), &Usage::input_tokens);
        case Var::kOutputTokens:
            return set_number(r, v, known_usage(ctx), &Usage::output_tokens);
        case Var::kCacheReadTokens:
            return set_number(r, v, known_usage(ctx), &Usage::cache_read_input_tokens);
        case Var::kCacheCreationTokens:
            return set_number(r, v, known_usage(ctx), &Usage::cache_creation_input_tokens);
        case Var::kRoute:
            return set_value(r, v, ctx->route_key);
        case Var::kAttempts:
            return set_value(r, v, ctx->plan && ctx->plan->attempts()
                                       ? std::to_string(ctx->plan->attempts())
                                       : std::string());
        case Var::kUpstreamStatus:
            return set_value(r, v, ctx->at.upstream_status ? std::to_string(ctx->at.upstream_status)
                                                        : std::string());
        }
    } catch (...) {
        return NGX_ERROR;
    }
    v->not_found = 1;
    return NGX_OK;
}

struct VarDef {
    ngx_str_t name;
    Var id;
};

}  // namespace

ngx_int_t add_variables(ngx_conf_t *cf) {
    static VarDef defs[] = {
        {ngx_string("llmproxy_upstream_url"), Var::kUpstreamUrl},
        {ngx_string("llmproxy_upstream_host"), Var::kUpstreamHost},
        {ngx_string("llmproxy_upstream_sni"), Var::kUpstreamSni},
        {ngx_string("llmproxy_key_id"), Var::kKeyId},
        {ngx_string("llmproxy_provider"), Var::kProvider},
        {ngx_string("llmproxy_model"), Var::kModel},
        {ngx_string("llmproxy_input_tokens"), Var::kInputTokens},
        {ngx_string("llmproxy_output_tokens"), Var::kOutputTokens},
        {ngx_string("llmproxy_cache_read_tokens"), Var::kCacheReadTokens},
        {ngx_string("llmproxy_cache_creation_tokens"), Var::kCacheCreationTokens},
        {ngx_string("llmproxy_upstream_status"), Var::kUpstreamStatus},
        {ngx_string("llmproxy_route"), Var::kRoute},
        {ngx_string("llmproxy_attempts"), Var::kAttempts},
    };
    for (auto &d : defs) {
        ngx_http_variable_t *var =
            ngx_http_add_variable(cf, &d.name, NGX_HTTP_VAR_NOCACHEABLE | NGX_HTTP_VAR_NOHASH);
        if (var == nullptr) {
            return NGX_ERROR;
        }
        var->get_handler = get_variable;
        var->data = static_cast<uintptr_t>(d.id);
    }
    return NGX_OK;
}

}  // namespace llmproxy::ngx
