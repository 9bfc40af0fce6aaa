// core/errors and map_upstream_error: error bodies per dialect, stream error
// events, leading-error detection and the mapping of provider errors.
#include "core/errors.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/json.hpp"
#include "core/translate.hpp"

namespace llmproxy {
namespace {

rapidjson::Document parsed(std::string_view body) {
    rapidjson::Document doc;
    EXPECT_TRUE(parse_json(body, JsonLimits{}, doc).ok()) << body;
    return doc;
}

std::string str(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

// Checks the exact shape of an Anthropic error body and returns type/message.
std::pair<std::string, std::string> anthropic_shape(std::string_view body) {
    rapidjson::Document doc = parsed(body);
    EXPECT_TRUE(doc.IsObject());
    if (!doc.IsObject()) return {};
    EXPECT_EQ(doc.MemberCount(), 2u) << body;
    if (!doc.HasMember("type") || !doc["type"].IsString() || !doc.HasMember("error") ||
        !doc["error"].IsObject()) {
        ADD_FAILURE() << "not an Anthropic error body: " << body;
        return {};
    }
    EXPECT_EQ(str(doc["type"]), "error");
    const auto& e = doc["error"];
    EXPECT_EQ(e.MemberCount(), 2u) << body;
    if (!e.HasMember("type") || !e["type"].IsString() || !e.HasMember("message") ||
        !e["message"].IsString()) {
        ADD_FAILURE() << "missing or mistyped members: " << body;
        return {};
    }
    return {str(e["type"]), str(e["message"])};
}

struct OpenAIShape {
    std::string type, message, code;
    bool code_null = false;
};

OpenAIShape openai_shape(std::string_view body) {
    rapidjson::Document doc = parsed(body);
    EXPECT_TRUE(doc.IsObject());
    if (!doc.IsObject()) return {};
    EXPECT_EQ(doc.MemberCount(), 1u) << body;
    if (!doc.HasMember("error") || !doc["error"].IsObject()) {
        ADD_FAILURE() << "\"error\" is not an object: " << body;
        return {};
    }
    const auto& e = doc["error"];
    EXPECT_EQ(e.MemberCount(), 4u) << body;
    if (!e.HasMember("param") || !e.HasMember("code") || !e["type"].IsString() ||
        !e["message"].IsString()) {
        ADD_FAILURE() << "missing or mistyped members: " << body;
        return {};
    }
    EXPECT_TRUE(e["param"].IsNull());
    OpenAIShape s;
    s.type = str(e["type"]);
    s.message = str(e["message"]);
    s.code_null = e["code"].IsNull();
    if (e["code"].IsString()) s.code = str(e["code"]);
    return s;
}

// ---- status -> type tables -------------------------------------------------

TEST(ErrorTypes, AnthropicTable) {
    EXPECT_EQ(anthropic_error_type(400), "invalid_request_error");
    EXPECT_EQ(anthropic_error_type(401), "authentication_error");
    EXPECT_EQ(anthropic_error_type(402), "billing_error");
    EXPECT_EQ(anthropic_error_type(403), "permission_error");
    EXPECT_EQ(anthropic_error_type(404), "not_found_error");
    EXPECT_EQ(anthropic_error_type(408), "timeout_error");
    EXPECT_EQ(anthropic_error_type(413), "request_too_large");
    EXPECT_EQ(anthropic_error_type(429), "rate_limit_error");
    EXPECT_EQ(anthropic_error_type(504), "timeout_error");
    EXPECT_EQ(anthropic_error_type(529), "overloaded_error");
    EXPECT_EQ(anthropic_error_type(500), "api_error");
    EXPECT_EQ(anthropic_error_type(502), "api_error");
    EXPECT_EQ(anthropic_error_type(503), "api_error");
    EXPECT_EQ(anthropic_error_type(422), "invalid_request_error");
    EXPECT_EQ(anthropic_error_type(409), "invalid_request_error");
}

TEST(ErrorTypes, OpenAITable) {
    EXPECT_EQ(openai_error_type(400), "invalid_request_error");
    EXPECT_EQ(openai_error_type(401), "authentication_error");
    EXPECT_EQ(openai_error_type(403), "permission_error");
    EXPECT_EQ(openai_error_type(404), "not_found_error");
    EXPECT_EQ(openai_error_type(413), "invalid_request_error");
    EXPECT_EQ(openai_error_type(422), "invalid_request_error");
    EXPECT_EQ(openai_error_type(500), "server_error");
    EXPECT_EQ(openai_error_type(503), "server_error");
    EXPECT_EQ(openai_error_type(529), "server_error");
    // 429 maps to a rate-limit type that status_for_error_type reads back as 429.
    EXPECT_EQ(status_for_error_type(openai_error_type(429)), 429);
}

TEST(ErrorTypes, StatusForErrorType) {
    EXPECT_EQ(status_for_error_type("invalid_request_error"), 400);
    EXPECT_EQ(status_for_error_type("authentication_error"), 401);
    EXPECT_EQ(status_for_error_type("billing_error"), 402);
    EXPECT_EQ(status_for_error_type("insufficient_quota"), 402);
    EXPECT_EQ(status_for_error_type("permission_error"), 403);
    EXPECT_EQ(status_for_error_type("not_found_error"), 404);
    EXPECT_EQ(status_for_error_type("request_too_large"), 413);
    EXPECT_EQ(status_for_error_type("rate_limit_error"), 429);
    EXPECT_EQ(status_for_error_type("rate_limit_exceeded"), 429);
    EXPECT_EQ(status_for_error_type("requests"), 429);
    EXPECT_EQ(status_for_error_type("tokens"), 429);
    EXPECT_EQ(status_for_error_type("timeout_error"), 504);
    EXPECT_EQ(status_for_error_type("overloaded_error"), 529);
    EXPECT_EQ(status_for_error_type("api_error"), 500);
    EXPECT_EQ(status_for_error_type("server_error"), 500);
    EXPECT_EQ(status_for_error_type("something_else"), 502);
    EXPECT_EQ(status_for_error_type(""), 502);
}

TEST(ErrorTypes, AnthropicTypesRoundTripThroughStatus) {
    for (int s : {400, 401, 402, 403, 404, 413, 429, 500, 504, 529}) {
        int back = status_for_error_type(anthropic_error_type(s));
        EXPECT_EQ(back, s) << s;
    }
}

TEST(ErrorTypes, HttpStatusForCoreErrors) {
    EXPECT_EQ(http_status_for(make_error(ErrorCode::kInvalidRequest, "", "")), 400);
    EXPECT_EQ(http_status_for(make_error(ErrorCode::kTooLarge, "", "")), 413);
    EXPECT_EQ(http_status_for(make_error(ErrorCode::kNotFound, "", "")), 404);
    EXPECT_EQ(http_status_for(make_error(ErrorCode::kPermission, "", "")), 403);
    EXPECT_EQ(http_status_for(make_error(ErrorCode::kAuthentication, "", "")), 401);
    EXPECT_EQ(http_status_for(make_error(ErrorCode::kUnavailable, "", "")), 503);
    EXPECT_EQ(http_status_for(make_error(ErrorCode::kInternal, "", "")), 500);
}

// ---- error_body ---------------------------------------------------------------

TEST(ErrorBody, AnthropicShape) {
    auto [type, message] = anthropic_shape(error_body(Dialect::kAnthropic, 404, "no such model"));
    EXPECT_EQ(type, "not_found_error");
    EXPECT_EQ(message, "no such model");
    EXPECT_EQ(error_body(Dialect::kAnthropic, 429, "slow down"),
              R"({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})");
}

TEST(ErrorBody, OpenAIShape) {
    OpenAIShape s = openai_shape(error_body(Dialect::kOpenAI, 401, "bad key"));
    EXPECT_EQ(s.type, "authentication_error");
    EXPECT_EQ(s.message, "bad key");
    EXPECT_TRUE(s.code_null);
    EXPECT_EQ(error_body(Dialect::kOpenAI, 500, "oops"),
              R"({"error":{"message":"oops","type":"server_error","param":null,"code":null}})");
}

TEST(ErrorBody, ExplicitTypeAndCode) {
    auto [type, message] = anthropic_shape(error_body(Dialect::kAnthropic, 500, "m", "overloaded_error", "ignored"));
    EXPECT_EQ(type, "overloaded_error");
    OpenAIShape s = openai_shape(error_body(Dialect::kOpenAI, 429, "m", "requests", "rate_limit_exceeded"));
    EXPECT_EQ(s.type, "requests");
    EXPECT_EQ(s.code, "rate_limit_exceeded");
    EXPECT_FALSE(s.code_null);
}

TEST(ErrorBody, MessageIsEscaped) {
    std::string msg = "bad \"field\"\\ \n\t\x01 日本";
    EXPECT_EQ(anthropic_shape(error_body(Dialect::kAnthropic, 400, msg)).second, msg);
    EXPECT_EQ(openai_shape(error_body(Dialect::kOpenAI, 400, msg)).message, msg);
}

TEST(ErrorResponse, FromStatusAndFromCoreError) {
    ErrorResponse r = error_response(Dialect::kOpenAI, 403, "nope");
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(openai_shape(r.body).type, "permission_error");
    ErrorResponse e = error_response(Dialect::kAnthropic,
                                     make_error(ErrorCode::kInvalidRequest, "messages[2].content", "expected an array"));
    EXPECT_EQ(e.status, 400);
    auto [type, message] = anthropic_shape(e.body);
    EXPECT_EQ(type, "invalid_request_error");
    EXPECT_EQ(message, "messages[2].content: expected an array");
    ErrorResponse big = error_response(Dialect::kAnthropic, make_error(ErrorCode::kTooLarge, "", "too big"));
    EXPECT_EQ(big.status, 413);
    EXPECT_EQ(anthropic_shape(big.body).first, "request_too_large");
}

// ---- stream error events ---------------------------------------------------------

TEST(StreamErrorEvent, AnthropicIsNamedErrorEvent) {
    std::string ev = stream_error_event(Dialect::kAnthropic, 529, "Overloaded");
    EXPECT_EQ(ev, "event: error\ndata: " + error_body(Dialect::kAnthropic, 529, "Overloaded") + "\n\n");
    EXPECT_EQ(anthropic_shape(ev.substr(19, ev.size() - 21)).first, "overloaded_error");
}

TEST(StreamErrorEvent, OpenAIIsDataLine) {
    std::string ev = stream_error_event(Dialect::kOpenAI, 502, "upstream\nbroke");
    EXPECT_EQ(ev, "data: " + error_body(Dialect::kOpenAI, 502, "upstream\nbroke") + "\n\n");
    // One data line: the message's newline is escaped.
    EXPECT_EQ(ev.find('\n'), ev.size() - 2);
}

TEST(LeadingStreamError, RoundTripsStreamErrorEvent) {
    for (int status : {400, 401, 403, 404, 429, 500, 504, 529}) {
        auto f = leading_stream_error(Dialect::kAnthropic,
                                      stream_error_event(Dialect::kAnthropic, status, "why") + "event: ping\ndata: {}\n\n");
        ASSERT_TRUE(f.has_value()) << status;
        EXPECT_EQ(f->status, status);
        EXPECT_EQ(f->message, "why");
    }
    for (int status : {400, 401, 403, 404, 429}) {
        auto f = leading_stream_error(Dialect::kOpenAI,
                                      stream_error_event(Dialect::kOpenAI, status, "why") + "data: [DONE]\n\n");
        ASSERT_TRUE(f.has_value()) << status;
        EXPECT_EQ(f->status, status);
        EXPECT_EQ(f->message, "why");
    }
    // OpenAI has one server_error type for every 5xx: it reads back as 500.
    auto f = leading_stream_error(Dialect::kOpenAI, stream_error_event(Dialect::kOpenAI, 503, "down"));
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->status, 500);
}

TEST(LeadingStreamError, NonErrorFirstEvent) {
    std::string start =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\n";
    EXPECT_FALSE(leading_stream_error(Dialect::kAnthropic,
                                      start + stream_error_event(Dialect::kAnthropic, 500, "late")));
    std::string chunk = "data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"error\"}}]}\n\n";
    EXPECT_FALSE(leading_stream_error(Dialect::kOpenAI, chunk + stream_error_event(Dialect::kOpenAI, 500, "late")));
    EXPECT_FALSE(leading_stream_error(Dialect::kOpenAI, "data: [DONE]\n\n"));
    EXPECT_FALSE(leading_stream_error(Dialect::kAnthropic, ""));
    EXPECT_FALSE(leading_stream_error(Dialect::kOpenAI, ""));
}

TEST(LeadingStreamError, AnthropicNeedsTheErrorEventName) {
    // An error-shaped payload under another event name is not an error event.
    std::string body = error_body(Dialect::kAnthropic, 500, "x");
    EXPECT_FALSE(leading_stream_error(Dialect::kAnthropic, "event: message_delta\ndata: " + body + "\n\n"));
    EXPECT_FALSE(leading_stream_error(Dialect::kAnthropic, "data: " + body + "\n\n"));
    EXPECT_TRUE(leading_stream_error(Dialect::kAnthropic, "event:error\ndata:" + body + "\n\n"));
}

TEST(LeadingStreamError, ErrorWithoutTypeOrMessage) {
    auto f = leading_stream_error(Dialect::kOpenAI, "data: {\"error\":{}}\n\n");
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->status, 502);
    EXPECT_EQ(f->message, "");
    EXPECT_FALSE(leading_stream_error(Dialect::kOpenAI, "data: {\"error\":\"flat string\"}\n\n"));
    EXPECT_FALSE(leading_stream_error(Dialect::kOpenAI, "data: {\"error\":\n\n"));
    // A truncated buffer (no blank line yet) still reads its first event.
    auto g = leading_stream_error(Dialect::kAnthropic,
                                  "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"m\"}}");
    ASSERT_TRUE(g.has_value());
    EXPECT_EQ(g->status, 429);
}

// ---- map_upstream_error ----------------------------------------------------------

TEST(MapUpstreamError, SameDialectPassesWellFormedBodiesThrough) {
    std::string anth = R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"})";
    ErrorResponse a = map_upstream_error(Dialect::kAnthropic, Dialect::kAnthropic, 529, anth);
    EXPECT_EQ(a.status, 529);
    EXPECT_EQ(a.body, anth);
    std::string oai =
        R"({"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}})";
    ErrorResponse o = map_upstream_error(Dialect::kOpenAI, Dialect::kOpenAI, 429, oai);
    EXPECT_EQ(o.status, 429);
    EXPECT_EQ(o.body, oai);
}

