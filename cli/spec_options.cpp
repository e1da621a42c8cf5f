#include "spec_options.hpp"

#include <cstdio>
#include <cstring>

#include "option_values.hpp"

namespace cli {

namespace {

// How a flag's text becomes a value of its definition key.
enum class As {
    text,        // a string as given: durations, paths, probe targets, enum names
    count,       // a number when it is all digits (ports, counts, bytes), else the text for the library to refuse
    ready_port,  // like count, and "auto" is the server's own port (true)
    env,         // KEY=VALUE, repeatable: one entry of the env object
    client,      // not part of the definition: the caller's own option
};

struct Flag {
    const char *name;
    const char *key;  // "ready.port": a key inside "ready"
    As as;
    int enum_kind;  // the names it takes come from the library's enum table; 0: any text
    const char *help;
};

// In --help order. Adding an option: one line here (and the core's table).
constexpr Flag flags[SpecArgs::flag_count] = {
    {"--grace-period", "idle_timeout", As::text, 0,
     "How long the server outlives its last client (500ms, 90s, 30m, 2h30m; 0s: stop at once; default 5m)"},
    {"--pid", "", As::client, 0, ""},
    {"--metadata", "", As::client, 0, "Free text stored with the client (shown by info)"},
    {"--env", "env", As::env, 0, "KEY=VALUE added to the server's inherited environment (repeatable)"},
    {"--log-file", "log_file", As::text, 0, "Where the server's stdout/stderr go (default <state dir>/<name>.log)"},
    {"--working-dir", "working_dir", As::text, 0, "The server's working directory (default: the current one)"},
    {"--ready-port", "ready.port", As::ready_port, 0, "Ready when a TCP connect to 127.0.0.1:N succeeds (`auto`: the --port)"},
    {"--ready-socket", "ready.socket", As::text, 0, "Ready when a connect to this Unix socket succeeds"},
    {"--ready-http", "ready.http", As::text, 0, "Ready when GET of this http:// URL answers 2xx or 3xx ({port} allowed)"},
    {"--ready-cmd", "ready.cmd", As::text, 0, "Ready when this shell line (sh -c) exits 0"},
    {"--ready-log", "ready.log", As::text, 0, "Ready when a new line of the server's output matches this RE2 regex"},
    {"--ready-timeout", "ready.timeout", As::text, 0, "Give up (and stop the server) when not ready within this (default 30s)"},
    {"--ready-interval", "ready.interval", As::text, 0,
     "Time between probe attempts (default: 10ms for ports and logs, 20ms for HTTP, 200ms for commands)"},
    {"--no-wait", "", As::client, 0, "Return as soon as the server is spawned, before it is ready"},
    {"--port", "port", As::count, 0,
     "`auto`: a free TCP port on 127.0.0.1 picked at first start, or a fixed N; {port} in the command and --env values is replaced by it, and the server gets SHAREDSERVER_PORT"},
    {"--restart", "restart", As::text, SHAREDSERVER_ENUM_RESTART,
     "Start the server again when it exits: no (default), on-failure or always"},
    {"--max-restarts", "max_restarts", As::count, 0, "Give up after this many restarts within the window (default 5)"},
    {"--restart-window", "restart_window", As::text, 0, "The window --max-restarts counts in (default 1m)"},
    {"--on-mismatch", "on_mismatch", As::text, SHAREDSERVER_ENUM_MISMATCH,
     "When the running server was started with a different command, env or working dir: warn (default), error, or restart it with this definition"},
    {"--log-max-size", "log_max_size", As::count, 0,
     "Rotate the log to <log>.1 past this size: bytes, or with K, M or G (default 10M; 0: never)"},
};

constexpr bool every_flag_named() {
    for (const Flag &flag : flags)
        if (flag.name == nullptr) return false;
    return true;
}
static_assert(every_flag_named(), "SpecArgs::flag_count must be the number of flags in the table");

constexpr std::size_t index_of(const char *name) {
    for (std::size_t i = 0; i < SpecArgs::flag_count; ++i)
        if (std::string_view(flags[i].name) == name) return i;
    return SpecArgs::flag_count;
}

bool is_probe(const Flag &flag) {
    return std::strncmp(flag.key, "ready.", 6) == 0 && std::strcmp(flag.key, "ready.timeout") != 0 &&
           std::strcmp(flag.key, "ready.interval") != 0;
}

// "TEXT:{no,on-failure,always}", from the library's names.
std::string enum_type(int kind) {
    std::string names;
    for (std::size_t i = 0; i < sharedserver_enum_count(kind); ++i) {
        const char *name = "";
        sharedserver_enum_at(nullptr, &name, kind, i);
        names += (names.empty() ? "" : ",") + std::string(name);
    }
    return "TEXT:{" + names + "}";
}

nlohmann::json value_of(const Flag &flag, const std::string &text) {
    bool digits = !text.empty() && text.size() <= 18 && text.find_first_not_of("0123456789") == std::string::npos;
    if (flag.as == As::ready_port && text == "auto") return true;
    if ((flag.as == As::count || flag.as == As::ready_port) && digits) return std::stoll(text);
    return text;
}

void add_env(nlohmann::json &env, const std::string &entry) {
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0)
        throw sharedserver::Error(SHAREDSERVER_EINVALID,
                                  "invalid environment entry \"" + entry + "\": expected KEY=VALUE (e.g. --env PORT=8080)", 0, "");
    env[entry.substr(0, eq)] = entry.substr(eq + 1);
}

// The library's message for a flag's value, with the flag's name in place of
// its key ("idle_timeout: ..." -> "--grace-period: ...").
[[noreturn]] void rethrow_for_flag(const sharedserver::Error &e, const SpecArgs &args) {
    // Only a timing flag makes a "ready" without a probe.
    if (e.key() == "ready")
        for (const char *timing : {"--ready-timeout", "--ready-interval"})
            if (args.option[index_of(timing)]->count())
                throw sharedserver::Error(e.code(), std::string(timing) +
                                                        ": there is no readiness probe to time: add --ready-port, "
                                                        "--ready-socket, --ready-http, --ready-cmd or --ready-log",
                                          0, "", e.key());
    for (std::size_t i = 0; i < SpecArgs::flag_count; ++i) {
        const Flag &flag = flags[i];
        if (flag.as == As::client || e.key() != flag.key || !args.option[i] || args.option[i]->count() == 0) continue;
        std::string message = e.what();
        std::string prefix = std::string(flag.key) + ": ";
        if (message.compare(0, prefix.size(), prefix) == 0) message.erase(0, prefix.size());
        throw sharedserver::Error(e.code(), std::string(flag.name) + ": " + message, e.sys_errno(), e.path(), e.key());
    }
    throw e;
}

// The offset of the first byte that does not belong to valid UTF-8, or npos.
std::size_t invalid_utf8_at(const std::string &text) {
    for (std::size_t i = 0; i < text.size();) {
        auto byte = static_cast<unsigned char>(text[i]);
        std::size_t length = byte < 0x80 ? 1 : (byte >> 5) == 0x6 ? 2 : (byte >> 4) == 0xe ? 3 : (byte >> 3) == 0x1e ? 4 : 0;
        if (length == 0 || i + length > text.size()) return i;
        for (std::size_t k = 1; k < length; ++k)
            if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return i;
        i += length;
    }
    return std::string::npos;
}

// JSON text, which the library reads a definition from, cannot carry bytes
// that are not UTF-8: refuse them here, naming where they are, rather than
// let them be replaced (and something else run).
void check_utf8(const std::string &text, const std::string &what, const std::string &name) {
    std::size_t at = invalid_utf8_at(text);
    if (at == std::string::npos) return;
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(text[at]));
    throw sharedserver::Error(SHAREDSERVER_EINVALID,
                              what + " of \"" + name + "\" is not valid UTF-8 (byte " + byte + " at offset " +
                                  std::to_string(at) + "): records are JSON text and cannot keep such bytes; pass them in a file",
                              0, "");
}

