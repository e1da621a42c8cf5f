#include "definition.hpp"

#include <algorithm>
#include <climits>
#include <functional>
#include <map>
#include <unistd.h>

#include "duration.hpp"
#include "enums.hpp"
#include "lifecycle.hpp"
#include "names.hpp"
#include "probe.hpp"
#include "spec_limits.hpp"

namespace sharedserver {

using nlohmann::json;

namespace {

constexpr int64_t default_max_restarts = 5;
constexpr int64_t default_restart_window_ms = 60'000;
constexpr int64_t max_size_bytes = int64_t{1} << 50;
constexpr int64_t default_liveness_interval_ms = 10'000;
constexpr int64_t default_liveness_timeout_ms = 5'000;
constexpr int default_liveness_failures = 3;
// Each attempt is a wake-up of the watcher (and a process for cmd): faster
// than this is busy-waiting, not watching.
constexpr int64_t min_liveness_interval_ms = 100;
constexpr int max_liveness_failures = 100;

std::unexpected<Error> bad(const std::string &key, const std::string &what) {
    // Keys come from the caller's document: no raw control characters on a terminal.
    std::string path = escape_controls(key);
    // An empty key is named as one: `"": unknown option`, not `: unknown option`.
    if (path.empty() || path.back() == '.') path += "\"\"";
    return std::unexpected(Error{SHAREDSERVER_EINVALID, path + ": " + escape_controls(what), 0, {}, path});
}

std::string type_of(const json &value) { return value.type_name(); }

// A JSON integer within [min, max], whether nlohmann stored it signed or unsigned.
bool integer_within(const json &value, int64_t min, int64_t max) {
    if (!value.is_number_integer()) return false;
    if (value.is_number_unsigned()) return value.get<uint64_t>() <= static_cast<uint64_t>(max) && static_cast<int64_t>(value.get<uint64_t>()) >= min;
    return value.get<int64_t>() >= min && value.get<int64_t>() <= max;
}

Result<std::string> string_of(const json &value, const std::string &key) {
    if (!value.is_string()) return bad(key, "expected a string, got " + type_of(value));
    return value.get<std::string>();
}

// Text ("30m") or a whole number of milliseconds.
Result<int64_t> duration_of(const json &value, const std::string &key) {
    if (value.is_number_integer()) {
        if (!integer_within(value, 0, max_duration_ms))
            return bad(key, value.dump() + " ms is not a duration from 0 to " + std::to_string(max_duration_ms) + " ms");
        return value.get<int64_t>();
    }
    if (!value.is_string())
        return bad(key, "expected a duration such as \"30m\" or a number of milliseconds, got " + type_of(value));
    auto ms = parse_duration(value.get<std::string>());
    if (!ms) return bad(key, quote(value.get<std::string>()) + " is not a duration (use e.g. 500ms, 90s, 30m, 2h30m)");
    return *ms;
}

Result<int> port_of(const json &value, const std::string &key) {
    if (value.is_string() && value.get<std::string>() == "auto") return SHAREDSERVER_PORT_AUTO;
    if (integer_within(value, 1, 65535)) return static_cast<int>(value.get<int64_t>());
    return bad(key, value.dump() + " is not a port: use \"auto\" or a number from 1 to 65535");
}

Result<int> enum_of(const json &value, const std::string &key, int kind, const char *what) {
    if (value.is_string())
        if (auto parsed = enum_parse(kind, value.get<std::string>())) return *parsed;
    return bad(key, value.dump() + " is not " + what + ": use " + enum_choices(kind));
}

Result<int> restart_policy_of(const json &value, const std::string &key) {
    return enum_of(value, key, SHAREDSERVER_ENUM_RESTART, "a restart policy");
}

Result<int> max_restarts_of(const json &value, const std::string &key) {
    if (!integer_within(value, 0, max_restarts_limit))
        return bad(key, value.dump() + " is not a count from 0 to " + std::to_string(max_restarts_limit));
    return static_cast<int>(value.get<int64_t>());
}

std::string absolute_from(const std::string &base, const std::string &path) {
    if (path.empty() || path.front() == '/') return path;
    if (!base.empty()) return base + "/" + path;
    char buf[PATH_MAX];
    return std::string(::getcwd(buf, sizeof buf) ? buf : "/") + "/" + path;
}

using Parser = std::function<Status(const json &value, Definition &def, const std::string &base_dir)>;

struct Key {
    DefinitionKeyInfo info;
    Parser parse;
};

Status read_command(const json &value, Definition &def, const std::string &) {
    std::vector<std::string> argv;
    if (value.is_string()) {
        argv.push_back(value.get<std::string>());
    } else if (value.is_array()) {
        for (std::size_t i = 0; i < value.size(); ++i) {
            auto word = string_of(value[i], "command[" + std::to_string(i) + "]");
            if (!word) return std::unexpected(word.error());
            argv.push_back(*word);
        }
    } else {
        return bad("command", "expected a string or a list of strings, got " + type_of(value));
    }
    if (argv.empty() || argv.front().empty()) return bad("command", "is empty: give the program to run");
    // "args" may come before or after "command" in the document.
    def.spec.argv.insert(def.spec.argv.begin(), argv.begin(), argv.end());
    return {};
}

Status read_args(const json &value, Definition &def, const std::string &) {
    if (!value.is_array()) return bad("args", "expected a list of strings, got " + type_of(value));
    for (std::size_t i = 0; i < value.size(); ++i) {
        auto arg = string_of(value[i], "args[" + std::to_string(i) + "]");
        if (!arg) return std::unexpected(arg.error());
        def.spec.argv.push_back(*arg);
    }
    return {};
}

Status read_env(const json &value, Definition &def, const std::string &) {
    if (!value.is_object()) return bad("env", "expected an object of strings, e.g. { \"DEBUG\": \"1\" }");
    for (auto &[var, text] : value.items()) {
        if (var.empty() || var.find('=') != std::string::npos) return bad("env", quote(var) + " is not a variable name");
        auto v = string_of(text, "env." + var);
        if (!v) return std::unexpected(v.error());
        def.spec.env.push_back(var + "=" + *v);
    }
    return {};
}

using ProbeKinds = std::vector<std::pair<const char *, int>>;

// A probe-kind key ("port", "http", ...) of a ready or liveness object: sets
// the probe's kind and target; false when the key is none of `kinds`.
Result<bool> read_probe_kind(const std::string &key, const json &value, const std::string &path,
                             const ProbeKinds &kinds, ReadyProbe &probe) {
    for (const auto &[kind_key, kind] : kinds) {
        if (key != kind_key) continue;
        probe.kind = kind;
        if (kind == SHAREDSERVER_PROBE_PORT) {
            if (value.is_boolean() && value.get<bool>()) return true;  // the server's own port
            auto p = port_of(value, path);
            if (!p) return std::unexpected(p.error());
            if (*p != SHAREDSERVER_PORT_AUTO) probe.target = std::to_string(*p);
        } else {
            auto text = string_of(value, path);
            if (!text) return std::unexpected(text.error());
            probe.target = *text;
        }
        return true;
    }
    return false;
}

// "timeout" or "interval" of a ready or liveness object; false for any other key.
Result<bool> read_probe_timing(const std::string &key, const json &value, const std::string &path, ReadyProbe &probe) {
    if (key != "timeout" && key != "interval") return false;
    auto ms = duration_of(value, path);
    if (!ms) return std::unexpected(ms.error());
    // 0 is how the spec says "the default": given here, it would be replaced silently.
    if (*ms <= 0) return bad(path, "must be longer than 0 (leave it out for the default)");
    (key == "timeout" ? probe.timeout_ms : probe.interval_ms) = *ms;
    return true;
}

Status read_ready(const json &ready, Definition &def, const std::string &) {
    if (!ready.is_object()) return bad("ready", "expected an object such as { \"port\": 6379 }");
    static const ProbeKinds kinds = {{"port", SHAREDSERVER_PROBE_PORT},
                                     {"socket", SHAREDSERVER_PROBE_SOCKET},
                                     {"http", SHAREDSERVER_PROBE_HTTP},
                                     {"cmd", SHAREDSERVER_PROBE_COMMAND},
                                     {"log", SHAREDSERVER_PROBE_LOG}};
    ReadyProbe &probe = def.spec.ready;
    int found = 0;
    for (auto &[key, value] : ready.items()) {
        const std::string path = "ready." + key;
        auto timing = read_probe_timing(key, value, path, probe);
        if (!timing) return std::unexpected(timing.error());
        if (*timing) continue;
        auto known = read_probe_kind(key, value, path, kinds, probe);
        if (!known) return std::unexpected(known.error());
        if (!*known) return bad(path, "unknown key (expected one of port, socket, http, cmd, log, and timeout, interval)");
        ++found;
    }
    if (found != 1) return bad("ready", "give exactly one of port, socket, http, cmd or log");
    return {};
}

Status read_liveness(const json &live, Definition &def, const std::string &) {
    if (!live.is_object()) return bad("liveness", "expected an object such as { \"http\": \"http://127.0.0.1:{port}/health\" }");
    static const ProbeKinds kinds = {{"port", SHAREDSERVER_PROBE_PORT},
                                     {"socket", SHAREDSERVER_PROBE_SOCKET},
                                     {"http", SHAREDSERVER_PROBE_HTTP},
                                     {"cmd", SHAREDSERVER_PROBE_COMMAND}};
    LivenessProbe &liveness = def.spec.liveness;
    ReadyProbe &probe = liveness.probe;
    int found = 0;
    for (auto &[key, value] : live.items()) {
        const std::string path = "liveness." + key;
        auto timing = read_probe_timing(key, value, path, probe);
        if (!timing) return std::unexpected(timing.error());
        if (*timing) continue;
        if (key == "failures") {
            if (!integer_within(value, 1, max_liveness_failures))
                return bad(path, value.dump() + " is not a count from 1 to " + std::to_string(max_liveness_failures));
            liveness.failures = static_cast<int>(value.get<int64_t>());
            continue;
        }
        if (key == "log")
            return bad(path, "a log pattern cannot show that a ready server still answers: use port, socket, http or cmd");
        auto known = read_probe_kind(key, value, path, kinds, probe);
        if (!known) return std::unexpected(known.error());
        if (!*known) return bad(path, "unknown key (expected one of port, socket, http, cmd, and interval, timeout, failures)");
        ++found;
    }
    if (found != 1) return bad("liveness", "give exactly one of port, socket, http or cmd");
    return {};
}

Status read_restart(const json &value, Definition &def, const std::string &) {
    RestartPolicy &restart = def.spec.restart;
    if (!value.is_object()) {
        auto mode = restart_policy_of(value, "restart");
        if (!mode) return std::unexpected(mode.error());
        restart.mode = *mode;
        return {};
    }
    // The project file's nested form: { "policy", "max_restarts", "window" }.
    for (auto &[key, item] : value.items()) {
        const std::string path = "restart." + key;
        if (key == "policy") {
            auto mode = restart_policy_of(item, path);
            if (!mode) return std::unexpected(mode.error());
            restart.mode = *mode;
        } else if (key == "max_restarts") {
            auto n = max_restarts_of(item, path);
            if (!n) return std::unexpected(n.error());
            restart.max_restarts = *n;
        } else if (key == "window") {
            auto ms = duration_of(item, path);
            if (!ms) return std::unexpected(ms.error());
            restart.window_ms = *ms;
        } else {
            return bad(path, "unknown key (expected policy, max_restarts, window)");
        }
    }
    return {};
}

Status read_log_max_size(const json &value, Definition &def, const std::string &) {
    if (value.is_number_integer()) {
        if (!integer_within(value, 0, max_size_bytes))
            return bad("log_max_size", value.dump() + " is not a size from 0 to " + std::to_string(max_size_bytes) + " bytes");
        def.spec.log_max_size = value.get<int64_t>();
        return {};
    }
    if (!value.is_string()) return bad("log_max_size", "expected a number of bytes or a size such as \"10M\", got " + type_of(value));
    auto bytes = parse_size(value.get<std::string>());
    if (!bytes) return bad("log_max_size", bytes.error().message);
    def.spec.log_max_size = *bytes;
    return {};
}

// At most this many: each one is a reference held and a lock taken per start.
constexpr std::size_t max_dependencies = 64;

Status read_depends_on(const json &value, Definition &def, const std::string &) {
    if (!value.is_array()) return bad("depends_on", "expected a list of server names, e.g. [\"postgres\"], got " + type_of(value));
    if (value.size() > max_dependencies)
        return bad("depends_on", std::to_string(value.size()) + " names is more than " + std::to_string(max_dependencies));
    std::vector<std::string> names;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const std::string key = "depends_on[" + std::to_string(i) + "]";
        auto name = string_of(value[i], key);
        if (!name) return std::unexpected(name.error());
        if (auto valid = validate_name(*name); !valid) return bad(key, valid.error().message);
        if (std::find(names.begin(), names.end(), *name) != names.end()) return bad(key, quote(*name) + " is named twice");
        names.push_back(*name);
    }
    def.spec.depends_on = std::move(names);
    return {};
}

Parser duration_into(int64_t ServerSpec::*field, std::string key) {
    return [field, key](const json &value, Definition &def, const std::string &) -> Status {
        auto ms = duration_of(value, key);
        if (!ms) return std::unexpected(ms.error());
        def.spec.*field = *ms;
        return {};
    };
}

Parser path_into(std::string ServerSpec::*field, std::string key, bool working_dir) {
    return [field, key, working_dir](const json &value, Definition &def, const std::string &base) -> Status {
        auto text = string_of(value, key);
        if (!text) return std::unexpected(text.error());
        if (text->empty()) return bad(key, "is empty: give a path, or leave the key out");
        def.spec.*field = absolute_from(base, *text);
        if (working_dir) def.working_dir_given = true;
        return {};
    };
}

Parser text_into(std::string Definition::*field, std::string key) {
    return [field, key](const json &value, Definition &def, const std::string &) -> Status {
        auto text = string_of(value, key);
        if (!text) return std::unexpected(text.error());
        def.*field = *text;
        return {};
    };
}

const std::vector<Key> &key_table() {
    static const std::vector<Key> table = {
        {{"command", "string|array", "", "The program (found in PATH unless it contains a /), or the whole argv as a list", ""},
         read_command},
        {{"args", "array", "[]", "Arguments after the command; {port} is replaced by the server's port", ""}, read_args},
        {{"env", "object", "{}", "Variables added to the inherited environment; {port} allowed in values", ""}, read_env},
        {{"working_dir", "string", "", "Where the server runs; relative to the project file (or the caller's directory)", ""},
         path_into(&ServerSpec::working_dir, "working_dir", true)},
        {{"log_file", "string", "", "The server's stdout and stderr; default <state dir>/<name>.log", ""},
         path_into(&ServerSpec::log_file, "log_file", false)},
        {{"idle_timeout", "duration", "5m", "The grace period after the last client leaves; 0s stops at once", ""},
         duration_into(&ServerSpec::grace_period_ms, "idle_timeout")},
        {{"grace_period", "duration", "5m", "Another name for idle_timeout", "idle_timeout"},
         duration_into(&ServerSpec::grace_period_ms, "grace_period")},
        {{"lazy", "boolean", "false", "Editors only attach when it already runs", ""},
         [](const json &value, Definition &def, const std::string &) -> Status {
             if (!value.is_boolean()) return bad("lazy", "expected true or false, got " + type_of(value));
             def.lazy = value.get<bool>();
             return {};
         }},
        {{"ready", "object", "", "The readiness probe: one of port, socket, http, cmd, log; and timeout (30s), interval", ""},
         read_ready},
        {{"port", "port", "", "\"auto\" (a free port picked at first start) or 1-65535; given as {port} and $SHAREDSERVER_PORT", ""},
         [](const json &value, Definition &def, const std::string &) -> Status {
             auto p = port_of(value, "port");
             if (!p) return std::unexpected(p.error());
             def.spec.port = *p;
             return {};
         }},
        {{"restart", "string|object", "no", "\"no\", \"on-failure\" or \"always\"; or {policy, max_restarts, window}", ""},
         read_restart},
        {{"max_restarts", "integer", "5", "Restarts within restart_window before the policy gives up (0-1000)", ""},
         [](const json &value, Definition &def, const std::string &) -> Status {
             auto n = max_restarts_of(value, "max_restarts");
             if (!n) return std::unexpected(n.error());
             def.spec.restart.max_restarts = *n;
             return {};
         }},
        {{"restart_window", "duration", "1m", "The window max_restarts counts in", ""},
         [](const json &value, Definition &def, const std::string &) -> Status {
             auto ms = duration_of(value, "restart_window");
             if (!ms) return std::unexpected(ms.error());
             def.spec.restart.window_ms = *ms;
             return {};
         }},
        {{"on_mismatch", "string", "warn",
          "When the running server has another definition: \"warn\" (attach), \"error\", or \"restart\" it", ""},
         [](const json &value, Definition &def, const std::string &) -> Status {
             auto mode = enum_of(value, "on_mismatch", SHAREDSERVER_ENUM_MISMATCH, "a mismatch mode");
             if (!mode) return std::unexpected(mode.error());
             def.on_mismatch = *mode;
             return {};
         }},
        {{"depends_on", "array", "[]",
          "Servers used (started, and ready) before this one and held while it runs; {port:NAME} and "
          "$SHAREDSERVER_NAME_PORT give their ports",
          ""},
         read_depends_on},
        {{"log_max_size", "size", "10M", "The log is copied to <log>.1 and emptied past this size (bytes, or \"10M\"); 0: never", ""},
         read_log_max_size},
        {{"liveness", "object", "",
          "Probed while ready: one of port, socket, http, cmd; interval (10s), timeout (5s) per attempt, "
          "failures (3) in a row restart the server per its policy",
          ""},
         read_liveness},
        // Upstream's config document (its camelCase names, issue 17).
        {{"gracePeriod", "duration", "5m", "Upstream's name for idle_timeout", "idle_timeout"},
         duration_into(&ServerSpec::grace_period_ms, "gracePeriod")},
        {{"logFile", "string", "", "Upstream's name for log_file", "log_file"},
         path_into(&ServerSpec::log_file, "logFile", false)},
        {{"metadata", "string", "", "Text stored with the client `up` attaches", ""},
         text_into(&Definition::metadata, "metadata")},
        {{"skip_if_env", "string", "",
          "`up` skips this server when this environment variable is non-empty (another host runs it)", ""},
         text_into(&Definition::skip_if_env, "skip_if_env")},
        {{"skipIfEnv", "string", "", "Upstream's name for skip_if_env", "skip_if_env"},
         text_into(&Definition::skip_if_env, "skipIfEnv")},
        {{"_scope", "string", "", "Who registered the entry (`config register --scope`); kept, not used to run", ""},
         text_into(&Definition::scope, "_scope")},
    };
    return table;
}

std::string known_keys() {
    std::string out;
    for (const auto &k : key_table()) out += (out.empty() ? "" : ", ") + k.info.key;
    return out;
}

}  // namespace

