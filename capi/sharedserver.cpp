// The extern "C" shim: handles, error codes and buffers over the C++ core.
// No exception crosses this boundary; every entry point is wrapped by guard().
#include "sharedserver/sharedserver.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fstream>
#include <memory>
#include <new>
#include <string>
#include <unistd.h>
#include <vector>

#include "../libsharedserver/change_watch.hpp"
#include "../libsharedserver/client_use.hpp"
#include "../libsharedserver/clock.hpp"
#include "../libsharedserver/definition.hpp"
#include "../libsharedserver/duration.hpp"
#include "../libsharedserver/enums.hpp"
#include "../libsharedserver/events.hpp"
#include "../libsharedserver/exit_info.hpp"
#include "../libsharedserver/health.hpp"
#include "../libsharedserver/lifecycle.hpp"
#include "../libsharedserver/log_tail.hpp"
#include "../libsharedserver/names.hpp"
#include "../libsharedserver/config_edit.hpp"
#include "../libsharedserver/profiles.hpp"
#include "../libsharedserver/project.hpp"
#include "../libsharedserver/ready_wait.hpp"
#include "../libsharedserver/spawn.hpp"
#include "../libsharedserver/state_dir.hpp"
#include "../libsharedserver/status.hpp"

using namespace sharedserver;

struct sharedserver_context {
    Lifecycle lifecycle;
};

struct sharedserver_info {
    ServerInfo info;
};

struct sharedserver_list {
    std::vector<sharedserver_info> items;
};

struct sharedserver_project {
    Project project;
    // Per server: the C views of its strings, borrowed by use options.
    std::vector<std::vector<const char *>> argv, env;
};

struct sharedserver_definition {
    Definition definition;
};

struct sharedserver_exit {
    ExitInfo exit;
};

struct sharedserver_watch {
    std::unique_ptr<ChangeWatch> watch;
    Change current;  // what the last sharedserver_watch_next() lent out
};

namespace {

struct LastError {
    int code = 0;
    int sys_errno = 0;
    std::string message;
    std::string path;
    std::string key;
};

thread_local LastError last_error;

int set_error(const Error &error) {
    last_error = {error.code, error.sys_errno, error.message, error.path, error.key};
    return error.code;
}

int set_error(int code, std::string message) { return set_error(Error{code, std::move(message), 0, {}, {}}); }

// Options structs are append-only: a version this library does not know
// would have it read fields the caller never wrote.
bool check_version(const char *type, unsigned version, unsigned current) {
    if (version >= 1 && version <= current) return true;
    set_error(SHAREDSERVER_EINVALID, std::string("unsupported ") + type + " version " + std::to_string(version) +
                                         " (this library knows 1 to " + std::to_string(current) + ")");
    return false;
}

int ok() {
    last_error = {};
    return SHAREDSERVER_OK;
}

template <class F>
int guard(F &&body) {
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return set_error(SHAREDSERVER_ERROR, "out of memory");
    } catch (const std::exception &e) {
        return set_error(SHAREDSERVER_ERROR, std::string("internal error: ") + e.what());
    } catch (...) {
        return set_error(SHAREDSERVER_ERROR, "internal error");
    }
}

int fill_buf(sharedserver_buf *out, const std::string &text) {
    if (!out) return set_error(SHAREDSERVER_EINVALID, "the output buffer is NULL");
    char *copy = static_cast<char *>(std::malloc(text.size() + 1));
    if (!copy) return set_error(SHAREDSERVER_ERROR, "out of memory");
    std::memcpy(copy, text.data(), text.size());
    copy[text.size()] = '\0';
    sharedserver_buf_dispose(out);
    out->ptr = copy;
    out->size = text.size();
    return ok();
}

bool check_name(const char *name) {
    if (!name) {
        set_error(SHAREDSERVER_EINVALID, "the server name is NULL");
        return false;
    }
    if (auto valid = validate_name(name); !valid) {
        set_error(valid.error());
        return false;
    }
    return true;
}

bool check_context(const sharedserver_context *ctx) {
    if (ctx) return true;
    set_error(SHAREDSERVER_EINVALID, "the context is NULL; open one with sharedserver_context_open()");
    return false;
}

std::vector<std::string> strings(const char *const *items, size_t count) {
    std::vector<std::string> out;
    for (size_t i = 0; items && i < count; ++i) out.emplace_back(items[i] ? items[i] : "");
    return out;
}

// The layout of version 1 of sharedserver_use_options, for callers built
// against it: only those fields may be read from their struct.
struct use_options_v1 {
    unsigned version;
    const char *const *argv;
    size_t argc;
    const char *const *env;
    size_t envc;
    const char *working_dir;
    const char *log_file;
    int64_t grace_period_ms;
    int64_t client_pid;
    const char *metadata;
};

// Version 2 added readiness, port and restart policy.
struct use_options_v2 {
    use_options_v1 v1;
    int ready_kind;
    const char *ready_target;
    int64_t ready_timeout_ms;
    int64_t ready_interval_ms;
    int no_wait;
    int port;
    int restart_policy;
    int max_restarts;
    int64_t restart_window_ms;
};

std::size_t use_options_size(unsigned version) {
    return version == 1 ? sizeof(use_options_v1) : version == 2 ? sizeof(use_options_v2) : sizeof(sharedserver_use_options);
}

