#include "project_file.hpp"

#include "command.hpp"

namespace cli {

namespace {

template <typename F>
auto as_file_error(F &&read) {
    try {
        return read();
    } catch (const sharedserver::Error &e) {
        if (e.code() != SHAREDSERVER_EINVALID) throw;
        throw sharedserver::Error(SHAREDSERVER_ERROR, e.what(), e.sys_errno(), e.path());
    }
}

}  // namespace

std::optional<sharedserver::Project> find_project(const std::string &config, const std::string &start_dir,
                                                  bool print_warnings) {
    auto project = as_file_error([&] { return sharedserver::Project::find(config, start_dir); });
    if (project && print_warnings)
        for (const auto &line : project->warnings()) warn(line);
    return project;
}

}  // namespace cli
