// Route patterns: exact model names, globs ('*' any run of characters, '?'
// one character) matched without regex, "re:REGEX" via PCRE2 (UTF, anchored
// at both ends so the whole model name must match), and "default".
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <map>
#include <string>

#include "core/scenario.hpp"
#include "core/store.hpp"
#include "core/store_internal.hpp"

namespace llmproxy::store {

namespace {

constexpr std::string_view kRegexPrefix = "re:";
constexpr std::string_view kDefaultPattern = "default";
constexpr std::size_t kMaxPatternLen = 512;
// Bounds backtracking so a pathological regex cannot stall a worker.
constexpr std::uint32_t kRegexMatchLimit = 100000;

enum class PatternKind { kExact, kGlob, kRegex, kDefault, kScenario };

PatternKind kind_of(std::string_view pattern) {
    if (pattern == kDefaultPattern) return PatternKind::kDefault;
    if (is_scenario_route_key(pattern)) return PatternKind::kScenario;
    if (pattern.substr(0, kRegexPrefix.size()) == kRegexPrefix) return PatternKind::kRegex;
    if (pattern.find_first_of("*?") != std::string_view::npos) return PatternKind::kGlob;
    return PatternKind::kExact;
}

struct CodeDeleter {
    void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
using RegexCode = std::unique_ptr<pcre2_code, CodeDeleter>;

struct MatchContextDeleter {
    void operator()(pcre2_match_context* c) const { pcre2_match_context_free(c); }
};
using MatchContext = std::unique_ptr<pcre2_match_context, MatchContextDeleter>;

struct MatchDataDeleter {
    void operator()(pcre2_match_data* d) const { pcre2_match_data_free(d); }
};
using MatchData = std::unique_ptr<pcre2_match_data, MatchDataDeleter>;

Result<RegexCode> compile_regex(std::string_view pattern) {
    std::string_view re = pattern.substr(kRegexPrefix.size());
    if (re.empty()) {
        return make_error(ErrorCode::kInvalidRequest, "pattern", "empty regular expression in '" +
                                                                     std::string(pattern) + "'");
    }
    int err = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(re.data()), re.size(),
                                     PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED |
                                         PCRE2_NEVER_BACKSLASH_C,
                                     &err, &offset, nullptr);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return make_error(ErrorCode::kInvalidRequest, "pattern",
                          "invalid regular expression '" + std::string(pattern) + "' at offset " +
                              std::to_string(offset) + ": " + reinterpret_cast<const char*>(msg));
    }
    // JIT is an optimisation only; the interpreter is used when it fails.
    (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    return RegexCode(code);
}

MatchContext make_match_context() {
    MatchContext ctx(pcre2_match_context_create(nullptr));
    if (ctx) pcre2_set_match_limit(ctx.get(), kRegexMatchLimit);
    return ctx;
}

bool regex_matches(const pcre2_code* code, pcre2_match_context* ctx, std::string_view model) {
    MatchData md(pcre2_match_data_create_from_pattern(code, nullptr));
    if (!md) return false;
    int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(model.data()), model.size(), 0, 0,
                         md.get(), ctx);
    return rc >= 0;  // errors (bad UTF-8, match limit) count as no match
}

// Length of the UTF-8 sequence starting at s[i] (1 for invalid lead bytes,
// so malformed input still advances).
std::size_t utf8_char_len(std::string_view s, std::size_t i) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
    return std::min(n, s.size() - i);
}

