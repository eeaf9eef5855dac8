// The order throttles as plain code, with explicit times: the cap per bot and per node, the
// sliding window, and what a refused order leaves of the node's room.

#include <string>

#include <catch2/catch.hpp>

#include "actors/risk/order_throttle.hpp"

using namespace brokedancer;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

constexpr int64_t ms = 1000;
constexpr int64_t second = 1000 * ms;

} // namespace

TEST_CASE("the 11th order of 10 per second is throttled, and the next second takes orders again",
          "[throttle]") {
  order_throttle throttle{{10, 0, 0, second}};
  for (int i = 0; i < 10; ++i)
    CHECK_FALSE(throttle.admit_order("bot-1", 5 * second + i * ms));
  auto eleventh = throttle.admit_order("bot-1", 5 * second + 900 * ms);
  REQUIRE(eleventh);
  CHECK(eleventh->code == reject_code::throttled);
  CHECK_THAT(eleventh->reason, StartsWith("throttled: the bot's order throttle (10 per 1000 ms)"));
  // The first order leaves the window 1 s after it was taken: one more fits, not two.
  CHECK_FALSE(throttle.admit_order("bot-1", 6 * second));
  CHECK(throttle.admit_order("bot-1", 6 * second));
  CHECK_FALSE(throttle.admit_order("bot-1", 6 * second + 10 * ms));
}

TEST_CASE("a bot's throttle leaves the other bots alone, and the node's caps them all together",
          "[throttle]") {
  order_throttle throttle{{2, 3, 0, second}};
  CHECK_FALSE(throttle.admit_order("a", 0));
  CHECK_FALSE(throttle.admit_order("a", 1));
  CHECK_THAT(throttle.admit_order("a", 2)->reason, Contains("the bot's order throttle"));
  CHECK_FALSE(throttle.admit_order("b", 3)); // the node's third
  auto fourth = throttle.admit_order("c", 4);
  REQUIRE(fourth);
  CHECK_THAT(fourth->reason, Contains("the node's order throttle (3 per 1000 ms)"));
  // Refused by the node, c's order did not use its own room up: once the node has room, c has
  // both of its orders.
  CHECK_FALSE(throttle.admit_order("c", second + 1));
  CHECK_FALSE(throttle.admit_order("c", second + 2));
  CHECK(throttle.admit_order("c", second + 3));
}

TEST_CASE("no caps: every order and cancel passes", "[throttle]") {
  order_throttle throttle;
  for (int i = 0; i < 10000; ++i) {
    CHECK_FALSE(throttle.admit_order("bot-" + std::to_string(i % 7), i));
    CHECK_FALSE(throttle.admit_cancel(i));
  }
  CHECK(throttle.bots_tracked() == 0);
}

TEST_CASE("cancels have a node cap of their own", "[throttle]") {
  order_throttle throttle{{0, 0, 2, 100 * ms}};
  CHECK_FALSE(throttle.admit_cancel(0));
  CHECK_FALSE(throttle.admit_cancel(10 * ms));
  auto third = throttle.admit_cancel(20 * ms);
  REQUIRE(third);
  CHECK_THAT(third->reason, StartsWith("throttled: the node's cancel throttle (2 per 100 ms)"));
  CHECK_THAT(third->reason, Contains("the next fits in 81 ms"));
  CHECK_FALSE(throttle.admit_cancel(100 * ms));
  // Orders are not cancels.
  CHECK_FALSE(throttle.admit_order("bot-1", 100 * ms));
}

TEST_CASE("bots that fell idle are forgotten once many are kept", "[throttle]") {
  order_throttle throttle{{1, 0, 0, second}};
  for (int i = 0; i < 5000; ++i)
    CHECK_FALSE(throttle.admit_order("bot-" + std::to_string(i), i * ms));
  // Those that sent more than a second before the last were dropped along the way.
  CHECK(throttle.bots_tracked() <= 4096);
  // A bot still within its window keeps its count.
  CHECK(throttle.admit_order("bot-4999", 4999 * ms + 1));
}
