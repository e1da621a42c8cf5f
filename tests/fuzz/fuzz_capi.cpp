// libFuzzer target: the C ABI's read paths over hostile state. Each input is
// split (at "\n--\n") into <name>.server.json, <name>.clients.json,
// <name>.events.jsonl of a private state dir and a sharedserver.json project
// file; then every read-only entry point runs over them: check, info (every
// getter and the JSON), list, events, last_exit, the project calls (open,
// names, lazy, use_options), plus the helpers (duration, name) on the raw bytes.
// Write transactions are left out on purpose: a record may name any live
// process, and the fuzzer must never signal or adopt one.
#include <sharedserver/sharedserver.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace {

sharedserver_context *ctx = nullptr;
std::string dir;
std::string project_dir;

void write_file(const std::string &path, const std::string &content) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) std::abort();
    if (!content.empty() && ::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size()))
        std::abort();
    ::close(fd);
}

void check_string(const char *s) {
    if (!s) std::abort();
    (void)std::strlen(s);
}

void exercise_info(const sharedserver_info *info) {
    check_string(sharedserver_info_name(info));
    int state = sharedserver_info_state(info);
    check_string(sharedserver_state_name(state));
    (void)sharedserver_info_pid(info);
    (void)sharedserver_info_watcher_pid(info);
    size_t refs = sharedserver_info_refcount(info);
    for (size_t i = 0; i <= refs; ++i) {
        (void)sharedserver_info_client_pid(info, i);
        (void)sharedserver_info_client_attached_at(info, i);
        const char *meta = sharedserver_info_client_metadata(info, i);
        if (i < refs) check_string(meta);
    }
    size_t argc = sharedserver_info_argc(info);
    for (size_t i = 0; i <= argc; ++i) {
        const char *arg = sharedserver_info_argv(info, i);
        if (i < argc) check_string(arg);
        else if (std::strcmp(arg, "") != 0) std::abort();  // never NULL: "" past the end
    }
    size_t envc = sharedserver_info_envc(info);
    for (size_t i = 0; i <= envc; ++i) {
        const char *env = sharedserver_info_env(info, i);
        if (i < envc) check_string(env);
    }
    check_string(sharedserver_info_working_dir(info));
    check_string(sharedserver_info_log_file(info));
    (void)sharedserver_info_grace_period_ms(info);
    (void)sharedserver_info_grace_deadline(info);
    (void)sharedserver_info_started_at(info);
    sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
    if (sharedserver_info_json(&buf, info) == 0) check_string(buf.ptr);
    sharedserver_buf_dispose(&buf);
}

