#include "cli.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>

namespace llmproxy::ctl {

namespace {

const std::vector<FlagSpec>& global_flags() {
    static const std::vector<FlagSpec> flags = {
        {"store", true, false}, {"master-key", true, false}, {"json", false, false}};
    return flags;
}

const FlagSpec* find_spec(const std::vector<FlagSpec>& specs, std::string_view name) {
    for (const auto& s : specs) {
        if (s.name == name) return &s;
    }
    return nullptr;
}

Error usage(std::string message) { return make_error(ErrorCode::kInvalidRequest, "", std::move(message)); }

bool parse_uint(std::string_view s, std::int64_t& out) {
    if (s.empty() || s.size() > 12) return false;
    std::int64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return true;
}

}  // namespace

std::optional<std::string> Args::get(std::string_view flag) const {
    auto it = flags_.find(std::string(flag));
    if (it == flags_.end() || it->second.empty()) return std::nullopt;
    return it->second.back();
}

std::vector<std::string> Args::all(std::string_view flag) const {
    auto it = flags_.find(std::string(flag));
    return it == flags_.end() ? std::vector<std::string>() : it->second;
}

Result<Args> parse_args(const std::vector<std::string>& argv, const std::vector<FlagSpec>& specs,
                        Context& ctx) {
    Args args;
    bool options_done = false;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const std::string& arg = argv[i];
        if (options_done || arg.size() < 2 || arg[0] != '-') {
            args.positional.push_back(arg);
            continue;
        }
        if (arg == "--") {
            options_done = true;
            continue;
        }
        if (arg == "-h" || arg == "--help") {
            args.help = true;
            continue;
        }
        if (arg.rfind("--", 0) != 0) return usage("unknown option " + arg);
        std::string name = arg.substr(2);
        std::optional<std::string> inline_value;
        if (auto eq = name.find('='); eq != std::string::npos) {
            inline_value = name.substr(eq + 1);
            name.resize(eq);
        }
        const FlagSpec* spec = find_spec(specs, name);
        bool global = false;
        if (!spec) {
            spec = find_spec(global_flags(), name);
            global = spec != nullptr;
        }
        if (!spec) return usage("unknown option --" + name);
        std::string value;
        if (spec->takes_value) {
            if (inline_value) {
                value = *inline_value;
            } else if (i + 1 < argv.size()) {
                value = argv[++i];
            } else {
                return usage("option --" + name + " needs a value");
            }
        } else if (inline_value) {
            return usage("option --" + name + " takes no value");
        }
        if (global) {
            if (name == "store") ctx.store_dir = value;
            else if (name == "master-key") ctx.master_key_path = value;
            else if (name == "json") ctx.json = true;
            continue;
        }
        if (!spec->repeatable && args.has(name)) return usage("option --" + name + " given twice");
        args.add(name, value);
    }
    return args;
}

// Store and validation messages name what they are about; the JSON field
// path is for API clients, not for a command line.
int fail(const Error& e) { return fail(e.message); }

int fail(std::string_view message) {
    std::string line = "llmproxy-ctl: " + std::string(message) + "\n";
    std::fputs(line.c_str(), stderr);
    return kExitFailure;
}

int usage_error(std::string_view command, std::string_view message) {
    std::string where = command.empty() ? std::string() : std::string(command) + " ";
    std::string line = "llmproxy-ctl: " + std::string(message) + " (see 'llmproxy-ctl " + where +
                       "--help')\n";
    std::fputs(line.c_str(), stderr);
    return kExitUsage;
}

Result<std::unique_ptr<store::StoreWriter>> open_store(const Context& ctx) {
    return store::StoreWriter::open(ctx.store_dir, false);
}

void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width(header.size());
    for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
    for (const auto& row : rows) {
        for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) {
            width[c] = std::max(width[c], row[c].size());
        }
    }
    auto print_row = [&](const std::vector<std::string>& row) {
        std::string line;
        for (std::size_t c = 0; c < row.size(); ++c) {
            line += row[c];
            if (c + 1 < row.size()) line.append(width[c] - row[c].size() + 2, ' ');
        }
        std::cout << line << '\n';
    };
    print_row(header);
    for (const auto& row : rows) print_row(row);
}

