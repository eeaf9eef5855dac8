#pragma once

// The operator's door into a running node (messages/control.hpp): status, and level changes
// that return only once every bot has acknowledged them. The runtime publishes it on
// node.control_host:node.control_port over CAF's network layer when the port is configured.

#include <string>

#include <caf/fwd.hpp>

#include "messages/bot.hpp"
#include "messages/cluster.hpp"
#include "messages/control.hpp"
#include "messages/emergency.hpp"
#include "messages/resilience.hpp"

namespace brokedancer {

struct node_control_services {
  std::string node_name;
  emergency_actor emergency;
  bot_supervisor_actor bots;       // may be empty
  breaker_registry_actor breakers; // may be empty
  cluster_actor cluster;           // may be empty: a node on its own
};

node_control_actor spawn_node_control(caf::actor_system& sys, node_control_services services);

} // namespace brokedancer