ServerSpec Definition::unset_spec() {
    ServerSpec spec;
    spec.grace_period_ms = -1;
    spec.ready.timeout_ms = -1;
    spec.ready.interval_ms = -1;
    spec.restart.max_restarts = -1;
    spec.restart.window_ms = -1;
    spec.log_max_size = -1;
    return spec;
}

const std::vector<DefinitionKeyInfo> &definition_keys() {
    static const std::vector<DefinitionKeyInfo> keys = [] {
        std::vector<DefinitionKeyInfo> out;
        for (const auto &k : key_table()) out.push_back(k.info);
        return out;
    }();
    return keys;
}

std::string definition_keys_json() {
    json out = json::array();
    for (const auto &k : definition_keys()) {
        json entry = {{"key", k.key}, {"type", k.type}, {"default", k.default_text}, {"doc", k.doc}};
        if (!k.alias_of.empty()) entry["alias_of"] = k.alias_of;
        out.push_back(std::move(entry));
    }
    return out.dump();
}

Result<int64_t> parse_size(const std::string &text) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    std::string unit = text.substr(digits);
    int64_t scale = unit.empty() || unit == "B" ? 1 : unit == "K" ? 1024 : unit == "M" ? 1024 * 1024 : unit == "G" ? 1024LL * 1024 * 1024 : -1;
    if (digits == 0 || digits > 16 || scale < 0 || std::stoll(text.substr(0, digits)) > max_size_bytes / scale)
        return fail(SHAREDSERVER_EINVALID, quote(text) + " is not a size: expected bytes or a number with K, M or G (e.g. 10M)");
    return std::stoll(text.substr(0, digits)) * scale;
}

