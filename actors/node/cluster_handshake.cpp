#include "actors/node/cluster_handshake.hpp"

#include <algorithm>

#include "actors/node/cluster_joins.hpp"
#include "core/node_identity.hpp"
#include "core/unix_time.hpp"

namespace brokedancer::cluster {

namespace {

// Hellos in flight to one node: a retry while a welcome is late must not lose that welcome.
constexpr size_t hellos_per_node = 4;

// This node's proof of its name, for the peer on node `to`, with its half of a session key
// (and, in a welcome, the half of the hello it answers).
peer_proof prove(self_pointer self, const caf::node_id& to, const session_offer* offer,
                 const std::string& answers = {}) {
  const auto& identity = self->state.options.identity;
  if (!identity || offer == nullptr)
    return {};
  peer_proof proof;
  proof.at_us = now_us();
  proof.certificate_pem = identity->certificate_pem();
  proof.session_public = offer->public_key();
  proof.answers = answers;
  proof.signature =
      identity->sign(hello_payload(self->state.options.node_name, caf::to_string(self->node()),
                                   caf::to_string(to), proof.at_us, proof.session_public, answers));
  return proof;
}

// A new session key half for a handshake, when the cluster runs with TLS.
std::shared_ptr<session_offer> make_offer(self_pointer self) {
  if (!self->state.options.identity)
    return nullptr;
  return session_offer::make();
}

// Empty when `proof` shows that the peer on node `from` is the node `info` names; else why not.
std::string check_proof(self_pointer self, const node_info& info, const peer_proof& proof,
                        const caf::node_id& from) {
  const auto& identity = self->state.options.identity;
  if (!identity)
    return {}; // node.insecure_plaintext: names are taken on trust
  auto skew = proof.at_us - now_us();
  if (skew > max_hello_skew_us || skew < -max_hello_skew_us)
    return "its proof is dated " + std::to_string(skew / 1000000)
           + " s from this node's clock (more than a minute: check both clocks)";
  return identity->check(proof.certificate_pem, proof.signature,
                         hello_payload(info.name, caf::to_string(from),
                                       caf::to_string(self->node()), proof.at_us,
                                       proof.session_public, proof.answers),
                         info.name);
}

// Why a peer on node `from` may not be the member called `info.name`; empty when it may.
std::string refusal(self_pointer self, const node_info& info, const peer_proof& proof,
                    const caf::node_id& from) {
  auto& st = self->state;
  if (!acceptable(info))
    return "a hello needs a node name (letters, digits, '-', '_', '.'; at most 64) and a valid "
           "level";
  if (info.name == st.options.node_name)
    return "this node is called \"" + st.options.node_name
           + "\" too: node names (runtime.node_name) must be unique in a cluster";
  // Sizes first: nothing of a peer's is copied or encoded before it is known to be small.
  if (st.options.identity
      && (proof.session_public.size() != session_public_bytes
          || (!proof.answers.empty() && proof.answers.size() != session_public_bytes)
          || proof.certificate_pem.size() > max_certificate_bytes
          || proof.signature.size() > max_signature_bytes))
    return "its proof is malformed (a session key half is 32 bytes)";
  if (auto why = check_proof(self, info, proof, from); !why.empty())
    return "it did not prove the name \"" + info.name + "\": " + why;
  if (auto* holder = find_by_name(self, info.name);
      holder != nullptr && holder->connected && holder->handle && holder->handle.node() != from)
    return "the name \"" + info.name + "\" is held by another connected member";
  return {};
}

// A peer that joined us and listens at an address of node.peers is that configured peer: its
// slot takes the connection, so that this node does not dial a second one (CAF 0.17 drops one
// of two connections between the same nodes, and both sides lose the peer again; a dial to
// check the address would be that second connection). The address is the peer's word, so:
// with TLS, its certificate must name the slot's host; and a slot that has known another name
// keeps it.
void adopt_configured_slot(self_pointer self, const std::string& name, const peer_proof& proof) {
  auto& st = self->state;
  auto& members = st.members;
  auto joined = std::find_if(members.begin(), members.end(), [&](const member& m) {
    return m.configured.empty() && m.connected && m.info.name == name;
  });
  if (joined == members.end() || joined->info.address.empty())
    return;
  auto slot = std::find_if(members.begin(), members.end(), [&](const member& m) {
    return !m.configured.empty() && !m.connected && m.configured == joined->info.address
           && (m.info.name.empty() || m.info.name == name);
  });
  if (slot == members.end())
    return;
  if (st.options.identity
      && !node_identity::names_host(proof.certificate_pem, slot->address.host)) {
    st.log.warn("a member says it listens at a configured peer's address, but its certificate "
                "does not name that host; it keeps a place of its own",
                {{"peer", name}, {"address", slot->configured}});
    return;
  }
  auto configured = slot->configured;
  auto address = slot->address;
  auto reconnects = slot->reconnects;
  *slot = std::move(*joined);
  slot->configured = configured;
  slot->address = address;
  slot->reconnects = reconnects;
  slot->awaiting_welcome_since = {};
  // By position: the moved-from entry no longer has its name.
  members.erase(joined);
}

// The hello of ours that a welcome from `node` answers, taken out of hellos_out: only an answer
// to a hello of ours counts, and it completes the key that hello offered. False when there is
// none: the welcome is dropped.
bool take_answered_hello(self_pointer self, const caf::node_id& node, const node_info& theirs,
                         const peer_proof& proof, std::shared_ptr<session_offer>& offer) {
  auto& st = self->state;
  auto asked = st.hellos_out.find(node);
  if (asked == st.hellos_out.end()) {
    st.log.debug("a welcome to no hello of ours was dropped", {{"peer", theirs.name}});
    return false;
  }
  auto& hellos = asked->second;
  auto answered = std::find_if(hellos.begin(), hellos.end(), [&](const hello_out& h) {
    return (h.offer ? h.offer->public_key() : std::string{}) == proof.answers;
  });
  if (answered == hellos.end()) {
    st.log.debug("a welcome answering no hello of ours was dropped", {{"peer", theirs.name}});
    return false;
  }
  offer = answered->offer;
  hellos.erase(answered);
  if (hellos.empty())
    st.hellos_out.erase(asked);
  return true;
}

// A welcome refused: the join waiting for it fails (and is tried again); else it is only logged.
void welcome_refused(self_pointer self, member* joining, const node_info& theirs,
                     const std::string& why) {
  if (joining != nullptr && !joining->configured.empty()) {
    joining->awaiting_welcome_since = {};
    join_failed(self, joining->configured, why);
  } else {
    self->state.log.warn("a peer's welcome was refused", {{"peer", theirs.name}, {"why", why}});
  }
}

// The member a welcome makes: the configured slot that joined the peer, else the member of that
// name (new if there is none). Null when the slot is gone.
member* welcomed_member(self_pointer self, member* joining, const std::string& name) {
  auto& st = self->state;
  if (joining == nullptr || joining->configured.empty()) {
    auto* m = find_by_name(self, name);
    if (!m) {
      st.members.emplace_back();
      m = &st.members.back();
    }
    return m;
  }
  // A peer that joined us first has a slot of its own: this one covers it, and takes the
  // keys of that handshake too (the peer may seal with either).
  auto configured = joining->configured;
  std::vector<member_key> carried;
  auto joined_first = [&](const member& other) {
    return other.configured.empty() && other.info.name == name;
  };
  for (auto& other : st.members)
    if (joined_first(other))
      carried.insert(carried.end(), other.keys.begin(), other.keys.end());
  st.members.erase(std::remove_if(st.members.begin(), st.members.end(), joined_first),
                   st.members.end());
  member* m = nullptr;
  for (auto& other : st.members)
    if (other.configured == configured)
      m = &other;
  if (m != nullptr)
    for (auto& k : carried)
      remember_key(*m, k);
  return m;
}

} // namespace

void send_hello(self_pointer self, const cluster_actor& peer) {
  auto offer = make_offer(self);
  auto& out = self->state.hellos_out[peer.node()];
  out.push_back(hello_out{clock::now(), offer});
  if (out.size() > hellos_per_node)
    out.erase(out.begin());
  tell(self, peer, hello_atom::value, own_info(self), prove(self, peer.node(), offer.get()));
}

void say_hello(self_pointer self, const cluster_actor& peer) {
  auto& out = self->state.hellos_out;
  if (auto sent = out.find(peer.node()); sent != out.end() && !sent->second.empty()
                                         && clock::now() - sent->second.back().at < request_timeout)
    return;
  send_hello(self, peer);
}

void on_hello(self_pointer self, const node_info& theirs, const peer_proof& proof) {
  auto& st = self->state;
  auto handle = sender_handle(self);
  if (!handle || handle.node() == self->node())
    return;
  // A welcome's proof (it answers a hello) is not a hello's.
  if (!proof.answers.empty())
    return;
  if (auto why = refusal(self, theirs, proof, handle.node()); !why.empty()) {
    st.log.warn("a peer's hello was refused", {{"peer", theirs.name}, {"why", why}});
    tell(self, handle, refused_atom::value, why);
    return;
  }
  // Our half of the key its hello offered: the two then seal their gossip with it.
  auto offer = make_offer(self);
  std::optional<session_key> key;
  if (offer) {
    key = offer->agree(proof.session_public, caf::to_string(handle.node()),
                       caf::to_string(self->node()));
    if (!key) {
      st.log.warn("a peer's hello was refused", {{"peer", theirs.name}, {"why", "no session key"}});
      tell(self, handle, refused_atom::value,
           std::string{"its hello offers no usable session key"});
      return;
    }
  }
  auto* m = find_by_name(self, theirs.name);
  if (!m) {
    st.members.emplace_back();
    m = &st.members.back();
  }
  connected(self, *m, handle, theirs);
  if (key)
    remember_key(*m, member_key{*key, 0});
  tell(self, handle, welcome_atom::value, own_info(self),
       prove(self, handle.node(), offer.get(), proof.session_public));
  adopt_configured_slot(self, theirs.name, proof);
}

void on_welcome(self_pointer self, const node_info& theirs, const peer_proof& proof) {
  auto handle = sender_handle(self);
  if (!handle)
    return;
  auto node = handle.node();
  auto* joining = find_by_node(self, node);
  std::shared_ptr<session_offer> offer;
  if (!take_answered_hello(self, node, theirs, proof, offer))
    return;
  auto why = refusal(self, theirs, proof, node);
  std::optional<session_key> key;
  if (why.empty() && offer) {
    key = offer->agree(proof.session_public, caf::to_string(self->node()), caf::to_string(node));
    if (!key)
      why = "its welcome offers no usable session key";
  }
  if (!why.empty()) {
    welcome_refused(self, joining, theirs, why);
    return;
  }
  auto* m = welcomed_member(self, joining, theirs.name);
  if (!m)
    return;
  m->awaiting_welcome_since = {};
  connected(self, *m, handle, theirs);
  if (key)
    remember_key(*m, member_key{*key, 0});
  adopt_configured_slot(self, theirs.name, proof);
}

void on_refused(self_pointer self, const std::string& why) {
  auto handle = sender_handle(self);
  if (!handle)
    return;
  // hellos_out stays: `refused` is unauthenticated (a member could route one in a peer's name),
  // and a real welcome may still come; unanswered hellos age out.
  auto* m = find_by_node(self, handle.node());
  auto text = "the peer refused this node: " + why.substr(0, 300);
  if (m != nullptr && !m->configured.empty() && m->awaiting_welcome_since != clock::time_point{}) {
    m->awaiting_welcome_since = {};
    join_failed(self, m->configured, text);
  } else {
    self->state.log.warn("a peer refused this node", {{"why", text}});
  }
}

void forget_old_hellos(self_pointer self, clock::time_point now) {
  auto& out = self->state.hellos_out;
  for (auto it = out.begin(); it != out.end();) {
    auto& hellos = it->second;
    hellos.erase(std::remove_if(hellos.begin(), hellos.end(),
                                [&](const hello_out& h) { return now - h.at > request_timeout; }),
                 hellos.end());
    it = hellos.empty() ? out.erase(it) : std::next(it);
  }
}

} // namespace brokedancer::cluster