TEST(MapUpstreamError, SameDialectUnshapedBodiesAreRebuilt) {
    // Anthropic client, JSON without "type":"error": rebuilt around the message.
    ErrorResponse a = map_upstream_error(Dialect::kAnthropic, Dialect::kAnthropic, 400,
                                         R"({"message":"bad thing"})");
    EXPECT_EQ(a.status, 400);
    auto [type, message] = anthropic_shape(a.body);
    EXPECT_EQ(type, "invalid_request_error");
    EXPECT_EQ(message, "bad thing");
    // OpenAI-compatible server using {"detail": ...}.
    ErrorResponse o = map_upstream_error(Dialect::kOpenAI, Dialect::kOpenAI, 422, R"({"detail":"missing field"})");
    EXPECT_EQ(o.status, 422);
    EXPECT_EQ(openai_shape(o.body).message, "missing field");
}

// {"error":"text"} (a string, not an object) from an OpenAI-format provider is
// rebuilt into the {"error":{"message","type","param","code"}} shape the
// OpenAI SDKs expect, not passed through.
TEST(MapUpstreamError, SameDialectStringErrorIsRebuilt) {
    ErrorResponse s = map_upstream_error(Dialect::kOpenAI, Dialect::kOpenAI, 500, R"({"error":"boom"})");
    EXPECT_EQ(s.status, 500);
    OpenAIShape sh = openai_shape(s.body);
    EXPECT_EQ(sh.message, "boom");
    EXPECT_EQ(sh.type, "server_error");
}

