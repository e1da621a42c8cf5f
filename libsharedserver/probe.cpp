#include "probe.hpp"

#include <sys/stat.h>
#include <sys/un.h>

#include "names.hpp"

namespace sharedserver {

namespace {

bool valid_port_text(const std::string &text) {
    if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos) return false;
    int port = std::stoi(text);
    return port >= 1 && port <= 65535;
}

}  // namespace

std::optional<HttpUrl> parse_http_url(const std::string &url) {
    const std::string scheme = "http://";
    if (url.compare(0, scheme.size(), scheme) != 0) return std::nullopt;
    std::string rest = url.substr(scheme.size());
    std::size_t slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    HttpUrl out;
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

Status normalize_probe(ReadyProbe &probe, bool has_port, const std::string &key) {
    const std::string noun = key == "ready" ? "readiness" : key;
    switch (probe.kind) {
        case SHAREDSERVER_PROBE_NONE:
            probe = ReadyProbe{};
            return {};
        case SHAREDSERVER_PROBE_PORT:
            if (probe.target.empty() || probe.target == "{port}") {
                if (!has_port)
                    return std::unexpected(Error{SHAREDSERVER_EINVALID,
                                                 "the port probe has no port: give it one, or give the server a port (\"auto\")",
                                                 0, {}, key + ".port"});
                probe.target = "{port}";
            } else if (!valid_port_text(probe.target)) {
                return std::unexpected(Error{SHAREDSERVER_EINVALID,
                                             "invalid " + noun + " port " + quote(probe.target) + ": expected a number from 1 to 65535",
                                             0, {}, key + ".port"});
            }
            break;
        case SHAREDSERVER_PROBE_SOCKET:
            if (probe.target.empty() || probe.target.size() >= sizeof(sockaddr_un{}.sun_path))
                return std::unexpected(Error{SHAREDSERVER_EINVALID,
                                             "invalid " + noun + " socket " + quote(probe.target) + ": expected a path of at most 107 bytes",
                                             0, {}, key + ".socket"});
            break;
        case SHAREDSERVER_PROBE_HTTP: {
            auto url = parse_http_url(probe.target);
            if (!url || (url->port != "{port}" && !valid_port_text(url->port)))
                return std::unexpected(Error{SHAREDSERVER_EINVALID,
                                             "invalid " + noun + " URL " + quote(probe.target) +
                                                 ": expected http://host[:port]/path (plain HTTP, e.g. http://127.0.0.1:8000/health)",
                                             0, {}, key + ".http"});
            if (url->port == "{port}" && !has_port)
                return std::unexpected(Error{SHAREDSERVER_EINVALID,
                                             "the " + noun + " URL " + quote(probe.target) +
                                                 " uses {port} but the server has no port: give it one (\"auto\")",
                                             0, {}, key + ".http"});
            break;
        }
        case SHAREDSERVER_PROBE_COMMAND:
            if (probe.target.empty())
                return std::unexpected(Error{SHAREDSERVER_EINVALID,
                                             "the " + noun + " command is empty: give a shell line such as 'redis-cli ping'", 0, {},
                                             key + ".cmd"});
            break;
        case SHAREDSERVER_PROBE_LOG:
            // Its syntax is checked by the watcher, which compiles it with
            // RE2 before it starts the server (see log_probe.hpp).
            if (probe.target.empty())
                return std::unexpected(Error{SHAREDSERVER_EINVALID,
                                             "the " + noun + " log pattern is empty: give a regex such as 'Ready to accept'", 0, {},
                                             key + ".log"});
            break;
        default:
            return fail(SHAREDSERVER_EINVALID, "unknown " + noun + " probe kind " + std::to_string(probe.kind));
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

}  // namespace sharedserver
