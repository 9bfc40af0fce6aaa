// Status output: JSON parsed back with RapidJSON, Prometheus text checked line
// by line against the 0.0.4 exposition grammar (HELP/TYPE once per family
// before its samples, escaped label values, cumulative histogram buckets).
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/status_format.hpp"

namespace llmproxy {
namespace {

constexpr std::uint64_t kNow = 5'000'000;

StatusEntry entry(std::string provider, std::string model) {
    StatusEntry e;
    std::memset(&e.state, 0, sizeof e.state);
    e.provider = std::move(provider);
    e.model = std::move(model);
    return e;
}

// An entry with traffic: 3 attempts (one retry, one fallback failure), latencies
// 50 ms, 300 ms, 200 s, and an open breaker with 12 s left.
StatusEntry busy_entry() {
    StatusEntry e = entry("anthropic", "claude-sonnet-4-5");
    Outcome o;
    o.latency_ms = 50;
    breaker_record(e.state, e.config, kNow - 1000, o);
    o.latency_ms = 300;
    o.retry = true;
    breaker_record(e.state, e.config, kNow - 900, o);
    o.latency_ms = 200'000;
    o.retry = false;
    o.fallback = true;
    o.failure = true;
    breaker_record(e.state, e.config, kNow - 800, o);
    e.state.phase = BreakerPhase::kOpen;
    e.state.open_until_ms = kNow + 12'000;
    e.state.opens = 1;
    e.state.rejections = 4;
    return e;
}

TEST(StatusJson, ParsesBackWithAllFields) {
    std::vector<StatusEntry> entries = {busy_entry(), entry("openai", "gpt-4o")};
    std::string json = status_json(entries, kNow);
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json(json, JsonLimits{}, doc).ok()) << json;
    ASSERT_TRUE(doc.IsObject());
    EXPECT_EQ(doc["now_ms"].GetUint64(), kNow);
    const auto& targets = doc["targets"];
    ASSERT_TRUE(targets.IsArray());
    ASSERT_EQ(targets.Size(), 2u);

    const auto& t = targets[0];
    EXPECT_STREQ(t["provider"].GetString(), "anthropic");
    EXPECT_STREQ(t["model"].GetString(), "claude-sonnet-4-5");
    EXPECT_STREQ(t["breaker"]["state"].GetString(), "open");
    EXPECT_EQ(t["breaker"]["open_remaining_ms"].GetUint64(), 12'000u);
    EXPECT_FALSE(t["breaker"]["probe_in_flight"].GetBool());
    EXPECT_EQ(t["breaker"]["window_requests"].GetUint64(), 3u);
    EXPECT_EQ(t["breaker"]["window_failures"].GetUint64(), 1u);
    EXPECT_EQ(t["breaker"]["opens"].GetUint64(), 1u);
    EXPECT_EQ(t["breaker"]["rejections"].GetUint64(), 4u);
    EXPECT_EQ(t["requests"].GetUint64(), 3u);
    EXPECT_EQ(t["failures"].GetUint64(), 1u);
    EXPECT_EQ(t["retries"].GetUint64(), 1u);
    EXPECT_EQ(t["fallbacks"].GetUint64(), 1u);

    const auto& lat = t["latency"];
    EXPECT_DOUBLE_EQ(lat["sum_seconds"].GetDouble(), 200.35);
    EXPECT_EQ(lat["count"].GetUint64(), 3u);
    const auto& buckets = lat["buckets"];
    ASSERT_EQ(buckets.Size(), kLatencyBuckets);
    std::map<std::string, std::uint64_t> by_le;
    for (const auto& b : buckets.GetArray()) by_le[b["le"].GetString()] = b["count"].GetUint64();
    EXPECT_EQ(by_le["0.1"], 1u);
    EXPECT_EQ(by_le["0.25"], 1u);
    EXPECT_EQ(by_le["0.5"], 2u);
    EXPECT_EQ(by_le["120"], 2u);
    EXPECT_EQ(by_le["+Inf"], 3u);

    EXPECT_STREQ(targets[1]["breaker"]["state"].GetString(), "closed");
    EXPECT_EQ(targets[1]["requests"].GetUint64(), 0u);
    EXPECT_DOUBLE_EQ(targets[1]["latency"]["sum_seconds"].GetDouble(), 0.0);
}

TEST(StatusJson, ExpiredOpenShowsAsHalfOpen) {
    StatusEntry e = busy_entry();
    std::string json = status_json({e}, kNow + 12'000);
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json(json, JsonLimits{}, doc).ok()) << json;
    EXPECT_STREQ(doc["targets"][0]["breaker"]["state"].GetString(), "half_open");
    EXPECT_EQ(doc["targets"][0]["breaker"]["open_remaining_ms"].GetUint64(), 0u);
}

TEST(StatusJson, EscapesNamesAndHandlesEmpty) {
    std::string json = status_json({entry("we\"ird\\", "m\n\x01")}, kNow);
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json(json, JsonLimits{}, doc).ok()) << json;
    EXPECT_STREQ(doc["targets"][0]["provider"].GetString(), "we\"ird\\");
    EXPECT_STREQ(doc["targets"][0]["model"].GetString(), "m\n\x01");