TEST(MapUpstreamError, CrossDialectStringErrorIsRebuilt) {
    ErrorResponse s = map_upstream_error(Dialect::kOpenAI, Dialect::kAnthropic, 500, R"({"error":"boom"})");
    EXPECT_EQ(s.status, 500);
    EXPECT_EQ(anthropic_shape(s.body), std::make_pair(std::string("api_error"), std::string("boom")));
}

TEST(MapUpstreamError, OpenAIProviderToAnthropicClient) {
    ErrorResponse r = map_upstream_error(
        Dialect::kOpenAI, Dialect::kAnthropic, 429,
        R"({"error":{"message":"Rate limit reached for gpt-4o","type":"requests","param":null,"code":"rate_limit_exceeded"}})");
    EXPECT_EQ(r.status, 429);
    auto [type, message] = anthropic_shape(r.body);
    EXPECT_EQ(type, "rate_limit_error");
    EXPECT_EQ(message, "Rate limit reached for gpt-4o");

    ErrorResponse nf = map_upstream_error(
        Dialect::kOpenAI, Dialect::kAnthropic, 404,
        R"({"error":{"message":"The model does not exist","type":"invalid_request_error","code":"model_not_found"}})");
    EXPECT_EQ(nf.status, 404);
    EXPECT_EQ(anthropic_shape(nf.body).first, "not_found_error");
}

