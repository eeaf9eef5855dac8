#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include "core/event_fanout.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;

TEST_CASE("a client receives, in order, the frames of the topics its patterns match", "[fanout]") {
  auto fanout = std::make_shared<event_fanout>();
  auto orders = event_fanout::attach(fanout, {"trading.*"});
  auto levels = event_fanout::attach(fanout, {"emergency.level_changed", "breaker.*"});
  REQUIRE(orders);
  REQUIRE(levels);
  fanout->publish("trading.orders", "a");
  fanout->publish("emergency.level_changed", "b");
  fanout->publish("trading.positions", "c");
  fanout->publish("market.BTC-USD", "d");
  CHECK(fanout->wants("trading.orders"));
  CHECK(fanout->wants("breaker.state_changed"));
  CHECK_FALSE(fanout->wants("market.BTC-USD"));
  CHECK(orders->take(0ms) == std::vector<std::string>{"a", "c"});
  CHECK(levels->take(0ms) == std::vector<std::string>{"b"});
  CHECK(orders->take(10ms).empty());
  auto c = fanout->counters();
  CHECK(c.published == 4);
  CHECK(c.delivered == 3);
  CHECK(c.clients == 2);
}

TEST_CASE("a client that falls behind is cut off, and the others and the producer go on",
          "[fanout]") {
  fanout_limits limits;
  limits.max_frames = 10;
  limits.max_bytes = 1 << 20;
  auto fanout = std::make_shared<event_fanout>(limits);
  auto slow = event_fanout::attach(fanout, {"*"});
  auto fast = event_fanout::attach(fanout, {"*"});
  for (int i = 0; i < 25; ++i) {
    fanout->publish("t", std::to_string(i));
    if (i % 5 == 4)
      CHECK(fast->take(0ms).size() == 5);
  }
  CHECK(slow->dropped());
  CHECK(slow->take(0ms).empty());
  CHECK_FALSE(fast->dropped());
  CHECK(fanout->counters().clients_dropped == 1);
}

TEST_CASE("the byte bound cuts off a client too", "[fanout]") {
  fanout_limits limits;
  limits.max_bytes = 100;
  auto fanout = std::make_shared<event_fanout>(limits);
  auto client = event_fanout::attach(fanout, {"*"});
  fanout->publish("t", std::string(60, 'x'));
  CHECK_FALSE(client->dropped());
  fanout->publish("t", std::string(60, 'x'));
  CHECK(client->dropped());
}

TEST_CASE("clients beyond the bound are refused, and a client detaches when it goes", "[fanout]") {
  fanout_limits limits;
  limits.max_clients = 2;
  auto fanout = std::make_shared<event_fanout>(limits);
  auto a = event_fanout::attach(fanout, {"*"});
  auto b = event_fanout::attach(fanout, {"*"});
  CHECK(event_fanout::attach(fanout, {"*"}) == nullptr);
  CHECK(fanout->counters().clients_refused == 1);
  a.reset();
  CHECK(fanout->counters().clients == 1);
  CHECK(event_fanout::attach(fanout, {"*"}) != nullptr);
  b.reset();
  CHECK_FALSE(fanout->has_clients());
}

TEST_CASE("a waiting client wakes when a frame arrives", "[fanout]") {
  auto fanout = std::make_shared<event_fanout>();
  auto client = event_fanout::attach(fanout, {"*"});
  std::thread producer([&] {
    std::this_thread::sleep_for(50ms);
    fanout->publish("t", "late");
  });
  auto start = std::chrono::steady_clock::now();
  auto frames = client->take(5s);
  producer.join();
  CHECK(frames == std::vector<std::string>{"late"});
  CHECK(std::chrono::steady_clock::now() - start < 4s);
}