// Reads only the fields the caller's struct version has; the rest keep
// their defaults. false (the error set) for a version it does not know.
bool effective_options(sharedserver_use_options &o, const sharedserver_use_options *opts) {
    o = SHAREDSERVER_USE_OPTIONS_INIT;
    if (!opts) return true;
    if (!check_version("sharedserver_use_options", opts->version, SHAREDSERVER_USE_OPTIONS_VERSION)) return false;
    std::memcpy(&o, opts, use_options_size(opts->version));
    o.version = SHAREDSERVER_USE_OPTIONS_VERSION;
    return true;
}

bool effective_client(ClientOptions &out, const sharedserver_client_options *client) {
    out = {};
    if (!client) return true;
    if (!check_version("sharedserver_client_options", client->version, SHAREDSERVER_CLIENT_OPTIONS_VERSION)) return false;
    out.client_pid = client->client_pid;
    out.metadata = client->metadata ? client->metadata : "";
    out.no_wait = client->no_wait != 0;
    out.wait_timeout_ms = client->wait_timeout_ms;
    return true;
}

ServerSpec spec_from(const sharedserver_use_options &o) {
    ServerSpec spec;
    spec.argv = strings(o.argv, o.argc);
    spec.env = strings(o.env, o.envc);
    spec.working_dir = o.working_dir ? o.working_dir : "";
    spec.log_file = o.log_file ? o.log_file : "";
    spec.grace_period_ms = o.grace_period_ms;
    spec.ready.kind = o.ready_kind;
    spec.ready.target = o.ready_target ? o.ready_target : "";
    spec.ready.timeout_ms = o.ready_timeout_ms;
    spec.ready.interval_ms = o.ready_interval_ms;
    spec.port = o.port;
    spec.restart.mode = o.restart_policy;
    spec.restart.max_restarts = o.max_restarts;
    spec.restart.window_ms = o.restart_window_ms;
    spec.log_max_size = o.log_max_size;
    return spec;
}

// The old options struct as a definition: the same checks follow at use.
Definition definition_from(const sharedserver_use_options &o) {
    Definition def;
    def.spec = spec_from(o);
    def.working_dir_given = o.working_dir && *o.working_dir;
    def.on_mismatch = o.on_mismatch;
    return def;
}

ClientOptions client_from(const sharedserver_use_options &o) {
    return {o.client_pid, o.metadata ? o.metadata : "", o.no_wait != 0, -1};
}

const ClientInfo *client_at(const sharedserver_info *info, size_t i) {
    if (!info || i >= info->info.clients.size()) return nullptr;
    return &info->info.clients[i];
}

const char *string_at(const std::vector<std::string> &items, size_t i) {
    return i < items.size() ? items[i].c_str() : "";
}

template <class Init>
int init_struct(const char *type, unsigned version, unsigned current, void *target, std::size_t size, Init defaults) {
    if (!target) return set_error(SHAREDSERVER_EINVALID, std::string("the ") + type + " to initialise is NULL");
    if (!check_version(type, version, current)) return last_error.code;
    auto full = defaults;
    std::memcpy(target, &full, size);
    *static_cast<unsigned *>(target) = version;
    return ok();
}

int fill_result(sharedserver_use_result *result, const UseOutcome &outcome) {
    if (!result) return ok();
    result->outcome = outcome.outcome;
    result->pid = outcome.server.pid;
    result->refcount = outcome.refcount;
    std::snprintf(result->mismatch, sizeof result->mismatch, "%s", outcome.mismatch.c_str());
    if (result->version >= 2) {
        result->port = outcome.port;
        result->ready = outcome.ready ? 1 : 0;
    }
    return ok();
}

int use_with(sharedserver_use_result *result, sharedserver_context *ctx, const char *name, const Definition *def,
             const ClientOptions &client) {
    if (result && !check_version("sharedserver_use_result", result->version, SHAREDSERVER_USE_RESULT_VERSION))
        return last_error.code;
    auto outcome = use_server(ctx->lifecycle, name, def, client);
    if (!outcome) return set_error(outcome.error());
    return fill_result(result, *outcome);
}

int start_with(int64_t *pid_out, sharedserver_context *ctx, const char *name, const Definition &def,
               const ClientOptions &client) {
    auto record = start_server(ctx->lifecycle, name, def, client);
    if (!record) return set_error(record.error());
    if (pid_out) *pid_out = record->server.pid;
    return ok();
}

}  // namespace

