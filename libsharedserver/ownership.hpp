// Which processes belong to a server, proven when they are signalled, and
// the one place that signals them. No other code signals a process group
// or a bare pid: a group id outlives its leader and then may be anybody's,
// and a pid is recycled.
//
// A live process is a member of a server when it is
//  - its leader: the recorded pid with the recorded start stamp;
//  - in the leader's process group while the leader (alive, or a zombie not
//    yet reaped) still holds that group's id;
//  - a descendant (parent links read from /proc, each parent older than its
//    child) of the leader, of its watcher or of another member; a subtree
//    under another sharedserver-watcher is that watcher's, never ours;
//  - or it carries the launch's instance token in its environment: the only
//    proof left when leader and watcher are both dead.
// A member stays one while that (pid, start stamp) lives, so the members of
// a server found before its leader or watcher died are still found after.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "process.hpp"

namespace sharedserver {

// The environment every launched server gets: who it is, and the stamp that
// proves its descendants ours after its leader and watcher are gone.
inline constexpr const char *instance_variable = "SHAREDSERVER_INSTANCE";
inline constexpr const char *name_variable = "SHAREDSERVER_NAME";
inline constexpr const char *state_dir_variable = "SHAREDSERVER_STATE_DIR";

// A fresh random token (32 hex digits) for one launch of a server.
std::string new_instance_token();

// "SHAREDSERVER_INSTANCE=...", "SHAREDSERVER_NAME=...", "SHAREDSERVER_STATE_DIR=...".
std::vector<std::string> identity_environment(const std::string &instance, const std::string &name,
                                              const std::string &state_dir);

// True for a variable that names the server a process belongs to: a watcher
// must not inherit one from a server it was started inside.
bool is_identity_variable(const std::string &entry);

// What a server is known by. Any part may be missing (a zero pid, an empty
// token): what is missing proves nothing.
struct ServerIdentity {
    ProcessId leader;
    ProcessId watcher;
    std::string instance;
};

class Members {
public:
    explicit Members(ServerIdentity server);

    // Reads the process table again: proves newcomers, forgets the gone.
    // Returns the number of live members.
    std::size_t refresh();

    // Sends `sig` to every live member found by the last refresh, each
    // through a pidfd opened before its identity is read again, so a
    // recycled pid is never hit. Never the calling process, never pid 1.
    // Returns how many it reached.
    std::size_t signal(int sig);

    // The same, to members not signalled with `sig` before.
    std::size_t signal_newcomers(int sig);

    // The last refresh could not read the process table (no descriptor
    // left): what it returns is the refresh before, and nothing is proven gone.
    bool blind() const { return blind_; }

    // The leader is alive (not a zombie), as of the last refresh.
    bool leader_alive() const { return leader_alive_; }
    // Live members that may still be signalled.
    const std::set<ProcessId> &alive() const { return alive_; }
    // Live members a signal could not reach (another user's, when we are
    // not root; no descriptor left to hold them by): reported, not waited for.
    const std::set<ProcessId> &unreachable() const { return unreachable_; }
    // Every member ever signalled, leader included.
    const std::set<ProcessId> &signalled() const { return signalled_; }

    // Live processes of group `pgid` that nothing proves ours (the leader
    // gone, the group id may be somebody else's): left alone, and reported.
    std::vector<ProcessId> unproven_in_group(pid_t pgid) const;

private:
    bool proves_descent(const ProcessEntry &entry, const std::map<pid_t, ProcessEntry> &table);
    bool carries_instance(const ProcessId &id);
    bool is_other_watcher(const ProcessId &id);
    bool send(const ProcessId &id, int sig);

    ServerIdentity server_;
    pid_t self_;
    std::set<ProcessId> proven_;
    std::set<ProcessId> alive_;
    std::set<ProcessId> unreachable_;
    std::set<ProcessId> signalled_;
    std::map<int, std::set<ProcessId>> sent_;
    std::map<ProcessId, bool> instance_seen_;
    std::map<ProcessId, bool> watcher_seen_;
    std::vector<ProcessEntry> table_;
    bool leader_alive_ = false;
    bool blind_ = false;
};

// Processes stamped with `state_dir`: their environment carries it and a
// well-formed instance token, and every uid of theirs is the caller's. How
// `admin doctor` and `admin kill` find servers that no record names.
struct StampedProcess {
    ProcessId id;
    std::string name;
    std::string instance;
};
std::vector<StampedProcess> find_stamped_processes(const std::string &state_dir);

}  // namespace sharedserver
