// The event bus's contract, run against every backend: the memory backend, and the Redis
// backend against the real redis-server that scripts/test.sh starts.

#include <chrono>
#include <mutex>
#include <thread>

#include <caf/scoped_actor.hpp>

#include <catch2/catch.hpp>

#include "messages/errors.hpp"
#include "messages/event_bus.hpp"
#include "support/bus_fixture.hpp"

using namespace brokedancer;
using namespace brokedancer::testing;
using namespace std::chrono_literals;

TEMPLATE_TEST_CASE("a subscriber receives a published event with every field", "[bus]",
                   memory_bus_backend, redis_bus_backend) {
  bus_fixture f{with<TestType>()};
  auto [sub, box] = f.make_collector();
  f.subscribe("trading.orders", sub);
  auto before = std::chrono::system_clock::now();
  auto sequence = f.publish("trading.orders", R"({"id": 7})", "c0ffee00c0ffee00");
  REQUIRE(sequence);
  REQUIRE(box->await(1) == 1);
  const auto& ev = box->events[0];
  CHECK(ev.topic == "trading.orders");
  CHECK(ev.json == R"({"id": 7})");
  CHECK(ev.correlation == "c0ffee00c0ffee00");
  CHECK(ev.source_node == "node-t");
  CHECK(ev.sequence == *sequence);
  auto published =
      std::chrono::system_clock::time_point{std::chrono::microseconds{ev.published_at_us}};
  CHECK(published >= before - 1s);
  CHECK(published <= std::chrono::system_clock::now() + 1s);
}

TEMPLATE_TEST_CASE("glob subscriptions receive exactly the topics they match", "[bus]",
                   memory_bus_backend, redis_bus_backend) {
  bus_fixture f{with<TestType>()};
  auto [trades, trade_box] = f.make_collector();
  auto [bot, bot_box] = f.make_collector();
  auto [prices, price_box] = f.make_collector();
  auto [everything, all_box] = f.make_collector();
  f.subscribe("trade.*", trades);
  f.subscribe("bot.123.*", bot);
  f.subscribe("prices:*", prices);
  f.subscribe("*", everything);
  for (auto topic : {"trade.BTC", "trades", "bot.123.fill", "bot.1234.fill", "prices:ETH",
                     "prices.ETH", "trade.ETH"})
    REQUIRE(f.publish(topic, "1"));
  REQUIRE(all_box->await(7) == 7);
  std::this_thread::sleep_for(50ms);
  auto topics = [](inbox& box) {
    std::vector<std::string> result;
    for (const auto& ev : box.events)
      result.push_back(ev.topic);
    return result;
  };
  CHECK(topics(*trade_box) == std::vector<std::string>{"trade.BTC", "trade.ETH"});
  CHECK(topics(*bot_box) == std::vector<std::string>{"bot.123.fill"});
  CHECK(topics(*price_box) == std::vector<std::string>{"prices:ETH"});
}

TEMPLATE_TEST_CASE("events from one publisher on one topic arrive in order, each once", "[bus]",
                   memory_bus_backend, redis_bus_backend) {
  bus_fixture f{with<TestType>()};
  auto [a, a_box] = f.make_collector();
  auto [b, b_box] = f.make_collector();
  f.subscribe("market.BTC", a);
  f.subscribe("market.*", b);
  constexpr int count = 2000;
  caf::scoped_actor publisher{*f.sys};
  for (int i = 0; i < count; ++i)
    publisher->send(f.bus, publish_atom::value, std::string{"market.BTC"}, std::to_string(i),
                    correlation_id{});
  REQUIRE(a_box->await(count) == count);
  REQUIRE(b_box->await(count) == count);
  std::this_thread::sleep_for(50ms);
  CHECK(a_box->size() == count);
  for (int i = 0; i < count; ++i) {
    REQUIRE(a_box->events[static_cast<size_t>(i)].json == std::to_string(i));
    REQUIRE(b_box->events[static_cast<size_t>(i)].json == std::to_string(i));
  }
}

TEMPLATE_TEST_CASE("publish_batch publishes in order, and a bad event refuses the whole batch",
                   "[bus]", memory_bus_backend, redis_bus_backend) {
  bus_fixture f{with<TestType>()};
  auto [sub, box] = f.make_collector();
  f.subscribe("batch.*", sub);
  std::vector<event_draft> drafts{{"batch.a", "1", ""}, {"batch.b", "2", ""}, {"batch.a", "3", ""}};
  auto first = f.call<uint64_t>(publish_batch_atom::value, drafts);
  REQUIRE(first);
  REQUIRE(box->await(3) == 3);
  CHECK(box->events[0].sequence == *first);
  CHECK(box->events[2].sequence == *first + 2);
  CHECK(box->events[2].json == "3");
  std::vector<event_draft> bad{{"batch.a", "4", ""}, {"batch.b", "{oops", ""}};
  CHECK(is(f.call<uint64_t>(publish_batch_atom::value, bad).error(), errc::invalid_json));
  std::this_thread::sleep_for(50ms);
  CHECK(box->size() == 3);
}

