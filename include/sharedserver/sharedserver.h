/*
 * sharedserver — one development server per user and name, shared by every
 * client that needs it, reference counted, stopped a grace period after the
 * last client leaves or dies.
 *
 * This is the stable C ABI. Conventions (see DESIGN.md §9):
 *  - every function returns int: 0 on success or a negative sharedserver_error;
 *    sharedserver_error_last() then describes the failure for this thread;
 *  - out-parameters come first; handles are opaque and freed with their
 *    *_free() function, which accepts NULL;
 *  - strings returned by getters are borrowed from their handle and live as
 *    long as it does; owned strings come back in a sharedserver_buf released
 *    with sharedserver_buf_dispose();
 *  - options structs start with `unsigned version`, are initialised with
 *    their *_INIT macro or *_init() function and only ever grow at the end;
 *    a version of 0 or one newer than this library knows is refused with
 *    SHAREDSERVER_EINVALID;
 *  - string getters never return NULL: "" when the value is absent, the
 *    index out of range or the handle NULL;
 *  - all functions are safe to call from several threads at once; a context
 *    may be shared between threads.
 */
#ifndef SHAREDSERVER_H
#define SHAREDSERVER_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define SHAREDSERVER_API
#elif defined(__GNUC__)
#define SHAREDSERVER_API __attribute__((visibility("default")))
#else
#define SHAREDSERVER_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define SHAREDSERVER_VERSION_MAJOR 0
#define SHAREDSERVER_VERSION_MINOR 1
#define SHAREDSERVER_VERSION_PATCH 0
#define SHAREDSERVER_VERSION_STRING "0.1.0"

/* Bumped whenever a binary-incompatible change is made; bindings refuse a
 * library whose sharedserver_abi_version() differs from the one they were
 * written for. */
#define SHAREDSERVER_ABI_VERSION 1

/* Error codes. Callers branch on the expected ones; the rest are reported. */
typedef enum sharedserver_error {
    SHAREDSERVER_OK = 0,
    SHAREDSERVER_ERROR = -1,           /* anything not listed below */
    SHAREDSERVER_ENOTRUNNING = -2,     /* no live server under that name */
    SHAREDSERVER_EALREADY = -3,        /* a server already runs under that name */
    SHAREDSERVER_EINVALID = -4,        /* a bad argument: name, duration, env, pid... */
    SHAREDSERVER_ESPAWN = -5,          /* the command could not be started */
    SHAREDSERVER_ETIMEOUT = -6,        /* a wait ran out */
    SHAREDSERVER_EBUSY = -7,           /* the name is locked by a transaction */
    SHAREDSERVER_EPERM = -8,           /* the state directory is not safe or not ours */
    SHAREDSERVER_ENOTCLIENT = -9,      /* the pid is not attached to that server */
    SHAREDSERVER_ECORRUPT = -10,       /* a record cannot be read; admin doctor repairs it */
    SHAREDSERVER_ENOTFOUND = -11       /* no project file, or it does not define that server */
} sharedserver_error;

typedef enum sharedserver_state {
    SHAREDSERVER_STOPPED = 0,
    SHAREDSERVER_STARTING = 1,
    SHAREDSERVER_ACTIVE = 2,
    SHAREDSERVER_GRACE = 3,
    SHAREDSERVER_STOPPING = 4,
    /* Only in lists: the name has a record that cannot be read (a server may
     * run under it); sharedserver_info_error() says why. admin doctor repairs it. */
    SHAREDSERVER_CORRUPT = 5
} sharedserver_state;

/* How a started server proves it is ready (sharedserver_use_options.ready_kind). */
typedef enum sharedserver_probe_kind {
    SHAREDSERVER_PROBE_NONE = 0,    /* ready as soon as it runs */
    SHAREDSERVER_PROBE_PORT = 1,    /* a TCP connect to 127.0.0.1:<target> succeeds */
    SHAREDSERVER_PROBE_SOCKET = 2,  /* a connect to the Unix socket <target> succeeds */
    SHAREDSERVER_PROBE_HTTP = 3,    /* GET <target> (http://host:port/path) answers 2xx or 3xx */
    SHAREDSERVER_PROBE_COMMAND = 4, /* `sh -c <target>` exits 0 */
    SHAREDSERVER_PROBE_LOG = 5      /* a new line of the server's output matches the RE2 regex <target> */
} sharedserver_probe_kind;

/* Whether the watcher starts a server again when it exits on its own. */
typedef enum sharedserver_restart_policy {
    SHAREDSERVER_RESTART_NO = 0,
    SHAREDSERVER_RESTART_ON_FAILURE = 1, /* non-zero exit or killed by a signal */
    SHAREDSERVER_RESTART_ALWAYS = 2
} sharedserver_restart_policy;

/* What sharedserver_use() does when the running server was started with a
 * different command, env or working dir than the one asked for. */
typedef enum sharedserver_mismatch_mode {
    SHAREDSERVER_MISMATCH_WARN = 0,    /* attach, and say what differs in result->mismatch */
    SHAREDSERVER_MISMATCH_ERROR = 1,   /* fail with SHAREDSERVER_EALREADY, naming what differs */
    SHAREDSERVER_MISMATCH_RESTART = 2  /* restart it with the new definition, keeping its clients */
} sharedserver_mismatch_mode;