Result<Definition> parse_definition(const json &doc, const std::string &base_dir, std::vector<std::string> *unknown_keys) {
    if (!doc.is_object()) return bad("definition", "expected an object with at least \"command\", got " + type_of(doc));
    Definition def;
    // Each key's names (idle_timeout, grace_period, gracePeriod) set one value:
    // which one won would depend on the order of the keys.
    std::map<std::string, std::string> given;
    for (auto &[key, value] : doc.items()) {
        const Key *entry = nullptr;
        for (const auto &k : key_table())
            if (k.info.key == key) entry = &k;
        if (!entry && unknown_keys) {
            unknown_keys->push_back(key);
            continue;
        }
        if (!entry) return bad(key, "unknown option (expected one of " + known_keys() + ")");
        const std::string &canonical = entry->info.alias_of.empty() ? entry->info.key : entry->info.alias_of;
        if (auto [it, fresh] = given.emplace(canonical, key); !fresh) {
            const std::string &alias = entry->info.alias_of.empty() ? it->second : key;
            const std::string &other = entry->info.alias_of.empty() ? key : it->second;
            return bad(alias, "is another name for " + other + ": give only one of them");
        }
        if (auto parsed = entry->parse(value, def, base_dir); !parsed) return std::unexpected(parsed.error());
    }
    // The nested restart form and the flat keys set the same values; which
    // one won would depend on the order of the keys.
    if (auto nested = doc.find("restart"); nested != doc.end() && nested->is_object())
        for (const auto &[flat, inner] : {std::pair{"max_restarts", "max_restarts"}, std::pair{"restart_window", "window"}})
            if (doc.contains(flat) && nested->contains(inner))
                return bad(flat, std::string("is also given as restart.") + inner + ": give only one of them");
    if (!doc.contains("command")) {
        if (!def.spec.argv.empty()) return bad("command", "missing: args are given, but no program to run");
        // No command: a definition that only attaches (sharedserver_use_definition).
    }
    if (auto valid = validate_definition(def.spec); !valid) return std::unexpected(valid.error());
    return def;
}