extern "C" {

const char *sharedserver_version(void) { return SHAREDSERVER_VERSION_STRING; }

int sharedserver_abi_version(void) { return SHAREDSERVER_ABI_VERSION; }

const char *sharedserver_library_path(void) {
    static const std::string path = [] {
        Dl_info info{};
        if (::dladdr(reinterpret_cast<void *>(&sharedserver_library_path), &info) == 0 || !info.dli_fname)
            return std::string();
        char resolved[PATH_MAX];
        return std::string(::realpath(info.dli_fname, resolved) ? resolved : info.dli_fname);
    }();
    return path.c_str();
}

const char *sharedserver_error_last(void) { return last_error.message.c_str(); }
int sharedserver_error_last_code(void) { return last_error.code; }
int sharedserver_error_last_errno(void) { return last_error.sys_errno; }
const char *sharedserver_error_last_path(void) { return last_error.path.c_str(); }
const char *sharedserver_error_last_key(void) { return last_error.key.c_str(); }

void sharedserver_buf_dispose(sharedserver_buf *buf) {
    if (!buf) return;
    std::free(buf->ptr);
    buf->ptr = nullptr;
    buf->size = 0;
}

int sharedserver_duration_parse(int64_t *out_ms, const char *text) {
    return guard([&] {
        if (!out_ms || !text) return set_error(SHAREDSERVER_EINVALID, "duration_parse needs a text and an output");
        auto ms = parse_duration(text);
        if (!ms) return set_error(ms.error());
        *out_ms = *ms;
        return ok();
    });
}

int sharedserver_duration_format(sharedserver_buf *out, int64_t ms) {
    return guard([&] { return fill_buf(out, format_duration(ms)); });
}

int sharedserver_name_validate(const char *name) {
    return guard([&] { return check_name(name) ? ok() : last_error.code; });
}

const char *sharedserver_state_name(int state) { return state_name(state); }

size_t sharedserver_enum_count(int kind) { return enum_entries(kind).size(); }

int sharedserver_enum_at(int *value_out, const char **name_out, int kind, size_t i) {
    auto entries = enum_entries(kind);
    if (i >= entries.size())
        return set_error(SHAREDSERVER_EINVALID, "enum kind " + std::to_string(kind) + " has no entry " + std::to_string(i) +
                                                    " (it has " + std::to_string(entries.size()) + ")");
    if (value_out) *value_out = entries[i].value;
    if (name_out) *name_out = entries[i].name;
    return ok();
}

const char *sharedserver_enum_name(int kind, int value) { return enum_name(kind, value); }

int sharedserver_enum_parse(int *value_out, int kind, const char *name) {
    return guard([&] {
        if (!value_out || !name) return set_error(SHAREDSERVER_EINVALID, "enum_parse needs a name and an output");
        auto value = enum_parse(kind, name);
        if (!value) return set_error(value.error());
        *value_out = *value;
        return ok();
    });
}

int sharedserver_context_open(sharedserver_context **out, const char *state_dir) {
    return guard([&] {
        if (!out) return set_error(SHAREDSERVER_EINVALID, "the context output pointer is NULL");
        *out = nullptr;
        auto dir = absolute_state_dir(state_dir && *state_dir ? state_dir : default_state_dir());
        if (!dir) return set_error(dir.error());
        if (auto ready = ensure_private_directory(*dir); !ready) return set_error(ready.error());
        *out = new sharedserver_context{Lifecycle(*dir, "")};
        return ok();
    });
}

void sharedserver_context_free(sharedserver_context *ctx) { delete ctx; }

const char *sharedserver_context_state_dir(const sharedserver_context *ctx) {
    return ctx ? ctx->lifecycle.state_dir().c_str() : "";
}

const char *sharedserver_context_watcher_path(const sharedserver_context *ctx) {
    return ctx ? ctx->lifecycle.watcher_path().c_str() : "";
}

int sharedserver_context_health(sharedserver_buf *json, sharedserver_context *ctx) {
    return guard([&] {
        if (!check_context(ctx)) return last_error.code;
        return fill_buf(json, state_dir_health_json(ctx->lifecycle.state_dir(), ctx->lifecycle.watcher_path()));
    });
}

int sharedserver_use_options_init(sharedserver_use_options *opts, unsigned version) {
    // A caller built against an older header owns a smaller struct: only its
    // fields may be written.
    return guard([&] {
        return init_struct("sharedserver_use_options", version, SHAREDSERVER_USE_OPTIONS_VERSION, opts,
                           use_options_size(version), sharedserver_use_options SHAREDSERVER_USE_OPTIONS_INIT);
    });
}

int sharedserver_use_result_init(sharedserver_use_result *result, unsigned version) {
    // Version 1 ends after mismatch; version 2 added port and ready.
    std::size_t size = version == 1 ? offsetof(sharedserver_use_result, port) : sizeof(sharedserver_use_result);
    return guard([&] {
        return init_struct("sharedserver_use_result", version, SHAREDSERVER_USE_RESULT_VERSION, result, size,
                           sharedserver_use_result SHAREDSERVER_USE_RESULT_INIT);
    });
}

int sharedserver_client_options_init(sharedserver_client_options *opts, unsigned version) {
    return guard([&] {
        return init_struct("sharedserver_client_options", version, SHAREDSERVER_CLIENT_OPTIONS_VERSION, opts,
                           sizeof(sharedserver_client_options), sharedserver_client_options SHAREDSERVER_CLIENT_OPTIONS_INIT);
    });
}

int sharedserver_wait_options_init(sharedserver_wait_options *opts, unsigned version) {
    return guard([&] {
        return init_struct("sharedserver_wait_options", version, SHAREDSERVER_WAIT_OPTIONS_VERSION, opts,
                           sizeof(sharedserver_wait_options), sharedserver_wait_options SHAREDSERVER_WAIT_OPTIONS_INIT);
    });
}

int sharedserver_stop_options_init(sharedserver_stop_options *opts, unsigned version) {
    return guard([&] {
        return init_struct("sharedserver_stop_options", version, SHAREDSERVER_STOP_OPTIONS_VERSION, opts,
                           sizeof(sharedserver_stop_options), sharedserver_stop_options SHAREDSERVER_STOP_OPTIONS_INIT);
    });
}

int sharedserver_use(sharedserver_use_result *result, sharedserver_context *ctx, const char *name,
                     const sharedserver_use_options *opts) {
    return guard([&] {
        if (!check_context(ctx) || !check_name(name)) return last_error.code;
        sharedserver_use_options o;
        if (!effective_options(o, opts)) return last_error.code;
        Definition def = definition_from(o);
        return use_with(result, ctx, name, o.argv && o.argc > 0 ? &def : nullptr, client_from(o));
    });
}

int sharedserver_use_definition(sharedserver_use_result *result, sharedserver_context *ctx, const char *name,
                                const sharedserver_definition *def, const sharedserver_client_options *client) {
    return guard([&] {
        if (!check_context(ctx) || !check_name(name)) return last_error.code;
        ClientOptions c;
        if (!effective_client(c, client)) return last_error.code;
        return use_with(result, ctx, name, def ? &def->definition : nullptr, c);
    });
}

int sharedserver_start_definition(int64_t *pid_out, sharedserver_context *ctx, const char *name,
                                  const sharedserver_definition *def, const sharedserver_client_options *client) {
    return guard([&] {
        if (!check_context(ctx) || !check_name(name)) return last_error.code;
        if (!def) return set_error(SHAREDSERVER_EINVALID, "start_definition needs a definition with a command");
        ClientOptions c;
        if (!effective_client(c, client)) return last_error.code;
        return start_with(pid_out, ctx, name, def->definition, c);
    });
}

int sharedserver_definition_parse(sharedserver_definition **out, const char *json, const char *base_dir) {
    return guard([&] {
        if (!out) return set_error(SHAREDSERVER_EINVALID, "the definition output pointer is NULL");
        *out = nullptr;
        if (!json) return set_error(SHAREDSERVER_EINVALID, "the definition text is NULL");
        auto def = parse_definition_text(json, base_dir ? base_dir : "");
        if (!def) return set_error(def.error());
        *out = new sharedserver_definition{std::move(*def)};
        return ok();
    });
}

void sharedserver_definition_free(sharedserver_definition *def) { delete def; }

int sharedserver_definition_json(sharedserver_buf *out, const sharedserver_definition *def) {
    return guard([&] {
        if (!def) return set_error(SHAREDSERVER_EINVALID, "the definition is NULL");
        return fill_buf(out, definition_to_json(def->definition).dump());
    });
}

int sharedserver_definition_keys(sharedserver_buf *out) {
    return guard([&] { return fill_buf(out, definition_keys_json()); });
}

int sharedserver_unuse(size_t *refcount_out, sharedserver_context *ctx, const char *name, int64_t client_pid) {
    return guard([&] {
        if (!check_context(ctx) || !check_name(name)) return last_error.code;
        auto pid = client_pid_of(client_pid);
        if (!pid) return set_error(pid.error());
        auto refcount = ctx->lifecycle.unuse(name, *pid);
        if (!refcount) return set_error(refcount.error());
        if (refcount_out) *refcount_out = *refcount;
        return ok();
    });
}

int sharedserver_start(int64_t *pid_out, sharedserver_context *ctx, const char *name,
                       const sharedserver_use_options *opts) {
    return guard([&] {
        if (!check_context(ctx) || !check_name(name)) return last_error.code;
        sharedserver_use_options o;
        if (!effective_options(o, opts)) return last_error.code;
        return start_with(pid_out, ctx, name, definition_from(o), client_from(o));
    });
}

int sharedserver_wait(sharedserver_context *ctx, const char *name, const sharedserver_wait_options *opts) {
    return guard([&] {
        if (!check_context(ctx) || !check_name(name)) return last_error.code;
        sharedserver_wait_options o = SHAREDSERVER_WAIT_OPTIONS_INIT;
        if (opts && !check_version("sharedserver_wait_options", opts->version, SHAREDSERVER_WAIT_OPTIONS_VERSION))
            return last_error.code;
        if (opts) o = *opts;
        WaitProgress progress;
        if (o.progress)
            progress = [&](int64_t elapsed, const std::string &line) { o.progress(elapsed, line.c_str(), o.payload); };
        // A failure older than this wait is history, not this server's answer.
        auto waited = wait_until_ready(ctx->lifecycle.files(name), o.timeout_ms, {0, unix_now_ms()}, progress);
        if (!waited) return set_error(waited.error());
        return ok();
    });
}

int sharedserver_stop(sharedserver_context *ctx, const char *name, const sharedserver_stop_options *opts) {
    return guard([&] {
        if (!check_context(ctx) || !check_name(name)) return last_error.code;
        sharedserver_stop_options o = SHAREDSERVER_STOP_OPTIONS_INIT;
        if (opts && !check_version("sharedserver_stop_options", opts->version, SHAREDSERVER_STOP_OPTIONS_VERSION))
            return last_error.code;
        if (opts) o = *opts;
        auto stopped = ctx->lifecycle.stop(name, o.force != 0, o.timeout_ms);
        if (!stopped) return set_error(stopped.error());
        return ok();
    });
}

int sharedserver_restart(int64_t *pid_out, sharedserver_context *ctx, const char *name) {
    return guard([&] {
        if (!check_context(ctx) || !check_name(name)) return last_error.code;
        auto server = ctx->lifecycle.restart(name);
        if (!server) return set_error(server.error());
        if (pid_out) *pid_out = server->pid;
        return ok();
    });
}

int sharedserver_kill(sharedserver_context *ctx, const char *name) {
    return guard([&] {
        if (!check_context(ctx) || !check_name(name)) return last_error.code;
        auto killed = ctx->lifecycle.kill(name);
        if (!killed) return set_error(killed.error());
        return ok();
    });
}

int sharedserver_doctor(sharedserver_buf *report, sharedserver_context *ctx, const char *name) {
    return guard([&] {
        if (!check_context(ctx)) return last_error.code;
        if (name && !check_name(name)) return last_error.code;
        auto repairs = ctx->lifecycle.doctor(name ? name : "");
        if (!repairs) return set_error(repairs.error());
        std::string text;
        for (const auto &line : *repairs) text += line + "\n";
        return report ? fill_buf(report, text) : ok();
    });
}

int sharedserver_info_get(sharedserver_info **out, sharedserver_context *ctx, const char *name) {
    return guard([&] {
        if (!out) return set_error(SHAREDSERVER_EINVALID, "the info output pointer is NULL");
        *out = nullptr;
        if (!check_context(ctx) || !check_name(name)) return last_error.code;
        auto info = read_server_info(ctx->lifecycle.files(name));
        if (!info) return set_error(info.error());
        *out = new sharedserver_info{std::move(*info)};
        return ok();
    });
}

void sharedserver_info_free(sharedserver_info *info) { delete info; }

int sharedserver_check(int *state_out, sharedserver_context *ctx, const char *name) {
    return guard([&] {
        if (!state_out) return set_error(SHAREDSERVER_EINVALID, "the state output pointer is NULL");
        if (!check_context(ctx) || !check_name(name)) return last_error.code;
        auto state = read_server_state(ctx->lifecycle.files(name));
        if (!state) return set_error(state.error());
        *state_out = *state;
        return ok();
    });
}

const char *sharedserver_info_name(const sharedserver_info *i) { return i ? i->info.name.c_str() : ""; }
int sharedserver_info_state(const sharedserver_info *i) { return i ? i->info.state : SHAREDSERVER_STOPPED; }
int64_t sharedserver_info_pid(const sharedserver_info *i) { return i ? i->info.pid : 0; }
int64_t sharedserver_info_watcher_pid(const sharedserver_info *i) { return i ? i->info.watcher_pid : 0; }
size_t sharedserver_info_refcount(const sharedserver_info *i) { return i ? i->info.clients.size() : 0; }
int64_t sharedserver_info_client_pid(const sharedserver_info *i, size_t n) {
    auto *c = client_at(i, n);
    return c ? c->pid : 0;
}
int64_t sharedserver_info_client_attached_at(const sharedserver_info *i, size_t n) {
    auto *c = client_at(i, n);
    return c ? c->attached_at_ms : 0;
}
const char *sharedserver_info_client_metadata(const sharedserver_info *i, size_t n) {
    auto *c = client_at(i, n);
    return c ? c->metadata.c_str() : "";
}
size_t sharedserver_info_argc(const sharedserver_info *i) { return i ? i->info.spec.argv.size() : 0; }
const char *sharedserver_info_argv(const sharedserver_info *i, size_t n) {
    return i ? string_at(i->info.spec.argv, n) : "";
}
size_t sharedserver_info_depends_on_count(const sharedserver_info *i) { return i ? i->info.spec.depends_on.size() : 0; }
const char *sharedserver_info_depends_on(const sharedserver_info *i, size_t n) {
    return i ? string_at(i->info.spec.depends_on, n) : "";
}
size_t sharedserver_info_needed_by_count(const sharedserver_info *i) { return i ? i->info.needed_by.size() : 0; }
const char *sharedserver_info_needed_by(const sharedserver_info *i, size_t n) {
    return i ? string_at(i->info.needed_by, n) : "";
}
size_t sharedserver_info_envc(const sharedserver_info *i) { return i ? i->info.spec.env.size() : 0; }
const char *sharedserver_info_env(const sharedserver_info *i, size_t n) {
    return i ? string_at(i->info.spec.env, n) : "";
}
const char *sharedserver_info_working_dir(const sharedserver_info *i) { return i ? i->info.spec.working_dir.c_str() : ""; }
const char *sharedserver_info_log_file(const sharedserver_info *i) { return i ? i->info.spec.log_file.c_str() : ""; }
int64_t sharedserver_info_grace_period_ms(const sharedserver_info *i) { return i ? i->info.spec.grace_period_ms : 0; }
int64_t sharedserver_info_grace_deadline(const sharedserver_info *i) { return i ? i->info.grace_deadline_ms : 0; }
int64_t sharedserver_info_started_at(const sharedserver_info *i) { return i ? i->info.started_at_ms : 0; }
int sharedserver_info_port(const sharedserver_info *i) { return i ? i->info.port : 0; }
int64_t sharedserver_info_ready_at(const sharedserver_info *i) { return i ? i->info.ready_at_ms : 0; }
size_t sharedserver_info_restart_count(const sharedserver_info *i) { return i ? i->info.restarts : 0; }
const char *sharedserver_info_error(const sharedserver_info *i) { return i ? i->info.error.c_str() : ""; }

int sharedserver_info_json(sharedserver_buf *out, const sharedserver_info *info) {
    return guard([&] {
        if (!info) return set_error(SHAREDSERVER_EINVALID, "the info is NULL");
        return fill_buf(out, info_to_json(info->info));
    });
}

int sharedserver_list_get(sharedserver_list **out, sharedserver_context *ctx) {
    return guard([&] {
        if (!out) return set_error(SHAREDSERVER_EINVALID, "the list output pointer is NULL");
        *out = nullptr;
        if (!check_context(ctx)) return last_error.code;
        auto *list = new sharedserver_list;
        for (auto &info : list_servers(ctx->lifecycle.state_dir())) list->items.push_back({std::move(info)});
        *out = list;
        return ok();
    });
}

void sharedserver_list_free(sharedserver_list *list) { delete list; }
size_t sharedserver_list_count(const sharedserver_list *list) { return list ? list->items.size() : 0; }
const sharedserver_info *sharedserver_list_at(const sharedserver_list *list, size_t i) {
    return list && i < list->items.size() ? &list->items[i] : nullptr;
}

int sharedserver_list_json(sharedserver_buf *out, const sharedserver_list *list) {
    return guard([&] {
        if (!list) return set_error(SHAREDSERVER_EINVALID, "the list is NULL");
        std::vector<ServerInfo> infos;
        for (const auto &item : list->items) infos.push_back(item.info);
        return fill_buf(out, infos_to_json(infos));
    });
}

int sharedserver_project_open(sharedserver_project **out, const char *path, const char *start_dir) {
    return guard([&] {
        if (!out) return set_error(SHAREDSERVER_EINVALID, "the project output pointer is NULL");
        *out = nullptr;
        auto found = find_project_file(path ? path : "", start_dir ? start_dir : "");
        if (!found) return set_error(found.error());
        if (!*found)
            return set_error(SHAREDSERVER_ENOTFOUND,
                             "no sharedserver.json, .sharedserver.json or .sharedserver/servers.json in this directory or "
                             "above it, nor ~/.config/sharedserver/servers.json; create one or pass --config");
        auto project = load_project(**found);
        if (!project) return set_error(project.error());
        auto *handle = new sharedserver_project{std::move(*project), {}, {}};
        for (const auto &server : handle->project.servers) {
            std::vector<const char *> argv, env;
            for (const auto &a : server.definition.spec.argv) argv.push_back(a.c_str());
            for (const auto &e : server.definition.spec.env) env.push_back(e.c_str());
            handle->argv.push_back(std::move(argv));
            handle->env.push_back(std::move(env));
        }
        *out = handle;
        return ok();
    });
}

void sharedserver_project_free(sharedserver_project *project) { delete project; }

const char *sharedserver_project_path(const sharedserver_project *p) { return p ? p->project.path.c_str() : ""; }

size_t sharedserver_project_count(const sharedserver_project *p) { return p ? p->project.servers.size() : 0; }

const char *sharedserver_project_name(const sharedserver_project *p, size_t i) {
    return p && i < p->project.servers.size() ? p->project.servers[i].name.c_str() : "";
}

int sharedserver_project_lazy(const sharedserver_project *p, const char *name) {
    if (!p || !name) return SHAREDSERVER_EINVALID;
    const ProjectServer *server = p->project.find(name);
    return server ? (server->definition.lazy ? 1 : 0) : SHAREDSERVER_ENOTFOUND;
}

int sharedserver_project_definition(sharedserver_definition **out, const sharedserver_project *p, const char *name) {
    return guard([&] {
        if (!out) return set_error(SHAREDSERVER_EINVALID, "the definition output pointer is NULL");
        *out = nullptr;
        if (!p || !name) return set_error(SHAREDSERVER_EINVALID, "project_definition needs a project and a name");
        const ProjectServer *server = p->project.find(name);
        if (!server) return set_error(SHAREDSERVER_ENOTFOUND, p->project.path + " does not define a server " + quote(name));
        *out = new sharedserver_definition{server->definition};
        return ok();
    });
}

int sharedserver_project_universal(const sharedserver_project *p, const char *name) {
    return guard([&] {
        if (!p || !name) return set_error(SHAREDSERVER_EINVALID, "project_universal needs a project and a name");
        if (!p->project.find(name))
            return set_error(SHAREDSERVER_ENOTFOUND, p->project.path + " does not define a server " + quote(name));
        return comes_up_without_a_profile(p->project, name) ? 1 : 0;
    });
}

int sharedserver_definition_set_project(sharedserver_definition *def, const sharedserver_project *p) {
    return guard([&] {
        if (!def) return set_error(SHAREDSERVER_EINVALID, "the definition is NULL");
        // Every definition of a loaded project shares one snapshot of it
        // (parse_project): point at that rather than copy the file's servers.
        def->definition.project =
            p && !p->project.servers.empty() ? p->project.servers.front().definition.project : nullptr;
        return ok();
    });
}

int sharedserver_project_use_options(sharedserver_use_options *opts, const sharedserver_project *p, const char *name) {
    return guard([&] {
        if (!opts || !p || !name) return set_error(SHAREDSERVER_EINVALID, "project_use_options needs options, a project and a name");
        if (!check_version("sharedserver_use_options", opts->version, SHAREDSERVER_USE_OPTIONS_VERSION)) return last_error.code;
        if (opts->version < 2)
            return set_error(SHAREDSERVER_EINVALID, "project definitions need sharedserver_use_options version 2 or later");
        const auto &servers = p->project.servers;
        for (std::size_t i = 0; i < servers.size(); ++i) {
            if (servers[i].name != name) continue;
            const ServerSpec &spec = servers[i].definition.spec;
            // The options struct has no field for it: dropping it would start
            // the server unwatched while the file says otherwise.
            if (spec.liveness.probe.kind != SHAREDSERVER_PROBE_NONE)
                return set_error(SHAREDSERVER_EINVALID,
                                 p->project.path + ": servers." + servers[i].name +
                                     ".liveness cannot be passed as sharedserver_use_options: use the definition "
                                     "(sharedserver_project_definition, sharedserver_use_definition)");
            opts->argv = p->argv[i].data();
            opts->argc = p->argv[i].size();
            opts->env = p->env[i].empty() ? nullptr : p->env[i].data();
            opts->envc = p->env[i].size();
            opts->working_dir = spec.working_dir.empty() ? nullptr : spec.working_dir.c_str();
            opts->log_file = spec.log_file.empty() ? nullptr : spec.log_file.c_str();
            opts->grace_period_ms = spec.grace_period_ms;
            opts->ready_kind = spec.ready.kind;
            opts->ready_target = spec.ready.target.empty() ? nullptr : spec.ready.target.c_str();
            opts->ready_timeout_ms = spec.ready.timeout_ms;
            opts->ready_interval_ms = spec.ready.interval_ms;
            opts->port = spec.port;
            opts->restart_policy = spec.restart.mode;
            opts->max_restarts = spec.restart.max_restarts;
            opts->restart_window_ms = spec.restart.window_ms;
            if (opts->version >= 3) {
                opts->on_mismatch = servers[i].definition.on_mismatch;
                opts->log_max_size = spec.log_max_size;
            }
            return ok();
        }
        return set_error(SHAREDSERVER_ENOTFOUND, p->project.path + " does not define a server " + quote(name));
    });
}

size_t sharedserver_project_warning_count(const sharedserver_project *p) { return p ? p->project.warnings.size() : 0; }

const char *sharedserver_project_warning(const sharedserver_project *p, size_t i) {
    return p && i < p->project.warnings.size() ? p->project.warnings[i].c_str() : "";
}

int sharedserver_project_json(sharedserver_buf *out, const sharedserver_project *p) {
    return guard([&] {
        if (!p) return set_error(SHAREDSERVER_EINVALID, "the project is NULL");
        return fill_buf(out, project_to_json(p->project).dump());
    });
}

namespace {

std::vector<std::string> strings_of(const char *const *items, size_t count) {
    std::vector<std::string> out;
    for (size_t i = 0; items && i < count; ++i)
        if (items[i]) out.emplace_back(items[i]);
    return out;
}

bool check_file(const char *file) {
    if (file && *file) return true;
    set_error(SHAREDSERVER_EINVALID, "the config file is NULL or empty (sharedserver_config_path gives it)");
    return false;
}

}  // namespace

int sharedserver_config_path(sharedserver_buf *out, const char *path, const char *start_dir) {
    return guard([&] {
        auto file = config_file_to_edit(path ? path : "", start_dir ? start_dir : "");
        if (!file) return set_error(file.error());
        return fill_buf(out, *file);
    });
}

int sharedserver_config_register(sharedserver_buf *outcome, const char *file, const char *scope, const char *name,
                                 const char *definition_json, const char *const *profiles, size_t profile_count,
                                 int if_absent) {
    return guard([&] {
        if (!check_file(file)) return last_error.code;
        if (!name || !definition_json) return set_error(SHAREDSERVER_EINVALID, "register needs a name and a definition");
        auto done = config_register(file, scope ? scope : "", name, definition_json, strings_of(profiles, profile_count),
                                    if_absent != 0);
        if (!done) return set_error(done.error());
        return fill_buf(outcome, *done);
    });
}

int sharedserver_config_unregister(sharedserver_buf *removed, const char *file, const char *scope, const char *name) {
    return guard([&] {
        if (!check_file(file)) return last_error.code;
        auto done = config_unregister(file, scope ? scope : "", name ? name : "");
        if (!done) return set_error(done.error());
        return fill_buf(removed, nlohmann::json(*done).dump());
    });
}

int sharedserver_config_profile(const char *file, const char *profile, const char *const *names, size_t count, int add) {
    return guard([&] {
        if (!check_file(file)) return last_error.code;
        auto done = config_profile_edit(file, profile ? profile : "", strings_of(names, count), add != 0);
        if (!done) return set_error(done.error());
        return ok();
    });
}

int sharedserver_up(sharedserver_buf *report, sharedserver_context *ctx, const sharedserver_project *project,
                    const char *profile, const sharedserver_client_options *client) {
    return guard([&] {
        if (!check_context(ctx)) return last_error.code;
        if (!project) return set_error(SHAREDSERVER_EINVALID, "up needs a project (sharedserver_project_open)");
        ClientOptions c;
        if (!effective_client(c, client)) return last_error.code;
        auto done = profile_up(ctx->lifecycle, project->project, profile ? profile : "", c);
        if (!done) return set_error(done.error());
        return fill_buf(report, done->to_json().dump());
    });
}

int sharedserver_down(sharedserver_buf *report, sharedserver_context *ctx, const char *profile,
                      const sharedserver_client_options *client) {
    return guard([&] {
        if (!check_context(ctx)) return last_error.code;
        ClientOptions c;
        if (!effective_client(c, client)) return last_error.code;
        auto done = profile_down(ctx->lifecycle, profile ? profile : "", c);
        if (!done) return set_error(done.error());
        return fill_buf(report, done->to_json().dump());
    });
}

int sharedserver_events(sharedserver_buf *out, sharedserver_context *ctx, const char *name) {
    return guard([&] {
        if (!check_context(ctx) || !check_name(name)) return last_error.code;
        auto text = read_events(ctx->lifecycle.files(name));
        if (!text) return set_error(text.error());
        return fill_buf(out, *text);
    });
}

int sharedserver_last_exit(int *exit_code, int *signal, int64_t *at, int *unexpected, sharedserver_context *ctx,
                           const char *name) {
    return guard([&] {
        if (!check_context(ctx) || !check_name(name)) return last_error.code;
        auto exit = last_exit(ctx->lifecycle.files(name));
        if (!exit)
            return set_error(SHAREDSERVER_ENOTRUNNING, "no exit of " + quote(name) + " is recorded");
        if (exit_code) *exit_code = exit->exit_code;
        if (signal) *signal = exit->signal;
        if (at) *at = exit->at_ms;
        if (unexpected) *unexpected = exit->unexpected ? 1 : 0;
        return ok();
    });
}

int sharedserver_exit_get(sharedserver_exit **out, sharedserver_context *ctx, const char *name, int64_t since_ms) {
    return guard([&] {
        if (!out) return set_error(SHAREDSERVER_EINVALID, "the exit output pointer is NULL");
        *out = nullptr;
        if (!check_context(ctx) || !check_name(name)) return last_error.code;
        auto exit = find_exit(ctx->lifecycle.files(name), since_ms);
        if (!exit) return set_error(SHAREDSERVER_ENOTRUNNING, "no ending of " + quote(name) + " is recorded");
        *out = new sharedserver_exit{std::move(*exit)};
        return ok();
    });
}

void sharedserver_exit_free(sharedserver_exit *e) { delete e; }
int sharedserver_exit_reason(const sharedserver_exit *e) { return e ? e->exit.reason : 0; }
int sharedserver_exit_code(const sharedserver_exit *e) { return e ? e->exit.code : -1; }
int sharedserver_exit_signal(const sharedserver_exit *e) { return e ? e->exit.signal : 0; }
int64_t sharedserver_exit_pid(const sharedserver_exit *e) { return e ? e->exit.pid : 0; }
int64_t sharedserver_exit_at(const sharedserver_exit *e) { return e ? e->exit.at_ms : 0; }
size_t sharedserver_exit_restarts(const sharedserver_exit *e) { return e ? e->exit.restarts : 0; }
int sharedserver_exit_unexpected(const sharedserver_exit *e) { return e && e->exit.unexpected ? 1 : 0; }
int sharedserver_exit_while_starting(const sharedserver_exit *e) { return e && e->exit.while_starting ? 1 : 0; }
const char *sharedserver_exit_message(const sharedserver_exit *e) { return e ? e->exit.message.c_str() : ""; }
const char *sharedserver_exit_log_tail(const sharedserver_exit *e) { return e ? e->exit.log_tail.c_str() : ""; }

int sharedserver_watch_open(sharedserver_watch **out, sharedserver_context *ctx, const char *const *names, size_t count,
                            int64_t since_ms) {
    return guard([&] {
        if (!out) return set_error(SHAREDSERVER_EINVALID, "the watch output pointer is NULL");
        *out = nullptr;
        if (!check_context(ctx)) return last_error.code;
        std::vector<std::string> wanted;
        for (size_t i = 0; names && i < count; ++i) {
            if (!check_name(names[i])) return last_error.code;
            wanted.emplace_back(names[i]);
        }
        auto watch = ChangeWatch::open(ctx->lifecycle.state_dir(), std::move(wanted), since_ms);
        if (!watch) return set_error(watch.error());
        *out = new sharedserver_watch{std::move(*watch), {}};
        return ok();
    });
}

int sharedserver_watch_fd(const sharedserver_watch *w) { return w ? w->watch->fd() : -1; }

int sharedserver_change_init(sharedserver_change *change, unsigned version) {
    return guard([&] {
        return init_struct("sharedserver_change", version, SHAREDSERVER_CHANGE_VERSION, change, sizeof(sharedserver_change),
                           sharedserver_change SHAREDSERVER_CHANGE_INIT);
    });
}

int sharedserver_watch_next(sharedserver_change *out, sharedserver_watch *w, int64_t timeout_ms) {
    return guard([&] {
        if (!out || !w) return set_error(SHAREDSERVER_EINVALID, "watch_next needs a change to fill and a watch");
        if (!check_version("sharedserver_change", out->version, SHAREDSERVER_CHANGE_VERSION)) return last_error.code;
        auto change = w->watch->next(timeout_ms);
        if (!change) return set_error(change.error());
        if (!*change) return set_error(SHAREDSERVER_ETIMEOUT, "no change came within " + format_duration(std::max<int64_t>(timeout_ms, 0)));
        w->current = std::move(**change);
        out->name = w->current.name.c_str();
        out->kind = w->current.kind;
        out->state = w->current.state;
        out->pid = w->current.pid;
        out->at = w->current.at_ms;
        out->json = w->current.json.c_str();
        return ok();
    });
}

void sharedserver_watch_free(sharedserver_watch *w) { delete w; }

int sharedserver_log_path(sharedserver_buf *out, sharedserver_context *ctx, const char *name) {
    return guard([&] {
        if (!check_context(ctx) || !check_name(name)) return last_error.code;
        return fill_buf(out, server_log_path(ctx->lifecycle.files(name)));
    });
}

int sharedserver_log_tail(sharedserver_buf *out, sharedserver_context *ctx, const char *name, size_t lines) {
    return guard([&] {
        if (!check_context(ctx) || !check_name(name)) return last_error.code;
        auto text = tail_server_log(ctx->lifecycle.files(name), lines);
        if (!text) return set_error(text.error());
        return fill_buf(out, *text);
    });
}

}  // extern "C"
