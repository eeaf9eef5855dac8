#pragma once

#include <caf/fwd.hpp>

#include "harness.hpp"
#include "runtime/config.hpp"

namespace brokedancer::bench {

// Configures an actor system for a scenario: the project's message types and the scheduler
// settings given on the command line.
void configure(caf::actor_system_config& cfg, const run_context& context);

// For a scenario that boots a whole runtime: `settings` plus the scheduler settings given on
// the command line, as the BROKEDANCER_RUNTIME_* overrides.
environment runtime_environment(const run_context& context, environment settings);

// Heap in use as the allocator counts it: what objects cost, whatever pages the allocator
// keeps or returns meanwhile. Throws when the allocator does not say.
double heap_bytes();

} // namespace brokedancer::bench