Result<Definition> parse_definition_text(const std::string &text, const std::string &base_dir) {
    json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded()) return bad("definition", "not valid JSON text");
    return parse_definition(doc, base_dir);
}

Status validate_liveness(const LivenessProbe &liveness, bool has_port) {
    if (liveness.probe.kind == SHAREDSERVER_PROBE_NONE) return {};
    if (liveness.probe.kind == SHAREDSERVER_PROBE_LOG)
        return bad("liveness.log", "a log pattern cannot show that a ready server still answers: use port, socket, http or cmd");
    ReadyProbe probe = liveness.probe;
    if (auto checked = normalize_probe(probe, has_port, "liveness"); !checked)
        return bad(checked.error().key.empty() ? "liveness" : checked.error().key, checked.error().message);
    if (liveness.probe.interval_ms > 0 && liveness.probe.interval_ms < min_liveness_interval_ms)
        return bad("liveness.interval", format_duration(liveness.probe.interval_ms) + " is too short: probe at most every " +
                                            format_duration(min_liveness_interval_ms));
    if (liveness.probe.timeout_ms < 0) return bad("liveness.timeout", "must be longer than 0 (leave it out for the default)");
    if (liveness.failures < 0 || liveness.failures > max_liveness_failures)
        return bad("liveness.failures", std::to_string(liveness.failures) + " is not a count from 1 to " +
                                            std::to_string(max_liveness_failures));
    return {};
}

