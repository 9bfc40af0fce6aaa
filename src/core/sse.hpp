// Incremental Server-Sent Events framing (parser and writer helpers), shared
// by both stream encoders. The parser is fed arbitrary byte slices: a slice may
// end anywhere (inside a line, a JSON string or a UTF-8 sequence). It handles
// LF, CRLF and CR line ends, a leading UTF-8 BOM, comment lines, "data:" with
// or without the space, multi-line data joined with "\n", and a final event
// that is not followed by a blank line (at finish()).
//
// Buffers are members and are reused, so steady-state parsing does not touch
// the heap once they have grown to the size of the largest event. An event
// whose lines all lie inside one fed slice is not copied at all: its data and
// name are handed out as views into that slice. Only a line that spans feeds,
// a multi-line data field, or an event still open when a feed ends is copied.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace llmproxy {

// One dispatched event. The views point into the parser's buffers or into the
// slice being fed, and are valid only during the callback.
struct SseEvent {
    std::string_view event;  // "event:" field, empty when absent (SSE default "message")
    std::string_view data;   // all "data:" lines joined with "\n" (no trailing "\n")
    std::string_view id;     // "id:" field, empty when absent
};

class SseParser {
public:
    // `max_event_bytes` caps one line and one event's joined data; beyond it
    // the parser stops (overflowed() turns true) instead of growing forever.
    static constexpr std::size_t kDefaultMaxEventBytes = 32u * 1024u * 1024u;
    explicit SseParser(std::size_t max_event_bytes = kDefaultMaxEventBytes)
        : max_event_bytes_(max_event_bytes) {
        // Typical events fit: no growth (allocation) once streaming has begun.
        line_.reserve(kInitialBuffer);
        data_.reserve(kInitialBuffer);
        event_.reserve(kInitialEventName);
    }

    // Consumes `bytes`, calling on_event(const SseEvent&) for every complete
    // event. Returns false once the size cap has been exceeded (everything
    // after that is ignored).
    template <class OnEvent>
    bool feed(std::string_view bytes, OnEvent&& on_event);

    // End of input: a partial last line is processed as a line and a pending
    // event without a terminating blank line is dispatched.
    template <class OnEvent>
    bool finish(OnEvent&& on_event);

    bool overflowed() const { return overflowed_; }

    // Forget all state (buffers keep their capacity).
    void reset();

private:
    // Processes one complete line (without its terminator). Returns true when
    // the line was blank and an event is ready to dispatch. `in_input`: the
    // line points into the slice being fed (views of it may be kept until the
    // feed ends), not into line_.
    bool process_line(std::string_view line, bool in_input);
    // Copies views into the fed slice into the member buffers (a feed is
    // ending with the event still open).
    void own_views();
    template <class OnEvent>
    void dispatch(OnEvent& on_event);
    // Index of the first CR or LF at or after `pos` < bytes.size() (bytes.size() if none).
    // `next_cr` caches the index of the next CR (bytes.size() if none,
    // npos before the first call) across the calls of one feed.
    static std::size_t find_line_end(std::string_view bytes, std::size_t pos, std::size_t& next_cr);
    // Returns the number of leading BOM bytes consumed from `bytes`.
    std::size_t consume_bom(std::string_view bytes);

    static constexpr std::size_t kInitialBuffer = 512;
    static constexpr std::size_t kInitialEventName = 64;  // "content_block_delta" and the like
    std::size_t max_event_bytes_;
    std::string line_;   // partial line carried over between feeds
    std::string data_;   // joined data lines of the current event (with trailing "\n")
    std::string event_;  // event name of the current event
    std::string id_;     // last event id
    // The event's only data line / its name, still inside the fed slice
    // (used instead of data_ / event_ while the *_in_view_ flag is set).
    std::string_view data_view_;
    std::string_view event_view_;
    bool data_in_view_ = false;
    bool event_in_view_ = false;
    unsigned bom_matched_ = 0;   // bytes of the UTF-8 BOM seen at stream start
    bool bom_done_ = false;
    bool skip_lf_ = false;       // last line ended with CR: a following LF belongs to it
    bool has_data_ = false;      // at least one data line in the current event
    bool overflowed_ = false;
};

// Appends "event: <name>\ndata: <data>\n\n" (Anthropic style, named events).
void sse_append_event(std::string& out, std::string_view name, std::string_view data);

