// `sharedserver logs -f`: print what a server writes to its log as it writes
// it, until interrupted.
#pragma once

#include <string>

namespace cli {

// Prints the last `lines` lines, then what is written after them, with no
// gap or repeat between the two. Never returns unless the file cannot be
// read (then 1); Ctrl-C ends it. Waits for a log not created yet; follows the
// log across its pump's rotations, and a truncated file from its start.
int follow_log(const std::string &path, std::size_t lines);

}  // namespace cli
