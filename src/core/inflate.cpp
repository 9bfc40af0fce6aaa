#include "core/inflate.hpp"

#include <zlib.h>

#include <strings.h>

namespace llmproxy {

struct Inflater::Impl {
    z_stream zs{};
    bool initialised = false;
    bool raw_retry_allowed = false;  // "deflate" may be raw deflate (no zlib header)
    bool ended = false;
    std::size_t total_out = 0;
    std::size_t max_total_out = 0;
    ~Impl() {
        if (initialised) inflateEnd(&zs);
    }
};

Inflater::Inflater() : impl_(std::make_unique<Impl>()) {}
Inflater::~Inflater() = default;

bool Inflater::handles(std::string_view e) {
    auto eq = [&](const char* s) {
        return e.size() == std::char_traits<char>::length(s) &&
               strncasecmp(e.data(), s, e.size()) == 0;
    };
    return eq("gzip") || eq("x-gzip") || eq("deflate");
}

Result<std::unique_ptr<Inflater>> Inflater::create(std::string_view encoding,
                                                   std::size_t max_total_out) {
    if (!handles(encoding)) {
        return make_error(ErrorCode::kInternal, "",
                          "unsupported content encoding " + std::string(encoding));
    }
    std::unique_ptr<Inflater> inf(new Inflater());
    inf->impl_->max_total_out = max_total_out;
    // 32 + MAX_WBITS: accept both gzip and zlib headers ("deflate" is zlib
    // in practice; raw deflate is handled in feed() by a headerless retry).
    if (inflateInit2(&inf->impl_->zs, 32 + MAX_WBITS) != Z_OK) {
        return make_error(ErrorCode::kInternal, "", "zlib initialisation failed");
    }
    inf->impl_->initialised = true;
    inf->impl_->raw_retry_allowed = encoding.size() == 7 && strncasecmp(encoding.data(), "deflate", 7) == 0;
    return inf;
}

Status Inflater::feed(std::string_view in, std::string& out) {
    Impl& s = *impl_;
    if (s.ended || in.empty()) return Status();
    s.zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    s.zs.avail_in = static_cast<uInt>(in.size());
    unsigned char buf[16384];
    while (s.zs.avail_in > 0) {
        s.zs.next_out = buf;
        s.zs.avail_out = sizeof(buf);
        int rc = inflate(&s.zs, Z_NO_FLUSH);
        std::size_t produced = sizeof(buf) - s.zs.avail_out;
        if (s.total_out + produced > s.max_total_out) {
            return make_error(ErrorCode::kTooLarge, "",
                              "decompressed provider response exceeds " +
                                  std::to_string(s.max_total_out) + " bytes");
        }
        s.total_out += produced;
        out.append(reinterpret_cast<const char*>(buf), produced);
        if (rc == Z_STREAM_END) {
            s.ended = true;
            return Status();
        }
        if (rc == Z_DATA_ERROR && s.raw_retry_allowed && s.total_out == 0 &&
            s.zs.total_in <= in.size()) {
            // Some servers send raw deflate as "deflate": start again headerless.
            s.raw_retry_allowed = false;
            inflateEnd(&s.zs);
            s.zs = z_stream{};
            if (inflateInit2(&s.zs, -MAX_WBITS) != Z_OK) {
                s.initialised = false;
                return make_error(ErrorCode::kInternal, "", "zlib initialisation failed");
            }
            s.zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
            s.zs.avail_in = static_cast<uInt>(in.size());
            continue;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            return make_error(ErrorCode::kInvalidRequest, "",
                              "corrupt compressed provider response");
        }
        s.raw_retry_allowed = false;
        if (rc == Z_BUF_ERROR && produced == 0) break;
    }
    return Status();
}

}  // namespace llmproxy
