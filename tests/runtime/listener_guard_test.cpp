// The rules that bound what strangers on the peer port cost, with the time passed in.

#include <algorithm>

#include <catch2/catch.hpp>

#include "runtime/listener_guard.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;

namespace {

guard_settings settings() {
  guard_settings s;
  s.handshake_timeout = 3s;
  s.handshake_bytes = 1024;
  s.idle_timeout = 5s;
  s.max_connections = 3;
  return s;
}

const auto t0 = connection_rules::clock::time_point{} + 1000s;

} // namespace

TEST_CASE("a connection that does not authenticate within the handshake timeout is cut") {
  connection_rules rules{settings()};
  CHECK(rules.review({{1, 0}, {2, 0}}, t0).empty());
  CHECK(rules.review({{1, 300}, {2, 2000}}, t0 + 2s).empty());
  // 1 trickled 300 bytes and stalled below a handshake; 2 went past it.
  CHECK(rules.review({{1, 320}, {2, 2100}}, t0 + 3s) == std::vector<uint64_t>{1});
  CHECK(rules.review({{2, 2200}}, t0 + 4s).empty());
}

TEST_CASE("a peer that keeps receiving is never cut, and one gone silent is") {
  connection_rules rules{settings()};
  uint64_t bytes = 0;
  for (int second = 0; second < 30; ++second) {
    bytes += 2000;
    CHECK(rules.review({{7, bytes}}, t0 + std::chrono::seconds(second)).empty());
  }
  // Its last window began at 25 s and saw growth until 29 s; the next one, from 30 s, sees none.
  CHECK(rules.review({{7, bytes}}, t0 + 30s).empty());
  CHECK(rules.review({{7, bytes}}, t0 + 34s).empty());
  CHECK(rules.review({{7, bytes}}, t0 + 35s) == std::vector<uint64_t>{7});
}

TEST_CASE("a stranger past the handshake bytes that only trickles is cut") {
  connection_rules rules{settings()};
  // A padded hello gets it past 1 KiB at once; then a byte a second into a record that never
  // ends.
  for (int second = 0; second < 5; ++second)
    CHECK(
        rules.review({{8, 1100 + static_cast<uint64_t>(second)}}, t0 + std::chrono::seconds(second))
            .empty());
  CHECK(rules.review({{8, 1105}}, t0 + 5s) == std::vector<uint64_t>{8});
}

TEST_CASE("past the connection limit those still handshaking that sent least are cut, newest "
          "first, and peers are kept") {
  connection_rules rules{settings()};
  CHECK(rules.review({{1, 5000}, {2, 5000}}, t0).empty());
  CHECK(rules.review({{1, 9000}, {2, 9000}, {3, 10}}, t0 + 1s).empty());
  // Limit 3: a fourth stranger is cut at once, the established peers and the older stranger stay.
  CHECK(rules.review({{1, 9500}, {2, 9500}, {3, 10}, {4, 0}}, t0 + 2s) == std::vector<uint64_t>{4});
  CHECK(rules.review({{1, 9900}, {2, 9900}, {3, 10}, {5, 0}}, t0 + 2500ms)
        == std::vector<uint64_t>{5});
  // The older stranger still goes at its own handshake deadline.
  CHECK(rules.review({{1, 9990}, {2, 9990}, {3, 10}}, t0 + 4s) == std::vector<uint64_t>{3});
}

TEST_CASE("a peer reconnecting through a flood of silent strangers is not the one cut") {
  connection_rules rules{settings()}; // limit 3
  CHECK(rules.review({{1, 0}, {2, 0}, {3, 0}}, t0).empty());
  // The peer's handshake is under way (a ClientHello is some 300 bytes) when the guard looks;
  // it is the newest, but the strangers have sent nothing: two of them go.
  auto cut = rules.review({{1, 0}, {2, 0}, {3, 0}, {4, 300}, {5, 0}}, t0 + 100ms);
  std::sort(cut.begin(), cut.end());
  CHECK(cut == std::vector<uint64_t>{3, 5});
}

TEST_CASE("connections that closed are forgotten") {
  connection_rules rules{settings()};
  rules.review({{1, 0}}, t0);
  CHECK(rules.review({}, t0 + 1s).empty());
  // The same inode again later is a new connection with a fresh deadline.
  CHECK(rules.review({{1, 0}}, t0 + 2s).empty());
  CHECK(rules.review({{1, 0}}, t0 + 4s).empty());
  CHECK(rules.review({{1, 0}}, t0 + 5s) == std::vector<uint64_t>{1});
}
