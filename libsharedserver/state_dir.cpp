#include "state_dir.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "names.hpp"
#include "spec_limits.hpp"

namespace sharedserver {

namespace {

bool is_tmpfs(const char *path) {
    struct statfs fs {};
    return ::statfs(path, &fs) == 0 && fs.f_type == TMPFS_MAGIC;
}

}  // namespace

std::string default_state_dir() {
    if (const char *dir = std::getenv("SHAREDSERVER_LOCKDIR"); dir && *dir) return dir;
    if (const char *runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime)
        return std::string(runtime) + "/sharedserver";
    std::string uid = std::to_string(::geteuid());
    // The directory a login session's XDG_RUNTIME_DIR names, when it
    // exists: a cron job or `ssh host cmd` without the variable then shares
    // servers with the session instead of starting its own copies.
    std::string session = "/run/user/" + uid;
    struct stat st {};
    if (::stat(session.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::geteuid())
        return session + "/sharedserver";
    // Every use writes records; on a disk-backed /tmp a write costs 3-4x
    // what it costs in memory. /dev/shm is a sticky, world-writable tmpfs
    // like /tmp, so ensure_private_directory's checks protect it the same.
    if (is_tmpfs("/dev/shm")) return "/dev/shm/sharedserver-" + uid;
    return "/tmp/sharedserver-" + uid;
}

Result<std::string> absolute_state_dir(const std::string &dir) {
    if (dir.empty()) return fail(SHAREDSERVER_EINVALID, "the state directory path is empty");
    // Records name files in it (the default log) as JSON text.
    if (invalid_utf8_at(dir) != std::string::npos)
        return fail(SHAREDSERVER_EINVALID, "state directory " + quote(dir) +
                                               " is not valid UTF-8, which records cannot name; set SHAREDSERVER_LOCKDIR to another directory",
                    0, dir);
    std::string path = dir;
    if (path.front() != '/') {
        char cwd[PATH_MAX];
        if (!::getcwd(cwd, sizeof cwd))
            return fail(SHAREDSERVER_EINVALID,
                        "state directory " + quote(dir) + " is relative and the current directory cannot be named (" +
                            std::strerror(errno) + "): set SHAREDSERVER_LOCKDIR to an absolute path",
                        errno, dir);
        path = std::string(cwd) + "/" + path;
    }
    std::string out;
    std::size_t begin = 0;
    while (begin < path.size()) {
        std::size_t end = path.find('/', begin);
        if (end == std::string::npos) end = path.size();
        std::string_view part(path.data() + begin, end - begin);
        if (!part.empty() && part != ".") out += "/" + std::string(part);
        begin = end + 1;
    }
    return out.empty() ? std::string("/") : out;
}

Status ensure_private_directory(const std::string &dir) {
    if (dir.empty()) return fail(SHAREDSERVER_EINVALID, "the state directory path is empty");
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        return fail_errno(errno == EACCES ? SHAREDSERVER_EPERM : SHAREDSERVER_ERROR,
                          "cannot create the state directory", dir, errno);
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0)
        return fail_errno(SHAREDSERVER_ERROR, "cannot inspect the state directory", dir, errno);
    if (!S_ISDIR(st.st_mode))
        return fail(SHAREDSERVER_EPERM,
                    "state directory " + quote(dir) + " is not a directory (a symlink or a file): remove it or set SHAREDSERVER_LOCKDIR",
                    ENOTDIR, dir);
    if (st.st_uid != ::geteuid())
        return fail(SHAREDSERVER_EPERM,
                    "state directory " + quote(dir) + " is owned by uid " + std::to_string(st.st_uid) +
                        ", not by you (uid " + std::to_string(::geteuid()) + "): set SHAREDSERVER_LOCKDIR to a directory of your own",
                    EPERM, dir);
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return fail(SHAREDSERVER_EPERM,
                    "state directory " + quote(dir) + " is writable by others: run `chmod 700 " + dir + "`",
                    EPERM, dir);
    return {};
}

}  // namespace sharedserver
