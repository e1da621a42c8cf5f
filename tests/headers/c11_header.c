/* The public header as a C11 program sees it: compiled with
 * -std=c11 -Wall -Wextra -pedantic -Werror, every INIT macro used. */
#include <sharedserver/sharedserver.h>

#include <stdio.h>
#include <string.h>

int main(void) {
    sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
    sharedserver_use_options use = SHAREDSERVER_USE_OPTIONS_INIT;
    sharedserver_use_result result = SHAREDSERVER_USE_RESULT_INIT;
    sharedserver_stop_options stop = SHAREDSERVER_STOP_OPTIONS_INIT;
    sharedserver_use_options initialised;
    int64_t ms = 0;
    int failures = 0;

    if (use.version != SHAREDSERVER_USE_OPTIONS_VERSION || use.grace_period_ms != -1 || use.argv != NULL) ++failures;
    if (result.version != SHAREDSERVER_USE_RESULT_VERSION || result.mismatch[0] != '\0') ++failures;
    if (stop.version != SHAREDSERVER_STOP_OPTIONS_VERSION || stop.timeout_ms != -1 || stop.force != 0) ++failures;
    if (sharedserver_use_options_init(&initialised, SHAREDSERVER_USE_OPTIONS_VERSION) != SHAREDSERVER_OK ||
        initialised.version != use.version || initialised.grace_period_ms != use.grace_period_ms ||
        initialised.argv != NULL || initialised.client_pid != 0)
        ++failures;

    if (strcmp(sharedserver_version(), SHAREDSERVER_VERSION_STRING) != 0) ++failures;
    if (sharedserver_abi_version() != SHAREDSERVER_ABI_VERSION) ++failures;
    if (sharedserver_duration_parse(&ms, "2h30m") != SHAREDSERVER_OK || ms != 9000000) ++failures;
    if (sharedserver_duration_format(&buf, 90000) != SHAREDSERVER_OK || strcmp(buf.ptr, "1m30s") != 0) ++failures;
    sharedserver_buf_dispose(&buf);
    sharedserver_buf_dispose(&buf);
    if (sharedserver_name_validate("../x") != SHAREDSERVER_EINVALID) ++failures;
    if (sharedserver_error_last_code() != SHAREDSERVER_EINVALID || sharedserver_error_last()[0] == '\0') ++failures;
    if (strcmp(sharedserver_state_name(SHAREDSERVER_GRACE), "grace") != 0) ++failures;
    sharedserver_context_free(NULL);
    sharedserver_info_free(NULL);
    sharedserver_list_free(NULL);

    if (failures) fprintf(stderr, "c11_header: %d check(s) failed; last error: %s\n", failures, sharedserver_error_last());
    return failures ? 1 : 0;
}
