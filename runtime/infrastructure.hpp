#pragma once

// The infrastructure actors, declared as supervised children from the configuration. The
// choice of backend is made here, once.

#include "actors/supervisor.hpp"
#include "runtime/config.hpp"

namespace brokedancer {

// The state store: memory (data outlives each incarnation) or Redis, per state.backend.
child_spec state_store_child(const runtime_config& config);

// The event bus, per bus.backend. Throws std::runtime_error for "redis", which is not built
// yet: a node configured for cross-node events must not start without them.
child_spec event_bus_child(const runtime_config& config);

} // namespace brokedancer
