// Header-only C++17 wrapper over the C ABI: RAII handles and exceptions.
// It adds no behaviour; everything happens in the library behind
// sharedserver.h, so C++ programs and the C ABI always agree.
#ifndef SHAREDSERVER_HPP
#define SHAREDSERVER_HPP

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sharedserver.h"

namespace sharedserver {
// The wrapper's own namespace, invisible in use (sharedserver::Context):
// a program that links the library statically together with its private
// core (the CLI does) would otherwise have two different
// sharedserver::Error types under one mangled name.
inline namespace api {

enum class State {
    stopped = SHAREDSERVER_STOPPED,
    starting = SHAREDSERVER_STARTING,
    active = SHAREDSERVER_ACTIVE,
    grace = SHAREDSERVER_GRACE,
    stopping = SHAREDSERVER_STOPPING,
    corrupt = SHAREDSERVER_CORRUPT,  // in lists only: the record cannot be read; Info::error says why
};

enum class Outcome {
    started = SHAREDSERVER_STARTED,
    attached = SHAREDSERVER_ATTACHED,
    rescued = SHAREDSERVER_RESCUED,
};

inline const char *to_string(State state) { return sharedserver_state_name(static_cast<int>(state)); }

// Every failure of the C ABI as one exception: code() is the C error code.
class Error : public std::runtime_error {
public:
    Error(int code, const std::string &message, int sys_errno, std::string path, std::string key = std::string())
        : std::runtime_error(message), code_(code), errno_(sys_errno), path_(std::move(path)), key_(std::move(key)) {}
    int code() const noexcept { return code_; }
    int sys_errno() const noexcept { return errno_; }
    const std::string &path() const noexcept { return path_; }
    // The definition key a bad input came in ("ready.port"); "" otherwise.
    const std::string &key() const noexcept { return key_; }

private:
    int code_;
    int errno_;
    std::string path_;
    std::string key_;
};

namespace detail {

// Throws the thread's last error when `rc` is a failure.
inline void check(int rc) {
    if (rc < 0)
        throw Error(rc, sharedserver_error_last(), sharedserver_error_last_errno(), sharedserver_error_last_path(),
                    sharedserver_error_last_key());
}

inline std::string take(sharedserver_buf &buf) {
    std::string out = buf.ptr ? std::string(buf.ptr, buf.size) : std::string();
    sharedserver_buf_dispose(&buf);
    return out;
}

inline std::string str(const char *s) { return s ? std::string(s) : std::string(); }

// A C string ends at its first NUL: a std::string holding one would reach
// the library cut short, and run something other than what was asked.
inline void refuse_nul(const std::string &text, const std::string &what) {
    if (text.find('\0') != std::string::npos)
        throw Error(SHAREDSERVER_EINVALID, what + " contains a NUL byte, which no C string can carry", 0, "");
}

// `what` and the item's number name it in the error, counting from `first`.
inline std::vector<const char *> pointers(const std::vector<std::string> &items, const char *what, std::size_t first) {
    std::vector<const char *> out;
    out.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        refuse_nul(items[i], std::string(what) + " " + std::to_string(first + i));
        out.push_back(items[i].c_str());
    }
    return out;
}

// A definition parsed from JSON text; empty text gives none (attach only).
using DefinitionPtr = std::unique_ptr<sharedserver_definition, void (*)(sharedserver_definition *)>;
inline DefinitionPtr parse_definition(const std::string &json, const std::string &base_dir) {
    sharedserver_definition *def = nullptr;
    if (!json.empty()) {
        refuse_nul(json, "definition");
        check(sharedserver_definition_parse(&def, json.c_str(), base_dir.empty() ? nullptr : base_dir.c_str()));
    }
    return DefinitionPtr(def, sharedserver_definition_free);
}

}  // namespace detail

inline std::string version() { return sharedserver_version(); }
inline int abi_version() { return sharedserver_abi_version(); }

// "30m" -> 1'800'000; throws Error (SHAREDSERVER_EINVALID) on bad text.
inline int64_t parse_duration(const std::string &text) {
    int64_t ms = 0;
    detail::check(sharedserver_duration_parse(&ms, text.c_str()));
    return ms;
}

inline std::string format_duration(int64_t ms) {
    sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
    detail::check(sharedserver_duration_format(&buf, ms));
    return detail::take(buf);
}

inline void validate_name(const std::string &name) { detail::check(sharedserver_name_validate(name.c_str())); }

struct Client {
    int64_t pid = 0;
    int64_t attached_at_ms = 0;
    std::string metadata;
};

// A snapshot of one server, copied out of the C handle.
struct Info {
    std::string name;
    State state = State::stopped;
    int64_t pid = 0;
    int64_t watcher_pid = 0;
    std::vector<Client> clients;
    std::vector<std::string> command;
    std::vector<std::string> env;
    std::string working_dir;
    std::string log_file;
    int64_t grace_period_ms = 0;
    int64_t grace_deadline_ms = 0;
    int64_t started_at_ms = 0;
    int port = 0;
    int64_t ready_at_ms = 0;
    std::size_t restarts = 0;
    std::string error;  // why the record cannot be read (State::corrupt); "" otherwise
    std::vector<std::string> depends_on;  // the servers it needs
    std::vector<std::string> needed_by;   // the running servers that need it
    // The server as `sharedserver info --json` prints it. Filled by info(),
    // and by list() only when asked; list_json() gives a whole list as JSON.
    std::string json;

