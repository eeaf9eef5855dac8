#pragma once

#include <caf/fwd.hpp>

namespace brokedancer {

// Registers every message type and the project's error category with an actor system
// configuration. Call it once for every actor_system the process creates.
void register_message_types(caf::actor_system_config& cfg);

} // namespace brokedancer
