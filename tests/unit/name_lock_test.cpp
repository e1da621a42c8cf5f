#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <optional>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "files.hpp"
#include "name_lock.hpp"
#include "support.hpp"

using namespace sharedserver;
using namespace std::chrono_literals;
using testing::TempDir;

namespace {

// Acquires the lock on a thread; `held` turns true once it is ours and the
// thread keeps it until `release` turns true.
class LockingThread {
public:
    explicit LockingThread(std::string path)
        : thread_([this, path = std::move(path)] {
              auto lock = NameLock::acquire(path);
              ok_ = lock.has_value();
              held_ = true;
              while (!release_) std::this_thread::sleep_for(1ms);
          }) {}
    ~LockingThread() {
        release_ = true;
        thread_.join();
    }
    bool held() const { return held_; }
    bool ok() const { return ok_; }
    void release() { release_ = true; }

private:
    std::atomic<bool> held_{false}, ok_{false}, release_{false};
    std::thread thread_;
};

bool lock_is_free(const std::string &path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return false;
    bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
    ::close(fd);
    return free;
}

}  // namespace

TEST_SUITE("name_lock") {

TEST_CASE("acquiring creates the lock file, mode 0600") {
    TempDir dir;
    auto lock = NameLock::acquire(dir / "x.lock");
    REQUIRE(lock.has_value());
    CHECK(testing::mode_of(dir / "x.lock") == 0600);
    CHECK_FALSE(lock_is_free(dir / "x.lock"));
}

TEST_CASE("the lock is released when the NameLock is destroyed") {
    TempDir dir;
    {
        auto lock = NameLock::acquire(dir / "x.lock");
        REQUIRE(lock.has_value());
    }
    CHECK(lock_is_free(dir / "x.lock"));
}

TEST_CASE("a moved-from NameLock does not release the moved lock") {
    TempDir dir;
    auto lock = NameLock::acquire(dir / "x.lock");
    REQUIRE(lock.has_value());
    std::optional<NameLock> moved(std::move(*lock));
    { auto discard = std::move(lock); }
    CHECK_FALSE(lock_is_free(dir / "x.lock"));
    moved.reset();
    CHECK(lock_is_free(dir / "x.lock"));
}

TEST_CASE("a second thread waits until the first releases the lock") {
    TempDir dir;
    std::string path = dir / "x.lock";
    std::optional<NameLock> first;
    {
        auto lock = NameLock::acquire(path);
        REQUIRE(lock.has_value());
        first.emplace(std::move(*lock));
    }
    LockingThread second(path);
    std::this_thread::sleep_for(100ms);
    CHECK_FALSE(second.held());
    first.reset();
    CHECK(testing::wait_until([&] { return second.held(); }, 2000));
    CHECK(second.ok());
}

TEST_CASE("a lock held by another process excludes this one until it exits") {
    TempDir dir;
    std::string path = dir / "x.lock";
    int to_child[2], from_child[2];
    REQUIRE(::pipe2(to_child, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(from_child, O_CLOEXEC) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(to_child[1]);
        ::close(from_child[0]);
        // Plain flock, like any other sharedserver process would take it.
        int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0 || ::flock(fd, LOCK_EX) != 0) ::_exit(1);
        char c = 'L';
        if (::write(from_child[1], &c, 1) != 1) ::_exit(1);
        while (::read(to_child[0], &c, 1) < 0 && errno == EINTR) {
        }
        ::_exit(0);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    char c = 0;
    REQUIRE(::read(from_child[0], &c, 1) == 1);
    ::close(from_child[0]);

    LockingThread waiter(path);
    std::this_thread::sleep_for(100ms);
    CHECK_FALSE(waiter.held());
    ::close(to_child[1]);  // the child exits, and the kernel drops its lock
    CHECK(testing::wait_until([&] { return waiter.held(); }, 2000));
    CHECK(waiter.ok());
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("a waiter whose lock file was removed by the holder retries on the new file") {
    TempDir dir;
    std::string path = dir / "x.lock";
    std::optional<NameLock> holder;
    {
        auto lock = NameLock::acquire(path);
        REQUIRE(lock.has_value());
        holder.emplace(std::move(*lock));
    }
    struct stat before {};
    REQUIRE(::stat(path.c_str(), &before) == 0);

    LockingThread waiter(path);
    std::this_thread::sleep_for(50ms);
    REQUIRE_FALSE(waiter.held());
    holder->remove_file();
    CHECK_FALSE(file_exists(path));
    holder.reset();

    REQUIRE(testing::wait_until([&] { return waiter.held(); }, 2000));
    CHECK(waiter.ok());
    // The waiter holds a lock on the file now at the path, so a third party
    // is excluded: it did not keep the lock of the removed inode.
    REQUIRE(file_exists(path));
    CHECK_FALSE(lock_is_free(path));
    LockingThread third(path);
    std::this_thread::sleep_for(50ms);
    CHECK_FALSE(third.held());
    waiter.release();
    CHECK(testing::wait_until([&] { return third.held(); }, 2000));
}

TEST_CASE("a lock file that is a symlink is refused") {
    TempDir dir;
    testing::write_text(dir / "target", "");
    REQUIRE(::symlink((dir / "target").c_str(), (dir / "x.lock").c_str()) == 0);
    auto lock = NameLock::acquire(dir / "x.lock");
    REQUIRE_FALSE(lock.has_value());
    CHECK(lock.error().sys_errno == ELOOP);
    CHECK(lock.error().path == dir / "x.lock");
    CHECK(lock.error().message == "cannot open lock file " + (dir / "x.lock") + ": Too many levels of symbolic links");
}

TEST_CASE("many threads taking and removing the lock never overlap") {
    TempDir dir;
    std::string path = dir / "x.lock";
    std::atomic<int> inside{0}, max_inside{0}, done{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 50; ++i) {
                auto lock = NameLock::acquire(path);
                if (!lock) continue;
                int now = ++inside;
                int seen = max_inside.load();
                while (now > seen && !max_inside.compare_exchange_weak(seen, now)) {
                }
                --inside;
                ++done;
                // Half of the holders remove the file, forcing waiters to
                // retry. Removal is a holder's last act: a newcomer may lock
                // the next file as soon as this one is unlinked.
                if (i % 2 == 0) lock->remove_file();
            }
        });
    for (auto &t : threads) t.join();
    CHECK(max_inside.load() == 1);
    CHECK(done.load() == 400);
}

}