    std::size_t refcount() const { return clients.size(); }

    static Info from(const sharedserver_info *h, bool with_json = true) {
        Info info;
        info.name = detail::str(sharedserver_info_name(h));
        info.state = static_cast<State>(sharedserver_info_state(h));
        info.pid = sharedserver_info_pid(h);
        info.watcher_pid = sharedserver_info_watcher_pid(h);
        for (std::size_t i = 0; i < sharedserver_info_refcount(h); ++i)
            info.clients.push_back({sharedserver_info_client_pid(h, i), sharedserver_info_client_attached_at(h, i),
                                    detail::str(sharedserver_info_client_metadata(h, i))});
        for (std::size_t i = 0; i < sharedserver_info_argc(h); ++i)
            info.command.push_back(detail::str(sharedserver_info_argv(h, i)));
        for (std::size_t i = 0; i < sharedserver_info_envc(h); ++i)
            info.env.push_back(detail::str(sharedserver_info_env(h, i)));
        for (std::size_t i = 0; i < sharedserver_info_depends_on_count(h); ++i)
            info.depends_on.push_back(detail::str(sharedserver_info_depends_on(h, i)));
        for (std::size_t i = 0; i < sharedserver_info_needed_by_count(h); ++i)
            info.needed_by.push_back(detail::str(sharedserver_info_needed_by(h, i)));
        info.working_dir = detail::str(sharedserver_info_working_dir(h));
        info.log_file = detail::str(sharedserver_info_log_file(h));
        info.grace_period_ms = sharedserver_info_grace_period_ms(h);
        info.grace_deadline_ms = sharedserver_info_grace_deadline(h);
        info.started_at_ms = sharedserver_info_started_at(h);
        info.port = sharedserver_info_port(h);
        info.ready_at_ms = sharedserver_info_ready_at(h);
        info.restarts = sharedserver_info_restart_count(h);
        info.error = detail::str(sharedserver_info_error(h));
        if (with_json) {
            sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
            detail::check(sharedserver_info_json(&buf, h));
            info.json = detail::take(buf);
        }
        return info;
    }
};

// What to run, and how; empty `command` means attach only.
struct UseOptions {
    std::vector<std::string> command;
    std::vector<std::string> env;  // "KEY=VALUE"
    std::string working_dir;
    std::string log_file;
    std::optional<int64_t> grace_period_ms;
    int64_t client_pid = 0;  // 0: the calling process
    std::string metadata;
    int ready_kind = SHAREDSERVER_PROBE_NONE;  // sharedserver_probe_kind
    std::string ready_target;
    int64_t ready_timeout_ms = -1;
    int64_t ready_interval_ms = -1;
    bool no_wait = false;
    int port = 0;  // SHAREDSERVER_PORT_AUTO or N
    int restart_policy = SHAREDSERVER_RESTART_NO;
    int max_restarts = -1;
    int64_t restart_window_ms = -1;
    int on_mismatch = SHAREDSERVER_MISMATCH_WARN;  // sharedserver_mismatch_mode
    int64_t log_max_size = -1;                     // bytes; < 0: 10 MiB, 0: never rotate
};

struct UseResult {
    Outcome outcome = Outcome::started;
    int64_t pid = 0;
    std::size_t refcount = 0;
    std::string mismatch;
    int port = 0;
    bool ready = false;
};

struct LastExit {
    int exit_code = 0;  // -1 when killed by a signal
    int signal = 0;
    int64_t at_ms = 0;
    bool unexpected = false;
};

// A project's sharedserver.json. Definitions become UseOptions; the
// library reads and checks the file, so every client agrees on it.
class Project {
public:
    // path empty: $SHAREDSERVER_CONFIG, else the config found walking up
    // from start_dir (empty: the current directory), else the user's
    // (sharedserver_project_open). Throws Error with SHAREDSERVER_ENOTFOUND
    // when there is none.
    explicit Project(const std::string &path = {}, const std::string &start_dir = {}) {
        sharedserver_project *p = nullptr;
        detail::check(sharedserver_project_open(&p, path.empty() ? nullptr : path.c_str(),
                                                start_dir.empty() ? nullptr : start_dir.c_str()));
        reset(p);
    }

