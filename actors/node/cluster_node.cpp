#include "actors/node/cluster_node.hpp"

#include <algorithm>
#include <map>
#include <random>

#include <caf/actor_system.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/resilience/retry_policy.hpp"
#include "actors/supervision/supervisor.hpp"
#include "messages/errors.hpp"
#include "core/host_port.hpp"
#include "core/logging.hpp"
#include "core/peer_session.hpp"
#include "core/unix_time.hpp"

namespace brokedancer {

namespace {

using clock = std::chrono::steady_clock;
using tick_atom = caf::atom_constant<caf::atom("cl_tick")>;
using join_atom = caf::atom_constant<caf::atom("cl_join")>;
using enroll_atom = caf::atom_constant<caf::atom("cl_enroll")>;

using cluster_impl =
    cluster_actor::extend<caf::reacts_to<tick_atom>, caf::reacts_to<join_atom, std::string>,
                          caf::reacts_to<enroll_atom>>;

constexpr auto request_timeout = std::chrono::seconds(2);
// Longer than the store's own timeout: the controller persists a peer's lower level first.
constexpr auto peer_change_timeout = std::chrono::seconds(10);
constexpr auto reconnect_min = std::chrono::milliseconds(100);
// Every this many heartbeats: the bots count and the store's reachability.
constexpr int slow_every = 5;
// Session keys kept per member, newest last: both ends may say hello at once, and a slow welcome
// may complete an older handshake after a newer one; the peer seals with its newest.
constexpr size_t keys_per_member = 4;
// Hellos in flight to one node: a retry while a welcome is late must not lose that welcome.
constexpr size_t hellos_per_node = 4;

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
};

// How many gossips in a row from a member's connection may fail to open before this node says
// hello again (at most once per request_timeout).
constexpr uint32_t rehello_after_unopened = 5;

// A hello of ours in flight: when it went, and the private half of its session key.
struct hello_out {
  clock::time_point at{};
  std::shared_ptr<session_offer> offer;
};

struct cluster_state {
  cluster_options options;
  emergency_actor emergency;
  state_store_actor store;
  std::vector<member> members;
  level_tracker level;
  bool registered = false;
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

node_info own_info(self_pointer self) {
  auto& st = self->state;
  node_info info;
  info.name = st.options.node_name;
  info.address = st.options.listen_address;
  info.bots = st.bots;
  info.level = st.level.current();
  info.isolated = st.isolation_reported;
  return info;
}

// What a peer says of itself, before anything is done with it.
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

// Every message to a peer goes as the front door: the peer sees no other handle of ours.
template <class... Ts>
void tell(self_pointer self, const caf::actor& peer, Ts&&... xs) {
  caf::send_as(self->state.options.front, peer, std::forward<Ts>(xs)...);
}

template <class Handle, class... Ts>
void tell(self_pointer self, const Handle& peer, Ts&&... xs) {
  tell(self, caf::actor_cast<caf::actor>(peer), std::forward<Ts>(xs)...);
}

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

// Sends our hello to `peer`, remembering the key half it offers.
template <class Handle>
void send_hello(self_pointer self, const Handle& peer) {
  auto offer = make_offer(self);
  auto& out = self->state.hellos_out[peer.node()];
  out.push_back(hello_out{clock::now(), offer});
  if (out.size() > hellos_per_node)
    out.erase(out.begin());
  tell(self, peer, hello_atom::value, own_info(self), prove(self, peer.node(), offer.get()));
}

void remember_key(member& m, member_key key) {
  m.keys.push_back(std::move(key));
  if (m.keys.size() > keys_per_member)
    m.keys.erase(m.keys.begin());
}

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

// A peer's level: to the controller, which takes, restamps or ignores it.
void hand_level(self_pointer self, const level_change& theirs) {
  auto& st = self->state;
  if (theirs.local_only || !st.registered || key_of(theirs) == key_of(st.level.current()))
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

void heard(self_pointer self, member& m, const node_info& info) {
  m.info = info;
  m.last_heard_us = now_us();
  hand_level(self, info.level);
}

void schedule_join(self_pointer self, member& m) {
  auto& st = self->state;
  retry_settings settings;
  settings.initial_backoff = reconnect_min;
  settings.max_backoff = st.options.reconnect_max;
  // Jittered, so that nodes restarted together do not retry in step.
  self->delayed_send(self, backoff(settings, m.failed_joins++, st.random), join_atom::value,
                     m.configured);
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

// Joins a peer of node.peers: a connection through the middleman (without blocking a scheduler
// thread), then hello both ways.
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
      .then(
          [self, configured](caf::node_id& node, caf::strong_actor_ptr& remote,
                             std::set<std::string>&) {
            if (node == self->node()) {
              // This node under another address (0.0.0.0, a host name): not a peer.
              auto& members = self->state.members;
              members.erase(
                  std::remove_if(members.begin(), members.end(),
                                 [&](const member& m) { return m.configured == configured; }),
                  members.end());
              self->state.log.info("a configured peer is this node itself; not joining it",
                                   {{"peer", configured}});
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
          },
          [self, configured](caf::error& err) {
            join_failed(self, configured, self->system().render(err));
          });
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

std::string peer_names(const cluster_state& st) {
  std::string names;
  for (const auto& m : st.members) {
    if (!names.empty())
      names += ", ";
    names += m.info.name.empty() ? m.configured : m.info.name;
  }
  return names;
}

// How long one cause of isolation has lasted, and whether it trips the switch.
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

// The dead man's switch: out of contact with every peer (when it has any) for
// isolation_halt_after, or with the shared store for store_halt_after.
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

void enroll(self_pointer self) {
  auto& st = self->state;
  self->request(st.emergency, request_timeout, register_bot_atom::value,
                caf::actor_cast<caf::actor>(self))
      .then(
          [self](level_change& current) {
            self->state.registered = true;
            self->state.level.take(current);
          },
          [self](caf::error&) {
            self->delayed_send(self, std::chrono::milliseconds(200), enroll_atom::value);
          });
}

// -- the handshake ----------------------------------------------------------------------------

// The sender of the current message as the peer it is: its front door, and its node.
cluster_actor sender_handle(self_pointer self) {
  return caf::actor_cast<cluster_actor>(self->current_sender());
}

// Introduces this node to a peer that spoke first (it restarted, or only it lists us); its
// welcome makes it a member. At most one hello in flight per peer node.
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
  auto& st = self->state;
  auto handle = sender_handle(self);
  if (!handle)
    return;
  auto node = handle.node();
  auto* joining = find_by_node(self, node);
  // Only an answer to a hello of ours counts, and it completes the key that hello offered.
  auto asked = st.hellos_out.find(node);
  if (asked == st.hellos_out.end()) {
    st.log.debug("a welcome to no hello of ours was dropped", {{"peer", theirs.name}});
    return;
  }
  auto& hellos = asked->second;
  auto answered = std::find_if(hellos.begin(), hellos.end(), [&](const hello_out& h) {
    return (h.offer ? h.offer->public_key() : std::string{}) == proof.answers;
  });
  if (answered == hellos.end()) {
    st.log.debug("a welcome answering no hello of ours was dropped", {{"peer", theirs.name}});
    return;
  }
  auto offer = answered->offer;
  hellos.erase(answered);
  if (hellos.empty())
    st.hellos_out.erase(asked);
  auto why = refusal(self, theirs, proof, node);
  std::optional<session_key> key;
  if (why.empty() && offer) {
    key = offer->agree(proof.session_public, caf::to_string(self->node()), caf::to_string(node));
    if (!key)
      why = "its welcome offers no usable session key";
  }
  if (!why.empty()) {
    if (joining != nullptr && !joining->configured.empty()) {
      joining->awaiting_welcome_since = {};
      join_failed(self, joining->configured, why);
    } else {
      st.log.warn("a peer's welcome was refused", {{"peer", theirs.name}, {"why", why}});
    }
    return;
  }
  member* m = joining;
  if (m != nullptr && !m->configured.empty()) {
    // A peer that joined us first has a slot of its own: this one covers it, and takes the
    // keys of that handshake too (the peer may seal with either).
    auto configured = m->configured;
    std::vector<member_key> carried;
    auto joined_first = [&](const member& other) {
      return other.configured.empty() && other.info.name == theirs.name;
    };
    for (auto& other : st.members)
      if (joined_first(other))
        carried.insert(carried.end(), other.keys.begin(), other.keys.end());
    st.members.erase(std::remove_if(st.members.begin(), st.members.end(), joined_first),
                     st.members.end());
    m = nullptr;
    for (auto& other : st.members)
      if (other.configured == configured)
        m = &other;
    if (m != nullptr)
      for (auto& k : carried)
        remember_key(*m, k);
  } else {
    m = find_by_name(self, theirs.name);
    if (!m) {
      st.members.emplace_back();
      m = &st.members.back();
    }
  }
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

// Joins whose welcome did not come in time are tried again.
void check_joins(self_pointer self) {
  auto now = clock::now();
  for (auto& m : self->state.members)
    if (m.awaiting_welcome_since != clock::time_point{}
        && now - m.awaiting_welcome_since > request_timeout) {
      m.awaiting_welcome_since = {};
      join_failed(self, m.configured, "no welcome from the peer within 2 s (see its log)");
    }
  auto& out = self->state.hellos_out;
  for (auto it = out.begin(); it != out.end();) {
    auto& hellos = it->second;
    hellos.erase(std::remove_if(hellos.begin(), hellos.end(),
                                [&](const hello_out& h) { return now - h.at > request_timeout; }),
                 hellos.end());
    it = hellos.empty() ? out.erase(it) : std::next(it);
  }
}

cluster_impl::behavior_type cluster_node(self_pointer self, cluster_options options,
                                         emergency_actor emergency, state_store_actor store) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.options = std::move(options);
  st.emergency = std::move(emergency);
  st.store = std::move(store);
  for (const auto& peer : st.options.peers) {
    member m;
    m.configured = peer.text();
    m.address = peer;
    st.members.push_back(std::move(m));
  }
  self->set_down_handler([self](caf::down_msg& down) {
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
  });
  enroll(self);
  for (auto& m : st.members)
    join(self, m.configured);
  self->send(self, tick_atom::value);
  return {
      [self](hello_atom, node_info& theirs, peer_proof& proof) { on_hello(self, theirs, proof); },
      [self](welcome_atom, node_info& theirs, peer_proof& proof) {
        on_welcome(self, theirs, proof);
      },
      [self](refused_atom, std::string& why) { on_refused(self, why); },
      [self](gossip_atom, node_info& theirs, gossip_seal& seal) { on_gossip(self, theirs, seal); },
      [self](const level_change& change) {
        auto& s = self->state;
        // Only this node's controller tells this actor its level; a peer speaks by gossip.
        auto sender = self->current_sender();
        if (!sender || sender->node() != self->node())
          return;
        self->send(caf::actor_cast<emergency_actor>(sender), emergency_ack_atom::value,
                   change.sequence);
        if (s.level.take(change)) {
          s.handed.reset(); // a peer's level ignored before may apply now
          gossip(self);     // at once: this is how a HALT reaches the other nodes
        }
      },
      [self](status_atom) -> caf::result<cluster_status> {
        auto& s = self->state;
        auto sender = self->current_sender();
        if (sender && sender->node() != self->node())
          return make_error(errc::invalid_argument, "a cluster's status is for its own node");
        cluster_status status;
        status.self = own_info(self);
        for (const auto& m : s.members) {
          member_status ms;
          ms.info = m.info;
          if (ms.info.name.empty())
            ms.info.address = m.configured;
          ms.connected = m.connected;
          ms.configured_address = m.configured;
          ms.last_heard_us = m.last_heard_us;
          ms.reconnects = m.reconnects;
          ms.last_error = m.last_error;
          status.members.push_back(std::move(ms));
        }
        status.store_shared = s.options.store_shared;
        status.store_reachable = s.store_reachable;
        if (!s.in_contact && s.out_of_contact_since != clock::time_point{})
          status.out_of_contact_since_us = now_us()
                                           - std::chrono::duration_cast<std::chrono::microseconds>(
                                                 clock::now() - s.out_of_contact_since)
                                                 .count();
        return status;
      },
      [self](tick_atom) {
        auto& s = self->state;
        if (s.ticks++ % slow_every == 0)
          refresh(self);
        gossip(self);
        check_joins(self);
        check_contact(self);
        self->delayed_send(self, s.options.heartbeat, tick_atom::value);
      },
      [self](join_atom, const std::string& configured) { join(self, configured); },
      [self](enroll_atom) { enroll(self); },
  };
}

} // namespace

cluster_actor spawn_cluster_node(caf::actor_system& sys, cluster_options options,
                                 emergency_actor emergency, state_store_actor store) {
  return caf::actor_cast<cluster_actor>(
      sys.spawn(cluster_node, std::move(options), std::move(emergency), std::move(store)));
}

} // namespace brokedancer
