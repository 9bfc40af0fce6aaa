#include <gtest/gtest.h>

#include "core/store.hpp"

namespace llmproxy::store {
namespace {

ProviderRecord provider(Dialect format, std::string base_url, std::string upstream = {}) {
    ProviderRecord p;
    p.name = "p";
    p.format = format;
    p.base_url = std::move(base_url);
    p.upstream = std::move(upstream);
    return p;
}

TEST(UpstreamTarget, OpenAIBaseUrlKeepsItsVersionPath) {
    auto t = upstream_target(provider(Dialect::kOpenAI, "https://api.deepseek.com/v1"), {});
    EXPECT_EQ(t.url, "https://api.deepseek.com/v1/chat/completions");
    EXPECT_EQ(t.host, "api.deepseek.com");
    EXPECT_EQ(t.sni, "api.deepseek.com");
}

TEST(UpstreamTarget, AnthropicBaseUrlWithPortAndQuery) {
    auto t = upstream_target(provider(Dialect::kAnthropic, "http://127.0.0.1:8081"), "beta=true");
    EXPECT_EQ(t.url, "http://127.0.0.1:8081/v1/messages?beta=true");
    EXPECT_EQ(t.host, "127.0.0.1:8081");
    EXPECT_EQ(t.sni, "127.0.0.1");
}

TEST(UpstreamTarget, UpstreamBlockReplacesOnlyTheConnectTarget) {
    auto t = upstream_target(provider(Dialect::kOpenAI, "https://openrouter.ai/api/v1", "orpool"), {});
    EXPECT_EQ(t.url, "https://orpool/api/v1/chat/completions");
    EXPECT_EQ(t.host, "openrouter.ai");
    EXPECT_EQ(t.sni, "openrouter.ai");
}

TEST(UpstreamTarget, IPv6HostHasNoBracketsInTheTlsName) {
    auto t = upstream_target(provider(Dialect::kOpenAI, "http://[::1]:9000/v1"), {});
    EXPECT_EQ(t.url, "http://[::1]:9000/v1/chat/completions");
    EXPECT_EQ(t.host, "[::1]:9000");
    EXPECT_EQ(t.sni, "::1");
}

}  // namespace
}  // namespace llmproxy::store
