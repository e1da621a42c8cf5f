#include "record_reader.hpp"

#include <limits>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sharedserver {

namespace {

using nlohmann::json;

// Where the scanner is: the record's own object, one of its two nested
// objects, or one of its three arrays. Anything else is skipped whole.
enum class Place { outside, record, ready, restart, liveness, command, env, depends_on, restarts };

class RecordReader : public nlohmann::json_sax<json> {
public:
    explicit RecordReader(ServerRecord &record) : r_(record) { r_.schema = 0; }  // absent: the first schema

    std::string finish() {
        if (!error_.empty()) return error_;
        if (!saw_pid_) return "pid is missing";
        if (!saw_pgid_) r_.pgid = r_.server.pid;
        // Records from before readiness existed describe servers that were ready.
        if (!saw_ready_at_) r_.ready_at_ms = r_.started_at_ms;
        if (r_.server.pid <= 0) return "pid is not positive";
        return {};
    }

    bool null() override { return skipping() || place_ != Place::outside || fail("not a JSON object"); }
    bool boolean(bool v) override { return skipping() || scalar(Value{.kind = Value::Kind::flag, .flag = v}); }
    bool number_integer(number_integer_t v) override {
        return skipping() || scalar(Value{.kind = Value::Kind::integer, .integer = v});
    }
    bool number_unsigned(number_unsigned_t v) override {
        if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            return skipping() || scalar(Value{.kind = Value::Kind::huge, .big = v});
        return skipping() || scalar(Value{.kind = Value::Kind::integer, .integer = static_cast<int64_t>(v)});
    }
    bool number_float(number_float_t, const string_t &) override {
        return skipping() || scalar(Value{.kind = Value::Kind::fraction});
    }
    bool string(string_t &v) override { return skipping() || scalar(Value{.kind = Value::Kind::text, .text = &v}); }
    bool binary(binary_t &) override { return skipping() || fail("not a JSON object"); }

    bool start_object(std::size_t) override {
        if (skipping()) return ++skip_, true;
        if (place_ == Place::outside) return place_ = Place::record, true;
        if (place_ == Place::record && key_ == "ready") return place_ = Place::ready, true;
        if (place_ == Place::record && key_ == "restart") return place_ = Place::restart, true;
        if (place_ == Place::record && key_ == "liveness") return place_ = Place::liveness, true;
        if (place_ == Place::record && is_array_key()) return fail(key_ + " is not a list");
        if (place_ == Place::command || place_ == Place::env || place_ == Place::depends_on) return fail(list_of_strings());
        return ++skip_, true;
    }
    bool end_object() override {
        if (skipping()) return --skip_, true;
        place_ = place_ == Place::record ? Place::outside : Place::record;
        return true;
    }
    bool start_array(std::size_t) override {
        if (skipping()) return ++skip_, true;
        if (place_ == Place::outside) return fail("not a JSON object");
        if (place_ == Place::record) {
            if (key_ == "command") return r_.spec.argv.clear(), place_ = Place::command, true;
            if (key_ == "env") return r_.spec.env.clear(), place_ = Place::env, true;
            if (key_ == "depends_on") return r_.spec.depends_on.clear(), place_ = Place::depends_on, true;
            if (key_ == "restarts_boot_ms") return r_.restarts_boot_ms.clear(), place_ = Place::restarts, true;
        }
        if (place_ == Place::command || place_ == Place::env || place_ == Place::depends_on) return fail(list_of_strings());
        return ++skip_, true;
    }
    bool end_array() override {
        if (skipping()) return --skip_, true;
        place_ = Place::record;
        return true;
    }
    bool key(string_t &k) override {
        if (skipping()) return true;
        if (place_ == Place::record) key_ = k;
        else subkey_ = k;
        return true;
    }
    bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &) override {
        return fail("not a JSON object");
    }

private:
    struct Value {
        enum class Kind { flag, integer, huge, fraction, text } kind;
        bool flag = false;
        int64_t integer = 0;
        uint64_t big = 0;  // an unsigned value past int64_t (kind huge)
        const std::string *text = nullptr;
    };

    bool skipping() const { return skip_ > 0; }
    bool fail(std::string why) {
        if (error_.empty()) error_ = std::move(why);
        return false;
    }
    std::string list_of_strings() const { return key_ + " is not a list of strings"; }
    bool is_array_key() const { return key_ == "command" || key_ == "env" || key_ == "depends_on" || key_ == "restarts_boot_ms"; }

    bool integer(const std::string &name, const Value &v, int64_t &out, int64_t low, int64_t high) {
        if (v.kind == Value::Kind::huge) return fail(name + " is out of range");
        if (v.kind != Value::Kind::integer) return fail(name + " is not an integer");
        if (v.integer < low || v.integer > high)
            return fail(name + " " + std::to_string(v.integer) + " is out of range");
        out = v.integer;
        return true;
    }
    template <class T>
    bool number(const std::string &name, const Value &v, T &out) {
        if constexpr (std::is_same_v<T, uint64_t>)
            if (v.kind == Value::Kind::huge) return out = v.big, true;
        int64_t value = 0;
        int64_t low = std::is_unsigned_v<T> ? 0 : std::numeric_limits<T>::min();
        int64_t high = std::is_same_v<T, uint64_t> ? std::numeric_limits<int64_t>::max()
                                                   : static_cast<int64_t>(std::numeric_limits<T>::max());
        if (!integer(name, v, value, low, high)) return false;
        out = static_cast<T>(value);
        return true;
    }
    // A pid that does not fit pid_t is corrupt, never truncated into some other pid.
    bool pid(const std::string &name, const Value &v, pid_t &out) {
        if (v.kind == Value::Kind::huge) return fail(name + " is not a process id");
        if (v.kind != Value::Kind::integer) return fail(name + " is not an integer");
        if (v.integer < 0 || v.integer > std::numeric_limits<pid_t>::max())
            return fail(name + " " + std::to_string(v.integer) + " is not a process id");
        out = static_cast<pid_t>(v.integer);
        return true;
    }
    bool text(const std::string &name, const Value &v, std::string &out) {
        if (v.kind != Value::Kind::text) return fail(name + " is not a string");
        out = *v.text;
        return true;
    }
    bool flag(const std::string &name, const Value &v, bool &out) {
        if (v.kind != Value::Kind::flag) return fail(name + " is not true or false");
        out = v.flag;
        return true;
    }

