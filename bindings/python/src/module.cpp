// The private extension `sharedserver._sharedserver`: the C++ wrapper of the C
// ABI exposed to Python with plain types (str, int, list, dict, tuple). The
// pure-Python package above it turns these into enums, dataclasses, datetimes
// and context managers, so nothing here knows about presentation.
//
// Every call that touches the state directory runs with the GIL released: use()
// can wait on a name lock held by another process or on a readiness probe, and
// stop() waits for a server to exit. (Opening a context only resolves a path.)
// Arguments are converted to C++ values before the GIL is dropped and results
// are converted back after it is re-acquired.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "sharedserver/sharedserver.hpp"

namespace py = pybind11;
namespace ss = sharedserver;

namespace {

using release_gil = py::call_guard<py::gil_scoped_release>;

py::dict info_to_dict(const ss::Info &info) {
    py::list clients;
    for (const auto &client : info.clients)
        clients.append(py::make_tuple(client.pid, client.attached_at_ms, client.metadata));
    py::dict out;
    out["name"] = info.name;
    out["state"] = static_cast<int>(info.state);
    out["pid"] = info.pid;
    out["watcher_pid"] = info.watcher_pid;
    out["clients"] = clients;
    out["command"] = info.command;
    out["env"] = info.env;
    out["working_dir"] = info.working_dir;
    out["log_file"] = info.log_file;
    out["grace_period_ms"] = info.grace_period_ms;
    out["grace_deadline_ms"] = info.grace_deadline_ms;
    out["started_at_ms"] = info.started_at_ms;
    out["port"] = info.port;
    out["ready_at_ms"] = info.ready_at_ms;
    out["restarts"] = info.restarts;
    out["error"] = info.error;
    out["depends_on"] = info.depends_on;
    out["needed_by"] = info.needed_by;
    out["json"] = info.json;
    return out;
}

// sharedserver::Error -> the exception class the package defines for its code.
// The classes live in Python (sharedserver._errors) so that they can inherit
// from both sharedserver.Error and the matching builtin (OSError, ValueError...).
void translate(std::exception_ptr p) {
    try {
        if (p) std::rethrow_exception(p);
    } catch (const ss::Error &e) {
        py::object make = py::module_::import("sharedserver._errors").attr("_from_library");
        py::object exc = make(e.code(), e.what(), e.sys_errno(), e.path(), e.key());
        PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(exc.ptr())), exc.ptr());
    }
}

}  // namespace

