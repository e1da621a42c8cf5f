#include "dependencies.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "clock.hpp"
#include "lifecycle.hpp"
#include "names.hpp"
#include "project.hpp"
#include "ready_wait.hpp"

namespace sharedserver {

namespace {

constexpr const char *arrow = " \u2192 ";

std::string chain_of(const std::vector<std::string> &path) {
    std::string out;
    for (const auto &name : path) out += (out.empty() ? "" : arrow) + name;
    return out;
}

std::unexpected<Error> bad_dependency(std::string message) {
    return std::unexpected(Error{SHAREDSERVER_EINVALID, "depends_on: " + std::move(message), 0, {}, "depends_on"});
}

class Planner {
public:
    Planner(const std::string &state_dir, const Definition &root) : dir_(state_dir), root_(root) {}

    Status visit(const std::string &name, const std::vector<std::string> &needs) {
        path_.push_back(name);
        for (const auto &dep : needs) {
            if (std::find(path_.begin(), path_.end(), dep) != path_.end()) {
                path_.push_back(dep);
                return bad_dependency("a cycle: " + chain_of(path_) + "; a server cannot need itself");
            }
            if (done_.contains(dep)) continue;
            auto step = resolve(dep);
            if (!step) return std::unexpected(step.error());
            if (auto visited = visit(dep, step->needs); !visited) return visited;
            done_.insert(dep);
            path_.push_back(dep);
            step->chain = chain_of(path_);
            path_.pop_back();
            steps_.push_back(std::move(*step));
        }
        path_.pop_back();
        return {};
    }

    std::vector<DependencyStep> steps() && { return std::move(steps_); }

private:
    Result<DependencyStep> resolve(const std::string &name) {
        if (const Project *project = project_file())
            if (const ProjectServer *server = project->find(name))
                return DependencyStep{name, {}, server->definition, server->definition.spec.depends_on};
        auto record = load_server_record(ServerFiles{dir_, name});
        if (record && *record && record_alive(**record))
            return DependencyStep{name, {}, std::nullopt, (*record)->spec.depends_on};
        path_.push_back(name);
        std::string what = quote(name) + " (" + chain_of(path_) + ")";
        auto error = bad_dependency(project_file() ? what + " is neither defined in " + project_file()->path +
                                                         " nor running; define it there or start it first"
                                                   : what + " is not running and no project file defines it; "
                                                            "define it in sharedserver.json or start it first");
        path_.pop_back();
        return error;
    }

    // The file the definition came from; else the one every client finds
    // ($SHAREDSERVER_CONFIG, else walking up from the current directory):
    // a client that reads the file and passes its definition on as JSON
    // (the CLI with its flags, Python) found it there too.
    const Project *project_file() {
        if (root_.project) return root_.project.get();
        if (!found_) {
            found_ = true;
            if (auto path = find_project_file("", ""); path && *path)
                if (auto loaded = load_project(**path)) found_project_ = std::move(*loaded);
        }
        return found_project_ ? &*found_project_ : nullptr;
    }

