// `sharedserver logs -f`: print what a server writes to its log as it writes
// it, until interrupted.
#pragma once

#include <string>

namespace cli {

// Never returns unless the file cannot be read (then 1); Ctrl-C ends it.
// Starts at the file's current end; a truncated file is followed from its start.
int follow_log(const std::string &path);

}  // namespace cli
