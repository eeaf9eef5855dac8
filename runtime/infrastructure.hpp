#pragma once

// The infrastructure actors, declared as supervised children from the configuration. The
// choice of backend is made here, once.

#include "actors/supervisor.hpp"
#include "runtime/config.hpp"

namespace brokedancer {

// The state store: memory (data outlives each incarnation) or Redis, per state.backend.
child_spec state_store_child(const runtime_config& config);

} // namespace brokedancer
