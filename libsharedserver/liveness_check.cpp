#include "liveness_check.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.hpp"
#include "duration.hpp"
#include "launch.hpp"
#include "probe.hpp"

namespace sharedserver {

namespace {

// One of the addresses a name resolved to, tried in order.
struct Address {
    sockaddr_storage addr{};
    socklen_t length = 0;
    int family = 0;
};

std::vector<Address> resolve(const std::string &host, const std::string &port, std::string &why) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *found = nullptr;
    std::vector<Address> out;
    if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
        why = "cannot resolve " + host + ": " + ::gai_strerror(rc);
        return out;
    }
    for (addrinfo *a = found; a; a = a->ai_next) {
        Address address;
        std::memcpy(&address.addr, a->ai_addr, a->ai_addrlen);
        address.length = a->ai_addrlen;
        address.family = a->ai_family;
        out.push_back(address);
    }
    ::freeaddrinfo(found);
    return out;
}

bool descriptor_ready(int fd, short events) {
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, 0) > 0;
}

}  // namespace

LivenessCheck::LivenessCheck(ReadyProbe probe, std::vector<std::string> env, std::string working_dir)
    : probe_(std::move(probe)), env_(std::move(env)), working_dir_(std::move(working_dir)) {}

LivenessCheck::~LivenessCheck() {
    if (command_ > 0) {
        // Our own unreaped child's group: its id cannot be anybody else's yet.
        ::kill(-command_, SIGKILL);
        while (::waitpid(command_, nullptr, 0) < 0 && errno == EINTR) {
        }
    }
    finish();
}

short LivenessCheck::events() const { return stage_ == Stage::connecting ? POLLOUT : POLLIN; }

void LivenessCheck::finish() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    command_ = 0;
    stage_ = Stage::idle;
    answer_.clear();
}

LivenessCheck::Outcome LivenessCheck::fail(std::string why) {
    why_ = std::move(why);
    finish();
    return Outcome::failed;
}

LivenessCheck::Outcome LivenessCheck::begin(int64_t deadline_ms) {
    finish();
    deadline_ms_ = deadline_ms;
    why_.clear();
    switch (probe_.kind) {
        case SHAREDSERVER_PROBE_PORT: return connect_to("127.0.0.1", probe_.target);
        case SHAREDSERVER_PROBE_HTTP: {
            auto url = parse_http_url(probe_.target);
            if (!url) return fail("bad URL " + probe_.target);
            return connect_to(url->host, url->port);
        }
        case SHAREDSERVER_PROBE_SOCKET: {
            // A Unix socket's connect does not wait: it is accepted into the
            // backlog, or refused.
            sockaddr_un addr{};
            addr.sun_family = AF_UNIX;
            std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", probe_.target.c_str());
            int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            if (fd < 0) return fail(std::string("socket: ") + std::strerror(errno));
            bool relative = probe_.target.front() != '/';
            if (relative && ::chdir(working_dir_.c_str()) != 0) {
                int err = errno;
                ::close(fd);
                return fail("cannot enter the working directory " + working_dir_ + ": " + std::strerror(err));
            }
            int rc = ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
            int err = errno;
            if (relative && ::chdir("/") != 0) {
            }
            ::close(fd);
            if (rc == 0) return Outcome::passed;
            if (err == EAGAIN) return fail("its backlog is full: nobody accepts connections");
            return fail(std::strerror(err));
        }
        case SHAREDSERVER_PROBE_COMMAND: return start_command();
        default: return Outcome::passed;
    }
}

// Tries the addresses in turn; the first that connects is the attempt's.
LivenessCheck::Outcome LivenessCheck::connect_to(const std::string &host, const std::string &port) {
    std::string why;
    auto addresses = resolve(host, port, why);
    if (addresses.empty()) return fail(why);
    for (const Address &a : addresses) {
        int fd = ::socket(a.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            why = std::strerror(errno);
            continue;
        }
        if (::connect(fd, reinterpret_cast<const sockaddr *>(&a.addr), a.length) == 0) {
            fd_ = fd;
            return connected();
        }
        if (errno == EINPROGRESS) {
            // Loopback has answered by now (no second wake-up of the
            // watcher); another host is waited for, and only the first
            // address that did not refuse at once is tried.
            fd_ = fd;
            stage_ = Stage::connecting;
            return descriptor_ready(fd, POLLOUT) ? connect_ended() : Outcome::pending;
        }
        why = std::strerror(errno);
        ::close(fd);
    }
    return fail(why);
}