/* sharedserver_use_options.port: pick a free TCP port on 127.0.0.1. */
#define SHAREDSERVER_PORT_AUTO (-1)

/* What sharedserver_use() did. */
typedef enum sharedserver_outcome {
    SHAREDSERVER_STARTED = 0,   /* no server ran; this call started it */
    SHAREDSERVER_ATTACHED = 1,  /* joined a server that had clients */
    SHAREDSERVER_RESCUED = 2    /* joined a server in its grace period */
} sharedserver_outcome;

/* Why a server ended: what sharedserver_exit_reason() returns (the type is
 * named _kind because C has one namespace for the function and the type). */
typedef enum sharedserver_exit_kind {
    SHAREDSERVER_EXIT_EXITED = 1,        /* exited on its own: see the code */
    SHAREDSERVER_EXIT_SIGNALLED = 2,     /* died of a signal nobody of ours sent */
    SHAREDSERVER_EXIT_PROBE_FAILED = 3,  /* not ready in time: stopped */
    SHAREDSERVER_EXIT_GAVE_UP = 4,       /* kept exiting; its restart policy gave up */
    SHAREDSERVER_EXIT_STOPPED = 5,       /* a client stopped it (stop, restart, a changed definition) */
    SHAREDSERVER_EXIT_GRACE_EXPIRED = 6, /* the grace period ended */
    SHAREDSERVER_EXIT_KILLED = 7,        /* sharedserver_kill() */
    SHAREDSERVER_EXIT_ORPHANED = 8,      /* its record was removed or replaced */
    SHAREDSERVER_EXIT_UNHEALTHY = 9      /* failed its liveness probe too often in a row: stopped */
} sharedserver_exit_kind;

/* What a change notification reports: the event names of the event log. */
typedef enum sharedserver_change_kind {
    SHAREDSERVER_CHANGE_OTHER = 0,       /* an event this library does not name */
    SHAREDSERVER_CHANGE_STARTED = 1,
    SHAREDSERVER_CHANGE_READY = 2,
    SHAREDSERVER_CHANGE_ATTACHED = 3,
    SHAREDSERVER_CHANGE_DETACHED = 4,
    SHAREDSERVER_CHANGE_CLIENT_DIED = 5,
    SHAREDSERVER_CHANGE_GRACE_ENTERED = 6,
    SHAREDSERVER_CHANGE_GRACE_CANCELLED = 7,
    SHAREDSERVER_CHANGE_STOPPING = 8,
    SHAREDSERVER_CHANGE_EXITED = 9,
    SHAREDSERVER_CHANGE_RESTARTING = 10,
    SHAREDSERVER_CHANGE_RESTARTED = 11,
    SHAREDSERVER_CHANGE_GAVE_UP = 12,
    SHAREDSERVER_CHANGE_PROBE_FAILED = 13,
    SHAREDSERVER_CHANGE_ADOPTED = 14,
    SHAREDSERVER_CHANGE_REPAIRED = 15,
    SHAREDSERVER_CHANGE_KILLED = 16,
    SHAREDSERVER_CHANGE_LEFT_ALONE = 17,
    SHAREDSERVER_CHANGE_LIVENESS_FAILED = 18
} sharedserver_change_kind;

/* ---- library identity -------------------------------------------------- */

SHAREDSERVER_API const char *sharedserver_version(void);
SHAREDSERVER_API int sharedserver_abi_version(void);
/* Path of the loaded library file (dladdr); never NULL, may be "". */
SHAREDSERVER_API const char *sharedserver_library_path(void);

/* ---- errors ------------------------------------------------------------ */

/* The last failure's message on this thread; never NULL ("" if none). */
SHAREDSERVER_API const char *sharedserver_error_last(void);
/* The last failure's code on this thread (0 if none). */
SHAREDSERVER_API int sharedserver_error_last_code(void);
/* For SHAREDSERVER_ESPAWN and I/O failures: the errno behind it, else 0. */
SHAREDSERVER_API int sharedserver_error_last_errno(void);
/* The path the last failure is about (the command, a directory); never NULL. */
SHAREDSERVER_API const char *sharedserver_error_last_path(void);
/* For a bad definition: the key it is about ("idle_timeout", "ready.port");
 * "" otherwise. Clients map it to their own option names. */
SHAREDSERVER_API const char *sharedserver_error_last_key(void);

/* ---- owned buffers ----------------------------------------------------- */

typedef struct sharedserver_buf {
    char *ptr;   /* NUL-terminated; NULL when empty and never filled */
    size_t size; /* bytes, excluding the terminating NUL */
} sharedserver_buf;

#define SHAREDSERVER_BUF_INIT {NULL, 0}

SHAREDSERVER_API void sharedserver_buf_dispose(sharedserver_buf *buf);

/* ---- small helpers the clients share ----------------------------------- */

/* "500ms", "90s", "30m", "1h", "2h30m", "0s" -> milliseconds. */
SHAREDSERVER_API int sharedserver_duration_parse(int64_t *out_ms, const char *text);
/* Milliseconds -> the shortest text sharedserver_duration_parse() accepts. */
SHAREDSERVER_API int sharedserver_duration_format(sharedserver_buf *out, int64_t ms);
/* 0 when `name` is a valid server name, else SHAREDSERVER_EINVALID. */
SHAREDSERVER_API int sharedserver_name_validate(const char *name);
/* "stopped", "starting", "active", "grace", "stopping", "corrupt"; never NULL. */
SHAREDSERVER_API const char *sharedserver_state_name(int state);