TEMPLATE_TEST_CASE("bad events are refused with typed errors", "[bus]", memory_bus_backend,
                   redis_bus_backend) {
  bus_fixture f{with<TestType>({{"BROKEDANCER_BUS_MAX_PAYLOAD_BYTES", "16"}})};
  CHECK(is(f.publish("", "1").error(), errc::invalid_argument));
  CHECK(is(f.publish("t", "{not json").error(), errc::invalid_json));
  CHECK(is(f.publish("t", "\"" + std::string(20, 'x') + "\"").error(), errc::value_too_large));
  CHECK(is(f.publish(std::string(300, 't'), "1").error(), errc::invalid_argument));
  auto [sub, box] = f.make_collector();
  CHECK(is(f.call<uint64_t>(subscribe_atom::value, std::string{}, sub).error(),
           errc::invalid_argument));
}

TEMPLATE_TEST_CASE("an event nested deeper than the JSON bound is refused, saying so", "[bus]",
                   memory_bus_backend, redis_bus_backend) {
  bus_fixture f{with<TestType>()};
  auto [sub, box] = f.make_collector();
  f.subscribe("deep", sub);
  // 200 KB of brackets: parsed, it is harmless; copied or dumped by a strategy, it would take
  // the node's stack with it.
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  auto refused = f.publish("deep", deep);
  REQUIRE_FALSE(refused);
  CHECK(is(refused.error(), errc::invalid_json));
  CHECK_THAT(f.sys->render(refused.error()), Catch::Matchers::Contains("deeper than 64 levels"));
  // Exactly at the bound: 64 arrays, the innermost holding a value.
  auto ok = std::string(64, '[') + "1" + std::string(64, ']');
  CHECK(f.publish("deep", ok));
  REQUIRE(box->await(1) == 1);
  CHECK(box->events[0].json == ok);
}

TEMPLATE_TEST_CASE("unsubscribe stops delivery to that subscription only", "[bus]",
                   memory_bus_backend, redis_bus_backend) {
  bus_fixture f{with<TestType>()};
  auto [sub, box] = f.make_collector();
  auto exact = f.subscribe("alerts", sub);
  f.subscribe("alert*", sub);
  REQUIRE(f.publish("alerts", "1"));
  REQUIRE(box->await(2) == 2); // one per matching subscription
  CHECK(f.call<bool>(unsubscribe_atom::value, exact) == true);
  CHECK(f.call<bool>(unsubscribe_atom::value, exact) == false);
  REQUIRE(f.publish("alerts", "2"));
  REQUIRE(box->await(3) == 3);
  std::this_thread::sleep_for(50ms);
  CHECK(box->size() == 3);
}