void exercise_project(const std::string &content) {
    const std::string path = project_dir + "/sharedserver.json";
    sharedserver_project *project = nullptr;
    if (content.empty()) {
        ::unlink(path.c_str());
        if (sharedserver_project_open(&project, path.c_str(), nullptr) != SHAREDSERVER_EINVALID || project)
            std::abort();
        check_string(sharedserver_error_last());
        return;
    }
    write_file(path, content);
    if (sharedserver_project_open(&project, path.c_str(), nullptr) != 0) {
        if (project) std::abort();
        check_string(sharedserver_error_last());
        return;
    }
    if (std::strcmp(sharedserver_project_path(project), path.c_str()) != 0) std::abort();
    size_t count = sharedserver_project_count(project);
    // String getters never return NULL: "" past the end (the header's rule).
    if (std::strcmp(sharedserver_project_name(project, count), "") != 0) std::abort();
    for (size_t i = 0; i < count; ++i) {
        const char *name = sharedserver_project_name(project, i);
        check_string(name);
        if (sharedserver_name_validate(name) != 0) std::abort();
        int lazy = sharedserver_project_lazy(project, name);
        if (lazy != 0 && lazy != 1) std::abort();
        sharedserver_use_options opts = SHAREDSERVER_USE_OPTIONS_INIT;
        opts.metadata = "fuzz";
        if (sharedserver_project_use_options(&opts, project, name) != 0) std::abort();
        if (opts.version != SHAREDSERVER_USE_OPTIONS_VERSION || opts.argc < 1 || !opts.argv) std::abort();
        for (size_t a = 0; a < opts.argc; ++a) check_string(opts.argv[a]);
        if (!*opts.argv[0]) std::abort();
        if ((opts.envc == 0) != (opts.env == nullptr)) std::abort();
        for (size_t e = 0; e < opts.envc; ++e)
            if (!std::strchr(opts.env[e], '=')) std::abort();
        if (opts.working_dir && opts.working_dir[0] != '/') std::abort();
        if (opts.log_file && opts.log_file[0] != '/') std::abort();
        if (std::strcmp(opts.metadata, "fuzz") != 0) std::abort();  // the client's own fields stay
        sharedserver_use_options old = SHAREDSERVER_USE_OPTIONS_INIT;
        old.version = 1;
        if (sharedserver_project_use_options(&old, project, name) == 0) std::abort();
    }
    // Not a valid name, so never defined.
    sharedserver_use_options opts = SHAREDSERVER_USE_OPTIONS_INIT;
    if (sharedserver_project_lazy(project, "../x") != SHAREDSERVER_ENOTFOUND) std::abort();
    if (sharedserver_project_use_options(&opts, project, "../x") != SHAREDSERVER_ENOTFOUND) std::abort();
    check_string(sharedserver_error_last());
    if (sharedserver_project_lazy(project, nullptr) == 0 || sharedserver_project_use_options(nullptr, project, "x") == 0)
        std::abort();
    sharedserver_project_free(project);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    char templ[] = "/tmp/sharedserver-fuzz-XXXXXX";
    if (!::mkdtemp(templ)) std::abort();
    dir = templ;
    char project_templ[] = "/tmp/sharedserver-fuzz-project-XXXXXX";
    if (!::mkdtemp(project_templ)) std::abort();
    project_dir = project_templ;
    std::atexit([] {
        sharedserver_context_free(ctx);
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
        std::filesystem::remove_all(project_dir, ignored);
    });
    if (sharedserver_context_open(&ctx, dir.c_str()) != 0) {
        std::fprintf(stderr, "cannot open a context: %s\n", sharedserver_error_last());
        std::abort();
    }
    // NULL everywhere is an error, never a crash.
    sharedserver_context_free(nullptr);
    sharedserver_info_free(nullptr);
    sharedserver_list_free(nullptr);
    sharedserver_buf_dispose(nullptr);
    if (sharedserver_check(nullptr, ctx, "x") == 0) std::abort();
    if (sharedserver_info_get(nullptr, ctx, "x") == 0) std::abort();
    if (sharedserver_name_validate(nullptr) == 0) std::abort();
    if (sharedserver_duration_parse(nullptr, "1s") == 0) std::abort();
    if (sharedserver_project_open(nullptr, "x", nullptr) == 0) std::abort();
    sharedserver_project_free(nullptr);
    if (sharedserver_project_count(nullptr) != 0 || std::strcmp(sharedserver_project_name(nullptr, 0), "") != 0) std::abort();
    check_string(sharedserver_project_path(nullptr));
    check_string(sharedserver_info_name(nullptr));
    check_string(sharedserver_error_last());
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string input(reinterpret_cast<const char *>(data), size);
    std::string parts[4];
    std::size_t begin = 0;
    for (int i = 0; i < 4; ++i) {
        std::size_t end = i < 3 ? input.find("\n--\n", begin) : std::string::npos;
        if (end == std::string::npos) {
            parts[i] = input.substr(std::min(begin, input.size()));
            begin = input.size() + 1;
            break;
        }
        parts[i] = input.substr(begin, end - begin);
        begin = end + 4;
    }
    const std::string name = "fz";
    write_file(dir + "/" + name + ".server.json", parts[0]);
    if (parts[1].empty()) ::unlink((dir + "/" + name + ".clients.json").c_str());
    else write_file(dir + "/" + name + ".clients.json", parts[1]);
    write_file(dir + "/" + name + ".events.jsonl", parts[2]);

    int state = -1;
    if (sharedserver_check(&state, ctx, name.c_str()) == 0) {
        if (state < SHAREDSERVER_STOPPED || state > SHAREDSERVER_STOPPING) std::abort();
    } else {
        check_string(sharedserver_error_last());
    }
    sharedserver_info *info = nullptr;
    if (sharedserver_info_get(&info, ctx, name.c_str()) == 0) {
        exercise_info(info);
        sharedserver_info_free(info);
    } else {
        if (info) std::abort();
        check_string(sharedserver_error_last());
    }
    sharedserver_list *list = nullptr;
    if (sharedserver_list_get(&list, ctx) == 0) {
        for (size_t i = 0; i < sharedserver_list_count(list); ++i) exercise_info(sharedserver_list_at(list, i));
        if (sharedserver_list_at(list, sharedserver_list_count(list)) != nullptr) std::abort();
        sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
        if (sharedserver_list_json(&buf, list) == 0) check_string(buf.ptr);
        sharedserver_buf_dispose(&buf);
        sharedserver_list_free(list);
    }
    sharedserver_buf events = SHAREDSERVER_BUF_INIT;
    if (sharedserver_events(&events, ctx, name.c_str()) == 0 && events.ptr) check_string(events.ptr);
    sharedserver_buf_dispose(&events);
    int code = 0, sig = 0, unexpected = 0;
    int64_t at = 0;
    (void)sharedserver_last_exit(&code, &sig, &at, &unexpected, ctx, name.c_str());
    exercise_project(parts[3]);

    // The helpers, on the raw bytes (NUL-terminated copy).
    const std::string text = input.substr(0, std::min<std::size_t>(input.size(), 256));
    int64_t ms = 0;
    if (sharedserver_duration_parse(&ms, text.c_str()) == 0) {
        sharedserver_buf shown = SHAREDSERVER_BUF_INIT;
        if (sharedserver_duration_format(&shown, ms) != 0) std::abort();
        int64_t back = -1;
        if (sharedserver_duration_parse(&back, shown.ptr) != 0 || back != ms) std::abort();
        sharedserver_buf_dispose(&shown);
    }
    (void)sharedserver_name_validate(text.c_str());
    check_string(sharedserver_error_last());
    check_string(sharedserver_state_name(static_cast<int>(size) - 3));
    return 0;
}
