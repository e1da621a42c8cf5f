#include "probe.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.hpp"
#include "names.hpp"

namespace sharedserver {

namespace {

constexpr int64_t attempt_timeout_ms = 1000;
constexpr int64_t command_attempt_timeout_ms = 10'000;

struct Url {
    std::string host, port, path;
};

std::optional<Url> parse_http_url(const std::string &url) {
    const std::string scheme = "http://";
    if (url.compare(0, scheme.size(), scheme) != 0) return std::nullopt;
    std::string rest = url.substr(scheme.size());
    std::size_t slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    Url out;
    out.path = slash == std::string::npos ? "/" : rest.substr(slash);
    if (authority.empty()) return std::nullopt;
    if (authority.front() == '[') {
        std::size_t close = authority.find(']');
        if (close == std::string::npos) return std::nullopt;
        out.host = authority.substr(1, close - 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') return std::nullopt;
            out.port = authority.substr(close + 2);
        }
    } else {
        std::size_t colon = authority.rfind(':');
        out.host = authority.substr(0, colon);
        if (colon != std::string::npos) out.port = authority.substr(colon + 1);
    }
    if (out.port.empty()) out.port = "80";
    if (out.host.empty()) return std::nullopt;
    // {port} may stand for the allocated port until launch.
    if (out.port != "{port}" && out.port.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return out;
}

bool valid_port_text(const std::string &text) {
    if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos) return false;
    int port = std::stoi(text);
    return port >= 1 && port <= 65535;
}

// Waits for a non-blocking connect; true when it connected.
bool finish_connect(int fd, int64_t timeout_ms, std::string &why) {
    pollfd p{fd, POLLOUT, 0};
    int rc = ::poll(&p, 1, static_cast<int>(timeout_ms));
    if (rc <= 0) {
        why = "connect timed out";
        return false;
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
        why = std::strerror(err);
        return false;
    }
    return true;
}

int connect_tcp(const std::string &host, const std::string &port, std::string &why) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *found = nullptr;
    if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
        why = std::string("cannot resolve ") + host + ": " + ::gai_strerror(rc);
        return -1;
    }
    int result = -1;
    for (addrinfo *a = found; a && result < 0; a = a->ai_next) {
        int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) continue;
        if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0 ||
            (errno == EINPROGRESS && finish_connect(fd, attempt_timeout_ms, why))) {
            result = fd;
        } else {
            if (errno != EINPROGRESS) why = std::strerror(errno);
            ::close(fd);
        }
    }
    ::freeaddrinfo(found);
    return result;
}

bool probe_port(const std::string &port, std::string &why) {
    int fd = connect_tcp("127.0.0.1", port, why);
    if (fd < 0) {
        why = "port " + port + ": " + why;
        return false;
    }
    ::close(fd);
    return true;
}

bool probe_socket(const std::string &path, std::string &why) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        why = std::strerror(errno);
        return false;
    }
    bool ok = ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
    if (!ok) why = "socket " + path + ": " + std::strerror(errno);
    ::close(fd);
    return ok;
}

bool probe_http(const std::string &url, std::string &why) {
    auto parsed = parse_http_url(url);
    if (!parsed) {
        why = "bad URL " + url;
        return false;
    }
    int fd = connect_tcp(parsed->host, parsed->port, why);
    if (fd < 0) {
        why = url + ": " + why;
        return false;
    }
    std::string request = "GET " + parsed->path + " HTTP/1.0\r\nHost: " + parsed->host +
                          "\r\nUser-Agent: sharedserver-probe\r\nConnection: close\r\n\r\n";
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string answer;
    int64_t deadline = monotonic_now_ms() + attempt_timeout_ms;
    char buf[512];
    while (answer.find("\r\n") == std::string::npos && answer.size() < 4096) {
        int64_t left = deadline - monotonic_now_ms();
        pollfd p{fd, POLLIN, 0};
        if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) break;
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        answer.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    // "HTTP/1.x NNN reason"
    std::size_t space = answer.find(' ');
    if (answer.compare(0, 5, "HTTP/") != 0 || space == std::string::npos || answer.size() < space + 4) {
        why = url + ": no HTTP answer";
        return false;
    }
    int status = std::atoi(answer.c_str() + space + 1);
    if (status >= 200 && status < 400) return true;
    why = url + " answered " + std::to_string(status);
    return false;
}

