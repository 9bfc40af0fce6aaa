// Scenario classification: each scenario alone, precedence when several fit,
// fall-through when a scenario has no route, route keys.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/scenario.hpp"

namespace llmproxy {
namespace {

constexpr std::uint64_t kThreshold = 60'000;

struct Routes {
    std::set<std::string, std::less<>> keys;
    std::function<bool(std::string_view)> fn() const {
        return [this](std::string_view k) { return keys.find(k) != keys.end(); };
    }
};

Routes all_routes() {
    Routes r;
    for (Scenario s : kScenarioPrecedence) r.keys.emplace(scenario_route_key(s));
    return r;
}

RequestFacts plain() {
    RequestFacts f;
    f.model = "claude-sonnet-4-5";
    return f;
}

TEST(Scenario, RouteKeysRoundTrip) {
    EXPECT_EQ(scenario_route_key(Scenario::kLongContext), "scenario:long-context");
    EXPECT_EQ(scenario_route_key(Scenario::kWebSearch), "scenario:web-search");
    EXPECT_EQ(scenario_route_key(Scenario::kImage), "scenario:image");
    EXPECT_EQ(scenario_route_key(Scenario::kThink), "scenario:think");
    EXPECT_EQ(scenario_route_key(Scenario::kBackground), "scenario:background");
    EXPECT_EQ(scenario_route_key(Scenario::kNone), "");
    for (Scenario s : kScenarioPrecedence) {
        EXPECT_EQ(scenario_from_route_key(scenario_route_key(s)), s);
    }
    EXPECT_EQ(scenario_from_route_key("scenario:thinking"), std::nullopt);
    EXPECT_EQ(scenario_from_route_key("claude-*"), std::nullopt);
    EXPECT_EQ(scenario_from_route_key(""), std::nullopt);
    EXPECT_TRUE(is_scenario_route_key("scenario:thinking"));
    EXPECT_FALSE(is_scenario_route_key("scenario"));
    EXPECT_FALSE(is_scenario_route_key("gpt-4o"));
}

TEST(Scenario, PlainRequestIsNone) {
    Routes r = all_routes();
    EXPECT_EQ(classify(plain(), kThreshold, r.fn()), Scenario::kNone);
}

TEST(Scenario, EachScenarioAlone) {
    Routes r = all_routes();
    RequestFacts f = plain();
    f.estimated_input_tokens = kThreshold + 1;
    EXPECT_EQ(classify(f, kThreshold, r.fn()), Scenario::kLongContext);
    f = plain();
    f.has_web_search = true;
    EXPECT_EQ(classify(f, kThreshold, r.fn()), Scenario::kWebSearch);
    f = plain();
    f.has_image = true;
    EXPECT_EQ(classify(f, kThreshold, r.fn()), Scenario::kImage);
    f = plain();
    f.thinking = true;
    EXPECT_EQ(classify(f, kThreshold, r.fn()), Scenario::kThink);
    f = plain();
    f.model = "claude-3-5-haiku-20241022";
    EXPECT_EQ(classify(f, kThreshold, r.fn()), Scenario::kBackground);
}

TEST(Scenario, LongContextIsStrictlyAboveThresholdAndOffAtZero) {
    Routes r = all_routes();
    RequestFacts f = plain();
    f.estimated_input_tokens = kThreshold;
    EXPECT_EQ(classify(f, kThreshold, r.fn()), Scenario::kNone);
    f.estimated_input_tokens = kThreshold + 1;
    EXPECT_EQ(classify(f, kThreshold, r.fn()), Scenario::kLongContext);
    f.estimated_input_tokens = 10'000'000;
    EXPECT_EQ(classify(f, 0, r.fn()), Scenario::kNone) << "threshold 0 disables it";
}

TEST(Scenario, BackgroundMatchesHaikuInAnyCase) {
    Routes r = all_routes();
    for (const char* m : {"claude-haiku-4-5", "CLAUDE-3-HAIKU", "anthropic/Haiku", "haiku"}) {
        RequestFacts f = plain();
        f.model = m;
        EXPECT_EQ(classify(f, kThreshold, r.fn()), Scenario::kBackground) << m;
    }
    for (const char* m : {"claude-opus-4", "haik", "h-a-i-k-u", ""}) {
        RequestFacts f = plain();
        f.model = m;
        EXPECT_EQ(classify(f, kThreshold, r.fn()), Scenario::kNone) << m;
    }
}

TEST(Scenario, PrecedenceWhenEverythingFits) {
    Routes r = all_routes();
    RequestFacts f;
    f.model = "claude-haiku-4-5";
    f.thinking = true;
    f.has_image = true;
    f.has_web_search = true;
    f.estimated_input_tokens = kThreshold + 1;
    // Remove the winner's route each time: the next in precedence takes over.
    const Scenario expected[] = {Scenario::kLongContext, Scenario::kWebSearch, Scenario::kImage,
                                 Scenario::kThink, Scenario::kBackground, Scenario::kNone};
    for (Scenario want : expected) {
        Scenario got = classify(f, kThreshold, r.fn());
        EXPECT_EQ(got, want);
        r.keys.erase(std::string(scenario_route_key(got)));
    }
}

TEST(Scenario, FittingScenarioWithoutRouteFallsThrough) {
    Routes r;
    r.keys = {"scenario:background"};
    RequestFacts f = plain();
    f.model = "claude-haiku-4-5";
    f.thinking = true;  // fits think, but no think route
    f.has_image = true; // fits image, but no image route
    EXPECT_EQ(classify(f, kThreshold, r.fn()), Scenario::kBackground);
    r.keys.clear();
    EXPECT_EQ(classify(f, kThreshold, r.fn()), Scenario::kNone);
}

TEST(Scenario, RouteWithoutFittingScenarioIsNotChosen) {
    Routes r;
    r.keys = {"scenario:think", "scenario:image"};
    RequestFacts f = plain();
    f.has_web_search = true;  // fits, but only think/image routes exist
    EXPECT_EQ(classify(f, kThreshold, r.fn()), Scenario::kNone);
}

TEST(Scenario, LongContextEstimateNeededOnlyWithThresholdAndRoute) {
    Routes r = all_routes();
    EXPECT_TRUE(long_context_estimate_needed(kThreshold, r.fn()));
    EXPECT_FALSE(long_context_estimate_needed(0, r.fn()));
    r.keys.erase("scenario:long-context");
    EXPECT_FALSE(long_context_estimate_needed(kThreshold, r.fn()));
}

TEST(Scenario, AppliesIgnoresRoutes) {
    RequestFacts f = plain();
    f.thinking = true;
    EXPECT_TRUE(scenario_applies(Scenario::kThink, f, kThreshold));
    EXPECT_FALSE(scenario_applies(Scenario::kImage, f, kThreshold));
    EXPECT_FALSE(scenario_applies(Scenario::kNone, f, kThreshold));
}

}  // namespace
}  // namespace llmproxy
