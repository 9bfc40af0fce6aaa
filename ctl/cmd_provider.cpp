// llmproxy-ctl provider add|set|list|show|rm
#include <algorithm>
#include <cctype>
#include <iostream>
#include <string>

#include <openssl/crypto.h>

#include "cli.hpp"
#include "core/retry_policy.hpp"

namespace llmproxy::ctl {

namespace {

using store::ProviderRecord;

constexpr const char* kProviderHelp = R"(usage: llmproxy-ctl provider COMMAND ...

  add NAME --format openai|anthropic --base-url URL [options]
  set NAME [options]              change an existing provider
  list                            all providers (never shows API keys)
  show NAME [--reveal]            one provider; --reveal prints its API key
  rm NAME                         refused while a route uses the provider

Run 'llmproxy-ctl provider add --help' for the options.
)";

constexpr const char* kOptionsHelp = R"(
  NAME: [a-z0-9][a-z0-9._-]{0,63}

  --format openai|anthropic     API the provider speaks
  --base-url URL                http(s)://host[:port][/path], no credentials,
                                query or fragment; a trailing slash is dropped.
                                openai: include the version, requests go to
                                  {url}/chat/completions (https://api.deepseek.com/v1)
                                anthropic: no version, requests go to
                                  {url}/v1/messages (https://api.anthropic.com)
  --api-key KEY                 provider API key, stored encrypted with the
                                master key (AES-256-GCM); '-' reads it from
                                the first line of stdin (keeps it out of ps
                                and shell history)
  --api-key-env VAR             instead of storing a key, nginx workers read
                                it from environment variable VAR (declare
                                'env VAR;' in nginx.conf)
  --header 'Name: value'        extra header sent upstream (repeatable; a
                                header of the same name is replaced)
  --model-max-tokens MODEL=N    cap max_tokens for MODEL (repeatable)
  --quirk NAME=VALUE            provider quirk (repeatable; list below)
  --upstream NAME               connect through the nginx 'upstream NAME {}'
                                block (keepalive pools, load balancing);
                                base URL still gives scheme, Host, SNI, path
  --timeouts 'connect=5s first_byte=30s idle=2m total=15m'
                                this provider's attempt timeouts (any subset;
                                units ms, s, m); the rest come from nginx's
                                llmproxy_timeouts
)";

constexpr const char* kSetOnlyHelp = R"(
  set only (applied before the options above):
  --no-api-key                  forget the stored key / environment variable
  --clear-headers               remove all extra headers
  --remove-header NAME          remove one header (repeatable)
  --clear-model-max-tokens      remove all max_tokens caps
  --remove-model-max-tokens M   remove the cap of model M (repeatable)
  --clear-quirks                reset all quirks to their defaults
  --remove-quirk NAME           reset one quirk (repeatable)
  --no-upstream                 connect directly again
  --no-timeouts                 use nginx's llmproxy_timeouts again
)";

const std::vector<FlagSpec>& provider_flags() {
    static const std::vector<FlagSpec> flags = {
        {"format", true, false},          {"base-url", true, false},
        {"api-key", true, false},         {"api-key-env", true, false},
        {"header", true, true},           {"model-max-tokens", true, true},
        {"quirk", true, true},            {"upstream", true, false},
        {"no-api-key", false, false},     {"clear-headers", false, false},
        {"remove-header", true, true},    {"clear-model-max-tokens", false, false},
        {"remove-model-max-tokens", true, true}, {"clear-quirks", false, false},
        {"remove-quirk", true, true},     {"no-upstream", false, false},
        {"timeouts", true, false},        {"no-timeouts", false, false},
        {"reveal", false, false},
    };
    return flags;
}