bool probe_command(const std::string &line, const std::string &log_file, const std::vector<std::string> &env,
                   std::string &why) {
    std::vector<std::string> env_copy = env;
    std::vector<char *> envp;
    for (auto &e : env_copy) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
        why = std::string("cannot fork: ") + std::strerror(errno);
        return false;
    }
    if (pid == 0) {
        int null_fd = ::open("/dev/null", O_RDWR);
        int log_fd = ::open(log_file.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0600);
        ::dup2(null_fd, 0);
        ::dup2(log_fd >= 0 ? log_fd : null_fd, 1);
        ::dup2(log_fd >= 0 ? log_fd : null_fd, 2);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::setpgid(0, 0);
        ::execle("/bin/sh", "sh", "-c", line.c_str(), static_cast<char *>(nullptr), envp.data());
        ::_exit(127);
    }
    int64_t deadline = monotonic_now_ms() + command_attempt_timeout_ms;
    int status = 0;
    while (true) {
        pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) break;
        if (monotonic_now_ms() > deadline) {
            ::kill(-pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            why = "`" + line + "` took longer than 10s";
            return false;
        }
        ::usleep(2000);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
    why = "`" + line + "` " +
          (WIFEXITED(status) ? "exited " + std::to_string(WEXITSTATUS(status))
                             : "was killed by signal " + std::to_string(WTERMSIG(status)));
    return false;
}

// Whether a {n,m} count or a \N back-reference in the pattern has more than
// 6 digits. GCC 12's std::regex reads those numbers into a long without an
// overflow check (undefined behaviour past 19 digits), then narrows them to
// an int (a{4294967297} would mean a{1}). None that long can make sense: a
// compiled pattern has at most 100000 states.
bool has_oversized_number(const std::string &pattern) {
    auto digits_from = [&](std::size_t i) {
        std::size_t end = i;
        while (end < pattern.size() && pattern[end] >= '0' && pattern[end] <= '9') ++end;
        return end - i;
    };
    bool in_braces = false;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        char c = pattern[i];
        if (c == '\\' && !in_braces) {
            if (digits_from(i + 1) > 6) return true;
            ++i;  // the escaped character: "\\{" is a literal brace
        } else if (c == '{' || (c == ',' && in_braces)) {
            in_braces = true;
            if (digits_from(i + 1) > 6) return true;
        } else if (c == '}') {
            in_braces = false;
        }
    }
    return false;
}

}  // namespace

