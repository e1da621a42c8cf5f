// The `sharedserver` command: argument mapping and presentation over the
// public C++ wrapper. No lifecycle logic lives here.
#include <cstdio>
#include <iostream>
#include <limits>
#include <string>
#include <unistd.h>
#include <vector>

#include <CLI/CLI.hpp>
#include <sharedserver/sharedserver.hpp>

#include "completion.hpp"
#include "output.hpp"
#include "run_with.hpp"
#include "follow_log.hpp"
#include "hints.hpp"

namespace {

using sharedserver::Context;
using sharedserver::State;

constexpr int exit_failure = 1;
constexpr int exit_usage = 2;
constexpr int exit_check_error = 4;  // check uses 0-3 for states

// Options shared by `use` and `admin start`.
struct SpecArgs {
    std::string grace_period;
    std::string pid;
    std::string metadata;
    std::vector<std::string> env;
    std::string log_file;
    std::string working_dir;
    // Readiness, port and restart policy.
    std::string ready_port, ready_socket, ready_http, ready_cmd, ready_log;
    std::string ready_timeout, ready_interval;
    bool no_wait = false;
    std::string port;
    std::string restart = "no";
    std::string max_restarts;
    std::string restart_window;
    std::string on_mismatch = "warn";
    std::string log_max_size;
};

void add_spec_options(CLI::App *cmd, SpecArgs &args, bool with_pid) {
    cmd->add_option("--grace-period", args.grace_period,
                    "How long the server outlives its last client (500ms, 90s, 30m, 2h30m; 0s: stop at once; default 5m)");
    if (with_pid)
        cmd->add_option("--pid", args.pid, "The client's pid (default: the calling process, i.e. this command's parent)");
    cmd->add_option("--metadata", args.metadata, "Free text stored with the client (shown by info)");
    cmd->add_option("--env", args.env, "KEY=VALUE added to the server's inherited environment (repeatable)");
    cmd->add_option("--log-file", args.log_file, "Where the server's stdout/stderr go (default <state dir>/<name>.log)");
    cmd->add_option("--working-dir", args.working_dir, "The server's working directory (default: the current one)");
    auto *probes = cmd->add_option_group("readiness", "How a started server proves it is ready (one of these)");
    probes->add_option("--ready-port", args.ready_port, "Ready when a TCP connect to 127.0.0.1:N succeeds (`auto`: the --port)");
    probes->add_option("--ready-socket", args.ready_socket, "Ready when a connect to this Unix socket succeeds");
    probes->add_option("--ready-http", args.ready_http, "Ready when GET of this http:// URL answers 2xx or 3xx ({port} allowed)");
    probes->add_option("--ready-cmd", args.ready_cmd, "Ready when this shell line (sh -c) exits 0");
    probes->add_option("--ready-log", args.ready_log, "Ready when a new line of the server's output matches this RE2 regex");
    probes->require_option(0, 1);
    cmd->add_option("--ready-timeout", args.ready_timeout, "Give up (and stop the server) when not ready within this (default 30s)");
    cmd->add_option("--ready-interval", args.ready_interval, "Time between probe attempts (default: 10ms for ports and logs, 20ms for HTTP, 200ms for commands)");
    cmd->add_flag("--no-wait", args.no_wait, "Return as soon as the server is spawned, before it is ready");
    cmd->add_option("--port", args.port, "`auto`: a free TCP port on 127.0.0.1 picked at first start, or a fixed N; {port} in the command and --env values is replaced by it, and the server gets SHAREDSERVER_PORT");
    cmd->add_option("--restart", args.restart, "Start the server again when it exits: no (default), on-failure or always")
        ->check(CLI::IsMember({"no", "on-failure", "always"}));
    cmd->add_option("--max-restarts", args.max_restarts, "Give up after this many restarts within the window (default 5)");
    cmd->add_option("--restart-window", args.restart_window, "The window --max-restarts counts in (default 1m)");
    cmd->add_option("--on-mismatch", args.on_mismatch,
                    "When the running server was started with a different command, env or working dir: warn (default), error, or restart it with this definition")
        ->check(CLI::IsMember({"warn", "error", "restart"}));
    cmd->add_option("--log-max-size", args.log_max_size,
                    "Rotate the log to <log>.1 past this size: bytes, or with K, M or G (default 10M; 0: never)");
}

// "10M" -> 10485760; "0" -> 0.
int64_t size_option(const std::string &option, const std::string &text) {
    std::size_t used = 0;
    long long number = -1;
    try {
        number = std::stoll(text, &used);
    } catch (const std::exception &) {
        used = 0;
    }
    std::string unit = text.substr(used);
    int64_t scale = unit.empty() || unit == "B" ? 1 : unit == "K" ? 1024 : unit == "M" ? 1024 * 1024 : unit == "G" ? 1024LL * 1024 * 1024 : -1;
    if (used == 0 || number < 0 || scale < 0 || number > (int64_t{1} << 50) / scale)
        throw sharedserver::Error(SHAREDSERVER_EINVALID,
                                  option + ": invalid size \"" + text + "\": expected bytes or a number with K, M or G (e.g. 10M)", 0, "");
    return number * scale;
}

// A whole number within [min, max], or one line naming the option. (CLI11's
// own range check spelled out the largest double: a 408-character line.)
int64_t number_option(const std::string &option, const std::string &text, int64_t min, int64_t max,
                      const std::string &expected) {
    std::size_t used = 0;
    long long number = 0;
    bool too_large = false;
    try {
        number = std::stoll(text, &used);
    } catch (const std::out_of_range &) {
        too_large = text.find_first_not_of("0123456789") == std::string::npos;
    } catch (const std::exception &) {
        used = 0;
    }
    too_large = too_large || (used == text.size() && number > max);
    if (too_large)
        throw sharedserver::Error(SHAREDSERVER_EINVALID, option + ": \"" + text + "\" is too large: expected at most " +
                                                             std::to_string(max), 0, "");
    if (text.empty() || used != text.size() || number < min)
        throw sharedserver::Error(SHAREDSERVER_EINVALID, option + ": invalid value \"" + text + "\": expected " + expected, 0, "");
    return number;
}

// A client's pid: a positive number (0 and negatives mean something else to the library).
int64_t pid_option(const std::string &text) {
    return number_option("--pid", text, 1, std::numeric_limits<int32_t>::max(), "a process id (a positive whole number)");
}

// A duration option: the library's message, prefixed with the option's name.
int64_t duration_option(const std::string &option, const std::string &text) {
    try {
        return sharedserver::parse_duration(text);
    } catch (const sharedserver::Error &e) {
        throw sharedserver::Error(e.code(), option + ": " + e.what(), 0, "");
    }
}

int port_option(const std::string &option, const std::string &text) {
    if (text == "auto") return SHAREDSERVER_PORT_AUTO;
    std::size_t used = 0;
    int port = 0;
    try {
        port = std::stoi(text, &used);
    } catch (const std::exception &) {
        used = 0;
    }
    if (used != text.size() || port < 1 || port > 65535)
        throw sharedserver::Error(SHAREDSERVER_EINVALID,
                                  option + ": invalid port \"" + text + "\": expected auto or a number from 1 to 65535", 0, "");
    return port;
}

// Applies the options given on the command line over `options` (a project
// definition, or the defaults): an option counts when it was given at all,
// so `--grace-period ""` is an error rather than the default.
sharedserver::UseOptions overlay(const CLI::App *cmd, const SpecArgs &args, sharedserver::UseOptions options) {
    auto given = [&](const char *option) { return cmd->count(option) > 0; };
    if (given("--grace-period")) options.grace_period_ms = duration_option("--grace-period", args.grace_period);
    if (given("--env")) options.env.insert(options.env.end(), args.env.begin(), args.env.end());
    if (given("--working-dir")) options.working_dir = args.working_dir;
    if (given("--log-file")) options.log_file = args.log_file;
    if (given("--metadata")) options.metadata = args.metadata;
    if (given("--port")) options.port = port_option("--port", args.port);
    if (given("--ready-port")) {
        options.ready_kind = SHAREDSERVER_PROBE_PORT;
        options.ready_target = args.ready_port == "auto" ? "" : std::to_string(port_option("--ready-port", args.ready_port));
    }
    const std::tuple<const char *, const std::string *, int> probes[] = {
        {"--ready-socket", &args.ready_socket, SHAREDSERVER_PROBE_SOCKET},
        {"--ready-http", &args.ready_http, SHAREDSERVER_PROBE_HTTP},
        {"--ready-cmd", &args.ready_cmd, SHAREDSERVER_PROBE_COMMAND},
        {"--ready-log", &args.ready_log, SHAREDSERVER_PROBE_LOG}};
    for (const auto &[option, target, kind] : probes)
        if (given(option)) {
            options.ready_kind = kind;
            options.ready_target = *target;
        }
    if (given("--ready-timeout")) options.ready_timeout_ms = duration_option("--ready-timeout", args.ready_timeout);
    if (given("--ready-interval")) options.ready_interval_ms = duration_option("--ready-interval", args.ready_interval);
    if (given("--no-wait")) options.no_wait = args.no_wait;
    if (given("--restart"))
        options.restart_policy = args.restart == "always"       ? SHAREDSERVER_RESTART_ALWAYS
                                 : args.restart == "on-failure" ? SHAREDSERVER_RESTART_ON_FAILURE
                                                                : SHAREDSERVER_RESTART_NO;
    if (given("--max-restarts"))
        options.max_restarts = static_cast<int>(
            number_option("--max-restarts", args.max_restarts, 0, std::numeric_limits<int>::max(), "a whole number, 0 or more"));
    if (given("--restart-window")) options.restart_window_ms = duration_option("--restart-window", args.restart_window);
    if (given("--on-mismatch"))
        options.on_mismatch = args.on_mismatch == "error"     ? SHAREDSERVER_MISMATCH_ERROR
                              : args.on_mismatch == "restart" ? SHAREDSERVER_MISMATCH_RESTART
                                                              : SHAREDSERVER_MISMATCH_WARN;
    if (given("--log-max-size")) options.log_max_size = size_option("--log-max-size", args.log_max_size);
    return options;
}

// What to run for `name`: the command after `--`, else the project's
// definition, else nothing (attach only).
sharedserver::UseOptions options_for(const CLI::App *cmd, const SpecArgs &args, const std::string &name,
                                     const std::vector<std::string> &command, const std::string &config) {
    sharedserver::UseOptions base;
    if (!command.empty()) {
        base.command = command;
    } else if (auto project = sharedserver::Project::find(config); project && project->defines(name)) {
        base = project->use_options(name);
    }
    return overlay(cmd, args, base);
}

// `use` and `unuse` act for the caller: the shell or script that ran us.
int64_t caller_pid(int64_t given) { return given != 0 ? given : static_cast<int64_t>(::getppid()); }

std::string port_phrase(int port) { return port > 0 ? ", port " + std::to_string(port) : std::string(); }

std::string clients_phrase(std::size_t n) { return std::to_string(n) + (n == 1 ? " client" : " clients"); }

void warn(const std::string &message) { std::cerr << "sharedserver: warning: " << message << "\n"; }

int fail(const std::string &message, int code = exit_failure) {
    std::cerr << "sharedserver: " << message << "\n";
    return code;
}

}  // namespace

