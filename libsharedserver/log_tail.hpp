// The last lines of a server's log, also after the server is gone.
#pragma once

#include <string>

#include "error.hpp"
#include "state_dir.hpp"

namespace sharedserver {

Result<std::string> tail_file(const std::string &path, std::size_t lines);

// tail_file() of a log that its pump rotates (log_pump.hpp): when the log
// holds fewer than `lines` lines, the rest come from the end of <path>.1.
Result<std::string> tail_log(const std::string &path, std::size_t lines);

// The log of the running server, else the one the last server wrote to.
std::string server_log_path(const ServerFiles &files);
// Its last lines; "" for a server that has written nothing yet.
Result<std::string> tail_server_log(const ServerFiles &files, std::size_t lines);

}  // namespace sharedserver
