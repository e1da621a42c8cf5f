#include "definition.hpp"

#include "command.hpp"

namespace cli {

namespace {

sharedserver_client_options client_options(const Client &client) {
    sharedserver_client_options o = SHAREDSERVER_CLIENT_OPTIONS_INIT;
    o.client_pid = client.pid;
    o.metadata = client.metadata.c_str();
    o.no_wait = client.no_wait ? 1 : 0;
    return o;
}

struct FreeProject {
    void operator()(sharedserver_project *p) const { sharedserver_project_free(p); }
};

// The project file's mistakes are errors in a file, not a bad command line.
void check_file(int rc) {
    if (rc >= 0) return;
    int code = rc == SHAREDSERVER_EINVALID ? SHAREDSERVER_ERROR : rc;
    throw sharedserver::Error(code, sharedserver_error_last(), sharedserver_error_last_errno(),
                              sharedserver_error_last_path(), sharedserver_error_last_key());
}

}  // namespace

Definition::Definition(const nlohmann::json &doc) {
    std::string text;
    try {
        text = doc.dump();
    } catch (const nlohmann::json::exception &) {
        throw sharedserver::Error(SHAREDSERVER_EINVALID,
                                  "the definition is not valid UTF-8: records are JSON text and cannot keep such bytes", 0, "");
    }
    sharedserver_definition *def = nullptr;
    sharedserver::detail::check(sharedserver_definition_parse(&def, text.c_str(), nullptr));
    def_.reset(def);
}

std::optional<Definition> Definition::of_project(const std::string &config, const std::string &name) {
    sharedserver_project *raw = nullptr;
    int rc = sharedserver_project_open(&raw, config.empty() ? nullptr : config.c_str(), nullptr);
    if (rc == SHAREDSERVER_ENOTFOUND) return std::nullopt;
    check_file(rc);
    std::shared_ptr<sharedserver_project> project(raw, FreeProject{});
    for (std::size_t i = 0; i < sharedserver_project_warning_count(raw); ++i) warn(sharedserver_project_warning(raw, i));
    sharedserver_definition *def = nullptr;
    rc = sharedserver_project_definition(&def, project.get(), name.c_str());
    if (rc == SHAREDSERVER_ENOTFOUND) return std::nullopt;
    check_file(rc);
    return Definition(def, std::move(project));
}

void Definition::use_project_of(const Definition &from) {
    if (!from.project_) return;
    sharedserver::detail::check(sharedserver_definition_set_project(def_.get(), from.project_.get()));
    project_ = from.project_;
}

nlohmann::json Definition::json() const {
    sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
    sharedserver::detail::check(sharedserver_definition_json(&buf, def_.get()));
    return nlohmann::json::parse(sharedserver::detail::take(buf));
}

sharedserver::UseResult use_definition(sharedserver::Context &ctx, const std::string &name, const Definition &def,
                                       const Client &client) {
    auto options = client_options(client);
    sharedserver_use_result r = SHAREDSERVER_USE_RESULT_INIT;
    sharedserver::detail::check(sharedserver_use_definition(&r, ctx.get(), name.c_str(), def.get(), &options));
    return {static_cast<sharedserver::Outcome>(r.outcome), r.pid, r.refcount, r.mismatch, r.port, r.ready != 0};
}

int64_t start_definition(sharedserver::Context &ctx, const std::string &name, const Definition &def,
                         const Client &client) {
    auto options = client_options(client);
    int64_t pid = 0;
    sharedserver::detail::check(sharedserver_start_definition(&pid, ctx.get(), name.c_str(), def.get(), &options));
    return pid;
}

}  // namespace cli
