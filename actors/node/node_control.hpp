#pragma once

// The operator's door into a running node (messages/control.hpp): status, and level changes
// that return only once every bot has acknowledged them. Local only: the operator API
// (runtime/operator_api) authenticates a request and passes on who asks; this actor checks
// the role once more and keeps the audit trail, logged, in memory (the newest entries appear in
// the status) and persisted under `audit:<node>` in the state store.

#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "messages/bot.hpp"
#include "messages/cluster.hpp"
#include "messages/control.hpp"
#include "messages/emergency.hpp"
#include "messages/halt_scope.hpp"
#include "messages/resilience.hpp"
#include "messages/state_store.hpp"

namespace brokedancer {

struct node_control_services {
  std::string node_name;
  emergency_actor emergency;
  bot_supervisor_actor bots;       // may be empty
  breaker_registry_actor breakers; // may be empty
  cluster_actor cluster;           // may be empty: a node on its own
  bool clustered = false;          // node.listen or node.peers (a node on its own may still run
                                   // the cluster actor, for its store's dead man's switch)
  state_store_actor store;         // may be empty: the audit trail is then kept in memory only
  risk_monitor_actor risk;         // may be empty
  scope_actor scopes;              // may be empty: no scoped halts
  system_watch_actor watch;        // may be empty
  caf::actor workflows;            // the workflow executor; may be empty
};

// How many audit entries the node keeps (in memory and in the store); older ones are dropped.
constexpr size_t audit_capacity = 200;
// How many of them a status shows.
constexpr size_t audit_in_status = 20;

node_control_actor spawn_node_control(caf::actor_system& sys, node_control_services services);

} // namespace brokedancer
