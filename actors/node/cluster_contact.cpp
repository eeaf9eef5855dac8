#include "actors/node/cluster_contact.hpp"

#include <algorithm>

#include "actors/node/cluster_gossip.hpp"

namespace brokedancer::cluster {

namespace {

std::string peer_names(const cluster_state& st) {
  std::string names;
  for (const auto& m : st.members) {
    if (!names.empty())
      names += ", ";
    names += m.info.name.empty() ? m.configured : m.info.name;
  }
  return names;
}

// The switch trips: the controller halts this node's bots, once, with the reason.
void report_isolation(self_pointer self, bool peers_tripped) {
  auto& st = self->state;
  st.isolation_reported = true;
  st.told_contact = true;
  auto seconds = [](std::chrono::milliseconds limit) {
    return std::to_string(static_cast<int64_t>(std::chrono::duration<double>(limit).count()));
  };
  std::string reason = peers_tripped ? "no contact with any peer (" + peer_names(st) + ") for "
                                           + seconds(st.options.isolation_halt_after) + " s"
                                     : "the shared state store has been unreachable for "
                                           + seconds(st.options.store_halt_after) + " s";
  st.log.critical("dead man's switch: halting this node", {{"reason", reason}});
  self->send(st.emergency, isolation_atom::value, true, reason);
}

} // namespace

bool tripped(clock::time_point& since, bool ok, std::chrono::milliseconds limit,
             clock::time_point now) {
  if (ok) {
    since = {};
    return false;
  }
  if (since == clock::time_point{})
    since = now;
  return limit.count() > 0 && now - since >= limit;
}

void check_contact(self_pointer self) {
  auto& st = self->state;
  // A node that was told of peers, or has had one, needs one; a store it shares, too.
  bool expects_peers = std::any_of(st.members.begin(), st.members.end(), [](const member& m) {
    return !m.configured.empty() || m.ever_connected;
  });
  bool has_peer = std::any_of(st.members.begin(), st.members.end(),
                              [](const member& m) { return m.connected; });
  bool peers_ok = !expects_peers || has_peer;
  bool store_ok = !st.options.store_shared || st.store_reachable;
  auto now = clock::now();
  bool peers_tripped = tripped(st.peers_lost_since, peers_ok, st.options.isolation_halt_after, now);
  bool store_tripped = tripped(st.store_lost_since, store_ok, st.options.store_halt_after, now);
  if (peers_ok && store_ok) {
    st.in_contact = true;
    st.out_of_contact_since = {};
    if (st.isolation_reported || !st.told_contact) {
      st.isolation_reported = false;
      st.told_contact = true;
      self->send(st.emergency, isolation_atom::value, false, std::string{});
      gossip(self);
    }
    return;
  }
  if (st.in_contact || st.out_of_contact_since == clock::time_point{})
    st.out_of_contact_since = now;
  st.in_contact = false;
  if (st.isolation_reported || !(peers_tripped || store_tripped))
    return;
  report_isolation(self, peers_tripped);
}

} // namespace brokedancer::cluster
