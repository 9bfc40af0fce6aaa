#include "core/retry_policy.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <string>

#include "core/breaker.hpp"

namespace llmproxy {
namespace {

constexpr std::uint64_t kMaxU64 = std::numeric_limits<std::uint64_t>::max();

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
    return (a != 0 && b > kMaxU64 / a) ? kMaxU64 : a * b;
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
    return b > kMaxU64 - a ? kMaxU64 : a + b;
}

// "123" or "1.5" scaled by `unit_ms` (1000 for seconds, 1 for ms); a
// fraction below one ms rounds up so a hint is never shortened to 0.
std::optional<std::uint64_t> parse_decimal_ms(std::string_view s, std::uint64_t unit_ms) {
    std::size_t i = 0;
    std::uint64_t whole = 0;
    while (i < s.size() && is_digit(s[i])) {
        whole = saturating_add(saturating_mul(whole, 10), std::uint64_t(s[i] - '0'));
        ++i;
    }
    if (i == 0) return std::nullopt;
    std::uint64_t ms = saturating_mul(whole, unit_ms);
    if (i == s.size()) return ms;
    if (s[i] != '.' || i + 1 == s.size()) return std::nullopt;
    ++i;
    // Fraction: keep the digits that are whole ms, round up the rest.
    std::uint64_t frac_ms = 0;
    std::uint64_t scale = unit_ms;
    bool remainder = false;
    for (; i < s.size(); ++i) {
        if (!is_digit(s[i])) return std::nullopt;
        unsigned d = unsigned(s[i] - '0');
        if (scale >= 10) {
            scale /= 10;
            frac_ms += d * scale;
        } else if (d != 0) {
            remainder = true;
        }
    }
    ms = saturating_add(ms, frac_ms + (remainder ? 1 : 0));
    return ms;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool leap_year(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) {
    static constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30,
                                                       31, 31, 30, 31, 30, 31};
    return m == 2 && leap_year(y) ? 29 : kDays[m - 1];
}

// A tiny cursor for the three HTTP-date forms.
class DateCursor {
public:
    explicit DateCursor(std::string_view s) : s_(s) {}

