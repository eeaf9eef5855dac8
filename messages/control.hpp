#pragma once

// Operator control of a running node: what `brokedancer status|halt|resume|shutdown --node`
// talks to over CAF's network layer (node.control_port). A level change through it returns
// only once every bot of the node has acknowledged it.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/bot.hpp"
#include "messages/cluster.hpp"
#include "messages/emergency.hpp"
#include "messages/resilience.hpp"

namespace brokedancer {

struct node_status {
  std::string node;
  emergency_status emergency; // the level, the bots' acknowledgements, the risk limits
  bots_summary bots;
  std::vector<breaker_stats> breakers;
  bool clustered = false; // node.listen or node.peers is set
  cluster_status cluster; // the peers as this node sees them, when clustered
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_status& x) {
  return f(caf::meta::type_name("node_status"), x.node, x.emergency, x.bots, x.breakers,
           x.clustered, x.cluster);
}

struct control_reply {
  level_change change;         // the change in force afterwards
  uint32_t bots = 0;           // bots registered when the command returned
  int64_t acknowledged_us = 0; // from the change until every bot had acknowledged it
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, control_reply& x) {
  return f(caf::meta::type_name("control_reply"), x.change, x.bots, x.acknowledged_us);
}

using node_control_actor = caf::typed_actor<
    caf::replies_to<status_atom>::with<node_status>,
    // Raises the level (HALT, SHUTDOWN, ...) as an operator, with a reason.
    caf::replies_to<raise_atom, emergency_level, std::string>::with<control_reply>,
    // Lowers it, as an operator, with a reason.
    caf::replies_to<resume_atom, emergency_level, std::string>::with<control_reply>>;

} // namespace brokedancer
