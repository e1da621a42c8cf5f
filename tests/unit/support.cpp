#include "support.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace testing {

TempDir::TempDir() {
    const char *base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/sharedserver-unit-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
    path_ = buf.data();
    ::chmod(path_.c_str(), 0700);
}

TempDir::~TempDir() {
    std::error_code ignored;
    // Make every subdirectory writable first: tests chmod some of them.
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ignored);
    std::filesystem::remove_all(path_, ignored);
}

Child::Child() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        // Only async-signal-safe calls: the test process may have threads.
        ::close(fds[1]);
        char c;
        while (::read(fds[0], &c, 1) < 0 && errno == EINTR) {
        }
        ::_exit(7);
    }
    ::close(fds[0]);
    pipe_write_ = fds[1];
}

Child::~Child() {
    if (pipe_write_ >= 0) ::close(pipe_write_);
    if (!reaped_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        reap();
    }
}

void Child::release() {
    if (pipe_write_ >= 0) ::close(pipe_write_);
    pipe_write_ = -1;
}

void Child::kill() { ::kill(pid_, SIGKILL); }

int Child::reap() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    return status;
}

void write_text(const std::string &path, const std::string &content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_text(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::vector<std::string> list_dir(const std::string &path) {
    std::vector<std::string> out;
    DIR *d = ::opendir(path.c_str());
    if (!d) return out;
    while (dirent *e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name != "." && name != "..") out.push_back(name);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

unsigned mode_of(const std::string &path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return 0;
    return st.st_mode & 07777;
}

bool wait_until(const std::function<bool()> &done, int64_t timeout_ms) {
    auto start = std::chrono::steady_clock::now();
    while (!done()) {
        if (elapsed_ms(start) >= timeout_ms) return done();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

char proc_state(pid_t pid) {
    std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
    auto paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size()) return '\0';
    return stat[paren + 2];
}

void kill_group_if_alive(pid_t pgid) {
    if (pgid > 1) ::kill(-pgid, SIGKILL);
}

void kill_if_alive(pid_t pid) {
    if (pid > 1) ::kill(pid, SIGKILL);
}

}  // namespace testing
