// Shared plumbing for llmproxy-ctl commands: option parsing, the global
// context, error reporting, tables, JSON output and time formats.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/status.hpp"
#include "core/store.hpp"

namespace llmproxy::ctl {

// Exit statuses: 0 success, 1 the operation failed, 2 the command line was wrong.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Global options, resolved from flags, then the environment, then defaults.
struct Context {
    std::string store_dir;
    std::string master_key_path;
    bool json = false;
};

struct FlagSpec {
    std::string_view name;   // without the leading "--"
    bool takes_value = false;
    bool repeatable = false;
};

// Parsed command line of one command: positional arguments and flags.
class Args {
public:
    std::vector<std::string> positional;
    bool help = false;

    bool has(std::string_view flag) const { return flags_.count(std::string(flag)) != 0; }
    // Last value of a flag that takes one.
    std::optional<std::string> get(std::string_view flag) const;
    std::vector<std::string> all(std::string_view flag) const;
    void add(std::string flag, std::string value) { flags_[std::move(flag)].push_back(std::move(value)); }

private:
    std::map<std::string, std::vector<std::string>> flags_;
};

// Parses `argv` against `specs` plus the global options (which may appear
// anywhere and update `ctx`). "--name value" and "--name=value" both work;
// "--" ends options. Fails with a one-line reason.
Result<Args> parse_args(const std::vector<std::string>& argv, const std::vector<FlagSpec>& specs,
                        Context& ctx);

// Prints "llmproxy-ctl: <reason>" to stderr; returns kExitFailure.
int fail(const Error& e);
int fail(std::string_view message);
// Prints the reason and a pointer to the command's --help; returns kExitUsage.
int usage_error(std::string_view command, std::string_view message);

// Opens the store for a command (never creates it).
Result<std::unique_ptr<store::StoreWriter>> open_store(const Context& ctx);

// Aligned text table with a header row.
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;
void json_string(JsonWriter& w, std::string_view s);
void json_key_string(JsonWriter& w, const char* key, std::string_view s);
// RFC 3339 string, or null for 0.
void json_key_time(JsonWriter& w, const char* key, std::int64_t unix_seconds);
// Prints the buffer and a newline to stdout.
void print_json(const rapidjson::StringBuffer& sb);

// The output of every "rm" command: {"removed": NAME} with --json, else
// "<text> removed". Returns kExitOk.
int report_removed(const Context& ctx, const std::string& name, const std::string& text);

std::int64_t now_unix();
// "2026-01-02T03:04:05Z"; "never" for 0.
std::string format_time(std::int64_t unix_seconds);
// RFC 3339 ("2026-01-02T03:04:05Z", "...+02:00", fractions ignored).
std::optional<std::int64_t> parse_rfc3339(std::string_view text);
// "30d", "12h", "90m", "45s", "2w", or combined "1d12h"; seconds.
std::optional<std::int64_t> parse_duration(std::string_view text);

// Splits a comma-separated list, ignoring commas inside (), [] and {} and
// after a backslash so "re:a{1,3}" stays whole; trims spaces; drops empties.
std::vector<std::string> split_list(std::string_view text);

std::string trim(std::string_view s);

// Commands.
int cmd_init(Context& ctx, const std::vector<std::string>& argv);
int cmd_provider(Context& ctx, const std::vector<std::string>& argv);
int cmd_route(Context& ctx, const std::vector<std::string>& argv);
int cmd_key(Context& ctx, const std::vector<std::string>& argv);

}  // namespace llmproxy::ctl