/* ---- enum tables --------------------------------------------------------- */

/* Every enum of this header as (value, name) pairs, so that no binding
 * retypes a name or a number. Names are the words users see and give:
 * errors "ok", "error", "not-running", ...; states "stopped", ...; probes
 * "none", "port", ...; restart policies "no", "on-failure", "always";
 * mismatch modes "warn", "error", "restart"; outcomes "started",
 * "attached", "rescued"; exit reasons "exited", "signalled", ...; change
 * kinds "started", "ready", ... */
typedef enum sharedserver_enum_kind {
    SHAREDSERVER_ENUM_ERROR = 1,
    SHAREDSERVER_ENUM_STATE = 2,
    SHAREDSERVER_ENUM_PROBE = 3,
    SHAREDSERVER_ENUM_RESTART = 4,
    SHAREDSERVER_ENUM_MISMATCH = 5,
    SHAREDSERVER_ENUM_OUTCOME = 6,
    SHAREDSERVER_ENUM_EXIT_REASON = 7,
    SHAREDSERVER_ENUM_CHANGE = 8
} sharedserver_enum_kind;

/* How many values `kind` has; 0 for an unknown kind. */
SHAREDSERVER_API size_t sharedserver_enum_count(int kind);
/* The i-th (value, name) of `kind`; SHAREDSERVER_EINVALID past the end.
 * name_out is static; either out-pointer may be NULL. */
SHAREDSERVER_API int sharedserver_enum_at(int *value_out, const char **name_out, int kind, size_t i);
/* The name of `value`; "" when unknown, never NULL. */
SHAREDSERVER_API const char *sharedserver_enum_name(int kind, int value);
/* The value named `name`; SHAREDSERVER_EINVALID listing the names when none is. */
SHAREDSERVER_API int sharedserver_enum_parse(int *value_out, int kind, const char *name);

/* ---- context ----------------------------------------------------------- */

/* A context names one state directory. It is cheap; open one per process. */
typedef struct sharedserver_context sharedserver_context;

/* state_dir NULL: $SHAREDSERVER_LOCKDIR, else $XDG_RUNTIME_DIR/sharedserver,
 * else /run/user/<uid>/sharedserver when that directory is the user's, else
 * /dev/shm/sharedserver-<uid> when /dev/shm is a tmpfs, else
 * /tmp/sharedserver-<uid>. The directory is created 0700 when missing
 * and refused (SHAREDSERVER_EPERM) when another user owns it or others may
 * write to it. */
SHAREDSERVER_API int sharedserver_context_open(sharedserver_context **out, const char *state_dir);
SHAREDSERVER_API void sharedserver_context_free(sharedserver_context *ctx);
/* Borrowed from ctx. */
SHAREDSERVER_API const char *sharedserver_context_state_dir(const sharedserver_context *ctx);
/* The sharedserver-watcher executable this context spawns: $SHAREDSERVER_WATCHER,
 * else beside the loaded library (build tree), else <prefix>/libexec.
 * Borrowed from ctx; "" when none was found. */
SHAREDSERVER_API const char *sharedserver_context_watcher_path(const sharedserver_context *ctx);

/* Whether the context's state directory can be used, as JSON: {"state_dir",
 * "ok", "problems": [one line each], "watcher", "free_bytes", "mode",
 * "owner_uid", "uid", "corrupt": [names]}. The same rules every client
 * shows (doctor, :checkhealth). */
SHAREDSERVER_API int sharedserver_context_health(sharedserver_buf *json, sharedserver_context *ctx);

/* ---- use / unuse ------------------------------------------------------- */

typedef struct sharedserver_use_options {
    unsigned version;
    /* The command as an argv (never run through a shell). NULL/0: attach
     * only, failing with SHAREDSERVER_ENOTRUNNING when nothing runs. */
    const char *const *argv;
    size_t argc;
    /* "KEY=VALUE" strings added to the inherited environment. */
    const char *const *env;
    size_t envc;
    const char *working_dir;   /* NULL: the caller's working directory */
    const char *log_file;      /* NULL: <state_dir>/<name>.log */
    int64_t grace_period_ms;   /* < 0: the default, 5 minutes; 0: stop at once */
    int64_t client_pid;        /* 0: the calling process */
    const char *metadata;      /* free text stored with the client; may be NULL */
    /* -- version 2 -- */
    int ready_kind;            /* sharedserver_probe_kind */
    /* The probe's port, socket path, URL, shell line or regex; "{port}" in it
     * is the server's port. NULL or "" with SHAREDSERVER_PROBE_PORT: that port. */
    const char *ready_target;
    int64_t ready_timeout_ms;  /* < 0: 30 s */
    int64_t ready_interval_ms; /* < 0: chosen per probe kind */
    int no_wait;               /* non-zero: return once spawned, before the probe passes */
    /* 0: none; SHAREDSERVER_PORT_AUTO: a free port picked at first start; N:
     * this port. "{port}" in argv and env values is replaced by it, and the
     * server gets SHAREDSERVER_PORT. */
    int port;
    int restart_policy;        /* sharedserver_restart_policy */
    int max_restarts;          /* < 0: 5; more restarts within the window give up */
    int64_t restart_window_ms; /* < 0: 60 s */
    /* -- version 3 -- */
    int on_mismatch;           /* sharedserver_mismatch_mode */
    /* The log is copied to <log>.1 and emptied past this size; < 0: 10 MiB,
     * 0: never. */
    int64_t log_max_size;
} sharedserver_use_options;

