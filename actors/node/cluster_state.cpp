#include "actors/node/cluster_state.hpp"

namespace brokedancer::cluster {

namespace {

// Session keys kept per member, newest last: both ends may say hello at once, and a slow welcome
// may complete an older handshake after a newer one; the peer seals with its newest.
constexpr size_t keys_per_member = 4;

} // namespace

node_info own_info(self_pointer self) {
  auto& st = self->state;
  node_info info;
  info.name = st.options.node_name;
  info.address = st.options.listen_address;
  info.bots = st.bots;
  info.level = st.level.current();
  info.isolated = st.isolation_reported;
  info.scopes = st.own_scopes;
  return info;
}

bool acceptable(const node_info& info) {
  return !info.name.empty() && valid_node_name(info.name) && info.address.size() <= 300
         && acceptable_from_peer(info.level);
}

member* find_by_handle(self_pointer self, const caf::actor_addr& address) {
  for (auto& m : self->state.members)
    if (m.handle && m.handle.address() == address)
      return &m;
  return nullptr;
}

member* find_by_name(self_pointer self, const std::string& name) {
  for (auto& m : self->state.members)
    if (m.info.name == name)
      return &m;
  return nullptr;
}

member* find_by_node(self_pointer self, const caf::node_id& node) {
  for (auto& m : self->state.members)
    if (m.handle && m.handle.node() == node)
      return &m;
  return nullptr;
}

cluster_actor sender_handle(self_pointer self) {
  return caf::actor_cast<cluster_actor>(self->current_sender());
}

void remember_key(member& m, member_key key) {
  m.keys.push_back(std::move(key));
  if (m.keys.size() > keys_per_member)
    m.keys.erase(m.keys.begin());
}

} // namespace brokedancer::cluster
