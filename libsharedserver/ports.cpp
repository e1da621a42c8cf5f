#include "ports.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sharedserver {

Result<int> allocate_free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail_errno(SHAREDSERVER_ERROR, "cannot open a socket to pick a port", "", errno);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0) {
        int err = errno;
        ::close(fd);
        return fail_errno(SHAREDSERVER_ERROR, "cannot pick a free port on 127.0.0.1", "", err);
    }
    ::close(fd);
    return static_cast<int>(ntohs(addr.sin_port));
}

std::string substitute_port(const std::string &text, int port) {
    static const std::string placeholder = "{port}";
    std::string out;
    std::size_t from = 0;
    while (true) {
        std::size_t at = text.find(placeholder, from);
        if (at == std::string::npos) break;
        out.append(text, from, at - from);
        out += std::to_string(port);
        from = at + placeholder.size();
    }
    out.append(text, from, std::string::npos);
    return out;
}

ServerSpec spec_for_port(const ServerSpec &spec, int port) {
    if (port <= 0) return spec;
    ServerSpec out = spec;
    for (auto &arg : out.argv) arg = substitute_port(arg, port);
    for (auto &entry : out.env) entry = substitute_port(entry, port);
    out.env.push_back("SHAREDSERVER_PORT=" + std::to_string(port));
    out.ready.target = substitute_port(out.ready.target, port);
    if (out.ready.kind == SHAREDSERVER_PROBE_PORT && out.ready.target.empty()) out.ready.target = std::to_string(port);
    ReadyProbe &live = out.liveness.probe;
    live.target = substitute_port(live.target, port);
    if (live.kind == SHAREDSERVER_PROBE_PORT && live.target.empty()) live.target = std::to_string(port);
    return out;
}

}  // namespace sharedserver
