// Key generation, digests, encodings, the master key file and AES-256-GCM
// sealing with tamper detection.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "core/store.hpp"
#include "core/store_internal.hpp"

namespace llmproxy::store {
namespace {

// A private temporary directory, removed with its files afterwards.
class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/llmproxy-crypto-XXXXXX";
        path_ = ::mkdtemp(tmpl);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

MasterKey test_key(std::uint8_t fill) {
    MasterKey k;
    k.bytes.fill(fill);
    return k;
}

TEST(StoreCrypto, Sha256KnownVector) {
    Digest d = sha256("abc");
    EXPECT_EQ(hex_encode(d.data(), d.size()),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(StoreCrypto, ReusedHasherMatchesOneShot) {
    Sha256Hasher hasher;
    EXPECT_EQ(hasher.digest("abc"), sha256("abc"));
    // The context is reused: a second and a longer input hash as fresh ones.
    std::string long_input(1000, 'k');
    EXPECT_EQ(hasher.digest(long_input), sha256(long_input));
    EXPECT_EQ(hasher.digest(""), sha256(""));
    EXPECT_EQ(hex_encode(hasher.digest("abc").data(), 32),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(StoreCrypto, KeySecretShapeAndUniqueness) {
    std::set<std::string> seen;
    for (int i = 0; i < 2000; ++i) {
        std::string s = generate_key_secret();
        ASSERT_EQ(s.size(), 8u + 43u) << s.substr(0, 12);
        ASSERT_EQ(s.substr(0, 8), "sk-llmp-");
        for (char c : s.substr(8)) {
            ASSERT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
        }
        EXPECT_TRUE(seen.insert(s).second);
    }
}

TEST(StoreCrypto, KeySecretUsesWholeAlphabet) {
    // 62 symbols over ~40k draws: a biased or truncated alphabet would miss some.
    std::set<char> chars;
    for (int i = 0; i < 1000; ++i) {
        std::string s = generate_key_secret();
        chars.insert(s.begin() + 8, s.end());
    }
    EXPECT_EQ(chars.size(), 62u);
}

TEST(StoreCrypto, KeyIdShape) {
    std::set<std::string> seen;
    for (int i = 0; i < 500; ++i) {
        std::string id = generate_key_id();
        ASSERT_EQ(id.size(), 16u);
        ASSERT_EQ(id.substr(0, 4), "key_");
        for (char c : id.substr(4)) ASSERT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
        EXPECT_TRUE(seen.insert(id).second);
    }
}

TEST(StoreCrypto, ConstantTimeEqual) {
    Digest a = sha256("x"), b = sha256("x"), c = sha256("y");
    EXPECT_TRUE(constant_time_equal(a, b));
    EXPECT_FALSE(constant_time_equal(a, c));
    b[31] ^= 1;
    EXPECT_FALSE(constant_time_equal(a, b));
}

TEST(StoreCrypto, HexAndBase64) {
    EXPECT_EQ(hex_decode("00ff10Ab"), std::string("\x00\xff\x10\xab", 4));
    EXPECT_FALSE(hex_decode("abc").has_value());
    EXPECT_FALSE(hex_decode("zz").has_value());
    for (std::string s : {std::string(), std::string("f"), std::string("fo"), std::string("foo"),
                          std::string("foob"), std::string("fooba"), std::string("foobar"),
                          std::string("\x00\xff\x80", 3)}) {
        auto back = base64_decode(base64_encode(s));
        ASSERT_TRUE(back.has_value()) << s;
        EXPECT_EQ(*back, s);
    }
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_FALSE(base64_decode("Zm9").has_value());
    EXPECT_FALSE(base64_decode("Zm=v").has_value());
    EXPECT_FALSE(base64_decode("Zm9v\n").has_value());
    EXPECT_FALSE(base64_decode("Zm*v").has_value());
}

TEST(StoreCrypto, SealOpenRoundTrip) {
    MasterKey k = test_key(7);
    for (std::string secret : {std::string("sk-provider-123"), std::string(), std::string(5000, 'x')}) {
        std::string sealed = seal_secret(k, "deepseek", secret);
        if (!secret.empty()) {
            EXPECT_EQ(sealed.find(secret), std::string::npos);
        }
        auto opened = open_secret(k, "deepseek", sealed);
        ASSERT_TRUE(opened.ok()) << opened.error().describe();
        EXPECT_EQ(*opened, secret);
    }
    // A fresh nonce each time: sealing twice gives different ciphertexts.
    EXPECT_NE(seal_secret(k, "p", "same"), seal_secret(k, "p", "same"));
}

TEST(StoreCrypto, TamperDetection) {
    MasterKey k = test_key(9);
    std::string sealed = seal_secret(k, "anthropic", "sk-ant-secret-value");
    auto raw = base64_decode(sealed);
    ASSERT_TRUE(raw.has_value());
    ASSERT_EQ(raw->size(), 12u + 19u + 16u);
    // Flip one byte in the nonce, the ciphertext and the tag in turn.
    for (std::size_t pos : {std::size_t(0), std::size_t(11), std::size_t(12), std::size_t(20),
                            raw->size() - 16, raw->size() - 1}) {
        std::string bad = *raw;
        bad[pos] = static_cast<char>(bad[pos] ^ 0x01);
        auto opened = open_secret(k, "anthropic", base64_encode(bad));
        EXPECT_FALSE(opened.ok()) << "flipped byte " << pos;
    }
    EXPECT_FALSE(open_secret(k, "anthropic", base64_encode(raw->substr(0, raw->size() - 1))).ok());
    EXPECT_FALSE(open_secret(k, "openai", sealed).ok()) << "wrong associated data";
    EXPECT_FALSE(open_secret(k, "", sealed).ok());
    EXPECT_FALSE(open_secret(test_key(10), "anthropic", sealed).ok()) << "wrong key";
    EXPECT_FALSE(open_secret(k, "anthropic", "not base64!").ok());
    EXPECT_FALSE(open_secret(k, "anthropic", "").ok());
    auto good = open_secret(k, "anthropic", sealed);
    ASSERT_TRUE(good.ok());
    EXPECT_EQ(*good, "sk-ant-secret-value");
    // Error messages never echo the plaintext.
    auto wrong = open_secret(test_key(10), "anthropic", sealed);
    EXPECT_EQ(wrong.error().describe().find("sk-ant"), std::string::npos);
}

TEST(StoreCrypto, MasterKeyFileCreateAndLoad) {
    TempDir tmp;
    std::string path = tmp.path() + "/etc/llmproxy/master.key";
    auto created = create_master_key_if_missing(path);
    ASSERT_TRUE(created.ok()) << created.error().describe();
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat((tmp.path() + "/etc/llmproxy").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);

    std::ifstream in(path);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_EQ(content.size(), 65u);
    EXPECT_EQ(content.back(), '\n');
    EXPECT_EQ(content.substr(0, 64), hex_encode(created->bytes.data(), 32));

    auto loaded = load_master_key(path);
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(loaded->bytes, created->bytes);
    // Idempotent: a second call keeps the existing key.
    auto again = create_master_key_if_missing(path);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->bytes, created->bytes);
}

TEST(StoreCrypto, MasterKeyFileErrors) {
    TempDir tmp;
    auto missing = load_master_key(tmp.path() + "/nope.key");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().describe().find("does not exist"), std::string::npos);

    std::string bad = tmp.path() + "/bad.key";
    std::ofstream(bad) << "00112233\n";
    EXPECT_FALSE(load_master_key(bad).ok());
    std::ofstream(bad, std::ios::trunc) << std::string(64, 'g') << "\n";
    auto malformed = load_master_key(bad);
    ASSERT_FALSE(malformed.ok());
    EXPECT_NE(malformed.error().describe().find("malformed"), std::string::npos);
    EXPECT_EQ(malformed.error().describe().find("gggg"), std::string::npos) << "no key material in errors";
    std::ofstream(bad, std::ios::trunc) << std::string(64, 'a') << "\nextra";
    EXPECT_FALSE(load_master_key(bad).ok());
    std::ofstream(bad, std::ios::trunc) << std::string(64, 'a');
    EXPECT_TRUE(load_master_key(bad).ok()) << "a missing final newline is tolerated";

    EXPECT_FALSE(load_master_key(tmp.path()).ok()) << "a directory is not a key file";

    if (::geteuid() == 0) return;  // root reads anything
    std::string locked = tmp.path() + "/locked.key";
    std::ofstream(locked) << std::string(64, 'a') << "\n";
    ::chmod(locked.c_str(), 0);
    auto denied = load_master_key(locked);
    ASSERT_FALSE(denied.ok());
    EXPECT_EQ(denied.error().describe(), "permission denied: " + locked);
}

}  // namespace
}  // namespace llmproxy::store
