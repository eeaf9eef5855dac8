#include "actors/node/cluster_node.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/node/cluster_contact.hpp"
#include "actors/node/cluster_gossip.hpp"
#include "actors/node/cluster_handshake.hpp"
#include "actors/node/cluster_joins.hpp"
#include "actors/node/cluster_state.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/unix_time.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

namespace cluster {

namespace {

// Every this many heartbeats: the bots count and the store's reachability.
constexpr int slow_every = 5;

void refresh(self_pointer self) {
  auto& st = self->state;
  self->request(st.emergency, request_timeout, status_atom::value)
      .then([self](emergency_status& s) { self->state.bots = s.bots_registered; },
            [](caf::error&) {});
  if (st.options.store_shared)
    self->request(st.store, request_timeout, status_atom::value)
        .then([self](store_status& s) { self->state.store_reachable = s.available; },
              [self](caf::error&) { self->state.store_reachable = false; });
}

void register_with_controller(self_pointer self) {
  auto& st = self->state;
  st.registration.attempt(self, st.emergency, st.log,
                          [self](level_change& current) { self->state.level.take(current); });
}

void on_level(self_pointer self, const level_change& change) {
  auto& s = self->state;
  // Only this node's controller tells this actor its level; a peer speaks by gossip.
  auto sender = self->current_sender();
  if (!sender || sender->node() != self->node())
    return;
  self->send(caf::actor_cast<emergency_actor>(sender), emergency_ack_atom::value, change.sequence);
  if (s.level.take(change)) {
    s.handed.reset(); // a peer's level ignored before may apply now
    gossip(self);     // at once: this is how a HALT reaches the other nodes
  }
}

// The newest table only: the watch's answer (normal priority) may arrive after a broadcast
// (high priority) of a newer one.
bool take_own_scopes(cluster_state& st, const scope_table& table) {
  if (st.own_scopes_known && table.version < st.own_scopes_version)
    return false;
  st.own_scopes_known = true;
  st.own_scopes_version = table.version;
  st.own_scopes = table.scopes;
  return true;
}

// This node's scopes: told to every peer at once, like a level.
void on_scopes(self_pointer self, const scope_table& table) {
  auto sender = self->current_sender();
  if (!sender || sender->node() != self->node())
    return;
  if (!take_own_scopes(self->state, table))
    return;
  gossip(self);
}

void watch_scopes(self_pointer self) {
  auto& st = self->state;
  if (!st.scopes)
    return;
  self->request(st.scopes, std::chrono::seconds(2), watch_scopes_atom::value,
                caf::actor_cast<caf::actor>(self))
      .then([self](scope_table& table) { take_own_scopes(self->state, table); },
            [self](caf::error&) {
              self->delayed_send(self, std::chrono::milliseconds(200), watch_again_atom::value);
            });
}

member_status status_of(const member& m) {
  member_status ms;
  ms.info = m.info;
  if (ms.info.name.empty())
    ms.info.address = m.configured;
  ms.connected = m.connected;
  ms.configured_address = m.configured;
  ms.last_heard_us = m.last_heard_us;
  ms.reconnects = m.reconnects;
  ms.last_error = m.last_error;
  return ms;
}

caf::result<cluster_status> on_status(self_pointer self) {
  auto& s = self->state;
  auto sender = self->current_sender();
  if (sender && sender->node() != self->node())
    return make_error(errc::invalid_argument, "a cluster's status is for its own node");
  cluster_status status;
  status.self = own_info(self);
  for (const auto& m : s.members)
    status.members.push_back(status_of(m));
  status.store_shared = s.options.store_shared;
  status.store_reachable = s.store_reachable;
  if (!s.in_contact && s.out_of_contact_since != clock::time_point{})
    status.out_of_contact_since_us = now_us()
                                     - std::chrono::duration_cast<std::chrono::microseconds>(
                                           clock::now() - s.out_of_contact_since)
                                           .count();
  return status;
}

void on_tick(self_pointer self) {
  auto& s = self->state;
  if (s.ticks++ % slow_every == 0) {
    refresh(self);
    // A peer's scopes are handed again now and then: the scope controller ignores them until it
    // has read its own.
    for (auto& m : s.members)
      m.handed_scopes.clear();
  }
  gossip(self);
  check_joins(self);
  check_contact(self);
  self->delayed_send(self, s.options.heartbeat, tick_atom::value);
}

void start(self_pointer self, cluster_options options, emergency_actor emergency,
           state_store_actor store, scope_actor scopes) {
  auto& st = self->state;
  st.options = std::move(options);
  st.emergency = std::move(emergency);
  st.store = std::move(store);
  st.scopes = std::move(scopes);
  for (const auto& peer : st.options.peers) {
    member m;
    m.configured = peer.text();
    m.address = peer;
    st.members.push_back(std::move(m));
  }
  self->set_down_handler([self](caf::down_msg& down) { on_peer_down(self, down); });
  register_with_controller(self);
  watch_scopes(self);
  for (auto& m : st.members)
    join(self, m.configured);
  self->send(self, tick_atom::value);
}

cluster_impl::behavior_type cluster_node(self_pointer self, cluster_options options,
                                         emergency_actor emergency, state_store_actor store,
                                         scope_actor scopes) {
  exit_with_exception_text(self);
  start(self, std::move(options), std::move(emergency), std::move(store), std::move(scopes));
  return {
      [self](hello_atom, node_info& theirs, peer_proof& proof) { on_hello(self, theirs, proof); },
      [self](welcome_atom, node_info& theirs, peer_proof& proof) {
        on_welcome(self, theirs, proof);
      },
      [self](refused_atom, std::string& why) { on_refused(self, why); },
      [self](gossip_atom, node_info& theirs, gossip_seal& seal) { on_gossip(self, theirs, seal); },
      [self](const level_change& change) { on_level(self, change); },
      [self](status_atom) { return on_status(self); },
      [self](tick_atom) { on_tick(self); },
      [self](join_atom, const std::string& configured) { join(self, configured); },
      [self](register_again_atom) { register_with_controller(self); },
      [self](watch_again_atom) { watch_scopes(self); },
      [self](const scope_table& table) { on_scopes(self, table); },
  };
}

} // namespace

} // namespace cluster

cluster_actor spawn_cluster_node(caf::actor_system& sys, cluster_options options,
                                 emergency_actor emergency, state_store_actor store,
                                 scope_actor scopes) {
  return caf::actor_cast<cluster_actor>(sys.spawn(cluster::cluster_node, std::move(options),
                                                  std::move(emergency), std::move(store),
                                                  std::move(scopes)));
}

} // namespace brokedancer
