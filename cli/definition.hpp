// The library's server definition, as the CLI uses it: JSON text in, an
// opaque handle out, and use/start with it. (The C++ wrapper has no
// definition type yet; this is the part of one the CLI needs.)
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <sharedserver/sharedserver.hpp>

namespace cli {

class Definition {
public:
    // Throws sharedserver::Error (EINVALID, key() naming the bad key).
    explicit Definition(const nlohmann::json &doc);

    // `name` as the project file defines it, or nullopt when there is no
    // project file or it does not define `name`. A mistake in the file is
    // an error in a file (exit 1).
    static std::optional<Definition> of_project(const std::string &config, const std::string &name);

    // With every default filled in; paths absolute.
    nlohmann::json json() const;

    // Its depends_on names are looked up in the project file `from` came
    // from (this one being `from`'s JSON with flags laid over it).
    void use_project_of(const Definition &from);
    const sharedserver_definition *get() const { return def_.get(); }

private:
    struct Free {
        void operator()(sharedserver_definition *def) const { sharedserver_definition_free(def); }
    };
    Definition(sharedserver_definition *def, std::shared_ptr<sharedserver_project> project)
        : def_(def), project_(std::move(project)) {}
    std::unique_ptr<sharedserver_definition, Free> def_;
    std::shared_ptr<sharedserver_project> project_;  // the file it came from, if any
};

// What the caller brings besides the definition.
struct Client {
    int64_t pid = 0;  // 0: this process
    std::string metadata;
    bool no_wait = false;
};

sharedserver::UseResult use_definition(sharedserver::Context &ctx, const std::string &name, const Definition &def,
                                       const Client &client);
int64_t start_definition(sharedserver::Context &ctx, const std::string &name, const Definition &def,
                         const Client &client);

}  // namespace cli