Status validate_definition(const ServerSpec &spec, const std::string &name) {
    for (const auto &entry : spec.env) {
        auto eq = entry.find('=');
        if (eq == std::string::npos || eq == 0) return bad("env", "invalid environment entry " + quote(entry) + ": expected KEY=VALUE");
    }
    if (spec.port < SHAREDSERVER_PORT_AUTO || spec.port > 65535)
        return bad("port", "invalid port " + std::to_string(spec.port) + ": expected auto or a number from 1 to 65535");
    ReadyProbe probe = spec.ready;
    if (auto checked = normalize_probe(probe, spec.port != 0); !checked)
        return bad(checked.error().key.empty() ? "ready" : checked.error().key, checked.error().message);
    if (spec.restart.mode < SHAREDSERVER_RESTART_NO || spec.restart.mode > SHAREDSERVER_RESTART_ALWAYS)
        return bad("restart", "invalid restart policy " + std::to_string(spec.restart.mode) + ": expected no, on-failure or always");
    if (auto live = validate_liveness(spec.liveness, spec.port != 0); !live) return live;
    if (auto within = check_spec_limits(spec, name); !within) {
        // A named server's limits name the server and the part already.
        if (!name.empty()) return within;
        return bad(within.error().key, within.error().message);
    }
    return {};
}

