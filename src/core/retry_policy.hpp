// Retry, fallback and timeout policy for upstream attempts: pure decisions,
// no clock and no randomness of its own (callers pass both in), so every
// branch is testable.
//
// A request walks an ordered list of targets. After a failed attempt the
// caller asks next_step() whether to retry the same target (after delay_ms),
// move to the next target, or give up and return the mapped error. All of
// this happens only while nothing has been sent to the client.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "core/breaker.hpp"
#include "core/status.hpp"

namespace llmproxy {

struct RetryConfig {
    std::uint32_t max_retries = 2;             // retries per target (attempts = 1 + this)
    std::uint64_t base_ms = 250;               // backoff before the first retry, doubling
    std::uint64_t max_backoff_ms = 8000;       // backoff ceiling before jitter
    std::uint64_t max_retry_after_ms = 30000;  // a longer Retry-After moves on to the next target
    std::uint64_t total_budget_ms = 60000;     // all attempts and waits of one request
};

enum class FailureKind {
    kConnect,      // no connection (refused, reset, DNS, TLS handshake)
    kTimeout,      // connect, first byte or idle timeout of this attempt
    kStatus,       // an HTTP status; `status` says which
    kStreamError,  // the stream failed before its first event was passed on
                   // (an error event first, or the upstream closed early);
                   // `status` is the mapped status if known, else 0
};

enum class RetryAction { kRetrySame, kNextTarget, kGiveUp };

struct Decision {
    RetryAction action = RetryAction::kGiveUp;
    std::uint64_t delay_ms = 0;  // wait before the retry; 0 unless kRetrySame
};

// attempt_on_target: attempts already made on this target, counting the one
// that just failed (1 after the first failure). elapsed_ms: time since the
// request started. random: any uniformly distributed 64-bit value.
//
// - Status failures are those of is_failure_status() (408, 409, 429, 5xx);
//   any other status is the client's fault (or no failure): kGiveUp, the
//   caller returns the mapped error.
// - Timeouts go to the next target at once: waiting again on a target that
//   just spent a whole timeout rarely pays and would eat the budget.
// - Otherwise retry the same target while attempt_on_target <= max_retries,
//   after min(max_backoff, base * 2^(attempt-1)) with full jitter (uniform in
//   [0, that]), or after exactly the Retry-After when one was given. A
//   Retry-After above max_retry_after_ms moves on instead of waiting.
// - Nothing may end past total_budget_ms: a retry whose wait would reach the
//   budget becomes kNextTarget; with the budget spent, kGiveUp.
// kNextTarget with no target left means the caller gives up.
Decision next_step(const RetryConfig& cfg, std::uint32_t attempt_on_target,
                   std::uint64_t elapsed_ms, FailureKind kind, int status,
                   std::optional<std::uint64_t> retry_after_ms, std::uint64_t random);

// Walks one request through its route's ordered targets: which target the
// next attempt goes to, whether it is a retry or a fallback, and what to do
// after a failure. One per request, not shared; breaker admission is the
// caller's callback (it takes the zone lock around breaker_admit()).
//
//   RouteAttempts plan(route.targets.size());
//   while (auto a = plan.next(admit)) {
//       ... send to targets[a->target] ...
//       breaker_record(..., plan.outcome(failed, retry_after, latency));
//       if (!failed) break;                    // done
//       Decision d = plan.on_failure(...);
//       if (d.action == RetryAction::kGiveUp) break;  // return the mapped error
//       if (d.action == RetryAction::kRetrySame) wait d.delay_ms;
//   }
//   // next() == nullopt: no target left (every remaining one refused).
class RouteAttempts {
public:
    struct Attempt {
        std::size_t target = 0;  // index into the route's targets
        bool is_probe = false;   // Admission::is_probe: report it in the Outcome
        bool retry = false;      // another attempt on the same target
        bool fallback = false;   // first attempt on a target other than the primary
                                 // (an earlier one failed or its breaker refused)
    };
    // admit(target_index, last_target) -> Admission. last_target is true for
    // the route's final target, which breaker_admit() never refuses.
    using AdmitFn = std::function<Admission(std::size_t target, bool last_target)>;

    explicit RouteAttempts(std::size_t target_count) : target_count_(target_count) {}

    // The next attempt: the current target (again, after kRetrySame) or the
    // first later one whose breaker admits it. A retry refused by a breaker
    // that has just opened moves on too. nullopt when no target is left.
    std::optional<Attempt> next(const AdmitFn& admit);

    // After the current attempt failed: next_step() for it, with the walk
    // updated. kNextTarget when no target is left becomes kGiveUp.
    Decision on_failure(const RetryConfig& cfg, std::uint64_t elapsed_ms, FailureKind kind,
                        int status, std::optional<std::uint64_t> retry_after_ms,
                        std::uint64_t random);

    // The breaker_record() outcome of the current attempt.
    Outcome outcome(bool failure, std::uint64_t retry_after_ms, std::uint64_t latency_ms) const;

    std::size_t attempts() const { return attempts_; }

private:
    std::size_t target_count_;
    std::size_t current_ = 0;               // target of the last/next attempt
    std::uint32_t attempts_on_current_ = 0;
    std::size_t attempts_ = 0;
    Attempt last_{};
};

// The provider's wait hint in ms. retry_after_ms is the `retry-after-ms`
// header (OpenAI; a non-negative number, fractions allowed) and wins when
// valid. retry_after is `Retry-After`: delta-seconds (a fraction is
// tolerated) or an HTTP-date (IMF-fixdate, RFC 850 or asctime form), taken
// relative to now_unix; a date in the past gives 0. Empty headers or garbage:
// nullopt. Huge values saturate instead of overflowing.
std::optional<std::uint64_t> parse_retry_after(std::string_view retry_after,
                                               std::string_view retry_after_ms,
                                               std::int64_t now_unix);

// Per-attempt timeouts (connect, time to first byte, longest gap between
// stream events) and the overall deadline of a request, all in ms.
struct TimeoutConfig {
    std::uint64_t connect_ms = 10000;
    std::uint64_t first_byte_ms = 60000;
    std::uint64_t idle_ms = 300000;
    std::uint64_t total_ms = 900000;
};

// A duration: digits with a unit suffix "ms", "s" or "m" ("250ms", "5s",
// "2m"), greater than 0 and at most 24 hours. A bare number is refused (is
// "5000" seconds or ms?).
Result<std::uint64_t> parse_duration_ms(std::string_view text);

// Sets one timeout by name: "connect", "first_byte", "idle" or "total"
// ('-' accepted for '_'). Leaves cfg unchanged on error.
Status set_timeout(TimeoutConfig& cfg, std::string_view name, std::string_view value);

// Applies "name=value" settings separated by commas or spaces
// ("connect=5s,first_byte=30s"), all or nothing.
Status apply_timeout_settings(TimeoutConfig& cfg, std::string_view settings);

}  // namespace llmproxy
