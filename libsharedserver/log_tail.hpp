// The last lines of a server's log, also after the server is gone.
#pragma once

#include <string>

#include "error.hpp"
#include "state_dir.hpp"

namespace sharedserver {

Result<std::string> tail_file(const std::string &path, std::size_t lines);

// The log of the running server, else the one the last server wrote to.
Result<std::string> tail_server_log(const ServerFiles &files, std::size_t lines);

}  // namespace sharedserver