// Iterative glob match with a single backtrack point: linear in practice and
// never exponential, whatever the number of '*'.
bool glob_matches(std::string_view pattern, std::string_view text) {
    std::size_t p = 0, t = 0;
    std::size_t star_p = std::string_view::npos, star_t = 0;
    while (t < text.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star_p = p++;
            star_t = t;
        } else if (p < pattern.size() && pattern[p] == '?') {
            ++p;
            t += utf8_char_len(text, t);
        } else if (p < pattern.size() && pattern[p] == text[t]) {
            ++p;
            ++t;
        } else if (star_p != std::string_view::npos) {
            p = star_p + 1;
            star_t += utf8_char_len(text, star_t);
            t = star_t;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

std::size_t literal_chars(std::string_view glob) {
    return static_cast<std::size_t>(
        std::count_if(glob.begin(), glob.end(), [](char c) { return c != '*' && c != '?'; }));
}

Status validate_pattern_text(std::string_view pattern) {
    if (pattern.empty()) return make_error(ErrorCode::kInvalidRequest, "pattern", "empty pattern");
    if (pattern.size() > kMaxPatternLen) {
        return make_error(ErrorCode::kInvalidRequest, "pattern",
                          "pattern is longer than " + std::to_string(kMaxPatternLen) + " characters");
    }
    for (unsigned char c : pattern) {
        if (c < 0x20 || c == 0x7f) {
            return make_error(ErrorCode::kInvalidRequest, "pattern", "pattern contains control characters");
        }
    }
    return Status();
}

}  // namespace

struct RouteTable::Impl {
    std::vector<RouteRecord> routes;  // sorted by pattern text
    std::map<std::string, std::size_t, std::less<>> exact;
    std::vector<std::size_t> globs;  // precedence order
    std::vector<std::pair<std::size_t, RegexCode>> regexes;  // pattern order
    std::optional<std::size_t> fallback;  // "default"
    std::map<std::string, std::size_t, std::less<>> scenarios;
    MatchContext match_context = make_match_context();
};

RouteTable::RouteTable() : impl_(std::make_unique<Impl>()) {}
RouteTable::~RouteTable() = default;
RouteTable::RouteTable(RouteTable&&) noexcept = default;
RouteTable& RouteTable::operator=(RouteTable&&) noexcept = default;

Result<RouteTable> RouteTable::build(std::vector<RouteRecord> routes) {
    std::sort(routes.begin(), routes.end(),
              [](const RouteRecord& a, const RouteRecord& b) { return a.pattern < b.pattern; });
    RouteTable table;
    Impl& impl = *table.impl_;
    impl.routes = std::move(routes);
    for (std::size_t i = 0; i < impl.routes.size(); ++i) {
        const std::string& pattern = impl.routes[i].pattern;
        if (i > 0 && impl.routes[i - 1].pattern == pattern) {
            return make_error(ErrorCode::kInvalidRequest, "pattern", "duplicate route '" + pattern + "'");
        }
        if (Status st = validate_pattern_text(pattern); !st) return st.error();
        switch (kind_of(pattern)) {
        case PatternKind::kDefault: impl.fallback = i; break;
        case PatternKind::kScenario: impl.scenarios.emplace(pattern, i); break;
        case PatternKind::kExact: impl.exact.emplace(pattern, i); break;
        case PatternKind::kGlob: impl.globs.push_back(i); break;
        case PatternKind::kRegex: {
            auto code = compile_regex(pattern);
            if (!code) return code.error();
            impl.regexes.emplace_back(i, std::move(code.value()));
            break;
        }
        }
    }
    // Most literal characters first: "claude-3-5-*" beats "claude-*" beats "*".
    // Ties keep pattern-text order (the vector is already sorted by it).
    std::stable_sort(impl.globs.begin(), impl.globs.end(), [&](std::size_t a, std::size_t b) {
        return literal_chars(impl.routes[a].pattern) > literal_chars(impl.routes[b].pattern);
    });
    return Result<RouteTable>(std::move(table));
}

const RouteRecord* RouteTable::match(std::string_view model) const {
    const Impl& impl = *impl_;
    if (auto it = impl.exact.find(model); it != impl.exact.end()) return &impl.routes[it->second];
    for (std::size_t i : impl.globs) {
        if (glob_matches(impl.routes[i].pattern, model)) return &impl.routes[i];
    }
    for (const auto& [i, code] : impl.regexes) {
        if (regex_matches(code.get(), impl.match_context.get(), model)) return &impl.routes[i];
    }
    if (impl.fallback) return &impl.routes[*impl.fallback];
    return nullptr;
}

const RouteRecord* RouteTable::scenario(std::string_view key) const {
    auto it = impl_->scenarios.find(key);
    return it == impl_->scenarios.end() ? nullptr : &impl_->routes[it->second];
}

bool RouteTable::has_scenarios() const { return !impl_->scenarios.empty(); }

const std::vector<RouteRecord>& RouteTable::routes() const { return impl_->routes; }

std::vector<const RouteRecord*> RouteTable::in_precedence_order() const {
    const Impl& impl = *impl_;
    std::vector<const RouteRecord*> out;
    out.reserve(impl.routes.size());
    for (const auto& [pattern, i] : impl.scenarios) out.push_back(&impl.routes[i]);
    for (const auto& [pattern, i] : impl.exact) out.push_back(&impl.routes[i]);
    for (std::size_t i : impl.globs) out.push_back(&impl.routes[i]);
    for (const auto& entry : impl.regexes) out.push_back(&impl.routes[entry.first]);
    if (impl.fallback) out.push_back(&impl.routes[*impl.fallback]);
    return out;
}

Status validate_pattern(std::string_view pattern) {
    if (Status st = validate_pattern_text(pattern); !st) return st;
    if (kind_of(pattern) == PatternKind::kScenario && !scenario_from_route_key(pattern)) {
        return make_error(ErrorCode::kInvalidRequest, "pattern",
                          "unknown scenario '" + std::string(pattern) +
                              "' (scenario:long-context, scenario:web-search, scenario:image, "
                              "scenario:think, scenario:background)");
    }
    if (kind_of(pattern) == PatternKind::kRegex) {
        auto code = compile_regex(pattern);
        if (!code) return code.status();
    }
    return Status();
}

bool pattern_matches(std::string_view pattern, std::string_view model) {
    switch (kind_of(pattern)) {
    case PatternKind::kDefault: return false;
    case PatternKind::kScenario: return false;
    case PatternKind::kExact: return pattern == model;
    case PatternKind::kGlob: return glob_matches(pattern, model);
    case PatternKind::kRegex: {
        // Compiled per call: key allow-lists are short and rarely regexes.
        auto code = compile_regex(pattern);
        if (!code) return false;
        MatchContext ctx = make_match_context();
        return regex_matches(code->get(), ctx.get(), model);
    }
    }
    return false;
}

}  // namespace llmproxy::store
