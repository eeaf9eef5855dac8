// What only the Redis event bus does: carry events between processes, survive a Redis
// restart, refuse work while Redis is away, and keep out what is not a valid event.

#include <chrono>
#include <string>
#include <thread>

#include <hiredis/hiredis.h>

#include <catch2/catch.hpp>

#include "messages/errors.hpp"
#include "support/bus_fixture.hpp"
#include "support/child_process.hpp"
#include "support/redis_server.hpp"

using namespace brokedancer;
using namespace brokedancer::testing;
using namespace std::chrono_literals;

namespace {

environment redis_bus_on(const std::string& url, const std::string& prefix) {
  return {{"BROKEDANCER_BUS_BACKEND", "redis"},
          {"BROKEDANCER_REDIS_URL", url},
          {"BROKEDANCER_BUS_CHANNEL_PREFIX", prefix},
          // Quick reconnection, so that the outage test does not wait long after the restart.
          {"BROKEDANCER_REDIS_RECONNECT_INITIAL_MS", "20"},
          {"BROKEDANCER_REDIS_RECONNECT_MAX_MS", "200"}};
}

std::string fresh_prefix() {
  return "test:" + new_correlation_id() + ":";
}

// PUBLISH from a plain Redis client, as anything with access to Redis could.
void raw_publish(const std::string& url, const std::string& channel, const std::string& text) {
  auto port = std::stoi(url.substr(url.rfind(':') + 1));
  auto* context = redisConnect("127.0.0.1", port);
  REQUIRE(context != nullptr);
  REQUIRE(context->err == 0);
  auto* reply = static_cast<redisReply*>(redisCommand(context, "PUBLISH %b %b", channel.data(),
                                                      channel.size(), text.data(), text.size()));
  REQUIRE(reply != nullptr);
  freeReplyObject(reply);
  redisFree(context);
}

} // namespace

TEST_CASE("two processes sharing one Redis see each other's events, in order", "[bus][redis]") {
  auto settings = redis_bus_on(shared_redis_url(), fresh_prefix());
  bus_fixture f{settings};
  auto [sub, box] = f.make_collector();
  f.subscribe("pong.*", sub);

  auto peer_settings = settings;
  peer_settings["BROKEDANCER_RUNTIME_NODE_NAME"] = "node-peer";
  peer_settings["BROKEDANCER_LOG_LEVEL"] = "warn";
  std::map<std::string, std::string> peer_env(peer_settings.begin(), peer_settings.end());
  child_process peer{BROKEDANCER_NODE_PEER_PATH, {}, peer_env};
  REQUIRE(peer.read_line(30s) == std::optional<std::string>{"ready"});

  constexpr int count = 200;
  for (int i = 0; i < count; ++i)
    REQUIRE(f.publish("ping.orders", R"({"n": )" + std::to_string(i) + "}",
                      "corr" + std::to_string(i)));
  REQUIRE(box->await(count, 20s) == count);
  for (int i = 0; i < count; ++i) {
    const auto& ev = box->events[static_cast<size_t>(i)];
    REQUIRE(ev.topic == "pong.orders");
    REQUIRE(ev.json == R"({"n": )" + std::to_string(i) + "}");
    REQUIRE(ev.correlation == "corr" + std::to_string(i));
    REQUIRE(ev.source_node == "node-peer");
  }
  peer.close_input();
  CHECK(peer.wait(20s) == std::optional<int>{0});
}

