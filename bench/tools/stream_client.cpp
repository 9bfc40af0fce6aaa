// Client for scripts/bench.sh's one-connection runs: raw HTTP/1.1 over
// non-blocking sockets and one epoll loop, recording the arrival time of every
// SSE event (and of every whole response). Native (no runtime, no garbage
// collector) so that the client's own pauses do not land in the latency tail
// it measures.
//
// Latency mode (default): C persistent connections each send stream requests
// back to back for --duration seconds (or --count streams in total), then print
// one JSON line: streams/s, time to first event (TTFE), inter-event gaps, total
// stream time, all in microseconds. Streams sent in the first --warmup seconds
// are not recorded.
//
// Hold mode (--hold N): open N streams at once (ramped in batches), each on its
// own connection, wait until all finish; report how many completed cleanly and
// the peak number open at the same time. For the slow "drip" mock.
//
// A response counts as ok when its status is the expected one (200, or
// --expect-status) and, for an event stream, the body ends with a terminal
// event ("[DONE]" or "message_stop"). --invalid-key-header NAME sends header
// NAME with a well-formed but unknown key that changes on every request (1,024
// pre-built requests, round-robin): the auth-rejection flood.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

[[noreturn]] void die(const std::string &message) {
    std::fprintf(stderr, "stream-client: %s\n", message.c_str());
    std::exit(2);
}

std::int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

double us_between(std::int64_t from, std::int64_t to) { return static_cast<double>(to - from) / 1000.0; }

struct Options {
    std::string host, port = "80", target;  // target: path and query
    std::string body;
    std::vector<std::string> headers;
    std::vector<std::string> requests;  // whole requests, sent round-robin
    std::string invalid_key_header;
    int expect_status = 200;
    int conns = 1;
    double duration = 0, warmup = 0, timeout = 60, idle = 10;
    long count = 0, hold = 0, batch = 250, batch_ms = 20;
};

Options parse_args(int argc, char **argv) {
    Options o;
    std::string url;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) die("missing value for " + a);
            return argv[++i];
        };
        auto number = [&]() {
            std::string v = value();
            char *end = nullptr;
            double d = std::strtod(v.c_str(), &end);
            if (end == v.c_str() || *end != '\0' || !(d >= 0)) die("bad number for " + a + ": " + v);
            return d;
        };
        if (a == "--url") url = value();
        else if (a == "--body") {
            std::ifstream in(value(), std::ios::binary);
            if (!in) die("cannot read --body file");
            o.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        } else if (a == "--header") o.headers.push_back(value());
        else if (a == "--conns") o.conns = static_cast<int>(number());
        else if (a == "--duration") o.duration = number();
        else if (a == "--warmup") o.warmup = number();
        else if (a == "--count") o.count = static_cast<long>(number());
        else if (a == "--hold") o.hold = static_cast<long>(number());
        else if (a == "--batch") o.batch = static_cast<long>(number());
        else if (a == "--batch-ms") o.batch_ms = static_cast<long>(number());
        else if (a == "--timeout") o.timeout = number();
        else if (a == "--idle-timeout") o.idle = number();
        else if (a == "--expect-status") o.expect_status = static_cast<int>(number());
        else if (a == "--invalid-key-header") o.invalid_key_header = value();
        else die("unknown argument " + a);
    }
    if (url.empty() || o.body.empty()) die("--url and --body are required");
    if (o.hold == 0 && o.duration == 0 && o.count == 0) die("one of --duration, --count, --hold is required");
    if (o.conns < 1 || o.batch < 1) die("--conns and --batch must be at least 1");
    if (url.rfind("http://", 0) != 0) die("only http:// URLs are supported");
    std::string rest = url.substr(7);
    std::size_t slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    o.target = slash == std::string::npos ? "/" : rest.substr(slash);
    std::size_t colon = authority.rfind(':');
    o.host = authority.substr(0, colon);
    if (colon != std::string::npos) o.port = authority.substr(colon + 1);
    std::string head = "POST " + o.target + " HTTP/1.1\r\nHost: " + authority +
                       "\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\n";
    for (const auto &h : o.headers) head += h + "\r\n";
    const std::string tail = "Content-Length: " + std::to_string(o.body.size()) + "\r\n\r\n" + o.body;
    if (o.invalid_key_header.empty()) {
        o.requests.push_back(head + tail);
    } else {
        static constexpr std::string_view kBase62 =
            "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        std::uint64_t state = static_cast<std::uint64_t>(now_ns()) | 1;
        for (int i = 0; i < 1024; ++i) {
            std::string key = "sk-llmp-";
            for (int j = 0; j < 43; ++j) {
                state ^= state << 13, state ^= state >> 7, state ^= state << 17;  // xorshift64
                key += kBase62[state % kBase62.size()];
            }
            o.requests.push_back(head + o.invalid_key_header + ": " + key + "\r\n" + tail);
        }
    }
    return o;
}