TEMPLATE_TEST_CASE("a subscriber that dies or throws is removed and the others still get every "
                   "event",
                   "[bus]", memory_bus_backend, redis_bus_backend) {
  bus_fixture f{with<TestType>()};
  auto [healthy, box] = f.make_collector();
  auto [doomed, doomed_box] = f.make_collector();
  auto faulty = f.sys->spawn(thrower);
  f.subscribe("trading.*", healthy);
  f.subscribe("trading.*", doomed);
  f.subscribe("trading.*", faulty);
  CHECK(f.stats().subscriptions.size() == 3);
  caf::anon_send_exit(doomed, caf::exit_reason::kill);
  for (int i = 0; i < 100; ++i)
    REQUIRE(f.publish("trading.signals", std::to_string(i)));
  REQUIRE(box->await(100) == 100);
  // Both the killed and the throwing subscriber are gone from the bus.
  for (int i = 0; i < 100 && f.stats().subscriptions.size() != 1; ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(f.stats().subscriptions.size() == 1);
}

TEMPLATE_TEST_CASE("a slow subscriber's backlog is bounded, drops are counted, and it never "
                   "delays the others",
                   "[bus]", memory_bus_backend, redis_bus_backend) {
  bus_fixture f{with<TestType>({{"BROKEDANCER_BUS_MAX_BACKLOG", "100"}})};
  auto [fast, fast_box] = f.make_collector();
  auto slow_box = std::make_shared<inbox>();
  auto slow =
      f.sys->spawn<caf::detached>(slow_collector, slow_box, std::chrono::microseconds(2000));
  auto fast_id = f.subscribe("ticks", fast);
  auto slow_id = f.subscribe("ticks", slow);
  // Each publish is awaited, as a publisher that wants its sequence number does. (During one
  // burst longer than max_backlog, acknowledgements wait behind the burst in the bus's mailbox
  // and even a fast subscriber can look behind: see bus.max_backlog in the README.)
  constexpr int count = 1500;
  for (int i = 0; i < count; ++i)
    REQUIRE(f.publish("ticks", std::to_string(i)));
  REQUIRE(fast_box->await(count, 30s) == count);
  auto stats = f.stats();
  subscription_stats fast_stats, slow_stats;
  for (const auto& s : stats.subscriptions)
    (s.id == fast_id ? fast_stats : slow_stats) = s;
  CHECK(slow_stats.id == slow_id);
  CHECK(fast_stats.delivered == count);
  CHECK(fast_stats.dropped == 0);
  CHECK(slow_stats.delivered + slow_stats.dropped == count);
  CHECK(slow_stats.dropped > 0);
  CHECK(slow_stats.backlog <= 100);
  CHECK(stats.dropped == slow_stats.dropped);
  // What the slow subscriber did get, it got in order.
  slow_box->await(slow_stats.delivered, 30s);
  std::lock_guard<std::mutex> guard{slow_box->mutex};
  for (size_t i = 1; i < slow_box->events.size(); ++i)
    REQUIRE(slow_box->events[i - 1].sequence < slow_box->events[i].sequence);
}

TEMPLATE_TEST_CASE("a slow subscriber's backlog is bounded in bytes as well as in events", "[bus]",
                   memory_bus_backend, redis_bus_backend) {
  // 10,000 events may wait, but only 64 KiB of them: large events hit the byte bound first.
  bus_fixture f{with<TestType>(
      {{"BROKEDANCER_BUS_MAX_BACKLOG", "10000"}, {"BROKEDANCER_BUS_MAX_BACKLOG_BYTES", "65536"}})};
  auto [fast, fast_box] = f.make_collector();
  auto slow_box = std::make_shared<inbox>();
  // 50 ms an event: slower than any publisher here, Redis round trips included.
  auto slow =
      f.sys->spawn<caf::detached>(slow_collector, slow_box, std::chrono::microseconds(50000));
  auto fast_id = f.subscribe("blobs", fast);
  f.subscribe("blobs", slow);
  constexpr int count = 300;
  auto payload = "\"" + std::string(8000, 'x') + "\"";
  // Each event once the fast subscriber has the one before: it never has more than one waiting,
  // however the scheduler orders the two (its own bound is as tight as the slow one's).
  for (int i = 0; i < count; ++i) {
    REQUIRE(f.publish("blobs", payload));
    REQUIRE(fast_box->await(static_cast<size_t>(i) + 1, 30s) == static_cast<size_t>(i) + 1);
  }
  auto stats = f.stats();
  subscription_stats fast_stats, slow_stats;
  for (const auto& s : stats.subscriptions)
    (s.id == fast_id ? fast_stats : slow_stats) = s;
  CHECK(fast_stats.dropped == 0);
  CHECK(slow_stats.dropped > 0);
  // Never more than 64 KiB outstanding: at most 8 events of 8 KiB.
  CHECK(slow_stats.backlog <= 8);
  CHECK(slow_stats.delivered + slow_stats.dropped == count);
}

TEMPLATE_TEST_CASE("subscriptions survive a crash and restart of the bus", "[bus]",
                   memory_bus_backend, redis_bus_backend) {
  bus_fixture f{with<TestType>()};
  auto [sub, box] = f.make_collector();
  f.subscribe("trading.alerts", sub);
  REQUIRE(f.publish("trading.alerts", "1"));
  REQUIRE(box->await(1) == 1);
  {
    caf::scoped_actor self{*f.sys};
    caf::error err;
    self->request(f.tree.supervisor, 5s, restart_atom::value, std::string{"event_bus"})
        .receive([] {}, [&](caf::error& e) { err = e; });
    REQUIRE_FALSE(err);
  }
  // Until the restart is through, a publish may meet the old incarnation and fail.
  caf::expected<uint64_t> sent{caf::error{}};
  for (int i = 0; i < 200 && !sent; ++i) {
    sent = f.publish("trading.alerts", "2");
    if (!sent)
      std::this_thread::sleep_for(10ms);
  }
  REQUIRE(sent);
  REQUIRE(box->await(2) == 2);
  CHECK(box->events[1].json == "2");
  CHECK(box->events[1].sequence > box->events[0].sequence);
}

TEMPLATE_TEST_CASE("thousands of pattern subscriptions on other prefixes do not disturb delivery",
                   "[bus]", memory_bus_backend, redis_bus_backend) {
  bus_fixture f{with<TestType>()};
  auto [sub, box] = f.make_collector();
  auto [others, others_box] = f.make_collector();
  for (int i = 0; i < 3000; ++i)
    f.subscribe("bot." + std::to_string(i) + ".*", others);
  f.subscribe("bot.42.*", sub);
  REQUIRE(f.publish("bot.42.fill", "1"));
  REQUIRE(box->await(1) == 1);
  REQUIRE(others_box->await(1) == 1); // bot.42.* among the 3000 matches too
  std::this_thread::sleep_for(50ms);
  CHECK(others_box->size() == 1);
}