TEST_CASE("while Redis is down the bus refuses at once, and when it is back it resubscribes and "
          "delivers again",
          "[bus][redis]") {
  redis_server redis{redis_server::persistence::none};
  bus_fixture f{redis_bus_on(redis.url(), fresh_prefix())};
  auto [sub, box] = f.make_collector();
  f.subscribe("trading.alerts", sub);
  f.subscribe("market.*", sub);
  REQUIRE(f.publish("trading.alerts", "1"));
  REQUIRE(box->await(1) == 1);

  redis.kill();
  // Every publish and subscribe is answered with bus_unavailable, quickly: nothing is held.
  bool refused = false;
  for (int i = 0; i < 500 && !refused; ++i) {
    auto result = f.publish("trading.alerts", "2");
    refused = !result && is(result.error(), errc::bus_unavailable);
    if (!refused)
      std::this_thread::sleep_for(10ms);
  }
  REQUIRE(refused);
  auto started = std::chrono::steady_clock::now();
  CHECK(is(f.publish("market.BTC", "3").error(), errc::bus_unavailable));
  auto [late, late_box] = f.make_collector();
  CHECK(is(f.call<uint64_t>(subscribe_atom::value, std::string{"late"}, late).error(),
           errc::bus_unavailable));
  CHECK(std::chrono::steady_clock::now() - started < 1s);
  auto down = f.stats();
  CHECK_FALSE(down.connected);
  CHECK(down.refused >= 2);
  CHECK_FALSE(down.last_error.empty());
  CHECK(down.subscriptions.size() == 2); // kept for when Redis is back

  redis.start();
  REQUIRE(f.await_connected(20s));
  // The old subscriptions were made again in Redis before the bus took publishes again.
  REQUIRE(f.publish("trading.alerts", "4"));
  REQUIRE(f.publish("market.ETH", "5"));
  REQUIRE(box->await(3) == 3);
  CHECK(box->events[1].json == "4");
  CHECK(box->events[2].json == "5");
  CHECK(f.stats().reconnects >= 1);
  std::this_thread::sleep_for(50ms);
  CHECK(box->size() == 3); // nothing from the outage turned up late
}

TEST_CASE("messages on the bus's channels that are not valid events are counted and kept out",
          "[bus][redis]") {
  auto url = shared_redis_url();
  auto prefix = fresh_prefix();
  bus_fixture f{redis_bus_on(url, prefix)};
  auto [sub, box] = f.make_collector();
  f.subscribe("trading.orders", sub);
  f.subscribe("trading.*", sub);
  raw_publish(url, prefix + "trading.orders", "not json");
  raw_publish(url, prefix + "trading.orders", R"({"v":1,"topic":"trading.orders"})");
  raw_publish(url, prefix + "trading.orders",
              R"({"v":1,"topic":"trading.other","source_node":"x","sequence":1,)"
              R"("published_at_us":1,"correlation_id":"","payload":"1"})");
  raw_publish(url, prefix + "trading.orders",
              R"({"v":1,"topic":"trading.orders","source_node":"x","sequence":1,)"
              R"("published_at_us":1,"correlation_id":"","payload":"{oops"})");
  REQUIRE(f.publish("trading.orders", R"({"ok":true})"));
  REQUIRE(box->await(2) == 2); // the valid one, through each subscription
  std::this_thread::sleep_for(50ms);
  CHECK(box->size() == 2);
  CHECK(box->events[0].json == R"({"ok":true})");
  auto stats = f.stats();
  CHECK(stats.rejected == 8); // four bad messages, each through two subscriptions
  CHECK(stats.received == 2);
}

TEST_CASE("deployments with different channel prefixes on one Redis never see each other's "
          "events",
          "[bus][redis]") {
  auto url = shared_redis_url();
  bus_fixture a{redis_bus_on(url, fresh_prefix())};
  bus_fixture b{redis_bus_on(url, fresh_prefix())};
  auto [a_sub, a_box] = a.make_collector();
  auto [b_sub, b_box] = b.make_collector();
  a.subscribe("trading.*", a_sub);
  b.subscribe("trading.*", b_sub);
  REQUIRE(a.publish("trading.orders", "1"));
  REQUIRE(b.publish("trading.orders", "2"));
  REQUIRE(a_box->await(1) == 1);
  REQUIRE(b_box->await(1) == 1);
  std::this_thread::sleep_for(100ms);
  CHECK(a_box->size() == 1);
  CHECK(b_box->size() == 1);
  CHECK(a_box->events[0].json == "1");
  CHECK(b_box->events[0].json == "2");
}
