#include "project.hpp"

#include <cstdlib>
#include <regex>
#include <set>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "duration.hpp"
#include "files.hpp"
#include "names.hpp"

namespace sharedserver {

using nlohmann::json;

namespace {

std::string directory_of(const std::string &path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string current_directory() {
    char buf[PATH_MAX];
    return ::getcwd(buf, sizeof buf) ? std::string(buf) : std::string("/");
}

std::string absolute_from(const std::string &base, const std::string &path) {
    if (path.empty() || path.front() == '/') return path;
    return base + "/" + path;
}

std::string file_label(const std::string &path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Reads one server definition; every error names where it is.
class Reader {
public:
    Reader(std::string file, std::string name) : file_(std::move(file)), name_(std::move(name)) {}

    std::unexpected<Error> bad(const std::string &key, const std::string &what) const {
        // Keys and names come from the file: no raw control characters on the terminal.
        return fail(SHAREDSERVER_EINVALID,
                    escape_controls(file_ + ": servers." + name_ + (key.empty() ? "" : "." + key) + ": " + what), 0, file_);
    }

    Result<std::string> string(const json &value, const std::string &key) const {
        if (!value.is_string()) return bad(key, "expected a string, got " + std::string(value.type_name()));
        return value.get<std::string>();
    }

    Result<int64_t> duration(const json &value, const std::string &key) const {
        if (!value.is_string()) return bad(key, "expected a duration such as \"30m\", got " + std::string(value.type_name()));
        auto ms = parse_duration(value.get<std::string>());
        if (!ms) return bad(key, quote(value.get<std::string>()) + " is not a duration (use e.g. 500ms, 90s, 30m, 2h30m)");
        return *ms;
    }

    Result<int> port(const json &value, const std::string &key) const {
        if (value.is_string() && value.get<std::string>() == "auto") return SHAREDSERVER_PORT_AUTO;
        if (value.is_number_integer() && value.get<int64_t>() >= 1 && value.get<int64_t>() <= 65535)
            return static_cast<int>(value.get<int64_t>());
        return bad(key, value.dump() + " is not a port: use \"auto\" or a number from 1 to 65535");
    }

private:
    std::string file_, name_;
};

Status read_ready(const Reader &r, const json &ready, ServerSpec &spec) {
    if (!ready.is_object()) return r.bad("ready", "expected an object such as { \"port\": 6379 }");
    static const std::pair<const char *, int> kinds[] = {{"port", SHAREDSERVER_PROBE_PORT},
                                                         {"socket", SHAREDSERVER_PROBE_SOCKET},
                                                         {"http", SHAREDSERVER_PROBE_HTTP},
                                                         {"cmd", SHAREDSERVER_PROBE_COMMAND},
                                                         {"log", SHAREDSERVER_PROBE_LOG}};
    int found = 0;
    for (auto &[key, value] : ready.items()) {
        bool known = key == "timeout" || key == "interval";
        for (const auto &[kind_key, kind] : kinds) {
            if (key != kind_key) continue;
            known = true;
            ++found;
            spec.ready.kind = kind;
            if (kind == SHAREDSERVER_PROBE_PORT) {
                if (value.is_boolean() && value.get<bool>()) continue;  // the server's own port
                auto p = r.port(value, "ready.port");
                if (!p) return std::unexpected(p.error());
                if (*p != SHAREDSERVER_PORT_AUTO) spec.ready.target = std::to_string(*p);
            } else {
                auto text = r.string(value, "ready." + key);
                if (!text) return std::unexpected(text.error());
                spec.ready.target = *text;
            }
        }
        if (!known) return r.bad("ready." + key, "unknown key (expected one of port, socket, http, cmd, log, and timeout, interval)");
    }
    if (found != 1) return r.bad("ready", "give exactly one of port, socket, http, cmd or log");
    if (ready.contains("timeout")) {
        auto ms = r.duration(ready["timeout"], "ready.timeout");
        if (!ms) return std::unexpected(ms.error());
        spec.ready.timeout_ms = *ms;
    }
    if (ready.contains("interval")) {
        auto ms = r.duration(ready["interval"], "ready.interval");
        if (!ms) return std::unexpected(ms.error());
        spec.ready.interval_ms = *ms;
    }
    return {};
}

Status read_restart(const Reader &r, const json &restart, ServerSpec &spec) {
    auto policy = [&](const json &value, const std::string &key) -> Status {
        static const std::pair<const char *, int> modes[] = {
            {"no", SHAREDSERVER_RESTART_NO}, {"on-failure", SHAREDSERVER_RESTART_ON_FAILURE}, {"always", SHAREDSERVER_RESTART_ALWAYS}};
        if (value.is_string())
            for (const auto &[text, mode] : modes)
                if (value.get<std::string>() == text) {
                    spec.restart.mode = mode;
                    return {};
                }
        return r.bad(key, value.dump() + " is not a restart policy: use \"no\", \"on-failure\" or \"always\"");
    };
    if (!restart.is_object()) return policy(restart, "restart");
    for (auto &[key, value] : restart.items()) {
        if (key == "policy") {
            if (auto s = policy(value, "restart.policy"); !s) return s;
        } else if (key == "max_restarts") {
            if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 1000)
                return r.bad("restart.max_restarts", value.dump() + " is not a count from 0 to 1000");
            spec.restart.max_restarts = static_cast<int>(value.get<int64_t>());
        } else if (key == "window") {
            auto ms = r.duration(value, "restart.window");
            if (!ms) return std::unexpected(ms.error());
            spec.restart.window_ms = *ms;
        } else {
            return r.bad("restart." + key, "unknown key (expected policy, max_restarts, window)");
        }
    }
    return {};
}

Result<ProjectServer> read_server(const std::string &file, const std::string &dir, const std::string &name,
                                  const json &def) {
    Reader r(file, name);
    if (auto valid = validate_name(name); !valid) return r.bad("", valid.error().message);
    if (!def.is_object()) return r.bad("", "expected an object with at least \"command\"");
    ProjectServer server;
    server.name = name;
    ServerSpec &spec = server.spec;
    spec.grace_period_ms = -1;
    spec.ready.timeout_ms = -1;
    spec.ready.interval_ms = -1;
    spec.restart.max_restarts = -1;
    spec.restart.window_ms = -1;
    if (!def.contains("command")) return r.bad("command", "missing: give the program to run");
    for (auto &[key, value] : def.items()) {
        if (key == "command") {
            auto command = r.string(value, key);
            if (!command) return std::unexpected(command.error());
            if (command->empty()) return r.bad(key, "is empty");
            spec.argv.insert(spec.argv.begin(), *command);
        } else if (key == "args") {
            if (!value.is_array()) return r.bad(key, "expected a list of strings");
            for (std::size_t i = 0; i < value.size(); ++i) {
                auto arg = r.string(value[i], "args[" + std::to_string(i) + "]");
                if (!arg) return std::unexpected(arg.error());
                spec.argv.push_back(*arg);
            }
        } else if (key == "env") {
            if (!value.is_object()) return r.bad(key, "expected an object of strings, e.g. { \"DEBUG\": \"1\" }");
            for (auto &[var, text] : value.items()) {
                if (var.empty() || var.find('=') != std::string::npos) return r.bad("env", quote(var) + " is not a variable name");
                auto v = r.string(text, "env." + var);
                if (!v) return std::unexpected(v.error());
                spec.env.push_back(var + "=" + *v);
            }
        } else if (key == "working_dir") {
            auto wd = r.string(value, key);
            if (!wd) return std::unexpected(wd.error());
            spec.working_dir = absolute_from(dir, *wd);
        } else if (key == "log_file") {
            auto log = r.string(value, key);
            if (!log) return std::unexpected(log.error());
            spec.log_file = absolute_from(dir, *log);
        } else if (key == "idle_timeout") {
            auto ms = r.duration(value, key);
            if (!ms) return std::unexpected(ms.error());
            spec.grace_period_ms = *ms;
        } else if (key == "lazy") {
            if (!value.is_boolean()) return r.bad(key, "expected true or false");
            server.lazy = value.get<bool>();
        } else if (key == "ready") {
            if (auto s = read_ready(r, value, spec); !s) return std::unexpected(s.error());
        } else if (key == "port") {
            auto p = r.port(value, key);
            if (!p) return std::unexpected(p.error());
            spec.port = *p;
        } else if (key == "restart") {
            if (auto s = read_restart(r, value, spec); !s) return std::unexpected(s.error());
        } else {
            return r.bad(key, "unknown option (expected command, args, env, working_dir, log_file, idle_timeout, lazy, ready, port, restart)");
        }
    }
    if (spec.working_dir.empty()) spec.working_dir = dir;
    return server;
}

}  // namespace

const ProjectServer *Project::find(const std::string &name) const {
    for (const auto &server : servers)
        if (server.name == name) return &server;
    return nullptr;
}

Result<std::optional<std::string>> find_project_file(const std::string &explicit_path, const std::string &start_dir) {
    std::string given = explicit_path;
    if (given.empty())
        if (const char *env = std::getenv("SHAREDSERVER_CONFIG"); env && *env) given = env;
    if (!given.empty()) {
        std::string path = absolute_from(current_directory(), given);
        if (!file_exists(path))
            return fail(SHAREDSERVER_EINVALID, "project file " + quote(given) + " does not exist", ENOENT, path);
        return std::optional<std::string>{path};
    }
    std::string dir = start_dir.empty() ? current_directory() : absolute_from(current_directory(), start_dir);
    while (true) {
        std::string candidate = (dir == "/" ? "" : dir) + "/" + project_file_name;
        if (file_exists(candidate)) return std::optional<std::string>{candidate};
        if (dir == "/" || dir.empty()) return std::optional<std::string>{};
        dir = directory_of(dir);
    }
}

Result<Project> parse_project(const std::string &text, const std::string &path) {
    const std::string label = escape_controls(file_label(path));
    json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded())
        return fail(SHAREDSERVER_EINVALID, label + ": not valid JSON; check it with `python3 -m json.tool " + escape_controls(path) + "`", 0, path);
    if (!doc.is_object() || !doc.contains("servers") || !doc["servers"].is_object())
        return fail(SHAREDSERVER_EINVALID, label + ": expected an object with \"servers\": { \"<name>\": { \"command\": ... } }", 0, path);
    for (auto &[key, value] : doc.items())
        if (key != "servers" && key != "$schema")
            return fail(SHAREDSERVER_EINVALID, label + ": " + escape_controls(key) + ": unknown key (expected servers)", 0, path);
    Project project;
    project.path = path;
    std::string dir = directory_of(path);
    for (auto &[name, def] : doc["servers"].items()) {
        auto server = read_server(label, dir, name, def);
        if (!server) return std::unexpected(server.error());
        project.servers.push_back(std::move(*server));
    }
    return project;
}

Result<Project> load_project(const std::string &path) {
    auto text = read_small_file(path);
    if (!text) return std::unexpected(text.error());
    if (!*text) return fail(SHAREDSERVER_EINVALID, "project file " + quote(path) + " does not exist", ENOENT, path);
    return parse_project(**text, path);
}

}  // namespace sharedserver