// The non-blocking connect is over: connected, or why not.
LivenessCheck::Outcome LivenessCheck::connect_ended() {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return fail(std::strerror(err));
    return connected();
}

LivenessCheck::Outcome LivenessCheck::connected() {
    if (probe_.kind != SHAREDSERVER_PROBE_HTTP) {
        finish();
        return Outcome::passed;
    }
    auto url = parse_http_url(probe_.target);
    std::string request = "GET " + url->path + " HTTP/1.0\r\nHost: " + url->host +
                          "\r\nUser-Agent: sharedserver-liveness\r\nConnection: close\r\n\r\n";
    // A few hundred bytes into an empty socket buffer: never short.
    if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
        return fail(std::string("cannot send the request: ") + std::strerror(errno));
    stage_ = Stage::reading;
    return read_answer();
}

LivenessCheck::Outcome LivenessCheck::read_answer() {
    char buf[512];
    while (answer_.find("\r\n") == std::string::npos && answer_.size() < 4096) {
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (boot_now_ms() < deadline_ms_) return Outcome::pending;
            return fail("no answer within " + format_duration(probe_.timeout_ms));
        }
        if (n <= 0) break;
        answer_.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t space = answer_.find(' ');
    if (answer_.compare(0, 5, "HTTP/") != 0 || space == std::string::npos || answer_.size() < space + 4)
        return fail("no HTTP answer");
    int status = std::atoi(answer_.c_str() + space + 1);
    if (status >= 200 && status < 400) {
        finish();
        return Outcome::passed;
    }
    return fail("answered " + std::to_string(status));
}

// As the readiness command: from the server's working directory, with its
// environment and the client's limits, in its own process group (so a
// timeout kills what it started too), output to the server's log.
LivenessCheck::Outcome LivenessCheck::start_command() {
    pid_t pid = spawn_probe_command(probe_.target, env_, working_dir_);
    if (pid < 0) return fail(std::string("cannot fork: ") + std::strerror(errno));
    command_ = pid;
    stage_ = Stage::command;
    // Its end arrives as SIGCHLD on the watcher's signalfd: no descriptor.
    return command_ended(false);
}

LivenessCheck::Outcome LivenessCheck::command_ended(bool timed_out) {
    int status = 0;
    pid_t done = ::waitpid(command_, &status, WNOHANG);
    if (done != command_) {
        if (!timed_out) return Outcome::pending;
        ::kill(-command_, SIGKILL);
        while (::waitpid(command_, &status, 0) < 0 && errno == EINTR) {
        }
        command_ = 0;
        return fail("`" + probe_.target + "` took longer than " + format_duration(probe_.timeout_ms));
    }
    command_ = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        finish();
        return Outcome::passed;
    }
    return fail("`" + probe_.target + "` " +
                (WIFEXITED(status) ? "exited " + std::to_string(WEXITSTATUS(status))
                                   : "was killed by signal " + std::to_string(WTERMSIG(status))));
}

LivenessCheck::Outcome LivenessCheck::advance() {
    bool late = boot_now_ms() >= deadline_ms_;
    switch (stage_) {
        case Stage::connecting:
            if (!descriptor_ready(fd_, POLLOUT))
                return late ? fail("connect timed out after " + format_duration(probe_.timeout_ms)) : Outcome::pending;
            return connect_ended();
        case Stage::reading: return read_answer();
        case Stage::command: return command_ended(late);
        case Stage::idle: return Outcome::failed;
    }
    return Outcome::failed;
}

}  // namespace sharedserver
