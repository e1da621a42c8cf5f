#include "log_probe.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <re2/re2.h>

#include "names.hpp"

namespace sharedserver {

namespace {

// What one pattern may take to compile: past it RE2 refuses the pattern
// instead of growing the watcher.
constexpr int64_t pattern_memory_budget = 2 << 20;

RE2::Options pattern_options() {
    RE2::Options options;
    options.set_log_errors(false);  // the watcher's stderr is the server's log
    options.set_max_mem(pattern_memory_budget);
    return options;
}

bool same_file(const struct stat &st, dev_t dev, ino_t ino) { return st.st_dev == dev && st.st_ino == ino; }

}  // namespace

LogStart log_start(const std::string &log_file) {
    LogStart start;
    struct stat st {};
    if (::stat(log_file.c_str(), &st) == 0) {
        start.exists = true;
        start.dev = st.st_dev;
        start.ino = st.st_ino;
        start.size = st.st_size;
    }
    if (::stat((log_file + ".1").c_str(), &st) == 0) {
        start.rotated_exists = true;
        start.rotated_dev = st.st_dev;
        start.rotated_ino = st.st_ino;
    }
    return start;
}

Status check_log_pattern(const std::string &pattern) {
    RE2 compiled(pattern, pattern_options());
    if (compiled.ok()) return {};
    return fail(SHAREDSERVER_EINVALID, "invalid readiness log pattern " + quote(pattern) + ": " + compiled.error() +
                                           " (patterns are RE2 syntax, without back-references or look-arounds)");
}

LogProbe::LogProbe(const std::string &pattern, std::string log_file, LogStart start)
    : pattern_(std::make_unique<RE2>(pattern, pattern_options())), log_file_(std::move(log_file)), start_(start) {}

LogProbe::~LogProbe() { close_file(); }

void LogProbe::close_file() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bool LogProbe::attempt() {
    if (!pattern_->ok()) return false;
    if (first_look_) {
        first_look_ = false;
        if (catch_up_rotation()) return true;
    }
    while (true) {
        if (fd_ < 0 && !open_current()) return false;  // no output yet
        if (read_to_end()) return true;
        struct stat named {};
        bool named_exists = ::stat(log_file_.c_str(), &named) == 0;
        if (named_exists && same_file(named, dev_, ino_)) return false;
        // Rotated (or removed): nobody writes to this file any more, so what
        // it holds now is all it will hold. Finish it, then the new one.
        if (read_to_end()) return true;
        close_file();
        offset_ = 0;
        if (!named_exists) return false;  // the pump creates the next one with its next output
    }
}

// Before the first look, the pump may have rotated the log once already: the
// file we should have started on is <log>.1 now.
bool LogProbe::catch_up_rotation() {
    const std::string rotated = log_file_ + ".1";
    fd_ = ::open(rotated.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return false;
    struct stat st {};
    ::fstat(fd_, &st);
    bool untouched = start_.rotated_exists && same_file(st, start_.rotated_dev, start_.rotated_ino);
    if (untouched) {
        close_file();
        return false;
    }
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    offset_ = start_.exists && same_file(st, start_.dev, start_.ino) ? start_.size : 0;
    bool matched = read_to_end();
    close_file();
    offset_ = 0;
    start_.exists = false;  // its rest was read here: the current file is a new one
    return matched;
}

bool LogProbe::open_current() {
    fd_ = ::open(log_file_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return false;
    struct stat st {};
    ::fstat(fd_, &st);
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    if (start_.exists && same_file(st, start_.dev, start_.ino)) offset_ = start_.size;
    start_.exists = false;  // only the first file can be the one that was there before
    return true;
}

bool LogProbe::read_to_end() {
    char buf[65536];
    ssize_t n;
    while ((n = ::pread(fd_, buf, sizeof buf, offset_)) != 0) {
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        offset_ += n;
        if (feed(std::string_view(buf, static_cast<std::size_t>(n)))) return true;
    }
    return false;
}

bool LogProbe::feed(std::string_view chunk) {
    while (!chunk.empty()) {
        const std::size_t newline = chunk.find('\n');
        const std::string_view piece = chunk.substr(0, newline);
        if (partial_line_.size() < log_line_matched)
            partial_line_.append(piece.substr(0, log_line_matched - partial_line_.size()));
        if (newline == std::string_view::npos) return false;  // the line goes on in the next read
        const bool matched = RE2::PartialMatch(partial_line_, *pattern_);
        partial_line_.clear();
        if (matched) return true;
        chunk.remove_prefix(newline + 1);
    }
    return false;
}

}  // namespace sharedserver
