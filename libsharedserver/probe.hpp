// Readiness probes as clients see them: validated when a client asks (so a
// bad URL or port fails before anything starts) and described for people.
// The watcher runs them (probe_runner.hpp); a log pattern is compiled there,
// by the engine that matches it, when the server is started.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "error.hpp"
#include "records.hpp"

namespace sharedserver {

inline constexpr int64_t default_ready_timeout_ms = 30'000;

// Checks the probe a client asked for and fills in its defaults. `key`:
// where the definition holds it ("ready", or "liveness"), which errors name.
Status normalize_probe(ReadyProbe &probe, bool has_port, const std::string &key = "ready");

// "port 6379", "http://127.0.0.1:8000/health", "log /ready/", ...
std::string describe_probe(const ReadyProbe &probe);

int64_t default_probe_interval_ms(int kind);

struct HttpUrl {
    std::string host, port, path;
};

// http://host[:port][/path]; the port may still be "{port}".
std::optional<HttpUrl> parse_http_url(const std::string &url);

// The current size of a file (0 when missing).
int64_t file_size(const std::string &path);

}  // namespace sharedserver