    // nullopt instead of an exception when there is no project file.
    // Without throwing on the way: a use() without a command looks for a
    // project on every call, and most directories have none.
    static std::optional<Project> find(const std::string &path = {}, const std::string &start_dir = {}) {
        sharedserver_project *p = nullptr;
        int rc = sharedserver_project_open(&p, path.empty() ? nullptr : path.c_str(),
                                           start_dir.empty() ? nullptr : start_dir.c_str());
        if (rc == SHAREDSERVER_ENOTFOUND) return std::nullopt;
        detail::check(rc);
        Project found(Adopt{}, p);
        return found;
    }

    std::string path() const { return sharedserver_project_path(project_.get()); }

    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (std::size_t i = 0; i < sharedserver_project_count(project_.get()); ++i)
            out.push_back(sharedserver_project_name(project_.get(), i));
        return out;
    }

    bool defines(const std::string &name) const { return sharedserver_project_lazy(project_.get(), name.c_str()) >= 0; }
    bool lazy(const std::string &name) const { return sharedserver_project_lazy(project_.get(), name.c_str()) == 1; }

    // The definition of `name` as options for Context::use.
    UseOptions use_options(const std::string &name) const {
        sharedserver_use_options o = SHAREDSERVER_USE_OPTIONS_INIT;
        detail::check(sharedserver_project_use_options(&o, project_.get(), name.c_str()));
        UseOptions options;
        for (std::size_t i = 0; i < o.argc; ++i) options.command.push_back(o.argv[i]);
        for (std::size_t i = 0; i < o.envc; ++i) options.env.push_back(o.env[i]);
        options.working_dir = detail::str(o.working_dir);
        options.log_file = detail::str(o.log_file);
        if (o.grace_period_ms >= 0) options.grace_period_ms = o.grace_period_ms;
        options.ready_kind = o.ready_kind;
        options.ready_target = detail::str(o.ready_target);
        options.ready_timeout_ms = o.ready_timeout_ms;
        options.ready_interval_ms = o.ready_interval_ms;
        options.port = o.port;
        options.restart_policy = o.restart_policy;
        options.max_restarts = o.max_restarts;
        options.restart_window_ms = o.restart_window_ms;
        options.log_max_size = o.log_max_size;
        return options;
    }

    // The definition of `name` as JSON, its defaults filled in and its paths
    // absolute: what use_definition reads back (bindings overlay their
    // arguments on it). Throws SHAREDSERVER_ENOTFOUND when there is no such server.
    std::string definition_json(const std::string &name) const {
        sharedserver_definition *def = nullptr;
        detail::check(sharedserver_project_definition(&def, project_.get(), name.c_str()));
        detail::DefinitionPtr owned(def, sharedserver_definition_free);
        sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
        detail::check(sharedserver_definition_json(&buf, def));
        return detail::take(buf);
    }