// Appends "data: <data>\n\n" (OpenAI style, unnamed events).
void sse_append_data(std::string& out, std::string_view data);

// Index just past the first blank line of `bytes` (the end of the first event
// that is complete in them), or bytes.size() when none is. A place to split a
// slice so its first event can be acted on before the rest: the parser takes
// any split, so a terminator cut in two ("\r" | "\n") only moves the split.
std::size_t sse_first_event_end(std::string_view bytes);

// ---- implementation of the templates (and the per-line helper) ------------

inline std::size_t SseParser::find_line_end(std::string_view bytes, std::size_t pos,
                                            std::size_t& next_cr) {
    const char* data = bytes.data();
    const std::size_t n = bytes.size();
    if (data[pos] == '\n' || data[pos] == '\r') return pos;  // blank line: no scan
    // Lines are long (whole JSON chunks) and terminators rare: libc memchr
    // scans a vector register at a time. CR line ends are rare in practice,
    // so the next CR is looked for once per feed and remembered until passed.
    if (next_cr == std::string_view::npos || next_cr < pos) {
        const void* cr = std::memchr(data + pos, '\r', n - pos);
        next_cr = cr != nullptr ? static_cast<std::size_t>(static_cast<const char*>(cr) - data) : n;
    }
    const void* lf = std::memchr(data + pos, '\n', next_cr - pos);
    return lf != nullptr ? static_cast<std::size_t>(static_cast<const char*>(lf) - data) : next_cr;
}

template <class OnEvent>
bool SseParser::feed(std::string_view bytes, OnEvent&& on_event) {
    if (overflowed_) return false;
    if (!bom_done_) {
        bytes.remove_prefix(consume_bom(bytes));
        if (!bom_done_) return true;  // all bytes so far were a BOM prefix
    }
    std::size_t pos = 0;
    const std::size_t n = bytes.size();
    if (skip_lf_ && n > 0) {
        if (bytes[0] == '\n') pos = 1;
        skip_lf_ = false;
    }
    std::size_t next_cr = std::string_view::npos;  // not looked for yet
    while (pos < n) {
        std::size_t end = find_line_end(bytes, pos, next_cr);
        if (end == n) {
            // Incomplete line: keep it for the next feed.
            if (line_.size() + (n - pos) > max_event_bytes_) {
                overflowed_ = true;
                return false;
            }
            line_.append(bytes.data() + pos, n - pos);
            break;
        }
        bool ready;
        if (line_.empty()) {
            ready = process_line(bytes.substr(pos, end - pos), true);  // zero-copy fast path
        } else {
            if (line_.size() + (end - pos) > max_event_bytes_) {
                overflowed_ = true;
                return false;
            }
            line_.append(bytes.data() + pos, end - pos);
            ready = process_line(line_, false);
            line_.clear();
        }
        if (overflowed_) return false;
        if (bytes[end] == '\r') {
            if (end + 1 < n) {
                if (bytes[end + 1] == '\n') ++end;
            } else {
                skip_lf_ = true;
            }
        }
        pos = end + 1;
        if (ready) dispatch(on_event);
    }
    own_views();  // `bytes` goes away when this feed returns
    return true;
}

template <class OnEvent>
bool SseParser::finish(OnEvent&& on_event) {
    if (overflowed_) return false;
    if (!bom_done_) {
        // Input was only a (partial) BOM: nothing to parse.
        bom_done_ = true;
        return true;
    }
    if (!line_.empty()) {
        bool ready = process_line(line_, false);
        line_.clear();
        if (overflowed_) return false;
        if (ready) dispatch(on_event);
    }
    if (has_data_) dispatch(on_event);
    return true;
}

template <class OnEvent>
void SseParser::dispatch(OnEvent& on_event) {
    if (has_data_) {
        std::string_view data;
        if (data_in_view_) {
            data = data_view_;
        } else {
            data = data_;
            data.remove_suffix(1);  // the "\n" appended after the last data line
        }
        on_event(SseEvent{event_in_view_ ? event_view_ : std::string_view(event_), data, id_});
    }
    data_.clear();
    event_.clear();
    data_in_view_ = false;
    event_in_view_ = false;
    has_data_ = false;
}

}  // namespace llmproxy
