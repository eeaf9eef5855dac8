#pragma once

// The cluster node's state and the small pieces every part of it uses (actors/node/cluster_node.hpp
// has the contract). The actor is split by concern, each part a file pair beside this one:
// cluster_handshake (hello, welcome and their proofs), cluster_gossip (sealed gossip and the
// levels it carries), cluster_joins (dialling configured peers, losing them) and cluster_contact
// (the dead man's switch). Internal to the cluster node: nothing outside actors/node includes it.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/emergency/registration.hpp"
#include "actors/node/cluster_node.hpp"
#include "core/host_port.hpp"
#include "core/logging.hpp"
#include "core/peer_session.hpp"
#include "messages/cluster.hpp"
#include "messages/emergency.hpp"
#include "messages/state_store.hpp"

namespace brokedancer::cluster {

using clock = std::chrono::steady_clock;
using tick_atom = caf::atom_constant<caf::atom("cl_tick")>;
using join_atom = caf::atom_constant<caf::atom("cl_join")>;
using watch_again_atom = caf::atom_constant<caf::atom("cl_scopes")>;

using cluster_impl =
    cluster_actor::extend<caf::reacts_to<tick_atom>, caf::reacts_to<join_atom, std::string>,
                          caf::reacts_to<register_again_atom>, caf::reacts_to<watch_again_atom>>;

constexpr auto request_timeout = std::chrono::seconds(2);

// A key agreed with a member, and the highest counter it has opened: a replay is not taken.
struct member_key {
  session_key key;
  uint64_t last_counter = 0;
};

struct member {
  std::string configured; // host:port from node.peers; empty for a peer that joined us
  host_port address;
  cluster_actor handle;
  bool connected = false;
  bool joining = false;
  node_info info; // info.name is empty until its first hello
  int64_t last_heard_us = 0;
  uint32_t reconnects = 0;
  bool ever_connected = false;
  std::string last_error;
  uint32_t failed_joins = 0; // since it was last connected: how long the next wait is
  // Our hello is out and its welcome not yet in (zero when not waiting).
  clock::time_point awaiting_welcome_since{};
  // With TLS: the keys its gossip must be sealed with (newest last), and ours to it.
  std::vector<member_key> keys;
  uint64_t sent = 0; // counter of the last gossip sealed for it
  // The key its last gossip opened with: ours is sealed with it too, so that a welcome lost on
  // its way (the peer never got our newest key) does not leave the two unable to read each
  // other. 0: none yet, the newest is used.
  uint64_t their_key = 0;
  // Gossip from its own connection that opened with no key, in a row: past a few, the two have
  // lost their shared key and a new handshake makes one.
  uint32_t unopened = 0;
  // Its scopes as last handed to the scope controller (handed again when they change, and now
  // and then all the same).
  std::vector<halt_scope> handed_scopes;
};

// A hello of ours in flight: when it went, and the private half of its session key.
struct hello_out {
  clock::time_point at{};
  std::shared_ptr<session_offer> offer;
};

struct cluster_state {
  cluster_options options;
  emergency_actor emergency;
  state_store_actor store;
  scope_actor scopes; // none: no scoped halts
  std::vector<halt_scope> own_scopes;
  uint64_t own_scopes_version = 0; // of the table own_scopes is from
  bool own_scopes_known = false;
  std::vector<member> members;
  level_tracker level;
  // Until the controller answers, a peer's level is not handed to it.
  // Silent: the cluster link is started before the controller, and retries until it is up.
  emergency_registration registration{
      "cannot register with the emergency controller yet",
      {std::chrono::seconds(2), std::chrono::milliseconds(200), /*warn_at=*/0, 0}};
  uint32_t bots = 0;
  bool store_reachable = true;
  clock::time_point out_of_contact_since = clock::now();
  // Since when each cause of isolation has lasted; zero while there is contact.
  clock::time_point peers_lost_since{};
  clock::time_point store_lost_since{};
  bool in_contact = false;
  bool isolation_reported = false;
  // Whether this incarnation has told the controller about contact yet: a new incarnation
  // in contact clears what an earlier one may have reported.
  bool told_contact = false;
  // The last peer level handed to the controller, so that a heartbeat does not hand it again.
  std::optional<change_key> handed;
  // Hellos in flight, by the node they went to: a welcome is taken only from a node we said
  // hello to, and completes the key that hello offered.
  std::map<caf::node_id, std::vector<hello_out>> hellos_out;
  uint64_t ticks = 0;
  uint64_t unsealed_gossip = 0;
  std::mt19937_64 random{std::random_device{}()};
  logger log{"cluster"};
};

using self_pointer = cluster_impl::stateful_pointer<cluster_state>;

// This node as it tells its peers.
node_info own_info(self_pointer self);

// What a peer says of itself, before anything is done with it.
bool acceptable(const node_info& info);

member* find_by_handle(self_pointer self, const caf::actor_addr& address);
member* find_by_name(self_pointer self, const std::string& name);
member* find_by_node(self_pointer self, const caf::node_id& node);

// The sender of the current message as the peer it is: its front door, and its node.
cluster_actor sender_handle(self_pointer self);

// Keeps `key` among the member's newest keys_per_member.
void remember_key(member& m, member_key key);

// Every message to a peer goes as the front door: the peer sees no other handle of ours.
template <class... Ts>
void tell(self_pointer self, const caf::actor& peer, Ts&&... xs) {
  caf::send_as(self->state.options.front, peer, std::forward<Ts>(xs)...);
}

template <class Handle, class... Ts>
void tell(self_pointer self, const Handle& peer, Ts&&... xs) {
  tell(self, caf::actor_cast<caf::actor>(peer), std::forward<Ts>(xs)...);
}

} // namespace brokedancer::cluster