#define SHAREDSERVER_USE_OPTIONS_VERSION 3
#define SHAREDSERVER_USE_OPTIONS_INIT                                                          \
    {SHAREDSERVER_USE_OPTIONS_VERSION, NULL, 0, NULL, 0, NULL, NULL, -1, 0, NULL,              \
     SHAREDSERVER_PROBE_NONE, NULL, -1, -1, 0, 0, SHAREDSERVER_RESTART_NO, -1, -1,           \
     SHAREDSERVER_MISMATCH_WARN, -1}
SHAREDSERVER_API int sharedserver_use_options_init(sharedserver_use_options *opts, unsigned version);

typedef struct sharedserver_use_result {
    unsigned version;
    int outcome;        /* sharedserver_outcome */
    int64_t pid;        /* the server's pid */
    size_t refcount;    /* after this call */
    /* Non-empty when the running server was started with a different command,
     * env or working dir than the one asked for; names what differs. */
    char mismatch[256];
    /* -- version 2 -- */
    int port;           /* the server's port; 0 when it has none */
    int ready;          /* non-zero once the readiness probe passed (or there is none) */
} sharedserver_use_result;

#define SHAREDSERVER_USE_RESULT_VERSION 2
#define SHAREDSERVER_USE_RESULT_INIT {SHAREDSERVER_USE_RESULT_VERSION, 0, 0, 0, {0}, 0, 0}
SHAREDSERVER_API int sharedserver_use_result_init(sharedserver_use_result *result, unsigned version);

/* Attach client_pid to `name`, starting the server when none runs. Exactly one
 * server starts however many processes call this at once. With a readiness
 * probe it then waits (unless no_wait) until the server is ready; a probe that
 * fails or a server that dies while starting fails every waiting caller with
 * the reason and the last lines of the server's log. result may be NULL. */
SHAREDSERVER_API int sharedserver_use(sharedserver_use_result *result, sharedserver_context *ctx,
                                      const char *name, const sharedserver_use_options *opts);

/* Detach client_pid (0: the calling process). The last detach starts the grace
 * period. SHAREDSERVER_ENOTCLIENT when that pid is not attached. */
SHAREDSERVER_API int sharedserver_unuse(size_t *refcount_out, sharedserver_context *ctx,
                                        const char *name, int64_t client_pid);

/* Start without attaching a client (admin): the server begins in its grace
 * period. SHAREDSERVER_EALREADY when it already runs. opts->client_pid is ignored. */
SHAREDSERVER_API int sharedserver_start(int64_t *pid_out, sharedserver_context *ctx,
                                        const char *name, const sharedserver_use_options *opts);

/* ---- definitions ---------------------------------------------------------- */

/* What to run, as one JSON object: the same document a project file holds
 * under "servers": {"<name>": {...}}, read by the same table of keys.
 * sharedserver_definition_keys() lists them; the main ones: command (a
 * string, or a list: the whole argv), args, env (an object), working_dir,
 * log_file, idle_timeout (or grace_period), lazy, ready ({port|socket|http|
 * cmd|log: target, timeout, interval}), port ("auto" or N), restart ("no",
 * "on-failure", "always", or {policy, max_restarts, window}), max_restarts,
 * restart_window, on_mismatch, log_max_size (bytes, or "10M"). Durations are
 * text ("30m") or milliseconds. */
typedef struct sharedserver_definition sharedserver_definition;

/* SHAREDSERVER_EINVALID when the text is wrong: the message starts with the
 * key ("idle_timeout: \"5x\" is not a duration ...") and
 * sharedserver_error_last_key() returns it. base_dir resolves a relative
 * working_dir and log_file (NULL: the current directory). A definition
 * without "command" only attaches. */
SHAREDSERVER_API int sharedserver_definition_parse(sharedserver_definition **out, const char *json,
                                                   const char *base_dir);
SHAREDSERVER_API void sharedserver_definition_free(sharedserver_definition *def);
/* The definition as JSON, its defaults filled in. */
SHAREDSERVER_API int sharedserver_definition_json(sharedserver_buf *out, const sharedserver_definition *def);
/* The keys a definition may hold: a JSON array of {key, type, default, doc}
 * (and alias_of for another name of a key). */
SHAREDSERVER_API int sharedserver_definition_keys(sharedserver_buf *out);

/* What the client brings to a use, apart from the definition. */
typedef struct sharedserver_client_options {
    unsigned version;
    int64_t client_pid;      /* 0: the calling process */
    const char *metadata;    /* free text stored with the client; may be NULL */
    int no_wait;             /* non-zero: return once spawned, before the probe passes */
    int64_t wait_timeout_ms; /* < 0: as long as the server's own probe timeout allows */
} sharedserver_client_options;

#define SHAREDSERVER_CLIENT_OPTIONS_VERSION 1
#define SHAREDSERVER_CLIENT_OPTIONS_INIT {SHAREDSERVER_CLIENT_OPTIONS_VERSION, 0, NULL, 0, -1}
SHAREDSERVER_API int sharedserver_client_options_init(sharedserver_client_options *opts, unsigned version);

