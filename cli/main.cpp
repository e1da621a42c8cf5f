// The `sharedserver` command: argument mapping and presentation over the
// public C++ wrapper. No lifecycle logic lives here. Each command lives in
// commands/<name>.cpp; this file splits off the server's command, parses,
// and runs the one command asked for.
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <sharedserver/sharedserver.hpp>

#include "command.hpp"
#include "hints.hpp"

int main(int argc, char **argv) {
    // Everything after the first `--` is the server's command, never ours to parse.
    std::vector<std::string> words;
    cli::Invocation invocation;
    bool has_command = false;
    for (int i = 1; i < argc; ++i) {
        if (!has_command && std::string(argv[i]) == "--") {
            has_command = true;
            continue;
        }
        (has_command ? invocation.command : words).push_back(argv[i]);
    }

    // Never destroyed: the process ends after its one command, and tearing
    // the parser down (thousands of small frees) was a tenth of the
    // instructions of `use` (issue 14). A static holds it, so leak checkers
    // see it reachable.
    static CLI::App *const parser =
        new CLI::App{"Share one development server per user and name across editors, scripts and programs:\n"
                     "started by the first client, stopped a grace period after the last one leaves.",
                     "sharedserver"};
    CLI::App &app = *parser;
    app.require_subcommand(1);
    app.fallthrough();
    app.footer("State lives in $SHAREDSERVER_LOCKDIR (default $XDG_RUNTIME_DIR/sharedserver or /tmp/sharedserver-<uid>).");

    // A command's options, even its --help, are built only once the parser
    // reaches its name: the other commands cost a line of help each.
    const std::string help_flag = "-h,--help", help_text = "Print this help message and exit";
    app.set_help_flag();
    std::map<std::string, CLI::App *> groups{{"", &app}};
    std::vector<std::pair<const cli::Command *, CLI::App *>> registered;
    for (const cli::Command *command : cli::all_commands()) {
        CLI::App *&parent = groups[command->group];
        if (!parent) {
            parent = app.add_subcommand(command->group, std::string(command->group) == "config"
                                                            ? "Read the config file (servers and profiles)"
                                                            : "Administrative commands");
            parent->require_subcommand(1);
            parent->preparse_callback([&, parent](std::size_t) { parent->set_help_flag(help_flag, help_text); });
        }
        CLI::App *sub = parent->add_subcommand(command->name, command->description);
        sub->preparse_callback([&, command, sub](std::size_t) {
            sub->set_help_flag(help_flag, help_text);
            command->setup(*sub);
            // CLI11 readies option groups before parsing starts; these came
            // later, and one that falls through to its command loops forever.
            for (CLI::App *group : sub->get_subcommands([](CLI::App *a) { return a->get_name().empty(); }))
                group->fallthrough(false);
        });
        registered.emplace_back(command, sub);
    }
    app.set_help_flag(help_flag, help_text);
    app.set_version_flag("--version", std::string("sharedserver ") + sharedserver::version());
    app.add_option("--config", invocation.config,
                   "The config file (default: $SHAREDSERVER_CONFIG, else sharedserver.json, .sharedserver.json or "
                   ".sharedserver/servers.json here or above, else ~/.config/sharedserver/servers.json)");

    try {
        std::vector<std::string> reversed(words.rbegin(), words.rend());
        app.parse(reversed);
    } catch (const CLI::CallForHelp &e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp &e) {
        return app.exit(e);
    } catch (const CLI::Success &e) {
        return app.exit(e);
    } catch (const CLI::ParseError &e) {
        return cli::fail(std::string(e.what()) + " (see `sharedserver --help`)", cli::exit_usage);
    }

    for (const auto &[command, sub] : registered) {
        if (!sub->parsed()) continue;
        if (has_command && !command->takes_command)
            return cli::fail("only `use`, `with`, `admin start` and `config register` take a command after `--`", cli::exit_usage);
        try {
            return command->run(invocation);
        } catch (const sharedserver::Error &e) {
            const CLI::Option *name = sub->get_option_no_throw("name");
            std::string server = name && name->count() ? name->as<std::string>() : std::string();
            return cli::fail(cli_message(e, server), e.code() == SHAREDSERVER_EINVALID ? cli::exit_usage : cli::exit_failure);
        }
    }
    return cli::fail("no command given (see `sharedserver --help`)", cli::exit_usage);
}
