// The trading data services as the runtime wires them: the bar service on the market-data stream,
// the time-series store it writes, and the standard channels on a real Redis.

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "messages/channels.hpp"
#include "messages/time_series.hpp"
#include "runtime/runtime.hpp"
#include "support/redis_server.hpp"
#include "support/requests.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;
using testing::eventually;

namespace {

runtime_config config_with(environment settings) {
  settings.emplace("BROKEDANCER_LOG_LEVEL", "warn");
  settings.emplace("BROKEDANCER_BOTS_COUNT", "0");
  return load_config(embedded_default_config(), settings);
}

// A tick at `second` seconds into the minute that starts at `minute_ms`.
market_tick at(int64_t minute_ms, double second, double price, double volume = 0) {
  return {"AAPL", price, 0, 0, volume, (minute_ms + static_cast<int64_t>(second * 1000)) * 1000};
}

} // namespace

TEST_CASE("bars the bar service builds from a known tick sequence equal the hand-computed OHLCV") {
  // No simulated market: the test is the only publisher on the stream the bar service reads.
  runtime node{config_with({{"BROKEDANCER_MARKET_SYMBOLS", ""},
                            {"BROKEDANCER_MARKET_STREAM", "ticks:known"},
                            {"BROKEDANCER_BARS_TIMEFRAMES", "1m,5m"}})};
  std::thread runner{[&] {
    node.run(30s, false);
  }};
  auto& sys = node.system();
  REQUIRE(eventually([&] {
    auto s = testing::call<bar_service_status>(
        sys, caf::actor_cast<bar_service_actor>(node.child("bar_service")), status_atom::value);
    return s && s->subscribed;
  }));
  const int64_t m0 = int64_t{28333340} * 60000; // on the 5-minute grid too
  const int64_t m1 = m0 + 60000;
  // Minute 0: open 100, high 103 (a trade of 2), low 99, close 101. Minute 1: 101.5 .. 98, close
  // 98.5, a trade of 0.5. Then a tick in minute 2 closes minute 1.
  std::vector<market_tick> ticks{at(m0, 1, 100),    at(m0, 10, 103, 2),   at(m0, 20, 99),
                                 at(m0, 59.9, 101), at(m1, 0, 101.5),     at(m1, 30, 98, 0.5),
                                 at(m1, 45, 98.5),  at(m1 + 60000, 1, 99)};
  auto ids = testing::call<std::vector<std::string>>(
      sys, node.market_stream(), stream_publish_atom::value, std::string{"ticks:known"}, ticks);
  REQUIRE(ids);
  std::vector<ohlcv_bar> bars;
  REQUIRE(eventually([&] {
    auto found =
        testing::call<std::vector<ohlcv_bar>>(sys, node.time_series(), bars_last_atom::value,
                                              std::string{"AAPL"}, timeframe::m1, uint32_t{10});
    if (!found || found->size() < 2)
      return false;
    bars = *found;
    return true;
  }));
  REQUIRE(bars.size() >= 2);
  CHECK(bars[0].open_time_ms == m0);
  CHECK(bars[0].open == 100);
  CHECK(bars[0].high == 103);
  CHECK(bars[0].low == 99);
  CHECK(bars[0].close == 101);
  CHECK(bars[0].volume == 2);
  CHECK(bars[0].ticks == 4);
  CHECK(bars[1].open_time_ms == m1);
  CHECK(bars[1].open == 101.5);
  CHECK(bars[1].high == 101.5);
  CHECK(bars[1].low == 98);
  CHECK(bars[1].close == 98.5);
  CHECK(bars[1].volume == 0.5);
  CHECK(bars[1].ticks == 3);
  // The 5-minute bar holds all of them so far (it is still forming: written once a second).
  std::vector<ohlcv_bar> five;
  REQUIRE(eventually([&] {
    auto found =
        testing::call<std::vector<ohlcv_bar>>(sys, node.time_series(), bars_last_atom::value,
                                              std::string{"AAPL"}, timeframe::m5, uint32_t{10});
    if (!found || found->empty() || found->back().ticks < 8)
      return false;
    five = *found;
    return true;
  }));
  CHECK(five.back().open_time_ms == m0);
  CHECK(five.back().high == 103);
  CHECK(five.back().low == 98);
  CHECK(five.back().close == 99);
  CHECK(five.back().volume == 2.5);
  node.stop();
  runner.join();
}

TEST_CASE("a TRADE_SIGNAL another client publishes on trading:signals reaches the bus checked, and "
          "one that is not a signal does not") {
  testing::redis_server redis{testing::redis_server::persistence::none};
  runtime node{config_with({{"BROKEDANCER_STATE_BACKEND", "redis"},
                            {"BROKEDANCER_REDIS_URL", redis.url()},
                            {"BROKEDANCER_RUNTIME_NODE_NAME", "node-s"}})};
  std::thread runner{[&] {
    node.run(30s, false);
  }};
  auto& sys = node.system();
  auto got = std::make_shared<std::vector<std::string>>();
  auto mutex = std::make_shared<std::mutex>();
  auto listener = sys.spawn([got, mutex](caf::event_based_actor*) -> caf::behavior {
    return {[got, mutex](const event& ev) {
      std::lock_guard<std::mutex> guard{*mutex};
      got->push_back(ev.json);
    }};
  });
  REQUIRE(testing::call<uint64_t>(sys, node.event_bus(), subscribe_atom::value,
                                  std::string{"trading.signals"}, listener));
  auto bridge = caf::actor_cast<channel_bridge_actor>(node.child("channels"));
  REQUIRE(eventually([&] {
    auto s = testing::call<channel_status>(sys, bridge, status_atom::value);
    return s && s->available;
  }));
  auto publish = [&](const std::string& text) {
    testing::redis_command(redis.url(), {"PUBLISH", "trading:signals", text});
  };
  publish(R"({"type":"TRADE_SIGNAL","data":{"symbol":"AAPL","signal":"BUY","confidence":1.5}})");
  publish(R"({"type":"ORDER_UPDATE","data":{}})");
  publish("not json");
  publish(R"({"type":"TRADE_SIGNAL","channel":"trading:signals","source":"python",)"
          R"("data":{"symbol":"AAPL","signal":"SELL","confidence":0.85,"note":"x"}})");
  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> guard{*mutex};
    return !got->empty();
  }));
  std::this_thread::sleep_for(200ms);
  {
    std::lock_guard<std::mutex> guard{*mutex};
    REQUIRE(got->size() == 1);
    auto data = nlohmann::json::parse(got->front());
    CHECK(data["signal"] == "SELL");
    CHECK(data["source"] == "python");
    CHECK(data["note"] == "x");
  }
  auto s = testing::call<channel_status>(sys, bridge, status_atom::value);
  REQUIRE(s);
  CHECK(s->signals_in == 1);
  CHECK(s->rejected == 3);
  node.stop();
  runner.join();
}
