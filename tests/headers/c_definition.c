/* The definition ABI from C: a server defined as JSON text is used,
 * attached to again with no definition, watched, and stopped (its exit read
 * back as data); bad definitions,
 * unknown struct versions and enum names fail with one clear line. */
#include <sharedserver/sharedserver.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures = 0;

#define EXPECT(cond)                                                                         \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s:%d: %s failed; last error: %s\n", __FILE__, __LINE__, #cond, \
                    sharedserver_error_last());                                              \
            ++failures;                                                                      \
        }                                                                                    \
    } while (0)

static void check_enums(void) {
    int kind, value = 0;
    const char *name = NULL;
    for (kind = SHAREDSERVER_ENUM_ERROR; kind <= SHAREDSERVER_ENUM_CHANGE; ++kind) {
        size_t i, count = sharedserver_enum_count(kind);
        EXPECT(count > 0);
        for (i = 0; i < count; ++i) {
            int back = 0;
            EXPECT(sharedserver_enum_at(&value, &name, kind, i) == SHAREDSERVER_OK);
            EXPECT(sharedserver_enum_parse(&back, kind, name) == SHAREDSERVER_OK && back == value);
            EXPECT(strcmp(sharedserver_enum_name(kind, value), name) == 0);
        }
        EXPECT(sharedserver_enum_at(&value, &name, kind, count) == SHAREDSERVER_EINVALID);
    }
    EXPECT(strcmp(sharedserver_enum_name(SHAREDSERVER_ENUM_RESTART, SHAREDSERVER_RESTART_ON_FAILURE), "on-failure") == 0);
    EXPECT(strcmp(sharedserver_enum_name(SHAREDSERVER_ENUM_EXIT_REASON, 99), "") == 0);
    EXPECT(sharedserver_enum_parse(&value, SHAREDSERVER_ENUM_MISMATCH, "ignore") == SHAREDSERVER_EINVALID);
    EXPECT(strstr(sharedserver_error_last(), "\"warn\", \"error\" or \"restart\"") != NULL);
}

static void check_versions(void) {
    sharedserver_use_options use = SHAREDSERVER_USE_OPTIONS_INIT;
    sharedserver_client_options client;
    sharedserver_stop_options stop = SHAREDSERVER_STOP_OPTIONS_INIT;
    sharedserver_wait_options wait;
    sharedserver_use_result result;
    EXPECT(sharedserver_client_options_init(&client, SHAREDSERVER_CLIENT_OPTIONS_VERSION) == SHAREDSERVER_OK);
    EXPECT(client.wait_timeout_ms == -1 && client.metadata == NULL);
    EXPECT(sharedserver_wait_options_init(&wait, 1) == SHAREDSERVER_OK && wait.timeout_ms == -1);
    EXPECT(sharedserver_use_result_init(&result, 1) == SHAREDSERVER_OK && result.version == 1);
    EXPECT(sharedserver_client_options_init(&client, 0) == SHAREDSERVER_EINVALID);
    EXPECT(strcmp(sharedserver_error_last(), "unsupported sharedserver_client_options version 0 (this library knows 1 to 1)") == 0);
    EXPECT(sharedserver_stop_options_init(&stop, 99) == SHAREDSERVER_EINVALID);
    use.version = 0;
    EXPECT(sharedserver_use(NULL, NULL, "x", &use) == SHAREDSERVER_EINVALID);
    stop.version = 7;
    EXPECT(sharedserver_stop(NULL, "x", &stop) == SHAREDSERVER_EINVALID);
}

static void check_parse_errors(void) {
    sharedserver_definition *def = NULL;
    EXPECT(sharedserver_definition_parse(&def, "{\"command\": \"x\", \"idle_timeout\": \"5x\"}", NULL) == SHAREDSERVER_EINVALID);
    EXPECT(def == NULL);
    EXPECT(strcmp(sharedserver_error_last_key(), "idle_timeout") == 0);
    EXPECT(strncmp(sharedserver_error_last(), "idle_timeout: \"5x\" is not a duration", 36) == 0);
    EXPECT(sharedserver_definition_parse(&def, "{\"command\": \"x\", \"ready\": {\"port\": 0}}", NULL) == SHAREDSERVER_EINVALID);
    EXPECT(strcmp(sharedserver_error_last_key(), "ready.port") == 0);
}

