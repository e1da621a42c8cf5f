#include "hints.hpp"

#include <cstddef>

namespace {

struct Hint {
    int code;          // 0: any
    const char *key;   // "": any
    const char *core;  // the library's phrase
    const char *cli;   // what the CLI says instead; {name} is the server
    bool at_end;       // the phrase must end the message
};

constexpr Hint hints[] = {
    {SHAREDSERVER_ENOTRUNNING, "", " is not running", " is not running; start it with `sharedserver use {name} -- <command>`", true},
    {SHAREDSERVER_EALREADY, "", "); attach to it instead", "); use `sharedserver use {name}` to attach", true},
    {SHAREDSERVER_ENOTCLIENT, "", "; detach the pid that attached", "; pass the pid that ran `use` with --pid", true},
    {SHAREDSERVER_ETIMEOUT, "", "; stop it with force to SIGKILL it", "; use --force to SIGKILL it", true},
    {SHAREDSERVER_ETIMEOUT, "", "; wait longer for it", "; wait longer with `sharedserver wait {name} --timeout 2m`", true},
    {SHAREDSERVER_ECORRUPT, "", "; repair it with doctor", "; run `sharedserver admin doctor` to repair it", true},
    {SHAREDSERVER_ECORRUPT, "", "; remove it with doctor", "; run `sharedserver admin doctor` to remove it", true},
    {SHAREDSERVER_ESPAWN, "", "; its event log may tell more", "; see `sharedserver admin debug {name}`", false},
    {0, "", " was killed (admin kill) while starting", " was killed by `sharedserver admin kill` while starting", false},
    {SHAREDSERVER_EINVALID, "command", ": a definition needs a command to start",
     ": pass it after `--` (sharedserver use {name} -- <command> [args...])", true},
    {SHAREDSERVER_EINVALID, "env", ": expected KEY=VALUE", ": expected KEY=VALUE (e.g. --env PORT=8080)", true},
    {SHAREDSERVER_EINVALID, "ready.port", "give it one, or give the server a port (\"auto\")",
     "give one (--ready-port 6379) or let the server have one (--port auto)", true},
    {SHAREDSERVER_EINVALID, "ready.http", "but the server has no port: give it one (\"auto\")",
     "but the server has no port: add --port auto", true},
    {SHAREDSERVER_EINVALID, "ready.cmd", "give a shell line such as 'redis-cli ping'", "give a shell line (--ready-cmd 'redis-cli ping')",
     true},
    {SHAREDSERVER_EINVALID, "ready.log", "give a regex such as 'Ready to accept'", "give a regex (--ready-log 'Ready to accept')", true},
};

std::string server_in(const std::string &message) {
    const std::string marker = "server \"";
    auto at = message.find(marker);
    if (at == std::string::npos) return {};
    auto end = message.find('"', at + marker.size());
    return end == std::string::npos ? std::string() : message.substr(at + marker.size(), end - at - marker.size());
}

std::string with_name(std::string text, const std::string &name) {
    for (auto at = text.find("{name}"); at != std::string::npos; at = text.find("{name}", at + name.size()))
        text.replace(at, 6, name);
    return text;
}

}  // namespace

std::string cli_message(const sharedserver::Error &error, const std::string &name) {
    std::string message = error.what();
    const std::string &key = error.key();
    // The CLI's flags are not the definition's keys: the key prefix of a
    // definition error would name something the user never typed.
    if (!key.empty() && message.compare(0, key.size() + 2, key + ": ") == 0) message.erase(0, key.size() + 2);
    const std::string server = name.empty() ? server_in(message) : name;
    for (const Hint &hint : hints) {
        if (hint.code != 0 && hint.code != error.code()) continue;
        if (*hint.key && key != hint.key) continue;
        const std::string core = hint.core;
        std::size_t at = hint.at_end ? (message.size() >= core.size() && message.compare(message.size() - core.size(), core.size(), core) == 0
                                            ? message.size() - core.size()
                                            : std::string::npos)
                                     : message.find(core);
        if (at == std::string::npos) continue;
        message.replace(at, core.size(), with_name(hint.cli, server));
        break;
    }
    return message;
}

std::string cli_record_problem(const std::string &message) {
    return cli_message(sharedserver::Error(SHAREDSERVER_ECORRUPT, message, 0, ""), "");
}
