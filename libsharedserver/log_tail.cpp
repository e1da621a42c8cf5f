#include "log_tail.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

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

Result<std::string> tail_log(const std::string &path, std::size_t lines) {
    auto current = tail_file(path, lines);
    if (!current && current.error().sys_errno != ENOENT) return current;
    std::string text = current ? *current : std::string();
    std::size_t got = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    if (got >= lines) return text;
    // Rotated a moment ago, the log holds a few lines: the rest are at the
    // end of the file the pump renamed.
    auto older = tail_file(path + ".1", lines - got);
    if (older) return *older + text;
    if (!current) return current;
    return text;
}

namespace {

// The log of the running server, else of the last one that started.
std::optional<std::string> known_log_path(const ServerFiles &files) {
    if (auto record = load_server_record(files); record && *record && !(*record)->spec.log_file.empty())
        return (*record)->spec.log_file;
    return last_log_file(files);
}

}  // namespace

std::string server_log_path(const ServerFiles &files) { return known_log_path(files).value_or(files.log()); }

Result<std::string> tail_server_log(const ServerFiles &files, std::size_t lines) {
    auto known = known_log_path(files);
    auto text = tail_log(known.value_or(files.log()), lines);
    // The log is made by the server's first output: a server that has said
    // nothing yet has an empty log, not a missing one.
    if (!text && text.error().sys_errno == ENOENT && known) return std::string();
    return text;
}

}  // namespace sharedserver
