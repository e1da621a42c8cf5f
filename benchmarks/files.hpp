// Reading and removing files, and what a path is: the small file chores of
// every section.
#pragma once

#include <string>

namespace bench {

// The whole file; "" when it cannot be read.
std::string read_file(const std::string &path);

// Without trailing newlines and spaces.
std::string trim(std::string s);

bool exists(const std::string &path);

// mkdir with mode 0700; a Failure naming the directory if that fails.
void make_dir(const std::string &dir);

// Removes a directory tree (the run's temp dir); does not follow symlinks.
void remove_tree(const std::string &path);

// "tmpfs", "ext4", ... (or the magic number) of the filesystem holding `path`.
std::string filesystem_type(const std::string &path);

// This executable (it is also the throughput worker and the readiness server)
// and its directory.
std::string self_exe();
std::string exe_dir();

}  // namespace bench
