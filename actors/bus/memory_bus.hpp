#pragma once

// The in-memory event bus, the embedded default: topics and glob patterns within one node.

#include <memory>

#include <caf/fwd.hpp>

#include "actors/bus/bus_core.hpp"
#include "messages/event_bus.hpp"

namespace brokedancer {

// `data` is shared by every incarnation: a restarted bus keeps its subscriptions.
event_bus_actor spawn_memory_bus(caf::actor_system& sys, std::shared_ptr<bus_data> data,
                                 bus_options options);

} // namespace brokedancer
