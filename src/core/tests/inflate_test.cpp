// core/inflate: gzip and zlib ("deflate") decoding of provider responses,
// with input split anywhere, a bounded output size and corrupt-input errors.
// The compressed inputs are produced here with zlib itself.
#include "core/inflate.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace llmproxy {
namespace {

enum class Wrap { kGzip, kZlib, kRaw };

std::string compress(std::string_view data, Wrap wrap) {
    z_stream zs{};
    int bits = wrap == Wrap::kGzip ? 16 + MAX_WBITS : wrap == Wrap::kZlib ? MAX_WBITS : -MAX_WBITS;
    EXPECT_EQ(deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 64, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

// Deterministic, moderately compressible text larger than the 16 KiB buffer.
std::string sample_text(std::size_t n) {
    std::string s;
    s.reserve(n);
    std::uint32_t x = 12345;
    while (s.size() < n) {
        x = x * 1103515245u + 12345u;
        s += R"({"type":"content_block_delta","delta":{"text":")";
        s += std::to_string(x >> 8);
        s += "\"}}\n";
    }
    s.resize(n);
    return s;
}

std::unique_ptr<Inflater> make(std::string_view encoding, std::size_t cap = 64u << 20) {
    auto r = Inflater::create(encoding, cap);
    EXPECT_TRUE(r.ok()) << r.error().describe();
    return r.ok() ? std::move(r.value()) : nullptr;
}

// Feeds `in` in slices of `step` bytes; returns the status of the first failure.
Status feed_in_steps(Inflater& inf, std::string_view in, std::size_t step, std::string& out) {
    for (std::size_t i = 0; i < in.size(); i += step) {
        if (Status st = inf.feed(in.substr(i, step), out); !st.ok()) return st;
    }
    return Status();
}

TEST(Inflater, Handles) {
    EXPECT_TRUE(Inflater::handles("gzip"));
    EXPECT_TRUE(Inflater::handles("GZip"));
    EXPECT_TRUE(Inflater::handles("x-gzip"));
    EXPECT_TRUE(Inflater::handles("deflate"));
    EXPECT_TRUE(Inflater::handles("DEFLATE"));
    EXPECT_FALSE(Inflater::handles("br"));
    EXPECT_FALSE(Inflater::handles("identity"));
    EXPECT_FALSE(Inflater::handles("zstd"));
    EXPECT_FALSE(Inflater::handles(""));
    EXPECT_FALSE(Inflater::handles("gzi"));
    EXPECT_FALSE(Inflater::handles("gzipx"));
    EXPECT_FALSE(Inflater::handles("gzip, br"));
}

TEST(Inflater, CreateRejectsUnsupportedEncoding) {
    auto r = Inflater::create("br", 1024);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("br"), std::string::npos);
}

TEST(Inflater, GzipRoundTrip) {
    std::string text = sample_text(200000);
    std::string gz = compress(text, Wrap::kGzip);
    for (std::string_view enc : {"gzip", "x-gzip"}) {
        auto inf = make(enc);
        ASSERT_TRUE(inf);
        std::string out;
        ASSERT_TRUE(inf->feed(gz, out).ok());
        EXPECT_EQ(out, text);
    }
}

TEST(Inflater, ZlibRoundTripAsDeflate) {
    std::string text = sample_text(200000);
    auto inf = make("deflate");
    ASSERT_TRUE(inf);
    std::string out;
    ASSERT_TRUE(inf->feed(compress(text, Wrap::kZlib), out).ok());
    EXPECT_EQ(out, text);
}

TEST(Inflater, HeaderIsDetectedWhateverTheEncodingName) {
    // A gzip body labelled "deflate" (and the reverse) still decodes.
    std::string text = sample_text(5000);
    auto a = make("deflate");
    std::string out;
    ASSERT_TRUE(a->feed(compress(text, Wrap::kGzip), out).ok());
    EXPECT_EQ(out, text);
    auto b = make("gzip");
    out.clear();
    ASSERT_TRUE(b->feed(compress(text, Wrap::kZlib), out).ok());
    EXPECT_EQ(out, text);
}

TEST(Inflater, EmptyPayload) {
    std::string out;
    auto inf = make("gzip");
    ASSERT_TRUE(inf->feed(compress("", Wrap::kGzip), out).ok());
    EXPECT_EQ(out, "");
    EXPECT_TRUE(inf->feed("", out).ok());
}

TEST(Inflater, SplitAtEveryByteGivesSameOutput) {
    std::string text = sample_text(20000);
    for (Wrap w : {Wrap::kGzip, Wrap::kZlib}) {
        std::string z = compress(text, w);
        // One byte at a time.
        {
            auto inf = make(w == Wrap::kGzip ? "gzip" : "deflate");
            std::string out;
            ASSERT_TRUE(feed_in_steps(*inf, z, 1, out).ok());
            EXPECT_EQ(out, text);
        }
        // Every two-way split point.
        for (std::size_t cut = 0; cut <= z.size(); ++cut) {
            auto inf = make(w == Wrap::kGzip ? "gzip" : "deflate");
            std::string out;
            ASSERT_TRUE(inf->feed(std::string_view(z).substr(0, cut), out).ok()) << cut;
            ASSERT_TRUE(inf->feed(std::string_view(z).substr(cut), out).ok()) << cut;
            ASSERT_EQ(out, text) << "cut at " << cut;
        }
    }
}

TEST(Inflater, HighlyCompressibleInputSplitAtEveryByte) {
    // Each input byte can expand to many output buffers here.
    std::string zeros(3u << 20, '\0');
    std::string gz = compress(zeros, Wrap::kGzip);
    ASSERT_LT(gz.size(), 8000u);
    auto inf = make("gzip");
    std::string out;
    ASSERT_TRUE(feed_in_steps(*inf, gz, 1, out).ok());
    EXPECT_EQ(out.size(), zeros.size());
    EXPECT_EQ(out, zeros);
    // And in one piece.
    auto whole = make("gzip");
    out.clear();
    ASSERT_TRUE(whole->feed(gz, out).ok());
    EXPECT_EQ(out, zeros);
}

TEST(Inflater, CapIsInclusive) {
    std::string text = sample_text(100000);
    auto inf = make("gzip", text.size());
    std::string out;
    ASSERT_TRUE(inf->feed(compress(text, Wrap::kGzip), out).ok());
    EXPECT_EQ(out, text);
}

TEST(Inflater, BombStopsAtCap) {
    std::string zeros(64u << 20, '\0');
    std::string gz = compress(zeros, Wrap::kGzip);
    ASSERT_LT(gz.size(), 100000u);
    const std::size_t cap = 1u << 20;
    auto inf = make("gzip", cap);
    std::string out;
    Status st = inf->feed(gz, out);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::kTooLarge);
    EXPECT_LE(out.size(), cap);
}

