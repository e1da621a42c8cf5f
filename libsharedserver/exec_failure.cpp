#include "exec_failure.hpp"

#include <cerrno>
#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

#include "names.hpp"

namespace sharedserver {

namespace {

// The kernel reads this much of a file to find its #! line.
constexpr std::size_t shebang_limit = 256;

class OpenFile {
public:
    explicit OpenFile(const std::string &path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)) {}
    ~OpenFile() {
        if (fd_ >= 0) ::close(fd_);
    }
    OpenFile(const OpenFile &) = delete;
    OpenFile &operator=(const OpenFile &) = delete;
    bool read_at(void *buf, std::size_t size, off_t offset) const {
        return fd_ >= 0 && ::pread(fd_, buf, size, offset) == static_cast<ssize_t>(size);
    }
    std::string head(std::size_t size) const {
        std::string out(size, '\0');
        ssize_t n = fd_ >= 0 ? ::pread(fd_, out.data(), size, 0) : -1;
        out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        return out;
    }

private:
    int fd_;
};

// The interpreter a #! line names (its first word), or nullopt.
std::optional<std::string> shebang_interpreter(const std::string &head) {
    if (!head.starts_with("#!")) return std::nullopt;
    std::size_t begin = head.find_first_not_of(" \t", 2);
    if (begin == std::string::npos) return std::string();
    std::size_t end = head.find_first_of(" \t\n", begin);
    return head.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

template <class Ehdr, class Phdr>
std::optional<std::string> elf_loader_of(const OpenFile &file) {
    Ehdr header{};
    if (!file.read_at(&header, sizeof header, 0) || header.e_phentsize != sizeof(Phdr)) return std::nullopt;
    for (unsigned i = 0; i < header.e_phnum && i < 256; ++i) {
        Phdr program{};
        if (!file.read_at(&program, sizeof program, static_cast<off_t>(header.e_phoff + i * sizeof program))) break;
        if (program.p_type != PT_INTERP || program.p_filesz == 0 || program.p_filesz > 4096) continue;
        std::string loader(program.p_filesz, '\0');
        if (!file.read_at(loader.data(), loader.size(), static_cast<off_t>(program.p_offset))) break;
        return std::string(loader.c_str());
    }
    return std::nullopt;
}

// The program loader an ELF executable names (PT_INTERP), or nullopt.
std::optional<std::string> elf_loader(const OpenFile &file, const std::string &head) {
    if (head.size() < EI_NIDENT || std::memcmp(head.data(), ELFMAG, SELFMAG) != 0) return std::nullopt;
    if (head[EI_CLASS] == ELFCLASS64) return elf_loader_of<Elf64_Ehdr, Elf64_Phdr>(file);
    if (head[EI_CLASS] == ELFCLASS32) return elf_loader_of<Elf32_Ehdr, Elf32_Phdr>(file);
    return std::nullopt;
}

bool exists(const std::string &path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

std::string describe_exec_failure(const std::string &shown, const std::string &path, int err) {
    const std::string plain = escape_controls(shown) + ": " + std::strerror(err);
    if (err != ENOENT && err != EACCES && err != ENOEXEC) return plain;
    OpenFile file(path);
    const std::string head = file.head(shebang_limit);
    if (auto interpreter = shebang_interpreter(head)) {
        if (interpreter->empty())
            return escape_controls(shown) + ": its #! line names no interpreter; write one, e.g. #!/bin/sh";
        std::string named = escape_controls(shown) + ": its interpreter " + quote(*interpreter) + " (from its #! line) ";
        if (interpreter->back() == '\r')
            return named + "ends in a carriage return: save the script with Unix (LF) line endings";
        if (err == ENOENT && !exists(*interpreter)) return named + "does not exist; install it or fix the #! line";
        // EACCES may be the script's own (a noexec mount): blame the
        // interpreter only when it is not executable itself.
        if (err == EACCES && ::access(interpreter->c_str(), X_OK) == 0) return plain;
        return named + "cannot be run: " + std::strerror(err);
    }
    const bool elf = head.size() >= SELFMAG && std::memcmp(head.data(), ELFMAG, SELFMAG) == 0;
    if (err == ENOEXEC && !elf)
        return escape_controls(shown) + ": not an executable format; a script needs a #! line (e.g. #!/bin/sh)";
    if (err == ENOENT && exists(path)) {
        if (auto loader = elf_loader(file, head); loader && !exists(*loader))
            return escape_controls(shown) + ": its program loader " + quote(*loader) +
                   " does not exist (a binary built for another system?)";
    }
    return plain;
}

}  // namespace sharedserver
