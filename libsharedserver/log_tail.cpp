#include "log_tail.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events.hpp"
#include "records.hpp"

namespace sharedserver {

Result<std::string> tail_file(const std::string &path, std::size_t lines) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail_errno(SHAREDSERVER_ERROR, "cannot open log file", path, errno);
    struct stat st {};
    ::fstat(fd, &st);
    // Read backwards in blocks until enough newlines are seen.
    std::string tail;
    off_t end = st.st_size;
    std::size_t newlines = 0;
    constexpr off_t block = 8192;
    while (end > 0 && newlines <= lines) {
        off_t begin = end > block ? end - block : 0;
        std::string chunk(static_cast<std::size_t>(end - begin), '\0');
        ssize_t n = ::pread(fd, chunk.data(), chunk.size(), begin);
        if (n <= 0) break;
        chunk.resize(static_cast<std::size_t>(n));
        for (char c : chunk) newlines += c == '\n';
        tail = chunk + tail;
        end = begin;
    }
    ::close(fd);
    if (!tail.empty() && tail.back() == '\n') tail.pop_back();
    std::size_t pos = tail.size(), seen = 0;
    while (pos > 0) {
        if (tail[pos - 1] == '\n' && ++seen == lines) break;
        --pos;
    }
    if (lines == 0) return std::string();
    std::string out = tail.substr(pos);
    if (!out.empty()) out += '\n';
    return out;
}

Status rotate_log(const std::string &path) {
    int in = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (in < 0) return fail_errno(SHAREDSERVER_ERROR, "cannot open log file", path, errno);
    std::string kept = path + ".1";
    std::string temp = kept + ".tmp";
    int out = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (out < 0) {
        int err = errno;
        ::close(in);
        return fail_errno(SHAREDSERVER_ERROR, "cannot create", temp, err);
    }
    char buf[65536];
    off_t offset = 0;
    ssize_t n;
    while ((n = ::pread(in, buf, sizeof buf, offset)) > 0) {
        if (::write(out, buf, static_cast<std::size_t>(n)) != n) break;
        offset += n;
    }
    ::close(out);
    Status result;
    if (::rename(temp.c_str(), kept.c_str()) != 0) result = fail_errno(SHAREDSERVER_ERROR, "cannot replace", kept, errno);
    else if (::ftruncate(in, 0) != 0) result = fail_errno(SHAREDSERVER_ERROR, "cannot empty", path, errno);
    ::close(in);
    return result;
}

std::string server_log_path(const ServerFiles &files) {
    std::string path;
    if (auto record = load_server_record(files); record && *record) path = (*record)->spec.log_file;
    if (path.empty()) path = last_log_file(files).value_or(files.log());
    return path;
}

Result<std::string> tail_server_log(const ServerFiles &files, std::size_t lines) {
    return tail_file(server_log_path(files), lines);
}

}  // namespace sharedserver
