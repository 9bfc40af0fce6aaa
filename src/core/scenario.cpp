#include "core/scenario.hpp"

namespace llmproxy {
namespace {

constexpr std::string_view kScenarioPrefix = "scenario:";

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }

bool contains_ascii_ci(std::string_view haystack, std::string_view lower_needle) {
    if (lower_needle.size() > haystack.size()) return false;
    for (std::size_t i = 0; i + lower_needle.size() <= haystack.size(); ++i) {
        std::size_t j = 0;
        while (j < lower_needle.size() && ascii_lower(haystack[i + j]) == lower_needle[j]) ++j;
        if (j == lower_needle.size()) return true;
    }
    return false;
}

}  // namespace

std::string_view scenario_route_key(Scenario s) {
    switch (s) {
    case Scenario::kNone: return "";
    case Scenario::kLongContext: return "scenario:long-context";
    case Scenario::kWebSearch: return "scenario:web-search";
    case Scenario::kImage: return "scenario:image";
    case Scenario::kThink: return "scenario:think";
    case Scenario::kBackground: return "scenario:background";
    }
    return "";
}

std::optional<Scenario> scenario_from_route_key(std::string_view key) {
    for (Scenario s : kScenarioPrecedence) {
        if (scenario_route_key(s) == key) return s;
    }
    return std::nullopt;
}

bool is_scenario_route_key(std::string_view key) {
    return key.substr(0, kScenarioPrefix.size()) == kScenarioPrefix;
}

bool scenario_applies(Scenario s, const RequestFacts& facts,
                      std::uint64_t long_context_threshold) {
    switch (s) {
    case Scenario::kNone: return false;
    case Scenario::kLongContext:
        return long_context_threshold > 0 && facts.estimated_input_tokens > long_context_threshold;
    case Scenario::kWebSearch: return facts.has_web_search;
    case Scenario::kImage: return facts.has_image;
    case Scenario::kThink: return facts.thinking;
    case Scenario::kBackground: return contains_ascii_ci(facts.model, "haiku");
    }
    return false;
}

Scenario classify(const RequestFacts& facts, std::uint64_t long_context_threshold,
                  const std::function<bool(std::string_view)>& has_route) {
    for (Scenario s : kScenarioPrecedence) {
        if (scenario_applies(s, facts, long_context_threshold) && has_route(scenario_route_key(s))) {
            return s;
        }
    }
    return Scenario::kNone;
}

bool long_context_estimate_needed(std::uint64_t long_context_threshold,
                                  const std::function<bool(std::string_view)>& has_route) {
    return long_context_threshold > 0 && has_route(scenario_route_key(Scenario::kLongContext));
}

}  // namespace llmproxy
