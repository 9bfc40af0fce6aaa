// llmproxy-ctl init: creates the store and the master key.
#include <cerrno>
#include <filesystem>
#include <iostream>

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "cli.hpp"
#include "core/store_internal.hpp"

namespace llmproxy::ctl {

namespace {

constexpr const char* kInitHelp = R"(usage: llmproxy-ctl init [--owner USER[:GROUP]]

Creates the store directory (mode 0750), the LMDB environment with its named
databases and schema version, and the master key file (64 hex characters,
mode 0600, parent directory 0700 if created). Idempotent: an existing store
and an existing master key are kept. The master key must live outside the
store directory.

  --owner USER[:GROUP]  hand the store directory, data.mdb and lock.mdb to the
                        user nginx workers run as (e.g. www-data). Workers
                        read data.mdb and must be able to write lock.mdb.
                        GROUP defaults to USER's primary group.
)";

// A numeric uid/gid (short enough that std::stoul cannot overflow).
bool all_digits(std::string_view s) {
    if (s.empty() || s.size() > 9) return false;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

struct Owner {
    uid_t uid;
    gid_t gid;
};

Result<Owner> resolve_owner(const std::string& spec) {
    std::string user = spec, group_name;
    if (auto colon = spec.find(':'); colon != std::string::npos) {
        user = spec.substr(0, colon);
        group_name = spec.substr(colon + 1);
    }
    if (user.empty()) return make_error(ErrorCode::kInvalidRequest, "", "--owner needs a user");
    Owner owner{};
    if (const passwd* pw = ::getpwnam(user.c_str())) {
        owner.uid = pw->pw_uid;
        owner.gid = pw->pw_gid;
    } else if (all_digits(user)) {
        owner.uid = static_cast<uid_t>(std::stoul(user));
        owner.gid = static_cast<gid_t>(-1);
    } else {
        return make_error(ErrorCode::kInvalidRequest, "", "unknown user '" + user + "'");
    }
    if (!group_name.empty()) {
        if (const group* gr = ::getgrnam(group_name.c_str())) {
            owner.gid = gr->gr_gid;
        } else if (all_digits(group_name)) {
            owner.gid = static_cast<gid_t>(std::stoul(group_name));
        } else {
            return make_error(ErrorCode::kInvalidRequest, "", "unknown group '" + group_name + "'");
        }
    }
    return owner;
}

// True when `inner` is `outer` or below it, comparing resolved paths.
bool is_within(const std::filesystem::path& outer, const std::filesystem::path& inner) {
    auto o = outer.begin(), i = inner.begin();
    for (; o != outer.end(); ++o, ++i) {
        if (o->empty()) continue;  // trailing separator
        if (i == inner.end() || *o != *i) return false;
    }
    return true;
}

}  // namespace

int cmd_init(Context& ctx, const std::vector<std::string>& argv) {
    auto args = parse_args(argv, {{"owner", true, false}}, ctx);
    if (!args) return usage_error("init", args.error().describe());
    if (args->help) {
        std::cout << kInitHelp;
        return kExitOk;
    }
    if (!args->positional.empty()) return usage_error("init", "unexpected argument '" + args->positional[0] + "'");
    std::optional<Owner> owner;
    if (auto spec = args->get("owner")) {
        auto o = resolve_owner(*spec);
        if (!o) return usage_error("init", o.error().describe());
        owner = *o;
    }

    std::error_code ec;
    auto store_path = std::filesystem::weakly_canonical(std::filesystem::absolute(ctx.store_dir), ec);
    auto key_path = std::filesystem::weakly_canonical(std::filesystem::absolute(ctx.master_key_path), ec);
    if (!ec && is_within(store_path, key_path)) {
        return fail("master key file " + ctx.master_key_path + " must not be inside the store directory " +
                    ctx.store_dir);
    }

    auto writer = store::StoreWriter::open(ctx.store_dir, true);
    if (!writer) return fail(writer.error());
    writer->reset();  // close the environment before handing files over

    bool key_existed = std::filesystem::exists(ctx.master_key_path, ec);
    auto key = store::create_master_key_if_missing(ctx.master_key_path);
    if (!key) return fail(key.error());

    if (owner) {
        for (const std::string& path :
             {ctx.store_dir, ctx.store_dir + "/data.mdb", ctx.store_dir + "/lock.mdb"}) {
            if (::chown(path.c_str(), owner->uid, owner->gid) != 0) {
                return fail(store::errno_error(errno, "cannot chown", path));
            }
        }
    }

    if (ctx.json) {
        rapidjson::StringBuffer sb;
        JsonWriter w(sb);
        w.StartObject();
        json_key_string(w, "store", ctx.store_dir);
        w.Key("schema_version");
        w.Uint(store::kSchemaVersion);
        json_key_string(w, "master_key", ctx.master_key_path);
        w.Key("master_key_created");
        w.Bool(!key_existed);
        if (auto spec = args->get("owner")) json_key_string(w, "owner", *spec);
        w.EndObject();
        print_json(sb);
    } else {
        std::cout << "store ready at " << ctx.store_dir << " (schema version " << store::kSchemaVersion << ")\n"
                  << "master key " << (key_existed ? "kept at " : "created at ") << ctx.master_key_path << "\n";
        if (auto spec = args->get("owner")) std::cout << "store files owned by " << *spec << "\n";
    }
    return kExitOk;
}

}  // namespace llmproxy::ctl
