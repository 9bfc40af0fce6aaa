// llmproxy-ctl key create|list|show|disable|enable|rotate|rm
#include <algorithm>
#include <iostream>

#include <openssl/crypto.h>

#include "cli.hpp"

namespace llmproxy::ctl {

namespace {

using store::KeyRecord;

constexpr const char* kKeyHelp = R"(usage: llmproxy-ctl key COMMAND ...

  create NAME [--models PATTERN,...] [--expires DURATION|RFC3339]
                     issue a key; its secret is printed once, never again
  list               all keys
  show ID            one key
  disable ID         reject the key until enabled again
  enable ID
  rotate ID          new secret for the same id and settings; the old secret
                     stops working at once; the new one is printed once
  rm ID              delete the key

Keys look like sk-llmp-<43 base62 characters> (256 random bits). The store
keeps only their SHA-256 digest, a display prefix and the last 4 characters.

  --models PATTERN,...   models the key may use (repeatable, or comma
                         separated); same syntax as route patterns: exact
                         name, glob with * and ?, re:REGEX. Default: all.
  --expires WHEN         a duration from now (30d, 12h, 90m, 45s, 2w, 1d12h)
                         or an RFC 3339 time (2026-12-31T23:59:59Z)
)";

std::string display(const KeyRecord& k) { return k.prefix + "..." + k.last4; }

std::string models_text(const KeyRecord& k) {
    if (k.models.empty()) return "*";
    std::string out;
    for (const auto& m : k.models) {
        if (!out.empty()) out += ",";
        out += m;
    }
    return out;
}

void write_key_json(JsonWriter& w, const KeyRecord& k) {
    w.StartObject();
    json_key_string(w, "id", k.id);
    json_key_string(w, "name", k.name);
    json_key_string(w, "prefix", k.prefix);
    json_key_string(w, "last4", k.last4);
    json_key_string(w, "display", display(k));
    w.Key("models");
    w.StartArray();
    for (const auto& m : k.models) json_string(w, m);
    w.EndArray();
    json_key_time(w, "expires_at", k.expires_at);
    json_key_string(w, "state", store::key_state_name(store::key_state(k, now_unix())));
    json_key_time(w, "created_at", k.created_at);
    w.EndObject();
}

// Prints a freshly issued secret (create and rotate) and wipes it.
void print_secret(const Context& ctx, const KeyRecord& k, std::string& secret) {
    if (ctx.json) {
        rapidjson::StringBuffer sb;
        JsonWriter w(sb);
        w.StartObject();
        json_key_string(w, "id", k.id);
        json_key_string(w, "key", secret);
        json_key_string(w, "name", k.name);
        json_key_time(w, "expires_at", k.expires_at);
        w.EndObject();
        print_json(sb);
        OPENSSL_cleanse(const_cast<char*>(sb.GetString()), sb.GetSize());
    } else {
        std::cout << "id:      " << k.id << "\n"
                  << "name:    " << k.name << "\n"
                  << "expires: " << format_time(k.expires_at) << "\n"
                  << "key:     " << secret << "\n";
        std::cerr << "Store this key now: it cannot be shown again.\n";
    }
    std::cout.flush();
    OPENSSL_cleanse(secret.data(), secret.size());
}

std::optional<std::string> parse_key_options(const Args& args, KeyRecord& k) {
    for (const auto& spec : args.all("models")) {
        for (auto& m : split_list(spec)) {
            if (m == "default") return "'default' is a route, not a model pattern";
            if (Status st = store::validate_pattern(m); !st) return st.error().message;
            if (std::find(k.models.begin(), k.models.end(), m) == k.models.end()) k.models.push_back(m);
        }
    }
    if (args.has("models") && k.models.empty()) return "--models needs at least one pattern";
    if (auto when = args.get("expires")) {
        std::int64_t now = now_unix();
        if (auto secs = parse_duration(*when)) {
            k.expires_at = now + *secs;
        } else if (auto at = parse_rfc3339(*when)) {
            if (*at <= now) return "--expires " + *when + " is in the past";
            k.expires_at = *at;
        } else {
            return "--expires needs a duration (30d, 12h, 90m, 45s) or an RFC 3339 time, got '" + *when + "'";
        }
    }
    return std::nullopt;
}

int key_create(Context& ctx, const Args& args) {
    if (args.positional.size() != 1) return usage_error("key create", "expected exactly one key NAME");
    KeyRecord k;
    k.name = args.positional[0];
    bool name_ok = !k.name.empty() && k.name.size() <= 128;
    for (unsigned char c : k.name) name_ok = name_ok && c >= 0x20 && c != 0x7f;
    if (!name_ok) return usage_error("key create", "NAME must be 1-128 printable characters");
    if (auto problem = parse_key_options(args, k)) return usage_error("key create", *problem);
    auto writer = open_store(ctx);
    if (!writer) return fail(writer.error());
    k.id = store::generate_key_id();
    std::string secret = store::generate_key_secret();
    store::set_key_secret(k, secret);
    k.created_at = now_unix();
    if (Status st = (*writer)->put_key(k, true); !st) {
        OPENSSL_cleanse(secret.data(), secret.size());
        return fail(st.error());
    }
    print_secret(ctx, k, secret);
    return kExitOk;
}

Result<KeyRecord> get_key(store::StoreWriter& writer, const std::string& id) {
    auto k = writer.get_key_by_id(id);
    if (!k) return k.error();
    if (!*k) return make_error(ErrorCode::kNotFound, "", "key '" + id + "' not found");
    return std::move(**k);
}

int key_list(Context& ctx, const Args& args) {
    if (!args.positional.empty()) return usage_error("key list", "unexpected argument");
    auto writer = open_store(ctx);
    if (!writer) return fail(writer.error());
    auto keys = (*writer)->list_keys();
    if (!keys) return fail(keys.error());
    std::sort(keys->begin(), keys->end(), [](const KeyRecord& a, const KeyRecord& b) {
        return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
    });
    if (ctx.json) {
        rapidjson::StringBuffer sb;
        JsonWriter w(sb);
        w.StartArray();
        for (const auto& k : *keys) write_key_json(w, k);
        w.EndArray();
        print_json(sb);
        return kExitOk;
    }
    std::vector<std::vector<std::string>> rows;
    std::int64_t now = now_unix();
    for (const auto& k : *keys) {
        rows.push_back({k.id, k.name, display(k), models_text(k), format_time(k.expires_at),
                        std::string(store::key_state_name(store::key_state(k, now))), format_time(k.created_at)});
    }
    print_table({"ID", "NAME", "KEY", "MODELS", "EXPIRES", "STATE", "CREATED"}, rows);
    return kExitOk;
}

int key_show(Context& ctx, const Args& args) {
    if (args.positional.size() != 1) return usage_error("key show", "expected exactly one key ID");
    auto writer = open_store(ctx);
    if (!writer) return fail(writer.error());
    auto k = get_key(**writer, args.positional[0]);
    if (!k) return fail(k.error());
    if (ctx.json) {
        rapidjson::StringBuffer sb;
        JsonWriter w(sb);
        write_key_json(w, *k);
        print_json(sb);
        return kExitOk;
    }
    std::cout << "id:      " << k->id << "\n"
              << "name:    " << k->name << "\n"
              << "key:     " << display(*k) << "\n"
              << "models:  " << models_text(*k) << "\n"
              << "expires: " << format_time(k->expires_at) << "\n"
              << "state:   " << store::key_state_name(store::key_state(*k, now_unix())) << "\n"
              << "created: " << format_time(k->created_at) << "\n";
    return kExitOk;
}

int key_set_disabled(Context& ctx, const Args& args, bool disabled) {
    const char* cmd = disabled ? "key disable" : "key enable";
    if (args.positional.size() != 1) return usage_error(cmd, "expected exactly one key ID");
    auto writer = open_store(ctx);
    if (!writer) return fail(writer.error());
    auto k = (*writer)->update_key(args.positional[0], [&](KeyRecord& rec) {
        rec.disabled = disabled;
        return Status();
    });
    if (!k) return fail(k.error());
    if (ctx.json) {
        rapidjson::StringBuffer sb;
        JsonWriter w(sb);
        write_key_json(w, *k);
        print_json(sb);
    } else {
        std::cout << "key " << k->id << (disabled ? " disabled" : " enabled") << "\n";
    }
    return kExitOk;
}

int key_rotate(Context& ctx, const Args& args) {
    if (args.positional.size() != 1) return usage_error("key rotate", "expected exactly one key ID");
    auto writer = open_store(ctx);
    if (!writer) return fail(writer.error());
    std::string secret = store::generate_key_secret();
    // One transaction: a concurrent disable is neither lost nor reverted.
    auto k = (*writer)->update_key(args.positional[0], [&](KeyRecord& rec) {
        store::set_key_secret(rec, secret);
        return Status();
    });
    if (!k) {
        OPENSSL_cleanse(secret.data(), secret.size());
        return fail(k.error());
    }
    print_secret(ctx, *k, secret);
    return kExitOk;
}

int key_rm(Context& ctx, const Args& args) {
    if (args.positional.size() != 1) return usage_error("key rm", "expected exactly one key ID");
    auto writer = open_store(ctx);
    if (!writer) return fail(writer.error());
    if (Status st = (*writer)->remove_key(args.positional[0]); !st) return fail(st.error());
    return report_removed(ctx, args.positional[0], std::string("key ") + args.positional[0]);
}

}  // namespace