    json = status_json({}, kNow);
    ASSERT_TRUE(parse_json(json, JsonLimits{}, doc).ok()) << json;
    EXPECT_EQ(doc["targets"].Size(), 0u);
}

// ---- Prometheus ----

struct Sample {
    std::string name;
    std::map<std::string, std::string> labels;  // unescaped
    std::string value;
};

// Parses `{a="x",b="y"}` with the format's escapes; false on any deviation.
bool parse_labels(const std::string& s, std::size_t& i, std::map<std::string, std::string>& out) {
    if (i >= s.size() || s[i] != '{') return true;  // no labels
    ++i;
    while (i < s.size() && s[i] != '}') {
        std::size_t eq = s.find('=', i);
        if (eq == std::string::npos) return false;
        std::string name = s.substr(i, eq - i);
        if (!std::regex_match(name, std::regex("[a-zA-Z_][a-zA-Z0-9_]*"))) return false;
        i = eq + 1;
        if (i >= s.size() || s[i] != '"') return false;
        ++i;
        std::string value;
        for (;; ++i) {
            if (i >= s.size()) return false;
            char c = s[i];
            if (c == '"') break;
            if (c == '\n') return false;  // raw newline never allowed
            if (c == '\\') {
                if (++i >= s.size()) return false;
                char e = s[i];
                if (e == '\\') value += '\\';
                else if (e == '"') value += '"';
                else if (e == 'n') value += '\n';
                else return false;
            } else {
                value += c;
            }
        }
        ++i;  // closing quote
        if (out.count(name)) return false;
        out[name] = value;
        if (i < s.size() && s[i] == ',') ++i;
    }
    if (i >= s.size()) return false;
    ++i;  // '}'
    return true;
}

struct Exposition {
    std::map<std::string, std::string> types;  // family -> type
    std::vector<Sample> samples;
};

// Checks the grammar and that every sample's family had HELP and TYPE
// before it, each exactly once.
Exposition parse_exposition(const std::string& text) {
    Exposition ex;
    std::map<std::string, int> help_count, type_count;
    std::string current_family;
    EXPECT_TRUE(text.empty() || text.back() == '\n') << "ends with a newline";
    std::istringstream in(text);
    std::string line;
    const std::regex help_re("# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)");
    const std::regex type_re("# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)");
    const std::regex name_re("[a-zA-Z_:][a-zA-Z0-9_:]*");
    const std::regex value_re("[0-9]+(\\.[0-9]+)?");
    while (std::getline(in, line)) {
        std::smatch m;
        EXPECT_FALSE(line.empty()) << "no blank lines";
        if (line.rfind("#", 0) == 0) {
            if (std::regex_match(line, m, help_re)) {
                ++help_count[m[1]];
                current_family = m[1];
            } else if (std::regex_match(line, m, type_re)) {
                ++type_count[m[1]];
                EXPECT_EQ(current_family, m[1]) << "TYPE follows its HELP";
                ex.types[m[1]] = m[2];
            } else {
                ADD_FAILURE() << "bad comment line: " << line;
            }
            continue;
        }
        Sample s;
        std::size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
        s.name = line.substr(0, i);
        EXPECT_TRUE(std::regex_match(s.name, name_re)) << line;
        EXPECT_TRUE(parse_labels(line, i, s.labels)) << line;
        EXPECT_TRUE(i < line.size() && line[i] == ' ') << line;
        s.value = i < line.size() ? line.substr(i + 1) : "";
        EXPECT_TRUE(std::regex_match(s.value, value_re)) << line;
        // The sample belongs to the family announced last.
        std::string family = s.name;
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
            std::string suf = suffix;
            if (ex.types[current_family] == "histogram" && family.size() > suf.size() &&
                family.compare(family.size() - suf.size(), suf.size(), suf) == 0) {
                family.resize(family.size() - suf.size());
            }
        }
        EXPECT_EQ(family, current_family) << line;
        ex.samples.push_back(std::move(s));
    }
    for (const auto& [family, n] : help_count) {
        EXPECT_EQ(n, 1) << family;
        EXPECT_EQ(type_count[family], 1) << family;
    }
    EXPECT_EQ(help_count.size(), type_count.size());
    return ex;
}

const Sample* find(const Exposition& ex, const std::string& name, const std::string& provider,
                   const std::string& le = "") {
    for (const Sample& s : ex.samples) {
        auto p = s.labels.find("provider");
        auto l = s.labels.find("le");
        if (s.name == name && p != s.labels.end() && p->second == provider &&
            (le.empty() ? l == s.labels.end() : (l != s.labels.end() && l->second == le))) {
            return &s;
        }
    }
    return nullptr;
}

