#include "completion.hpp"

namespace cli {

namespace {

const char *bash_script = R"SCRIPT(# bash completion for sharedserver; load with:
#   source <(sharedserver completion bash)
_sharedserver() {
    local cur prev words cword
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    local i sub="" admin=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            --) return 0 ;;
            -*) ;;
            *) if [[ -z "$sub" ]]; then sub="${COMP_WORDS[i]}"; elif [[ "$sub" == admin && -z "$admin" ]]; then admin="${COMP_WORDS[i]}"; fi ;;
        esac
    done
    case "$prev" in
        --log-file|--working-dir) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
        --grace-period|--timeout|--since) COMPREPLY=($(compgen -W "0s 30s 5m 30m 1h" -- "$cur")); return 0 ;;
        --pid|--env|--metadata) return 0 ;;
    esac
    if [[ -z "$sub" ]]; then
        COMPREPLY=($(compgen -W "use unuse list info check wait port logs events with completion admin --help --version" -- "$cur"))
        return 0
    fi
    if [[ "$sub" == admin && -z "$admin" ]]; then
        COMPREPLY=($(compgen -W "start stop restart incref decref debug doctor kill" -- "$cur"))
        return 0
    fi
    if [[ "$sub" == completion ]]; then
        COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur"))
        return 0
    fi
    if [[ "$cur" == -* ]]; then
        local opts="--help"
        case "$sub$admin" in
            use|adminstart) opts="--grace-period --pid --metadata --env --log-file --working-dir --help" ;;
            unuse|adminincref|admindecref) opts="--pid --metadata --help" ;;
            list|info) opts="--json --help" ;;
            events) opts="--follow --json --since --help" ;;
            adminstop) opts="--force --timeout --help" ;;
        esac
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return 0
    fi
    COMPREPLY=($(compgen -W "$(sharedserver list --names 2>/dev/null)" -- "$cur"))
}
complete -F _sharedserver sharedserver
)SCRIPT";

const char *zsh_script = R"SCRIPT(#compdef sharedserver
# zsh completion for sharedserver; install with:
#   sharedserver completion zsh > "${fpath[1]}/_sharedserver"
_sharedserver_names() {
    local -a names
    names=(${(f)"$(sharedserver list --names 2>/dev/null)"})
    _describe 'server' names
}
_sharedserver() {
    local -a commands admin_commands spec_opts
    commands=(
        'use:attach to a server, starting it if needed'
        'unuse:detach from a server'
        'list:show running servers'
        'info:show one server'
        'check:exit 0 active, 1 grace, 2 stopped, 3 starting/stopping'
        'wait:wait until a starting server is ready'
        'port:print the server port'
        'logs:show a server output'
        'events:show state changes, -f as they happen'
        'with:run a command while holding servers'
        'completion:print a shell completion script'
        'admin:administrative commands'
    )
    admin_commands=(
        'start:start a server with no client'
        'stop:stop a server for every client'
        'restart:stop and start a server again, keeping its clients'
        'incref:attach a pid'
        'decref:detach a pid'
        'debug:show the event log'
        'doctor:repair stale or orphaned state'
        'kill:SIGKILL a server and remove its records'
    )
    spec_opts=(
        '--grace-period[how long to keep the server after the last client]:duration:(0s 30s 5m 30m 1h)'
        '--pid[client pid]:pid:'
        '--metadata[text stored with the client]:text:'
        '*--env[KEY=VALUE added to the environment]:env:'
        '--log-file[server output file]:file:_files'
        '--working-dir[server working directory]:dir:_files -/'
    )
    if (( CURRENT == 2 )); then
        _describe 'command' commands
        return
    fi
    case "$words[2]" in
        use) _arguments $spec_opts '1:server:_sharedserver_names' ;;
        unuse) _arguments '--pid[client pid]:pid:' '1:server:_sharedserver_names' ;;
        info) _arguments '--json[print JSON]' '1:server:_sharedserver_names' ;;
        list) _arguments '--json[print JSON]' ;;
        events) _arguments '(-f --follow)'{-f,--follow}'[keep printing new changes]' '--json[print JSON lines]' '--since[only changes of the last duration]:duration:(0s 30s 5m 30m 1h)' '*:server:_sharedserver_names' ;;
        check) _arguments '1:server:_sharedserver_names' ;;
        completion) _values 'shell' bash zsh fish ;;
        admin)
            if (( CURRENT == 3 )); then
                _describe 'admin command' admin_commands
            else
                case "$words[3]" in
                    start) _arguments $spec_opts '1:server:_sharedserver_names' ;;
                    stop) _arguments '--force[SIGKILL after the timeout]' '--timeout[stop timeout]:duration:' '1:server:_sharedserver_names' ;;
                    *) _arguments '--pid[client pid]:pid:' '1:server:_sharedserver_names' ;;
                esac
            fi ;;
    esac
}
_sharedserver "$@"
)SCRIPT";

