/* Linked into every program and library of the ASan+UBSan build by
 * tests/sanitize.sh (not part of sharedserver).
 *
 * GCC links ASan and UBSan as two runtimes, each with its own copy of the
 * sanitizer report file. libubsan sets its log_path by calling
 * __sanitizer_set_report_path through its PLT, which libasan (loaded first)
 * interposes: UBSan then reports to stderr whatever UBSAN_OPTIONS says, and a
 * watcher's stderr is /dev/null. This hands libubsan's own copy the path in
 * $SANITIZE_UBSAN_LOG_PATH, so that every UBSan report lands in a file that
 * tests/sanitize.sh checks. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

__attribute__((constructor)) static void sanitize_ubsan_log_path(void) {
    const char *path = getenv("SANITIZE_UBSAN_LOG_PATH");
    if (!path || !*path) return;
    void *ubsan = dlopen("libubsan.so.1", RTLD_NOW | RTLD_NOLOAD);
    if (!ubsan) return;
    /* Looked up in libubsan itself: its definition, not libasan's. */
    void (*set_path)(const char *) = (void (*)(const char *))dlsym(ubsan, "__sanitizer_set_report_path");
    if (set_path) set_path(path);
    dlclose(ubsan);
}