    // One line per key the loader ignored, naming the file and the key.
    std::vector<std::string> warnings() const {
        std::vector<std::string> out;
        for (std::size_t i = 0; i < sharedserver_project_warning_count(project_.get()); ++i)
            out.push_back(sharedserver_project_warning(project_.get(), i));
        return out;
    }

    // {"path", "servers", "profiles", "warnings"} (sharedserver_project_json).
    std::string json() const {
        sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
        detail::check(sharedserver_project_json(&buf, project_.get()));
        return detail::take(buf);
    }

    const sharedserver_project *get() const noexcept { return project_.get(); }

private:
    struct Adopt {};
    Project(Adopt, sharedserver_project *p) { reset(p); }
    struct Free {
        void operator()(sharedserver_project *p) const noexcept { sharedserver_project_free(p); }
    };
    std::shared_ptr<sharedserver_project> project_{nullptr, Free{}};
    void reset(sharedserver_project *p) { project_.reset(p, Free{}); }
};

// How a server ended (sharedserver_exit_get), as data.
struct ExitInfo {
    int reason = 0;  // SHAREDSERVER_EXIT_*; enum_name(SHAREDSERVER_ENUM_EXIT_REASON, reason) names it
    int code = -1;
    int signal = 0;
    int64_t pid = 0;
    int64_t at_ms = 0;
    std::size_t restarts = 0;
    bool unexpected = false;
    bool while_starting = false;
    std::string message;
    std::string log_tail;
};

// One change of a watched server (sharedserver_watch_next).
struct Change {
    std::string name;
    int kind = 0;   // SHAREDSERVER_CHANGE_*
    int state = 0;  // SHAREDSERVER_STOPPED, ...
    int64_t pid = 0;
    int64_t at_ms = 0;
    std::string json;
};

// The (value, name) pairs of one enum of the C header.
inline std::vector<std::pair<int, std::string>> enum_table(int kind) {
    std::vector<std::pair<int, std::string>> out;
    for (std::size_t i = 0, n = sharedserver_enum_count(kind); i < n; ++i) {
        int value = 0;
        const char *name = "";
        detail::check(sharedserver_enum_at(&value, &name, kind, i));
        out.emplace_back(value, name);
    }
    return out;
}

// The keys a definition may hold, as the JSON array of the library.
inline std::string definition_keys() {
    sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
    detail::check(sharedserver_definition_keys(&buf));
    return detail::take(buf);
}

// A change watch (sharedserver_watch_open): poll fd(), then next(0) until nullopt.
class Watch {
public:
    Watch(sharedserver_context *ctx, const std::vector<std::string> &names, int64_t since_ms) {
        std::vector<const char *> pointers;
        for (const auto &n : names) pointers.push_back(n.c_str());
        sharedserver_watch *w = nullptr;
        detail::check(sharedserver_watch_open(&w, ctx, pointers.empty() ? nullptr : pointers.data(), pointers.size(), since_ms));
        watch_.reset(w);
    }
    int fd() const noexcept { return sharedserver_watch_fd(watch_.get()); }
    // nullopt when nothing came within timeout_ms (< 0: wait until something does).
    std::optional<Change> next(int64_t timeout_ms) {
        sharedserver_change c = SHAREDSERVER_CHANGE_INIT;
        int rc = sharedserver_watch_next(&c, watch_.get(), timeout_ms);
        if (rc == SHAREDSERVER_ETIMEOUT) return std::nullopt;
        detail::check(rc);
        return Change{c.name, c.kind, c.state, c.pid, c.at, c.json};
    }

private:
    struct Free {
        void operator()(sharedserver_watch *w) const noexcept { sharedserver_watch_free(w); }
    };
    std::unique_ptr<sharedserver_watch, Free> watch_;
};

