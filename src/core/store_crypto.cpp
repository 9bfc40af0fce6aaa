// Key material: SHA-256 digests of client keys, CSPRNG secrets and ids,
// the master key file, and AES-256-GCM sealing of provider API keys.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "core/store.hpp"
#include "core/store_internal.hpp"

namespace llmproxy::store {

namespace {

constexpr std::size_t kNonceLen = 12;  // GCM's natural IV size
constexpr std::size_t kTagLen = 16;

constexpr char kBase62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

struct CipherCtxDeleter {
    void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

// Closes a file descriptor on scope exit.
struct FdCloser {
    int fd;
    ~FdCloser() {
        if (fd >= 0) ::close(fd);
    }
};

Error malformed_master_key(const std::string& path) {
    return make_error(ErrorCode::kUnavailable, "",
                      "master key file " + path + " is malformed (expected 64 hex characters)");
}

}  // namespace

// ---- encodings ----

std::string hex_encode(const std::uint8_t* data, std::size_t len) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (std::size_t i = 0; i < len; ++i) {
        out.push_back(digits[data[i] >> 4]);
        out.push_back(digits[data[i] & 0xf]);
    }
    return out;
}

std::optional<std::string> hex_decode(std::string_view hex) {
    if (hex.size() % 2 != 0) return std::nullopt;
    std::string out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        int hi = hex_value(hex[i]);
        int lo = hex_value(hex[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>((hi << 4) | lo));
    }
    return out;
}

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
        out.push_back(kBase64[(v >> 18) & 63]);
        out.push_back(kBase64[(v >> 12) & 63]);
        out.push_back(kBase64[(v >> 6) & 63]);
        out.push_back(kBase64[v & 63]);
    }
    std::size_t rest = bytes.size() - i;
    if (rest == 1) {
        std::uint32_t v = byte(i) << 16;
        out.push_back(kBase64[(v >> 18) & 63]);
        out.push_back(kBase64[(v >> 12) & 63]);
        out += "==";
    } else if (rest == 2) {
        std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
        out.push_back(kBase64[(v >> 18) & 63]);
        out.push_back(kBase64[(v >> 12) & 63]);
        out.push_back(kBase64[(v >> 6) & 63]);
        out.push_back('=');
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    // Strict: padded, canonical length, no whitespace.
    if (text.size() % 4 != 0) return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        bool last = i + 4 == text.size();
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            char c = text[i + k];
            if (c == '=' && last && k >= 2) {
                v[k] = 0;
                ++pad;
                continue;
            }
            if (pad > 0) return std::nullopt;  // data after padding
            v[k] = base64_value(c);
            if (v[k] < 0) return std::nullopt;
        }
        std::uint32_t n = (std::uint32_t(v[0]) << 18) | (std::uint32_t(v[1]) << 12) |
                          (std::uint32_t(v[2]) << 6) | std::uint32_t(v[3]);
        out.push_back(static_cast<char>((n >> 16) & 0xff));
        if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 0xff));
        if (pad < 1) out.push_back(static_cast<char>(n & 0xff));
    }
    return out;
}

void random_bytes(std::uint8_t* out, std::size_t len) {
    if (RAND_bytes(out, static_cast<int>(len)) != 1) {
        std::fputs("llmproxy: OpenSSL CSPRNG failure\n", stderr);
        std::abort();
    }
}

// ---- digests, secrets, ids ----

Digest sha256(std::string_view data) {
    Digest d{};
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d.data());
    return d;
}

Sha256Hasher::Sha256Hasher() : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx_(EVP_MD_CTX_new()) {}

Sha256Hasher::~Sha256Hasher() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
}

Digest Sha256Hasher::digest(std::string_view data) {
    Digest d{};
    unsigned int len = 0;
    if (md_ != nullptr && ctx_ != nullptr && EVP_DigestInit_ex(ctx_, md_, nullptr) == 1 &&
        EVP_DigestUpdate(ctx_, data.data(), data.size()) == 1 &&
        EVP_DigestFinal_ex(ctx_, d.data(), &len) == 1 && len == d.size()) {
        return d;
    }
    return sha256(data);  // no fetched algorithm (or a failed call): the one-shot
}