int main(int argc, char **argv) {
    // Everything after the first `--` is the server's command, never ours to parse.
    std::vector<std::string> words, command;
    bool has_command = false;
    for (int i = 1; i < argc; ++i) {
        if (!has_command && std::string(argv[i]) == "--") {
            has_command = true;
            continue;
        }
        (has_command ? command : words).push_back(argv[i]);
    }

    CLI::App app{"Share one development server per user and name across editors, scripts and programs:\n"
                 "started by the first client, stopped a grace period after the last one leaves.",
                 "sharedserver"};
    app.set_version_flag("--version", std::string("sharedserver ") + sharedserver::version());
    app.require_subcommand(1);
    app.fallthrough();
    std::string config;
    app.add_option("--config", config, "The project file (default: $SHAREDSERVER_CONFIG, else sharedserver.json here or above)");
    app.footer("State lives in $SHAREDSERVER_LOCKDIR (default $XDG_RUNTIME_DIR/sharedserver or /tmp/sharedserver-<uid>).");

    std::string name;
    SpecArgs spec;
    bool json = false, names_only = false, force = false;
    std::string timeout, shell;
    std::string pid;

    auto *use = app.add_subcommand("use", "Attach to a server, starting it with the command after `--` if it is not running");
    use->add_option("name", name, "Server name")->required();
    add_spec_options(use, spec, true);
    use->footer("Usage: sharedserver use [OPTIONS] <name> [-- <command> [args...]]");

    auto *unuse = app.add_subcommand("unuse", "Detach from a server; the last detach starts its grace period");
    unuse->add_option("name", name, "Server name")->required();
    unuse->add_option("--pid", pid, "The client's pid (default: the calling process)");

    auto *list = app.add_subcommand("list", "Show every running server");
    list->add_flag("--json", json, "Print a JSON array");
    list->add_flag("--names", names_only, "Print only the names, one per line (for completion)");

    auto *info = app.add_subcommand("info", "Show one server");
    info->add_option("name", name, "Server name")->required();
    info->add_flag("--json", json, "Print a JSON object");

    auto *check = app.add_subcommand("check", "Exit 0 when active, 1 in grace, 2 stopped, 3 starting or stopping (4 on error)");
    check->add_option("name", name, "Server name")->required();

    std::string wait_timeout;
    auto *wait = app.add_subcommand("wait", "Wait until a starting server is ready (exit 1 if it fails or stops)");
    wait->add_option("name", name, "Server name")->required();
    wait->add_option("--timeout", wait_timeout, "Give up after this long (default: the server's readiness timeout)");

    std::string log_lines = "20";
    bool follow = false;
    auto *logs = app.add_subcommand("logs", "Show the last lines of a server's output (also after it stopped)");
    logs->add_option("name", name, "Server name")->required();
    logs->add_option("-n,--lines", log_lines, "How many lines (default 20)");
    logs->add_flag("-f,--follow", follow, "Keep printing new output until interrupted (Ctrl-C)");

    auto *port = app.add_subcommand("port", "Print the server's port, for scripts: redis-cli -p \"$(sharedserver port redis)\"");
    port->add_option("name", name, "Server name")->required();

    std::vector<std::string> with_names;
    auto *with = app.add_subcommand("with", "Run a command while holding servers: sharedserver with postgres redis -- pytest");
    with->add_option("names", with_names, "Servers to hold (started from sharedserver.json when it defines them)")->required();

    auto *completion = app.add_subcommand("completion", "Print a completion script: bash, zsh or fish");
    completion->add_option("shell", shell, "bash, zsh or fish")->required();

    auto *admin = app.add_subcommand("admin", "Administrative commands");
    admin->require_subcommand(1);
    auto *start = admin->add_subcommand("start", "Start a server with no client attached (it begins in its grace period)");
    start->add_option("name", name, "Server name")->required();
    add_spec_options(start, spec, false);
    start->footer("Usage: sharedserver admin start [OPTIONS] <name> -- <command> [args...]");
    auto *stop = admin->add_subcommand("stop", "Stop a server for every client");
    stop->add_option("name", name, "Server name")->required();
    stop->add_flag("--force", force, "SIGKILL the process group if SIGTERM has not stopped it within the timeout");
    stop->add_option("--timeout", timeout, "How long to wait after SIGTERM (default 5s)");
    auto *restart = admin->add_subcommand("restart", "Stop a server and start its command again, keeping its clients");
    restart->add_option("name", name, "Server name")->required();
    auto *incref = admin->add_subcommand("incref", "Attach a pid to a running server");
    incref->add_option("name", name, "Server name")->required();
    incref->add_option("--pid", pid, "The client's pid")->required();
    incref->add_option("--metadata", spec.metadata, "Free text stored with the client");
    auto *decref = admin->add_subcommand("decref", "Detach a pid from a server");
    decref->add_option("name", name, "Server name")->required();
    decref->add_option("--pid", pid, "The client's pid")->required();
    auto *debug = admin->add_subcommand("debug", "Show a server's event log");
    debug->add_option("name", name, "Server name")->required();
    debug->add_flag("--json", json, "Print the raw JSON lines");
    auto *doctor = admin->add_subcommand("doctor", "Remove stale records and adopt servers whose watcher died");
    doctor->add_option("name", name, "Server name (default: every server)");
    auto *kill = admin->add_subcommand("kill", "SIGKILL a server and its watcher and remove its records");
    kill->add_option("name", name, "Server name")->required();

    try {
        std::vector<std::string> reversed(words.rbegin(), words.rend());
        app.parse(reversed);
    } catch (const CLI::CallForHelp &e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp &e) {
        return app.exit(e);
    } catch (const CLI::Success &e) {
        return app.exit(e);
    } catch (const CLI::ParseError &e) {
        return fail(std::string(e.what()) + " (see `sharedserver --help`)", exit_usage);
    }

    bool takes_command = use->parsed() || start->parsed() || with->parsed();
    if (has_command && !takes_command)
        return fail("only `use`, `with` and `admin start` take a command after `--`", exit_usage);
    if (with->parsed() && command.empty())
        return fail("with needs the command to run after `--` (sharedserver with redis -- pytest)", exit_usage);

    try {
        if (completion->parsed()) {
            auto script = cli::completion_script(shell);
            if (!script) return fail("unknown shell \"" + shell + "\": choose bash, zsh or fish", exit_usage);
            std::cout << *script;
            return 0;
        }

        Context ctx;

        if (with->parsed()) {
            for (const auto &n : with_names) sharedserver::validate_name(n);
            return cli::run_with(ctx, sharedserver::Project::find(config), with_names, command);
        }
        if (use->parsed()) {
            auto options = options_for(use, spec, name, command, config);
            options.client_pid = caller_pid(use->count("--pid") ? pid_option(spec.pid) : 0);
            // On a terminal, show progress while waiting: attach without
            // waiting, then wait with a spinner. Off a terminal, one call.
            bool show_progress = !options.no_wait && cli::progress_enabled();
            if (show_progress) options.no_wait = true;
            auto result = ctx.use(name, options);
            if (show_progress && !result.ready) {
                cli::Spinner spinner(name);
                try {
                    ctx.wait(name, -1, [&](int64_t elapsed, const std::string &line) { spinner.update(elapsed, line); });
                } catch (...) {
                    spinner.finish();
                    throw;
                }
                spinner.finish();
            }
            if (!result.mismatch.empty() && result.outcome == sharedserver::Outcome::started)
                std::cerr << "sharedserver: restarted \"" << name << "\" with the definition asked for (its " << result.mismatch << ")\n";
            else if (!result.mismatch.empty())
                warn("\"" + name + "\" runs with a different definition than asked: " + result.mismatch);
            switch (result.outcome) {
                case sharedserver::Outcome::started:
                    std::cout << "started " << name << " (pid " << result.pid << port_phrase(result.port) << ")\n";
                    break;
                case sharedserver::Outcome::rescued:
                    std::cout << "attached to " << name << " (pid " << result.pid << port_phrase(result.port) << ", "
                              << clients_phrase(result.refcount) << "), ending its grace period\n";
                    break;
                case sharedserver::Outcome::attached:
                    std::cout << "attached to " << name << " (pid " << result.pid << port_phrase(result.port) << ", "
                              << clients_phrase(result.refcount) << ")\n";
                    break;
            }
            return 0;
        }
        if (unuse->parsed() || decref->parsed()) {
            int64_t client = unuse->count("--pid") || decref->count("--pid") ? pid_option(pid) : 0;
            std::size_t left = ctx.unuse(name, unuse->parsed() ? caller_pid(client) : client);
            if (left > 0) {
                std::cout << "detached from " << name << " (" << clients_phrase(left) << " left)\n";
            } else {
                auto now = ctx.info(name);
                std::cout << "detached from " << name << "; no client left, it stops in "
                          << sharedserver::format_duration(now.grace_period_ms) << " unless one attaches\n";
            }
            return 0;
        }
        if (list->parsed()) {
            if (json) {
                std::cout << ctx.list_json() << "\n";
            } else if (names_only) {
                for (const auto &s : ctx.list()) std::cout << s.name << "\n";
            } else {
                std::vector<std::string> defined;
                if (auto project = sharedserver::Project::find(config)) defined = project->names();
                cli::print_list(ctx.list(), defined);
            }
            return 0;
        }
        if (info->parsed()) {
            auto i = ctx.info(name);
            if (json) std::cout << i.json << "\n";
            else cli::print_info(i);
            return 0;
        }
        if (wait->parsed()) {
            int64_t timeout_ms = wait_timeout.empty() ? -1 : duration_option("--timeout", wait_timeout);
            if (cli::progress_enabled()) {
                cli::Spinner spinner(name);
                try {
                    ctx.wait(name, timeout_ms, [&](int64_t elapsed, const std::string &line) { spinner.update(elapsed, line); });
                } catch (...) {
                    spinner.finish();
                    throw;
                }
                spinner.finish();
            } else {
                ctx.wait(name, timeout_ms);
            }
            return 0;
        }
        if (logs->parsed()) {
            auto lines = static_cast<std::size_t>(
                number_option("--lines", log_lines, 0, std::numeric_limits<int32_t>::max(), "a number of lines, 0 or more"));
            if (!follow) {
                std::cout << ctx.log_tail(name, lines) << std::flush;
                return 0;
            }
            (void)ctx.log_tail(name, 0);  // fails for a name that never ran
            return cli::follow_log(ctx.log_path(name), lines);
        }
        if (port->parsed()) {
            auto i = ctx.info(name);
            if (i.state == State::stopped)
                return fail("server \"" + name + "\" is not running; start it with `sharedserver use " + name +
                            " --port auto -- <command>`");
            if (i.port == 0)
                return fail("server \"" + name + "\" has no port; give it one with --port auto or --port N when it starts");
            std::cout << i.port << "\n";
            return 0;
        }
        if (check->parsed()) {
            try {
                State state = ctx.check(name);
                if (::isatty(STDOUT_FILENO)) std::cout << sharedserver::to_string(state) << "\n";
                switch (state) {
                    case State::active: return 0;
                    case State::grace: return 1;
                    case State::stopped: return 2;
                    default: return 3;
                }
            } catch (const sharedserver::Error &e) {
                return fail(cli_message(e, name), exit_check_error);
            }
        }
        if (start->parsed()) {
            auto options = options_for(start, spec, name, command, config);
            if (options.command.empty())
                return fail("admin start needs the server's command after `--` (sharedserver admin start " + name +
                                " -- <command> [args...]) or a definition in sharedserver.json",
                            exit_usage);
            int64_t server = ctx.start(name, options);
            std::cout << "started " << name << " (pid " << server << ") with no client; it stops in "
                      << sharedserver::format_duration(ctx.info(name).grace_period_ms) << " unless one attaches\n";
            return 0;
        }
        if (stop->parsed()) {
            int64_t timeout_ms = timeout.empty() ? -1 : duration_option("--timeout", timeout);
            ctx.stop(name, force, timeout_ms);
            std::cout << "stopped " << name << "\n";
            return 0;
        }
        if (restart->parsed()) {
            int64_t old_pid = ctx.info(name).pid;
            int64_t new_pid = ctx.restart(name);
            std::cout << "restarted " << name << " (pid " << old_pid << " -> " << new_pid << ")\n";
            return 0;
        }
        if (incref->parsed()) {
            sharedserver::UseOptions options;
            options.client_pid = pid_option(pid);
            options.metadata = spec.metadata;
            auto result = ctx.use(name, options);
            std::cout << "attached pid " << options.client_pid << " to " << name << " (" << clients_phrase(result.refcount) << ")\n";
            return 0;
        }
        if (debug->parsed()) {
            sharedserver::validate_name(name);
            std::string events = ctx.events(name);
            if (json) std::cout << events;
            else cli::print_events(events);
            return 0;
        }
        if (doctor->parsed()) {
            std::string report = ctx.doctor(name);
            std::cout << (report.empty() ? std::string("nothing to repair\n") : report);
            return 0;
        }
        if (kill->parsed()) {
            ctx.kill(name);
            std::cout << "killed " << name << "\n";
            return 0;
        }
    } catch (const sharedserver::Error &e) {
        return fail(cli_message(e, name), e.code() == SHAREDSERVER_EINVALID ? exit_usage : exit_failure);
    }
    return fail("no command given (see `sharedserver --help`)", exit_usage);
}
