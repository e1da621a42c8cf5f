#include "spec_limits.hpp"

#include <cstdio>
#include <vector>

#include <nlohmann/json.hpp>

#include "duration.hpp"
#include "names.hpp"

namespace sharedserver {

namespace {

std::unexpected<Error> not_utf8(const std::string &what, const std::string &text, std::size_t at, std::string key = {}) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(text[at]));
    return std::unexpected(Error{SHAREDSERVER_EINVALID,
                                 what + " is not valid UTF-8 (byte " + byte + " at offset " + std::to_string(at) +
                                     "): records are JSON text and cannot keep such bytes; pass them in a file",
                                 0, {}, std::move(key)});
}

// The size of `text` as a JSON string in a record.
std::size_t stored_size(const std::string &text) {
    return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size();
}

std::string kib(std::size_t bytes) { return std::to_string(bytes / 1024) + " KiB"; }

struct Part {
    std::string what;   // "argument 3 of the command"
    std::string group;  // "command", "env", ...
    const std::string *text;
    const char *key;    // the definition key it comes from
};

// " of \"web\"", or nothing for a definition not yet given a name.
std::string of_name(const std::string &name) { return name.empty() ? "" : " of " + quote(name); }

Status check_duration(const char *what, const char *key, int64_t ms, const std::string &name) {
    if (ms <= max_duration_ms) return {};
    return std::unexpected(Error{SHAREDSERVER_EINVALID,
                                 "invalid " + std::string(what) + of_name(name) + ": " + std::to_string(ms) +
                                     " ms is longer than the longest duration (" + std::to_string(max_duration_ms) + " ms)",
                                 0, {}, key});
}

}  // namespace

std::size_t invalid_utf8_at(const std::string &text) {
    const auto *s = reinterpret_cast<const unsigned char *>(text.data());
    const std::size_t n = text.size();
    std::size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t length;
        uint32_t code, min;
        if ((c & 0xE0) == 0xC0) length = 2, code = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0) length = 3, code = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0) length = 4, code = c & 0x07, min = 0x10000;
        else return i;
        if (i + length > n) return i;
        for (std::size_t k = 1; k < length; ++k) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            code = (code << 6) | (s[i + k] & 0x3F);
        }
        if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return i;
        i += length;
    }
    return std::string::npos;
}

Status check_spec_limits(const ServerSpec &spec, const std::string &name) {
    const std::string of = of_name(name);
    std::vector<Part> parts;
    for (std::size_t i = 0; i < spec.argv.size(); ++i)
        parts.push_back({i == 0 ? "the program" : "argument " + std::to_string(i) + " of the command", "command",
                         &spec.argv[i], "command"});
    for (std::size_t i = 0; i < spec.env.size(); ++i)
        parts.push_back({"env entry " + std::to_string(i + 1), "env", &spec.env[i], "env"});
    parts.push_back({"the working dir", "working dir", &spec.working_dir, "working_dir"});
    parts.push_back({"the log file", "log file", &spec.log_file, "log_file"});
    parts.push_back({"the readiness target", "readiness target", &spec.ready.target, "ready"});
    parts.push_back({"the liveness target", "liveness target", &spec.liveness.probe.target, "liveness"});

    std::size_t total = 0;
    std::vector<std::pair<std::string, std::size_t>> groups;  // in order of first appearance
    const Part *largest = nullptr;
    std::size_t largest_size = 0;
    for (const Part &part : parts) {
        if (std::size_t at = invalid_utf8_at(*part.text); at != std::string::npos) return not_utf8(part.what + of, *part.text, at, part.key);
        // JSON's "\u0000" reaches here intact; exec and open would cut the
        // text at it and run or write something other than what was asked.
        if (part.text->find('\0') != std::string::npos)
            return std::unexpected(Error{SHAREDSERVER_EINVALID,
                                         part.what + of + " contains a NUL byte (\\u0000), which no C string can carry",
                                         0, {}, part.key});
        std::size_t size = stored_size(*part.text);
        total += size;
        if (groups.empty() || groups.back().first != part.group) groups.push_back({part.group, 0});
        groups.back().second += size;
        if (size > largest_size) largest = &part, largest_size = size;
    }
    if (total > max_definition_size) {
        auto biggest = groups.front();
        for (const auto &g : groups)
            if (g.second > biggest.second) biggest = g;
        const char *key = "command";
        for (const Part &part : parts)
            if (part.group == biggest.first) key = part.key;
        return std::unexpected(Error{SHAREDSERVER_EINVALID,
                    "the definition" + of + " is too large: its " + biggest.first + " takes " +
                        std::to_string(biggest.second) + " bytes (" + largest->what + " alone " +
                        std::to_string(largest_size) + "), and the command, env, working dir, log file and readiness "
                        "target may take " + kib(max_definition_size) + " together; pass large data in a file", 0, {}, key});
    }
    if (spec.restart.max_restarts > max_restarts_limit)
        return std::unexpected(Error{SHAREDSERVER_EINVALID,
                                     "invalid max restarts " + std::to_string(spec.restart.max_restarts) + of +
                                         ": expected a number from 0 to " + std::to_string(max_restarts_limit),
                                     0, {}, "max_restarts"});
    if (auto s = check_duration("grace period", "idle_timeout", spec.grace_period_ms, name); !s) return s;
    if (auto s = check_duration("readiness timeout", "ready.timeout", spec.ready.timeout_ms, name); !s) return s;
    if (auto s = check_duration("readiness interval", "ready.interval", spec.ready.interval_ms, name); !s) return s;
    if (auto s = check_duration("liveness timeout", "liveness.timeout", spec.liveness.probe.timeout_ms, name); !s) return s;
    if (auto s = check_duration("liveness interval", "liveness.interval", spec.liveness.probe.interval_ms, name); !s) return s;
    if (auto s = check_duration("restart window", "restart_window", spec.restart.window_ms, name); !s) return s;
    return {};
}

Status check_metadata(const std::string &metadata) {
    if (std::size_t at = invalid_utf8_at(metadata); at != std::string::npos)
        return not_utf8("the client's metadata", metadata, at);
    if (metadata.size() > max_metadata_size)
        return fail(SHAREDSERVER_EINVALID, "the client's metadata is " + std::to_string(metadata.size()) +
                                               " bytes; it may take " + std::to_string(max_metadata_size) +
                                               " (keep a short label there, and larger data in a file)");
    return {};
}

}  // namespace sharedserver
