#pragma once

// Nodes of one cluster talk through their cluster actors (actors/node/cluster_node), over CAF's
// network layer, each behind a front door (actors/node/front_door) that no peer can stop. A node
// introduces itself with `hello` and a proof of its name (core/node_identity.hpp); the peer
// answers `welcome` with its own proof, or `refused` with why. Then each tells every connected
// peer its state with `gossip`, sealed with the key the two agreed in that handshake, on every
// heartbeat and at once when its level changes: the level in force travels as the level_change
// record itself, and each node's emergency controller settles races with merge_peer_change
// (messages/emergency.hpp). Every message is one-way: no peer is ever sent a handle it could answer
// to other than the sender's front door.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/emergency.hpp"
#include "messages/halt_scope.hpp"

namespace brokedancer {

// What a node tells its peers about itself.
struct node_info {
  std::string name;      // runtime.node_name: unique in the cluster
  std::string address;   // host:port it listens on for peers; empty if it does not
  uint32_t bots = 0;     // registered with its emergency controller
  level_change level;    // in force there
  bool isolated = false; // its dead man's switch has tripped
  // Its scoped halts, lifted ones included (messages/halt_scope.hpp): merged into each node's
  // own the way levels are.
  std::vector<halt_scope> scopes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_info& x) {
  return f(caf::meta::type_name("node_info"), x.name, x.address, x.bots, x.level, x.isolated,
           x.scopes);
}

// A peer as this node sees it.
struct member_status {
  node_info info;
  bool connected = false;
  std::string configured_address; // from node.peers; empty for a peer that connected to us
  int64_t last_heard_us = 0;      // when its last gossip arrived, microseconds since the epoch
  uint32_t reconnects = 0;
  std::string last_error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_status& x) {
  return f(caf::meta::type_name("member_status"), x.info, x.connected, x.configured_address,
           x.last_heard_us, x.reconnects, x.last_error);
}

struct cluster_status {
  node_info self;
  std::vector<member_status> members;
  bool store_shared = false; // the state store is Redis: its reachability counts too
  bool store_reachable = true;
  int64_t out_of_contact_since_us = 0; // 0: in contact with a peer (if any) and the store
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_status& x) {
  return f(caf::meta::type_name("cluster_status"), x.self, x.members, x.store_shared,
           x.store_reachable, x.out_of_contact_since_us);
}

// That the sender holds the certificate of the name it claims: its certificate chain and its
// key's signature of hello_payload(name, its node id, the receiver's node id, at_us,
// session_public, answers). `session_public` is the sender's half of the key the two will seal
// their gossip with (core/peer_session.hpp); in a welcome, `answers` is the hello's half it
// completes. Empty when the cluster runs without TLS (node.insecure_plaintext).
struct peer_proof {
  std::string certificate_pem;
  std::string signature;
  int64_t at_us = 0;
  std::string session_public;
  std::string answers;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_proof& x) {
  return f(caf::meta::type_name("peer_proof"), x.certificate_pem, x.signature, x.at_us,
           x.session_public, x.answers);
}

// A gossip's proof that it comes from the member it names, over the connection that member
// proved: the seal of the pair's session key (which `key_id` names) over the gossip, its
// direction and `counter`, which rises with every gossip. Empty without TLS.
struct gossip_seal {
  uint64_t key_id = 0;
  uint64_t counter = 0;
  std::string tag;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, gossip_seal& x) {
  return f(caf::meta::type_name("gossip_seal"), x.key_id, x.counter, x.tag);
}

using hello_atom = caf::atom_constant<caf::atom("hello")>;
using welcome_atom = caf::atom_constant<caf::atom("welcome")>;
using refused_atom = caf::atom_constant<caf::atom("refused")>;
using gossip_atom = caf::atom_constant<caf::atom("gossip")>;

using cluster_actor = caf::typed_actor<
    // A peer introduces itself; the sender is its front door. The answer: welcome or refused.
    caf::reacts_to<hello_atom, node_info, peer_proof>,
    caf::reacts_to<welcome_atom, node_info, peer_proof>, caf::reacts_to<refused_atom, std::string>,
    // A peer's state: its heartbeat, and how its level changes reach this node.
    caf::reacts_to<gossip_atom, node_info, gossip_seal>,
    // This node's own level changes, as a listener registered with the controller.
    caf::reacts_to<level_change>, caf::replies_to<status_atom>::with<cluster_status>,
    // This node's own scopes, as a watcher of the scope controller.
    caf::reacts_to<scope_table>>;

// What a peer may send a node's cluster actor: hello, welcome, refused and gossip, as one-way
// messages. The rest of the interface is for the node itself (its level, its status).
template <class Content>
bool from_peer(const Content& content) {
  return content.template match_elements<hello_atom, node_info, peer_proof>()
         || content.template match_elements<welcome_atom, node_info, peer_proof>()
         || content.template match_elements<refused_atom, std::string>()
         || content.template match_elements<gossip_atom, node_info, gossip_seal>();
}

} // namespace brokedancer