std::string generate_key_secret() {
    // Rejection sampling keeps every base62 character uniform: bytes >= 248
    // (= 4 * 62) are discarded. 43 chars * log2(62) ~= 256 bits.
    std::string secret(kKeySecretPrefix);
    std::uint8_t buf[64];
    while (secret.size() < kKeySecretPrefix.size() + kKeySecretRandomChars) {
        random_bytes(buf, sizeof buf);
        for (std::uint8_t b : buf) {
            if (b >= 248) continue;
            secret.push_back(kBase62[b % 62]);
            if (secret.size() == kKeySecretPrefix.size() + kKeySecretRandomChars) break;
        }
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return secret;
}

std::string generate_key_id() {
    std::uint8_t buf[6];
    random_bytes(buf, sizeof buf);
    return "key_" + hex_encode(buf, sizeof buf);
}

bool constant_time_equal(const Digest& a, const Digest& b) {
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void set_key_secret(KeyRecord& k, std::string_view secret) {
    k.digest = sha256(secret);
    std::string_view body = secret.substr(0, kKeySecretPrefix.size()) == kKeySecretPrefix
                                ? secret.substr(kKeySecretPrefix.size())
                                : secret;
    k.prefix = std::string(kKeySecretPrefix) + std::string(body.substr(0, 4));
    k.last4 = std::string(secret.substr(secret.size() >= 4 ? secret.size() - 4 : 0));
}

// ---- master key file ----

Result<MasterKey> load_master_key(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int err = errno;
        if (err == ENOENT) {
            return make_error(ErrorCode::kUnavailable, "",
                              "master key file " + path + " does not exist; run llmproxy-ctl init");
        }
        return errno_error(err, "cannot open master key file", path);
    }
    FdCloser closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) return errno_error(errno, "cannot stat master key file", path);
    if (!S_ISREG(st.st_mode)) {
        return make_error(ErrorCode::kUnavailable, "",
                          "master key file " + path + " is not a regular file");
    }
    // 64 hex chars plus an optional line ending; read one byte more to
    // detect trailing junk.
    char buf[80];
    std::size_t len = 0;
    while (len < sizeof buf) {
        ssize_t n = ::read(fd, buf + len, sizeof buf - len);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            OPENSSL_cleanse(buf, sizeof buf);
            return errno_error(err, "cannot read master key file", path);
        }
        if (n == 0) break;
        len += static_cast<std::size_t>(n);
    }
    std::string_view text(buf, len);
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    MasterKey key;
    bool ok = text.size() == 64;
    for (std::size_t i = 0; ok && i < 32; ++i) {
        int hi = hex_value(text[2 * i]);
        int lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) ok = false;
        else key.bytes[i] = static_cast<std::uint8_t>((hi << 4) | lo);
    }
    OPENSSL_cleanse(buf, sizeof buf);
    if (!ok) {
        OPENSSL_cleanse(key.bytes.data(), key.bytes.size());
        return malformed_master_key(path);
    }
    return key;
}

Result<MasterKey> create_master_key_if_missing(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) return load_master_key(path);
    if (errno != ENOENT) return errno_error(errno, "cannot stat master key file", path);

    // Create missing parent directories with 0700: the directory holding the
    // key should not be listable by others either.
    auto slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) {
        std::string parent = path.substr(0, slash);
        for (std::size_t pos = 1; pos <= parent.size(); ++pos) {
            if (pos != parent.size() && parent[pos] != '/') continue;
            std::string prefix = parent.substr(0, pos);
            if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
                return errno_error(errno, "cannot create directory", prefix);
            }
        }
    }

    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) return load_master_key(path);  // lost a race: keep theirs
        return errno_error(errno, "cannot create master key file", path);
    }
    FdCloser closer{fd};
    if (::fchmod(fd, 0600) != 0) return errno_error(errno, "cannot chmod master key file", path);

    MasterKey key;
    random_bytes(key.bytes.data(), key.bytes.size());
    std::string text = hex_encode(key.bytes.data(), key.bytes.size()) + "\n";
    std::size_t off = 0;
    while (off < text.size()) {
        ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            OPENSSL_cleanse(text.data(), text.size());
            ::unlink(path.c_str());
            return errno_error(err, "cannot write master key file", path);
        }
        off += static_cast<std::size_t>(n);
    }
    OPENSSL_cleanse(text.data(), text.size());
    if (::fsync(fd) != 0) {
        int err = errno;
        ::unlink(path.c_str());
        return errno_error(err, "cannot sync master key file", path);
    }
    return key;
}