class Context {
public:
    // An empty state_dir means the default ($SHAREDSERVER_LOCKDIR, ...).
    explicit Context(const std::string &state_dir = {}) {
        sharedserver_context *ctx = nullptr;
        detail::check(sharedserver_context_open(&ctx, state_dir.empty() ? nullptr : state_dir.c_str()));
        ctx_.reset(ctx);
    }

    sharedserver_context *get() const noexcept { return ctx_.get(); }
    std::string state_dir() const { return sharedserver_context_state_dir(ctx_.get()); }
    std::string watcher_path() const { return sharedserver_context_watcher_path(ctx_.get()); }

    UseResult use(const std::string &name, const UseOptions &options = {}) {
        auto argv = detail::pointers(options.command, "argument", 0);
        auto env = detail::pointers(options.env, "env entry", 1);
        sharedserver_use_options o = SHAREDSERVER_USE_OPTIONS_INIT;
        fill(o, options, argv, env);
        sharedserver_use_result r = SHAREDSERVER_USE_RESULT_INIT;
        detail::check(sharedserver_use(&r, ctx_.get(), name.c_str(), &o));
        return {static_cast<Outcome>(r.outcome), r.pid, r.refcount, r.mismatch, r.port, r.ready != 0};
    }

    // Blocks until `name` is ready; `progress(elapsed_ms, newest_log_line)`
    // is called about every 100 ms. timeout_ms < 0: the server's probe timeout.
    template <class Progress>
    void wait(const std::string &name, int64_t timeout_ms, Progress progress) {
        sharedserver_wait_options o = SHAREDSERVER_WAIT_OPTIONS_INIT;
        o.timeout_ms = timeout_ms;
        o.payload = &progress;
        o.progress = [](int64_t elapsed, const char *line, void *payload) {
            (*static_cast<Progress *>(payload))(elapsed, std::string(line ? line : ""));
        };
        detail::check(sharedserver_wait(ctx_.get(), name.c_str(), &o));
    }

    void wait(const std::string &name, int64_t timeout_ms = -1) {
        sharedserver_wait_options o = SHAREDSERVER_WAIT_OPTIONS_INIT;
        o.timeout_ms = timeout_ms;
        detail::check(sharedserver_wait(ctx_.get(), name.c_str(), &o));
    }

    // Uses `name` with a definition given as JSON text (a project file's
    // server object); an empty definition attaches only. `project`: the file
    // it came from, where its depends_on names are looked up.
    UseResult use_definition(const std::string &name, const std::string &definition_json, int64_t client_pid = 0,
                             const std::string &metadata = {}, bool no_wait = false, const std::string &base_dir = {},
                             const Project *project = nullptr) {
        auto def = detail::parse_definition(definition_json, base_dir);
        if (project) detail::check(sharedserver_definition_set_project(def.get(), project->get()));
        sharedserver_client_options c = SHAREDSERVER_CLIENT_OPTIONS_INIT;
        c.client_pid = client_pid;
        c.metadata = metadata.empty() ? nullptr : metadata.c_str();
        c.no_wait = no_wait ? 1 : 0;
        sharedserver_use_result r = SHAREDSERVER_USE_RESULT_INIT;
        detail::check(sharedserver_use_definition(&r, ctx_.get(), name.c_str(), def.get(), &c));
        return {static_cast<Outcome>(r.outcome), r.pid, r.refcount, r.mismatch, r.port, r.ready != 0};
    }

    // Starts `name` with a definition given as JSON text, attaching no client
    // (the server begins in its grace period); returns the server's pid.
    int64_t start_definition(const std::string &name, const std::string &definition_json, bool no_wait = false,
                             const std::string &base_dir = {}) {
        auto def = detail::parse_definition(definition_json, base_dir);
        sharedserver_client_options c = SHAREDSERVER_CLIENT_OPTIONS_INIT;
        c.no_wait = no_wait ? 1 : 0;
        int64_t pid = 0;
        detail::check(sharedserver_start_definition(&pid, ctx_.get(), name.c_str(), def.get(), &c));
        return pid;
    }