// Incremental HTTP/1.1 response parser (status line, headers, then either a
// chunked or a Content-Length body) that counts SSE event boundaries (a blank
// line: "\n\n" or "\n\r\n") and reports each one with the read's arrival time.
class ResponseParser {
public:
    int status = 0;
    bool keep_alive = true;
    bool event_stream = false;
    long events = 0;

    // Feeds bytes; returns the number consumed when the response completed
    // within them, -1 when more are needed, -2 on a malformed response.
    template <class OnEvent>
    long feed(const char *p, std::size_t n, OnEvent &&on_event) {
        std::size_t i = 0;
        while (i < n) {
            if (state_ == State::kHead) {
                head_.append(p + i, n - i);
                std::size_t end = head_.find("\r\n\r\n");
                if (end == std::string::npos) return -1;
                i = n - (head_.size() - (end + 4));
                if (!parse_head(std::string_view(head_).substr(0, end))) return -2;
                if (!chunked_ && remaining_ == 0) return static_cast<long>(i);
                state_ = chunked_ ? State::kSize : State::kBody;
            } else if (state_ == State::kBody) {
                std::size_t take = std::min<std::size_t>(remaining_, n - i);
                body(p + i, take, on_event);
                i += take;
                remaining_ -= take;
                if (remaining_ == 0) {
                    if (!chunked_) return static_cast<long>(i);
                    state_ = State::kCrlf;
                    line_.clear();
                }
            } else {  // a line: chunk size, the CRLF after a chunk, or a trailer
                const void *nl = std::memchr(p + i, '\n', n - i);
                if (nl == nullptr) {
                    line_.append(p + i, n - i);
                    return -1;
                }
                std::size_t at = static_cast<std::size_t>(static_cast<const char *>(nl) - p);
                line_.append(p + i, at - i);
                i = at + 1;
                if (!line_.empty() && line_.back() == '\r') line_.pop_back();
                std::string line;
                line.swap(line_);
                if (state_ == State::kCrlf) {
                    state_ = State::kSize;
                } else if (state_ == State::kTrailer) {
                    if (line.empty()) return static_cast<long>(i);
                } else {
                    char *end = nullptr;
                    unsigned long size = std::strtoul(line.c_str(), &end, 16);
                    if (end == line.c_str()) return -2;
                    if (size == 0) {
                        state_ = State::kTrailer;
                    } else {
                        remaining_ = size;
                        state_ = State::kBody;
                    }
                }
            }
        }
        return -1;
    }

    // A whole answer: a stream that ended with its terminal event, or a
    // complete non-stream body.
    bool complete() const { return !event_stream || terminal(); }

    bool terminal() const {
        std::string_view t(tail_);
        return t.find("[DONE]") != std::string_view::npos || t.find("message_stop") != std::string_view::npos;
    }

private:
    enum class State { kHead, kBody, kSize, kCrlf, kTrailer };

