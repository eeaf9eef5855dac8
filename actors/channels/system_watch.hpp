#pragma once

// The system watch: asks each of the node's services every second whether it can serve, says so
// on trading.system when that changes (a SYSTEM_EVENT: service_unavailable with the service's
// own words, service_available), and every heartbeat_s publishes a HEARTBEAT with all of them,
// the node's emergency level (as its controller says) and its uptime. Operators and other nodes see
// a degraded node without reading its logs; the bus carries it to the trading:system channel.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "messages/channels.hpp"
#include "messages/emergency.hpp"
#include "messages/event_bus.hpp"

namespace brokedancer {

// How to ask one service: `ask` sends its status request from `self` and calls `done` with the
// answer (a service that does not answer within a second is unavailable).
struct service_probe {
  std::string name;
  std::function<void(caf::event_based_actor* self, std::function<void(service_health)> done)> ask;
};

struct system_watch_options {
  std::string node_name;
  std::chrono::milliseconds heartbeat{5000};
  std::chrono::milliseconds check{1000};
};

system_watch_actor spawn_system_watch(caf::actor_system& sys, system_watch_options options,
                                      std::vector<service_probe> probes, event_bus_actor bus,
                                      emergency_actor emergency);

} // namespace brokedancer
