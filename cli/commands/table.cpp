#include "commands.hpp"

#include <iostream>

namespace cli {

const std::vector<const Command *> &all_commands() {
    using namespace commands;
    static const std::vector<const Command *> all = {
        &use,         &unuse,      &up,          &down,        &list,          &info,         &check,        &wait,
        &logs,        &events,     &port,       &with,          &completion,   &admin_start,  &admin_stop,
        &admin_restart, &admin_incref, &admin_decref, &admin_debug, &admin_doctor, &admin_kill,
        &config_list, &config_show, &config_validate, &config_lookup, &config_register, &config_unregister, &config_profile};
    return all;
}

int fail(const std::string &message, int code) {
    std::cerr << "sharedserver: " << message << "\n";
    return code;
}

void warn(const std::string &message) { std::cerr << "sharedserver: warning: " << message << "\n"; }

}  // namespace cli