    bool parse_head(std::string_view text) {
        std::size_t eol = text.find("\r\n");
        std::string_view status_line = text.substr(0, eol);
        if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") return false;
        status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
        keep_alive = status_line.substr(0, 8) != "HTTP/1.0";
        while (eol != std::string_view::npos) {
            text.remove_prefix(eol + 2);
            eol = text.find("\r\n");
            std::string_view line = text.substr(0, eol);
            std::size_t colon = line.find(':');
            if (colon == std::string_view::npos) continue;
            std::string name(line.substr(0, colon)), value(line.substr(colon + 1));
            for (auto *s : {&name, &value}) {
                std::transform(s->begin(), s->end(), s->begin(), [](unsigned char c) { return std::tolower(c); });
                s->erase(0, s->find_first_not_of(" \t"));
                s->erase(s->find_last_not_of(" \t") + 1);
            }
            if (name == "content-length") remaining_ = std::strtoul(value.c_str(), nullptr, 10);
            else if (name == "transfer-encoding" && value.find("chunked") != std::string::npos) chunked_ = true;
            else if (name == "connection") keep_alive = value != "close";
            else if (name == "content-type") event_stream = value.rfind("text/event-stream", 0) == 0;
        }
        return true;
    }

    template <class OnEvent>
    void body(const char *p, std::size_t n, OnEvent &on_event) {
        if (n == 0) return;
        for (const char *at = p; (at = static_cast<const char *>(std::memchr(at, '\n', p + n - at))); ++at) {
            std::size_t k = static_cast<std::size_t>(at - p);
            char before1 = k >= 1 ? p[k - 1] : prev1_;
            char before2 = k >= 2 ? p[k - 2] : (k == 1 ? prev1_ : prev2_);
            if (before1 == '\n' || (before1 == '\r' && before2 == '\n')) {
                ++events;
                on_event();
            }
        }
        prev2_ = n >= 2 ? p[n - 2] : prev1_;
        prev1_ = p[n - 1];
        // The last bytes of the body, for the terminal event check.
        tail_.append(p + (n > 64 ? n - 64 : 0), std::min<std::size_t>(n, 64));
        if (tail_.size() > 64) tail_.erase(0, tail_.size() - 64);
    }

    State state_ = State::kHead;
    std::string head_, line_, tail_;
    std::size_t remaining_ = 0;
    bool chunked_ = false;
    char prev1_ = 0, prev2_ = 0;  // the two body bytes before the current read
};

struct Stats {
    long ok = 0, served = 0, errors = 0, events_min = -1, events_max = 0, events = 0, peak_open = 0;
    std::map<std::string, long> error_kinds;
    std::vector<double> ttfe, gaps, total;
    void error(const std::string &kind) {
        ++errors;
        ++error_kinds[kind];
    }
};

struct Conn {
    int fd = -1;
    std::unique_ptr<ResponseParser> parser;
    const std::string *request = nullptr;  // the one in flight
    std::size_t sent = 0;                  // bytes of it written
    std::int64_t t0 = 0;           // request start (0: none in flight)
    std::int64_t first_at = 0, last_at = 0, last_io = 0;
    bool connected = false, counted_open = false, finished = false;
    bool watching_out = true;  // registered for EPOLLOUT (connecting, or a request waits)
};

class Client {
public:
    explicit Client(Options o) : opts_(std::move(o)) {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo *res = nullptr;
        if (getaddrinfo(opts_.host.c_str(), opts_.port.c_str(), &hints, &res) != 0 || res == nullptr) {
            die("cannot resolve " + opts_.host);
        }
        std::memcpy(&addr_, res->ai_addr, res->ai_addrlen);
        addrlen_ = res->ai_addrlen;
        family_ = res->ai_family;
        freeaddrinfo(res);
        epfd_ = epoll_create1(0);
        if (epfd_ < 0) die("epoll_create1 failed");
    }