/* sharedserver_use() with a definition: def NULL attaches only. client NULL:
 * the calling process, no metadata, wait for readiness. */
SHAREDSERVER_API int sharedserver_use_definition(sharedserver_use_result *result, sharedserver_context *ctx,
                                                 const char *name, const sharedserver_definition *def,
                                                 const sharedserver_client_options *client);
/* sharedserver_start() with a definition; client->client_pid and metadata
 * are ignored. */
SHAREDSERVER_API int sharedserver_start_definition(int64_t *pid_out, sharedserver_context *ctx, const char *name,
                                                   const sharedserver_definition *def,
                                                   const sharedserver_client_options *client);

/* ---- readiness ---------------------------------------------------------- */

typedef struct sharedserver_wait_options {
    unsigned version;
    int64_t timeout_ms;  /* < 0: as long as the server's own probe timeout allows */
    /* Called about every 100 ms while waiting, from the waiting thread, with
     * the time waited and the newest line of the server's log (may be ""). */
    void (*progress)(int64_t elapsed_ms, const char *newest_log_line, void *payload);
    void *payload;
} sharedserver_wait_options;

#define SHAREDSERVER_WAIT_OPTIONS_VERSION 1
#define SHAREDSERVER_WAIT_OPTIONS_INIT {SHAREDSERVER_WAIT_OPTIONS_VERSION, -1, NULL, NULL}
SHAREDSERVER_API int sharedserver_wait_options_init(sharedserver_wait_options *opts, unsigned version);

/* Wait until `name` is ready. SHAREDSERVER_ENOTRUNNING when it is not running,
 * SHAREDSERVER_ETIMEOUT when the wait ran out, SHAREDSERVER_ESPAWN when the
 * server failed its probe or died while starting. opts may be NULL. */
SHAREDSERVER_API int sharedserver_wait(sharedserver_context *ctx, const char *name,
                                       const sharedserver_wait_options *opts);

/* ---- stop / restart / kill --------------------------------------------- */

typedef struct sharedserver_stop_options {
    unsigned version;
    int force;             /* non-zero: SIGKILL the group when TERM is not enough */
    int64_t timeout_ms;    /* < 0: the default, 5 seconds */
} sharedserver_stop_options;

#define SHAREDSERVER_STOP_OPTIONS_VERSION 1
#define SHAREDSERVER_STOP_OPTIONS_INIT {SHAREDSERVER_STOP_OPTIONS_VERSION, 0, -1}
SHAREDSERVER_API int sharedserver_stop_options_init(sharedserver_stop_options *opts, unsigned version);

/* Stop the server for every client (TERM to its process group). Returns when
 * the server is gone and its records removed; without force, a server still
 * alive after the timeout gives SHAREDSERVER_ETIMEOUT and keeps running.
 * opts may be NULL. */
SHAREDSERVER_API int sharedserver_stop(sharedserver_context *ctx, const char *name,
                                       const sharedserver_stop_options *opts);

/* Stop and start the same command again, keeping the attached clients. */
SHAREDSERVER_API int sharedserver_restart(int64_t *pid_out, sharedserver_context *ctx,
                                          const char *name);

/* Last resort: SIGKILL the server's group and its watcher and remove every
 * record, without waiting for anyone. */
SHAREDSERVER_API int sharedserver_kill(sharedserver_context *ctx, const char *name);

/* Repair the state of one name (or every name, when name is NULL): remove
 * stale and corrupt records, adopt a live server whose watcher died. report
 * receives one line per repair (empty when all was well); may be NULL. */
SHAREDSERVER_API int sharedserver_doctor(sharedserver_buf *report, sharedserver_context *ctx,
                                         const char *name);

/* ---- status ------------------------------------------------------------ */

typedef struct sharedserver_info sharedserver_info;

/* The state of one name; a stopped name gives an info whose state is
 * SHAREDSERVER_STOPPED. Readers never lock. */
SHAREDSERVER_API int sharedserver_info_get(sharedserver_info **out, sharedserver_context *ctx,
                                           const char *name);
SHAREDSERVER_API void sharedserver_info_free(sharedserver_info *info);

/* Just the state (cheaper than sharedserver_info_get). */
SHAREDSERVER_API int sharedserver_check(int *state_out, sharedserver_context *ctx, const char *name);

