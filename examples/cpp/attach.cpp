// attach: share a server through the C++17 wrapper.
//
//   attach-cpp NAME [COMMAND [ARGS...]]
//
// Attaches this process to the server NAME, starting it with COMMAND when it
// is not running, prints what happened, lists every server, then detaches.
// Failures arrive as sharedserver::Error, whose what() is the library's
// sharedserver_error_last() message and whose code() is the C error code.
#include <sharedserver/sharedserver.hpp>

#include <iostream>
#include <string>

namespace {

const char *outcome_name(sharedserver::Outcome outcome) {
    switch (outcome) {
        case sharedserver::Outcome::started: return "started";
        case sharedserver::Outcome::attached: return "attached";
        case sharedserver::Outcome::rescued: return "rescued";
    }
    return "unknown";
}

void print_server(sharedserver::Context &ctx, const std::string &name) {
    sharedserver::Info info = ctx.info(name);
    std::cout << "pid=" << info.pid << " refcount=" << info.refcount() << " state=" << to_string(info.state)
              << " watcher_pid=" << info.watcher_pid << "\n";
}

void print_list(sharedserver::Context &ctx) {
    auto servers = ctx.list();
    std::cout << "servers=" << servers.size() << "\n";
    for (const auto &info : servers)
        std::cout << "  " << info.name << " " << to_string(info.state) << " pid=" << info.pid
                  << " refcount=" << info.refcount() << "\n";
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " NAME [COMMAND [ARGS...]]\n";
        return 2;
    }
    const std::string name = argv[1];
    sharedserver::UseOptions options;
    options.command.assign(argv + 2, argv + argc);
    options.metadata = "examples/cpp/attach";

    try {
        sharedserver::Context ctx;  // $SHAREDSERVER_LOCKDIR, else the default state directory
        sharedserver::UseResult used = ctx.use(name, options);
        std::cout << outcome_name(used.outcome) << " " << name << " pid=" << used.pid
                  << " refcount=" << used.refcount << "\n";
        if (!used.mismatch.empty()) std::cout << "warning: " << used.mismatch << "\n";

        int failed = 0;
        try {
            print_server(ctx, name);
            print_list(ctx);
        } catch (const sharedserver::Error &e) {
            // Still attached: report, then detach below.
            std::cerr << "attach-cpp: " << e.what() << " (code " << e.code() << ")\n";
            failed = 1;
        }
        std::size_t refcount = ctx.unuse(name);
        std::cout << "detached refcount=" << refcount << "\n";
        print_server(ctx, name);
        return failed;
    } catch (const sharedserver::Error &e) {
        std::cerr << "attach-cpp: " << e.what() << " (code " << e.code() << ")\n";
        return 1;
    }
}
