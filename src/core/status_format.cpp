#include "core/status_format.hpp"

#include <string_view>

#include "core/json.hpp"

namespace llmproxy {
namespace {

// 1500 -> "1.5", 100 -> "0.1", 120000 -> "120": exact, locale-independent.
std::string ms_as_seconds(std::uint64_t ms) {
    std::string out = std::to_string(ms / 1000);
    std::uint64_t frac = ms % 1000;
    if (frac == 0) return out;
    std::string digits = std::to_string(frac);
    digits.insert(0, 3 - digits.size(), '0');
    while (digits.back() == '0') digits.pop_back();
    return out + "." + digits;
}

std::uint64_t open_remaining_ms(const BreakerState& s, std::uint64_t now_ms) {
    return s.phase == BreakerPhase::kOpen && s.open_until_ms > now_ms ? s.open_until_ms - now_ms
                                                                     : 0;
}

void append_field(std::string& out, std::string_view name, std::uint64_t v) {
    json_append_string(out, name);
    out += ':';
    out += std::to_string(v);
}

// Label values per the text format: \ -> \\, " -> \", newline -> \n.
void append_label_value(std::string& out, std::string_view v) {
    out += '"';
    for (char c : v) {
        switch (c) {
        case '\\': out += "\\\\"; break;
        case '"': out += "\\\""; break;
        case '\n': out += "\\n"; break;
        default: out += c;
        }
    }
    out += '"';
}

void append_labels(std::string& out, const StatusEntry& e, std::string_view le = {}) {
    out += "{provider=";
    append_label_value(out, e.provider);
    out += ",model=";
    append_label_value(out, e.model);
    if (!le.empty()) {
        out += ",le=";
        append_label_value(out, le);
    }
    out += '}';
}

void append_family_header(std::string& out, std::string_view name, std::string_view type,
                          std::string_view help) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

template <class ValueOf>
void append_family(std::string& out, const std::vector<StatusEntry>& entries,
                   std::string_view name, std::string_view type, std::string_view help,
                   ValueOf value_of) {
    append_family_header(out, name, type, help);
    for (const StatusEntry& e : entries) {
        out.append(name);
        append_labels(out, e);
        out += ' ';
        out += std::to_string(value_of(e));
        out += '\n';
    }
}

}  // namespace

std::string status_json(const std::vector<StatusEntry>& entries, std::uint64_t now_ms) {
    std::string out = "{";
    append_field(out, "now_ms", now_ms);
    out += ",\"targets\":[";
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const StatusEntry& e = entries[i];
        const BreakerState& s = e.state;
        WindowCounts w = breaker_window(s, e.config, now_ms);
        if (i) out += ',';
        out += "{\"provider\":";
        json_append_string(out, e.provider);
        out += ",\"model\":";
        json_append_string(out, e.model);
        out += ",\"breaker\":{\"state\":";
        json_append_string(out, breaker_phase_name(breaker_effective_phase(s, now_ms)));
        out += ',';
        append_field(out, "open_remaining_ms", open_remaining_ms(s, now_ms));
        out += ",\"probe_in_flight\":";
        out += s.probe_in_flight ? "true" : "false";
        out += ',';
        append_field(out, "window_requests", w.requests);
        out += ',';
        append_field(out, "window_failures", w.failures);
        out += ',';
        append_field(out, "opens", s.opens);
        out += ',';
        append_field(out, "rejections", s.rejections);
        out += "},";
        append_field(out, "requests", s.requests);
        out += ',';
        append_field(out, "failures", s.failures);
        out += ',';
        append_field(out, "retries", s.retries);
        out += ',';
        append_field(out, "fallbacks", s.fallbacks);
        out += ",\"latency\":{\"buckets\":[";
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b < kLatencyBuckets; ++b) {
            cumulative += s.latency_counts[b];
            if (b) out += ',';
            out += "{\"le\":";
            json_append_string(out, b < kLatencyBoundsMs.size() ? ms_as_seconds(kLatencyBoundsMs[b])
                                                                 : std::string("+Inf"));
            out += ',';
            append_field(out, "count", cumulative);
            out += '}';
        }
        out += "],\"sum_seconds\":";
        out += ms_as_seconds(s.latency_sum_ms);
        out += ',';
        append_field(out, "count", cumulative);
        out += "}}";
    }
    out += "]}";
    return out;
}

std::string status_prometheus(const std::vector<StatusEntry>& entries, std::uint64_t now_ms) {
    std::string out;
    append_family(out, entries, "llmproxy_requests_total", "counter",
                  "Upstream attempts per provider and model.",
                  [](const StatusEntry& e) { return e.state.requests; });
    append_family(out, entries, "llmproxy_failures_total", "counter",
                  "Upstream attempts that failed (connect error, timeout, 408, 409, 429, 5xx).",
                  [](const StatusEntry& e) { return e.state.failures; });
    append_family(out, entries, "llmproxy_retries_total", "counter",
                  "Attempts that were a retry on the same provider and model.",
                  [](const StatusEntry& e) { return e.state.retries; });
    append_family(out, entries, "llmproxy_fallbacks_total", "counter",
                  "First attempts on a non-primary target of a route (an earlier target failed or was open).",
                  [](const StatusEntry& e) { return e.state.fallbacks; });
    append_family(out, entries, "llmproxy_breaker_rejections_total", "counter",
                  "Attempts skipped because the circuit breaker was open.",
                  [](const StatusEntry& e) { return e.state.rejections; });
    append_family(out, entries, "llmproxy_breaker_opens_total", "counter",
                  "Times the circuit breaker opened.",
                  [](const StatusEntry& e) { return e.state.opens; });
    append_family(out, entries, "llmproxy_breaker_state", "gauge",
                  "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
                  [now_ms](const StatusEntry& e) {
                      return static_cast<unsigned>(breaker_effective_phase(e.state, now_ms));
                  });

    constexpr std::string_view kLatency = "llmproxy_upstream_latency_seconds";
    append_family_header(out, kLatency, "histogram", "Upstream attempt latency in seconds.");
    for (const StatusEntry& e : entries) {
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b < kLatencyBuckets; ++b) {
            cumulative += e.state.latency_counts[b];
            out.append(kLatency).append("_bucket");
            append_labels(out, e,
                          b < kLatencyBoundsMs.size() ? ms_as_seconds(kLatencyBoundsMs[b])
                                                      : std::string("+Inf"));
            out.append(" ").append(std::to_string(cumulative)).append("\n");
        }
        out.append(kLatency).append("_sum");
        append_labels(out, e);
        out.append(" ").append(ms_as_seconds(e.state.latency_sum_ms)).append("\n");
        out.append(kLatency).append("_count");
        append_labels(out, e);
        out.append(" ").append(std::to_string(cumulative)).append("\n");
    }
    return out;
}

}  // namespace llmproxy