int main(void) {
    char dir[] = "/tmp/sharedserver-c-definition-XXXXXX";
    sharedserver_context *ctx = NULL;
    sharedserver_definition *def = NULL;
    sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
    sharedserver_use_result result = SHAREDSERVER_USE_RESULT_INIT;
    sharedserver_client_options client = SHAREDSERVER_CLIENT_OPTIONS_INIT;
    size_t refcount = 99;
    sharedserver_watch *watch = NULL;
    sharedserver_change change = SHAREDSERVER_CHANGE_INIT;
    sharedserver_exit *exit = NULL;
    const char *names[] = {"cdef"};

    check_enums();
    check_versions();
    check_parse_errors();

    EXPECT(sharedserver_definition_keys(&buf) == SHAREDSERVER_OK && strstr(buf.ptr, "\"key\":\"log_max_size\"") != NULL);
    sharedserver_buf_dispose(&buf);

    if (!mkdtemp(dir)) return 2;
    EXPECT(sharedserver_context_open(&ctx, dir) == SHAREDSERVER_OK);
    EXPECT(sharedserver_context_health(&buf, ctx) == SHAREDSERVER_OK && strstr(buf.ptr, "\"ok\":true") != NULL &&
           strstr(buf.ptr, "\"mode\":\"0700\"") != NULL);
    sharedserver_buf_dispose(&buf);
    EXPECT(sharedserver_definition_parse(&def, "{\"command\": [\"sleep\", \"1000\"], \"idle_timeout\": \"1m\", \"log_max_size\": \"1K\"}",
                                         dir) == SHAREDSERVER_OK);
    EXPECT(sharedserver_watch_open(&watch, ctx, names, 1, -1) == SHAREDSERVER_OK && sharedserver_watch_fd(watch) >= 0);
    EXPECT(sharedserver_watch_next(&change, watch, 0) == SHAREDSERVER_ETIMEOUT);
    EXPECT(sharedserver_definition_json(&buf, def) == SHAREDSERVER_OK && strstr(buf.ptr, "\"log_max_size\":1024") != NULL &&
           strstr(buf.ptr, "\"idle_timeout\":\"1m\"") != NULL);
    sharedserver_buf_dispose(&buf);

    client.metadata = "c_definition";
    EXPECT(sharedserver_use_definition(&result, ctx, "cdef", def, &client) == SHAREDSERVER_OK);
    EXPECT(result.outcome == SHAREDSERVER_STARTED && result.pid > 0 && result.refcount == 1 && result.ready);
    EXPECT(sharedserver_use_definition(&result, ctx, "cdef", NULL, NULL) == SHAREDSERVER_OK);
    EXPECT(result.outcome == SHAREDSERVER_ATTACHED);
    EXPECT(sharedserver_start_definition(NULL, ctx, "cdef", def, NULL) == SHAREDSERVER_EALREADY);
    EXPECT(sharedserver_watch_next(&change, watch, 5000) == SHAREDSERVER_OK);
    EXPECT(change.kind == SHAREDSERVER_CHANGE_STARTED && strcmp(change.name, "cdef") == 0 && change.pid == result.pid);
    EXPECT(sharedserver_unuse(&refcount, ctx, "cdef", 0) == SHAREDSERVER_OK && refcount == 0);
    EXPECT(sharedserver_stop(ctx, "cdef", NULL) == SHAREDSERVER_OK);
    EXPECT(sharedserver_use_definition(&result, ctx, "cdef", NULL, NULL) == SHAREDSERVER_ENOTRUNNING);
    /* The watcher records the exit once the records are gone: wait for it. */
    while (sharedserver_watch_next(&change, watch, 5000) == SHAREDSERVER_OK && change.kind != SHAREDSERVER_CHANGE_EXITED) {
    }
    EXPECT(change.kind == SHAREDSERVER_CHANGE_EXITED && change.state == SHAREDSERVER_STOPPED);
    EXPECT(sharedserver_exit_get(&exit, ctx, "cdef", 0) == SHAREDSERVER_OK);
    EXPECT(sharedserver_exit_reason(exit) == SHAREDSERVER_EXIT_STOPPED && !sharedserver_exit_unexpected(exit));
    EXPECT(strcmp(sharedserver_exit_message(exit), "server \"cdef\" was stopped by a client") == 0);
    EXPECT(strcmp(sharedserver_enum_name(SHAREDSERVER_ENUM_EXIT_REASON, sharedserver_exit_reason(exit)), "stopped") == 0);
    EXPECT(strcmp(sharedserver_exit_message(NULL), "") == 0 && sharedserver_exit_code(NULL) == -1);
    sharedserver_exit_free(exit);
    sharedserver_watch_free(watch);

    sharedserver_definition_free(def);
    sharedserver_context_free(ctx);
    {
        char command[128];
        snprintf(command, sizeof command, "rm -rf '%s'", dir);
        if (system(command) != 0) ++failures;
    }
    return failures ? 1 : 0;
}
