#pragma once

// The in-memory event bus, the embedded default: topics and glob patterns within one node.

#include <cstddef>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "messages/event_bus.hpp"

namespace brokedancer {

struct bus_options {
  std::string node_name;
  // Events a subscription may have outstanding before further ones are dropped for it.
  size_t max_backlog = 10000;
  size_t max_topic_bytes = 256;
  size_t max_payload_bytes = 1 << 20;
};

// The subscriptions and counters, owned outside any one incarnation: a bus that crashes and is
// restarted keeps delivering to everyone who had subscribed.
struct memory_bus_data;
std::shared_ptr<memory_bus_data> make_memory_bus_data();

event_bus_actor spawn_memory_bus(caf::actor_system& sys, std::shared_ptr<memory_bus_data> data,
                                 bus_options options);

} // namespace brokedancer
