// The last lines of a server's log, also after the server is gone.
#pragma once

#include <string>

#include "error.hpp"
#include "state_dir.hpp"

namespace sharedserver {

Result<std::string> tail_file(const std::string &path, std::size_t lines);

// Copies the log to <path>.1 (replacing the older one) and empties it. The
// server keeps writing through its O_APPEND descriptor, now from the start.
Status rotate_log(const std::string &path);

// The log of the running server, else the one the last server wrote to.
std::string server_log_path(const ServerFiles &files);
Result<std::string> tail_server_log(const ServerFiles &files, std::size_t lines);

}  // namespace sharedserver