std::string quirk_help() {
    std::string out = "\n  quirks:\n";
    for (const auto& q : quirk_catalog()) {
        std::string name(q.name);
        out += "    " + name + std::string(name.size() < 30 ? 30 - name.size() : 1, ' ') + std::string(q.help) + "\n";
    }
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// Header values that are credentials are masked in every listing unless
// --reveal is given.
bool is_sensitive_header(std::string_view name) {
    std::string lower;
    for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (std::string_view word : {"auth", "key", "token", "secret", "cookie", "password"}) {
        if (lower.find(word) != std::string::npos) return true;
    }
    return false;
}

std::string api_key_summary(const ProviderRecord& p) {
    if (!p.api_key_sealed.empty()) return "set";
    if (!p.api_key_env.empty()) return "env:" + p.api_key_env;
    return "none";
}

Result<store::MasterKey> load_key(const Context& ctx) { return store::load_master_key(ctx.master_key_path); }

// Applies the option flags of add/set to `p`. Returns a usage problem.
std::optional<std::string> apply_options(const Args& args, ProviderRecord& p) {
    if (auto f = args.get("format")) {
        if (*f == "openai") p.format = Dialect::kOpenAI;
        else if (*f == "anthropic") p.format = Dialect::kAnthropic;
        else return "--format must be openai or anthropic";
    }
    if (auto url = args.get("base-url")) {
        auto normal = store::normalize_base_url(*url);
        if (!normal) return normal.error().message;
        p.base_url = *normal;
    }

    int key_sources = args.has("api-key") + args.has("api-key-env") + args.has("no-api-key");
    if (key_sources > 1) return "use only one of --api-key, --api-key-env and --no-api-key";
    if (args.has("no-api-key")) {
        p.api_key_sealed.clear();
        p.api_key_env.clear();
    }
    if (auto var = args.get("api-key-env")) {
        if (Status st = store::validate_env_var_name(*var); !st) return st.error().message;
        p.api_key_sealed.clear();
        p.api_key_env = *var;
    }

    if (args.has("clear-headers")) p.headers.clear();
    for (const auto& name : args.all("remove-header")) {
        auto it = std::remove_if(p.headers.begin(), p.headers.end(),
                                 [&](const store::Header& h) { return iequals(h.name, name); });
        if (it == p.headers.end()) return "no header '" + name + "' to remove";
        p.headers.erase(it, p.headers.end());
    }
    for (const auto& spec : args.all("header")) {
        auto colon = spec.find(':');
        if (colon == std::string::npos) return "--header needs 'Name: value', got '" + spec + "'";
        store::Header h{spec.substr(0, colon), trim(spec.substr(colon + 1))};
        if (Status st = store::validate_header(h); !st) return st.error().message;
        auto same = std::find_if(p.headers.begin(), p.headers.end(),
                                 [&](const store::Header& x) { return iequals(x.name, h.name); });
        if (same != p.headers.end()) *same = h;
        else p.headers.push_back(h);
    }

    if (args.has("clear-model-max-tokens")) p.model_max_tokens.clear();
    for (const auto& model : args.all("remove-model-max-tokens")) {
        if (p.model_max_tokens.erase(model) == 0) return "no max tokens cap for '" + model + "' to remove";
    }
    for (const auto& spec : args.all("model-max-tokens")) {
        auto eq = spec.rfind('=');
        if (eq == std::string::npos || eq == 0) return "--model-max-tokens needs MODEL=N, got '" + spec + "'";
        std::string n = spec.substr(eq + 1);
        bool digits = !n.empty() && n.size() <= 10 &&
                      std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!digits || std::stoull(n) == 0) return "--model-max-tokens needs a positive N, got '" + spec + "'";
        p.model_max_tokens[spec.substr(0, eq)] = std::stoull(n);
    }

    if (args.has("clear-quirks")) p.quirks.clear();
    for (const auto& name : args.all("remove-quirk")) {
        if (p.quirks.erase(name) == 0) return "quirk '" + name + "' is not set";
    }
    for (const auto& spec : args.all("quirk")) {
        auto eq = spec.find('=');
        if (eq == std::string::npos || eq == 0) return "--quirk needs NAME=VALUE, got '" + spec + "'";
        std::string name = spec.substr(0, eq), value = spec.substr(eq + 1);
        ProviderQuirks scratch;
        if (Status st = set_quirk(scratch, name, value); !st) return st.error().describe();
        p.quirks[name] = value;
    }

    if (args.has("upstream") && args.has("no-upstream")) return "use only one of --upstream and --no-upstream";
    if (args.has("no-upstream")) p.upstream.clear();
    if (auto up = args.get("upstream")) {
        if (Status st = store::validate_upstream_name(*up); !st) return st.error().message;
        p.upstream = *up;
    }
    if (args.has("timeouts") && args.has("no-timeouts")) return "use only one of --timeouts and --no-timeouts";
    if (args.has("no-timeouts")) p.timeouts.clear();
    if (auto t = args.get("timeouts")) {
        TimeoutConfig scratch;
        if (Status st = apply_timeout_settings(scratch, *t); !st) return "--timeouts: " + st.error().describe();
        p.timeouts = *t;
    }
    return std::nullopt;
}