SHAREDSERVER_API const char *sharedserver_info_name(const sharedserver_info *info);
SHAREDSERVER_API int sharedserver_info_state(const sharedserver_info *info);
SHAREDSERVER_API int64_t sharedserver_info_pid(const sharedserver_info *info);
SHAREDSERVER_API int64_t sharedserver_info_watcher_pid(const sharedserver_info *info);
SHAREDSERVER_API size_t sharedserver_info_refcount(const sharedserver_info *info);
SHAREDSERVER_API int64_t sharedserver_info_client_pid(const sharedserver_info *info, size_t i);
/* Unix time in milliseconds. */
SHAREDSERVER_API int64_t sharedserver_info_client_attached_at(const sharedserver_info *info, size_t i);
SHAREDSERVER_API const char *sharedserver_info_client_metadata(const sharedserver_info *info, size_t i);
SHAREDSERVER_API size_t sharedserver_info_argc(const sharedserver_info *info);
SHAREDSERVER_API const char *sharedserver_info_argv(const sharedserver_info *info, size_t i);
SHAREDSERVER_API size_t sharedserver_info_envc(const sharedserver_info *info);
SHAREDSERVER_API const char *sharedserver_info_env(const sharedserver_info *info, size_t i);
SHAREDSERVER_API const char *sharedserver_info_working_dir(const sharedserver_info *info);
SHAREDSERVER_API const char *sharedserver_info_log_file(const sharedserver_info *info);
SHAREDSERVER_API int64_t sharedserver_info_grace_period_ms(const sharedserver_info *info);
/* Unix time in milliseconds; 0 unless the state is grace. */
SHAREDSERVER_API int64_t sharedserver_info_grace_deadline(const sharedserver_info *info);
/* Unix time in milliseconds; 0 when stopped. */
SHAREDSERVER_API int64_t sharedserver_info_started_at(const sharedserver_info *info);
/* The server's port (allocated or fixed); 0 when it has none. */
SHAREDSERVER_API int sharedserver_info_port(const sharedserver_info *info);
/* Unix time in milliseconds when the readiness probe passed; 0 while starting. */
SHAREDSERVER_API int64_t sharedserver_info_ready_at(const sharedserver_info *info);
/* How often the watcher restarted it within the restart window. */
SHAREDSERVER_API size_t sharedserver_info_restart_count(const sharedserver_info *info);
/* The servers it depends on (its definition's depends_on), and the running
 * servers that depend on it (their watchers hold a reference on it).
 * Borrowed from info; "" out of range. */
SHAREDSERVER_API size_t sharedserver_info_depends_on_count(const sharedserver_info *info);
SHAREDSERVER_API const char *sharedserver_info_depends_on(const sharedserver_info *info, size_t i);
SHAREDSERVER_API size_t sharedserver_info_needed_by_count(const sharedserver_info *info);
SHAREDSERVER_API const char *sharedserver_info_needed_by(const sharedserver_info *info, size_t i);
/* Why the record cannot be read, for a SHAREDSERVER_CORRUPT entry of a list;
 * "" otherwise. Borrowed from info. */
SHAREDSERVER_API const char *sharedserver_info_error(const sharedserver_info *info);
/* The info as one JSON object (the `info --json` format). */
SHAREDSERVER_API int sharedserver_info_json(sharedserver_buf *out, const sharedserver_info *info);

typedef struct sharedserver_list sharedserver_list;

/* Every live server in the state directory, sorted by name, and every name
 * whose record cannot be read, as a SHAREDSERVER_CORRUPT entry: a server
 * may run under it, so it is never left out. */
SHAREDSERVER_API int sharedserver_list_get(sharedserver_list **out, sharedserver_context *ctx);
SHAREDSERVER_API void sharedserver_list_free(sharedserver_list *list);
SHAREDSERVER_API size_t sharedserver_list_count(const sharedserver_list *list);
/* Borrowed from list. */
SHAREDSERVER_API const sharedserver_info *sharedserver_list_at(const sharedserver_list *list, size_t i);
/* The list as a JSON array of info objects (the `list --json` format). */
SHAREDSERVER_API int sharedserver_list_json(sharedserver_buf *out, const sharedserver_list *list);

/* ---- project files ------------------------------------------------------ */

/* A project's sharedserver.json: its servers defined once, for every client. */
typedef struct sharedserver_project sharedserver_project;

/* path NULL: $SHAREDSERVER_CONFIG, else walking up from start_dir (NULL:
 * the current directory) the first of sharedserver.json, .sharedserver.json
 * and .sharedserver/servers.json at each level, else
 * $XDG_CONFIG_HOME/sharedserver/servers.json, else
 * ~/.config/sharedserver/servers.json. The first file found is the one
 * read; nothing is merged. Both our format and upstream's config document
 * ({"servers", "profiles"}, camelCase keys) are read; ${VAR} in string
 * values is expanded. SHAREDSERVER_ENOTFOUND when there is none;
 * SHAREDSERVER_EINVALID with a message naming the file, the server and the
 * key when it is wrong. Unknown keys are not errors: see the warnings. */
SHAREDSERVER_API int sharedserver_project_open(sharedserver_project **out, const char *path,
                                               const char *start_dir);
SHAREDSERVER_API void sharedserver_project_free(sharedserver_project *project);
/* Borrowed from project. */
SHAREDSERVER_API const char *sharedserver_project_path(const sharedserver_project *project);
SHAREDSERVER_API size_t sharedserver_project_count(const sharedserver_project *project);
SHAREDSERVER_API const char *sharedserver_project_name(const sharedserver_project *project, size_t i);
/* 1 when the definition says "lazy": true, 0 when not, <0 when it has no such server. */
SHAREDSERVER_API int sharedserver_project_lazy(const sharedserver_project *project, const char *name);
/* 1 when `up` without a profile brings `name` up: no profile of the file lists
 * it and its skipIfEnv variable is unset or empty; 0 when not;
 * SHAREDSERVER_ENOTFOUND when the project does not define it. What a host
 * without a profile of its own registers (the Neovim plugin without
 * `profile`): a server a profile lists is that profile's host's. */
SHAREDSERVER_API int sharedserver_project_universal(const sharedserver_project *project, const char *name);
/* The definition of `name`; SHAREDSERVER_ENOTFOUND when the project does
 * not define it. */
