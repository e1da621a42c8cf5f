-- Generated from include/sharedserver/sharedserver.h by bindings/nvim/gen_cdef.py:
-- do not edit; the headers suite fails when it is stale.
return [[
static const int SHAREDSERVER_VERSION_MAJOR = 0;
static const int SHAREDSERVER_VERSION_MINOR = 1;
static const int SHAREDSERVER_VERSION_PATCH = 0;

static const int SHAREDSERVER_ABI_VERSION = 1;

typedef enum sharedserver_error {
    SHAREDSERVER_OK = 0,
    SHAREDSERVER_ERROR = -1,
    SHAREDSERVER_ENOTRUNNING = -2,
    SHAREDSERVER_EALREADY = -3,
    SHAREDSERVER_EINVALID = -4,
    SHAREDSERVER_ESPAWN = -5,
    SHAREDSERVER_ETIMEOUT = -6,
    SHAREDSERVER_EBUSY = -7,
    SHAREDSERVER_EPERM = -8,
    SHAREDSERVER_ENOTCLIENT = -9,
    SHAREDSERVER_ECORRUPT = -10,
    SHAREDSERVER_ENOTFOUND = -11
} sharedserver_error;

typedef enum sharedserver_state {
    SHAREDSERVER_STOPPED = 0,
    SHAREDSERVER_STARTING = 1,
    SHAREDSERVER_ACTIVE = 2,
    SHAREDSERVER_GRACE = 3,
    SHAREDSERVER_STOPPING = 4,

    SHAREDSERVER_CORRUPT = 5
} sharedserver_state;

typedef enum sharedserver_probe_kind {
    SHAREDSERVER_PROBE_NONE = 0,
    SHAREDSERVER_PROBE_PORT = 1,
    SHAREDSERVER_PROBE_SOCKET = 2,
    SHAREDSERVER_PROBE_HTTP = 3,
    SHAREDSERVER_PROBE_COMMAND = 4,
    SHAREDSERVER_PROBE_LOG = 5
} sharedserver_probe_kind;

typedef enum sharedserver_restart_policy {
    SHAREDSERVER_RESTART_NO = 0,
    SHAREDSERVER_RESTART_ON_FAILURE = 1,
    SHAREDSERVER_RESTART_ALWAYS = 2
} sharedserver_restart_policy;

typedef enum sharedserver_mismatch_mode {
    SHAREDSERVER_MISMATCH_WARN = 0,
    SHAREDSERVER_MISMATCH_ERROR = 1,
    SHAREDSERVER_MISMATCH_RESTART = 2
} sharedserver_mismatch_mode;

static const int SHAREDSERVER_PORT_AUTO = -1;

typedef enum sharedserver_outcome {
    SHAREDSERVER_STARTED = 0,
    SHAREDSERVER_ATTACHED = 1,
    SHAREDSERVER_RESCUED = 2
} sharedserver_outcome;

typedef enum sharedserver_exit_kind {
    SHAREDSERVER_EXIT_EXITED = 1,
    SHAREDSERVER_EXIT_SIGNALLED = 2,
    SHAREDSERVER_EXIT_PROBE_FAILED = 3,
    SHAREDSERVER_EXIT_GAVE_UP = 4,
    SHAREDSERVER_EXIT_STOPPED = 5,
    SHAREDSERVER_EXIT_GRACE_EXPIRED = 6,
    SHAREDSERVER_EXIT_KILLED = 7,
    SHAREDSERVER_EXIT_ORPHANED = 8,
    SHAREDSERVER_EXIT_UNHEALTHY = 9
} sharedserver_exit_kind;

typedef enum sharedserver_change_kind {
    SHAREDSERVER_CHANGE_OTHER = 0,
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

const char *sharedserver_version(void);
int sharedserver_abi_version(void);

const char *sharedserver_library_path(void);

const char *sharedserver_error_last(void);

int sharedserver_error_last_code(void);

int sharedserver_error_last_errno(void);

const char *sharedserver_error_last_path(void);

const char *sharedserver_error_last_key(void);

typedef struct sharedserver_buf {
    char *ptr;
    size_t size;
} sharedserver_buf;

void sharedserver_buf_dispose(sharedserver_buf *buf);

int sharedserver_duration_parse(int64_t *out_ms, const char *text);

int sharedserver_duration_format(sharedserver_buf *out, int64_t ms);

int sharedserver_name_validate(const char *name);

const char *sharedserver_state_name(int state);

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

size_t sharedserver_enum_count(int kind);

int sharedserver_enum_at(int *value_out, const char **name_out, int kind, size_t i);

const char *sharedserver_enum_name(int kind, int value);

int sharedserver_enum_parse(int *value_out, int kind, const char *name);

typedef struct sharedserver_context sharedserver_context;

int sharedserver_context_open(sharedserver_context **out, const char *state_dir);
void sharedserver_context_free(sharedserver_context *ctx);

const char *sharedserver_context_state_dir(const sharedserver_context *ctx);

const char *sharedserver_context_watcher_path(const sharedserver_context *ctx);

int sharedserver_context_health(sharedserver_buf *json, sharedserver_context *ctx);

typedef struct sharedserver_use_options {
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

    int ready_kind;

    const char *ready_target;
    int64_t ready_timeout_ms;
    int64_t ready_interval_ms;
    int no_wait;

    int port;
    int restart_policy;
    int max_restarts;
    int64_t restart_window_ms;

    int on_mismatch;

    int64_t log_max_size;
} sharedserver_use_options;

static const int SHAREDSERVER_USE_OPTIONS_VERSION = 3;
int sharedserver_use_options_init(sharedserver_use_options *opts, unsigned version);

typedef struct sharedserver_use_result {
    unsigned version;
    int outcome;
    int64_t pid;
    size_t refcount;

    char mismatch[256];

    int port;
    int ready;
} sharedserver_use_result;

static const int SHAREDSERVER_USE_RESULT_VERSION = 2;
int sharedserver_use_result_init(sharedserver_use_result *result, unsigned version);

int sharedserver_use(sharedserver_use_result *result, sharedserver_context *ctx,
                                      const char *name, const sharedserver_use_options *opts);

int sharedserver_unuse(size_t *refcount_out, sharedserver_context *ctx,
                                        const char *name, int64_t client_pid);

int sharedserver_start(int64_t *pid_out, sharedserver_context *ctx,
                                        const char *name, const sharedserver_use_options *opts);

typedef struct sharedserver_definition sharedserver_definition;

int sharedserver_definition_parse(sharedserver_definition **out, const char *json,
                                                   const char *base_dir);
void sharedserver_definition_free(sharedserver_definition *def);

int sharedserver_definition_json(sharedserver_buf *out, const sharedserver_definition *def);

int sharedserver_definition_keys(sharedserver_buf *out);

typedef struct sharedserver_client_options {
    unsigned version;
    int64_t client_pid;
    const char *metadata;
    int no_wait;
    int64_t wait_timeout_ms;
} sharedserver_client_options;

static const int SHAREDSERVER_CLIENT_OPTIONS_VERSION = 1;
int sharedserver_client_options_init(sharedserver_client_options *opts, unsigned version);

int sharedserver_use_definition(sharedserver_use_result *result, sharedserver_context *ctx,
                                                 const char *name, const sharedserver_definition *def,
                                                 const sharedserver_client_options *client);

int sharedserver_start_definition(int64_t *pid_out, sharedserver_context *ctx, const char *name,
                                                   const sharedserver_definition *def,
                                                   const sharedserver_client_options *client);

typedef struct sharedserver_wait_options {
    unsigned version;
    int64_t timeout_ms;

    void (*progress)(int64_t elapsed_ms, const char *newest_log_line, void *payload);
    void *payload;
} sharedserver_wait_options;

static const int SHAREDSERVER_WAIT_OPTIONS_VERSION = 1;
int sharedserver_wait_options_init(sharedserver_wait_options *opts, unsigned version);

int sharedserver_wait(sharedserver_context *ctx, const char *name,
                                       const sharedserver_wait_options *opts);

typedef struct sharedserver_stop_options {
    unsigned version;
    int force;
    int64_t timeout_ms;
} sharedserver_stop_options;

static const int SHAREDSERVER_STOP_OPTIONS_VERSION = 1;
int sharedserver_stop_options_init(sharedserver_stop_options *opts, unsigned version);

int sharedserver_stop(sharedserver_context *ctx, const char *name,
                                       const sharedserver_stop_options *opts);

int sharedserver_restart(int64_t *pid_out, sharedserver_context *ctx,
                                          const char *name);

int sharedserver_kill(sharedserver_context *ctx, const char *name);

int sharedserver_doctor(sharedserver_buf *report, sharedserver_context *ctx,
                                         const char *name);

typedef struct sharedserver_info sharedserver_info;

int sharedserver_info_get(sharedserver_info **out, sharedserver_context *ctx,
                                           const char *name);
void sharedserver_info_free(sharedserver_info *info);

int sharedserver_check(int *state_out, sharedserver_context *ctx, const char *name);

const char *sharedserver_info_name(const sharedserver_info *info);
int sharedserver_info_state(const sharedserver_info *info);
int64_t sharedserver_info_pid(const sharedserver_info *info);
int64_t sharedserver_info_watcher_pid(const sharedserver_info *info);
size_t sharedserver_info_refcount(const sharedserver_info *info);
int64_t sharedserver_info_client_pid(const sharedserver_info *info, size_t i);

int64_t sharedserver_info_client_attached_at(const sharedserver_info *info, size_t i);
const char *sharedserver_info_client_metadata(const sharedserver_info *info, size_t i);
size_t sharedserver_info_argc(const sharedserver_info *info);
const char *sharedserver_info_argv(const sharedserver_info *info, size_t i);
size_t sharedserver_info_envc(const sharedserver_info *info);
const char *sharedserver_info_env(const sharedserver_info *info, size_t i);
const char *sharedserver_info_working_dir(const sharedserver_info *info);
const char *sharedserver_info_log_file(const sharedserver_info *info);
int64_t sharedserver_info_grace_period_ms(const sharedserver_info *info);

int64_t sharedserver_info_grace_deadline(const sharedserver_info *info);

int64_t sharedserver_info_started_at(const sharedserver_info *info);

int sharedserver_info_port(const sharedserver_info *info);

int64_t sharedserver_info_ready_at(const sharedserver_info *info);

size_t sharedserver_info_restart_count(const sharedserver_info *info);

size_t sharedserver_info_depends_on_count(const sharedserver_info *info);
const char *sharedserver_info_depends_on(const sharedserver_info *info, size_t i);
size_t sharedserver_info_needed_by_count(const sharedserver_info *info);
const char *sharedserver_info_needed_by(const sharedserver_info *info, size_t i);

const char *sharedserver_info_error(const sharedserver_info *info);

int sharedserver_info_json(sharedserver_buf *out, const sharedserver_info *info);

typedef struct sharedserver_list sharedserver_list;

int sharedserver_list_get(sharedserver_list **out, sharedserver_context *ctx);
void sharedserver_list_free(sharedserver_list *list);
size_t sharedserver_list_count(const sharedserver_list *list);

const sharedserver_info *sharedserver_list_at(const sharedserver_list *list, size_t i);

int sharedserver_list_json(sharedserver_buf *out, const sharedserver_list *list);

typedef struct sharedserver_project sharedserver_project;

int sharedserver_project_open(sharedserver_project **out, const char *path,
                                               const char *start_dir);
void sharedserver_project_free(sharedserver_project *project);

const char *sharedserver_project_path(const sharedserver_project *project);
size_t sharedserver_project_count(const sharedserver_project *project);
const char *sharedserver_project_name(const sharedserver_project *project, size_t i);

int sharedserver_project_lazy(const sharedserver_project *project, const char *name);

int sharedserver_project_universal(const sharedserver_project *project, const char *name);

int sharedserver_project_definition(sharedserver_definition **out,
                                                     const sharedserver_project *project, const char *name);

int sharedserver_definition_set_project(sharedserver_definition *def,
                                                         const sharedserver_project *project);

int sharedserver_project_use_options(sharedserver_use_options *opts,
                                                      const sharedserver_project *project,
                                                      const char *name);

size_t sharedserver_project_warning_count(const sharedserver_project *project);
const char *sharedserver_project_warning(const sharedserver_project *project, size_t i);

int sharedserver_project_json(sharedserver_buf *out, const sharedserver_project *project);

int sharedserver_config_path(sharedserver_buf *out, const char *path, const char *start_dir);

int sharedserver_config_register(sharedserver_buf *outcome, const char *file, const char *scope,
                                                  const char *name, const char *definition_json,
                                                  const char *const *profiles, size_t profile_count, int if_absent);

int sharedserver_config_unregister(sharedserver_buf *removed, const char *file, const char *scope,
                                                    const char *name);

int sharedserver_config_profile(const char *file, const char *profile, const char *const *names,
                                                 size_t count, int add);

int sharedserver_up(sharedserver_buf *report, sharedserver_context *ctx,
                                     const sharedserver_project *project, const char *profile,
                                     const sharedserver_client_options *client);

int sharedserver_down(sharedserver_buf *report, sharedserver_context *ctx, const char *profile,
                                       const sharedserver_client_options *client);

int sharedserver_events(sharedserver_buf *out, sharedserver_context *ctx,
                                         const char *name);

int sharedserver_last_exit(int *exit_code, int *signal, int64_t *at,
                                            int *unexpected, sharedserver_context *ctx,
                                            const char *name);

typedef struct sharedserver_exit sharedserver_exit;

int sharedserver_exit_get(sharedserver_exit **out, sharedserver_context *ctx, const char *name,
                                           int64_t since_ms);
void sharedserver_exit_free(sharedserver_exit *exit);

int sharedserver_exit_reason(const sharedserver_exit *exit);

int sharedserver_exit_code(const sharedserver_exit *exit);

int sharedserver_exit_signal(const sharedserver_exit *exit);
int64_t sharedserver_exit_pid(const sharedserver_exit *exit);

int64_t sharedserver_exit_at(const sharedserver_exit *exit);

size_t sharedserver_exit_restarts(const sharedserver_exit *exit);

int sharedserver_exit_unexpected(const sharedserver_exit *exit);

int sharedserver_exit_while_starting(const sharedserver_exit *exit);

const char *sharedserver_exit_message(const sharedserver_exit *exit);

const char *sharedserver_exit_log_tail(const sharedserver_exit *exit);

typedef struct sharedserver_watch sharedserver_watch;

int sharedserver_watch_open(sharedserver_watch **out, sharedserver_context *ctx,
                                             const char *const *names, size_t count, int64_t since_ms);

int sharedserver_watch_fd(const sharedserver_watch *watch);

typedef struct sharedserver_change {
    unsigned version;
    const char *name;
    int kind;
    int state;
    int64_t pid;
    int64_t at;
    const char *json;
} sharedserver_change;

static const int SHAREDSERVER_CHANGE_VERSION = 1;
int sharedserver_change_init(sharedserver_change *change, unsigned version);

int sharedserver_watch_next(sharedserver_change *out, sharedserver_watch *watch, int64_t timeout_ms);
void sharedserver_watch_free(sharedserver_watch *watch);

int sharedserver_log_path(sharedserver_buf *out, sharedserver_context *ctx, const char *name);

int sharedserver_log_tail(sharedserver_buf *out, sharedserver_context *ctx,
                                           const char *name, size_t lines);
]]