    std::string dir_;
    const Definition &root_;
    bool found_ = false;
    std::optional<Project> found_project_;
    std::vector<std::string> path_;
    std::set<std::string> done_;
    std::vector<DependencyStep> steps_;
};

}  // namespace

Result<std::vector<DependencyStep>> plan_dependencies(const std::string &state_dir, const std::string &name,
                                                      const Definition &def) {
    if (def.spec.depends_on.empty()) return std::vector<DependencyStep>{};
    Planner planner(state_dir, def);
    if (auto planned = planner.visit(name, def.spec.depends_on); !planned) return std::unexpected(planned.error());
    return std::move(planner).steps();
}

Result<std::vector<std::string>> use_dependencies(Lifecycle &lifecycle, const std::vector<DependencyStep> &steps,
                                                  const ProcessId &client, const std::string &dependent) {
    std::vector<std::string> joined;
    for (const auto &step : steps) {
        UseRequest request;
        if (step.definition) {
            request.spec = step.definition->spec;
            request.working_dir_given = step.definition->working_dir_given;
            request.on_mismatch = step.definition->on_mismatch;
        }
        request.client = client;
        request.metadata = "starting " + dependent;
        int64_t since = unix_now_ms();
        auto used = lifecycle.use(step.name, request);
        Status ready;
        if (used && used->joined) joined.push_back(step.name);
        if (used && !used->ready) ready = wait_until_ready(lifecycle.files(step.name), -1, {used->server.pid, since});
        Error error = !used ? used.error() : !ready ? ready.error() : Error{};
        if (used && ready) continue;
        // Nothing of this use stays attached; what it started gets its own
        // grace period, as after any last detach (another client may have
        // attached to it meanwhile).
        std::reverse(joined.begin(), joined.end());
        release_dependencies(lifecycle, joined, client.pid);
        error.message = step.chain + ": " + error.message;
        return std::unexpected(error);
    }
    return joined;
}

void release_dependencies(Lifecycle &lifecycle, const std::vector<std::string> &names, pid_t client) {
    // A dependency that stopped meanwhile has nothing left to release.
    for (const auto &name : names) (void)lifecycle.unuse(name, client);
}

Result<std::map<std::string, int>> HeldDependencies::hold(const std::string &state_dir, const std::string &dependent,
                                                          const std::vector<std::string> &names,
                                                          const ProcessId &holder) {
    release();
    state_dir_ = state_dir;
    holder_ = holder.pid;
    Lifecycle lifecycle(state_dir, "");
    std::map<std::string, int> ports;
    for (const auto &name : names) {
        UseRequest request;
        request.client = holder;
        request.metadata = "needed by " + dependent;
        auto used = lifecycle.use(name, request);
        if (!used) {
            release();
            Error error = used.error();
            error.message = dependent + arrow + name + ": " + error.message;
            return std::unexpected(error);
        }
        held_.push_back(name);
        ports[name] = used->port;
    }
    return ports;
}

void HeldDependencies::release() {
    if (held_.empty()) return;
    Lifecycle lifecycle(state_dir_, "");
    std::reverse(held_.begin(), held_.end());
    release_dependencies(lifecycle, held_, holder_);
    held_.clear();
}

std::map<std::string, int> dependency_ports(const std::string &state_dir, const std::vector<std::string> &names) {
    std::map<std::string, int> ports;
    for (const auto &name : names) {
        auto record = load_server_record(ServerFiles{state_dir, name});
        if (record && *record && record_alive(**record)) ports[name] = (*record)->port;
    }
    return ports;
}

std::string dependency_port_variable(const std::string &name) {
    std::string out = "SHAREDSERVER_";
    for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(c)) : '_';
    return out + "_PORT";
}

namespace {

std::string substitute_dependency_ports(const std::string &text, const std::map<std::string, int> &ports) {
    static const std::string opening = "{port:";
    std::string out;
    std::size_t from = 0;
    while (true) {
        std::size_t at = text.find(opening, from);
        std::size_t close = at == std::string::npos ? at : text.find('}', at);
        if (close == std::string::npos) break;
        auto port = ports.find(text.substr(at + opening.size(), close - at - opening.size()));
        out.append(text, from, at - from);
        if (port != ports.end() && port->second > 0) out += std::to_string(port->second);
        else out.append(text, at, close + 1 - at);
        from = close + 1;
    }
    out.append(text, from, std::string::npos);
    return out;
}

}  // namespace

ServerSpec spec_with_dependency_ports(ServerSpec spec, const std::map<std::string, int> &ports) {
    if (ports.empty()) return spec;
    for (auto &arg : spec.argv) arg = substitute_dependency_ports(arg, ports);
    for (auto &entry : spec.env) {
        auto eq = entry.find('=');
        entry = entry.substr(0, eq + 1) + substitute_dependency_ports(entry.substr(eq + 1), ports);
    }
    for (const auto &[name, port] : ports)
        if (port > 0) spec.env.push_back(dependency_port_variable(name) + "=" + std::to_string(port));
    return spec;
}

}  // namespace sharedserver
