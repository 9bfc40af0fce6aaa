// core/model_listing: GET /v1/models lists exact-name routes only, filtered
// by the key's allow-list, in both dialects' list formats.
#include "core/model_listing.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/json.hpp"

namespace llmproxy {
namespace {

store::RouteRecord route(std::string pattern, std::int64_t created = 0) {
    store::RouteRecord r;
    r.pattern = std::move(pattern);
    r.targets.push_back({"p", "m"});
    r.created_at = created;
    return r;
}

store::Snapshot snapshot_with(std::vector<store::RouteRecord> routes) {
    store::Snapshot snap;
    auto table = store::RouteTable::build(std::move(routes));
    EXPECT_TRUE(table.ok()) << table.error().describe();
    if (table.ok()) snap.routes = std::move(table.value());
    return snap;
}

// Listed ids, sorted (the listing order itself is not part of the contract).
std::vector<std::string> ids(const std::vector<ListedModel>& models) {
    std::vector<std::string> out;
    for (const auto& m : models) out.push_back(m.id);
    std::sort(out.begin(), out.end());
    return out;
}

std::int64_t created_of(const std::vector<ListedModel>& models, std::string_view id) {
    for (const auto& m : models) {
        if (m.id == id) return m.created;
    }
    return -1;
}

store::KeyRecord key_allowing(std::vector<std::string> models) {
    store::KeyRecord k;
    k.models = std::move(models);
    return k;
}

// Every kind of route the store can hold.
store::Snapshot mixed_snapshot() {
    return snapshot_with({route("claude-sonnet-4", 1700000000), route("claude-*", 1),
                          route("re:gpt-.*", 2), route("default", 3), route("scenario:think", 4),
                          route("gpt-4o", 1700000100), route("o?-mini", 5),
                          route("claude-3-haiku", 1700000200), route("scenario:background", 6)});
}

TEST(IsExactModelPattern, Kinds) {
    EXPECT_TRUE(is_exact_model_pattern("gpt-4o"));
    EXPECT_TRUE(is_exact_model_pattern("claude-3-5-sonnet-20241022"));
    EXPECT_TRUE(is_exact_model_pattern("org/model:tag"));
    EXPECT_FALSE(is_exact_model_pattern("default"));
    EXPECT_FALSE(is_exact_model_pattern("claude-*"));
    EXPECT_FALSE(is_exact_model_pattern("*"));
    EXPECT_FALSE(is_exact_model_pattern("o?-mini"));
    EXPECT_FALSE(is_exact_model_pattern("re:gpt-4o"));
    EXPECT_FALSE(is_exact_model_pattern("scenario:think"));
    EXPECT_FALSE(is_exact_model_pattern("scenario:unknown"));
}

TEST(ListableModels, EmptyAllowListListsEveryExactRoute) {
    store::Snapshot snap = mixed_snapshot();
    auto models = listable_models(snap, key_allowing({}));
    EXPECT_EQ(ids(models), (std::vector<std::string>{"claude-3-haiku", "claude-sonnet-4", "gpt-4o"}));
    EXPECT_EQ(created_of(models, "claude-sonnet-4"), 1700000000);
    EXPECT_EQ(created_of(models, "gpt-4o"), 1700000100);
    EXPECT_EQ(created_of(models, "claude-3-haiku"), 1700000200);
}

TEST(ListableModels, FilteredByGlobAllowList) {
    store::Snapshot snap = mixed_snapshot();
    EXPECT_EQ(ids(listable_models(snap, key_allowing({"claude-*"}))),
              (std::vector<std::string>{"claude-3-haiku", "claude-sonnet-4"}));
    EXPECT_EQ(ids(listable_models(snap, key_allowing({"*haiku", "gpt-4?"}))),
              (std::vector<std::string>{"claude-3-haiku", "gpt-4o"}));
}

TEST(ListableModels, FilteredByExactAndRegexAllowList) {
    store::Snapshot snap = mixed_snapshot();
    EXPECT_EQ(ids(listable_models(snap, key_allowing({"gpt-4o"}))),
              (std::vector<std::string>{"gpt-4o"}));
    EXPECT_EQ(ids(listable_models(snap, key_allowing({"re:gpt-.*"}))),
              (std::vector<std::string>{"gpt-4o"}));
    // Regexes are anchored: "sonnet" alone matches nothing.
    EXPECT_TRUE(listable_models(snap, key_allowing({"re:sonnet"})).empty());
    EXPECT_EQ(ids(listable_models(snap, key_allowing({"re:.*sonnet.*"}))),
              (std::vector<std::string>{"claude-sonnet-4"}));
}

TEST(ListableModels, AllowListMatchingNothing) {
    store::Snapshot snap = mixed_snapshot();
    EXPECT_TRUE(listable_models(snap, key_allowing({"mistral-*"})).empty());
    // "default" in an allow-list matches no model.
    EXPECT_TRUE(listable_models(snap, key_allowing({"default"})).empty());
    // A key allowed only a glob route's own text sees nothing for it: globs are not listed.
    EXPECT_TRUE(listable_models(snap, key_allowing({"o?-mini"})).empty());
}

TEST(ListableModels, NoRoutes) {
    store::Snapshot snap;
    EXPECT_TRUE(listable_models(snap, key_allowing({})).empty());
    store::Snapshot only_open = snapshot_with({route("*"), route("default"), route("re:.*")});
    EXPECT_TRUE(listable_models(only_open, key_allowing({})).empty());
}

TEST(ModelsResponse, AnthropicFormat) {
    std::vector<ListedModel> models{{"claude-sonnet-4", 1700000000}, {"gpt-\"4o\"", 0}};
    std::string body = models_response(Dialect::kAnthropic, models);
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json(body, JsonLimits{}, doc).ok()) << body;
    ASSERT_TRUE(doc.IsObject());
    ASSERT_TRUE(doc["data"].IsArray());
    ASSERT_EQ(doc["data"].Size(), 2u);
    const auto& first = doc["data"][0];
    EXPECT_STREQ(first["type"].GetString(), "model");
    EXPECT_STREQ(first["id"].GetString(), "claude-sonnet-4");
    EXPECT_STREQ(first["display_name"].GetString(), "claude-sonnet-4");
    EXPECT_STREQ(first["created_at"].GetString(), "2023-11-14T22:13:20Z");
    EXPECT_STREQ(doc["data"][1]["id"].GetString(), "gpt-\"4o\"");
    EXPECT_STREQ(doc["data"][1]["created_at"].GetString(), "1970-01-01T00:00:00Z");
    ASSERT_TRUE(doc["has_more"].IsBool());
    EXPECT_FALSE(doc["has_more"].GetBool());
    EXPECT_STREQ(doc["first_id"].GetString(), "claude-sonnet-4");
    EXPECT_STREQ(doc["last_id"].GetString(), "gpt-\"4o\"");
}

TEST(ModelsResponse, AnthropicEmpty) {
    std::string body = models_response(Dialect::kAnthropic, {});
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json(body, JsonLimits{}, doc).ok()) << body;
    EXPECT_TRUE(doc["data"].IsArray());
    EXPECT_EQ(doc["data"].Size(), 0u);
    EXPECT_FALSE(doc["has_more"].GetBool());
    EXPECT_TRUE(doc["first_id"].IsNull());
    EXPECT_TRUE(doc["last_id"].IsNull());
}