int cmd_key(Context& ctx, const std::vector<std::string>& argv) {
    if (argv.empty() || argv[0] == "--help" || argv[0] == "-h") {
        std::cout << kKeyHelp;
        return argv.empty() ? kExitUsage : kExitOk;
    }
    const std::string& sub = argv[0];
    static const std::vector<std::string> known = {"create", "list", "show", "disable", "enable", "rotate", "rm"};
    if (std::find(known.begin(), known.end(), sub) == known.end()) {
        return usage_error("key", "unknown key command '" + sub + "'");
    }
    std::vector<FlagSpec> specs;
    if (sub == "create") specs = {{"models", true, true}, {"expires", true, false}};
    std::string cmd = "key " + sub;
    auto args = parse_args(std::vector<std::string>(argv.begin() + 1, argv.end()), specs, ctx);
    if (!args) return usage_error(cmd, args.error().describe());
    if (args->help) {
        std::cout << kKeyHelp;
        return kExitOk;
    }
    if (sub == "create") return key_create(ctx, *args);
    if (sub == "list") return key_list(ctx, *args);
    if (sub == "show") return key_show(ctx, *args);
    if (sub == "disable") return key_set_disabled(ctx, *args, true);
    if (sub == "enable") return key_set_disabled(ctx, *args, false);
    if (sub == "rotate") return key_rotate(ctx, *args);
    return key_rm(ctx, *args);
}

}  // namespace llmproxy::ctl