    std::string latency_mode() {
        const std::int64_t begin = now_ns();
        record_from_ = begin + static_cast<std::int64_t>(opts_.warmup * 1e9);
        deadline_ = record_from_ + static_cast<std::int64_t>((opts_.duration > 0 ? opts_.duration : opts_.timeout) * 1e9);
        for (int c = 0; c < opts_.conns; ++c) {
            ++started_;
            open_conn();
        }
        loop([&] { return open_ == 0; });
        double secs = us_between(record_from_, now_ns()) / 1e6;
        std::ostringstream out;
        out << "{\"mode\":\"latency\",\"conns\":" << opts_.conns << ",\"warmup_s\":" << opts_.warmup
            << ",\"streams\":" << stats_.ok << ",\"errors\":" << stats_.errors << ",\"error_kinds\":" << kinds()
            << ",\"duration_s\":" << fixed(secs, 3) << ",\"streams_per_s\":" << fixed(stats_.ok / secs, 1)
            // With the warm-up: what the servers' CPU time over the whole run paid for.
            << ",\"served\":" << stats_.served << ",\"elapsed_s\":" << fixed(us_between(begin, now_ns()) / 1e6, 3)
            << ",\"events_per_stream\":{\"min\":" << (stats_.ok ? std::to_string(stats_.events_min) : "null")
            << ",\"max\":" << stats_.events_max << "},\"ttfe_us\":" << percentiles(stats_.ttfe, {50, 90, 99})
            << ",\"gap_us\":" << percentiles(stats_.gaps, {50, 99, 99.9})
            << ",\"total_us\":" << percentiles(stats_.total, {50, 99}) << "}";
        return out.str();
    }

