#include "core/sse.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace llmproxy {
namespace {

struct Collected {
    std::string event, data, id;
    bool operator==(const Collected& o) const {
        return event == o.event && data == o.data && id == o.id;
    }
};

// Feeds `input` in slices of `step` bytes (0 = whole) and collects events.
std::vector<Collected> parse(std::string_view input, std::size_t step = 0) {
    SseParser p;
    std::vector<Collected> out;
    auto sink = [&](const SseEvent& e) {
        out.push_back({std::string(e.event), std::string(e.data), std::string(e.id)});
    };
    if (step == 0) step = input.size() ? input.size() : 1;
    for (std::size_t i = 0; i < input.size(); i += step) p.feed(input.substr(i, step), sink);
    p.finish(sink);
    return out;
}

void expect_all_splits(std::string_view input, const std::vector<Collected>& want) {
    EXPECT_EQ(parse(input), want);
    for (std::size_t step = 1; step <= 7; ++step) EXPECT_EQ(parse(input, step), want) << step;
    // Every two-way split point.
    for (std::size_t cut = 0; cut <= input.size(); ++cut) {
        SseParser p;
        std::vector<Collected> out;
        auto sink = [&](const SseEvent& e) {
            out.push_back({std::string(e.event), std::string(e.data), std::string(e.id)});
        };
        p.feed(input.substr(0, cut), sink);
        p.feed(input.substr(cut), sink);
        p.finish(sink);
        EXPECT_EQ(out, want) << "cut at " << cut;
    }
}

TEST(Sse, LfFraming) {
    expect_all_splits("data: {\"a\":1}\n\ndata: x\n\n", {{"", "{\"a\":1}", ""}, {"", "x", ""}});
}

TEST(Sse, CrlfFraming) {
    expect_all_splits("data: a\r\n\r\ndata: b\r\n\r\n", {{"", "a", ""}, {"", "b", ""}});
}

TEST(Sse, CrFraming) {
    expect_all_splits("data: a\r\rdata: b\r\r", {{"", "a", ""}, {"", "b", ""}});
}

TEST(Sse, DataWithoutSpaceAndMultiLineJoined) {
    expect_all_splits("data:one\ndata:  two\ndata\n\n", {{"", "one\n two\n", ""}});
}

TEST(Sse, EventNameAndIdAndComments) {
    expect_all_splits(": keep-alive\n: OPENROUTER PROCESSING\nevent: error\nid: 7\nretry: 10\ndata: {}\n\n",
                      {{"error", "{}", "7"}});
}

TEST(Sse, BomAtStartIsSkipped) {
    expect_all_splits("\xEF\xBB\xBF" "data: a\n\n", {{"", "a", ""}});
}

TEST(Sse, FinalEventWithoutBlankLine) {
    expect_all_splits("data: a\n\ndata: [DONE]", {{"", "a", ""}, {"", "[DONE]", ""}});
    expect_all_splits("data: a\n\ndata: b\n", {{"", "a", ""}, {"", "b", ""}});
}

TEST(Sse, EventWithoutDataIsNotDispatched) {
    expect_all_splits("event: ping\n\ndata: a\n\n", {{"", "a", ""}});
}

TEST(Sse, Utf8SplitInsideSequenceSurvives) {
    expect_all_splits("data: {\"c\":\"H\xC3\xA9llo \xF0\x9F\x98\x80\"}\n\n",
                      {{"", "{\"c\":\"H\xC3\xA9llo \xF0\x9F\x98\x80\"}", ""}});
}

TEST(Sse, OverflowStopsParsing) {
    SseParser p(16);
    int n = 0;
    auto sink = [&](const SseEvent&) { ++n; };
    EXPECT_TRUE(p.feed("data: short\n\n", sink));
    EXPECT_FALSE(p.feed("data: this line is far too long\n\n", sink));
    EXPECT_TRUE(p.overflowed());
    EXPECT_EQ(n, 1);
}

TEST(Sse, Writers) {
    std::string out;
    sse_append_event(out, "ping", "{\"type\":\"ping\"}");
    sse_append_data(out, "[DONE]");
    EXPECT_EQ(out, "event: ping\ndata: {\"type\":\"ping\"}\n\ndata: [DONE]\n\n");
    out.clear();
    sse_append_data(out, std::string_view{});  // an empty data field (no pointer at all)
    sse_append_event(out, "e", "");
    EXPECT_EQ(out, "data: \n\nevent: e\ndata: \n\n");
}

}  // namespace
}  // namespace llmproxy

namespace llmproxy {
namespace {

// Data joined from several "data:" lines goes back out as several lines: one
// line holding a newline would end the field there and lose the rest.
TEST(SseWriter, MultiLineDataKeepsEveryLine) {
    std::string out;
    sse_append_data(out, "{\"a\":\n1}");
    EXPECT_EQ(out, "data: {\"a\":\ndata: 1}\n\n");
    out.clear();
    sse_append_event(out, "message_delta", "x\n\ny");
    EXPECT_EQ(out, "event: message_delta\ndata: x\ndata: \ndata: y\n\n");
    out.clear();
    sse_append_data(out, "[DONE]");
    EXPECT_EQ(out, "data: [DONE]\n\n");
    // What the parser reads back is what was written.
    SseParser parser;
    std::string got;
    ASSERT_TRUE(parser.feed("event: e\ndata: x\ndata: \ndata: y\n\n",
                            [&](const SseEvent& ev) { got.assign(ev.data); }));
    EXPECT_EQ(got, "x\n\ny");
}

// The split point used to send a burst's first event before the rest is
// transcoded: just past the first blank line, whatever the line ends.
TEST(SseFirstEventEnd, EndsAfterTheFirstBlankLine) {
    EXPECT_EQ(sse_first_event_end("data: a\n\ndata: b\n\n"), 9u);
    EXPECT_EQ(sse_first_event_end("event: x\r\ndata: a\r\n\r\ndata: b\r\n\r\n"), 21u);
    EXPECT_EQ(sse_first_event_end("data: a\r\rdata: b"), 9u);
    EXPECT_EQ(sse_first_event_end("data: a\n\r\nx"), 10u);
    EXPECT_EQ(sse_first_event_end("\n\nrest"), 2u);
    // No complete event: the whole slice.
    EXPECT_EQ(sse_first_event_end(""), 0u);
    EXPECT_EQ(sse_first_event_end("data: a\n"), 8u);
    EXPECT_EQ(sse_first_event_end("data: a\r\ndata: b\r\n"), 18u);
    EXPECT_EQ(sse_first_event_end("data: a\r"), 8u);
    // Fed in two parts split there, the parser sees the same events.
    const std::string_view stream = "event: x\r\ndata: 1\r\n\r\ndata: 2\n\ndata: 3\r\r";
    std::vector<std::string> whole, split;
    SseParser a, b;
    auto into = [](std::vector<std::string>& v) {
        return [&v](const SseEvent& ev) { v.emplace_back(std::string(ev.event) + "|" + std::string(ev.data)); };
    };
    ASSERT_TRUE(a.feed(stream, into(whole)));
    std::size_t cut = sse_first_event_end(stream);
    ASSERT_TRUE(b.feed(stream.substr(0, cut), into(split)));
    EXPECT_EQ(split.size(), 1u);
    ASSERT_TRUE(b.feed(stream.substr(cut), into(split)));
    EXPECT_EQ(split, whole);
    EXPECT_EQ(whole.size(), 3u);
}

}  // namespace
}  // namespace llmproxy