void json_string(JsonWriter& w, std::string_view s) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void json_key_string(JsonWriter& w, const char* key, std::string_view s) {
    w.Key(key);
    json_string(w, s);
}

void json_key_time(JsonWriter& w, const char* key, std::int64_t unix_seconds) {
    w.Key(key);
    if (unix_seconds == 0) w.Null();
    else json_string(w, format_time(unix_seconds));
}

void print_json(const rapidjson::StringBuffer& sb) {
    std::cout.write(sb.GetString(), static_cast<std::streamsize>(sb.GetSize()));
    std::cout << '\n';
}

std::int64_t now_unix() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string format_time(std::int64_t unix_seconds) {
    if (unix_seconds == 0) return "never";
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
    // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
    auto digits = [&](std::size_t pos, std::size_t n, int& out) {
        if (pos + n > s.size()) return false;
        int v = 0;
        for (std::size_t i = pos; i < pos + n; ++i) {
            if (s[i] < '0' || s[i] > '9') return false;
            v = v * 10 + (s[i] - '0');
        }
        out = v;
        return true;
    };
    int year, mon, day, hour, min, sec;
    if (s.size() < 20 || !digits(0, 4, year) || s[4] != '-' || !digits(5, 2, mon) || s[7] != '-' ||
        !digits(8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(11, 2, hour) ||
        s[13] != ':' || !digits(14, 2, min) || s[16] != ':' || !digits(17, 2, sec)) {
        return std::nullopt;
    }
    std::size_t pos = 19;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        std::size_t start = pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
        if (pos == start) return std::nullopt;
    }
    if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return std::nullopt;
    std::int64_t offset = 0;
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        int oh, om;
        if (!digits(pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(pos + 4, 2, om) ||
            oh > 23 || om > 59) {
            return std::nullopt;
        }
        offset = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != s.size()) return std::nullopt;
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec == 60 ? 59 : sec;
    std::time_t t = timegm(&tm);
    // timegm normalises out-of-range days (Feb 30 -> Mar 2); refuse those.
    if (tm.tm_mday != day || tm.tm_mon != mon - 1) return std::nullopt;
    return static_cast<std::int64_t>(t) - offset;
}

std::optional<std::int64_t> parse_duration(std::string_view s) {
    if (s.empty()) return std::nullopt;
    std::int64_t total = 0;
    std::size_t pos = 0;
    while (pos < s.size()) {
        std::size_t start = pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
        std::int64_t n = 0;
        if (!parse_uint(s.substr(start, pos - start), n) || pos >= s.size()) return std::nullopt;
        std::int64_t unit = 0;
        switch (s[pos]) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        case 'w': unit = 7 * 86400; break;
        default: return std::nullopt;
        }
        ++pos;
        total += n * unit;
        if (total > std::int64_t(100) * 366 * 86400) return std::nullopt;  // 100 years
    }
    if (total <= 0) return std::nullopt;
    return total;
}

std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> out;
    std::string current;
    int depth = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '\\' && i + 1 < text.size()) {
            current += c;
            current += text[++i];
            continue;
        }
        if (c == '(' || c == '[' || c == '{') ++depth;
        if ((c == ')' || c == ']' || c == '}') && depth > 0) --depth;
        if (c == ',' && depth == 0) {
            if (auto t = trim(current); !t.empty()) out.push_back(t);
            current.clear();
            continue;
        }
        current += c;
    }
    if (auto t = trim(current); !t.empty()) out.push_back(t);
    return out;
}

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return std::string(s);
}

}  // namespace llmproxy::ctl

namespace llmproxy::ctl {

int report_removed(const Context& ctx, const std::string& name, const std::string& text) {
    if (ctx.json) {
        rapidjson::StringBuffer sb;
        JsonWriter w(sb);
        w.StartObject();
        json_key_string(w, "removed", name);
        w.EndObject();
        print_json(sb);
    } else {
        std::cout << text << " removed\n";
    }
    return kExitOk;
}

}  // namespace llmproxy::ctl