// Reads --api-key (or stdin for "-") and seals it. Empty optional: no key given.
Result<std::optional<std::string>> sealed_key_from_args(const Args& args, const Context& ctx,
                                                        const std::string& provider) {
    auto key = args.get("api-key");
    if (!key) return std::optional<std::string>();
    std::string plain = *key;
    if (plain == "-") {
        if (!std::getline(std::cin, plain)) {
            return make_error(ErrorCode::kInvalidRequest, "", "--api-key -: no key on stdin");
        }
        if (!plain.empty() && plain.back() == '\r') plain.pop_back();
    }
    bool ok = !plain.empty() && plain.size() <= 8192;
    for (unsigned char c : plain) {
        if (c < 0x20 || c == 0x7f) ok = false;
    }
    if (!ok) {
        OPENSSL_cleanse(plain.data(), plain.size());
        return make_error(ErrorCode::kInvalidRequest, "",
                          "--api-key must be 1-8192 printable characters without line breaks");
    }
    auto mk = load_key(ctx);
    if (!mk) {
        OPENSSL_cleanse(plain.data(), plain.size());
        return mk.error();
    }
    std::string sealed = store::seal_secret(*mk, provider, plain);
    OPENSSL_cleanse(plain.data(), plain.size());
    return std::optional<std::string>(std::move(sealed));
}

