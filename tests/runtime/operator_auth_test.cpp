// The rules of who may operate a node, without a node: credentials, roles, the throttle, and
// the text checks that keep outside bytes out of JSON.

#include <catch2/catch.hpp>

#include "core/json_text.hpp"
#include "runtime/operator_auth.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;

TEST_CASE("a token opens the credential it was made for, and no other") {
  auto alice = make_token();
  auto bob = make_token();
  CHECK(alice.rfind("bd1_", 0) == 0);
  CHECK(alice.size() == 4 + 64);
  CHECK(alice != bob);
  credential_set set{{{"alice", operator_role::risk, digest_of(alice)},
                      {"bob", operator_role::operator_role, digest_of(bob)}}};
  auto a = set.authenticate(alice);
  REQUIRE(a);
  CHECK(a->name == "alice");
  CHECK(a->role == operator_role::risk);
  auto b = set.authenticate(bob);
  REQUIRE(b);
  CHECK(b->name == "bob");
  CHECK_FALSE(set.authenticate(""));
  CHECK_FALSE(set.authenticate(alice + "x"));
  CHECK_FALSE(set.authenticate(to_hex(digest_of(alice)))); // the digest is not the token
}

TEST_CASE("only the risk role may lower a level") {
  CHECK(permits(operator_role::operator_role, operator_action::status));
  CHECK(permits(operator_role::operator_role, operator_action::raise));
  CHECK_FALSE(permits(operator_role::operator_role, operator_action::lower));
  CHECK(permits(operator_role::risk, operator_action::lower));
  CHECK(permits(operator_role::risk, operator_action::raise));
  CHECK(permits(operator_role::viewer, operator_action::status));
  CHECK_FALSE(permits(operator_role::viewer, operator_action::raise));
  CHECK_FALSE(permits(operator_role::viewer, operator_action::lower));
}

TEST_CASE("a credentials file is read line by line and a bad line is named, not shown") {
  auto token = make_token();
  operator_credential c{"ops-1", operator_role::operator_role, digest_of(token)};
  std::vector<operator_credential> read;
  std::string why;
  REQUIRE(parse_credentials("# who may operate\n\n" + credential_line(c) + "\n", read, why));
  REQUIRE(read.size() == 1);
  CHECK(read[0].name == "ops-1");
  CHECK(read[0].digest == c.digest);

  auto refused = [](const std::string& text) {
    std::vector<operator_credential> out;
    std::string reason;
    CHECK_FALSE(parse_credentials(text, out, reason));
    return reason;
  };
  auto digest = to_hex(digest_of(token));
  CHECK_THAT(refused("alice risk\n"), Catch::Contains("line 1"));
  CHECK_THAT(refused("alice admin " + digest), Catch::Contains("viewer, operator or risk"));
  CHECK_THAT(refused("al ice risk " + digest), Catch::Contains("three words"));
  CHECK_THAT(refused("alice risk " + digest.substr(1)), Catch::Contains("64 hex digits"));
  CHECK_THAT(refused("a risk " + digest + "\na operator " + digest), Catch::Contains("twice"));
  CHECK_THAT(refused("bad/name risk " + digest), Catch::Contains("name"));
  // The digest never appears in the explanation.
  CHECK_THAT(refused("alice risk " + digest.substr(1)), !Catch::Contains(digest.substr(1)));
}

TEST_CASE("failed attempts from one address are refused past the limit until they age out") {
  auth_throttle::settings s;
  s.max_failures = 3;
  s.window = 60s;
  auth_throttle throttle{s};
  auto t0 = auth_throttle::clock::time_point{} + 1000s;
  for (int i = 0; i < 3; ++i) {
    CHECK_FALSE(throttle.refused_for("10.0.0.1", t0 + std::chrono::seconds(i)));
    throttle.failed("10.0.0.1", t0 + std::chrono::seconds(i));
  }
  auto wait = throttle.refused_for("10.0.0.1", t0 + 3s);
  REQUIRE(wait);
  CHECK(*wait == 57s);
  // Another address is not held up by it.
  CHECK_FALSE(throttle.refused_for("10.0.0.2", t0 + 3s));
  // Once the oldest failure leaves the window, one more attempt is allowed.
  CHECK_FALSE(throttle.refused_for("10.0.0.1", t0 + 60s));
}

TEST_CASE("the throttle's table is bounded: when full, unknown addresses are refused") {
  auth_throttle::settings s;
  s.max_failures = 1;
  s.max_addresses = 2;
  auth_throttle throttle{s};
  auto t0 = auth_throttle::clock::time_point{} + 1000s;
  throttle.failed("a", t0);
  throttle.failed("b", t0);
  throttle.failed("c", t0); // not kept
  CHECK(throttle.refused_for("c", t0 + 1s));
  CHECK(throttle.refused_for("a", t0 + 1s));
  CHECK_FALSE(throttle.refused_for("c", t0 + 61s)); // the table emptied
}

TEST_CASE("UTF-8 is checked strictly and invalid bytes never make a JSON dump throw") {
  CHECK(valid_utf8("plain ascii"));
  CHECK(valid_utf8("Zürich 東京 \xF0\x9F\x98\x80"));
  CHECK_FALSE(valid_utf8("\xff"));
  CHECK_FALSE(valid_utf8("\xC0\xAF"));         // overlong '/'
  CHECK_FALSE(valid_utf8("\xED\xA0\x80"));     // a surrogate
  CHECK_FALSE(valid_utf8("\xF4\x90\x80\x80")); // past U+10FFFF
  CHECK_FALSE(valid_utf8("\xE2\x82"));         // cut short
  CHECK(printable_text("a reason\twith a tab"));
  CHECK_FALSE(printable_text("two\nlines"));
  CHECK_FALSE(printable_text("escape \x1b[31m"));
  nlohmann::json value{{"reason", std::string{"bad \xff byte"}}};
  CHECK_THROWS(value.dump());
  std::string text;
  REQUIRE_NOTHROW(text = dump_json(value));
  CHECK_THAT(text, Catch::Contains("bad \xEF\xBF\xBD byte"));
}