void check_utf8(const std::vector<std::string> &command, const SpecArgs &args, const std::string &name) {
    for (std::size_t i = 0; i < command.size(); ++i)
        check_utf8(command[i], i == 0 ? std::string("the command") : "argument " + std::to_string(i) + " of the command", name);
    for (const auto &entry : args.env) check_utf8(entry, "the --env entry", name);
    for (std::size_t i = 0; i < SpecArgs::flag_count; ++i)
        if (args.option[i]->count()) check_utf8(args.text[i], flags[i].name, name);
}

}  // namespace

void add_spec_options(CLI::App &cmd, SpecArgs &args, const char *pid_help) {
    CLI::Option_group *probes = nullptr;
    for (std::size_t i = 0; i < SpecArgs::flag_count; ++i) {
        const Flag &flag = flags[i];
        CLI::App *owner = &cmd;
        if (is_probe(flag)) {
            if (!probes) probes = cmd.add_option_group("readiness", "How a started server proves it is ready (one of these)");
            owner = probes;
        }
        const char *help = i == index_of("--pid") ? pid_help : flag.help;
        CLI::Option *option = i == index_of("--no-wait") ? owner->add_flag(flag.name, args.no_wait, help)
                              : flag.as == As::env       ? owner->add_option(flag.name, args.env, help)
                                                         : owner->add_option(flag.name, args.text[i], help);
        if (flag.enum_kind) option->type_name(enum_type(flag.enum_kind));
        args.option[i] = option;
    }
    probes->require_option(0, 1);
}

