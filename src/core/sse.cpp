#include "core/sse.hpp"

#include <cstdint>
#include <cstring>

namespace llmproxy {

namespace {
constexpr std::string_view kBom = "\xEF\xBB\xBF";
}  // namespace

std::size_t SseParser::find_line_end(std::string_view bytes, std::size_t pos) {
    const char* data = bytes.data();
    const std::size_t n = bytes.size();
    // Eight bytes at a time: lines are long (whole JSON chunks), terminators rare.
    constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    while (n - pos >= 8) {
        std::uint64_t x;
        std::memcpy(&x, data + pos, 8);
        std::uint64_t lf = x ^ (ones * '\n');
        std::uint64_t cr = x ^ (ones * '\r');
        if (((lf - ones) & ~lf & highs) | ((cr - ones) & ~cr & highs)) break;
        pos += 8;
    }
    while (pos < n && data[pos] != '\n' && data[pos] != '\r') ++pos;
    return pos;
}

void SseParser::reset() {
    line_.clear();
    data_.clear();
    event_.clear();
    id_.clear();
    bom_matched_ = 0;
    bom_done_ = false;
    skip_lf_ = false;
    has_data_ = false;
    overflowed_ = false;
}

std::size_t SseParser::consume_bom(std::string_view bytes) {
    std::size_t used = 0;
    while (used < bytes.size() && bom_matched_ < kBom.size()) {
        if (bytes[used] != kBom[bom_matched_]) {
            // Not a BOM after all: the bytes matched so far are content.
            line_.append(kBom.data(), bom_matched_);
            bom_done_ = true;
            return used;
        }
        ++bom_matched_;
        ++used;
    }
    if (bom_matched_ == kBom.size()) bom_done_ = true;
    return used;
}

bool SseParser::process_line(std::string_view line) {
    if (line.empty()) return true;       // blank line: end of event
    if (line[0] == ':') return false;    // comment / keepalive
    std::string_view field = line;
    std::string_view value;
    std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
        field = line.substr(0, colon);
        value = line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    }
    if (field == "data") {
        if (data_.size() + value.size() + 1 > max_event_bytes_) {
            overflowed_ = true;
            return false;
        }
        data_.append(value.data(), value.size());
        data_.push_back('\n');
        has_data_ = true;
    } else if (field == "event") {
        event_.assign(value.data(), value.size());
    } else if (field == "id") {
        if (value.find('\0') == std::string_view::npos) id_.assign(value.data(), value.size());
    }
    // "retry" and unknown fields are ignored, as the SSE spec says.
    return false;
}

void sse_append_event(std::string& out, std::string_view name, std::string_view data) {
    out.append("event: ");
    out.append(name.data(), name.size());
    out.append("\ndata: ");
    out.append(data.data(), data.size());
    out.append("\n\n");
}

void sse_append_data(std::string& out, std::string_view data) {
    out.append("data: ");
    out.append(data.data(), data.size());
    out.append("\n\n");
}

}  // namespace llmproxy
