// Servers that need servers (a definition's depends_on). A use of `api`
// first uses each dependency, deepest first, each ready before the next
// starts; the running `api` then holds one reference on each through its
// watcher (the watcher's pid is the client), so a dependency never stops
// under a live dependent, and when `api` ends its watcher lets go and each
// dependency's own grace period applies. DESIGN §5, "Dependencies".
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "definition.hpp"
#include "error.hpp"
#include "process.hpp"
#include "records.hpp"

namespace sharedserver {

class Lifecycle;
struct ClientOptions;

// One server to use before the one asked for.
struct DependencyStep {
    std::string name;
    std::string chain;                     // "api → worker → postgres"
    std::optional<Definition> definition;  // nullopt: it runs already; attach only
    std::vector<std::string> needs;        // its own depends_on (the definition's, or the running record's)
};

// Every dependency of `name` (defined by `def`), resolved before anything
// starts: by name in the project file `def` came from, else a running
// server's record (which holds its depends_on). Deepest first, each once.
// SHAREDSERVER_EINVALID for a cycle ("api → worker → api") or a name found
// nowhere; the message names the chain.
Result<std::vector<DependencyStep>> plan_dependencies(const std::string &state_dir, const std::string &name,
                                                      const Definition &def);

// Uses each step for `client` and waits for its readiness (whatever the
// caller's no_wait: a dependent must not start before what it needs). On a
// failure, releases what this call attached and fails with the chain. The
// names returned are those `client` was not attached to before: the caller
// releases them once the dependent's watcher holds its own references.
Result<std::vector<std::string>> use_dependencies(Lifecycle &lifecycle, const std::vector<DependencyStep> &steps,
                                                  const ProcessId &client, const std::string &dependent);
void release_dependencies(Lifecycle &lifecycle, const std::vector<std::string> &names, pid_t client);

// The watcher's references, taken before it launches the server and
// released when it exits (its destructor): the watcher is the client.
class HeldDependencies {
public:
    HeldDependencies() = default;
    HeldDependencies(const HeldDependencies &) = delete;
    HeldDependencies &operator=(const HeldDependencies &) = delete;
    ~HeldDependencies() { release(); }

    // Attaches `holder` to each name (they must run: the client that
    // started `dependent` used them first) and returns their ports.
    Result<std::map<std::string, int>> hold(const std::string &state_dir, const std::string &dependent,
                                            const std::vector<std::string> &names, const ProcessId &holder);
    void release();

private:
    std::string state_dir_;
    std::vector<std::string> held_;
    pid_t holder_ = 0;
};

// The ports of the running dependencies, from their records; a name that
// does not run has none.
std::map<std::string, int> dependency_ports(const std::string &state_dir, const std::vector<std::string> &names);

// SHAREDSERVER_<NAME>_PORT: the name upper-cased, other than [A-Z0-9] as _.
std::string dependency_port_variable(const std::string &name);

// {port:NAME} in the arguments and env values replaced by that dependency's
// port, and SHAREDSERVER_<NAME>_PORT added to the env: what the server is
// launched with.
ServerSpec spec_with_dependency_ports(ServerSpec spec, const std::map<std::string, int> &ports);

}  // namespace sharedserver
