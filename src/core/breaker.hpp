// Circuit breaker per (provider, model), as plain data plus pure functions.
//
// BreakerState is placed in an nginx shared-memory zone and mutated by several
// worker processes, each holding the zone mutex around breaker_admit() and
// breaker_record(). So it is trivially copyable, standard layout, fixed size,
// holds no pointers, and a zero-filled BreakerState is a valid closed breaker
// with empty counters (ngx_slab_calloc gives exactly that). No function here
// reads a clock: callers pass now_ms from one monotonic clock shared by all
// workers (ngx_current_msec). Workers cache that clock, so now_ms may lag a
// little behind a value another worker already wrote; the code tolerates it.
//
// Lifecycle:
//   closed    -> open       a failure leaves the rolling window with at least
//                           min_requests requests and failures/requests >=
//                           failure_ratio.
//   open      -> half_open  lazily, in breaker_admit(), once open_until passes.
//   half_open -> closed     the probe succeeds (window cleared).
//   half_open -> open       the probe fails (open time doubles per consecutive
//                           failed probe, capped by max_open_ms).
// The open time is max(open_ms << failed probes, Retry-After seen in the
// window), at most max_open_ms. A Retry-After that arrives while open (from a
// last-target attempt) extends it, again by at most max_open_ms from then.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace llmproxy {

// Values are the Prometheus gauge values of llmproxy_breaker_state.
enum class BreakerPhase : std::uint8_t { kClosed = 0, kHalfOpen = 1, kOpen = 2 };

std::string_view breaker_phase_name(BreakerPhase p);  // "closed" "half_open" "open"

// 20 buckets keep BreakerState at 504 bytes, inside one 512-byte slab chunk
// of the nginx zone (60 would make it 1144 bytes, rounded up to 2048).
inline constexpr std::size_t kMaxBreakerBuckets = 20;

struct BreakerConfig {
    std::uint64_t window_ms = 30000;   // rolling window length
    std::uint32_t buckets = 10;        // window granularity, 1..kMaxBreakerBuckets
    std::uint32_t min_requests = 5;    // no opening with fewer requests in the window
    double failure_ratio = 0.5;        // open at or above this share of failures
    std::uint64_t open_ms = 30000;     // base open time
    std::uint64_t max_open_ms = 600000;
    // A half-open probe that never reports back (worker crash, a caller that
    // forgot) stops blocking further probes after this long. It must exceed
    // the time a probe needs to be judged (connect + first byte timeouts,
    // 10 s + 60 s by default): callers record the probe's outcome as soon as
    // the first upstream event is judged, not at the end of a stream.
    std::uint64_t probe_timeout_ms = 120000;
};

// Upper bounds (ms) of the latency histogram buckets; one more bucket, +Inf,
// follows. Prometheus exposes them in seconds.
inline constexpr std::array<std::uint64_t, 10> kLatencyBoundsMs = {
    100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000};
inline constexpr std::size_t kLatencyBuckets = kLatencyBoundsMs.size() + 1;

struct BreakerBucket {
    std::uint64_t start_ms;   // start of the time slice this bucket counts
    std::uint32_t requests;
    std::uint32_t failures;
};

struct BreakerState {
    BreakerPhase phase;
    std::uint8_t probe_in_flight;        // half_open: a probe has been claimed
    std::uint16_t failed_probes;         // consecutive; doubles the open time
    std::uint32_t reserved;
    std::uint64_t open_until_ms;         // open: when half_open begins
    std::uint64_t opened_at_ms;          // last closed/half_open -> open transition
    std::uint64_t probe_claimed_at_ms;
    std::uint64_t retry_after_until_ms;  // latest Retry-After deadline seen since closing

    // Rolling window: bucket i counts slice floor(now / width) when that
    // slice maps to i; a bucket counts while its slice is within window_ms.
    std::array<BreakerBucket, kMaxBreakerBuckets> window;

    // Lifetime counters (since the zone was created; kept across reloads).
    std::uint64_t requests;     // attempts recorded
    std::uint64_t failures;
    std::uint64_t retries;      // attempts that were a retry on the same target
    std::uint64_t fallbacks;    // first attempts on a non-primary target of a route
    std::uint64_t rejections;   // admissions refused because the breaker was open
    std::uint64_t opens;        // transitions to open
    std::array<std::uint64_t, kLatencyBuckets> latency_counts;  // per bucket, not cumulative
    std::uint64_t latency_sum_ms;
};

static_assert(std::is_trivially_copyable_v<BreakerState>, "lives in shared memory");
static_assert(std::is_standard_layout_v<BreakerState>, "lives in shared memory");
static_assert(sizeof(BreakerState) <= 512, "one 512-byte slab chunk per breaker");

struct Admission {
    bool allowed = false;
    bool is_probe = false;  // the caller must report with Outcome::was_probe
    // The phase the caller met: after the time-based open -> half_open step,
    // before this call's probe claim.
    BreakerPhase state_before = BreakerPhase::kClosed;
};

// Decides whether an attempt may go to this target, and claims the half-open
// probe when it is free (the claim is the mutation; the caller holds the
// lock, so exactly one caller across all workers gets is_probe). A route's
// last remaining target is always allowed; it still takes a free probe claim
// in half_open, so its outcome can close the breaker.
Admission breaker_admit(BreakerState& s, const BreakerConfig& cfg, std::uint64_t now_ms,
                        bool last_target);

struct Outcome {
    // See is_failure_status(); connect errors and timeouts too. A client-fault
    // status (400, 401, 404...) is recorded with failure = false: the target
    // answered, so a probe that gets one closes the breaker.
    bool failure = false;
    bool was_probe = false;           // Admission::is_probe of this attempt
    std::uint64_t retry_after_ms = 0; // provider's Retry-After, 0 if none
    std::uint64_t latency_ms = 0;     // the attempt's latency as the caller measures it
    bool retry = false;               // this attempt was a retry on the same target
    bool fallback = false;            // first attempt on a non-primary target (an earlier
                                      // target failed or its breaker refused)
};

// Records one finished attempt: lifetime counters and histogram always; the
// window only while closed (it restarts empty on close). In half_open only
// the probe's outcome changes the phase. A failure with Retry-After while
// open extends the open time (up to max_open_ms from now).
void breaker_record(BreakerState& s, const BreakerConfig& cfg, std::uint64_t now_ms,
                    const Outcome& o);

// The phase breaker_admit() would act on now (an expired open shows as
// half_open), for status output; does not mutate.
BreakerPhase breaker_effective_phase(const BreakerState& s, std::uint64_t now_ms);

struct WindowCounts {
    std::uint64_t requests = 0;
    std::uint64_t failures = 0;
};
WindowCounts breaker_window(const BreakerState& s, const BreakerConfig& cfg,
                            std::uint64_t now_ms);

// Upstream statuses that count as a target failure (and allow a fallback):
// 408, 409, 429 and every 5xx (529 included). Other 4xx are the client's
// fault and say nothing about the target's health.
bool is_failure_status(int http_status);

}  // namespace llmproxy
