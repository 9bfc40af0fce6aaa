// Route pattern matching and precedence; regex errors; key allow-lists.
#include <gtest/gtest.h>

#include "core/store.hpp"

namespace llmproxy::store {
namespace {

RouteRecord route(std::string pattern, std::string provider = "p", std::string model = "m") {
    RouteRecord r;
    r.pattern = std::move(pattern);
    r.targets.push_back({std::move(provider), std::move(model)});
    return r;
}

RouteTable build(std::vector<RouteRecord> routes) {
    auto t = RouteTable::build(std::move(routes));
    EXPECT_TRUE(t.ok()) << t.error().describe();
    return std::move(t.value());
}

std::string matched(const RouteTable& t, std::string_view model) {
    const RouteRecord* r = t.match(model);
    return r ? r->pattern : "<none>";
}

TEST(StoreRoutes, ExactBeatsEverything) {
    RouteTable t = build({route("default"), route("re:claude-.*"), route("claude-*"),
                          route("claude-sonnet-4-5")});
    EXPECT_EQ(matched(t, "claude-sonnet-4-5"), "claude-sonnet-4-5");
    EXPECT_EQ(matched(t, "claude-opus-4"), "claude-*");
    EXPECT_EQ(matched(t, "gpt-4o"), "default");
}

TEST(StoreRoutes, GlobsMostLiteralFirstThenPatternText) {
    RouteTable t = build({route("*"), route("claude-*"), route("claude-3-5-*"), route("*-haiku"),
                          route("claude-?-5-sonnet*")});
    EXPECT_EQ(matched(t, "claude-3-5-haiku"), "claude-3-5-*");  // 11 literals beat 7 and 6
    EXPECT_EQ(matched(t, "claude-3-5-sonnet-latest"), "claude-?-5-sonnet*");  // 16 literals
    EXPECT_EQ(matched(t, "claude-4-haiku"), "claude-*");  // 7 beats 6 ("-haiku")
    EXPECT_EQ(matched(t, "x-haiku"), "*-haiku");
    EXPECT_EQ(matched(t, "anything"), "*");
    EXPECT_EQ(matched(t, ""), "*");

    // Equal literal counts: pattern text order decides.
    RouteTable tie = build({route("b*"), route("a*"), route("*b"), route("*a")});
    EXPECT_EQ(matched(tie, "ab"), "*b");  // "*a" < "*b" < "a*" < "b*" in text order
    EXPECT_EQ(matched(tie, "ba"), "*a");
    EXPECT_EQ(matched(tie, "ac"), "a*");
}

TEST(StoreRoutes, RegexAfterGlobsInPatternOrderThenDefault) {
    RouteTable t = build({route("default"), route("re:gpt-4.*"), route("re:gpt-.*"), route("o*")});
    EXPECT_EQ(matched(t, "gpt-4o"), "re:gpt-.*");  // "re:gpt-.*" sorts before "re:gpt-4.*"
    EXPECT_EQ(matched(t, "gpt-3.5"), "re:gpt-.*");
    EXPECT_EQ(matched(t, "o3-mini"), "o*");
    EXPECT_EQ(matched(t, "llama"), "default");

    auto order = t.in_precedence_order();
    ASSERT_EQ(order.size(), 4u);
    EXPECT_EQ(order[0]->pattern, "o*");
    EXPECT_EQ(order[1]->pattern, "re:gpt-.*");
    EXPECT_EQ(order[2]->pattern, "re:gpt-4.*");
    EXPECT_EQ(order[3]->pattern, "default");
}

TEST(StoreRoutes, RegexIsAnchoredToTheWholeName) {
    RouteTable t = build({route("re:gpt-4"), route("re:a|b")});
    EXPECT_EQ(matched(t, "gpt-4"), "re:gpt-4");
    EXPECT_EQ(matched(t, "gpt-4o"), "<none>");
    EXPECT_EQ(matched(t, "xgpt-4"), "<none>");
    EXPECT_EQ(matched(t, "a"), "re:a|b");
    EXPECT_EQ(matched(t, "b"), "re:a|b");
    EXPECT_EQ(matched(t, "ab"), "<none>");
}

TEST(StoreRoutes, RegexUtf8AndBadInput) {
    RouteTable t = build({route("re:modèle-.")});
    EXPECT_EQ(matched(t, "modèle-é"), "re:modèle-.");  // '.' is one code point under PCRE2_UTF
    EXPECT_EQ(matched(t, std::string("mod\xe8le-x")), "<none>");  // invalid UTF-8: no match, no crash
}

TEST(StoreRoutes, NoRoutesNoMatch) {
    RouteTable empty = build({});
    EXPECT_EQ(empty.match("anything"), nullptr);
    RouteTable t = build({route("exact")});
    EXPECT_EQ(t.match("exac"), nullptr);
    EXPECT_EQ(t.match("exactly"), nullptr);
}

TEST(StoreRoutes, GlobDetails) {
    EXPECT_TRUE(pattern_matches("a*b*c", "aXXbYYc"));
    EXPECT_TRUE(pattern_matches("a*b*c", "abc"));
    EXPECT_FALSE(pattern_matches("a*b*c", "abcd"));
    EXPECT_TRUE(pattern_matches("*/*", "anthropic/claude"));
    EXPECT_TRUE(pattern_matches("gpt-?o", "gpt-4o"));
    EXPECT_FALSE(pattern_matches("gpt-?o", "gpt-o"));
    EXPECT_TRUE(pattern_matches("?", "é"));  // one character, two bytes
    EXPECT_TRUE(pattern_matches("**", ""));
    // Many stars against a long non-matching name stays fast (no exponential backtracking).
    EXPECT_FALSE(pattern_matches("*a*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

TEST(StoreRoutes, PatternValidationAndRegexErrors) {
    EXPECT_TRUE(validate_pattern("claude-3-5-sonnet").ok());
    EXPECT_TRUE(validate_pattern("claude-*").ok());
    EXPECT_TRUE(validate_pattern("re:^gpt-(4|5)").ok());
    EXPECT_TRUE(validate_pattern("default").ok());
    EXPECT_FALSE(validate_pattern("").ok());
    EXPECT_FALSE(validate_pattern("re:").ok());
    EXPECT_FALSE(validate_pattern("a\nb").ok());
    EXPECT_FALSE(validate_pattern(std::string(600, 'a')).ok());
    auto bad = validate_pattern("re:gpt-(4");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().describe().find("invalid regular expression"), std::string::npos);
    EXPECT_NE(bad.error().describe().find("offset"), std::string::npos);
    EXPECT_FALSE(validate_pattern("re:[z-a]").ok());
    EXPECT_FALSE(validate_pattern("re:\\C").ok()) << "\\C is refused (breaks UTF-8 matching)";

    auto table = RouteTable::build({route("ok"), route("re:(unclosed")});
    EXPECT_FALSE(table.ok());
    auto dup = RouteTable::build({route("same"), route("same")});
    EXPECT_FALSE(dup.ok());
}

TEST(StoreRoutes, PatternMatchesForKeyAllowLists) {
    EXPECT_TRUE(pattern_matches("claude-sonnet-4-5", "claude-sonnet-4-5"));
    EXPECT_FALSE(pattern_matches("claude-sonnet-4-5", "claude-sonnet-4-5-x"));
    EXPECT_TRUE(pattern_matches("claude-*", "claude-haiku"));
    EXPECT_TRUE(pattern_matches("re:gpt-4o(-mini)?", "gpt-4o-mini"));
    EXPECT_FALSE(pattern_matches("re:gpt-4o(-mini)?", "gpt-4o-mini-2"));
    EXPECT_FALSE(pattern_matches("re:(bad", "(bad"));
    EXPECT_FALSE(pattern_matches("default", "default")) << "'default' is not an allow-list pattern";
    EXPECT_FALSE(pattern_matches("default", "gpt-4o"));
}

TEST(StoreRoutes, MoveKeepsMatching) {
    RouteTable a = build({route("re:x+"), route("y*")});
    RouteTable b = std::move(a);
    EXPECT_EQ(matched(b, "xxx"), "re:x+");
    RouteTable c;
    c = std::move(b);
    EXPECT_EQ(matched(c, "yes"), "y*");
    EXPECT_EQ(c.routes().size(), 2u);
}

}  // namespace
}  // namespace llmproxy::store
