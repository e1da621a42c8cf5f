#include "health.hpp"

#include <cstdio>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "status.hpp"

namespace sharedserver {

namespace {

// Below this, records and event logs may fail to be written.
constexpr unsigned long long low_free_bytes = 1024 * 1024;

std::string octal(unsigned mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", mode);
    return text;
}

}  // namespace

std::string state_dir_health_json(const std::string &dir, const std::string &watcher_path) {
    nlohmann::json out = {{"state_dir", dir}, {"watcher", watcher_path}, {"uid", ::geteuid()}};
    std::vector<std::string> problems;
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        problems.push_back("state directory " + dir + " does not exist; it is made when a context opens it");
    } else {
        const unsigned mode = st.st_mode & 07777;
        out["mode"] = octal(mode);
        out["owner_uid"] = st.st_uid;
        if (st.st_uid != ::geteuid())
            problems.push_back("state directory " + dir + " is owned by uid " + std::to_string(st.st_uid) + ", not by you (uid " +
                               std::to_string(::geteuid()) + "); use a directory of your own");
        if (mode & (S_IWGRP | S_IWOTH))
            problems.push_back("state directory " + dir + " is writable by others (mode " + octal(mode) + "); make it 0700");
        if (::access(dir.c_str(), W_OK) != 0) problems.push_back("state directory " + dir + " is not writable");
        struct statvfs fs {};
        if (::statvfs(dir.c_str(), &fs) == 0) {
            unsigned long long free = static_cast<unsigned long long>(fs.f_bavail) * fs.f_frsize;
            out["free_bytes"] = free;
            if (free < low_free_bytes)
                problems.push_back("the file system of " + dir + " has only " + std::to_string(free) +
                                   " bytes free; records and logs may fail to be written");
        }
        nlohmann::json corrupt = nlohmann::json::array();
        for (const auto &info : list_servers(dir))
            if (info.state == SHAREDSERVER_CORRUPT) {
                corrupt.push_back(info.name);
                // The record's own error names it and says that doctor repairs it.
                problems.push_back(info.error.empty() ? "the record of " + info.name + " cannot be read; repair it with doctor"
                                                      : info.error);
            }
        out["corrupt"] = corrupt;
    }
    if (watcher_path.empty())
        problems.push_back("the sharedserver-watcher executable was not found: set $SHAREDSERVER_WATCHER, or install it "
                           "beside the library or in <prefix>/libexec");
    else if (::access(watcher_path.c_str(), X_OK) != 0)
        problems.push_back("the watcher " + watcher_path + " is not executable");
    out["ok"] = problems.empty();
    out["problems"] = problems;
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace sharedserver