int64_t file_size(const std::string &path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

int64_t default_probe_interval_ms(int kind) {
    switch (kind) {
        case SHAREDSERVER_PROBE_COMMAND: return 200;
        case SHAREDSERVER_PROBE_HTTP: return 20;
        default: return 10;  // a refused connect or a file read costs next to nothing
    }
}

Status normalize_probe(ReadyProbe &probe, bool has_port) {
    switch (probe.kind) {
        case SHAREDSERVER_PROBE_NONE:
            probe = ReadyProbe{};
            return {};
        case SHAREDSERVER_PROBE_PORT:
            if (probe.target.empty() || probe.target == "{port}") {
                if (!has_port)
                    return fail(SHAREDSERVER_EINVALID,
                                "the port probe has no port: give one (--ready-port 6379) or let the server have one (--port auto)");
                probe.target = "{port}";
            } else if (!valid_port_text(probe.target)) {
                return fail(SHAREDSERVER_EINVALID,
                            "invalid readiness port " + quote(probe.target) + ": expected a number from 1 to 65535");
            }
            break;
        case SHAREDSERVER_PROBE_SOCKET:
            if (probe.target.empty() || probe.target.size() >= sizeof(sockaddr_un{}.sun_path))
                return fail(SHAREDSERVER_EINVALID,
                            "invalid readiness socket " + quote(probe.target) + ": expected a path of at most 107 bytes");
            break;
        case SHAREDSERVER_PROBE_HTTP: {
            auto url = parse_http_url(probe.target);
            if (!url || (url->port != "{port}" && !valid_port_text(url->port)))
                return fail(SHAREDSERVER_EINVALID,
                            "invalid readiness URL " + quote(probe.target) +
                                ": expected http://host[:port]/path (plain HTTP, e.g. http://127.0.0.1:8000/health)");
            if (url->port == "{port}" && !has_port)
                return fail(SHAREDSERVER_EINVALID, "the readiness URL " + quote(probe.target) +
                                                       " uses {port} but the server has no port: add --port auto");
            break;
        }
        case SHAREDSERVER_PROBE_COMMAND:
            if (probe.target.empty())
                return fail(SHAREDSERVER_EINVALID, "the readiness command is empty: give a shell line (--ready-cmd 'redis-cli ping')");
            break;
        case SHAREDSERVER_PROBE_LOG:
            if (probe.target.empty())
                return fail(SHAREDSERVER_EINVALID, "the readiness log pattern is empty: give a regex (--ready-log 'Ready to accept')");
            if (has_oversized_number(probe.target))
                return fail(SHAREDSERVER_EINVALID, "invalid readiness log pattern " + quote(probe.target) +
                                                       ": a count or back-reference number longer than 6 digits");
            try {
                std::regex check(probe.target, std::regex::ECMAScript);
            } catch (const std::regex_error &e) {
                return fail(SHAREDSERVER_EINVALID,
                            "invalid readiness log pattern " + quote(probe.target) + ": " + e.what());
            }
            break;
        default:
            return fail(SHAREDSERVER_EINVALID, "unknown readiness probe kind " + std::to_string(probe.kind));
    }
    if (probe.timeout_ms < 0 || probe.timeout_ms == 0) probe.timeout_ms = default_ready_timeout_ms;
    if (probe.interval_ms <= 0) probe.interval_ms = default_probe_interval_ms(probe.kind);
    return {};
}

std::string describe_probe(const ReadyProbe &probe) {
    switch (probe.kind) {
        case SHAREDSERVER_PROBE_PORT: return "port " + probe.target;
        case SHAREDSERVER_PROBE_SOCKET: return "socket " + probe.target;
        case SHAREDSERVER_PROBE_HTTP: return "http " + probe.target;
        case SHAREDSERVER_PROBE_COMMAND: return "command `" + probe.target + "`";
        case SHAREDSERVER_PROBE_LOG: return "log /" + probe.target + "/";
        default: return "none";
    }
}

ProbeRunner::ProbeRunner(ReadyProbe probe, std::string log_file, int64_t log_offset, std::vector<std::string> env)
    : probe_(std::move(probe)), log_file_(std::move(log_file)), log_offset_(log_offset), env_(std::move(env)) {
    if (probe_.kind == SHAREDSERVER_PROBE_LOG) {
        try {
            pattern_ = std::make_unique<std::regex>(probe_.target, std::regex::ECMAScript);
        } catch (const std::regex_error &) {
        }
    }
}

// Only the first kLogLineMatched bytes of a line are matched: GCC's
// std::regex recurses once per character of the text (about 0.5 KiB of stack
// each), so one long line (minified JSON, a dump) would overflow the
// watcher's stack. Readiness messages are short.
constexpr std::size_t kLogLineMatched = 2048;

bool ProbeRunner::match_lines(std::string_view chunk) {
    while (!chunk.empty()) {
        const std::size_t newline = chunk.find('\n');
        const std::string_view piece = chunk.substr(0, newline);
        if (partial_line_.size() < kLogLineMatched)
            partial_line_.append(piece.substr(0, kLogLineMatched - partial_line_.size()));
        if (newline == std::string_view::npos) return false;  // the line goes on in the next read
        const bool matched = std::regex_search(partial_line_, *pattern_);
        partial_line_.clear();
        if (matched) return true;
        chunk.remove_prefix(newline + 1);
    }
    return false;
}

ProbeRunner::Result ProbeRunner::attempt(std::string &why) {
    bool ready = false;
    switch (probe_.kind) {
        case SHAREDSERVER_PROBE_NONE: ready = true; break;
        case SHAREDSERVER_PROBE_PORT: ready = probe_port(probe_.target, why); break;
        case SHAREDSERVER_PROBE_SOCKET: ready = probe_socket(probe_.target, why); break;
        case SHAREDSERVER_PROBE_HTTP: ready = probe_http(probe_.target, why); break;
        case SHAREDSERVER_PROBE_COMMAND: ready = probe_command(probe_.target, log_file_, env_, why); break;
        case SHAREDSERVER_PROBE_LOG: {
            why = "no line of the log matched /" + probe_.target + "/";
            if (!pattern_) break;
            int fd = ::open(log_file_.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) break;
            char buf[8192];
            ssize_t n;
            while (!ready && (n = ::pread(fd, buf, sizeof buf, log_offset_)) > 0) {
                log_offset_ += n;
                ready = match_lines(std::string_view(buf, static_cast<std::size_t>(n)));
            }
            ::close(fd);
            break;
        }
    }
    return ready ? Result::ready : Result::not_yet;
}

}  // namespace sharedserver
