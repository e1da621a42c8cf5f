// The state directory: where every record, lock, log and event file lives.
#pragma once

#include <string>
#include <string_view>

#include "error.hpp"

namespace sharedserver {

// $SHAREDSERVER_LOCKDIR, else $XDG_RUNTIME_DIR/sharedserver, else
// /run/user/<uid>/sharedserver when that directory is the user's, else
// /dev/shm/sharedserver-<uid> when /dev/shm is a tmpfs, else
// /tmp/sharedserver-<uid>.
std::string default_state_dir();

// `dir` as an absolute path, resolved against the current directory once,
// when a context opens: the watcher runs from `/` and every process must
// name the same directory (a relative SHAREDSERVER_LOCKDIR once had the
// watcher look for its record under `/` and stop the server it had just
// started). `.` components and repeated or trailing slashes are dropped;
// `..` is kept (a symlink before it makes dropping it wrong). A path that
// is not UTF-8 is refused: records name files in it as JSON text.
Result<std::string> absolute_state_dir(const std::string &dir);

// Creates the directory 0700 when missing; refuses one that is not a real
// directory, is owned by another user, or is group/world-writable.
Status ensure_private_directory(const std::string &dir);

// Paths of the files of one server name.
struct ServerFiles {
    std::string dir;
    std::string name;

    std::string server() const { return dir + "/" + name + ".server.json"; }
    std::string clients() const { return dir + "/" + name + ".clients.json"; }
    std::string lock() const { return dir + "/" + name + ".lock"; }
    std::string log() const { return dir + "/" + name + ".log"; }
    std::string events() const { return dir + "/" + name + ".events.jsonl"; }
};

}  // namespace sharedserver