void write_provider_json(JsonWriter& w, const ProviderRecord& p, const std::string* revealed_key, bool reveal) {
    w.StartObject();
    json_key_string(w, "name", p.name);
    json_key_string(w, "format", dialect_name(p.format));
    json_key_string(w, "base_url", p.base_url);
    json_key_string(w, "api_key", api_key_summary(p));
    if (revealed_key) json_key_string(w, "api_key_value", *revealed_key);
    w.Key("headers");
    w.StartArray();
    for (const auto& h : p.headers) {
        w.StartObject();
        json_key_string(w, "name", h.name);
        if (!reveal && is_sensitive_header(h.name)) {
            json_key_string(w, "value", "(hidden)");
            w.Key("hidden");
            w.Bool(true);
        } else {
            json_key_string(w, "value", h.value);
        }
        w.EndObject();
    }
    w.EndArray();
    w.Key("upstream");
    if (p.upstream.empty()) w.Null();
    else json_string(w, p.upstream);
    w.Key("timeouts");
    if (p.timeouts.empty()) w.Null();
    else json_string(w, p.timeouts);
    w.Key("model_max_tokens");
    w.StartObject();
    for (const auto& [model, n] : p.model_max_tokens) {
        w.Key(model.c_str(), static_cast<rapidjson::SizeType>(model.size()));
        w.Uint64(n);
    }
    w.EndObject();
    w.Key("quirks");
    w.StartObject();
    for (const auto& [name, value] : p.quirks) {
        w.Key(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
        json_string(w, value);
    }
    w.EndObject();
    json_key_time(w, "created_at", p.created_at);
    json_key_time(w, "updated_at", p.updated_at);
    w.EndObject();
}

void print_provider_text(const ProviderRecord& p, const std::string* revealed_key, bool reveal) {
    std::cout << "name:        " << p.name << "\n"
              << "format:      " << dialect_name(p.format) << "\n"
              << "base_url:    " << p.base_url << "\n"
              << "api_key:     " << (revealed_key ? *revealed_key : api_key_summary(p)) << "\n"
              << "upstream:    " << (p.upstream.empty() ? "-" : p.upstream) << "\n"
              << "timeouts:    " << (p.timeouts.empty() ? "-" : p.timeouts) << "\n";
    std::cout << "headers:     " << (p.headers.empty() ? "-" : "") << "\n";
    for (const auto& h : p.headers) {
        bool hide = !reveal && is_sensitive_header(h.name);
        std::cout << "  " << h.name << ": " << (hide ? "(hidden; --reveal shows it)" : h.value) << "\n";
    }
    std::cout << "max_tokens:  " << (p.model_max_tokens.empty() ? "-" : "") << "\n";
    for (const auto& [model, n] : p.model_max_tokens) std::cout << "  " << model << " = " << n << "\n";
    std::cout << "quirks:      " << (p.quirks.empty() ? "-" : "") << "\n";
    for (const auto& [name, value] : p.quirks) std::cout << "  " << name << " = " << value << "\n";
    std::cout << "created:     " << format_time(p.created_at) << "\n"
              << "updated:     " << format_time(p.updated_at) << "\n";
}

void output_provider(const Context& ctx, const ProviderRecord& p) {
    if (ctx.json) {
        rapidjson::StringBuffer sb;
        JsonWriter w(sb);
        write_provider_json(w, p, nullptr, false);
        print_json(sb);
    } else {
        print_provider_text(p, nullptr, false);
    }
}

int provider_add_or_set(Context& ctx, const Args& args, bool add) {
    const char* cmd = add ? "provider add" : "provider set";
    if (args.positional.size() != 1) return usage_error(cmd, "expected exactly one provider NAME");
    for (const char* set_only : {"no-api-key", "clear-headers", "remove-header", "clear-model-max-tokens",
                                 "remove-model-max-tokens", "clear-quirks", "remove-quirk", "no-upstream",
                                 "no-timeouts"}) {
        if (add && args.has(set_only)) return usage_error(cmd, std::string("--") + set_only + " is for provider set");
    }
    if (args.has("reveal")) return usage_error(cmd, "--reveal is for provider show");
    const std::string& name = args.positional[0];
    if (Status st = store::validate_provider_name(name); !st) return usage_error(cmd, st.error().message);
    if (add && (!args.has("format") || !args.has("base-url"))) {
        return usage_error(cmd, "provider add needs --format and --base-url");
    }

    if (!add) {
        bool any = false;
        for (const auto& spec : provider_flags()) any = any || args.has(spec.name);
        if (!any) return usage_error(cmd, "nothing to change");
    }
    auto writer = open_store(ctx);
    if (!writer) return fail(writer.error());
    // Sealed before the write transaction (reads stdin, loads the master key).
    auto sealed = sealed_key_from_args(args, ctx, name);
    if (!sealed) return fail(sealed.error());
    std::optional<std::string> usage_problem;
    auto change = [&](ProviderRecord& p) -> Status {
        usage_problem = apply_options(args, p);
        if (usage_problem) return make_error(ErrorCode::kInvalidRequest, "", *usage_problem);
        if (*sealed) {
            p.api_key_env.clear();
            p.api_key_sealed = **sealed;
        }
        p.updated_at = now_unix();
        return Status();
    };

    ProviderRecord stored;
    if (add) {
        stored.name = name;
        stored.created_at = now_unix();
        change(stored);
        if (usage_problem) return usage_error(cmd, *usage_problem);
        if (Status st = (*writer)->put_provider(stored, true); !st) return fail(st.error());
    } else {
        // Read, change and write in one transaction.
        auto updated = (*writer)->update_provider(name, change);
        if (usage_problem) return usage_error(cmd, *usage_problem);
        if (!updated) return fail(updated.error());
        stored = std::move(*updated);
    }
    if (ctx.json) {
        output_provider(ctx, stored);
    } else {
        std::cout << "provider '" << name << "' " << (add ? "added" : "updated") << " (api key: "
                  << api_key_summary(stored) << ")\n";
    }
    return kExitOk;
}

int provider_list(Context& ctx, const Args& args) {
    if (!args.positional.empty()) return usage_error("provider list", "unexpected argument");
    auto writer = open_store(ctx);
    if (!writer) return fail(writer.error());
    auto providers = (*writer)->list_providers();
    if (!providers) return fail(providers.error());
    if (ctx.json) {
        rapidjson::StringBuffer sb;
        JsonWriter w(sb);
        w.StartArray();
        for (const auto& p : *providers) write_provider_json(w, p, nullptr, false);
        w.EndArray();
        print_json(sb);
        return kExitOk;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : *providers) {
        rows.push_back({p.name, std::string(dialect_name(p.format)), p.base_url, api_key_summary(p),
                        p.upstream.empty() ? "-" : p.upstream, std::to_string(p.headers.size()),
                        std::to_string(p.quirks.size())});
    }
    print_table({"NAME", "FORMAT", "BASE_URL", "API_KEY", "UPSTREAM", "HEADERS", "QUIRKS"}, rows);
    return kExitOk;
}

int provider_show(Context& ctx, const Args& args) {
    if (args.positional.size() != 1) return usage_error("provider show", "expected exactly one provider NAME");
    auto writer = open_store(ctx);
    if (!writer) return fail(writer.error());
    auto p = (*writer)->get_provider(args.positional[0]);
    if (!p) return fail(p.error());
    if (!*p) return fail("provider '" + args.positional[0] + "' not found");
    bool reveal = args.has("reveal");
    std::optional<std::string> key;
    if (reveal && !(*p)->api_key_sealed.empty()) {
        auto mk = load_key(ctx);
        if (!mk) return fail(mk.error());
        auto opened = store::open_secret(*mk, (*p)->name, (*p)->api_key_sealed);
        if (!opened) return fail("provider '" + (*p)->name + "': " + opened.error().describe());
        key = std::move(*opened);
    }
    if (ctx.json) {
        rapidjson::StringBuffer sb;
        JsonWriter w(sb);
        write_provider_json(w, **p, key ? &*key : nullptr, reveal);
        print_json(sb);
    } else {
        print_provider_text(**p, key ? &*key : nullptr, reveal);
    }
    if (key) OPENSSL_cleanse(key->data(), key->size());
    return kExitOk;
}

int provider_rm(Context& ctx, const Args& args) {
    if (args.positional.size() != 1) return usage_error("provider rm", "expected exactly one provider NAME");
    auto writer = open_store(ctx);
    if (!writer) return fail(writer.error());
    if (Status st = (*writer)->remove_provider(args.positional[0]); !st) return fail(st.error());
    return report_removed(ctx, args.positional[0], "provider '" + args.positional[0] + "'");
}

}  // namespace

