#include "client_use.hpp"

#include <algorithm>
#include <climits>
#include <unistd.h>

#include "clock.hpp"
#include "dependencies.hpp"
#include "ready_wait.hpp"

namespace sharedserver {

Result<pid_t> client_pid_of(int64_t pid) {
    if (pid < 0 || pid > INT_MAX)
        return fail(SHAREDSERVER_EINVALID, "invalid client pid " + std::to_string(pid) + ": not a process id");
    return pid == 0 ? ::getpid() : static_cast<pid_t>(pid);
}

namespace {

// The calling process's identity is read once per thread: its start stamp
// never changes, and a forked child has another pid, so it reads its own.
// An in-process attach saves the open, read and close of /proc/self/stat
// (issue 14).
std::optional<ProcessId> identify_self(pid_t self) {
    thread_local ProcessId cached{};
    if (cached.pid != self) {
        auto id = identify_process(self);
        if (!id) return std::nullopt;
        cached = *id;
    }
    return cached;
}

}  // namespace

Result<ProcessId> identify_client(int64_t pid) {
    auto p = client_pid_of(pid);
    if (!p) return std::unexpected(p.error());
    auto id = pid == 0 || *p == ::getpid() ? identify_self(*p) : identify_process(*p);
    if (!id)
        return fail(SHAREDSERVER_EINVALID, "client pid " + std::to_string(*p) +
                                               " is not a live process; pass the pid of the process that uses the server");
    return *id;
}

Result<UseOutcome> use_server(Lifecycle &lifecycle, const std::string &name, const Definition *def,
                              const ClientOptions &client) {
    auto id = identify_client(client.client_pid);
    if (!id) return std::unexpected(id.error());
    UseRequest request;
    if (def && !def->spec.argv.empty()) {
        request.spec = def->spec;
        request.working_dir_given = def->working_dir_given;
        request.on_mismatch = def->on_mismatch;
    }
    request.client = *id;
    request.metadata = client.metadata;
    // Everything it needs is resolved before anything starts, then used
    // (and ready) before it starts; its watcher takes its own references.
    std::vector<std::string> joined;
    if (def) {
        auto steps = plan_dependencies(lifecycle.state_dir(), name, *def);
        if (!steps) return std::unexpected(steps.error());
        auto used = use_dependencies(lifecycle, *steps, *id, name);
        if (!used) return std::unexpected(used.error());
        joined = std::move(*used);
    }
    int64_t since = unix_now_ms();
    auto outcome = lifecycle.use(name, request);
    std::reverse(joined.begin(), joined.end());
    release_dependencies(lifecycle, joined, id->pid);
    if (!outcome) return outcome;
    if (!outcome->ready && !client.no_wait) {
        auto waited = wait_until_ready(lifecycle.files(name), client.wait_timeout_ms, {outcome->server.pid, since});
        if (!waited) return std::unexpected(waited.error());
        outcome->ready = true;
    }
    return outcome;
}

Result<ServerRecord> start_server(Lifecycle &lifecycle, const std::string &name, const Definition &def,
                                  const ClientOptions &client) {
    auto steps = plan_dependencies(lifecycle.state_dir(), name, def);
    if (!steps) return std::unexpected(steps.error());
    auto me = identify_client(0);
    if (!me) return std::unexpected(me.error());
    auto used = use_dependencies(lifecycle, *steps, *me, name);
    if (!used) return std::unexpected(used.error());
    int64_t since = unix_now_ms();
    auto record = lifecycle.start(name, def.spec);
    std::reverse(used->begin(), used->end());
    release_dependencies(lifecycle, *used, me->pid);
    if (!record) return record;
    if (record->ready_at_ms == 0 && !client.no_wait) {
        auto waited = wait_until_ready(lifecycle.files(name), client.wait_timeout_ms, {record->server.pid, since});
        if (!waited) return std::unexpected(waited.error());
    }
    return record;
}

}  // namespace sharedserver