    // How `name` last ended at or after since_ms (0: any); nullopt when no ending is recorded.
    std::optional<ExitInfo> exit_info(const std::string &name, int64_t since_ms = 0) {
        sharedserver_exit *e = nullptr;
        int rc = sharedserver_exit_get(&e, ctx_.get(), name.c_str(), since_ms);
        if (rc == SHAREDSERVER_ENOTRUNNING) return std::nullopt;
        detail::check(rc);
        ExitInfo out{sharedserver_exit_reason(e),  sharedserver_exit_code(e),       sharedserver_exit_signal(e),
                     sharedserver_exit_pid(e),     sharedserver_exit_at(e),         sharedserver_exit_restarts(e),
                     sharedserver_exit_unexpected(e) != 0, sharedserver_exit_while_starting(e) != 0,
                     sharedserver_exit_message(e), sharedserver_exit_log_tail(e)};
        sharedserver_exit_free(e);
        return out;
    }

    // The state directory's health as JSON (sharedserver_context_health).
    std::string health() {
        sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
        detail::check(sharedserver_context_health(&buf, ctx_.get()));
        return detail::take(buf);
    }

    // names empty: every name. since_ms: -1 from now, 0 every recorded change.
    Watch watch(const std::vector<std::string> &names = {}, int64_t since_ms = -1) { return Watch(ctx_.get(), names, since_ms); }

    std::size_t unuse(const std::string &name, int64_t client_pid = 0) {
        std::size_t refcount = 0;
        detail::check(sharedserver_unuse(&refcount, ctx_.get(), name.c_str(), client_pid));
        return refcount;
    }

    int64_t start(const std::string &name, const UseOptions &options) {
        auto argv = detail::pointers(options.command, "argument", 0);
        auto env = detail::pointers(options.env, "env entry", 1);
        sharedserver_use_options o = SHAREDSERVER_USE_OPTIONS_INIT;
        fill(o, options, argv, env);
        int64_t pid = 0;
        detail::check(sharedserver_start(&pid, ctx_.get(), name.c_str(), &o));
        return pid;
    }

    void stop(const std::string &name, bool force = false, int64_t timeout_ms = -1) {
        sharedserver_stop_options o = SHAREDSERVER_STOP_OPTIONS_INIT;
        o.force = force ? 1 : 0;
        o.timeout_ms = timeout_ms;
        detail::check(sharedserver_stop(ctx_.get(), name.c_str(), &o));
    }

    int64_t restart(const std::string &name) {
        int64_t pid = 0;
        detail::check(sharedserver_restart(&pid, ctx_.get(), name.c_str()));
        return pid;
    }

    void kill(const std::string &name) { detail::check(sharedserver_kill(ctx_.get(), name.c_str())); }

    // One line per repair; empty when all was well. An empty name checks every server.
    std::string doctor(const std::string &name = {}) {
        sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
        detail::check(sharedserver_doctor(&buf, ctx_.get(), name.empty() ? nullptr : name.c_str()));
        return detail::take(buf);
    }

    Info info(const std::string &name) {
        sharedserver_info *h = nullptr;
        detail::check(sharedserver_info_get(&h, ctx_.get(), name.c_str()));
        std::unique_ptr<sharedserver_info, decltype(&sharedserver_info_free)> owned(h, &sharedserver_info_free);
        return Info::from(h);
    }

    State check(const std::string &name) {
        int state = 0;
        detail::check(sharedserver_check(&state, ctx_.get(), name.c_str()));
        return static_cast<State>(state);
    }

    // Every live server, sorted by name. Info::json stays empty unless
    // `with_json`: building it costs more than reading the records.
    std::vector<Info> list(bool with_json = false) {
        sharedserver_list *h = nullptr;
        detail::check(sharedserver_list_get(&h, ctx_.get()));
        std::unique_ptr<sharedserver_list, decltype(&sharedserver_list_free)> owned(h, &sharedserver_list_free);
        std::vector<Info> out;
        for (std::size_t i = 0; i < sharedserver_list_count(h); ++i) out.push_back(Info::from(sharedserver_list_at(h, i), with_json));
        return out;
    }

