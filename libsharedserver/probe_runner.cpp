#include "probe_runner.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.hpp"
#include "launch.hpp"

namespace sharedserver {

namespace {

constexpr int64_t attempt_timeout_ms = 1000;
constexpr int64_t command_attempt_timeout_ms = 10'000;

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

// A relative path is the server's: connected from its working directory,
// entered for the connect only (the watcher is single-threaded, and stays in
// / so it pins no mount). Joining the two could pass the 107-byte limit.
bool probe_socket(const std::string &path, const std::string &working_dir, std::string &why) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        why = std::strerror(errno);
        return false;
    }
    bool relative = !path.empty() && path.front() != '/';
    if (relative && ::chdir(working_dir.c_str()) != 0) {
        why = "socket " + path + ": cannot enter the working directory " + working_dir + ": " + std::strerror(errno);
        ::close(fd);
        return false;
    }
    bool ok = ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
    if (!ok) why = "socket " + path + ": " + std::strerror(errno);
    if (relative && ::chdir("/") != 0) {
    }
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

// Run from the server's working directory, as the server's own shell line
// would be. Its output goes where the watcher's stdout and stderr go: the
// server's log pump, so what a failing health check says is in the log too.
bool probe_command(const std::string &line, const std::vector<std::string> &env, const std::string &working_dir,
                   std::string &why) {
    pid_t pid = spawn_probe_command(line, env, working_dir);
    if (pid < 0) {
        why = std::string("cannot fork: ") + std::strerror(errno);
        return false;
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

}  // namespace

ProbeRunner::ProbeRunner(ReadyProbe probe, std::string log_file, LogStart log_start, std::vector<std::string> env,
                         std::string working_dir)
    : probe_(std::move(probe)), log_file_(std::move(log_file)), env_(std::move(env)),
      working_dir_(std::move(working_dir)) {
    if (probe_.kind == SHAREDSERVER_PROBE_LOG) log_ = std::make_unique<LogProbe>(probe_.target, log_file_, log_start);
}

ProbeRunner::~ProbeRunner() = default;

ProbeRunner::Result ProbeRunner::attempt(std::string &why) {
    bool ready = false;
    switch (probe_.kind) {
        case SHAREDSERVER_PROBE_NONE: ready = true; break;
        case SHAREDSERVER_PROBE_PORT: ready = probe_port(probe_.target, why); break;
        case SHAREDSERVER_PROBE_SOCKET: ready = probe_socket(probe_.target, working_dir_, why); break;
        case SHAREDSERVER_PROBE_HTTP: ready = probe_http(probe_.target, why); break;
        case SHAREDSERVER_PROBE_COMMAND: ready = probe_command(probe_.target, env_, working_dir_, why); break;
        case SHAREDSERVER_PROBE_LOG:
            ready = log_->attempt();
            if (!ready) why = "no line of the log matched /" + probe_.target + "/";
            break;
    }
    return ready ? Result::ready : Result::not_yet;
}

}  // namespace sharedserver