PYBIND11_MODULE(_sharedserver, m) {
    m.doc() = "Private binding of libsharedserver; use the `sharedserver` package instead.";

    if (ss::abi_version() != SHAREDSERVER_ABI_VERSION) {
        throw py::import_error("sharedserver: the loaded library " + std::string(sharedserver_library_path()) +
                               " has ABI version " + std::to_string(ss::abi_version()) + ", this module needs " +
                               std::to_string(SHAREDSERVER_ABI_VERSION) +
                               "; rebuild the module against it or install a matching library");
    }

    py::register_exception_translator(&translate);

    m.attr("ABI_VERSION") = SHAREDSERVER_ABI_VERSION;
    m.def("version", &ss::version);
    m.def("abi_version", &ss::abi_version);
    m.def("library_path", [] { return std::string(sharedserver_library_path()); });
    m.def("parse_duration", &ss::parse_duration, py::arg("text"));
    m.def("format_duration", &ss::format_duration, py::arg("ms"));
    m.def("validate_name", &ss::validate_name, py::arg("name"));
    m.def("state_name", [](int state) { return std::string(sharedserver_state_name(state)); }, py::arg("state"));

    // A project file: opening reads and checks it (the library's own parser).
    py::class_<ss::Project>(m, "Project")
        .def(py::init<const std::string &, const std::string &>(), py::arg("path") = std::string(),
             py::arg("start_dir") = std::string(), release_gil())
        .def_property_readonly("path", &ss::Project::path)
        .def("names", &ss::Project::names)
        .def("defines", &ss::Project::defines, py::arg("name"))
        .def("lazy", &ss::Project::lazy, py::arg("name"))
        .def("definition_json", &ss::Project::definition_json, py::arg("name"))
        .def("warnings", &ss::Project::warnings);
    // None when there is no project file: no exception crosses for the
    // common case (a use() without a command looks on every call).
    m.def("find_project", &ss::Project::find, py::arg("path") = std::string(), py::arg("start_dir") = std::string(),
          release_gil());

    // up/down: the library's report as JSON text (the package parses it).
    m.def(
        "up",
        [](ss::Context &ctx, const ss::Project &project, const std::string &profile, int64_t client_pid) {
            return ss::up(ctx, project, profile, client_pid);
        },
        py::arg("ctx"), py::arg("project"), py::arg("profile"), py::arg("client_pid"), release_gil());
    m.def(
        "down",
        [](ss::Context &ctx, const std::string &profile, int64_t client_pid) { return ss::down(ctx, profile, client_pid); },
        py::arg("ctx"), py::arg("profile"), py::arg("client_pid"), release_gil());

    py::class_<ss::Context>(m, "Context")
        .def(py::init<const std::string &>(), py::arg("state_dir") = std::string())
        .def_property_readonly("state_dir", &ss::Context::state_dir)
        .def_property_readonly("watcher_path", &ss::Context::watcher_path)
        // The definition is JSON text in the library's keys (the package
        // builds it from keyword arguments); the library parses and checks it.
        .def(
            "use",
            [](ss::Context &ctx, const std::string &name, const std::string &definition, int64_t client_pid,
               const std::string &metadata, bool no_wait, const ss::Project *project) {
                // Plain C++ values: they become Python objects after the guard
                // has taken the GIL back.
                ss::UseResult r = ctx.use_definition(name, definition, client_pid, metadata, no_wait, {}, project);
                return std::make_tuple(static_cast<int>(r.outcome), r.pid, r.refcount, r.mismatch, r.port, r.ready);
            },
            py::arg("name"), py::arg("definition"), py::arg("client_pid"), py::arg("metadata"), py::arg("no_wait"),
            py::arg("project") = nullptr, release_gil())
        .def("unuse", &ss::Context::unuse, py::arg("name"), py::arg("client_pid"), release_gil())
        .def("start", &ss::Context::start_definition, py::arg("name"), py::arg("definition"), py::arg("no_wait"),
             py::arg("base_dir") = std::string(), release_gil())
        .def(
            "wait",
            [](ss::Context &ctx, const std::string &name, int64_t timeout_ms, const py::object &progress) {
                if (progress.is_none()) {
                    py::gil_scoped_release unlocked;
                    ctx.wait(name, timeout_ms);
                    return;
                }
                // The library calls back on this thread with the GIL released;
                // an exception from the callback must not cross the C ABI, so
                // the first one is kept, later calls are skipped, and it is
                // raised once the wait is over.
                std::optional<py::error_already_set> failure;
                auto report = [&](int64_t elapsed_ms, const std::string &line) {
                    py::gil_scoped_acquire locked;
                    if (failure) return;
                    try {
                        progress(elapsed_ms, line);
                    } catch (py::error_already_set &e) {
                        failure.emplace(std::move(e));
                    }
                };
                {
                    py::gil_scoped_release unlocked;
                    ctx.wait(name, timeout_ms, report);
                }
                if (failure) throw std::move(*failure);
            },
            py::arg("name"), py::arg("timeout_ms"), py::arg("progress"))
        .def("stop", &ss::Context::stop, py::arg("name"), py::arg("force"), py::arg("timeout_ms"), release_gil())
        .def("restart", &ss::Context::restart, py::arg("name"), release_gil())
        .def("kill", &ss::Context::kill, py::arg("name"), release_gil())
        .def("doctor", &ss::Context::doctor, py::arg("name"), release_gil())
        .def("check", [](ss::Context &ctx, const std::string &name) { return static_cast<int>(ctx.check(name)); },
             py::arg("name"), release_gil())
        .def(
            "info",
            [](ss::Context &ctx, const std::string &name) {
                ss::Info info;
                {
                    py::gil_scoped_release unlocked;
                    info = ctx.info(name);
                }
                return info_to_dict(info);
            },
            py::arg("name"))
        .def("list",
             [](ss::Context &ctx) {
                 std::vector<ss::Info> infos;
                 {
                     py::gil_scoped_release unlocked;
                     infos = ctx.list(true);  // Status.json
                 }
                 py::list out;
                 for (const auto &info : infos) out.append(info_to_dict(info));
                 return out;
             })
        .def("events", &ss::Context::events, py::arg("name"), release_gil())
        .def(
            "last_exit",
            [](ss::Context &ctx, const std::string &name) -> std::optional<std::tuple<int, int, int64_t, bool>> {
                auto e = ctx.last_exit(name);
                if (!e) return std::nullopt;
                return std::make_tuple(e->exit_code, e->signal, e->at_ms, e->unexpected);
            },
            py::arg("name"), release_gil())
        .def(
            "exit_info",
            [](ss::Context &ctx, const std::string &name, int64_t since_ms) -> py::object {
                std::optional<ss::ExitInfo> e;
                {
                    py::gil_scoped_release unlocked;
                    e = ctx.exit_info(name, since_ms);
                }
                if (!e) return py::none();
                return py::make_tuple(e->reason, e->code, e->signal, e->pid, e->at_ms, e->restarts, e->unexpected,
                                      e->while_starting, e->message, e->log_tail);
            },
            py::arg("name"), py::arg("since_ms"))
        .def("health", &ss::Context::health, release_gil())
        .def("watch", &ss::Context::watch, py::arg("names"), py::arg("since_ms"))
        .def("log_tail", &ss::Context::log_tail, py::arg("name"), py::arg("lines"), release_gil());

    py::class_<ss::Watch>(m, "Watch")
        .def("fd", &ss::Watch::fd)
        .def(
            "next",
            [](ss::Watch &w, int64_t timeout_ms) -> py::object {
                std::optional<ss::Change> c;
                {
                    py::gil_scoped_release unlocked;
                    c = w.next(timeout_ms);
                }
                if (!c) return py::none();
                return py::make_tuple(c->name, c->kind, c->state, c->pid, c->at_ms, c->json);
            },
            py::arg("timeout_ms"));

    m.def("enum_table", &ss::enum_table, py::arg("kind"));
    m.attr("ENUM_ERROR") = static_cast<int>(SHAREDSERVER_ENUM_ERROR);
    m.attr("ENUM_STATE") = static_cast<int>(SHAREDSERVER_ENUM_STATE);
    m.attr("ENUM_PROBE") = static_cast<int>(SHAREDSERVER_ENUM_PROBE);
    m.attr("ENUM_RESTART") = static_cast<int>(SHAREDSERVER_ENUM_RESTART);
    m.attr("ENUM_MISMATCH") = static_cast<int>(SHAREDSERVER_ENUM_MISMATCH);
    m.attr("ENUM_OUTCOME") = static_cast<int>(SHAREDSERVER_ENUM_OUTCOME);
    m.attr("ENUM_EXIT_REASON") = static_cast<int>(SHAREDSERVER_ENUM_EXIT_REASON);
    m.attr("ENUM_CHANGE") = static_cast<int>(SHAREDSERVER_ENUM_CHANGE);
    m.def("definition_keys", &ss::definition_keys);
}