TEST(Inflater, BombStopsAtCapWhenFedInSlices) {
    std::string zeros(16u << 20, '\0');
    std::string z = compress(zeros, Wrap::kZlib);
    const std::size_t cap = 100000;
    auto inf = make("deflate", cap);
    std::string out;
    Status st = feed_in_steps(*inf, z, 7, out);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::kTooLarge);
    EXPECT_LE(out.size(), cap);
}

TEST(Inflater, CorruptInputFails) {
    auto inf = make("gzip");
    std::string out;
    Status st = inf->feed("this is not compressed at all, just text", out);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidRequest);
}

TEST(Inflater, CorruptChecksumFails) {
    std::string text = sample_text(10000);
    for (Wrap w : {Wrap::kGzip, Wrap::kZlib}) {
        std::string z = compress(text, w);
        // gzip ends with CRC32 + size, zlib with Adler-32: damage the checksum.
        z[z.size() - (w == Wrap::kGzip ? 8 : 1)] ^= 0x55;
        auto inf = make(w == Wrap::kGzip ? "gzip" : "deflate");
        std::string out;
        Status st = inf->feed(z, out);
        ASSERT_FALSE(st.ok()) << (w == Wrap::kGzip ? "gzip" : "zlib");
        EXPECT_EQ(st.error().code, ErrorCode::kInvalidRequest);
    }
}

TEST(Inflater, CorruptMiddleFails) {
    std::string text = sample_text(50000);
    std::string gz = compress(text, Wrap::kGzip);
    // Overwrite a run in the middle of the compressed data.
    for (std::size_t i = gz.size() / 2; i < gz.size() / 2 + 16; ++i) gz[i] = static_cast<char>(0xff);
    auto inf = make("gzip");
    std::string out;
    Status st = feed_in_steps(*inf, gz, 1000, out);
    EXPECT_FALSE(st.ok());
}

// Raw deflate data (no zlib header), which some servers send as
// "Content-Encoding: deflate", is accepted through a headerless retry.
TEST(Inflater, RawDeflateIsAcceptedAsDeflate) {
    std::string text = sample_text(20000);
    auto inf = make("deflate");
    std::string out;
    Status st = inf->feed(compress(text, Wrap::kRaw), out);
    ASSERT_TRUE(st.ok()) << st.error().describe();
    EXPECT_EQ(out, text);
}

}  // namespace
}  // namespace llmproxy
