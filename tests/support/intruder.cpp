// What an intruder on the same host or network would run against a node's cluster port: the
// stock CAF client, the node's own message types, and a certificate of its own if it has one.
//
//   intruder exit HOST PORT [--tls CERT KEY CA]
//       obtains the published actor and sends it exit(kill); exit 0 once sent, 3 when it cannot
//       connect
//   intruder error HOST PORT [--tls CERT KEY CA]
//       sends it a bare error message (which a scheduled actor without an error handler obeys by
//       quitting) and a request it would have to answer
//   intruder claim NAME HOST PORT --tls CERT KEY CA
//       says hello as NAME with a proof made with CERT/KEY; prints "refused: ..." (exit 0) or
//       "welcomed" (exit 1); 2 when no answer came
//   intruder leap NAME HOST PORT [--tls CERT KEY CA]
//       says hello as NAME (a proper proof), then gossips a HALT whose sequence is 2^62 - 2,
//       sealed with the session key the handshake agreed; exit 0 once sent, 1 when not welcomed
//   intruder unsealed NAME HOST PORT --tls CERT KEY CA
//       as leap, but a plausible HALT (the next sequence) under a seal of the wrong key: what
//       gossip forged in NAME's name by another member looks like
//   intruder halt NAME HOST PORT --tls CERT KEY CA
//       as unsealed, but properly sealed: what a member may do

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/remote_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/timespan.hpp>

#include "core/node_identity.hpp"
#include "core/peer_session.hpp"
#include "core/unix_time.hpp"
#include "messages/cluster.hpp"
#include "messages/registry.hpp"

using namespace brokedancer;

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() < 3) {
    std::cerr << "usage: intruder exit|claim|leap ...\n";
    return 64;
  }
  auto mode = args[0];
  size_t at = 1;
  std::string name;
  if (mode != "exit" && mode != "error")
    name = args[at++];
  auto host = args[at++];
  auto port = static_cast<uint16_t>(std::stoi(args[at++]));
  bool tls = at < args.size() && args[at] == "--tls";
  std::string cert, key, ca;
  if (tls) {
    cert = args[at + 1];
    key = args[at + 2];
    ca = args[at + 3];
  }
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  // Heartbeats, as a node's: the node's guard cuts a connection that goes silent.
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(100)});
  register_message_types(cfg);
  if (tls) {
    cfg.load<caf::openssl::manager>();
    cfg.openssl_certificate = cert;
    cfg.openssl_key = key;
    cfg.openssl_cafile = ca;
  }
  caf::actor_system sys{cfg};
  auto remote = tls ? caf::openssl::remote_actor<cluster_actor>(sys, host, port)
                    : sys.middleman().remote_actor<cluster_actor>(host, port);
  if (!remote) {
    std::cout << "cannot connect: " << sys.render(remote.error()) << std::endl;
    return 3;
  }
  if (mode == "exit") {
    caf::anon_send_exit(*remote, caf::exit_reason::kill);
    std::cout << "sent" << std::endl;
    return 0;
  }
  if (mode == "error") {
    auto untyped = caf::actor_cast<caf::actor>(*remote);
    caf::anon_send(untyped, caf::make_error(caf::sec::runtime_error, "forged"));
    caf::scoped_actor asker{sys};
    asker->request(untyped, std::chrono::seconds(1), status_atom::value)
        .receive([](cluster_status&) { std::cout << "answered status" << std::endl; },
                 [](caf::error&) { std::cout << "no status" << std::endl; });
    std::cout << "sent" << std::endl;
    return 0;
  }
  std::string why;
  std::unique_ptr<node_identity> identity;
  if (tls) {
    identity = node_identity::load(cert, key, ca, "", why);
    if (!identity) {
      std::cerr << why << '\n';
      return 64;
    }
  }
  caf::scoped_actor self{sys};
  node_info info;
  info.name = name;
  // The address it says it listens at: INTRUDER_ADDRESS, to claim another's.
  const char* claimed = std::getenv("INTRUDER_ADDRESS");
  info.address = claimed != nullptr ? claimed : "127.0.0.1:1";
  peer_proof proof;
  auto offer = session_offer::make();
  if (identity) {
    proof.at_us = now_us();
    proof.certificate_pem = identity->certificate_pem();
    proof.session_public = offer->public_key();
    proof.signature = identity->sign(hello_payload(name, caf::to_string(sys.node()),
                                                   caf::to_string(remote->node()), proof.at_us,
                                                   proof.session_public));
  }
  self->send(*remote, hello_atom::value, info, proof);
  int code = 2;
  bool welcomed = false;
  node_info theirs;
  std::optional<session_key> session;
  self->receive(
      [&](welcome_atom, const node_info& welcome, const peer_proof& their_proof) {
        std::cout << "welcomed" << std::endl;
        welcomed = true;
        code = 1;
        theirs = welcome;
        session = offer->agree(their_proof.session_public, caf::to_string(sys.node()),
                               caf::to_string(remote->node()));
      },
      [&](refused_atom, const std::string& reason) {
        std::cout << "refused: " << reason << std::endl;
        code = 0;
      },
      caf::after(std::chrono::seconds(5)) >> [&] { std::cout << "no answer" << std::endl; });
  if (mode == "claim") {
    // INTRUDER_HOLD_MS: how long to stay connected after the answer.
    if (const char* hold = std::getenv("INTRUDER_HOLD_MS"))
      std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(hold)));
    return code;
  }
  if (!welcomed)
    return 1;
  info.level.level = emergency_level::halt;
  info.level.previous = emergency_level::normal;
  info.level.reason = "a leap";
  info.level.source = change_source::operator_request;
  info.level.node = name;
  info.level.sequence = mode == "leap" ? (uint64_t{1} << 62) - 2 : theirs.level.sequence + 1;
  info.level.based_on_sequence = mode == "leap" ? info.level.sequence - 1 : theirs.level.sequence;
  info.level.at_us = now_us();
  // The seal of the pair's key, or for "unsealed" of a key nobody agreed to.
  std::optional<session_key> sealing = session;
  if (mode == "unsealed") {
    auto stranger = session_offer::make();
    sealing = stranger->agree(session_offer::make()->public_key(), "x", "y");
  }
  // With TLS every gossip is sealed: without a pair key (or a stranger's) the test would not
  // try what it says it tries.
  if (tls && (!session || !sealing)) {
    std::cerr << "no session key to seal with\n";
    return 65;
  }
  for (uint64_t counter = 1; counter <= 5; ++counter) {
    gossip_seal seal;
    if (sealing) {
      std::vector<char> bytes;
      caf::binary_serializer sink{sys, bytes};
      auto copy = info;
      if (auto err = sink(copy))
        return 64;
      seal.key_id = session ? session->id() : 0; // names the pair's key either way
      seal.counter = counter;
      seal.tag = sealing->seal(
          sealed_text(name, theirs.name, counter, std::string_view{bytes.data(), bytes.size()}));
    }
    self->send(*remote, gossip_atom::value, info, seal);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::cout << "sent" << std::endl;
  return 0;
}
