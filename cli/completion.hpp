// Shell completion scripts for `sharedserver completion bash|zsh|fish`.
// Server names complete from `sharedserver list --names`.
#pragma once

#include <optional>
#include <string>

namespace cli {

std::optional<std::string> completion_script(const std::string &shell);

}  // namespace cli
