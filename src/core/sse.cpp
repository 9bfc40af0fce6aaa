#include "core/sse.hpp"

#include <cstdint>
#include <cstring>

namespace llmproxy {

namespace {
constexpr std::string_view kBom = "\xEF\xBB\xBF";
}  // namespace

void SseParser::reset() {
    line_.clear();
    data_.clear();
    event_.clear();
    id_.clear();
    data_in_view_ = false;
    event_in_view_ = false;
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

void SseParser::own_views() {
    if (data_in_view_) {
        data_.assign(data_view_.data(), data_view_.size());
        data_.push_back('\n');
        data_in_view_ = false;
    }
    if (event_in_view_) {
        event_.assign(event_view_.data(), event_view_.size());
        event_in_view_ = false;
    }
}

bool SseParser::process_line(std::string_view line, bool in_input) {
    if (line.empty()) return true;       // blank line: end of event
    if (line[0] == ':') return false;    // comment / keepalive
    std::string_view field = line;
    std::string_view value;
    std::size_t colon;
    // "data:" and "event:" are nearly every line: no search for their colon.
    if (line.size() >= 5 && std::memcmp(line.data(), "data:", 5) == 0) colon = 4;
    else if (line.size() >= 6 && std::memcmp(line.data(), "event:", 6) == 0) colon = 5;
    else colon = line.find(':');
    if (colon != std::string_view::npos) {
        field = line.substr(0, colon);
        value = line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    }
    if (field == "data") {
        // Joined size so far, counting the "\n" after each line.
        const std::size_t joined = data_in_view_ ? data_view_.size() + 1 : data_.size();
        if (joined + value.size() + 1 > max_event_bytes_) {
            overflowed_ = true;
            return false;
        }
        if (!has_data_ && in_input) {
            data_view_ = value;  // the common single-line event: no copy
            data_in_view_ = true;
        } else {
            own_views();  // a second data line (or a line from line_): join in data_
            data_.append(value.data(), value.size());
            data_.push_back('\n');
        }
        has_data_ = true;
    } else if (field == "event") {
        if (in_input) {
            event_view_ = value;
            event_in_view_ = true;
        } else {
            event_.assign(value.data(), value.size());
            event_in_view_ = false;
        }
    } else if (field == "id") {
        if (value.find('\0') == std::string_view::npos) id_.assign(value.data(), value.size());
    }
    // "retry" and unknown fields are ignored, as the SSE spec says.
    return false;
}

namespace {

// "data: " lines for `data`: one per line of it (an event's data joined from
// several "data:" lines has newlines, and one line would lose the rest).
void append_data_lines(std::string& out, std::string_view data) {
    while (true) {
        // (memchr must not see an empty view's null pointer)
        const void* nl = data.empty() ? nullptr : std::memchr(data.data(), '\n', data.size());
        std::size_t len = nl == nullptr ? data.size()
                                        : static_cast<std::size_t>(static_cast<const char*>(nl) - data.data());
        out.append("data: ");
        out.append(data.data(), len);
        out.push_back('\n');
        if (nl == nullptr) break;
        data.remove_prefix(len + 1);
    }
    out.push_back('\n');
}

}  // namespace

void sse_append_event(std::string& out, std::string_view name, std::string_view data) {
    out.append("event: ");
    out.append(name.data(), name.size());
    out.push_back('\n');
    append_data_lines(out, data);
}

void sse_append_data(std::string& out, std::string_view data) { append_data_lines(out, data); }

std::size_t sse_first_event_end(std::string_view bytes) {
    const std::size_t n = bytes.size();
    // Past the line terminator (LF, CRLF or CR) starting at `at`.
    auto terminator_end = [&](std::size_t at) {
        return bytes[at] == '\r' && at + 1 < n && bytes[at + 1] == '\n' ? at + 2 : at + 1;
    };
    for (std::size_t i = 0; i < n; ++i) {
        if (bytes[i] != '\n' && bytes[i] != '\r') continue;
        std::size_t next = terminator_end(i);
        if (next < n && (bytes[next] == '\n' || bytes[next] == '\r')) return terminator_end(next);
        i = next - 1;
    }
    return n;
}

}  // namespace llmproxy
