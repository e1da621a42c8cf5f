/* attach: share a server through the C API.
 *
 *   attach NAME [COMMAND [ARGS...]]
 *
 * Attaches this process to the server NAME, starting it with COMMAND when it
 * is not running, prints what happened, lists every server, then detaches.
 * The server stays up for its grace period after the detach, for the next
 * client. Every failure is reported with sharedserver_error_last(). */
#include <sharedserver/sharedserver.h>

#include <inttypes.h>
#include <stdio.h>

static const char *outcome_name(int outcome) {
    switch (outcome) {
        case SHAREDSERVER_STARTED: return "started";
        case SHAREDSERVER_ATTACHED: return "attached";
        case SHAREDSERVER_RESCUED: return "rescued";
        default: return "unknown";
    }
}

/* Prints the library's message for the failure of `what` and returns 1. */
static int report(const char *what, int rc) {
    fprintf(stderr, "attach: %s failed (%d): %s\n", what, rc, sharedserver_error_last());
    return 1;
}

static int print_server(sharedserver_context *ctx, const char *name) {
    sharedserver_info *info = NULL;
    int rc = sharedserver_info_get(&info, ctx, name);
    if (rc < 0) return report("sharedserver_info_get", rc);
    printf("pid=%" PRId64 " refcount=%zu state=%s watcher_pid=%" PRId64 "\n", sharedserver_info_pid(info),
           sharedserver_info_refcount(info), sharedserver_state_name(sharedserver_info_state(info)),
           sharedserver_info_watcher_pid(info));
    sharedserver_info_free(info);
    return 0;
}

static int print_list(sharedserver_context *ctx) {
    sharedserver_list *list = NULL;
    size_t i;
    int rc = sharedserver_list_get(&list, ctx);
    if (rc < 0) return report("sharedserver_list_get", rc);
    printf("servers=%zu\n", sharedserver_list_count(list));
    for (i = 0; i < sharedserver_list_count(list); ++i) {
        const sharedserver_info *info = sharedserver_list_at(list, i);
        printf("  %s %s pid=%" PRId64 " refcount=%zu\n", sharedserver_info_name(info),
               sharedserver_state_name(sharedserver_info_state(info)), sharedserver_info_pid(info),
               sharedserver_info_refcount(info));
    }
    sharedserver_list_free(list);
    return 0;
}

int main(int argc, char **argv) {
    sharedserver_context *ctx = NULL;
    sharedserver_use_options options = SHAREDSERVER_USE_OPTIONS_INIT;
    sharedserver_use_result result = SHAREDSERVER_USE_RESULT_INIT;
    const char *name;
    size_t refcount = 0;
    int rc, failed = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s NAME [COMMAND [ARGS...]]\n", argv[0]);
        return 2;
    }
    name = argv[1];
    if (argc > 2) {
        options.argv = (const char *const *)(argv + 2);
        options.argc = (size_t)(argc - 2);
    }
    options.metadata = "examples/c/attach";

    /* NULL: $SHAREDSERVER_LOCKDIR, else $XDG_RUNTIME_DIR/sharedserver, ... */
    rc = sharedserver_context_open(&ctx, NULL);
    if (rc < 0) return report("sharedserver_context_open", rc);

    rc = sharedserver_use(&result, ctx, name, &options);
    if (rc < 0) {
        failed = report("sharedserver_use", rc);
        sharedserver_context_free(ctx);
        return failed;
    }
    printf("%s %s pid=%" PRId64 " refcount=%zu\n", outcome_name(result.outcome), name, result.pid, result.refcount);
    if (result.mismatch[0] != '\0') printf("warning: %s\n", result.mismatch);

    /* Keep going after a failure here: this process is attached and must detach. */
    failed |= print_server(ctx, name);
    failed |= print_list(ctx);

    rc = sharedserver_unuse(&refcount, ctx, name, 0);
    if (rc < 0) {
        failed |= report("sharedserver_unuse", rc);
    } else {
        printf("detached refcount=%zu\n", refcount);
        failed |= print_server(ctx, name);
    }

    sharedserver_context_free(ctx);
    return failed;
}
