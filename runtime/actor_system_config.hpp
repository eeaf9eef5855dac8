#pragma once

#include <caf/fwd.hpp>

namespace brokedancer {

struct runtime_config;

// Applies the runtime configuration (scheduler) to a CAF configuration and registers every
// message type. Every actor_system in the process is configured through this.
void configure_actor_system(caf::actor_system_config& cfg, const runtime_config& config);

} // namespace brokedancer
