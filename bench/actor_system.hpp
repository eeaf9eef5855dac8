#pragma once

#include <caf/fwd.hpp>

#include "harness.hpp"

namespace brokedancer::bench {

// Configures an actor system for a scenario: the project's message types and the scheduler
// settings given on the command line.
void configure(caf::actor_system_config& cfg, const run_context& context);

} // namespace brokedancer::bench
