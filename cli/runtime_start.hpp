#pragma once

// What the commands that start a runtime share (`run`, `workflow run`): the configuration read
// with every problem reported, and the runtime built with why it could not start.

#include <optional>
#include <string>

#include "runtime/config.hpp"
#include "runtime/runtime.hpp"

namespace brokedancer {

// The configuration at `path` ($BROKEDANCER_CONFIG, else the embedded default, when empty) with
// the environment's overrides, or nullopt once every problem is on stderr.
std::optional<runtime_config> load_config_or_report(const std::string& path);

// Builds `node` from `config`; exit_code::ok, or the code of why it could not start (said on
// stderr, secrets masked).
int start_runtime(std::optional<runtime>& node, runtime_config config, runtime_options options);

} // namespace brokedancer