std::string value_of(const Exposition& ex, const std::string& name, const std::string& provider,
                     const std::string& le = "") {
    const Sample* s = find(ex, name, provider, le);
    return s ? s->value : "<missing>";
}

TEST(StatusPrometheus, FamiliesTypesAndValues) {
    std::vector<StatusEntry> entries = {busy_entry(), entry("openai", "gpt-4o")};
    Exposition ex = parse_exposition(status_prometheus(entries, kNow));
    EXPECT_EQ(ex.types["llmproxy_requests_total"], "counter");
    EXPECT_EQ(ex.types["llmproxy_failures_total"], "counter");
    EXPECT_EQ(ex.types["llmproxy_retries_total"], "counter");
    EXPECT_EQ(ex.types["llmproxy_fallbacks_total"], "counter");
    EXPECT_EQ(ex.types["llmproxy_breaker_rejections_total"], "counter");
    EXPECT_EQ(ex.types["llmproxy_breaker_opens_total"], "counter");
    EXPECT_EQ(ex.types["llmproxy_breaker_state"], "gauge");
    EXPECT_EQ(ex.types["llmproxy_upstream_latency_seconds"], "histogram");

    EXPECT_EQ(value_of(ex, "llmproxy_requests_total", "anthropic"), "3");
    EXPECT_EQ(value_of(ex, "llmproxy_failures_total", "anthropic"), "1");
    EXPECT_EQ(value_of(ex, "llmproxy_retries_total", "anthropic"), "1");
    EXPECT_EQ(value_of(ex, "llmproxy_fallbacks_total", "anthropic"), "1");
    EXPECT_EQ(value_of(ex, "llmproxy_breaker_rejections_total", "anthropic"), "4");
    EXPECT_EQ(value_of(ex, "llmproxy_breaker_opens_total", "anthropic"), "1");
    EXPECT_EQ(value_of(ex, "llmproxy_breaker_state", "anthropic"), "2");
    EXPECT_EQ(value_of(ex, "llmproxy_breaker_state", "openai"), "0");
    EXPECT_EQ(value_of(ex, "llmproxy_requests_total", "openai"), "0");
    const Sample* s = find(ex, "llmproxy_requests_total", "anthropic");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->labels.at("model"), "claude-sonnet-4-5");

    // Half-open once the open time has passed.
    Exposition later = parse_exposition(status_prometheus(entries, kNow + 12'000));
    EXPECT_EQ(value_of(later, "llmproxy_breaker_state", "anthropic"), "1");
}

TEST(StatusPrometheus, HistogramIsCumulativeWithSumAndCount) {
    Exposition ex = parse_exposition(status_prometheus({busy_entry()}, kNow));
    const char* les[] = {"0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "120", "+Inf"};
    const char* want[] = {"1", "1", "2", "2", "2", "2", "2", "2", "2", "2", "3"};
    std::vector<std::string> order;
    for (const Sample& s : ex.samples) {
        if (s.name == "llmproxy_upstream_latency_seconds_bucket") order.push_back(s.labels.at("le"));
    }
    ASSERT_EQ(order.size(), 11u);
    for (std::size_t i = 0; i < 11; ++i) {
        EXPECT_EQ(order[i], les[i]) << "buckets in increasing le order";
        EXPECT_EQ(value_of(ex, "llmproxy_upstream_latency_seconds_bucket", "anthropic", les[i]),
                  want[i])
            << les[i];
    }
    EXPECT_EQ(value_of(ex, "llmproxy_upstream_latency_seconds_sum", "anthropic"), "200.35");
    EXPECT_EQ(value_of(ex, "llmproxy_upstream_latency_seconds_count", "anthropic"), "3");
}

TEST(StatusPrometheus, LabelValuesAreEscaped) {
    const std::string provider = "a\"b\\c\nd";
    const std::string model = "m{x=\"1\"},y";
    std::string text = status_prometheus({entry(provider, model)}, kNow);
    EXPECT_NE(text.find("provider=\"a\\\"b\\\\c\\nd\""), std::string::npos) << text;
    Exposition ex = parse_exposition(text);
    const Sample* s = find(ex, "llmproxy_requests_total", provider);
    ASSERT_NE(s, nullptr) << text;
    EXPECT_EQ(s->labels.at("model"), model);
}

TEST(StatusPrometheus, NoEntriesStillValid) {
    std::string text = status_prometheus({}, kNow);
    Exposition ex = parse_exposition(text);
    EXPECT_TRUE(ex.samples.empty());
    EXPECT_EQ(ex.types.size(), 8u);
}

}  // namespace
}  // namespace llmproxy
