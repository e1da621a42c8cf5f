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

// Version 3 of the use options (on_mismatch, log_max_size) reaches the library
// only through the C++ wrapper's UseOptions; these detect whether the wrapper
// this module is built against has the members yet.
template <class T, class = void>
struct has_on_mismatch : std::false_type {};
template <class T>
struct has_on_mismatch<T, std::void_t<decltype(std::declval<T &>().on_mismatch)>> : std::true_type {};
template <class T, class = void>
struct has_log_max_size : std::false_type {};
template <class T>
struct has_log_max_size<T, std::void_t<decltype(std::declval<T &>().log_max_size)>> : std::true_type {};

constexpr bool kHasOnMismatch = has_on_mismatch<ss::UseOptions>::value;
constexpr bool kHasLogMaxSize = has_log_max_size<ss::UseOptions>::value;

template <class Options>
void set_on_mismatch(Options &options, int mode) {
    if constexpr (has_on_mismatch<Options>::value) {
        options.on_mismatch = static_cast<decltype(options.on_mismatch)>(mode);
    } else if (mode != SHAREDSERVER_MISMATCH_WARN) {
        throw py::value_error("sharedserver: on_mismatch needs a library wrapper with UseOptions::on_mismatch");
    }
}

template <class Options>
void set_log_max_size(Options &options, int64_t bytes) {
    if constexpr (has_log_max_size<Options>::value) {
        options.log_max_size = static_cast<decltype(options.log_max_size)>(bytes);
    } else if (bytes >= 0) {
        throw py::value_error("sharedserver: log_max_size needs a library wrapper with UseOptions::log_max_size");
    }
}

template <class Options>
int get_on_mismatch(const Options &options) {
    if constexpr (has_on_mismatch<Options>::value) return static_cast<int>(options.on_mismatch);
    return SHAREDSERVER_MISMATCH_WARN;
}

template <class Options>
int64_t get_log_max_size(const Options &options) {
    if constexpr (has_log_max_size<Options>::value) return static_cast<int64_t>(options.log_max_size);
    return -1;
}

// The options dict the package builds (sharedserver/_api.py, _use_options)
// -> the wrapper's UseOptions. Read with the GIL held.
ss::UseOptions make_options(const py::dict &o) {
    ss::UseOptions options;
    options.command = o["command"].cast<std::vector<std::string>>();
    options.env = o["env"].cast<std::vector<std::string>>();
    options.working_dir = o["working_dir"].cast<std::string>();
    options.log_file = o["log_file"].cast<std::string>();
    const auto grace_period_ms = o["grace_period_ms"].cast<int64_t>();
    if (grace_period_ms >= 0) options.grace_period_ms = grace_period_ms;
    options.client_pid = o["client_pid"].cast<int64_t>();
    options.metadata = o["metadata"].cast<std::string>();
    options.ready_kind = o["ready_kind"].cast<int>();
    options.ready_target = o["ready_target"].cast<std::string>();
    options.ready_timeout_ms = o["ready_timeout_ms"].cast<int64_t>();
    options.ready_interval_ms = o["ready_interval_ms"].cast<int64_t>();
    options.no_wait = o["no_wait"].cast<bool>();
    options.port = o["port"].cast<int>();
    options.restart_policy = o["restart_policy"].cast<int>();
    options.max_restarts = o["max_restarts"].cast<int>();
    options.restart_window_ms = o["restart_window_ms"].cast<int64_t>();
    set_on_mismatch(options, o["on_mismatch"].cast<int>());
    set_log_max_size(options, o["log_max_size"].cast<int64_t>());
    return options;
}

// The wrapper's UseOptions -> the same dict (a project's definition).
py::dict options_to_dict(const ss::UseOptions &options) {
    py::dict out;
    out["command"] = options.command;
    out["env"] = options.env;
    out["working_dir"] = options.working_dir;
    out["log_file"] = options.log_file;
    out["grace_period_ms"] = options.grace_period_ms.value_or(-1);
    out["client_pid"] = options.client_pid;
    out["metadata"] = options.metadata;
    out["ready_kind"] = options.ready_kind;
    out["ready_target"] = options.ready_target;
    out["ready_timeout_ms"] = options.ready_timeout_ms;
    out["ready_interval_ms"] = options.ready_interval_ms;
    out["no_wait"] = options.no_wait;
    out["port"] = options.port;
    out["restart_policy"] = options.restart_policy;
    out["max_restarts"] = options.max_restarts;
    out["restart_window_ms"] = options.restart_window_ms;
    out["on_mismatch"] = get_on_mismatch(options);
    out["log_max_size"] = get_log_max_size(options);
    return out;
}

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
        py::object exc = make(e.code(), e.what(), e.sys_errno(), e.path());
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
    m.attr("HAS_ON_MISMATCH") = kHasOnMismatch;
    m.attr("HAS_LOG_MAX_SIZE") = kHasLogMaxSize;
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
        .def(
            "use_options", [](const ss::Project &project, const std::string &name) {
                return options_to_dict(project.use_options(name));
            },
            py::arg("name"));

    py::class_<ss::Context>(m, "Context")
        .def(py::init<const std::string &>(), py::arg("state_dir") = std::string())
        .def_property_readonly("state_dir", &ss::Context::state_dir)
        .def_property_readonly("watcher_path", &ss::Context::watcher_path)
        .def(
            "use",
            [](ss::Context &ctx, const std::string &name, const py::dict &o) {
                const ss::UseOptions options = make_options(o);
                ss::UseResult r;
                {
                    py::gil_scoped_release unlocked;
                    r = ctx.use(name, options);
                }
                return py::make_tuple(static_cast<int>(r.outcome), r.pid, r.refcount, r.mismatch, r.port, r.ready);
            },
            py::arg("name"), py::arg("options"))
        .def("unuse", &ss::Context::unuse, py::arg("name"), py::arg("client_pid"), release_gil())
        .def(
            "start",
            [](ss::Context &ctx, const std::string &name, const py::dict &o) {
                const ss::UseOptions options = make_options(o);
                py::gil_scoped_release unlocked;
                return ctx.start(name, options);
            },
            py::arg("name"), py::arg("options"))
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