TEST(MapUpstreamError, AnthropicProviderToOpenAIClient) {
    std::string overloaded = R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})";
    ErrorResponse r = map_upstream_error(Dialect::kAnthropic, Dialect::kOpenAI, 529, overloaded);
    EXPECT_EQ(r.status, 503);
    OpenAIShape s = openai_shape(r.body);
    EXPECT_EQ(s.message, "Overloaded");
    EXPECT_EQ(s.type, "server_error");
    EXPECT_TRUE(s.code_null);

    ErrorResponse bad = map_upstream_error(
        Dialect::kAnthropic, Dialect::kOpenAI, 400,
        R"({"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too large"}})");
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(openai_shape(bad.body).type, "invalid_request_error");
    EXPECT_EQ(openai_shape(bad.body).message, "max_tokens: too large");
}

TEST(MapUpstreamError, Status529ForOpenAIClientsEvenFromOpenAIProvider) {
    // An OpenAI-format provider answering 529 is not passed through as 529.
    std::string body = R"({"error":{"message":"busy","type":"server_error","param":null,"code":null}})";
    ErrorResponse r = map_upstream_error(Dialect::kOpenAI, Dialect::kOpenAI, 529, body);
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(openai_shape(r.body).message, "busy");
    // Anthropic clients keep 529.
    EXPECT_EQ(map_upstream_error(Dialect::kOpenAI, Dialect::kAnthropic, 529, body).status, 529);
}

