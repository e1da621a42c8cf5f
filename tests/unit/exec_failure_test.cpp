#include <doctest/doctest.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <string>

#include "exec_failure.hpp"
#include "support.hpp"

using namespace sharedserver;
using testing::TempDir;

namespace {

std::string write(const TempDir &dir, const std::string &name, const std::string &content) {
    std::string path = dir / name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
}

}  // namespace

TEST_SUITE("exec failure") {

TEST_CASE("a script whose #! interpreter is missing names the interpreter, not the script") {
    TempDir dir;
    std::string script = write(dir, "run.sh", "#!/nonexistent/interp -x\necho hi\n");
    CHECK(describe_exec_failure("./run.sh", script, ENOENT) ==
          "./run.sh: its interpreter \"/nonexistent/interp\" (from its #! line) does not exist; install it or fix "
          "the #! line");
}

TEST_CASE("a #! line saved with Windows line endings is named as such") {
    TempDir dir;
    std::string script = write(dir, "run.sh", "#!/bin/sh\r\necho hi\r\n");
    CHECK(describe_exec_failure("run.sh", script, ENOENT) ==
          "run.sh: its interpreter \"/bin/sh\\x0d\" (from its #! line) ends in a carriage return: save the script "
          "with Unix (LF) line endings");
}

TEST_CASE("a file without a #! line that the kernel cannot run says a script needs one") {
    TempDir dir;
    std::string script = write(dir, "run", "echo hi\n");
    CHECK(describe_exec_failure("run", script, ENOEXEC) ==
          "run: not an executable format; a script needs a #! line (e.g. #!/bin/sh)");
    CHECK(describe_exec_failure("empty", write(dir, "empty", "#!  \n"), ENOENT) ==
          "empty: its #! line names no interpreter; write one, e.g. #!/bin/sh");
}

TEST_CASE("a binary whose program loader is missing names the loader") {
    TempDir dir;
    std::ifstream in("/bin/true", std::ios::binary);
    std::string binary((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string loader = "/lib64/ld-linux-x86-64.so.2";
    auto at = binary.find(loader);
    if (at == std::string::npos) {
        MESSAGE("/bin/true does not use " << loader << ": skipped");
        return;
    }
    binary.replace(at, loader.size(), "/lib64/ld-alien-x86-64.so.2");
    std::string alien = write(dir, "alien", binary);
    CHECK(describe_exec_failure("./alien", alien, ENOENT) ==
          "./alien: its program loader \"/lib64/ld-alien-x86-64.so.2\" does not exist (a binary built for another "
          "system?)");
}

TEST_CASE("other failures keep the system's words") {
    TempDir dir;
    CHECK(describe_exec_failure("/nonexistent", "/nonexistent", ENOENT) == "/nonexistent: No such file or directory");
    std::string script = write(dir, "run.sh", "#!/bin/sh\n");
    CHECK(describe_exec_failure("run.sh", script, EACCES) == "run.sh: Permission denied");
    CHECK(describe_exec_failure("run.sh", script, E2BIG) == "run.sh: Argument list too long");
    std::string broken = write(dir, "broken", "\x7f" "ELF-not-really");
    CHECK(describe_exec_failure("broken", broken, ENOEXEC) == "broken: Exec format error");
}

}
