// Claude Code scenario routing: besides model patterns, a route may be stored
// under a scenario key ("scenario:think"...). A request that fits a scenario
// with a configured route goes to that route instead of the one its model
// pattern would pick; the chosen key is what $llmproxy_route shows.
//
// Precedence, when several scenarios fit one request (first wins):
//   1. scenario:long-context  estimated input tokens above the store's
//                             threshold (0 = scenario disabled)
//   2. scenario:web-search    a web search server tool is declared
//   3. scenario:image         an image anywhere in the request
//   4. scenario:think         extended thinking / reasoning enabled
//   5. scenario:background    a haiku-class model ("haiku" in the model name,
//                             any case): Claude Code's background calls
// The order puts capability before preference: a target that cannot hold the
// input, cannot search or cannot see images fails the request, while a think
// or background route only trades quality against cost. A scenario that fits
// but has no route configured is skipped, so the next one down (or the model
// pattern route) applies.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "core/translate.hpp"

namespace llmproxy {

enum class Scenario { kNone, kLongContext, kWebSearch, kImage, kThink, kBackground };

// The scenarios in precedence order.
inline constexpr std::array<Scenario, 5> kScenarioPrecedence = {
    Scenario::kLongContext, Scenario::kWebSearch, Scenario::kImage, Scenario::kThink,
    Scenario::kBackground};

// "scenario:long-context", "scenario:web-search", "scenario:image",
// "scenario:think", "scenario:background"; "" for kNone.
std::string_view scenario_route_key(Scenario s);

// The scenario a route key names (for validating `route set scenario:...`);
// nullopt for any other key, including unknown "scenario:" keys.
std::optional<Scenario> scenario_from_route_key(std::string_view key);

// True for any key starting with "scenario:" (known or not).
bool is_scenario_route_key(std::string_view key);

// Whether `s` fits the request, by itself (no route check).
bool scenario_applies(Scenario s, const RequestFacts& facts,
                      std::uint64_t long_context_threshold);

// The first scenario in precedence order that fits the request and for which
// has_route(scenario_route_key(s)) is true; kNone when none does.
// facts.estimated_input_tokens must be filled when
// long_context_estimate_needed() says so (parse_request leaves it 0).
Scenario classify(const RequestFacts& facts, std::uint64_t long_context_threshold,
                  const std::function<bool(std::string_view)>& has_route);

// Whether the (costly) input-token estimate matters for classify(): only with
// a threshold set and a scenario:long-context route configured.
bool long_context_estimate_needed(std::uint64_t long_context_threshold,
                                  const std::function<bool(std::string_view)>& has_route);

}  // namespace llmproxy