    std::string list_json() {
        sharedserver_list *h = nullptr;
        detail::check(sharedserver_list_get(&h, ctx_.get()));
        std::unique_ptr<sharedserver_list, decltype(&sharedserver_list_free)> owned(h, &sharedserver_list_free);
        sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
        detail::check(sharedserver_list_json(&buf, h));
        return detail::take(buf);
    }

    std::string events(const std::string &name) {
        sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
        detail::check(sharedserver_events(&buf, ctx_.get(), name.c_str()));
        return detail::take(buf);
    }

    std::optional<LastExit> last_exit(const std::string &name) {
        LastExit e;
        int unexpected = 0;
        int rc = sharedserver_last_exit(&e.exit_code, &e.signal, &e.at_ms, &unexpected, ctx_.get(), name.c_str());
        if (rc == SHAREDSERVER_ENOTRUNNING) return std::nullopt;
        detail::check(rc);
        e.unexpected = unexpected != 0;
        return e;
    }

    std::string log_path(const std::string &name) {
        sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
        detail::check(sharedserver_log_path(&buf, ctx_.get(), name.c_str()));
        return detail::take(buf);
    }

    std::string log_tail(const std::string &name, std::size_t lines) {
        sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
        detail::check(sharedserver_log_tail(&buf, ctx_.get(), name.c_str(), lines));
        return detail::take(buf);
    }

private:
    static void fill(sharedserver_use_options &o, const UseOptions &options, const std::vector<const char *> &argv,
                     const std::vector<const char *> &env) {
        detail::refuse_nul(options.working_dir, "the working dir");
        detail::refuse_nul(options.log_file, "the log file");
        detail::refuse_nul(options.metadata, "the metadata");
        detail::refuse_nul(options.ready_target, "the readiness target");
        o.argv = argv.empty() ? nullptr : argv.data();
        o.argc = argv.size();
        o.env = env.empty() ? nullptr : env.data();
        o.envc = env.size();
        o.working_dir = options.working_dir.empty() ? nullptr : options.working_dir.c_str();
        o.log_file = options.log_file.empty() ? nullptr : options.log_file.c_str();
        o.grace_period_ms = options.grace_period_ms.value_or(-1);
        o.client_pid = options.client_pid;
        o.metadata = options.metadata.empty() ? nullptr : options.metadata.c_str();
        o.ready_kind = options.ready_kind;
        o.ready_target = options.ready_target.empty() ? nullptr : options.ready_target.c_str();
        o.ready_timeout_ms = options.ready_timeout_ms;
        o.ready_interval_ms = options.ready_interval_ms;
        o.no_wait = options.no_wait ? 1 : 0;
        o.port = options.port;
        o.restart_policy = options.restart_policy;
        o.max_restarts = options.max_restarts;
        o.restart_window_ms = options.restart_window_ms;
        o.on_mismatch = options.on_mismatch;
        o.log_max_size = options.log_max_size;
    }

    struct Free {
        void operator()(sharedserver_context *ctx) const noexcept { sharedserver_context_free(ctx); }
    };
    std::unique_ptr<sharedserver_context, Free> ctx_;
};

// sharedserver_up / sharedserver_down for client_pid (0: this process):
// the report as JSON text.
inline std::string up(Context &ctx, const Project &project, const std::string &profile, int64_t client_pid = 0) {
    sharedserver_client_options client = SHAREDSERVER_CLIENT_OPTIONS_INIT;
    client.client_pid = client_pid;
    sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
    detail::check(sharedserver_up(&buf, ctx.get(), project.get(), profile.c_str(), &client));
    return detail::take(buf);
}

inline std::string down(Context &ctx, const std::string &profile, int64_t client_pid = 0) {
    sharedserver_client_options client = SHAREDSERVER_CLIENT_OPTIONS_INIT;
    client.client_pid = client_pid;
    sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
    detail::check(sharedserver_down(&buf, ctx.get(), profile.c_str(), &client));
    return detail::take(buf);
}

}  // namespace api
}  // namespace sharedserver

#endif  // SHAREDSERVER_HPP
