#include "files.hpp"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

#include "names.hpp"

namespace sharedserver {

namespace {

Status write_all(int fd, const std::string &content, const std::string &path) {
    std::size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno(SHAREDSERVER_ERROR, "cannot write", path, errno);
        }
        done += static_cast<std::size_t>(n);
    }
    return {};
}

std::string temp_suffix() {
    thread_local std::mt19937_64 rng{std::random_device{}() ^ static_cast<uint64_t>(::getpid())};
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string out = ".tmp.";
    for (int i = 0; i < 10; ++i) out += digits[rng() % 36];
    return out;
}

// Puts `temp` in the place of `path` atomically: a reader sees the old file
// or the new one, never neither. Swapping the two names (RENAME_EXCHANGE) and
// then unlinking the old content is used instead of rename(2) over `path`:
// ext4 (auto_da_alloc) flushes the new file's data to disk on a rename that
// replaces a file, about 1 ms per record write on this project's own CI
// machines, against ~40 us for the swap. The flush buys nothing here: records
// describe processes and are meaningless after a crash of the machine.
Status replace_with(const std::string &temp, const std::string &path) {
#ifdef RENAME_EXCHANGE
    if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(), RENAME_EXCHANGE) == 0) {
        if (::unlink(temp.c_str()) == 0 || errno != EISDIR) return {};  // temp names the old content now
        // The swap also moves a directory, which rename(2) over it would
        // have refused: put it back and fail the same way.
        ::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(), RENAME_EXCHANGE);
        return fail_errno(SHAREDSERVER_ERROR, "cannot replace", path, EISDIR);
    }
    // ENOENT: nothing to replace yet; EINVAL: a filesystem without the swap.
    if (errno != ENOENT && errno != EINVAL && errno != ENOSYS)
        return fail_errno(SHAREDSERVER_ERROR, "cannot replace", path, errno);
#endif
    if (::rename(temp.c_str(), path.c_str()) != 0) return fail_errno(SHAREDSERVER_ERROR, "cannot replace", path, errno);
    return {};
}

}  // namespace

Result<std::optional<std::string>> read_small_file(const std::string &path, std::size_t max_size) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) return std::optional<std::string>{};
        if (errno == ELOOP)
            return fail(SHAREDSERVER_ECORRUPT,
                        "record " + quote(path) + " is a symlink: refusing to follow it; repair it with doctor",
                        ELOOP, path);
        return fail_errno(SHAREDSERVER_ERROR, "cannot open", path, errno);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return fail(SHAREDSERVER_ECORRUPT, "record " + quote(path) + " is not a regular file; repair it with doctor", 0, path);
    }
    if (static_cast<std::size_t>(st.st_size) > max_size) {
        ::close(fd);
        return fail(SHAREDSERVER_ECORRUPT,
                    "record " + quote(path) + " is " + std::to_string(st.st_size) +
                        " bytes, larger than any record; repair it with doctor",
                    0, path);
    }
    std::string content;
    content.resize(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    // A record is never rewritten in place (writes swap in a new file), so
    // its size from fstat is all there is: no extra read to see the end. An
    // append-only log is read as it was at the fstat; a file that reports no
    // size (st_size 0) is read to its end.
    const std::size_t known = static_cast<std::size_t>(st.st_size);
    while (known == 0 || done < known) {
        if (done == content.size()) content.resize(content.size() + 4096);
        ssize_t n = ::read(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            return fail_errno(SHAREDSERVER_ERROR, "cannot read", path, err);
        }
        if (n == 0) break;
        done += static_cast<std::size_t>(n);
        if (done > max_size) {
            ::close(fd);
            return fail(SHAREDSERVER_ECORRUPT, "record " + quote(path) + " is too large", 0, path);
        }
    }
    ::close(fd);
    content.resize(done);
    return std::optional<std::string>{std::move(content)};
}

Status write_file_atomically(const std::string &path, const std::string &content) {
    std::string temp = path + temp_suffix();
    // Errors name the file the caller asked for: the temp name is ours.
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return fail_errno(SHAREDSERVER_ERROR, "cannot write", path, errno);
    Status written = write_all(fd, content, path);
    ::close(fd);
    if (!written) {
        ::unlink(temp.c_str());
        return written;
    }
    if (Status replaced = replace_with(temp, path); !replaced) {
        ::unlink(temp.c_str());
        return replaced;
    }
    return {};
}

Status remove_file(const std::string &path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return fail_errno(SHAREDSERVER_ERROR, "cannot remove", path, errno);
    return {};
}

Result<std::size_t> append_line(const std::string &path, const std::string &line, std::size_t refuse_above,
                                bool create) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
    if (fd < 0) return fail_errno(SHAREDSERVER_ERROR, "cannot open", path, errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) st.st_size = 0;
    if (static_cast<std::size_t>(st.st_size) > refuse_above) {
        ::close(fd);
        return static_cast<std::size_t>(st.st_size);
    }
    Status written = write_all(fd, line + "\n", path);
    if (!written) {
        // A full disk takes the part of the line that fits in the file's
        // last page: cut it off again, or the next line would be glued to
        // it and both lost. Only when nobody appended meanwhile.
        struct stat after {};
        if (::fstat(fd, &after) == 0 && after.st_size > st.st_size &&
            after.st_size - st.st_size < static_cast<off_t>(line.size() + 1))
            (void)::ftruncate(fd, st.st_size);
    }
    ::close(fd);
    if (!written) return std::unexpected(written.error());
    return static_cast<std::size_t>(st.st_size) + line.size() + 1;
}

bool file_exists(const std::string &path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace sharedserver
