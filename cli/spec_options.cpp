#include "spec_options.hpp"

#include <limits>
#include <tuple>

#include "option_values.hpp"
#include "project_file.hpp"

namespace cli {

void add_spec_options(CLI::App &cmd, SpecArgs &args, const char *pid_help) {
    cmd.add_option("--grace-period", args.grace_period,
                   "How long the server outlives its last client (500ms, 90s, 30m, 2h30m; 0s: stop at once; default 5m)");
    cmd.add_option("--pid", args.pid, pid_help);
    cmd.add_option("--metadata", args.metadata, "Free text stored with the client (shown by info)");
    cmd.add_option("--env", args.env, "KEY=VALUE added to the server's inherited environment (repeatable)");
    cmd.add_option("--log-file", args.log_file, "Where the server's stdout/stderr go (default <state dir>/<name>.log)");
    cmd.add_option("--working-dir", args.working_dir, "The server's working directory (default: the current one)");
    auto *probes = cmd.add_option_group("readiness", "How a started server proves it is ready (one of these)");
    probes->add_option("--ready-port", args.ready_port, "Ready when a TCP connect to 127.0.0.1:N succeeds (`auto`: the --port)");
    probes->add_option("--ready-socket", args.ready_socket, "Ready when a connect to this Unix socket succeeds");
    probes->add_option("--ready-http", args.ready_http, "Ready when GET of this http:// URL answers 2xx or 3xx ({port} allowed)");
    probes->add_option("--ready-cmd", args.ready_cmd, "Ready when this shell line (sh -c) exits 0");
    probes->add_option("--ready-log", args.ready_log, "Ready when a new line of the server's output matches this RE2 regex");
    probes->require_option(0, 1);
    cmd.add_option("--ready-timeout", args.ready_timeout, "Give up (and stop the server) when not ready within this (default 30s)");
    cmd.add_option("--ready-interval", args.ready_interval,
                   "Time between probe attempts (default: 10ms for ports and logs, 20ms for HTTP, 200ms for commands)");
    cmd.add_flag("--no-wait", args.no_wait, "Return as soon as the server is spawned, before it is ready");
    cmd.add_option("--port", args.port,
                   "`auto`: a free TCP port on 127.0.0.1 picked at first start, or a fixed N; {port} in the command and --env values is replaced by it, and the server gets SHAREDSERVER_PORT");
    cmd.add_option("--restart", args.restart, "Start the server again when it exits: no (default), on-failure or always")
        ->check(CLI::IsMember({"no", "on-failure", "always"}));
    cmd.add_option("--max-restarts", args.max_restarts, "Give up after this many restarts within the window (default 5)");
    cmd.add_option("--restart-window", args.restart_window, "The window --max-restarts counts in (default 1m)");
    cmd.add_option("--on-mismatch", args.on_mismatch,
                   "When the running server was started with a different command, env or working dir: warn (default), error, or restart it with this definition")
        ->check(CLI::IsMember({"warn", "error", "restart"}));
    cmd.add_option("--log-max-size", args.log_max_size,
                   "Rotate the log to <log>.1 past this size: bytes, or with K, M or G (default 10M; 0: never)");
}

namespace {

void overlay(const CLI::App &cmd, const SpecArgs &args, sharedserver::UseOptions &options) {
    auto given = [&](const char *option) { return cmd.count(option) > 0; };
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
        options.max_restarts = static_cast<int>(number_option("--max-restarts", args.max_restarts, 0,
                                                              std::numeric_limits<int>::max(), "a whole number, 0 or more"));
    if (given("--restart-window")) options.restart_window_ms = duration_option("--restart-window", args.restart_window);
    if (given("--on-mismatch"))
        options.on_mismatch = args.on_mismatch == "error"     ? SHAREDSERVER_MISMATCH_ERROR
                              : args.on_mismatch == "restart" ? SHAREDSERVER_MISMATCH_RESTART
                                                              : SHAREDSERVER_MISMATCH_WARN;
    if (given("--log-max-size")) options.log_max_size = size_option("--log-max-size", args.log_max_size);
}

}  // namespace

sharedserver::UseOptions spec_options(const CLI::App &cmd, const SpecArgs &args, const std::string &name,
                                      const std::vector<std::string> &command, const std::string &config) {
    sharedserver::UseOptions options;
    if (!command.empty()) {
        options.command = command;
    } else if (auto project = find_project(config); project && project->defines(name)) {
        options = project_use_options(*project, name);
    }
    overlay(cmd, args, options);
    return options;
}

}  // namespace cli