    bool done() const { return pos_ == s_.size(); }
    bool literal(char c) {
        if (pos_ < s_.size() && s_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    bool spaces() {  // one or more
        std::size_t start = pos_;
        while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
        return pos_ > start;
    }
    bool letters() {  // a day name: one or more ASCII letters
        std::size_t start = pos_;
        while (pos_ < s_.size() && ((s_[pos_] >= 'A' && s_[pos_] <= 'Z') ||
                                    (s_[pos_] >= 'a' && s_[pos_] <= 'z'))) {
            ++pos_;
        }
        return pos_ > start;
    }
    // Exactly `min_digits`..`max_digits` digits.
    bool number(unsigned min_digits, unsigned max_digits, unsigned& out) {
        unsigned n = 0, v = 0;
        while (n < max_digits && pos_ < s_.size() && is_digit(s_[pos_])) {
            v = v * 10 + unsigned(s_[pos_] - '0');
            ++pos_;
            ++n;
        }
        out = v;
        return n >= min_digits && !(pos_ < s_.size() && is_digit(s_[pos_]));
    }
    bool month(unsigned& out) {
        static constexpr std::array<std::string_view, 12> kMonths = {
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        std::string_view rest = s_.substr(pos_);
        for (unsigned i = 0; i < kMonths.size(); ++i) {
            if (rest.substr(0, 3) == kMonths[i]) {
                pos_ += 3;
                out = i + 1;
                return true;
            }
        }
        return false;
    }
    bool time_of_day(unsigned& h, unsigned& m, unsigned& sec) {
        return number(2, 2, h) && literal(':') && number(2, 2, m) && literal(':') &&
               number(2, 2, sec);
    }
    bool gmt() {
        if (s_.substr(pos_) != "GMT") return false;
        pos_ = s_.size();
        return true;
    }

private:
    std::string_view s_;
    std::size_t pos_ = 0;
};

std::optional<std::int64_t> parse_http_date(std::string_view s) {
    DateCursor c(s);
    unsigned day = 0, mon = 0, year = 0, h = 0, m = 0, sec = 0;
    std::int64_t full_year = 0;
    if (!c.letters()) return std::nullopt;
    if (c.literal(',')) {
        if (!c.spaces() || !c.number(1, 2, day)) return std::nullopt;
        if (c.literal('-')) {  // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
            if (!c.month(mon) || !c.literal('-') || !c.number(2, 2, year)) return std::nullopt;
            full_year = year < 70 ? 2000 + year : 1900 + year;
        } else {  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
            if (!c.spaces() || !c.month(mon) || !c.spaces() || !c.number(4, 4, year)) {
                return std::nullopt;
            }
            full_year = year;
        }
        if (!c.spaces() || !c.time_of_day(h, m, sec) || !c.spaces() || !c.gmt()) {
            return std::nullopt;
        }
    } else {  // asctime: Sun Nov  6 08:49:37 1994
        if (!c.spaces() || !c.month(mon) || !c.spaces() || !c.number(1, 2, day) ||
            !c.spaces() || !c.time_of_day(h, m, sec) || !c.spaces() || !c.number(4, 4, year) ||
            !c.done()) {
            return std::nullopt;
        }
        full_year = year;
    }
    if (day < 1 || day > days_in_month(full_year, mon) || h > 23 || m > 59 || sec > 60) {
        return std::nullopt;
    }
    return days_from_civil(full_year, mon, day) * 86400 + h * 3600 + m * 60 + std::min(sec, 59u);
}

}  // namespace

Decision next_step(const RetryConfig& cfg, std::uint32_t attempt_on_target,
                   std::uint64_t elapsed_ms, FailureKind kind, int status,
                   std::optional<std::uint64_t> retry_after_ms, std::uint64_t random) {
    const Decision give_up{RetryAction::kGiveUp, 0};
    const Decision next_target{RetryAction::kNextTarget, 0};
    switch (kind) {
    case FailureKind::kStatus:
        if (!is_failure_status(status)) return give_up;
        break;
    case FailureKind::kStreamError:
        if (status != 0 && !is_failure_status(status)) return give_up;
        break;
    case FailureKind::kTimeout:
    case FailureKind::kConnect:
        break;
    }
    if (elapsed_ms >= cfg.total_budget_ms) return give_up;
    if (kind == FailureKind::kTimeout) return next_target;
    std::uint32_t attempt = std::max<std::uint32_t>(attempt_on_target, 1);
    if (attempt > cfg.max_retries) return next_target;

    std::uint64_t delay = 0;
    if (retry_after_ms) {
        if (*retry_after_ms > cfg.max_retry_after_ms) return next_target;
        delay = *retry_after_ms;
    } else {
        unsigned shift = std::min<std::uint32_t>(attempt - 1, 62);
        std::uint64_t ceiling = cfg.base_ms > (cfg.max_backoff_ms >> shift)
                                    ? cfg.max_backoff_ms
                                    : cfg.base_ms << shift;
        // Full jitter: uniform in [0, ceiling].
        delay = ceiling == kMaxU64 ? random : random % (ceiling + 1);
    }
    if (saturating_add(elapsed_ms, delay) >= cfg.total_budget_ms) return next_target;
    return {RetryAction::kRetrySame, delay};
}

std::optional<RouteAttempts::Attempt> RouteAttempts::next(const AdmitFn& admit) {
    for (std::size_t i = current_; i < target_count_; ++i) {
        Admission adm = admit(i, i + 1 == target_count_);
        if (!adm.allowed) continue;
        if (i != current_) {
            current_ = i;
            attempts_on_current_ = 0;
        }
        Attempt a;
        a.target = i;
        a.is_probe = adm.is_probe;
        a.retry = attempts_on_current_ > 0;
        a.fallback = i != 0 && attempts_on_current_ == 0;
        ++attempts_on_current_;
        ++attempts_;
        last_ = a;
        return a;
    }
    current_ = target_count_;
    return std::nullopt;
}

Decision RouteAttempts::on_failure(const RetryConfig& cfg, std::uint64_t elapsed_ms,
                                   FailureKind kind, int status,
                                   std::optional<std::uint64_t> retry_after_ms,
                                   std::uint64_t random) {
    Decision d = next_step(cfg, attempts_on_current_, elapsed_ms, kind, status, retry_after_ms,
                           random);
    if (d.action == RetryAction::kNextTarget) {
        ++current_;
        attempts_on_current_ = 0;
        if (current_ >= target_count_) return {RetryAction::kGiveUp, 0};
    }
    return d;
}

Outcome RouteAttempts::outcome(bool failure, std::uint64_t retry_after_ms,
                               std::uint64_t latency_ms) const {
    Outcome o;
    o.failure = failure;
    o.was_probe = last_.is_probe;
    o.retry_after_ms = retry_after_ms;
    o.latency_ms = latency_ms;
    o.retry = last_.retry;
    o.fallback = last_.fallback;
    return o;
}

std::optional<std::uint64_t> parse_retry_after(std::string_view retry_after,
                                               std::string_view retry_after_ms,
                                               std::int64_t now_unix) {
    if (auto ms = parse_decimal_ms(trim(retry_after_ms), 1)) return ms;
    std::string_view ra = trim(retry_after);
    if (ra.empty()) return std::nullopt;
    if (is_digit(ra.front())) return parse_decimal_ms(ra, 1000);
    std::optional<std::int64_t> when = parse_http_date(ra);
    if (!when) return std::nullopt;
    if (*when <= now_unix) return 0;
    return saturating_mul(static_cast<std::uint64_t>(*when - now_unix), 1000);
}

Result<std::uint64_t> parse_duration_ms(std::string_view text) {
    auto bad = [&](std::string why) {
        return make_error(ErrorCode::kInvalidRequest, "",
                          "invalid duration \"" + std::string(text) + "\": " + why);
    };
    constexpr std::uint64_t kMaxMs = 24ull * 3600 * 1000;
    std::size_t digits = 0;
    std::uint64_t n = 0;
    while (digits < text.size() && is_digit(text[digits])) {
        n = saturating_add(saturating_mul(n, 10), std::uint64_t(text[digits] - '0'));
        ++digits;
    }
    if (digits == 0) return bad("expected digits followed by ms, s or m");
    std::string_view unit = text.substr(digits);
    std::uint64_t ms = 0;
    if (unit == "ms") {
        ms = n;
    } else if (unit == "s") {
        ms = saturating_mul(n, 1000);
    } else if (unit == "m") {
        ms = saturating_mul(n, 60000);
    } else {
        return bad("the unit must be ms, s or m");
    }
    if (ms == 0) return bad("must be greater than 0");
    if (ms > kMaxMs) return bad("at most 24 hours");
    return ms;
}

Status set_timeout(TimeoutConfig& cfg, std::string_view name, std::string_view value) {
    std::string key(name);
    std::replace(key.begin(), key.end(), '-', '_');
    std::uint64_t* slot = key == "connect"      ? &cfg.connect_ms
                          : key == "first_byte" ? &cfg.first_byte_ms
                          : key == "idle"       ? &cfg.idle_ms
                          : key == "total"      ? &cfg.total_ms
                                                : nullptr;
    if (!slot) {
        return make_error(ErrorCode::kInvalidRequest, std::string(name),
                          "unknown timeout (expected connect, first_byte, idle or total)");
    }
    Result<std::uint64_t> ms = parse_duration_ms(value);
    if (!ms) return make_error(ErrorCode::kInvalidRequest, std::string(name), ms.error().message);
    *slot = ms.value();
    return Status();
}

Status apply_timeout_settings(TimeoutConfig& cfg, std::string_view settings) {
    TimeoutConfig updated = cfg;
    std::size_t pos = 0;
    while (pos < settings.size()) {
        std::size_t end = settings.find_first_of(", ", pos);
        if (end == std::string_view::npos) end = settings.size();
        std::string_view item = settings.substr(pos, end - pos);
        pos = end + 1;
        if (item.empty()) continue;
        std::size_t eq = item.find('=');
        if (eq == std::string_view::npos) {
            return make_error(ErrorCode::kInvalidRequest, std::string(item),
                              "expected name=duration");
        }
        if (Status st = set_timeout(updated, item.substr(0, eq), item.substr(eq + 1)); !st) {
            return st;
        }
    }
    cfg = updated;
    return Status();
}

}  // namespace llmproxy
