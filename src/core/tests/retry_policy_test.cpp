// Retry/fallback decisions (backoff bounds, jitter, Retry-After, budget,
// client errors), Retry-After parsing and timeout settings.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <set>
#include <vector>

#include "core/retry_policy.hpp"

namespace llmproxy {
namespace {

constexpr std::uint64_t kMaxRandom = std::numeric_limits<std::uint64_t>::max();

Decision status_failure(const RetryConfig& c, std::uint32_t attempt, int status,
                        std::uint64_t random = 0, std::uint64_t elapsed = 0,
                        std::optional<std::uint64_t> retry_after = std::nullopt) {
    return next_step(c, attempt, elapsed, FailureKind::kStatus, status, retry_after, random);
}

TEST(RetryPolicy, ClientErrorsGiveUp) {
    RetryConfig c;
    for (int st : {400, 401, 403, 404, 413, 422}) {
        Decision d = status_failure(c, 1, st);
        EXPECT_EQ(d.action, RetryAction::kGiveUp) << st;
        EXPECT_EQ(d.delay_ms, 0u);
    }
    // A stream error mapped to a client error gives up too; one without a
    // status is the target's failure.
    EXPECT_EQ(next_step(c, 1, 0, FailureKind::kStreamError, 400, std::nullopt, 0).action,
              RetryAction::kGiveUp);
    EXPECT_EQ(next_step(c, 1, 0, FailureKind::kStreamError, 0, std::nullopt, 0).action,
              RetryAction::kRetrySame);
    EXPECT_EQ(next_step(c, 1, 0, FailureKind::kStreamError, 529, std::nullopt, 0).action,
              RetryAction::kRetrySame);
}

TEST(RetryPolicy, RetryableStatusesRetrySameTarget) {
    RetryConfig c;
    for (int st : {408, 409, 429, 500, 502, 503, 504, 529}) {
        EXPECT_EQ(status_failure(c, 1, st).action, RetryAction::kRetrySame) << st;
    }
    EXPECT_EQ(next_step(c, 1, 0, FailureKind::kConnect, 0, std::nullopt, 0).action,
              RetryAction::kRetrySame);
}

TEST(RetryPolicy, TimeoutMovesOnAtOnce) {
    RetryConfig c;
    Decision d = next_step(c, 1, 0, FailureKind::kTimeout, 0, std::nullopt, 0);
    EXPECT_EQ(d.action, RetryAction::kNextTarget);
    EXPECT_EQ(d.delay_ms, 0u);
}

TEST(RetryPolicy, AtMostMaxRetriesPerTarget) {
    RetryConfig c;  // max_retries 2
    EXPECT_EQ(status_failure(c, 1, 503).action, RetryAction::kRetrySame);
    EXPECT_EQ(status_failure(c, 2, 503).action, RetryAction::kRetrySame);
    EXPECT_EQ(status_failure(c, 3, 503).action, RetryAction::kNextTarget);
    c.max_retries = 0;
    EXPECT_EQ(status_failure(c, 1, 503).action, RetryAction::kNextTarget);
}

TEST(RetryPolicy, BackoffCeilingDoublesUpToMax) {
    RetryConfig c;
    c.max_retries = 10;
    c.total_budget_ms = 10'000'000;
    // The jitter maps `random` into [0, ceiling]: random == ceiling gives the
    // top of the range, so the ceiling itself is observable.
    const std::uint64_t expected[] = {250, 500, 1000, 2000, 4000, 8000, 8000, 8000};
    for (std::uint32_t attempt = 1; attempt <= 8; ++attempt) {
        std::uint64_t ceiling = expected[attempt - 1];
        Decision d = status_failure(c, attempt, 503, ceiling);
        EXPECT_EQ(d.action, RetryAction::kRetrySame);
        EXPECT_EQ(d.delay_ms, ceiling) << "attempt " << attempt;
        // One past the ceiling wraps to 0: the range is exactly [0, ceiling].
        EXPECT_EQ(status_failure(c, attempt, 503, ceiling + 1).delay_ms, 0u);
        EXPECT_LE(status_failure(c, attempt, 503, kMaxRandom).delay_ms, ceiling);
    }
}

TEST(RetryPolicy, FullJitterSpreadsOverTheRange) {
    RetryConfig c;
    std::set<std::uint64_t> seen;
    std::uint64_t x = 0x9E3779B97F4A7C15ull;  // xorshift, deterministic
    for (int i = 0; i < 2000; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        Decision d = status_failure(c, 2, 500, x);  // ceiling 500
        ASSERT_EQ(d.action, RetryAction::kRetrySame);
        ASSERT_LE(d.delay_ms, 500u);
        seen.insert(d.delay_ms / 50);
    }
    EXPECT_EQ(seen.size(), 11u) << "every tenth of [0, 500] is hit";
}

TEST(RetryPolicy, HugeAttemptNumbersDoNotOverflow) {
    RetryConfig c;
    c.max_retries = std::numeric_limits<std::uint32_t>::max();
    c.total_budget_ms = kMaxRandom;
    Decision d = status_failure(c, 4'000'000'000u, 503, 7999);
    EXPECT_EQ(d.action, RetryAction::kRetrySame);
    EXPECT_EQ(d.delay_ms, 7999u);
}

TEST(RetryPolicy, RetryAfterHonouredExactly) {
    RetryConfig c;
    Decision d = status_failure(c, 1, 429, kMaxRandom, 0, 12'000);
    EXPECT_EQ(d.action, RetryAction::kRetrySame);
    EXPECT_EQ(d.delay_ms, 12'000u);
    // At the cap it still waits.
    d = status_failure(c, 1, 503, 0, 0, c.max_retry_after_ms);
    EXPECT_EQ(d.action, RetryAction::kRetrySame);
    EXPECT_EQ(d.delay_ms, c.max_retry_after_ms);
}

TEST(RetryPolicy, RetryAfterAboveCapMovesOn) {
    RetryConfig c;
    Decision d = status_failure(c, 1, 429, 0, 0, c.max_retry_after_ms + 1);
    EXPECT_EQ(d.action, RetryAction::kNextTarget);
    EXPECT_EQ(d.delay_ms, 0u);
}

TEST(RetryPolicy, BudgetBoundsTheWait) {
    RetryConfig c;  // budget 60 s
    // A wait that would end at or past the budget moves on instead.
    EXPECT_EQ(status_failure(c, 1, 429, 0, 40'000, 20'000).action, RetryAction::kNextTarget);
    EXPECT_EQ(status_failure(c, 1, 429, 0, 40'000, 19'999).action, RetryAction::kRetrySame);
    EXPECT_EQ(status_failure(c, 1, 503, 250, 59'750).action, RetryAction::kNextTarget);
    EXPECT_EQ(status_failure(c, 1, 503, 249, 59'750).action, RetryAction::kRetrySame);
}

TEST(RetryPolicy, BudgetExhaustedGivesUp) {
    RetryConfig c;
    for (FailureKind k : {FailureKind::kConnect, FailureKind::kTimeout, FailureKind::kStatus,
                          FailureKind::kStreamError}) {
        EXPECT_EQ(next_step(c, 1, 60'000, k, 503, std::nullopt, 0).action, RetryAction::kGiveUp);
        EXPECT_EQ(next_step(c, 1, 59'999, k, 503, std::nullopt, 0).action == RetryAction::kGiveUp,
                  false);
    }
}

// ---- RouteAttempts: a route's targets with real breaker states ----

struct Route {
    std::vector<BreakerState> breakers;
    BreakerConfig cfg;
    std::uint64_t now = 1'000'000;
    std::vector<std::size_t> admitted;  // every admission asked for, in order

    explicit Route(std::size_t n) : breakers(n) {
        // What ngx_slab_calloc hands out (vector value-init zeroes too; be explicit).
        if (n > 0) std::memset(breakers.data(), 0, n * sizeof(BreakerState));
    }
    RouteAttempts::AdmitFn admit() {
        return [this](std::size_t i, bool last) {
            admitted.push_back(i);
            return breaker_admit(breakers[i], cfg, now, last);
        };
    }
    void open(std::size_t i) {
        for (std::uint32_t k = 0; k < cfg.min_requests; ++k) {
            Outcome o;
            o.failure = true;
            breaker_record(breakers[i], cfg, now, o);
        }
        ASSERT_EQ(breakers[i].phase, BreakerPhase::kOpen);
    }
};

TEST(RouteAttempts, SuccessOnPrimary) {
    Route r(3);
    RouteAttempts plan(3);
    auto a = plan.next(r.admit());
    ASSERT_TRUE(a);
    EXPECT_EQ(a->target, 0u);
    EXPECT_FALSE(a->retry);
    EXPECT_FALSE(a->fallback);
    EXPECT_FALSE(a->is_probe);
    Outcome o = plan.outcome(false, 0, 42);
    EXPECT_FALSE(o.failure);
    EXPECT_EQ(o.latency_ms, 42u);
    EXPECT_FALSE(o.retry || o.fallback || o.was_probe);
    EXPECT_EQ(plan.attempts(), 1u);
}

TEST(RouteAttempts, RetriesThenFallsBackThenGivesUp) {
    Route r(2);
    RetryConfig c;  // 2 retries per target
    RouteAttempts plan(2);
    std::vector<std::pair<std::size_t, std::string>> trace;
    for (int guard = 0; guard < 20; ++guard) {
        auto a = plan.next(r.admit());
        if (!a) break;
        trace.emplace_back(a->target, a->retry ? "retry" : a->fallback ? "fallback" : "first");
        breaker_record(r.breakers[a->target], r.cfg, r.now, plan.outcome(true, 0, 10));
        Decision d = plan.on_failure(c, 0, FailureKind::kStatus, 503, std::nullopt, 0);
        if (d.action == RetryAction::kGiveUp) break;
    }
    const std::vector<std::pair<std::size_t, std::string>> want = {
        {0, "first"}, {0, "retry"}, {0, "retry"}, {1, "fallback"}, {1, "retry"}, {1, "retry"}};
    EXPECT_EQ(trace, want);
    EXPECT_EQ(plan.attempts(), 6u);
    EXPECT_EQ(r.breakers[0].retries, 2u);
    EXPECT_EQ(r.breakers[1].fallbacks, 1u);
    EXPECT_EQ(r.breakers[1].retries, 2u);
}

TEST(RouteAttempts, ClientErrorStopsAtOnce) {
    Route r(3);
    RouteAttempts plan(3);
    ASSERT_TRUE(plan.next(r.admit()));
    Decision d = plan.on_failure(RetryConfig{}, 0, FailureKind::kStatus, 400, std::nullopt, 0);
    EXPECT_EQ(d.action, RetryAction::kGiveUp);
}

TEST(RouteAttempts, OpenBreakerSkipsButNeverTheLastTarget) {
    Route r(3);
    r.open(0);
    r.open(1);
    r.open(2);
    RouteAttempts plan(3);
    auto a = plan.next(r.admit());
    ASSERT_TRUE(a);
    EXPECT_EQ(a->target, 2u) << "all open: the last target still serves";
    EXPECT_TRUE(a->fallback);
    EXPECT_FALSE(a->is_probe);
    EXPECT_EQ(r.admitted, (std::vector<std::size_t>{0, 1, 2}));
    EXPECT_EQ(r.breakers[0].rejections, 1u);
    EXPECT_EQ(r.breakers[1].rejections, 1u);
}

TEST(RouteAttempts, OpenPrimarySkippedToHealthySecondary) {
    Route r(3);
    r.open(0);
    RouteAttempts plan(3);
    auto a = plan.next(r.admit());
    ASSERT_TRUE(a);
    EXPECT_EQ(a->target, 1u);
    EXPECT_TRUE(a->fallback);
}

TEST(RouteAttempts, RetryRefusedByFreshlyOpenedBreakerMovesOn) {
    Route r(2);
    RouteAttempts plan(2);
    auto a = plan.next(r.admit());
    ASSERT_TRUE(a);
    ASSERT_EQ(a->target, 0u);
    r.open(0);  // other requests tripped it meanwhile
    Decision d = plan.on_failure(RetryConfig{}, 0, FailureKind::kConnect, 0, std::nullopt, 0);
    ASSERT_EQ(d.action, RetryAction::kRetrySame);
    a = plan.next(r.admit());
    ASSERT_TRUE(a);
    EXPECT_EQ(a->target, 1u);
    EXPECT_FALSE(a->retry);
    EXPECT_TRUE(a->fallback);
}

TEST(RouteAttempts, HalfOpenProbeIsReportedAndClosesOnSuccess) {
    Route r(2);
    r.open(0);
    r.now += r.cfg.open_ms;
    RouteAttempts plan(2);
    auto a = plan.next(r.admit());
    ASSERT_TRUE(a);
    EXPECT_EQ(a->target, 0u);
    EXPECT_TRUE(a->is_probe);
    Outcome o = plan.outcome(false, 0, 5);
    EXPECT_TRUE(o.was_probe);
    breaker_record(r.breakers[0], r.cfg, r.now, o);
    EXPECT_EQ(r.breakers[0].phase, BreakerPhase::kClosed);
}

TEST(RouteAttempts, TimeoutMovesOnAndLastTimeoutGivesUp) {
    Route r(2);
    RouteAttempts plan(2);
    ASSERT_EQ(plan.next(r.admit())->target, 0u);
    EXPECT_EQ(plan.on_failure(RetryConfig{}, 1000, FailureKind::kTimeout, 0, std::nullopt, 0).action,
              RetryAction::kNextTarget);
    ASSERT_EQ(plan.next(r.admit())->target, 1u);
    EXPECT_EQ(plan.on_failure(RetryConfig{}, 2000, FailureKind::kTimeout, 0, std::nullopt, 0).action,
              RetryAction::kGiveUp);
    EXPECT_FALSE(plan.next(r.admit()));
}

TEST(RouteAttempts, EmptyRouteHasNoAttempt) {
    Route r(0);
    RouteAttempts plan(0);
    EXPECT_FALSE(plan.next(r.admit()));
    EXPECT_TRUE(r.admitted.empty());
}

// Retry-After parsing. 784111777 is Sun, 06 Nov 1994 08:49:37 GMT.
constexpr std::int64_t kDate = 784111777;

TEST(RetryAfter, DeltaSeconds) {
    EXPECT_EQ(parse_retry_after("120", "", 0), 120'000u);
    EXPECT_EQ(parse_retry_after("0", "", 0), 0u);
    EXPECT_EQ(parse_retry_after(" 7 ", "", 0), 7000u);
    EXPECT_EQ(parse_retry_after("1.5", "", 0), 1500u);     // tolerated
    EXPECT_EQ(parse_retry_after("0.0001", "", 0), 1u);     // rounds up, never to 0
}

TEST(RetryAfter, MillisecondsHeaderWins) {
    EXPECT_EQ(parse_retry_after("120", "1500", 0), 1500u);
    EXPECT_EQ(parse_retry_after("", "20", 0), 20u);
    EXPECT_EQ(parse_retry_after("", "20.25", 0), 21u);
    // An invalid ms header falls back to Retry-After.
    EXPECT_EQ(parse_retry_after("3", "soon", 0), 3000u);
    EXPECT_EQ(parse_retry_after("3", "-5", 0), 3000u);
}

TEST(RetryAfter, HttpDates) {
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", "", kDate - 30), 30'000u);
    EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", "", kDate - 30), 30'000u);
    EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", "", kDate - 30), 30'000u);
    // In the past or now: no wait.
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", "", kDate + 100), 0u);
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", "", kDate), 0u);
    // Leap day, and a date after 2038.
    EXPECT_EQ(parse_retry_after("Thu, 29 Feb 2024 00:00:00 GMT", "", 1709164800 - 1), 1000u);
    EXPECT_EQ(parse_retry_after("Sat, 01 Jan 2050 00:00:00 GMT", "", 2524608000 - 2), 2000u);
}

TEST(RetryAfter, Garbage) {
    EXPECT_EQ(parse_retry_after("", "", 0), std::nullopt);
    EXPECT_EQ(parse_retry_after("soon", "", 0), std::nullopt);
    EXPECT_EQ(parse_retry_after("-1", "", 0), std::nullopt);
    EXPECT_EQ(parse_retry_after("12abc", "", 0), std::nullopt);
    EXPECT_EQ(parse_retry_after("1.", "", 0), std::nullopt);
    EXPECT_EQ(parse_retry_after("1e3", "", 0), std::nullopt);
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37", "", 0), std::nullopt);      // no GMT
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT x", "", 0), std::nullopt);
    EXPECT_EQ(parse_retry_after("Sun, 31 Feb 1994 08:49:37 GMT", "", 0), std::nullopt);  // no such day
    EXPECT_EQ(parse_retry_after("Sun, 29 Feb 2023 08:49:37 GMT", "", 0), std::nullopt);  // not leap
    EXPECT_EQ(parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", "", 0), std::nullopt);
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 24:00:00 GMT", "", 0), std::nullopt);
    EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994 GMT", "", 0), std::nullopt);
}

TEST(RetryAfter, HugeValuesSaturate) {
    EXPECT_EQ(parse_retry_after("99999999999999999999999", "", 0),
              std::numeric_limits<std::uint64_t>::max());
    // And such a hint moves on to the next target rather than waiting.
    RetryConfig c;
    EXPECT_EQ(status_failure(c, 1, 429, 0, 0, parse_retry_after("99999999999999999999999", "", 0))
                  .action,
              RetryAction::kNextTarget);
}

TEST(Timeouts, DefaultsAreDocumentedValues) {
    TimeoutConfig t;
    EXPECT_EQ(t.connect_ms, 10'000u);
    EXPECT_EQ(t.first_byte_ms, 60'000u);
    EXPECT_EQ(t.idle_ms, 300'000u);
    EXPECT_EQ(t.total_ms, 900'000u);
}

TEST(Timeouts, ParseDuration) {
    EXPECT_EQ(parse_duration_ms("250ms").value(), 250u);
    EXPECT_EQ(parse_duration_ms("5s").value(), 5000u);
    EXPECT_EQ(parse_duration_ms("2m").value(), 120'000u);
    EXPECT_EQ(parse_duration_ms("1440m").value(), 86'400'000u);
    for (const char* bad : {"", "5", "s", "0s", "5h", "5 s", "-5s", "1.5s", "1441m",
                            "99999999999999999999999s", "5sx"}) {
        EXPECT_FALSE(parse_duration_ms(bad).ok()) << bad;
    }
}

TEST(Timeouts, SetByName) {
    TimeoutConfig t;
    ASSERT_TRUE(set_timeout(t, "connect", "5s").ok());
    ASSERT_TRUE(set_timeout(t, "first-byte", "30s").ok());
    ASSERT_TRUE(set_timeout(t, "idle", "2m").ok());
    ASSERT_TRUE(set_timeout(t, "total", "600000ms").ok());
    EXPECT_EQ(t.connect_ms, 5000u);
    EXPECT_EQ(t.first_byte_ms, 30'000u);
    EXPECT_EQ(t.idle_ms, 120'000u);
    EXPECT_EQ(t.total_ms, 600'000u);

    Status st = set_timeout(t, "read", "5s");
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().field, "read");
    st = set_timeout(t, "connect", "5");
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().field, "connect");
    EXPECT_NE(st.error().message.find("unit"), std::string::npos) << st.error().message;
    EXPECT_EQ(t.connect_ms, 5000u) << "unchanged on error";
}

TEST(Timeouts, ApplySettingsAllOrNothing) {
    TimeoutConfig t;
    ASSERT_TRUE(apply_timeout_settings(t, "connect=5s,first_byte=30s idle=1m").ok());
    EXPECT_EQ(t.connect_ms, 5000u);
    EXPECT_EQ(t.first_byte_ms, 30'000u);
    EXPECT_EQ(t.idle_ms, 60'000u);
    EXPECT_EQ(t.total_ms, 900'000u);

    TimeoutConfig u;
    EXPECT_FALSE(apply_timeout_settings(u, "connect=1s,idle=forever").ok());
    EXPECT_EQ(u.connect_ms, 10'000u) << "nothing applied";
    EXPECT_FALSE(apply_timeout_settings(u, "connect").ok());
    EXPECT_TRUE(apply_timeout_settings(u, "").ok());
}

}  // namespace
}  // namespace llmproxy