    bool scalar(const Value &v) {
        switch (place_) {
            case Place::outside: return fail("not a JSON object");
            case Place::record: return field(v);
            case Place::ready: return ready_field(v);
            case Place::restart: return restart_field(v);
            case Place::liveness: return liveness_field(v);
            case Place::command:
                return v.kind == Value::Kind::text ? (r_.spec.argv.push_back(*v.text), true) : fail(list_of_strings());
            case Place::env:
                return v.kind == Value::Kind::text ? (r_.spec.env.push_back(*v.text), true) : fail(list_of_strings());
            case Place::depends_on:
                return v.kind == Value::Kind::text ? (r_.spec.depends_on.push_back(*v.text), true) : fail(list_of_strings());
            case Place::restarts: {
                int64_t at = 0;
                return number("restarts_boot_ms", v, at) && (r_.restarts_boot_ms.push_back(at), true);
            }
        }
        return true;
    }

    bool field(const Value &v) {
        const std::string &k = key_;
        if (is_array_key()) return fail(k + " is not a list");
        if (k == "pid") return saw_pid_ = true, pid(k, v, r_.server.pid);
        if (k == "pid_start") return number(k, v, r_.server.start);
        if (k == "pgid") return saw_pgid_ = true, pid(k, v, r_.pgid);
        if (k == "watcher_pid") return pid(k, v, r_.watcher.pid);
        if (k == "watcher_start") return number(k, v, r_.watcher.start);
        if (k == "watcher_wake_signal") return flag(k, v, r_.watcher_wakes_on_signal);
        if (k == "schema") return number(k, v, r_.schema);
        if (k == "name") return text(k, v, r_.name);
        if (k == "instance") return text(k, v, r_.instance);
        if (k == "boot_id") return text(k, v, r_.boot_id);
        if (k == "working_dir") return text(k, v, r_.spec.working_dir);
        if (k == "log_file") return text(k, v, r_.spec.log_file);
        if (k == "grace_period_ms") return number(k, v, r_.spec.grace_period_ms);
        if (k == "stopping") return flag(k, v, r_.stopping);
        if (k == "grace_deadline_ms") return number(k, v, r_.grace_deadline_ms);
        if (k == "grace_deadline_boot_ms") return number(k, v, r_.grace_deadline_boot_ms);
        if (k == "started_at_ms") return number(k, v, r_.started_at_ms);
        if (k == "port_request") return number(k, v, r_.spec.port);
        if (k == "log_max_size") return number(k, v, r_.spec.log_max_size);
        if (k == "port") return number(k, v, r_.port);
        if (k == "ready_at_ms") return saw_ready_at_ = true, number(k, v, r_.ready_at_ms);
        if (k == "restarting") return flag(k, v, r_.restarting);
        if (k == "liveness_failures") return number(k, v, r_.liveness_failures);
        if (k == "liveness_failed_at_ms") return number(k, v, r_.liveness_failed_at_ms);
        return true;  // a key of a newer writer
    }

    bool ready_field(const Value &v) {
        const std::string &k = subkey_;
        if (k == "kind") return number("ready.kind", v, r_.spec.ready.kind);
        if (k == "target") return text("ready.target", v, r_.spec.ready.target);
        if (k == "timeout_ms") return number("ready.timeout_ms", v, r_.spec.ready.timeout_ms);
        if (k == "interval_ms") return number("ready.interval_ms", v, r_.spec.ready.interval_ms);
        return true;
    }

    bool restart_field(const Value &v) {
        const std::string &k = subkey_;
        if (k == "mode") return number("restart.mode", v, r_.spec.restart.mode);
        if (k == "max_restarts") return number("restart.max_restarts", v, r_.spec.restart.max_restarts);
        if (k == "window_ms") return number("restart.window_ms", v, r_.spec.restart.window_ms);
        return true;
    }

    bool liveness_field(const Value &v) {
        const std::string &k = subkey_;
        LivenessProbe &live = r_.spec.liveness;
        if (k == "kind") return number("liveness.kind", v, live.probe.kind);
        if (k == "target") return text("liveness.target", v, live.probe.target);
        if (k == "timeout_ms") return number("liveness.timeout_ms", v, live.probe.timeout_ms);
        if (k == "interval_ms") return number("liveness.interval_ms", v, live.probe.interval_ms);
        if (k == "failures") return number("liveness.failures", v, live.failures);
        return true;
    }

    ServerRecord &r_;
    Place place_ = Place::outside;
    int skip_ = 0;  // nesting depth inside a value that is skipped
    std::string key_, subkey_, error_;
    bool saw_pid_ = false, saw_pgid_ = false, saw_ready_at_ = false;
};

}  // namespace

std::string read_server_record(ServerRecord &record, const std::string &text) {
    RecordReader reader(record);
    bool ok = json::sax_parse(text, &reader, json::input_format_t::json, true);
    std::string why = reader.finish();
    if (why.empty() && !ok) why = "not a JSON object";
    return why;
}

}  // namespace sharedserver
