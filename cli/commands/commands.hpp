// The commands, one per file in this folder; table.cpp lists them in order.
#pragma once

#include <cstddef>
#include <string>

#include <sharedserver/sharedserver.hpp>

#include "../command.hpp"

namespace cli::commands {

extern const Command use, unuse, up, down, list, info, check, wait, logs, events, port, with, completion;
extern const Command admin_start, admin_stop, admin_restart, admin_incref, admin_decref, admin_debug, admin_doctor,
    admin_kill;
extern const Command config_list, config_show, config_validate, config_lookup, config_register, config_unregister,
    config_profile;

// "detached from x (2 clients left)" or, for the last one, when it stops.
void print_detached(sharedserver::Context &ctx, const std::string &name, std::size_t left);

}  // namespace cli::commands