// ---- AES-256-GCM ----

std::string seal_secret(const MasterKey& k, std::string_view associated_data,
                        std::string_view plaintext) {
    std::string out(kNonceLen + plaintext.size() + kTagLen, '\0');
    auto* nonce = reinterpret_cast<unsigned char*>(out.data());
    auto* ct = nonce + kNonceLen;
    auto* tag = ct + plaintext.size();
    random_bytes(nonce, kNonceLen);

    CipherCtx ctx(EVP_CIPHER_CTX_new());
    int len = 0;
    bool ok = ctx &&
              EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceLen, nullptr) == 1 &&
              EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, k.bytes.data(), nonce) == 1 &&
              EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                                reinterpret_cast<const unsigned char*>(associated_data.data()),
                                static_cast<int>(associated_data.size())) == 1 &&
              EVP_EncryptUpdate(ctx.get(), ct, &len,
                                reinterpret_cast<const unsigned char*>(plaintext.data()),
                                static_cast<int>(plaintext.size())) == 1 &&
              EVP_EncryptFinal_ex(ctx.get(), ct + len, &len) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagLen, tag) == 1;
    if (!ok) {
        // Only an allocation failure inside OpenSSL gets here; storing a key
        // unencrypted is never an option.
        std::fputs("llmproxy: AES-256-GCM encryption failed\n", stderr);
        std::abort();
    }
    std::string sealed = base64_encode(out);
    OPENSSL_cleanse(out.data(), out.size());
    return sealed;
}

Result<std::string> open_secret(const MasterKey& k, std::string_view associated_data,
                                std::string_view sealed) {
    auto cant_open = [] {
        return make_error(ErrorCode::kUnavailable, "",
                          "sealed secret cannot be decrypted (wrong master key or tampered data)");
    };
    auto raw = base64_decode(sealed);
    if (!raw || raw->size() < kNonceLen + kTagLen) return cant_open();
    const auto* nonce = reinterpret_cast<const unsigned char*>(raw->data());
    const auto* ct = nonce + kNonceLen;
    std::size_t ct_len = raw->size() - kNonceLen - kTagLen;
    // EVP_CTRL_GCM_SET_TAG takes a non-const pointer; copy the tag out.
    unsigned char tag[kTagLen];
    std::memcpy(tag, ct + ct_len, kTagLen);

    std::string plain(ct_len, '\0');
    auto* pt = reinterpret_cast<unsigned char*>(plain.data());
    CipherCtx ctx(EVP_CIPHER_CTX_new());
    int len = 0;
    bool ok = ctx &&
              EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceLen, nullptr) == 1 &&
              EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, k.bytes.data(), nonce) == 1 &&
              EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                                reinterpret_cast<const unsigned char*>(associated_data.data()),
                                static_cast<int>(associated_data.size())) == 1 &&
              EVP_DecryptUpdate(ctx.get(), pt, &len, ct, static_cast<int>(ct_len)) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagLen, tag) == 1;
    int plain_len = len;
    // The tag is verified in Final; nothing decrypted is returned unless it matches.
    ok = ok && EVP_DecryptFinal_ex(ctx.get(), pt + len, &len) == 1;
    OPENSSL_cleanse(raw->data(), raw->size());
    if (!ok) {
        OPENSSL_cleanse(plain.data(), plain.size());
        return cant_open();
    }
    plain.resize(static_cast<std::size_t>(plain_len + len));
    return plain;
}

}  // namespace llmproxy::store