TEST(ModelsResponse, OpenAIFormat) {
    std::vector<ListedModel> models{{"gpt-4o", 1700000100}, {"o3\\mini", 5}};
    std::string body = models_response(Dialect::kOpenAI, models);
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json(body, JsonLimits{}, doc).ok()) << body;
    EXPECT_STREQ(doc["object"].GetString(), "list");
    ASSERT_EQ(doc["data"].Size(), 2u);
    const auto& m = doc["data"][0];
    EXPECT_STREQ(m["id"].GetString(), "gpt-4o");
    EXPECT_STREQ(m["object"].GetString(), "model");
    ASSERT_TRUE(m["created"].IsInt64());
    EXPECT_EQ(m["created"].GetInt64(), 1700000100);
    EXPECT_STREQ(m["owned_by"].GetString(), "llmproxy");
    EXPECT_STREQ(doc["data"][1]["id"].GetString(), "o3\\mini");
    EXPECT_EQ(doc["data"][1]["created"].GetInt64(), 5);
}

TEST(ModelsResponse, OpenAIEmpty) {
    std::string body = models_response(Dialect::kOpenAI, {});
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json(body, JsonLimits{}, doc).ok()) << body;
    EXPECT_STREQ(doc["object"].GetString(), "list");
    EXPECT_TRUE(doc["data"].IsArray());
    EXPECT_EQ(doc["data"].Size(), 0u);
}

TEST(ModelsResponse, EndToEndFromSnapshot) {
    store::Snapshot snap = mixed_snapshot();
    std::string body =
        models_response(Dialect::kOpenAI, listable_models(snap, key_allowing({"claude-*"})));
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json(body, JsonLimits{}, doc).ok()) << body;
    ASSERT_EQ(doc["data"].Size(), 2u);
    std::vector<std::string> got{doc["data"][0]["id"].GetString(), doc["data"][1]["id"].GetString()};
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::string>{"claude-3-haiku", "claude-sonnet-4"}));
}

}  // namespace
}  // namespace llmproxy