TEST(MapUpstreamError, HtmlAndNonJsonBodies) {
    std::string html = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\x01nginx</body></html>";
    for (Dialect client : {Dialect::kAnthropic, Dialect::kOpenAI}) {
        for (Dialect provider : {Dialect::kAnthropic, Dialect::kOpenAI}) {
            ErrorResponse r = map_upstream_error(provider, client, 502, html);
            EXPECT_EQ(r.status, 502);
            std::string message = client == Dialect::kAnthropic ? anthropic_shape(r.body).second
                                                                : openai_shape(r.body).message;
            EXPECT_EQ(message.rfind("provider returned HTTP 502: <html>", 0), 0u) << message;
            EXPECT_NE(message.find("502 Bad Gateway"), std::string::npos);
            for (char c : message) {
                EXPECT_TRUE(c >= 0x20 && c < 0x7f) << static_cast<int>(c);
            }
        }
    }
}

TEST(MapUpstreamError, LongNonJsonBodyIsTruncated) {
    std::string body(10000, 'x');
    ErrorResponse r = map_upstream_error(Dialect::kOpenAI, Dialect::kOpenAI, 500, body);
    std::string message = openai_shape(r.body).message;
    EXPECT_EQ(message, "provider returned HTTP 500: " + std::string(512, 'x'));
}