SHAREDSERVER_API int sharedserver_project_definition(sharedserver_definition **out,
                                                     const sharedserver_project *project, const char *name);
/* Where the names in def's depends_on are looked up before the running
 * servers: `project`, as for the project's own definitions. For a definition
 * a client built from the project's (its arguments laid over it, passed as
 * JSON). Without it: the project file found from $SHAREDSERVER_CONFIG or the
 * current directory. NULL project: that again. */
SHAREDSERVER_API int sharedserver_definition_set_project(sharedserver_definition *def,
                                                         const sharedserver_project *project);
/* Fills opts (initialised by the caller) with the definition of `name`:
 * command, env, working dir, log file, grace period, probe, port, restart
 * policy, mismatch mode and log size. Strings are borrowed from the project. The client's own fields
 * (client_pid, metadata, no_wait) are left as they are.
 * SHAREDSERVER_ENOTFOUND when the project does not define `name`;
 * SHAREDSERVER_EINVALID when its definition has a liveness probe, which
 * these options cannot carry (use sharedserver_project_definition). */
SHAREDSERVER_API int sharedserver_project_use_options(sharedserver_use_options *opts,
                                                      const sharedserver_project *project,
                                                      const char *name);
/* One line per key the loader ignored (unknown to it: a typo, or a file
 * written for a newer version), naming the file and the key. Borrowed from
 * project; "" past the end. */
SHAREDSERVER_API size_t sharedserver_project_warning_count(const sharedserver_project *project);
SHAREDSERVER_API const char *sharedserver_project_warning(const sharedserver_project *project, size_t i);
/* The project as JSON: {"path", "servers": {"<name>": definition (as
 * sharedserver_definition_json gives it)}, "profiles": {"<profile>":
 * [names]}, "warnings": [lines]}. */
SHAREDSERVER_API int sharedserver_project_json(sharedserver_buf *out, const sharedserver_project *project);

/* ---- config edits ---------------------------------------------------------- */

/* The file the edits below change: the one sharedserver_project_open(path,
 * start_dir) would read, else the user's ($XDG_CONFIG_HOME, else
 * ~/.config: sharedserver/servers.json), which they create. */
SHAREDSERVER_API int sharedserver_config_path(sharedserver_buf *out, const char *path, const char *start_dir);
/* Edits are JSON operations on the file as written: keys and entries they
 * do not model stay, in their order. Adds servers.<name> (definition_json,
 * checked like a loaded entry) stamped "_scope": scope, and adds the name to
 * each profile. A name that another scope registered, or that is written by
 * hand, is refused (SHAREDSERVER_EINVALID), unless if_absent: then it stays
 * and only the profiles change. outcome: "registered", "replaced" or
 * "kept". */
SHAREDSERVER_API int sharedserver_config_register(sharedserver_buf *outcome, const char *file, const char *scope,
                                                  const char *name, const char *definition_json,
                                                  const char *const *profiles, size_t profile_count, int if_absent);
/* Removes scope's entry `name` (NULL: every entry of scope) and its name from
 * every profile (a profile this empties goes). removed: a JSON array of names. */
SHAREDSERVER_API int sharedserver_config_unregister(sharedserver_buf *removed, const char *file, const char *scope,
                                                    const char *name);
/* add non-zero: adds the names to the profile (created when missing); zero:
 * removes them (the profile goes when this empties it). */
SHAREDSERVER_API int sharedserver_config_profile(const char *file, const char *profile, const char *const *names,
                                                 size_t count, int add);

/* ---- profiles: up / down ------------------------------------------------ */

/* Attach the client to every server of `profile` (NULL or "": none) and
 * every server no profile names, starting those not running: a lazy entry
 * only attaches, one whose skip_if_env (skipIfEnv) variable is non-empty is
 * skipped. One server failing does not stop the rest. What it took is
 * recorded for that client (pid and start time) and profile, for
 * sharedserver_down. report receives JSON: {"profile", "config", "servers":
 * [{"name", "outcome": "started"|"attached"|"skipped"|"failed", "reason",
 * "pid"}], "warnings": [lines], "started", "attached", "skipped",
 * "failed"}. Returns 0 whenever the report was made, also when servers
 * failed (see "failed"); an error when the client is not a live process.
 * client NULL: the calling process. */
SHAREDSERVER_API int sharedserver_up(sharedserver_buf *report, sharedserver_context *ctx,
                                     const sharedserver_project *project, const char *profile,
                                     const sharedserver_client_options *client);
/* Release what sharedserver_up took for this client and profile, however
 * the config changed since; a server another profile of the same client
 * still holds is kept. report: as for up, with outcomes "released",
 * "skipped" and "failed" and the count "released". A client that has ended
 * already gives an empty report with a warning (its references ended with
 * it). */
SHAREDSERVER_API int sharedserver_down(sharedserver_buf *report, sharedserver_context *ctx, const char *profile,
                                       const sharedserver_client_options *client);

/* ---- events and logs --------------------------------------------------- */

/* The event log of `name` as JSON lines, oldest first (`admin debug`). */
SHAREDSERVER_API int sharedserver_events(sharedserver_buf *out, sharedserver_context *ctx,
                                         const char *name);

