// Store record codec: round trips, version refusal, malformed records, and
// record validation.
#include <gtest/gtest.h>

#include "core/store.hpp"
#include "core/store_internal.hpp"

namespace llmproxy::store {
namespace {

ProviderRecord sample_provider() {
    ProviderRecord p;
    p.name = "deepseek";
    p.format = Dialect::kOpenAI;
    p.base_url = "https://api.deepseek.com/v1";
    p.api_key_sealed = "c2VhbGVk";
    p.headers = {{"X-Title", "llmproxy \"test\""}, {"HTTP-Referer", "https://example.com"}};
    p.upstream = "deepseek_pool";
    p.model_max_tokens = {{"deepseek-chat", 8192}, {"deepseek-reasoner", 65536}};
    p.quirks = {{"reasoning_field", "reasoning_content"}, {"replay_reasoning", "true"}};
    p.created_at = 1700000000;
    p.updated_at = 1700000100;
    return p;
}

TEST(StoreCodec, ProviderRoundTrip) {
    ProviderRecord p = sample_provider();
    auto back = decode_provider(encode(p));
    ASSERT_TRUE(back.ok()) << back.error().describe();
    EXPECT_EQ(back->name, p.name);
    EXPECT_EQ(back->format, p.format);
    EXPECT_EQ(back->base_url, p.base_url);
    EXPECT_EQ(back->api_key_sealed, p.api_key_sealed);
    EXPECT_EQ(back->api_key_env, "");
    ASSERT_EQ(back->headers.size(), 2u);
    EXPECT_EQ(back->headers[0].name, "X-Title");
    EXPECT_EQ(back->headers[0].value, "llmproxy \"test\"");
    EXPECT_EQ(back->headers[1].name, "HTTP-Referer");
    EXPECT_EQ(back->upstream, "deepseek_pool");
    EXPECT_EQ(back->model_max_tokens, p.model_max_tokens);
    EXPECT_EQ(back->quirks, p.quirks);
    EXPECT_EQ(back->created_at, p.created_at);
    EXPECT_EQ(back->updated_at, p.updated_at);
}

TEST(StoreCodec, ProviderWithEnvKeyAndAnthropicFormat) {
    ProviderRecord p;
    p.name = "anthropic";
    p.format = Dialect::kAnthropic;
    p.base_url = "https://api.anthropic.com";
    p.api_key_env = "ANTHROPIC_API_KEY";
    auto back = decode_provider(encode(p));
    ASSERT_TRUE(back.ok()) << back.error().describe();
    EXPECT_EQ(back->format, Dialect::kAnthropic);
    EXPECT_EQ(back->api_key_env, "ANTHROPIC_API_KEY");
    EXPECT_TRUE(back->api_key_sealed.empty());
    EXPECT_TRUE(back->headers.empty());
    EXPECT_TRUE(back->upstream.empty());
}

TEST(StoreCodec, RouteRoundTrip) {
    RouteRecord r;
    r.pattern = "re:^claude-.*$";
    r.targets = {{"anthropic", "claude-sonnet-4-5"}, {"openrouter", "anthropic/claude-sonnet-4.5"}};
    r.created_at = 42;
    auto back = decode_route(encode(r));
    ASSERT_TRUE(back.ok()) << back.error().describe();
    EXPECT_EQ(back->pattern, r.pattern);
    ASSERT_EQ(back->targets.size(), 2u);
    EXPECT_EQ(back->targets[1].provider, "openrouter");
    EXPECT_EQ(back->targets[1].model, "anthropic/claude-sonnet-4.5");
    EXPECT_EQ(back->created_at, 42);
}

TEST(StoreCodec, KeyRoundTrip) {
    KeyRecord k;
    k.id = "key_0123456789ab";
    k.name = "ci runner";
    k.prefix = "sk-llmp-AbCd";
    k.last4 = "wXyZ";
    k.digest = sha256("sk-llmp-secret");
    k.models = {"claude-*", "re:gpt-4o(-mini)?"};
    k.expires_at = 1900000000;
    k.disabled = true;
    k.created_at = 1700000000;
    std::string json = encode(k);
    // The digest is stored as hex inside the record; the secret never is.
    EXPECT_EQ(json.find("sk-llmp-secret"), std::string::npos);
    auto back = decode_key(json);
    ASSERT_TRUE(back.ok()) << back.error().describe();
    EXPECT_EQ(back->id, k.id);
    EXPECT_EQ(back->name, k.name);
    EXPECT_EQ(back->prefix, k.prefix);
    EXPECT_EQ(back->last4, k.last4);
    EXPECT_EQ(back->digest, k.digest);
    EXPECT_EQ(back->models, k.models);
    EXPECT_EQ(back->expires_at, k.expires_at);
    EXPECT_TRUE(back->disabled);
    EXPECT_EQ(back->created_at, k.created_at);
}

TEST(StoreCodec, RejectsNewerRecordVersion) {
    auto p = decode_provider(R"({"v":2,"name":"x","format":"openai","base_url":"https://x"})");
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.error().describe().find("newer"), std::string::npos);
    EXPECT_FALSE(decode_route(R"({"v":99,"pattern":"a","targets":[{"provider":"p","model":"m"}]})").ok());
    EXPECT_FALSE(decode_key(R"({"v":3,"id":"key_0123456789ab"})").ok());
}

TEST(StoreCodec, RejectsMalformedRecords) {
    EXPECT_FALSE(decode_provider("").ok());
    EXPECT_FALSE(decode_provider("not json").ok());
    EXPECT_FALSE(decode_provider("[]").ok());
    EXPECT_FALSE(decode_provider(R"({"name":"x","format":"openai","base_url":"https://x"})").ok())
        << "missing version";
    EXPECT_FALSE(decode_provider(R"({"v":1,"format":"openai","base_url":"https://x"})").ok())
        << "missing name";
    EXPECT_FALSE(decode_provider(R"({"v":1,"name":"x","format":"grpc","base_url":"https://x"})").ok());
    EXPECT_FALSE(decode_provider(R"({"v":1,"name":5,"format":"openai","base_url":"https://x"})").ok());
    EXPECT_FALSE(decode_provider(
                     R"({"v":1,"name":"x","format":"openai","base_url":"https://x","headers":{}})")
                     .ok());
    EXPECT_FALSE(decode_provider(
                     R"({"v":1,"name":"x","format":"openai","base_url":"https://x","model_max_tokens":{"m":-1}})")
                     .ok());
    EXPECT_FALSE(decode_route(R"({"v":1,"pattern":"a","targets":[]})").ok());
    EXPECT_FALSE(decode_route(R"({"v":1,"pattern":"a","targets":[{"provider":"p"}]})").ok());
    EXPECT_FALSE(decode_key(
                     R"({"v":1,"id":"key_0123456789ab","prefix":"sk-llmp-abcd","last4":"wxyz","digest":"zz"})")
                     .ok());
    EXPECT_FALSE(decode_key(R"({"v":1,"id":"key_0123456789ab","prefix":"p","last4":"l","digest":")" +
                            std::string(64, 'a') + R"(","disabled":"yes"})")
                     .ok());
}

TEST(StoreCodec, IgnoresUnknownFieldsOfSameVersion) {
    auto r = decode_route(R"({"v":1,"pattern":"a","targets":[{"provider":"p","model":"m","weight":3}],"note":"x"})");
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(r->targets[0].model, "m");
}

TEST(StoreValidate, ProviderNames) {
    EXPECT_TRUE(validate_provider_name("deepseek").ok());
    EXPECT_TRUE(validate_provider_name("a").ok());
    EXPECT_TRUE(validate_provider_name("open-router_2.eu").ok());
    EXPECT_TRUE(validate_provider_name(std::string(64, 'a')).ok());
    EXPECT_FALSE(validate_provider_name(std::string(65, 'a')).ok());
    EXPECT_FALSE(validate_provider_name("").ok());
    EXPECT_FALSE(validate_provider_name("-x").ok());
    EXPECT_FALSE(validate_provider_name(".x").ok());
    EXPECT_FALSE(validate_provider_name("DeepSeek").ok());
    EXPECT_FALSE(validate_provider_name("a/b").ok());
    EXPECT_FALSE(validate_provider_name("a b").ok());
}

TEST(StoreValidate, BaseUrls) {
    auto ok = [](std::string_view in, std::string_view want) {
        auto r = normalize_base_url(in);
        ASSERT_TRUE(r.ok()) << in << ": " << r.error().describe();
        EXPECT_EQ(*r, want);
    };
    ok("https://api.deepseek.com/v1", "https://api.deepseek.com/v1");
    ok("https://api.anthropic.com/", "https://api.anthropic.com");
    ok("HTTP://127.0.0.1:8080//", "http://127.0.0.1:8080");
    ok("http://[::1]:9000/openai/v1/", "http://[::1]:9000/openai/v1");
    ok("https://host/a%20b/v1", "https://host/a%20b/v1");
    for (std::string_view bad :
         {"", "ftp://x", "https://", "https:///v1", "https://user:pw@host/v1", "https://host/v1?x=1",
          "https://host/v1#frag", "https://host:0", "https://host:65536", "https://host:", "https://ho st",
          "https://host/a b", "https://host/\r\nX: y", "https://[zz]/", "api.openai.com/v1",
          "https://host:80x"}) {
        EXPECT_FALSE(normalize_base_url(bad).ok()) << bad;
    }
}

TEST(StoreValidate, Headers) {
    EXPECT_TRUE(validate_header({"X-Title", "llmproxy"}).ok());
    EXPECT_TRUE(validate_header({"anthropic-beta", "a,b"}).ok());
    EXPECT_TRUE(validate_header({"X-Empty", ""}).ok());
    EXPECT_FALSE(validate_header({"", "v"}).ok());
    EXPECT_FALSE(validate_header({"Bad Name", "v"}).ok());
    EXPECT_FALSE(validate_header({"X:Y", "v"}).ok());
    EXPECT_FALSE(validate_header({"X-Ok", "a\r\nInjected: 1"}).ok());
    EXPECT_FALSE(validate_header({"X-Ok", "a\nb"}).ok());
    EXPECT_FALSE(validate_header({"Content-Length", "5"}).ok());
    EXPECT_FALSE(validate_header({"host", "evil"}).ok());
    EXPECT_FALSE(validate_header({"Transfer-Encoding", "chunked"}).ok());
}

TEST(StoreValidate, ProviderRecord) {
    ProviderRecord p = sample_provider();
    EXPECT_TRUE(validate_provider(p).ok()) << validate_provider(p).error().describe();
    ProviderRecord both = p;
    both.api_key_env = "KEY";
    EXPECT_FALSE(validate_provider(both).ok());
    ProviderRecord unnormalised = p;
    unnormalised.base_url = "https://api.deepseek.com/v1/";
    EXPECT_FALSE(validate_provider(unnormalised).ok());
    ProviderRecord bad_quirk = p;
    bad_quirk.quirks["no_such_quirk"] = "1";
    EXPECT_FALSE(validate_provider(bad_quirk).ok());
    ProviderRecord bad_cap = p;
    bad_cap.model_max_tokens["m"] = 0;
    EXPECT_FALSE(validate_provider(bad_cap).ok());
    ProviderRecord bad_env = p;
    bad_env.api_key_sealed.clear();
    bad_env.api_key_env = "1BAD";
    EXPECT_FALSE(validate_provider(bad_env).ok());
    ProviderRecord bad_upstream = p;
    bad_upstream.upstream = "a b";
    EXPECT_FALSE(validate_provider(bad_upstream).ok());
}

TEST(StoreKeyState, ActiveDisabledExpired) {
    KeyRecord k;
    EXPECT_EQ(key_state(k, 100), KeyState::kActive);
    k.expires_at = 200;
    EXPECT_EQ(key_state(k, 199), KeyState::kActive);
    EXPECT_EQ(key_state(k, 200), KeyState::kExpired);
    k.disabled = true;
    EXPECT_EQ(key_state(k, 100), KeyState::kDisabled);
    EXPECT_EQ(key_state_name(KeyState::kExpired), "expired");
}

}  // namespace
}  // namespace llmproxy::store
