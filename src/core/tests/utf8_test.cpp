#include "core/utf8.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include <rapidjson/encodings.h>
#include <rapidjson/stream.h>

namespace llmproxy {
namespace {

// The reference: RapidJSON's per-character check (what the stream encoders
// used kParseValidateEncodingFlag for), run over the whole string.
bool rapidjson_valid(std::string_view s) {
    struct Sink {
        void Put(char) {}
    } sink;
    std::string z(s);  // StringStream stops at NUL: check piecewise around them
    // Validate reads a whole sequence's tail before judging it: room for a
    // lead byte at the very end.
    z.append(4, '\0');
    rapidjson::StringStream in(z.c_str());
    while (static_cast<std::size_t>(in.Tell()) < s.size()) {
        if (in.Peek() == '\0') {
            in.Take();
            continue;
        }
        if (!rapidjson::UTF8<>::Validate(in, sink)) return false;
    }
    return true;
}

TEST(Utf8, AsciiAndEmpty) {
    EXPECT_TRUE(utf8_valid(""));
    EXPECT_TRUE(utf8_valid("plain ascii, longer than sixteen bytes to take the wide path"));
    EXPECT_TRUE(utf8_valid(std::string_view("nul\0inside", 10)));
}

TEST(Utf8, KnownSequences) {
    EXPECT_TRUE(utf8_valid("caf\xC3\xA9"));                    // U+00E9
    EXPECT_TRUE(utf8_valid("\xE2\x82\xAC"));                   // U+20AC
    EXPECT_TRUE(utf8_valid("\xF0\x9F\x98\x80"));               // U+1F600
    EXPECT_TRUE(utf8_valid("\xF4\x8F\xBF\xBF"));               // U+10FFFF
    EXPECT_FALSE(utf8_valid("\xC0\xAF"));                      // overlong '/'
    EXPECT_FALSE(utf8_valid("\xE0\x80\xAF"));                  // overlong
    EXPECT_FALSE(utf8_valid("\xED\xA0\x80"));                  // surrogate U+D800
    EXPECT_FALSE(utf8_valid("\xF4\x90\x80\x80"));              // above U+10FFFF
    EXPECT_FALSE(utf8_valid("\xF5\x80\x80\x80"));
    EXPECT_FALSE(utf8_valid("\x80"));                          // stray continuation
    EXPECT_FALSE(utf8_valid("abc\xE2\x82"));                   // cut at the end
    // A bad byte after a long ASCII run (found by the wide scan).
    EXPECT_FALSE(utf8_valid(std::string(37, 'a') + "\xFF" + std::string(20, 'b')));
    EXPECT_TRUE(utf8_valid(std::string(37, 'a') + "\xC3\xA9" + std::string(20, 'b')));
}

// Every one- and two-byte string, and every three-byte string, agree with
// RapidJSON's validator; at every offset of a longer ASCII string too.
TEST(Utf8, AgreesWithRapidJsonOnAllShortSequences) {
    std::string s;
    for (int a = 0; a < 256; ++a) {
        s.assign(1, static_cast<char>(a));
        ASSERT_EQ(utf8_valid(s), rapidjson_valid(s)) << a;
        for (int b = 0; b < 256; ++b) {
            s.assign({static_cast<char>(a), static_cast<char>(b)});
            ASSERT_EQ(utf8_valid(s), rapidjson_valid(s)) << a << " " << b;
        }
    }
    for (int a = 0x80; a < 256; ++a) {
        for (int b = 0; b < 256; ++b) {
            for (int c = 0; c < 256; c += (b >= 0x80 && b < 0xC0) ? 1 : 37) {
                s.assign({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
                ASSERT_EQ(utf8_valid(s), rapidjson_valid(s)) << a << " " << b << " " << c;
            }
        }
    }
}

TEST(Utf8, AgreesWithRapidJsonOnRandomText) {
    std::mt19937 rng(12345);
    const char* pieces[] = {"a", "bcdefghijklmnopq", " ", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
                            "\xED\xA0\x80", "\xC0", "\x80", "\xF4\x90", "\xEF\xBF\xBF", "\xFF"};
    for (int round = 0; round < 20000; ++round) {
        std::string s;
        const int n = static_cast<int>(rng() % 24);
        for (int i = 0; i < n; ++i) {
            // Mostly valid pieces, so invalid ones land after long valid runs.
            unsigned pick = rng() % 100;
            s += pieces[pick < 90 ? pick % 6 : 6 + pick % 6];
        }
        ASSERT_EQ(utf8_valid(s), rapidjson_valid(s)) << round;
    }
}

}  // namespace
}  // namespace llmproxy
