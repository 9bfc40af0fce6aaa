// llmproxy-ctl: the only writer of the llmproxy store.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "cli.hpp"

namespace {

constexpr const char* kUsage = R"(usage: llmproxy-ctl [--store DIR] [--master-key FILE] [--json] COMMAND ...

Manages the LMDB store that the llmproxy nginx module reads: API keys for
clients, upstream providers and model routes. Changes apply to the next
request; nginx needs no reload.

Global options (accepted before or after the command):
  --store DIR          store directory (default: $LLMPROXY_STORE, then /var/lib/llmproxy)
  --master-key FILE    master key file used to encrypt provider API keys
                       (default: $LLMPROXY_MASTER_KEY, then /etc/llmproxy/master.key)
  --json               machine-readable output
  -h, --help           show help (also after any command)

Commands:
  init [--owner USER[:GROUP]]          create the store and the master key (idempotent)
  provider add|set|list|show|rm        upstream providers
  route set|list|rm|match              map model names to provider/model targets
  key create|list|show|disable|enable|rotate|rm
                                       client API keys

Run 'llmproxy-ctl COMMAND --help' for details. Exit status: 0 success,
1 failure (one-line reason on stderr), 2 bad command line.
)";

std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace llmproxy::ctl;
    Context ctx;
    ctx.store_dir = env_or("LLMPROXY_STORE", "/var/lib/llmproxy");
    ctx.master_key_path = env_or("LLMPROXY_MASTER_KEY", "/etc/llmproxy/master.key");

    std::vector<std::string> args(argv + 1, argv + argc);
    // Global options before the command.
    std::size_t i = 0;
    while (i < args.size() && args[i].size() > 1 && args[i][0] == '-') {
        const std::string& a = args[i];
        if (a == "-h" || a == "--help") {
            std::cout << kUsage;
            return kExitOk;
        }
        auto take_value = [&](const std::string& flag, std::string& out) -> bool {
            if (a == flag) {
                if (i + 1 >= args.size()) return false;
                out = args[++i];
                return true;
            }
            out = a.substr(flag.size() + 1);
            return true;
        };
        if (a == "--json") {
            ctx.json = true;
        } else if (a == "--store" || a.rfind("--store=", 0) == 0) {
            if (!take_value("--store", ctx.store_dir)) return usage_error("", "option --store needs a value");
        } else if (a == "--master-key" || a.rfind("--master-key=", 0) == 0) {
            if (!take_value("--master-key", ctx.master_key_path)) {
                return usage_error("", "option --master-key needs a value");
            }
        } else {
            std::cerr << "llmproxy-ctl: unknown option " << a << " (see 'llmproxy-ctl --help')\n";
            return kExitUsage;
        }
        ++i;
    }
    if (i >= args.size()) {
        std::cerr << kUsage;
        return kExitUsage;
    }
    std::string command = args[i];
    std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
    if (command == "help") {
        if (rest.empty()) {
            std::cout << kUsage;
            return kExitOk;
        }
        command = rest[0];
        rest = {"--help"};
    }
    if (command == "init") return cmd_init(ctx, rest);
    if (command == "provider") return cmd_provider(ctx, rest);
    if (command == "route") return cmd_route(ctx, rest);
    if (command == "key") return cmd_key(ctx, rest);
    std::cerr << "llmproxy-ctl: unknown command '" << command << "' (see 'llmproxy-ctl --help')\n";
    return kExitUsage;
}
