#include "actors/node/cluster_gossip.hpp"

#include <caf/binary_serializer.hpp>

#include "actors/node/cluster_handshake.hpp"
#include "core/unix_time.hpp"

namespace brokedancer::cluster {

namespace {

// Longer than the store's own timeout: the controller persists a peer's lower level first.
constexpr auto peer_change_timeout = std::chrono::seconds(10);

// How many gossips in a row from a member's connection may fail to open before this node says
// hello again (at most once per request_timeout).
constexpr uint32_t rehello_after_unopened = 5;

// A gossip's bytes as CAF serializes them: what its seal covers (with its direction and
// counter, sealed_text). Empty if it cannot be serialized.
std::string gossip_bytes(self_pointer self, node_info info) {
  std::vector<char> bytes;
  caf::binary_serializer sink{self->system(), bytes};
  if (auto err = sink(info))
    return {};
  return std::string{bytes.data(), bytes.size()};
}

// Whether a member's gossip carries a seal of one of its keys, newer than any opened before.
bool unsealed(self_pointer self, member& m, const node_info& info, const gossip_seal& seal) {
  if (!self->state.options.identity)
    return false; // node.insecure_plaintext: the connection is all there is
  for (auto& k : m.keys) {
    if (k.key.id() != seal.key_id)
      continue;
    if (seal.counter <= k.last_counter)
      return true;
    auto bytes = gossip_bytes(self, info);
    if (bytes.empty()
        || !k.key.opens(sealed_text(info.name, self->state.options.node_name, seal.counter, bytes),
                        seal.tag))
      return true;
    k.last_counter = seal.counter;
    m.their_key = seal.key_id;
    return false;
  }
  return true;
}

// The key to seal gossip for `m` with: the one it seals with, else the newest.
const session_key& sealing_key(const member& m) {
  for (const auto& k : m.keys)
    if (k.key.id() == m.their_key)
      return k.key;
  return m.keys.back().key;
}

// A peer's level: to the controller, which takes, restamps or ignores it.
void hand_level(self_pointer self, const level_change& theirs) {
  auto& st = self->state;
  if (theirs.local_only || !st.registration.registered()
      || key_of(theirs) == key_of(st.level.current()))
    return;
  if (st.handed && *st.handed == key_of(theirs))
    return;
  st.handed = key_of(theirs);
  self->request(st.emergency, peer_change_timeout, peer_change_atom::value, theirs)
      .then([](level_change&) {},
            [self](caf::error& err) {
              self->state.handed.reset(); // the next heartbeat brings it again
              self->state.log.warn("the emergency controller did not take a peer's level yet",
                                   {{"error", self->system().render(err)}});
            });
}

// A peer's scopes: to the scope controller, which merges them.
void hand_scopes(self_pointer self, member& m, const std::vector<halt_scope>& theirs) {
  auto& st = self->state;
  if (!st.scopes || theirs.empty() || theirs.size() > max_scopes_kept
      || same_scopes(theirs, m.handed_scopes))
    return;
  m.handed_scopes = theirs;
  self->send(st.scopes, peer_scopes_atom::value, theirs);
}

} // namespace

void heard(self_pointer self, member& m, const node_info& info) {
  m.info = info;
  m.last_heard_us = now_us();
  hand_level(self, info.level);
  hand_scopes(self, m, info.scopes);
}

void gossip(self_pointer self) {
  auto& st = self->state;
  auto info = own_info(self);
  auto bytes = st.options.identity ? gossip_bytes(self, info) : std::string{};
  for (auto& m : st.members) {
    if (!m.connected || !m.handle)
      continue;
    gossip_seal seal;
    if (st.options.identity) {
      if (m.keys.empty())
        continue; // it could not open it
      const auto& key = sealing_key(m);
      seal.key_id = key.id();
      seal.counter = ++m.sent;
      seal.tag = key.seal(sealed_text(st.options.node_name, m.info.name, seal.counter, bytes));
    }
    tell(self, m.handle, gossip_atom::value, info, seal);
  }
}

void on_gossip(self_pointer self, const node_info& theirs, const gossip_seal& seal) {
  auto& st = self->state;
  auto handle = sender_handle(self);
  if (!handle || !acceptable(theirs) || theirs.name == st.options.node_name)
    return;
  auto* m = find_by_name(self, theirs.name);
  if (m != nullptr && m->connected && m->handle && m->handle.node() == handle.node()) {
    if (unsealed(self, *m, theirs, seal)) {
      // Forged in its name, replayed, or sealed with a key this node does not hold.
      if (++st.unsealed_gossip <= 10 || st.unsealed_gossip % 1000 == 0)
        st.log.warn("gossip in a member's name without its seal was dropped",
                    {{"peer", theirs.name}, {"dropped_so_far", st.unsealed_gossip}});
      if (++m->unopened >= rehello_after_unopened) {
        m->unopened = 0;
        say_hello(self, handle);
      }
      return;
    }
    m->unopened = 0;
    heard(self, *m, theirs);
    return;
  }
  if (m != nullptr && m->connected) {
    // Another connection speaking in a member's name: not taken.
    st.log.debug("gossip in a member's name from another connection was dropped",
                 {{"peer", theirs.name}});
    return;
  }
  // A peer that knows us but that we do not know, or no longer: it proves its name first.
  say_hello(self, handle);
}

} // namespace brokedancer::cluster