/* How the last server under `name` ended. SHAREDSERVER_ENOTRUNNING when no
 * exit is recorded. exit_code is -1 when it died by a signal; signal is 0
 * when it exited; at is unix milliseconds; unexpected is non-zero when no
 * client or grace expiry stopped it. Any out-pointer may be NULL. */
SHAREDSERVER_API int sharedserver_last_exit(int *exit_code, int *signal, int64_t *at,
                                            int *unexpected, sharedserver_context *ctx,
                                            const char *name);

/* How a server ended, as data: reason, numbers, and one line any client may
 * show. Getters take NULL and then give 0, -1 or "" as documented. */
typedef struct sharedserver_exit sharedserver_exit;

/* The newest ending of `name` recorded at or after since_ms (unix ms; 0:
 * any). SHAREDSERVER_ENOTRUNNING when none is. */
SHAREDSERVER_API int sharedserver_exit_get(sharedserver_exit **out, sharedserver_context *ctx, const char *name,
                                           int64_t since_ms);
SHAREDSERVER_API void sharedserver_exit_free(sharedserver_exit *exit);
/* sharedserver_exit_kind: SHAREDSERVER_EXIT_EXITED, ... */
SHAREDSERVER_API int sharedserver_exit_reason(const sharedserver_exit *exit);
/* The exit status; -1 unless the reason is SHAREDSERVER_EXIT_EXITED with a known status. */
SHAREDSERVER_API int sharedserver_exit_code(const sharedserver_exit *exit);
/* The signal that ended it; 0 unless it died of one. */
SHAREDSERVER_API int sharedserver_exit_signal(const sharedserver_exit *exit);
SHAREDSERVER_API int64_t sharedserver_exit_pid(const sharedserver_exit *exit);
/* Unix time in milliseconds. */
SHAREDSERVER_API int64_t sharedserver_exit_at(const sharedserver_exit *exit);
/* For SHAREDSERVER_EXIT_GAVE_UP: the restarts made before giving up. */
SHAREDSERVER_API size_t sharedserver_exit_restarts(const sharedserver_exit *exit);
/* Non-zero when no client, grace period or stop asked for it. */
SHAREDSERVER_API int sharedserver_exit_unexpected(const sharedserver_exit *exit);
/* Non-zero when it ended before it was ready. */
SHAREDSERVER_API int sharedserver_exit_while_starting(const sharedserver_exit *exit);
/* One line: "server \"db\" exited with code 3 while starting". Borrowed. */
SHAREDSERVER_API const char *sharedserver_exit_message(const sharedserver_exit *exit);
/* The last lines of its log ("" when there are none). Borrowed. */
SHAREDSERVER_API const char *sharedserver_exit_log_tail(const sharedserver_exit *exit);

/* ---- change notifications ----------------------------------------------- */

/* What happens to servers, as it happens, without knowing where it is kept:
 * a handle with a pollable fd (for an event loop) and a "next change" call.
 * Each change is one event of a server's event log, which is written after
 * the state it describes: when a change arrives, sharedserver_info_get()
 * already shows its effect. One thread at a time per handle. */
typedef struct sharedserver_watch sharedserver_watch;

/* names NULL or count 0: every name in the state directory, present and
 * future. since_ms: -1 only changes from now on; 0 every recorded one; else
 * those recorded at or after it (unix ms). */
SHAREDSERVER_API int sharedserver_watch_open(sharedserver_watch **out, sharedserver_context *ctx,
                                             const char *const *names, size_t count, int64_t since_ms);
/* Readable while a change may be pending: after it polls readable, call
 * sharedserver_watch_next() with timeout 0 until SHAREDSERVER_ETIMEOUT.
 * Owned by the watch; -1 for NULL. */
SHAREDSERVER_API int sharedserver_watch_fd(const sharedserver_watch *watch);

typedef struct sharedserver_change {
    unsigned version;
    const char *name;   /* borrowed until the next call on the watch */
    int kind;           /* sharedserver_change_kind: the event */
    int state;          /* sharedserver_state of the name when the change was read */
    int64_t pid;        /* the server's pid when the event names one, else 0 */
    int64_t at;         /* unix ms */
    const char *json;   /* the whole event as recorded; borrowed like name */
} sharedserver_change;

#define SHAREDSERVER_CHANGE_VERSION 1
#define SHAREDSERVER_CHANGE_INIT {SHAREDSERVER_CHANGE_VERSION, "", 0, 0, 0, 0, ""}
SHAREDSERVER_API int sharedserver_change_init(sharedserver_change *change, unsigned version);

/* Fills *out with the next change: 0. SHAREDSERVER_ETIMEOUT when none came
 * within timeout_ms (0: do not block; < 0: block until one comes). */
SHAREDSERVER_API int sharedserver_watch_next(sharedserver_change *out, sharedserver_watch *watch, int64_t timeout_ms);
SHAREDSERVER_API void sharedserver_watch_free(sharedserver_watch *watch);

/* The path of the server's log file: the running server's, else the one the
 * last server under `name` wrote to, else the default. */
SHAREDSERVER_API int sharedserver_log_path(sharedserver_buf *out, sharedserver_context *ctx, const char *name);

/* The last `lines` lines of the server's log file. */
SHAREDSERVER_API int sharedserver_log_tail(sharedserver_buf *out, sharedserver_context *ctx,
                                           const char *name, size_t lines);

#ifdef __cplusplus
}
#endif

#endif /* SHAREDSERVER_H */
