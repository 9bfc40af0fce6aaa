// Renders breaker state and per-target counters for the status location:
// JSON by default, Prometheus text exposition format 0.0.4 on request.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/breaker.hpp"

namespace llmproxy {

struct StatusEntry {
    std::string provider;
    std::string model;
    BreakerState state{};     // a copy taken under the zone lock
    BreakerConfig config{};   // for the window figures and open time left
};

// {"now_ms":N,"targets":[{"provider":..,"model":..,
//   "breaker":{"state":"closed|half_open|open","open_remaining_ms":N,
//              "probe_in_flight":bool,"window_requests":N,"window_failures":N,"opens":N,
//              "rejections":N},
//   "requests":N,"failures":N,"retries":N,"fallbacks":N,
//   "latency":{"buckets":[{"le":"0.1","count":N}...,{"le":"+Inf","count":N}],
//              "sum_seconds":X,"count":N}}]}
// Bucket counts are cumulative, as in Prometheus. The state is the effective
// one (an open breaker past its open time shows as half_open).
std::string status_json(const std::vector<StatusEntry>& entries, std::uint64_t now_ms);

// Prometheus text format 0.0.4: one # HELP / # TYPE pair per family, then its
// samples labelled {provider="...",model="..."} (label values escaped:
// backslash, double quote, newline). Families: llmproxy_requests_total,
// llmproxy_failures_total, llmproxy_retries_total, llmproxy_fallbacks_total,
// llmproxy_breaker_rejections_total, llmproxy_breaker_opens_total (counters),
// llmproxy_breaker_state (gauge: 0 closed, 1 half-open, 2 open),
// llmproxy_upstream_latency_seconds (histogram: cumulative _bucket{le=...},
// _sum, _count).
std::string status_prometheus(const std::vector<StatusEntry>& entries, std::uint64_t now_ms);

// Content types to send with each.
inline constexpr const char* kStatusJsonContentType = "application/json";
inline constexpr const char* kStatusPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace llmproxy