ServerSpec with_defaults(ServerSpec spec) {
    if (spec.grace_period_ms < 0) spec.grace_period_ms = default_grace_period_ms;
    if (spec.restart.max_restarts < 0) spec.restart.max_restarts = default_max_restarts;
    if (spec.restart.window_ms < 0) spec.restart.window_ms = default_restart_window_ms;
    if (spec.log_max_size < 0) spec.log_max_size = default_log_max_size;
    if (spec.ready.kind != SHAREDSERVER_PROBE_NONE) {
        if (spec.ready.timeout_ms <= 0) spec.ready.timeout_ms = default_ready_timeout_ms;
        if (spec.ready.interval_ms <= 0) spec.ready.interval_ms = default_probe_interval_ms(spec.ready.kind);
    }
    LivenessProbe &live = spec.liveness;
    if (live.probe.kind == SHAREDSERVER_PROBE_NONE) {
        live = LivenessProbe{};
    } else {
        if (live.probe.interval_ms <= 0) live.probe.interval_ms = default_liveness_interval_ms;
        if (live.probe.timeout_ms <= 0) live.probe.timeout_ms = std::min(default_liveness_timeout_ms, live.probe.interval_ms);
        if (live.failures <= 0) live.failures = default_liveness_failures;
        if (live.probe.kind == SHAREDSERVER_PROBE_PORT && live.probe.target.empty()) live.probe.target = "{port}";
    }
    return spec;
}