TEST(MapUpstreamError, EmptyAndMessagelessBodies) {
    ErrorResponse e = map_upstream_error(Dialect::kAnthropic, Dialect::kAnthropic, 503, "");
    EXPECT_EQ(e.status, 503);
    EXPECT_EQ(anthropic_shape(e.body), std::make_pair(std::string("api_error"),
                                                      std::string("provider returned HTTP 503")));
    ErrorResponse j = map_upstream_error(Dialect::kAnthropic, Dialect::kOpenAI, 500, R"({"foo":1})");
    EXPECT_EQ(openai_shape(j.body).message, "provider returned HTTP 500");
    // JSON that is not an object counts as non-JSON text.
    ErrorResponse s = map_upstream_error(Dialect::kOpenAI, Dialect::kAnthropic, 500, R"("oops")");
    EXPECT_EQ(anthropic_shape(s.body).second, R"(provider returned HTTP 500: "oops")");
}

TEST(MapUpstreamError, StatusesOutside400To599Become502) {
    std::string anth = R"({"type":"error","error":{"type":"api_error","message":"weird"}})";
    for (int status : {0, 200, 204, 302, 399, 600, 999}) {
        ErrorResponse a = map_upstream_error(Dialect::kAnthropic, Dialect::kAnthropic, status, anth);
        EXPECT_EQ(a.status, 502) << status;
        // Not passed through: the body is rebuilt (still well-formed).
        EXPECT_EQ(anthropic_shape(a.body).second, "weird") << status;
        ErrorResponse o = map_upstream_error(Dialect::kAnthropic, Dialect::kOpenAI, status, "nope");
        EXPECT_EQ(o.status, 502) << status;
        EXPECT_EQ(openai_shape(o.body).type, "server_error");
    }
    EXPECT_EQ(map_upstream_error(Dialect::kOpenAI, Dialect::kOpenAI, 400, "x").status, 400);
    EXPECT_EQ(map_upstream_error(Dialect::kOpenAI, Dialect::kOpenAI, 599, "x").status, 599);
}

TEST(MapUpstreamError, SameDialectTypeKeptWhenRebuilt) {
    // 200 with an error body (status remapped, so rebuilt): the provider's own
    // type is kept for a same-dialect client.
    ErrorResponse r = map_upstream_error(
        Dialect::kOpenAI, Dialect::kOpenAI, 200,
        R"({"error":{"message":"quota","type":"insufficient_quota","code":"insufficient_quota"}})");
    EXPECT_EQ(r.status, 502);
    OpenAIShape s = openai_shape(r.body);
    EXPECT_EQ(s.type, "insufficient_quota");
    EXPECT_EQ(s.code, "insufficient_quota");
    // Across dialects the type is derived from the status instead.
    ErrorResponse x = map_upstream_error(
        Dialect::kOpenAI, Dialect::kAnthropic, 402,
        R"({"error":{"message":"quota","type":"insufficient_quota","code":"insufficient_quota"}})");
    EXPECT_EQ(anthropic_shape(x.body).first, "billing_error");
}

}  // namespace
}  // namespace llmproxy
