// llmproxy-ctl route set|list|rm|match
#include <cstdlib>
#include <iostream>

#include "cli.hpp"

namespace llmproxy::ctl {

namespace {

using store::RouteRecord;

constexpr const char* kRouteHelp = R"(usage: llmproxy-ctl route COMMAND ...

  set PATTERN TARGET[,TARGET...] [--threshold TOKENS]
                                   create or replace the route for PATTERN
  list                             routes in the order they are tried
  rm PATTERN                       remove a route
  match MODEL                      show which route a model name takes

PATTERN is one of
  an exact model name              claude-sonnet-4-5
  a glob                           claude-*   ('*' any characters, '?' one)
  re:REGEX                         re:gpt-4o(-mini)?  (PCRE2, UTF-8, must match
                                   the whole model name)
  default                          every model no other route matches
  scenario:NAME                    Claude Code scenario routing (below)

TARGET is provider/model: the provider must exist; the model is what the
provider is asked for and may itself contain '/' (split at the first '/').
The first target is the primary, the rest are fallbacks in order. Separate
targets with commas (commas inside (), [] or {} stay in the model name).

Precedence, first match wins:
  1. the exact name
  2. globs, most literal (non-wildcard) characters first; ties by pattern text
  3. regexes, in pattern text order
  4. default

Scenario routes are consulted before any model pattern. A request that fits
a scenario with a route goes there; the first fitting scenario wins:
  scenario:long-context  estimated input tokens above the route's
                         --threshold (default 60000)
  scenario:web-search    a web_search server tool is declared
  scenario:image         an image anywhere in the request
  scenario:think         extended thinking / reasoning is enabled
  scenario:background    a haiku-class model ("haiku" in the name): Claude
                         Code's background calls
The chosen route shows in $llmproxy_route and the x-llmproxy-route header.
)";

const char* kind_of(const std::string& pattern) {
    if (pattern == "default") return "default";
    if (pattern.rfind("scenario:", 0) == 0) return "scenario";
    if (pattern.rfind("re:", 0) == 0) return "regex";
    if (pattern.find_first_of("*?") != std::string::npos) return "glob";
    return "exact";
}

std::string targets_text(const RouteRecord& r) {
    std::string out;
    for (const auto& t : r.targets) {
        if (!out.empty()) out += ", ";
        out += t.provider + "/" + t.model;
    }
    return out;
}

void write_route_json(JsonWriter& w, const RouteRecord& r) {
    w.StartObject();
    json_key_string(w, "pattern", r.pattern);
    json_key_string(w, "kind", kind_of(r.pattern));
    w.Key("targets");
    w.StartArray();
    for (const auto& t : r.targets) {
        w.StartObject();
        json_key_string(w, "provider", t.provider);
        json_key_string(w, "model", t.model);
        w.EndObject();
    }
    w.EndArray();
    if (r.threshold != 0) {
        w.Key("threshold");
        w.Uint64(r.threshold);
    }
    json_key_time(w, "created_at", r.created_at);
    w.EndObject();
}

Result<store::RouteTable> load_table(const Context& ctx) {
    auto writer = open_store(ctx);
    if (!writer) return writer.error();
    auto routes = (*writer)->list_routes();
    if (!routes) return routes.error();
    return store::RouteTable::build(std::move(*routes));
}

int route_set(Context& ctx, const Args& args) {
    if (args.positional.size() < 2) return usage_error("route set", "expected PATTERN and TARGET[,TARGET...]");
    RouteRecord r;
    r.pattern = args.positional[0];
    if (Status st = store::validate_pattern(r.pattern); !st) return usage_error("route set", st.error().message);
    for (std::size_t i = 1; i < args.positional.size(); ++i) {
        for (const auto& target : split_list(args.positional[i])) {
            auto slash = target.find('/');
            if (slash == std::string::npos || slash == 0 || slash + 1 == target.size()) {
                return usage_error("route set", "target '" + target + "' is not provider/model");
            }
            r.targets.push_back({target.substr(0, slash), target.substr(slash + 1)});
        }
    }
    if (r.targets.empty()) return usage_error("route set", "expected at least one TARGET");
    if (auto t = args.get("threshold")) {
        if (r.pattern != "scenario:long-context") {
            return usage_error("route set", "--threshold is for scenario:long-context");
        }
        // Digits only: strtoull would accept "-5" (wrapping) and saturate on overflow.
        bool digits = !t->empty() && t->size() <= 15 &&
                      t->find_first_not_of("0123456789") == std::string::npos;
        unsigned long long n = digits ? std::strtoull(t->c_str(), nullptr, 10) : 0;
        if (n == 0) {
            return usage_error("route set",
                               "--threshold needs a positive number of tokens (at most 15 digits)");
        }
        r.threshold = n;
    } else if (r.pattern == "scenario:long-context") {
        r.threshold = store::kDefaultLongContextThreshold;
    }
    if (Status st = store::validate_route(r); !st) return usage_error("route set", st.error().message);
    auto writer = open_store(ctx);
    if (!writer) return fail(writer.error());
    r.created_at = now_unix();
    if (Status st = (*writer)->put_route(r); !st) return fail(st.error());
    if (ctx.json) {
        rapidjson::StringBuffer sb;
        JsonWriter w(sb);
        write_route_json(w, r);
        print_json(sb);
    } else {
        std::cout << "route '" << r.pattern << "' -> " << targets_text(r) << "\n";
    }
    return kExitOk;
}

int route_list(Context& ctx, const Args& args) {
    if (!args.positional.empty()) return usage_error("route list", "unexpected argument");
    auto table = load_table(ctx);
    if (!table) return fail(table.error());
    auto ordered = table->in_precedence_order();
    if (ctx.json) {
        rapidjson::StringBuffer sb;
        JsonWriter w(sb);
        w.StartArray();
        for (const RouteRecord* r : ordered) write_route_json(w, *r);
        w.EndArray();
        print_json(sb);
        return kExitOk;
    }
    std::vector<std::vector<std::string>> rows;
    for (const RouteRecord* r : ordered) rows.push_back({r->pattern, kind_of(r->pattern), targets_text(*r)});
    print_table({"PATTERN", "KIND", "TARGETS"}, rows);
    return kExitOk;
}

int route_rm(Context& ctx, const Args& args) {
    if (args.positional.size() != 1) return usage_error("route rm", "expected exactly one PATTERN");
    auto writer = open_store(ctx);
    if (!writer) return fail(writer.error());
    if (Status st = (*writer)->remove_route(args.positional[0]); !st) return fail(st.error());
    return report_removed(ctx, args.positional[0], "route '" + args.positional[0] + "'");
}

int route_match(Context& ctx, const Args& args) {
    if (args.positional.size() != 1) return usage_error("route match", "expected exactly one MODEL");
    auto table = load_table(ctx);
    if (!table) return fail(table.error());
    const RouteRecord* r = table->match(args.positional[0]);
    if (ctx.json) {
        rapidjson::StringBuffer sb;
        JsonWriter w(sb);
        w.StartObject();
        json_key_string(w, "model", args.positional[0]);
        w.Key("route");
        if (r) write_route_json(w, *r);
        else w.Null();
        w.EndObject();
        print_json(sb);
        return kExitOk;
    }
    if (!r) return fail("no route matches '" + args.positional[0] + "'");
    std::cout << args.positional[0] << " -> route '" << r->pattern << "' (" << kind_of(r->pattern)
              << "): " << targets_text(*r) << "\n";
    return kExitOk;
}

}  // namespace

int cmd_route(Context& ctx, const std::vector<std::string>& argv) {
    if (argv.empty() || argv[0] == "--help" || argv[0] == "-h") {
        std::cout << kRouteHelp;
        return argv.empty() ? kExitUsage : kExitOk;
    }
    const std::string& sub = argv[0];
    if (sub != "set" && sub != "list" && sub != "rm" && sub != "match") {
        return usage_error("route", "unknown route command '" + sub + "'");
    }
    std::string cmd = "route " + sub;
    static const std::vector<FlagSpec> set_flags = {{"threshold", true, false}};
    auto args = parse_args(std::vector<std::string>(argv.begin() + 1, argv.end()),
                           sub == "set" ? set_flags : std::vector<FlagSpec>{}, ctx);
    if (!args) return usage_error(cmd, args.error().describe());
    if (args->help) {
        std::cout << kRouteHelp;
        return kExitOk;
    }
    if (sub == "set") return route_set(ctx, *args);
    if (sub == "list") return route_list(ctx, *args);
    if (sub == "rm") return route_rm(ctx, *args);
    return route_match(ctx, *args);
}

}  // namespace llmproxy::ctl
