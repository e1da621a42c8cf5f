// Why a command could not be executed, naming the real culprit: execve()
// reports ENOENT both for a missing program and for a program whose
// interpreter (its #! line, or an ELF binary's loader) is missing, which
// sent users looking for a script that was right there.
#pragma once

#include <string>

namespace sharedserver {

// One line, starting with `shown` (the command as the user gave it); `path`
// is the file that was executed, `err` the errno of execve().
std::string describe_exec_failure(const std::string &shown, const std::string &path, int err);

}  // namespace sharedserver