int cmd_provider(Context& ctx, const std::vector<std::string>& argv) {
    if (argv.empty() || argv[0] == "--help" || argv[0] == "-h") {
        std::cout << kProviderHelp;
        return argv.empty() ? kExitUsage : kExitOk;
    }
    const std::string& sub = argv[0];
    std::vector<std::string> rest(argv.begin() + 1, argv.end());
    std::vector<FlagSpec> specs;
    if (sub == "add" || sub == "set") {
        specs = provider_flags();
    } else if (sub == "show") {
        specs = {{"reveal", false, false}};
    } else if (sub != "list" && sub != "rm") {
        return usage_error("provider", "unknown provider command '" + sub + "'");
    }
    std::string cmd = "provider " + sub;
    auto args = parse_args(rest, specs, ctx);
    if (!args) return usage_error(cmd, args.error().describe());
    if (args->help) {
        if (sub == "add") {
            std::cout << "usage: llmproxy-ctl provider add NAME --format openai|anthropic --base-url URL\n"
                         "           [--api-key KEY|- | --api-key-env VAR] [--header 'Name: value']...\n"
                         "           [--model-max-tokens MODEL=N]... [--quirk NAME=VALUE]... [--upstream NAME]\n"
                      << kOptionsHelp << quirk_help();
        } else if (sub == "set") {
            std::cout << "usage: llmproxy-ctl provider set NAME [options of provider add] [set-only options]\n"
                      << kOptionsHelp << kSetOnlyHelp << quirk_help();
        } else if (sub == "list") {
            std::cout << "usage: llmproxy-ctl [--json] provider list\n\nLists providers. API keys are shown as "
                         "set, env:VAR or none.\n";
        } else if (sub == "show") {
            std::cout << "usage: llmproxy-ctl [--json] provider show NAME [--reveal]\n\nShows one provider. "
                         "--reveal decrypts and prints the stored API key (needs the master key)\n"
                         "and credential-like header values; nothing else ever prints them.\n";
        } else {
            std::cout << "usage: llmproxy-ctl provider rm NAME\n\nRemoves a provider. Refused while a route "
                         "targets it.\n";
        }
        return kExitOk;
    }
    if (sub == "add") return provider_add_or_set(ctx, *args, true);
    if (sub == "set") return provider_add_or_set(ctx, *args, false);
    if (sub == "list") return provider_list(ctx, *args);
    if (sub == "show") return provider_show(ctx, *args);
    return provider_rm(ctx, *args);
}

}  // namespace llmproxy::ctl