const char *fish_script = R"SCRIPT(# fish completion for sharedserver; install with:
#   sharedserver completion fish > ~/.config/fish/completions/sharedserver.fish
function __sharedserver_names
    sharedserver list --names 2>/dev/null
end
set -l commands use unuse list info check wait port logs events with completion admin
complete -c sharedserver -f
complete -c sharedserver -n "not __fish_seen_subcommand_from $commands" -a use -d 'attach to a server, starting it if needed'
complete -c sharedserver -n "not __fish_seen_subcommand_from $commands" -a unuse -d 'detach from a server'
complete -c sharedserver -n "not __fish_seen_subcommand_from $commands" -a list -d 'show running servers'
complete -c sharedserver -n "not __fish_seen_subcommand_from $commands" -a info -d 'show one server'
complete -c sharedserver -n "not __fish_seen_subcommand_from $commands" -a check -d 'exit 0 active, 1 grace, 2 stopped'
complete -c sharedserver -n "not __fish_seen_subcommand_from $commands" -a events -d 'show state changes, -f as they happen'
complete -c sharedserver -n "not __fish_seen_subcommand_from $commands" -a completion -d 'print a completion script'
complete -c sharedserver -n "not __fish_seen_subcommand_from $commands" -a admin -d 'administrative commands'
complete -c sharedserver -n "__fish_seen_subcommand_from completion" -a 'bash zsh fish'
complete -c sharedserver -n "__fish_seen_subcommand_from admin; and not __fish_seen_subcommand_from start stop restart incref decref debug doctor kill" -a 'start stop restart incref decref debug doctor kill'
complete -c sharedserver -n "__fish_seen_subcommand_from use unuse info check wait port logs events with stop restart incref decref debug doctor kill" -a '(__sharedserver_names)'
complete -c sharedserver -n "__fish_seen_subcommand_from use start" -l grace-period -r -d 'grace period (e.g. 30m)'
complete -c sharedserver -n "__fish_seen_subcommand_from use start" -l env -r -d 'KEY=VALUE'
complete -c sharedserver -n "__fish_seen_subcommand_from use start" -l log-file -r -F
complete -c sharedserver -n "__fish_seen_subcommand_from use start" -l working-dir -r -F
complete -c sharedserver -n "__fish_seen_subcommand_from use start" -l metadata -r
complete -c sharedserver -n "__fish_seen_subcommand_from use unuse incref decref start" -l pid -r
complete -c sharedserver -n "__fish_seen_subcommand_from list info" -l json
complete -c sharedserver -n "__fish_seen_subcommand_from stop" -l force
complete -c sharedserver -n "__fish_seen_subcommand_from events" -s f -l follow -d 'keep printing new changes'
complete -c sharedserver -n "__fish_seen_subcommand_from events" -l json -d 'JSON lines'
complete -c sharedserver -n "__fish_seen_subcommand_from events" -l since -r -d 'only changes of the last duration'
)SCRIPT";

}  // namespace

std::optional<std::string> completion_script(const std::string &shell) {
    if (shell == "bash") return bash_script;
    if (shell == "zsh") return zsh_script;
    if (shell == "fish") return fish_script;
    return std::nullopt;
}

}  // namespace cli
