#include "core/breaker.hpp"

#include <algorithm>
#include <limits>

namespace llmproxy {
namespace {

struct WindowGeometry {
    std::uint64_t width_ms;  // one bucket's time slice
    std::uint64_t span_ms;   // width * count: the window actually covered
    std::uint32_t count;
};

WindowGeometry geometry(const BreakerConfig& cfg) {
    std::uint32_t count = std::clamp<std::uint32_t>(cfg.buckets, 1, kMaxBreakerBuckets);
    std::uint64_t width = std::max<std::uint64_t>(1, cfg.window_ms / count);
    return {width, width * count, count};
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
    return b > std::numeric_limits<std::uint64_t>::max() - a
               ? std::numeric_limits<std::uint64_t>::max()
               : a + b;
}

void bump(std::uint32_t& counter) {
    if (counter != std::numeric_limits<std::uint32_t>::max()) ++counter;
}

void count_in_window(BreakerState& s, const BreakerConfig& cfg, std::uint64_t now_ms,
                     bool failure) {
    WindowGeometry g = geometry(cfg);
    std::uint64_t slice = now_ms / g.width_ms;
    std::uint64_t slice_start = slice * g.width_ms;
    BreakerBucket& b = s.window[slice % g.count];
    // A bucket from an older slice is reused; one with a newer start was just
    // written by a worker whose cached clock is ahead of ours: add to it.
    if (b.start_ms < slice_start) b = BreakerBucket{slice_start, 0, 0};
    bump(b.requests);
    if (failure) bump(b.failures);
}

void open_breaker(BreakerState& s, const BreakerConfig& cfg, std::uint64_t now_ms,
                  std::uint64_t retry_after_ms) {
    // open_ms doubles per consecutive failed probe; shifting stops well
    // before overflow and the cap applies anyway.
    unsigned shift = std::min<unsigned>(s.failed_probes, 20);
    std::uint64_t base = cfg.open_ms > (std::numeric_limits<std::uint64_t>::max() >> shift)
                             ? std::numeric_limits<std::uint64_t>::max()
                             : cfg.open_ms << shift;
    std::uint64_t until = saturating_add(now_ms, std::max(base, retry_after_ms));
    until = std::max(until, s.retry_after_until_ms);
    until = std::min(until, saturating_add(now_ms, cfg.max_open_ms));
    s.phase = BreakerPhase::kOpen;
    s.open_until_ms = until;
    s.opened_at_ms = now_ms;
    s.probe_in_flight = 0;
    ++s.opens;
}

void close_breaker(BreakerState& s) {
    s.phase = BreakerPhase::kClosed;
    s.probe_in_flight = 0;
    s.failed_probes = 0;
    s.open_until_ms = 0;
    s.retry_after_until_ms = 0;
    s.window = {};
}

void record_latency(BreakerState& s, std::uint64_t latency_ms) {
    std::size_t i = 0;
    while (i < kLatencyBoundsMs.size() && latency_ms > kLatencyBoundsMs[i]) ++i;
    ++s.latency_counts[i];
    s.latency_sum_ms = saturating_add(s.latency_sum_ms, latency_ms);
}

}  // namespace

std::string_view breaker_phase_name(BreakerPhase p) {
    switch (p) {
    case BreakerPhase::kClosed: return "closed";
    case BreakerPhase::kHalfOpen: return "half_open";
    case BreakerPhase::kOpen: return "open";
    }
    return "closed";
}

Admission breaker_admit(BreakerState& s, const BreakerConfig& cfg, std::uint64_t now_ms,
                        bool last_target) {
    if (s.phase == BreakerPhase::kOpen && now_ms >= s.open_until_ms) {
        s.phase = BreakerPhase::kHalfOpen;
        s.probe_in_flight = 0;
    }
    Admission a;
    a.state_before = s.phase;
    switch (s.phase) {
    case BreakerPhase::kClosed:
        a.allowed = true;
        return a;
    case BreakerPhase::kOpen:
        break;
    case BreakerPhase::kHalfOpen:
        if (s.probe_in_flight &&
            now_ms >= saturating_add(s.probe_claimed_at_ms, cfg.probe_timeout_ms)) {
            s.probe_in_flight = 0;  // the probe never reported back
        }
        if (!s.probe_in_flight) {
            s.probe_in_flight = 1;
            s.probe_claimed_at_ms = now_ms;
            a.allowed = true;
            a.is_probe = true;
            return a;
        }
        break;
    }
    a.allowed = last_target;
    if (!a.allowed) ++s.rejections;
    return a;
}

void breaker_record(BreakerState& s, const BreakerConfig& cfg, std::uint64_t now_ms,
                    const Outcome& o) {
    ++s.requests;
    if (o.failure) ++s.failures;
    if (o.retry) ++s.retries;
    if (o.fallback) ++s.fallbacks;
    record_latency(s, o.latency_ms);

    std::uint64_t retry_after =
        o.failure ? std::min(o.retry_after_ms, cfg.max_open_ms) : std::uint64_t{0};

    switch (s.phase) {
    case BreakerPhase::kClosed: {
        count_in_window(s, cfg, now_ms, o.failure);
        if (!o.failure) return;
        if (retry_after > 0) {
            s.retry_after_until_ms =
                std::max(s.retry_after_until_ms, saturating_add(now_ms, retry_after));
        }
        WindowCounts w = breaker_window(s, cfg, now_ms);
        std::uint64_t min_requests = std::max<std::uint32_t>(cfg.min_requests, 1);
        if (w.requests >= min_requests &&
            static_cast<double>(w.failures) >= cfg.failure_ratio * static_cast<double>(w.requests)) {
            open_breaker(s, cfg, now_ms, retry_after);
        }
        return;
    }
    case BreakerPhase::kHalfOpen:
        if (!o.was_probe) return;  // only the probe decides
        if (!o.failure) {
            close_breaker(s);
            return;
        }
        if (s.failed_probes != std::numeric_limits<std::uint16_t>::max()) ++s.failed_probes;
        open_breaker(s, cfg, now_ms, retry_after);
        return;
    case BreakerPhase::kOpen:
        if (retry_after > 0) {
            s.open_until_ms = std::max(s.open_until_ms, saturating_add(now_ms, retry_after));
        }
        return;
    }
}

BreakerPhase breaker_effective_phase(const BreakerState& s, std::uint64_t now_ms) {
    if (s.phase == BreakerPhase::kOpen && now_ms >= s.open_until_ms) {
        return BreakerPhase::kHalfOpen;
    }
    return s.phase;
}

WindowCounts breaker_window(const BreakerState& s, const BreakerConfig& cfg,
                            std::uint64_t now_ms) {
    WindowGeometry g = geometry(cfg);
    WindowCounts w;
    for (std::uint32_t i = 0; i < g.count; ++i) {
        const BreakerBucket& b = s.window[i];
        if (saturating_add(b.start_ms, g.span_ms) > now_ms) {
            w.requests += b.requests;
            w.failures += b.failures;
        }
    }
    return w;
}

bool is_failure_status(int http_status) {
    return http_status == 408 || http_status == 409 || http_status == 429 ||
           (http_status >= 500 && http_status <= 599);
}

}  // namespace llmproxy