json definition_to_json(const Definition &def) {
    const ServerSpec spec = with_defaults(def.spec);
    json out = json::object();
    if (!spec.argv.empty()) out["command"] = spec.argv;
    json env = json::object();
    for (const auto &entry : spec.env) {
        auto eq = entry.find('=');
        env[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    out["env"] = env;
    if (def.working_dir_given && !spec.working_dir.empty()) out["working_dir"] = spec.working_dir;
    if (!spec.log_file.empty()) out["log_file"] = spec.log_file;
    out["idle_timeout"] = format_duration(spec.grace_period_ms);
    out["lazy"] = def.lazy;
    if (spec.ready.kind != SHAREDSERVER_PROBE_NONE) {
        json ready = json::object();
        if (spec.ready.kind == SHAREDSERVER_PROBE_PORT && (spec.ready.target.empty() || spec.ready.target == "{port}"))
            ready["port"] = true;
        else if (spec.ready.kind == SHAREDSERVER_PROBE_PORT)
            ready["port"] = std::stoi(spec.ready.target);
        else
            ready[enum_name(SHAREDSERVER_ENUM_PROBE, spec.ready.kind)] = spec.ready.target;
        ready["timeout"] = format_duration(spec.ready.timeout_ms);
        ready["interval"] = format_duration(spec.ready.interval_ms);
        out["ready"] = ready;
    }
    if (spec.port == SHAREDSERVER_PORT_AUTO) out["port"] = "auto";
    else if (spec.port > 0) out["port"] = spec.port;
    out["restart"] = enum_name(SHAREDSERVER_ENUM_RESTART, spec.restart.mode);
    out["max_restarts"] = spec.restart.max_restarts;
    out["restart_window"] = format_duration(spec.restart.window_ms);
    out["on_mismatch"] = enum_name(SHAREDSERVER_ENUM_MISMATCH, def.on_mismatch);
    out["log_max_size"] = spec.log_max_size;
    if (!def.metadata.empty()) out["metadata"] = def.metadata;
    if (!def.skip_if_env.empty()) out["skip_if_env"] = def.skip_if_env;
    if (!def.scope.empty()) out["_scope"] = def.scope;
    if (const LivenessProbe &live = spec.liveness; live.probe.kind != SHAREDSERVER_PROBE_NONE) {
        json liveness = json::object();
        if (live.probe.kind == SHAREDSERVER_PROBE_PORT && (live.probe.target.empty() || live.probe.target == "{port}"))
            liveness["port"] = true;
        else if (live.probe.kind == SHAREDSERVER_PROBE_PORT)
            liveness["port"] = std::stoi(live.probe.target);
        else
            liveness[enum_name(SHAREDSERVER_ENUM_PROBE, live.probe.kind)] = live.probe.target;
        liveness["interval"] = format_duration(live.probe.interval_ms);
        liveness["timeout"] = format_duration(live.probe.timeout_ms);
        liveness["failures"] = live.failures;
        out["liveness"] = liveness;
    }
    if (!spec.depends_on.empty()) out["depends_on"] = spec.depends_on;
    return out;
}

}  // namespace sharedserver
