#include "section.hpp"

#include "child_processes.hpp"
#include "failure.hpp"
#include "files.hpp"
#include "proc_sampling.hpp"
#include "timing.hpp"

#include <cstdlib>

namespace bench {

const std::vector<const char *> sleep_argv = {"sleep", "1000"};

sharedserver_use_options use_options(const std::vector<const char *> *argv, int64_t grace_ms, int64_t client) {
    sharedserver_use_options o = SHAREDSERVER_USE_OPTIONS_INIT;
    if (argv) {
        o.argv = argv->data();
        o.argc = argv->size();
    }
    o.grace_period_ms = grace_ms;
    o.client_pid = client;
    return o;
}

Section::Section(const std::string &root, const std::string &name) : dir(root + "/" + name) {
    make_dir(dir);
    ::setenv("SHAREDSERVER_LOCKDIR", dir.c_str(), 1);
    check(sharedserver_context_open(&ctx, dir.c_str()), "context_open " + dir);
}

void Section::remember(const std::string &name) {
    names.push_back(name);
    sharedserver_info *info = nullptr;
    if (sharedserver_info_get(&info, ctx, name.c_str()) == 0) {
        track(static_cast<pid_t>(sharedserver_info_watcher_pid(info)), false);
        track(static_cast<pid_t>(sharedserver_info_pid(info)), true);
    }
    sharedserver_info_free(info);
}

pid_t Section::hold(const std::string &name) {
    pid_t holder = spawn_client();
    auto opts = use_options(&sleep_argv, 600'000, holder);
    check(sharedserver_use(nullptr, ctx, name.c_str(), &opts), "use " + name);
    remember(name);
    return holder;
}

void Section::finish() {
    if (!ctx) return;
    kill_tracked();
    sharedserver_context_free(ctx);
    ctx = nullptr;
}

pid_t watcher_of(sharedserver_context *ctx, const std::string &name) {
    sharedserver_info *info = nullptr;
    check(sharedserver_info_get(&info, ctx, name.c_str()), "info " + name);
    pid_t w = static_cast<pid_t>(sharedserver_info_watcher_pid(info));
    sharedserver_info_free(info);
    return w;
}

void kill_and_wait(Section &s, const std::string &name, pid_t server, pid_t watcher) {
    check(sharedserver_kill(s.ctx, name.c_str()), "kill " + name);
    auto gone = [&] { return !start_stamp(server) && !start_stamp(watcher); };
    if (!wait_until(gone, 5000, 0.5)) throw Failure(name + ": server or watcher still alive after kill");
}

}  // namespace bench
