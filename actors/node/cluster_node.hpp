#pragma once

// A node's link to the rest of its cluster (messages/cluster.hpp has the contract).
//
// - Joins the peers of node.peers over CAF's network layer and keeps joining them, with
//   backoff, whenever a connection is lost (CAF does not reconnect by itself); peers that join
//   this node are members too.
// - Takes a peer as a member only once it has proved its name: a hello or welcome signed with
//   the key of a certificate of the cluster's authority that names it (node_identity). A name
//   is held by one connection at a time, and a peer's gossip counts only from the connection
//   that proved its name.
// - Tells every connected peer this node's state on every heartbeat and at once when its
//   level changes; hands each peer's level to the emergency controller, which settles races.
// - Dead man's switch: out of contact with every peer (when it has any) for longer than
//   `isolation_halt_after`, or with the shared store for longer than `store_halt_after` (a node
//   without peers runs this actor for that alone), it has the controller halt this node's bots;
//   when contact is back it says so, and an operator resumes.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "core/host_port.hpp"
#include "core/node_identity.hpp"
#include "messages/cluster.hpp"
#include "messages/emergency.hpp"
#include "messages/state_store.hpp"

namespace brokedancer {

struct cluster_options {
  std::string node_name;
  std::string listen_address; // what peers are told; empty when this node does not listen
  std::vector<host_port> peers;
  std::chrono::milliseconds heartbeat{200};
  std::chrono::milliseconds isolation_halt_after{0}; // without peers; 0: off
  std::chrono::milliseconds store_halt_after{0};     // without the shared store; 0: off
  bool store_shared = false; // the store is Redis: losing it isolates the node too
  std::chrono::milliseconds reconnect_max{2000};
  bool tls = false; // join peers through CAF's OpenSSL module (the system has it loaded)
  // Proves this node's name to peers and checks theirs; null without TLS (insecure_plaintext).
  std::shared_ptr<const node_identity> identity;
  // The front door peers reach this node through (actors/node/front_door.hpp): every message to a
  // peer is sent as it, so that no peer holds a handle of the cluster actor itself.
  caf::actor front;
};

// `scopes` (may be empty): the scope controller, whose table the cluster spreads.
cluster_actor spawn_cluster_node(caf::actor_system& sys, cluster_options options,
                                 emergency_actor emergency, state_store_actor store,
                                 scope_actor scopes = {});

} // namespace brokedancer
