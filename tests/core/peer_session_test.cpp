// What a member proves beyond its name, without an actor system: the session keys that seal its
// gossip, and the hosts its certificate lets it say it listens on.

#include <string>

#include <catch2/catch.hpp>

#include "core/node_identity.hpp"
#include "core/peer_session.hpp"
#include "support/test_certificates.hpp"

using namespace brokedancer;
using namespace brokedancer::testing;

TEST_CASE("both ends of a handshake agree on one key, and nobody else has it") {
  auto a = session_offer::make();
  auto b = session_offer::make();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->public_key().size() == session_public_bytes);
  auto at_a = a->agree(b->public_key(), "node-a", "node-b");
  auto at_b = b->agree(a->public_key(), "node-a", "node-b");
  REQUIRE(at_a);
  REQUIRE(at_b);
  CHECK(at_a->id() == at_b->id());
  auto text = sealed_text("a", "b", 1, "gossip");
  CHECK(at_b->opens(text, at_a->seal(text)));
  // A third party's key, even one agreed with one of the two, opens nothing.
  auto m = session_offer::make();
  auto at_m = m->agree(b->public_key(), "node-a", "node-b");
  REQUIRE(at_m);
  CHECK(at_m->id() != at_b->id());
  CHECK_FALSE(at_b->opens(text, at_m->seal(text)));
  // The key is bound to who began the handshake with whom.
  auto turned = a->agree(b->public_key(), "node-b", "node-a");
  REQUIRE(turned);
  CHECK(turned->id() != at_a->id());
}

TEST_CASE("a seal does not open for another direction, counter or payload") {
  auto a = session_offer::make();
  auto b = session_offer::make();
  auto key = a->agree(b->public_key(), "x", "y");
  REQUIRE(key);
  auto tag = key->seal(sealed_text("a", "b", 7, "HALT"));
  CHECK(key->opens(sealed_text("a", "b", 7, "HALT"), tag));
  CHECK_FALSE(key->opens(sealed_text("b", "a", 7, "HALT"), tag));
  CHECK_FALSE(key->opens(sealed_text("a", "b", 8, "HALT"), tag));
  CHECK_FALSE(key->opens(sealed_text("a", "b", 7, "NORMAL"), tag));
  CHECK_FALSE(key->opens(sealed_text("a", "b", 7, "HALT"), tag.substr(0, 16)));
  CHECK_FALSE(key->opens(sealed_text("a", "b", 7, "HALT"), ""));
}

TEST_CASE("a key half that is no X25519 public key is refused") {
  auto a = session_offer::make();
  CHECK_FALSE(a->agree("", "x", "y"));
  CHECK_FALSE(a->agree(std::string(31, '\x01'), "x", "y"));
  CHECK_FALSE(a->agree(std::string(33, '\x01'), "x", "y"));
  // The zero point has small order: the shared secret would be all zeros.
  CHECK_FALSE(a->agree(std::string(32, '\0'), "x", "y"));
}

TEST_CASE("a member may say it listens on a host only if its certificate names that host") {
  test_certificates certs;
  certs.issue("b", {"10.1.2.3"}, {"b.cluster.internal"});
  auto pem = certs.pem("b");
  CHECK(node_identity::names_host(pem, "10.1.2.3"));
  CHECK(node_identity::names_host(pem, "b.cluster.internal"));
  CHECK(node_identity::names_host(pem, "localhost")); // brokedancer certs always adds it
  CHECK_FALSE(node_identity::names_host(pem, "10.1.2.4"));
  CHECK_FALSE(node_identity::names_host(pem, "a.cluster.internal"));
  CHECK(node_identity::names_host(pem, "b")); // and the node's name, as a DNS name
  CHECK_FALSE(node_identity::names_host(pem, "c"));
  CHECK_FALSE(node_identity::names_host(pem, ""));
  CHECK_FALSE(node_identity::names_host("not a certificate", "10.1.2.3"));
}
