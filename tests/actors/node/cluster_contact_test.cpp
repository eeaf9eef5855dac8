// The dead man's switch's clock on its own: time is passed in, no actor system.

#include <chrono>

#include <catch2/catch.hpp>

#include "actors/node/cluster_contact.hpp"

using namespace brokedancer::cluster;
using namespace std::chrono_literals;

TEST_CASE("a cause of isolation trips the switch only once it has lasted its limit") {
  clock::time_point since{};
  auto start = clock::time_point{} + 1h;
  CHECK_FALSE(tripped(since, false, 1000ms, start));
  CHECK(since == start);
  CHECK_FALSE(tripped(since, false, 1000ms, start + 999ms));
  CHECK(tripped(since, false, 1000ms, start + 1000ms));
  CHECK(since == start); // lasting longer does not restart the count
}

TEST_CASE("contact back resets the count, and a limit of zero never trips") {
  clock::time_point since{};
  auto start = clock::time_point{} + 1h;
  CHECK_FALSE(tripped(since, false, 1000ms, start));
  CHECK_FALSE(tripped(since, true, 1000ms, start + 900ms));
  CHECK(since == clock::time_point{});
  CHECK_FALSE(tripped(since, false, 1000ms, start + 1500ms));
  CHECK_FALSE(tripped(since, false, 1000ms, start + 2400ms));
  CHECK(tripped(since, false, 1000ms, start + 2500ms));
  clock::time_point off{};
  CHECK_FALSE(tripped(off, false, 0ms, start));
  CHECK_FALSE(tripped(off, false, 0ms, start + 24h));
}
