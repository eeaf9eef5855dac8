#include "actors/node/cluster_joins.hpp"

#include <algorithm>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/openssl/manager.hpp>

#include "actors/node/cluster_contact.hpp"
#include "actors/node/cluster_gossip.hpp"
#include "actors/node/cluster_handshake.hpp"
#include "actors/resilience/retry_policy.hpp"

namespace brokedancer::cluster {

namespace {

constexpr auto reconnect_min = std::chrono::milliseconds(100);

void schedule_join(self_pointer self, member& m) {
  auto& st = self->state;
  retry_settings settings;
  settings.initial_backoff = reconnect_min;
  settings.max_backoff = st.options.reconnect_max;
  // Jittered, so that nodes restarted together do not retry in step.
  self->delayed_send(self, backoff(settings, m.failed_joins++, st.random), join_atom::value,
                     m.configured);
}

// A configured peer that is this node itself under another address (0.0.0.0, a host name): its
// slot goes.
void drop_own_address(self_pointer self, const std::string& configured) {
  auto& members = self->state.members;
  members.erase(std::remove_if(members.begin(), members.end(),
                               [&](const member& m) { return m.configured == configured; }),
                members.end());
  self->state.log.info("a configured peer is this node itself; not joining it",
                       {{"peer", configured}});
}

// A dial of `configured` reached `node`, where `remote` is published: our hello goes to it.
void dialled(self_pointer self, const std::string& configured, const caf::node_id& node,
             const caf::strong_actor_ptr& remote) {
  if (node == self->node()) {
    drop_own_address(self, configured);
    return;
  }
  if (!remote) {
    join_failed(self, configured, "nothing is published at that address");
    return;
  }
  auto handle = caf::actor_cast<cluster_actor>(remote);
  auto& members = self->state.members;
  auto slot = std::find_if(members.begin(), members.end(),
                           [&](const member& m) { return m.configured == configured; });
  if (slot == members.end())
    return;
  if (slot->connected) {
    slot->joining = false; // the peer joined us meanwhile: its connection serves
    return;
  }
  if (slot->handle != handle) {
    slot->handle = handle;
    self->monitor(handle);
  }
  slot->awaiting_welcome_since = clock::now();
  send_hello(self, handle);
}

} // namespace

void join(self_pointer self, const std::string& configured) {
  auto& st = self->state;
  auto found = std::find_if(st.members.begin(), st.members.end(),
                            [&](const member& m) { return m.configured == configured; });
  if (found == st.members.end() || found->connected || found->joining)
    return;
  found->joining = true;
  auto address = found->address;
  auto mm = st.options.tls ? self->system().openssl_manager().actor_handle()
                           : self->system().middleman().actor_handle();
  self->request(mm, request_timeout, caf::connect_atom::value, address.host, address.port)
      .then([self, configured](caf::node_id& node, caf::strong_actor_ptr& remote,
                               std::set<std::string>&) { dialled(self, configured, node, remote); },
            [self, configured](caf::error& err) {
              join_failed(self, configured, self->system().render(err));
            });
}

void join_failed(self_pointer self, const std::string& configured, std::string why) {
  auto& st = self->state;
  for (auto& m : st.members) {
    if (m.configured != configured)
      continue;
    m.joining = false;
    if (m.last_error != why && m.reconnects % 20 == 0)
      st.log.warn("cannot join a peer yet; retrying", {{"peer", configured}, {"error", why}});
    m.last_error = std::move(why);
    ++m.reconnects;
    schedule_join(self, m);
    return;
  }
}

void connected(self_pointer self, member& m, cluster_actor handle, const node_info& info) {
  auto& st = self->state;
  bool was_connected = m.connected;
  if (m.handle != handle) {
    m.handle = handle;
    self->monitor(handle);
  }
  m.connected = true;
  m.ever_connected = true;
  m.joining = false;
  m.failed_joins = 0;
  m.last_error.clear();
  if (!was_connected)
    st.log.info("peer connected", {{"peer", info.name},
                                   {"address", info.address},
                                   {"level", to_string(info.level.level)},
                                   {"bots", info.bots}});
  heard(self, m, info);
}

void check_joins(self_pointer self) {
  auto now = clock::now();
  for (auto& m : self->state.members)
    if (m.awaiting_welcome_since != clock::time_point{}
        && now - m.awaiting_welcome_since > request_timeout) {
      m.awaiting_welcome_since = {};
      join_failed(self, m.configured, "no welcome from the peer within 2 s (see its log)");
    }
  forget_old_hellos(self, now);
}

void on_peer_down(self_pointer self, const caf::down_msg& down) {
  auto* m = find_by_handle(self, down.source);
  if (!m)
    return;
  m->connected = false;
  m->handle = nullptr;
  m->keys.clear();
  m->sent = 0;
  m->their_key = 0;
  m->unopened = 0;
  m->last_error = "connection lost: " + self->system().render(down.reason);
  self->state.log.warn("peer lost", {{"peer", m->info.name}, {"reason", m->last_error}});
  if (!m->configured.empty()) {
    ++m->reconnects;
    schedule_join(self, *m);
  }
  check_contact(self);
}

} // namespace brokedancer::cluster
