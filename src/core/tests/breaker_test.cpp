// Circuit breaker transitions, rolling window, half-open probe claims, the
// last-target exemption, counters and the latency histogram.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/breaker.hpp"

namespace llmproxy {
namespace {

constexpr std::uint64_t kT0 = 1'000'000;  // an arbitrary monotonic start

BreakerState fresh() {
    BreakerState s;
    std::memset(&s, 0, sizeof s);  // what ngx_slab_calloc hands out
    return s;
}

Outcome failure(std::uint64_t retry_after_ms = 0) {
    Outcome o;
    o.failure = true;
    o.retry_after_ms = retry_after_ms;
    return o;
}

Outcome success() { return Outcome{}; }

Outcome probe(bool failed) {
    Outcome o;
    o.failure = failed;
    o.was_probe = true;
    return o;
}

// Records `failures` failures then `successes` successes at `now`.
void record_n(BreakerState& s, const BreakerConfig& c, std::uint64_t now, int failures,
              int successes) {
    for (int i = 0; i < failures; ++i) breaker_record(s, c, now, failure());
    for (int i = 0; i < successes; ++i) breaker_record(s, c, now, success());
}

// Opens the breaker at `now` with min_requests failures.
void trip(BreakerState& s, const BreakerConfig& c, std::uint64_t now) {
    record_n(s, c, now, static_cast<int>(c.min_requests), 0);
    ASSERT_EQ(s.phase, BreakerPhase::kOpen);
}

TEST(Breaker, ZeroFilledStateIsClosedAndAdmits) {
    BreakerState s = fresh();
    BreakerConfig c;
    Admission a = breaker_admit(s, c, kT0, false);
    EXPECT_TRUE(a.allowed);
    EXPECT_FALSE(a.is_probe);
    EXPECT_EQ(a.state_before, BreakerPhase::kClosed);
    EXPECT_EQ(breaker_phase_name(s.phase), "closed");
}

TEST(Breaker, OpensAtThresholdRatio) {
    BreakerState s = fresh();
    BreakerConfig c;  // min 5, ratio 0.5
    // 2 successes, then failures: the ratio reaches 0.5 at 3 of 6... but the
    // check runs on each failure: 1/3, 2/4, then 3/5 = 0.6 >= 0.5 opens.
    record_n(s, c, kT0, 0, 2);
    breaker_record(s, c, kT0, failure());
    breaker_record(s, c, kT0, failure());
    EXPECT_EQ(s.phase, BreakerPhase::kClosed) << "4 requests is below min_requests";
    breaker_record(s, c, kT0, failure());
    EXPECT_EQ(s.phase, BreakerPhase::kOpen);
    EXPECT_EQ(s.opens, 1u);
    EXPECT_EQ(s.opened_at_ms, kT0);
    EXPECT_EQ(s.open_until_ms, kT0 + c.open_ms);
}

TEST(Breaker, RatioExactlyAtThresholdOpens) {
    BreakerState s = fresh();
    BreakerConfig c;
    c.min_requests = 4;
    record_n(s, c, kT0, 0, 2);
    breaker_record(s, c, kT0, failure());
    EXPECT_EQ(s.phase, BreakerPhase::kClosed);  // 1/3
    breaker_record(s, c, kT0, failure());       // 2/4 = 0.5, "at or above"
    EXPECT_EQ(s.phase, BreakerPhase::kOpen);
}

TEST(Breaker, StaysClosedBelowRatio) {
    BreakerState s = fresh();
    BreakerConfig c;
    record_n(s, c, kT0, 0, 6);
    record_n(s, c, kT0, 5, 0);  // 5/11 < 0.5
    EXPECT_EQ(s.phase, BreakerPhase::kClosed);
    breaker_record(s, c, kT0, failure());  // 6/12 = 0.5
    EXPECT_EQ(s.phase, BreakerPhase::kOpen);
}

TEST(Breaker, DoesNotOpenBelowMinRequests) {
    BreakerState s = fresh();
    BreakerConfig c;
    record_n(s, c, kT0, 4, 0);  // 100% failures but only 4 requests
    EXPECT_EQ(s.phase, BreakerPhase::kClosed);
    EXPECT_EQ(breaker_window(s, c, kT0).failures, 4u);
    breaker_record(s, c, kT0, failure());
    EXPECT_EQ(s.phase, BreakerPhase::kOpen);
}

TEST(Breaker, SuccessNeverOpens) {
    BreakerState s = fresh();
    BreakerConfig c;
    c.failure_ratio = 0.0;  // a misconfiguration must not open on successes alone
    record_n(s, c, kT0, 0, 50);
    EXPECT_EQ(s.phase, BreakerPhase::kClosed);
}

TEST(Breaker, WindowRollsOver) {
    BreakerState s = fresh();
    BreakerConfig c;  // 30 s in 10 buckets of 3 s
    record_n(s, c, kT0, 4, 0);
    EXPECT_EQ(breaker_window(s, c, kT0).requests, 4u);
    // Still inside the window 29 s later (the bucket of kT0 is counted while
    // its slice start + 30 s is ahead).
    std::uint64_t slice_start = kT0 - kT0 % 3000;
    EXPECT_EQ(breaker_window(s, c, slice_start + 29'999).requests, 4u);
    EXPECT_EQ(breaker_window(s, c, slice_start + 30'000).requests, 0u);
    // A fifth failure after the old ones left the window does not open.
    breaker_record(s, c, slice_start + 30'000, failure());
    EXPECT_EQ(s.phase, BreakerPhase::kClosed);
    WindowCounts w = breaker_window(s, c, slice_start + 30'000);
    EXPECT_EQ(w.requests, 1u);
    EXPECT_EQ(w.failures, 1u);
    // The reused bucket was reset, not added to.
    EXPECT_EQ(s.window[(slice_start + 30'000) / 3000 % 10].requests, 1u);
}

TEST(Breaker, FailuresSpreadAcrossBucketsOpenWithinWindow) {
    BreakerState s = fresh();
    BreakerConfig c;
    for (int i = 0; i < 5; ++i) {
        breaker_record(s, c, kT0 + static_cast<std::uint64_t>(i) * 5000, failure());
    }
    EXPECT_EQ(s.phase, BreakerPhase::kOpen);  // 5 failures within 20 s
}

TEST(Breaker, FailuresSpreadWiderThanWindowDoNotOpen) {
    BreakerState s = fresh();
    BreakerConfig c;
    for (int i = 0; i < 20; ++i) {
        breaker_record(s, c, kT0 + static_cast<std::uint64_t>(i) * 8000, failure());
    }
    EXPECT_EQ(s.phase, BreakerPhase::kClosed);  // at most 4 failures in any 30 s
    EXPECT_EQ(s.failures, 20u);
}

TEST(Breaker, LaggingClockOfAnotherWorkerStillCounts) {
    BreakerState s = fresh();
    BreakerConfig c;
    std::uint64_t slice_start = kT0 - kT0 % 3000 + 3000;
    breaker_record(s, c, slice_start, failure());      // worker A, in a new slice
    breaker_record(s, c, slice_start - 1, failure());  // worker B, cached clock 1 ms behind
    EXPECT_EQ(breaker_window(s, c, slice_start).failures, 2u);
}

TEST(Breaker, OlderTimestampNeverResetsANewerBucket) {
    BreakerState s = fresh();
    BreakerConfig c;  // span 30 s: slice_start and slice_start + 30 s share a slot
    std::uint64_t slice_start = kT0 - kT0 % 3000;
    breaker_record(s, c, slice_start + 30'000, failure());
    breaker_record(s, c, slice_start, failure());  // far behind: added, not a reset
    const BreakerBucket& b = s.window[slice_start / 3000 % 10];
    EXPECT_EQ(b.start_ms, slice_start + 30'000);
    EXPECT_EQ(b.failures, 2u);
}

TEST(Breaker, OpenRefusesUntilOpenTimePasses) {
    BreakerState s = fresh();
    BreakerConfig c;
    trip(s, c, kT0);
    Admission a = breaker_admit(s, c, kT0 + c.open_ms - 1, false);
    EXPECT_FALSE(a.allowed);
    EXPECT_EQ(a.state_before, BreakerPhase::kOpen);
    EXPECT_EQ(s.rejections, 1u);
    EXPECT_EQ(breaker_effective_phase(s, kT0 + c.open_ms - 1), BreakerPhase::kOpen);
    EXPECT_EQ(breaker_effective_phase(s, kT0 + c.open_ms), BreakerPhase::kHalfOpen);
    a = breaker_admit(s, c, kT0 + c.open_ms, false);
    EXPECT_TRUE(a.allowed);
    EXPECT_TRUE(a.is_probe);
    EXPECT_EQ(a.state_before, BreakerPhase::kHalfOpen);
    EXPECT_EQ(s.phase, BreakerPhase::kHalfOpen);
}

TEST(Breaker, RetryAfterExtendsOpenTime) {
    BreakerState s = fresh();
    BreakerConfig c;
    record_n(s, c, kT0, 4, 0);
    breaker_record(s, c, kT0, failure(90'000));
    ASSERT_EQ(s.phase, BreakerPhase::kOpen);
    EXPECT_EQ(s.open_until_ms, kT0 + 90'000);
}

TEST(Breaker, ShorterRetryAfterKeepsConfiguredOpenTime) {
    BreakerState s = fresh();
    BreakerConfig c;
    record_n(s, c, kT0, 4, 0);
    breaker_record(s, c, kT0, failure(1000));
    EXPECT_EQ(s.open_until_ms, kT0 + c.open_ms);
}

TEST(Breaker, RetryAfterSeenEarlierInWindowCounts) {
    BreakerState s = fresh();
    BreakerConfig c;
    breaker_record(s, c, kT0, failure(120'000));  // 429 with Retry-After 120 s
    record_n(s, c, kT0 + 1000, 4, 0);             // trips without a hint
    ASSERT_EQ(s.phase, BreakerPhase::kOpen);
    EXPECT_EQ(s.open_until_ms, kT0 + 120'000);
}

TEST(Breaker, RetryAfterIsCappedByMaxOpen) {
    BreakerState s = fresh();
    BreakerConfig c;
    record_n(s, c, kT0, 4, 0);
    breaker_record(s, c, kT0, failure(86'400'000));
    EXPECT_EQ(s.open_until_ms, kT0 + c.max_open_ms);
}

TEST(Breaker, RetryAfterWhileOpenExtends) {
    BreakerState s = fresh();
    BreakerConfig c;
    trip(s, c, kT0);
    // A last-target request admitted while open comes back 429 Retry-After 100 s.
    breaker_record(s, c, kT0 + 5000, failure(100'000));
    EXPECT_EQ(s.open_until_ms, kT0 + 105'000);
    // A shorter hint never shortens it.
    breaker_record(s, c, kT0 + 6000, failure(1000));
    EXPECT_EQ(s.open_until_ms, kT0 + 105'000);
}

TEST(Breaker, HalfOpenAdmitsExactlyOneProbeAcrossWorkers) {
    BreakerState s = fresh();
    BreakerConfig c;
    trip(s, c, kT0);
    std::uint64_t t = kT0 + c.open_ms;
    // Two workers, one after the other under the zone lock, same state.
    Admission worker1 = breaker_admit(s, c, t, false);
    Admission worker2 = breaker_admit(s, c, t + 1, false);
    EXPECT_TRUE(worker1.allowed);
    EXPECT_TRUE(worker1.is_probe);
    EXPECT_FALSE(worker2.allowed);
    EXPECT_FALSE(worker2.is_probe);
    EXPECT_EQ(worker2.state_before, BreakerPhase::kHalfOpen);
    EXPECT_EQ(s.probe_in_flight, 1);
    // The state as another process would see it after a byte copy.
    BreakerState copy;
    std::memcpy(&copy, &s, sizeof s);
    EXPECT_FALSE(breaker_admit(copy, c, t + 2, false).allowed);
}

TEST(Breaker, ProbeSuccessCloses) {
    BreakerState s = fresh();
    BreakerConfig c;
    trip(s, c, kT0);
    std::uint64_t t = kT0 + c.open_ms;
    ASSERT_TRUE(breaker_admit(s, c, t, false).is_probe);
    breaker_record(s, c, t + 200, probe(false));
    EXPECT_EQ(s.phase, BreakerPhase::kClosed);
    EXPECT_EQ(s.probe_in_flight, 0);
    EXPECT_EQ(breaker_window(s, c, t + 200).requests, 0u) << "window restarts empty";
    Admission a = breaker_admit(s, c, t + 300, false);
    EXPECT_TRUE(a.allowed);
    EXPECT_FALSE(a.is_probe);
    // Closing forgot old failures: it takes a full min_requests again to open.
    record_n(s, c, t + 400, 4, 0);
    EXPECT_EQ(s.phase, BreakerPhase::kClosed);
}

TEST(Breaker, ProbeFailureReopensWithDoublingTime) {
    BreakerState s = fresh();
    BreakerConfig c;
    trip(s, c, kT0);
    std::uint64_t t = kT0 + c.open_ms;
    ASSERT_TRUE(breaker_admit(s, c, t, false).is_probe);
    breaker_record(s, c, t + 100, probe(true));
    EXPECT_EQ(s.phase, BreakerPhase::kOpen);
    EXPECT_EQ(s.open_until_ms, t + 100 + 2 * c.open_ms);
    EXPECT_EQ(s.opens, 2u);
    EXPECT_FALSE(breaker_admit(s, c, t + 200, false).allowed);

    t = s.open_until_ms;
    ASSERT_TRUE(breaker_admit(s, c, t, false).is_probe);
    breaker_record(s, c, t, probe(true));
    EXPECT_EQ(s.open_until_ms, t + 4 * c.open_ms);

    // Many failed probes: capped by max_open_ms.
    for (int i = 0; i < 30; ++i) {
        t = s.open_until_ms;
        ASSERT_TRUE(breaker_admit(s, c, t, false).is_probe);
        breaker_record(s, c, t, probe(true));
    }
    EXPECT_EQ(s.open_until_ms, t + c.max_open_ms);

    // A success resets the doubling.
    t = s.open_until_ms;
    ASSERT_TRUE(breaker_admit(s, c, t, false).is_probe);
    breaker_record(s, c, t, probe(false));
    EXPECT_EQ(s.failed_probes, 0);
    trip(s, c, t + 1);
    EXPECT_EQ(s.open_until_ms, t + 1 + c.open_ms);
}

TEST(Breaker, NonProbeOutcomesInHalfOpenDoNotDecide) {
    BreakerState s = fresh();
    BreakerConfig c;
    trip(s, c, kT0);
    std::uint64_t t = kT0 + c.open_ms;
    ASSERT_TRUE(breaker_admit(s, c, t, false).is_probe);
    // A request admitted long ago (before the open) reports late.
    breaker_record(s, c, t + 1, success());
    EXPECT_EQ(s.phase, BreakerPhase::kHalfOpen);
    breaker_record(s, c, t + 2, failure());
    EXPECT_EQ(s.phase, BreakerPhase::kHalfOpen);
    EXPECT_EQ(s.probe_in_flight, 1);
}

TEST(Breaker, LastTargetAlwaysAllowed) {
    BreakerState s = fresh();
    BreakerConfig c;
    trip(s, c, kT0);
    Admission a = breaker_admit(s, c, kT0 + 1, true);
    EXPECT_TRUE(a.allowed);
    EXPECT_FALSE(a.is_probe);
    EXPECT_EQ(a.state_before, BreakerPhase::kOpen);
    EXPECT_EQ(s.rejections, 0u);
    // Its failures while open count but do not re-trip or extend (no hint).
    std::uint64_t until = s.open_until_ms;
    breaker_record(s, c, kT0 + 2, failure());
    EXPECT_EQ(s.open_until_ms, until);
    EXPECT_EQ(s.opens, 1u);

    // In half-open the last target takes the free probe claim...
    std::uint64_t t = kT0 + c.open_ms;
    a = breaker_admit(s, c, t, true);
    EXPECT_TRUE(a.allowed);
    EXPECT_TRUE(a.is_probe);
    // ...and is still allowed, without a claim, once the probe is taken.
    a = breaker_admit(s, c, t + 1, true);
    EXPECT_TRUE(a.allowed);
    EXPECT_FALSE(a.is_probe);
    // A non-last target is refused meanwhile.
    EXPECT_FALSE(breaker_admit(s, c, t + 2, false).allowed);
    EXPECT_EQ(s.rejections, 1u);
}

TEST(Breaker, StaleProbeExpires) {
    BreakerState s = fresh();
    BreakerConfig c;  // probe_timeout_ms 120 s
    trip(s, c, kT0);
    std::uint64_t t = kT0 + c.open_ms;
    ASSERT_TRUE(breaker_admit(s, c, t, false).is_probe);  // never reports back
    EXPECT_FALSE(breaker_admit(s, c, t + c.probe_timeout_ms - 1, false).allowed);
    Admission a = breaker_admit(s, c, t + c.probe_timeout_ms, false);
    EXPECT_TRUE(a.allowed);
    EXPECT_TRUE(a.is_probe);
    EXPECT_EQ(s.probe_claimed_at_ms, t + c.probe_timeout_ms);
    // Only one new claim.
    EXPECT_FALSE(breaker_admit(s, c, t + c.probe_timeout_ms + 1, false).allowed);
}

TEST(Breaker, LifetimeCountersAndHistogram) {
    BreakerState s = fresh();
    BreakerConfig c;
    Outcome o;
    o.latency_ms = 100;  // le 0.1 (bounds are inclusive)
    breaker_record(s, c, kT0, o);
    o.latency_ms = 101;  // le 0.25
    o.retry = true;
    breaker_record(s, c, kT0, o);
    o.latency_ms = 120'001;  // +Inf
    o.retry = false;
    o.fallback = true;
    o.failure = true;
    breaker_record(s, c, kT0, o);
    o.latency_ms = 0;
    o.fallback = false;
    o.failure = false;
    breaker_record(s, c, kT0, o);
    EXPECT_EQ(s.requests, 4u);
    EXPECT_EQ(s.failures, 1u);
    EXPECT_EQ(s.retries, 1u);
    EXPECT_EQ(s.fallbacks, 1u);
    EXPECT_EQ(s.latency_counts[0], 2u);
    EXPECT_EQ(s.latency_counts[1], 1u);
    EXPECT_EQ(s.latency_counts[kLatencyBuckets - 1], 1u);
    EXPECT_EQ(s.latency_sum_ms, 100u + 101u + 120'001u);
}

TEST(Breaker, BucketCountIsClampedAndSingleBucketWorks) {
    BreakerState s = fresh();
    BreakerConfig c;
    c.buckets = 1000;  // more than the state holds
    record_n(s, c, kT0, 5, 0);
    EXPECT_EQ(s.phase, BreakerPhase::kOpen);

    BreakerState one = fresh();
    c.buckets = 0;  // treated as 1
    c.window_ms = 10'000;
    record_n(one, c, 20'000, 4, 0);
    breaker_record(one, c, 30'000, failure());  // next slice: old bucket reset
    EXPECT_EQ(one.phase, BreakerPhase::kClosed);
    EXPECT_EQ(breaker_window(one, c, 30'000).requests, 1u);
}

// Random admits and outcomes from several "workers" with lagging clocks:
// only admitted attempts report, some late and out of order, some never
// (a crashed worker); the target's health alternates. The invariants hold
// whatever the interleaving.
TEST(Breaker, RandomInterleavingKeepsInvariants) {
    BreakerConfig c;
    c.min_requests = 3;
    c.open_ms = 2000;
    c.max_open_ms = 20'000;
    c.probe_timeout_ms = 5000;
    std::uint64_t x = 0x2545F4914F6CDD1Dull;
    auto rnd = [&x] {  // xorshift64*
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        return (x * 0x2545F4914F6CDD1Dull) >> 11;
    };
    struct InFlight {
        bool is_probe;
        std::uint64_t started_ms;
    };
    for (int run = 0; run < 50; ++run) {
        BreakerState s = fresh();
        std::uint64_t now = kT0;
        std::vector<InFlight> in_flight;
        // The claim of a half-open probe that has not reported back yet.
        bool claim_pending = false;
        std::uint64_t pending_claim_ms = 0;
        std::uint64_t latency_total = 0, recorded = 0;
        int opened = 0, closed_by_probe = 0;
        for (int step = 0; step < 4000; ++step) {
            now += rnd() % 200;
            std::uint64_t worker_now = now - rnd() % 3;  // cached clocks lag a little
            bool healthy = (step / 500) % 2 == 1;
            BreakerPhase before = s.phase;
            if (rnd() % 2 || in_flight.empty()) {
                bool last = rnd() % 5 == 0;
                Admission a = breaker_admit(s, c, worker_now, last);
                if (a.state_before == BreakerPhase::kClosed || last) {
                    EXPECT_TRUE(a.allowed);
                }
                if (a.is_probe) {
                    // One probe at a time: a second claim only once the
                    // unreported one expired.
                    if (claim_pending) {
                        EXPECT_GE(worker_now, pending_claim_ms + c.probe_timeout_ms);
                    }
                    claim_pending = true;
                    pending_claim_ms = worker_now;
                    EXPECT_EQ(a.state_before, BreakerPhase::kHalfOpen);
                    EXPECT_TRUE(a.allowed);
                }
                if (a.allowed) in_flight.push_back({a.is_probe, worker_now});
            } else {
                // Some attempt finishes (any of them: out of order).
                std::size_t i = rnd() % in_flight.size();
                InFlight f = in_flight[i];
                in_flight.erase(in_flight.begin() + static_cast<std::ptrdiff_t>(i));
                if (rnd() % 20 == 0) continue;  // its worker died: never reports
                Outcome o;
                o.was_probe = f.is_probe;
                o.failure = rnd() % 10 < (healthy ? 1u : 9u);
                o.retry_after_ms = o.failure && rnd() % 8 == 0 ? rnd() % 60'000 : 0;
                o.latency_ms = worker_now - std::min(worker_now, f.started_ms);
                latency_total += o.latency_ms;
                ++recorded;
                breaker_record(s, c, worker_now, o);
                if (f.is_probe) claim_pending = false;
                if (f.is_probe && !o.failure && before == BreakerPhase::kHalfOpen) {
                    EXPECT_EQ(s.phase, BreakerPhase::kClosed);
                    ++closed_by_probe;
                }
            }
            if (before != BreakerPhase::kOpen && s.phase == BreakerPhase::kOpen) ++opened;
            // Invariants.
            if (s.phase == BreakerPhase::kOpen) {
                // Each opening or Retry-After extension is capped from the
                // time it happened.
                EXPECT_LE(s.open_until_ms, now + c.max_open_ms);
                EXPECT_EQ(s.probe_in_flight, 0);
            }
            if (s.phase == BreakerPhase::kClosed) {
                EXPECT_EQ(s.probe_in_flight, 0);
            }
            if (s.phase != BreakerPhase::kHalfOpen) claim_pending = false;
            WindowCounts w = breaker_window(s, c, now);
            EXPECT_LE(w.failures, w.requests);
            std::uint64_t hist = 0;
            for (std::uint64_t n : s.latency_counts) hist += n;
            ASSERT_EQ(hist, s.requests);
            ASSERT_EQ(s.requests, recorded);
            ASSERT_EQ(s.latency_sum_ms, latency_total);
            ASSERT_LE(s.failures, s.requests);
        }
        EXPECT_GT(opened, 1) << "the run exercised opening";
        EXPECT_GT(closed_by_probe, 0) << "the run exercised closing";
        EXPECT_EQ(s.opens, static_cast<std::uint64_t>(opened));
    }
}

TEST(Breaker, FailureStatuses) {
    for (int st : {408, 409, 429, 500, 502, 503, 504, 529, 599}) {
        EXPECT_TRUE(is_failure_status(st)) << st;
    }
    for (int st : {0, 200, 204, 301, 400, 401, 403, 404, 413, 422, 600}) {
        EXPECT_FALSE(is_failure_status(st)) << st;
    }
}

}  // namespace
}  // namespace llmproxy