    std::string hold_mode() {
        hold_ = true;
        const std::int64_t start = now_ns();
        deadline_ = INT64_MAX;
        long launched = 0;
        std::int64_t next_batch = start;
        loop([&] {
            if (launched < opts_.hold && now_ns() >= next_batch) {
                for (long j = 0; j < opts_.batch && launched < opts_.hold; ++j, ++launched) open_conn();
                next_batch = now_ns() + opts_.batch_ms * 1000000;
            }
            return launched == opts_.hold && open_ == 0;
        });
        std::ostringstream out;
        out << "{\"mode\":\"hold\",\"target\":" << opts_.hold << ",\"ok\":" << stats_.ok << ",\"errors\":" << stats_.errors
            << ",\"error_kinds\":" << kinds() << ",\"peak_open\":" << stats_.peak_open << ",\"events\":" << stats_.events
            << ",\"duration_s\":" << fixed(us_between(start, now_ns()) / 1e6, 3) << "}";
        return out.str();
    }

private:
    static std::string fixed(double v, int digits) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.*f", digits, v);
        std::string s = buf;
        // As JavaScript prints Number(v.toFixed(d)): no trailing zeros.
        if (s.find('.') != std::string::npos) {
            s.erase(s.find_last_not_of('0') + 1);
            if (s.back() == '.') s.pop_back();
        }
        return s;
    }

    std::string kinds() const {
        std::string s = "{";
        for (const auto &[k, v] : stats_.error_kinds) s += (s.size() > 1 ? ",\"" : "\"") + k + "\":" + std::to_string(v);
        return s + "}";
    }

    static std::string percentiles(std::vector<double> v, std::initializer_list<double> ps) {
        std::sort(v.begin(), v.end());
        std::string s = "{";
        for (double p : ps) {
            std::string key = "p" + fixed(p, 1);
            key.erase(std::remove(key.begin(), key.end(), '.'), key.end());
            if (s.size() > 1) s += ",";
            s += "\"" + key + "\":";
            if (v.empty()) {
                s += "null";
                continue;
            }
            long idx = static_cast<long>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) - 1;
            idx = std::clamp<long>(idx, 0, static_cast<long>(v.size()) - 1);
            s += std::to_string(std::lround(v[static_cast<std::size_t>(idx)]));
        }
        return s + "}";
    }

    // Latency mode: whether another stream may start.
    bool should_continue() {
        if (now_ns() >= deadline_) return false;
        if (opts_.count && started_ >= opts_.count) return false;
        ++started_;
        return true;
    }

    void open_conn() {
        auto c = std::make_unique<Conn>();
        c->fd = socket(family_, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0) {
            stats_.error(errno == EMFILE ? "EMFILE" : "socket");
            return;
        }
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->last_io = now_ns();
        if (connect(c->fd, reinterpret_cast<sockaddr *>(&addr_), addrlen_) < 0 && errno != EINPROGRESS) {
            stats_.error(errno == ECONNREFUSED ? "ECONNREFUSED" : "connect");
            ::close(c->fd);
            return;
        }
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
        ev.data.ptr = c.get();
        epoll_ctl(epfd_, EPOLL_CTL_ADD, c->fd, &ev);
        ++open_;
        conns_.push_back(std::move(c));
    }

    void send_request(Conn &c) {
        c.request = &opts_.requests[next_request_++ % opts_.requests.size()];
        c.parser = std::make_unique<ResponseParser>();
        c.first_at = 0;
        c.sent = 0;
        c.t0 = now_ns();
        write_some(c);
    }

    void write_some(Conn &c) {
        while (c.sent < c.request->size()) {
            ssize_t n = ::send(c.fd, c.request->data() + c.sent, c.request->size() - c.sent, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN) {
                    watch_writable(c, true);  // EPOLLOUT resumes
                    return;
                }
                close_conn(c, "write");
                return;
            }
            c.sent += static_cast<std::size_t>(n);
        }
        watch_writable(c, false);
    }

    // Readable always; writable only while connecting or while a request
    // waits on a full socket buffer (level-triggered, so not otherwise).
    void watch_writable(Conn &c, bool writable) {
        if (c.watching_out == writable) return;
        c.watching_out = writable;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP | (writable ? EPOLLOUT : 0u);
        ev.data.ptr = &c;
        epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
    }

    bool recorded(const Conn &c) const { return !hold_ && c.t0 >= record_from_; }

    // The connection closed, by the server or after an error. `kind` is what
    // to count when a stream was in flight (none: a clean close).
    void close_conn(Conn &c, const char *kind) {
        if (c.fd < 0) return;
        if (hold_) {
            if (!c.finished) {
                c.finished = true;
                stats_.error(kind ? kind : "closed");
            }
            if (c.counted_open) --holding_;
        } else if (c.t0 != 0) {
            stats_.error(kind ? kind : "closed");
        }
        epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr);
        ::close(c.fd);
        c.fd = -1;
        --open_;
        // Latency mode: a connection the server closed is replaced while
        // there is time left.
        if (!hold_ && should_continue()) open_conn();
    }

    void on_readable(Conn &c) {
        char buf[65536];
        for (;;) {
            ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
            if (n == 0) {
                close_conn(c, nullptr);
                return;
            }
            if (n < 0) {
                if (errno == EAGAIN) return;
                close_conn(c, errno == ECONNRESET ? "ECONNRESET" : "read");
                return;
            }
            const std::int64_t t = now_ns();
            c.last_io = t;
            if (!c.parser) {  // bytes with no request in flight
                close_conn(c, "unexpected_bytes");
                return;
            }
            if (hold_ && !c.counted_open) {
                c.counted_open = true;
                stats_.peak_open = std::max(stats_.peak_open, ++holding_);
            }
            long used = c.parser->feed(buf, static_cast<std::size_t>(n), [&] {
                if (hold_) {
                    ++stats_.events;
                } else if (c.first_at == 0) {
                    c.first_at = t;
                    if (recorded(c)) stats_.ttfe.push_back(us_between(c.t0, t));
                } else if (recorded(c)) {
                    stats_.gaps.push_back(us_between(c.last_at, t));
                }
                c.last_at = t;
            });
            if (used == -2) {
                close_conn(c, "parse");
                return;
            }
            if (used < 0) continue;
            if (!response_done(c, t)) return;
        }
    }

    // A complete response: count it, then send the next request or close.
    // Returns whether the connection is still open with a request in flight.
    bool response_done(Conn &c, std::int64_t t) {
        ResponseParser &p = *c.parser;
        bool ok = p.status == opts_.expect_status && p.complete();
        const std::string failure =
            ok ? "" : p.status == opts_.expect_status ? "unterminated" : "status_" + std::to_string(p.status);
        if (hold_) {
            c.finished = true;
            if (ok) ++stats_.ok;
            else stats_.error(failure);
            close_conn(c, nullptr);
            return false;
        }
        if (ok) {
            ++stats_.served;
            if (recorded(c)) {
                ++stats_.ok;
                stats_.total.push_back(us_between(c.t0, t));
                stats_.events_min = stats_.events_min < 0 ? p.events : std::min(stats_.events_min, p.events);
                stats_.events_max = std::max(stats_.events_max, p.events);
            }
        } else {
            stats_.error(failure);
        }
        c.t0 = 0;
        bool keep = p.keep_alive;
        c.parser.reset();
        if (keep && should_continue()) {
            send_request(c);
            return c.fd >= 0;
        }
        close_conn(c, nullptr);
        return false;
    }

    // Connections with nothing read for too long: a stalled stream (say, a
    // crash-looping server) counts as an error instead of holding the run.
    void check_timeouts() {
        const std::int64_t t = now_ns();
        const double limit_s = hold_ ? opts_.timeout : opts_.idle;
        // By index: closing a connection may open its replacement.
        for (std::size_t i = 0, n = conns_.size(); i < n; ++i) {
            Conn &c = *conns_[i];
            if (c.fd < 0 || t - c.last_io <= static_cast<std::int64_t>(limit_s * 1e9)) continue;
            if (!hold_ && c.t0 == 0) stats_.error("idle_timeout");  // not in flight: close_conn will not count it
            close_conn(c, hold_ ? "timeout" : "idle_timeout");
        }
        conns_.erase(std::remove_if(conns_.begin(), conns_.end(), [](const auto &c) { return c->fd < 0; }),
                     conns_.end());
    }

    template <class Done>
    void loop(Done &&done) {
        epoll_event events[256];
        std::int64_t next_check = now_ns() + 100000000;
        const std::int64_t hard_stop = now_ns() + static_cast<std::int64_t>(
            (std::max(opts_.duration, 0.0) + opts_.warmup + opts_.timeout + 30) * 1e9);
        while (!done()) {
            if (now_ns() > hard_stop) die("hard timeout");
            int n = epoll_wait(epfd_, events, 256, hold_ ? static_cast<int>(std::max(1L, opts_.batch_ms)) : 100);
            if (n < 0 && errno != EINTR) die("epoll_wait failed");
            for (int i = 0; i < n; ++i) {
                Conn &c = *static_cast<Conn *>(events[i].data.ptr);
                if (c.fd < 0) continue;
                std::uint32_t ev = events[i].events;
                if (!c.connected && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
                    int err = 0;
                    socklen_t len = sizeof err;
                    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
                    if (err != 0) {
                        stats_.error(err == ECONNREFUSED ? "ECONNREFUSED" : "connect");
                        c.finished = true;  // counted: close_conn counts nothing more
                        close_conn(c, nullptr);
                        continue;
                    }
                    c.connected = true;
                    send_request(c);
                    if (c.fd < 0) continue;
                }
                if (c.connected && c.request != nullptr && c.sent < c.request->size() && (ev & EPOLLOUT)) {
                    write_some(c);
                }
                if (c.fd >= 0 && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) on_readable(c);
            }
            if (now_ns() >= next_check) {
                check_timeouts();
                next_check = now_ns() + 100000000;
            }
        }
    }

    Options opts_;
    sockaddr_storage addr_{};
    socklen_t addrlen_ = 0;
    int family_ = AF_INET;
    int epfd_ = -1;
    bool hold_ = false;
    std::vector<std::unique_ptr<Conn>> conns_;
    long open_ = 0, holding_ = 0, started_ = 0;
    std::size_t next_request_ = 0;
    std::int64_t record_from_ = 0, deadline_ = 0;
    Stats stats_;
};

}  // namespace

int main(int argc, char **argv) {
    Options opts = parse_args(argc, argv);
    // Held streams need a descriptor each: take the hard limit.
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    bool hold = opts.hold > 0;
    Client client(std::move(opts));
    std::string result = hold ? client.hold_mode() : client.latency_mode();
    std::printf("%s\n", result.c_str());
    return 0;
}