Definition spec_definition(const SpecArgs &args, const std::string &name, const std::vector<std::string> &command,
                           const std::string &config) {
    check_utf8(command, args, name);
    nlohmann::json doc = nlohmann::json::object();
    std::optional<Definition> from_file;
    if (!command.empty()) doc["command"] = command;
    else if ((from_file = Definition::of_project(config, name))) doc = from_file->json();
    for (std::size_t i = 0; i < SpecArgs::flag_count; ++i) {
        const Flag &flag = flags[i];
        if (flag.as == As::client || args.option[i]->count() == 0) continue;
        if (flag.as == As::env) {
            if (!doc.contains("env")) doc["env"] = nlohmann::json::object();
            for (const auto &entry : args.env) add_env(doc["env"], entry);
            continue;
        }
        std::string key = flag.key;
        if (key.compare(0, 6, "ready.") != 0) {
            doc[key] = value_of(flag, args.text[i]);
            continue;
        }
        nlohmann::json &ready = doc["ready"];
        if (!ready.is_object()) ready = nlohmann::json::object();
        // A probe given here replaces the file's, and its interval, which was
        // the other probe's (--ready-interval comes later in the table).
        if (is_probe(flag)) {
            for (std::size_t k = 0; k < sharedserver_enum_count(SHAREDSERVER_ENUM_PROBE); ++k) {
                const char *probe = "";
                sharedserver_enum_at(nullptr, &probe, SHAREDSERVER_ENUM_PROBE, k);
                ready.erase(probe);
            }
            ready.erase("interval");
        }
        ready[key.substr(6)] = value_of(flag, args.text[i]);
    }
    try {
        Definition def(doc);
        if (from_file) def.use_project_of(*from_file);
        return def;
    } catch (const sharedserver::Error &e) {
        if (e.code() != SHAREDSERVER_EINVALID) throw;
        rethrow_for_flag(e, args);
    }
}

Client spec_client(const SpecArgs &args) {
    Client client;
    const std::size_t pid = index_of("--pid"), metadata = index_of("--metadata");
    if (args.option[pid]->count()) client.pid = pid_option(args.text[pid]);
    client.metadata = args.text[metadata];
    client.no_wait = args.no_wait;
    return client;
}

}  // namespace cli
