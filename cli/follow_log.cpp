#include "follow_log.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cli {

int follow_log(const std::string &path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        std::cerr << "sharedserver: cannot follow " << path << ": " << std::strerror(errno) << "\n";
        return 1;
    }
    off_t offset = ::lseek(fd, 0, SEEK_END);
    int notify = ::inotify_init1(IN_CLOEXEC);
    if (notify >= 0) ::inotify_add_watch(notify, path.c_str(), IN_MODIFY);
    char buf[65536];
    while (true) {
        struct stat st {};
        if (::fstat(fd, &st) == 0 && st.st_size < offset) offset = 0;  // truncated or rotated by copy
        ssize_t n;
        while ((n = ::pread(fd, buf, sizeof buf, offset)) > 0) {
            std::cout.write(buf, n);
            offset += n;
        }
        std::cout.flush();
        if (notify >= 0) {
            pollfd p{notify, POLLIN, 0};
            if (::poll(&p, 1, 1000) > 0) {
                char events[4096];
                ssize_t ignored = ::read(notify, events, sizeof events);
                (void)ignored;
            }
        } else {
            ::usleep(200'000);
        }
    }
}

}  // namespace cli
