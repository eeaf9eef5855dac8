// The market-data stream's contract, run against every backend: the memory one and Redis Streams
// (the real redis-server the test command starts). The exact semantics of ids, groups and
// claims without an actor system are stream_table_test's; this suite holds both backends to
// the same answers.

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <catch2/catch.hpp>

#include "messages/errors.hpp"
#include "messages/market_stream.hpp"
#include "runtime/infrastructure.hpp"
#include "support/redis_server.hpp"
#include "support/requests.hpp"
#include "support/store_fixture.hpp"
#include "support/supervised_child.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;
using testing::eventually;
using testing::memory_backend;
using testing::redis_backend;

namespace {

market_tick tick(const std::string& symbol, double price, double volume = 0) {
  return {symbol, price, price - 0.01, price + 0.01, volume, 1700000000000000};
}

std::vector<market_tick> ticks(size_t n, double first_price = 100) {
  std::vector<market_tick> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back(tick(i % 2 == 0 ? "BTC-USD" : "ETH-USD", first_price + static_cast<double>(i)));
  return out;
}

// What a live subscriber was sent, in order, readable from the test thread.
struct received {
  std::mutex mutex;
  std::vector<stream_entry> entries;
  std::vector<std::string> streams;

  size_t size() {
    std::lock_guard<std::mutex> guard{mutex};
    return entries.size();
  }

  std::vector<stream_entry> copy() {
    std::lock_guard<std::mutex> guard{mutex};
    return entries;
  }
};

struct stream_fixture : testing::supervised_child {
  market_stream_actor stream;

  explicit stream_fixture(environment settings)
    : supervised_child(std::move(settings), market_stream_child),
      stream(caf::actor_cast<market_stream_actor>(handle)) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto s = status();
      if (s.available)
        return;
      std::this_thread::sleep_for(10ms);
    }
    FAIL("the market-data stream did not become available");
  }

  template <class T, class... Ts>
  caf::expected<T> call(Ts&&... xs) {
    return testing::call<T>(*sys, stream, std::forward<Ts>(xs)...);
  }

  stream_status status() {
    auto s = call<stream_status>(status_atom::value);
    REQUIRE(s);
    return *s;
  }

  std::vector<std::string> publish(const std::string& name, const std::vector<market_tick>& ts) {
    auto ids = call<std::vector<std::string>>(stream_publish_atom::value, name, ts);
    REQUIRE(ids);
    return *ids;
  }

  std::vector<stream_entry> replay(const std::string& name, const std::string& from = "-",
                                   const std::string& to = "+", uint32_t count = 10000) {
    auto entries = call<std::vector<stream_entry>>(replay_atom::value, name, from, to, count);
    REQUIRE(entries);
    return *entries;
  }

  caf::actor subscriber(std::shared_ptr<received> into) {
    return sys->spawn([into](caf::event_based_actor*) -> caf::behavior {
      return {[into](stream_ticks_atom, const std::string& name,
                     const std::vector<stream_entry>& entries) {
        std::lock_guard<std::mutex> guard{into->mutex};
        into->streams.push_back(name);
        into->entries.insert(into->entries.end(), entries.begin(), entries.end());
      }};
    });
  }

  bool subscribe(const std::string& name, const caf::actor& who) {
    auto added = call<bool>(stream_sub_atom::value, name, who);
    REQUIRE(added);
    return *added;
  }

  bool create_group(const std::string& name, const std::string& group,
                    const std::string& start = "0") {
    auto created = call<bool>(group_create_atom::value, name, group, start);
    REQUIRE(created);
    return *created;
  }

  std::vector<stream_entry> read(const std::string& name, const std::string& group,
                                 const std::string& consumer, uint32_t count) {
    auto entries =
        call<std::vector<stream_entry>>(group_read_atom::value, name, group, consumer, count);
    REQUIRE(entries);
    return *entries;
  }

  uint32_t ack(const std::string& name, const std::string& group,
               const std::vector<std::string>& ids) {
    auto n = call<uint32_t>(group_ack_atom::value, name, group, ids);
    REQUIRE(n);
    return *n;
  }

  std::vector<pending_entry> pending(const std::string& name, const std::string& group) {
    auto entries =
        call<std::vector<pending_entry>>(group_pending_atom::value, name, group, uint32_t{1000});
    REQUIRE(entries);
    return *entries;
  }

  claim_result claim(const std::string& name, const std::string& group, const std::string& consumer,
                     int64_t min_idle_ms, uint32_t count = 100) {
    auto result =
        call<claim_result>(group_claim_atom::value, name, group, consumer, min_idle_ms, count);
    REQUIRE(result);
    return *result;
  }
};

std::vector<std::string> ids_of(const std::vector<stream_entry>& entries) {
  std::vector<std::string> ids;
  for (const auto& e : entries)
    ids.push_back(e.id);
  return ids;
}

} // namespace

TEMPLATE_TEST_CASE("published ticks come back from a replay in order, every field as it was sent",
                   "[stream]", memory_backend, redis_backend) {
  stream_fixture f{testing::with<TestType>()};
  auto sent = ticks(5);
  sent[3].price = 0.1 + 0.2; // a double with no short decimal form
  sent[4].bid = 0;           // a trade without a quote
  sent[4].ask = 0;
  sent[4].volume = 2.5;
  auto one = f.call<std::string>(stream_publish_atom::value, std::string{"market:data"}, sent[0]);
  REQUIRE(one);
  auto rest = f.publish("market:data", {sent.begin() + 1, sent.end()});
  REQUIRE(rest.size() == 4);
  auto back = f.replay("market:data");
  REQUIRE(back.size() == 5);
  CHECK(back[0].id == *one);
  for (size_t i = 0; i < 5; ++i) {
    CHECK(back[i].tick.symbol == sent[i].symbol);
    CHECK(back[i].tick.price == sent[i].price);
    CHECK(back[i].tick.bid == sent[i].bid);
    CHECK(back[i].tick.ask == sent[i].ask);
    CHECK(back[i].tick.volume == sent[i].volume);
    CHECK(back[i].tick.at_us == sent[i].at_us);
    if (i > 0)
      CHECK(back[i].id == rest[i - 1]);
  }
  // Ids grow, and a replay between two of them is inclusive.
  auto middle = f.replay("market:data", rest[0], rest[2]);
  CHECK(ids_of(middle) == std::vector<std::string>{rest[0], rest[1], rest[2]});
  CHECK(f.replay("market:data", "-", "+", 2).size() == 2);
  CHECK(f.status().published == 5);
}

TEMPLATE_TEST_CASE("a replay from a time starts at the first tick appended at or after it",
                   "[stream]", memory_backend, redis_backend) {
  stream_fixture f{testing::with<TestType>()};
  auto before = f.publish("market:data", ticks(3));
  std::this_thread::sleep_for(20ms);
  auto after = f.publish("market:data", ticks(2, 200));
  uint64_t ms = 0;
  uint64_t seq = 0;
  REQUIRE(parse_stream_id(after[0], ms, seq));
  auto from_time = f.replay("market:data", std::to_string(ms));
  CHECK(ids_of(from_time) == after);
  CHECK(ids_of(f.replay("market:data", "-", before.back())) == before);
}

TEMPLATE_TEST_CASE("bad input is refused with a typed error that says what is wrong, and nothing "
                   "of a refused batch is published",
                   "[stream]", memory_backend, redis_backend) {
  stream_fixture f{testing::with<TestType>()};
  auto refused = [&](std::vector<market_tick> batch, const std::string& words) {
    auto ids = f.call<std::vector<std::string>>(stream_publish_atom::value,
                                                std::string{"market:data"}, batch);
    REQUIRE_FALSE(ids);
    CHECK(is(ids.error(), errc::invalid_argument));
    CHECK_THAT(f.sys->render(ids.error()), Catch::Contains(words));
  };
  auto good = ticks(3);
  auto nan_price = good;
  nan_price[1].price = std::numeric_limits<double>::quiet_NaN();
  refused(nan_price, "tick 1 of the batch");
  auto empty_symbol = good;
  empty_symbol[2].symbol.clear();
  refused(empty_symbol, "symbol must not be empty");
  auto crossed = good;
  crossed[0].bid = crossed[0].ask + 1;
  refused(crossed, "bid is above the ask");
  auto negative_volume = good;
  negative_volume[0].volume = -1;
  refused(negative_volume, "volume");
  refused(ticks(max_stream_batch + 1), "split it");
  refused({}, "at least one tick");
  CHECK(f.replay("market:data").empty());

  auto bad_name =
      f.call<std::string>(stream_publish_atom::value, std::string{"two words"}, good[0]);
  REQUIRE_FALSE(bad_name);
  CHECK(is(bad_name.error(), errc::invalid_argument));
  auto bad_range =
      f.call<std::vector<stream_entry>>(replay_atom::value, std::string{"market:data"},
                                        std::string{"yesterday"}, std::string{"+"}, uint32_t{10});
  REQUIRE_FALSE(bad_range);
  CHECK(is(bad_range.error(), errc::invalid_argument));
  auto zero_count =
      f.call<std::vector<stream_entry>>(replay_atom::value, std::string{"market:data"},
                                        std::string{"-"}, std::string{"+"}, uint32_t{0});
  REQUIRE_FALSE(zero_count);
  CHECK(is(zero_count.error(), errc::invalid_argument));
  auto negative_idle =
      f.call<claim_result>(group_claim_atom::value, std::string{"market:data"}, std::string{"g"},
                           std::string{"c"}, int64_t{-1}, uint32_t{10});
  REQUIRE_FALSE(negative_idle);
  CHECK(is(negative_idle.error(), errc::invalid_argument));
}

TEMPLATE_TEST_CASE("a live subscriber is sent every tick appended after it subscribed, in order, "
                   "and none from before",
                   "[stream]", memory_backend, redis_backend) {
  stream_fixture f{testing::with<TestType>()};
  f.publish("market:data", ticks(3));
  auto first = std::make_shared<received>();
  auto second = std::make_shared<received>();
  CHECK(f.subscribe("market:data", f.subscriber(first)));
  auto second_actor = f.subscriber(second);
  CHECK(f.subscribe("market:data", second_actor));
  CHECK_FALSE(f.subscribe("market:data", second_actor)); // once per stream and subscriber
  std::vector<std::string> sent;
  for (int round = 0; round < 20; ++round) {
    auto ids = f.publish("market:data", ticks(50, 1000 + round));
    sent.insert(sent.end(), ids.begin(), ids.end());
  }
  REQUIRE(
      eventually([&] { return first->size() >= sent.size() && second->size() >= sent.size(); }));
  CHECK(ids_of(first->copy()) == sent);
  CHECK(ids_of(second->copy()) == sent);
  CHECK(f.status().subscribers == 2);
  CHECK(f.status().delivered == 2 * sent.size());
}

TEMPLATE_TEST_CASE("a live subscriber that dies or unsubscribes is no longer counted or sent to",
                   "[stream]", memory_backend, redis_backend) {
  stream_fixture f{testing::with<TestType>()};
  auto seen = std::make_shared<received>();
  auto gone = f.subscriber(std::make_shared<received>());
  auto leaving = f.subscriber(seen);
  CHECK(f.subscribe("market:data", gone));
  CHECK(f.subscribe("market:data", leaving));
  caf::anon_send_exit(gone, caf::exit_reason::kill);
  REQUIRE(eventually([&] { return f.status().subscribers == 1; }));
  auto left = f.call<bool>(stream_unsub_atom::value, std::string{"market:data"}, leaving);
  REQUIRE(left);
  CHECK(*left);
  CHECK(f.status().subscribers == 0);
  f.publish("market:data", ticks(5));
  std::this_thread::sleep_for(300ms);
  CHECK(seen->size() == 0);
}

TEMPLATE_TEST_CASE("two consumers of one group never get the same entry, and an acknowledged entry "
                   "is no longer pending",
                   "[stream]", memory_backend, redis_backend) {
  stream_fixture f{testing::with<TestType>()};
  auto ids = f.publish("orders:feed", ticks(10));
  CHECK(f.create_group("orders:feed", "workers", "0"));
  CHECK_FALSE(f.create_group("orders:feed", "workers", "0")); // exists: left as it is
  auto a = f.read("orders:feed", "workers", "a", 4);
  auto b = f.read("orders:feed", "workers", "b", 100);
  CHECK(ids_of(a) == std::vector<std::string>(ids.begin(), ids.begin() + 4));
  CHECK(ids_of(b) == std::vector<std::string>(ids.begin() + 4, ids.end()));
  CHECK(f.read("orders:feed", "workers", "a", 10).empty());
  auto pending = f.pending("orders:feed", "workers");
  REQUIRE(pending.size() == 10);
  CHECK(pending[0].consumer == "a");
  CHECK(pending[0].deliveries == 1);
  CHECK(pending[9].consumer == "b");
  CHECK(f.ack("orders:feed", "workers", ids_of(a)) == 4);
  CHECK(f.ack("orders:feed", "workers", ids_of(a)) == 0); // once
  CHECK(f.pending("orders:feed", "workers").size() == 6);
  // A group created at "$" sees only what comes next.
  CHECK(f.create_group("orders:feed", "late", "$"));
  CHECK(f.read("orders:feed", "late", "a", 100).empty());
  auto next = f.publish("orders:feed", ticks(1));
  CHECK(ids_of(f.read("orders:feed", "late", "a", 100)) == next);
}

TEMPLATE_TEST_CASE("a consumer that dies mid-batch leaves pending entries that another consumer "
                   "claims once they are idle, and each entry is processed once",
                   "[stream]", memory_backend, redis_backend) {
  stream_fixture f{testing::with<TestType>()};
  auto ids = f.publish("market:data", ticks(20));
  f.create_group("market:data", "bars", "0");
  std::multiset<std::string> processed;
  // The first consumer reads a batch of 10, processes and acknowledges 4, then dies.
  auto batch = f.read("market:data", "bars", "first", 10);
  REQUIRE(batch.size() == 10);
  std::vector<std::string> done;
  for (size_t i = 0; i < 4; ++i) {
    processed.insert(batch[i].id);
    done.push_back(batch[i].id);
  }
  CHECK(f.ack("market:data", "bars", done) == 4);
  // Its 6 unacknowledged entries are not claimable before they have been idle long enough.
  CHECK(f.claim("market:data", "bars", "second", 60000).entries.empty());
  std::this_thread::sleep_for(120ms);
  auto claimed = f.claim("market:data", "bars", "second", 100);
  CHECK(claimed.dead_lettered == 0);
  CHECK(ids_of(claimed.entries) == std::vector<std::string>(ids.begin() + 4, ids.begin() + 10));
  auto rest = f.read("market:data", "bars", "second", 100);
  CHECK(rest.size() == 10);
  for (const auto& e : claimed.entries)
    processed.insert(e.id);
  for (const auto& e : rest)
    processed.insert(e.id);
  CHECK(f.ack("market:data", "bars", ids_of(claimed.entries)) == 6);
  CHECK(f.ack("market:data", "bars", ids_of(rest)) == 10);
  CHECK(f.pending("market:data", "bars").empty());
  REQUIRE(processed.size() == 20);
  for (const auto& id : ids)
    CHECK(processed.count(id) == 1);
  // A claimed entry counts one more delivery.
  f.publish("market:data", ticks(1));
  f.read("market:data", "bars", "third", 1);
  std::this_thread::sleep_for(20ms);
  f.claim("market:data", "bars", "fourth", 10);
  auto p = f.pending("market:data", "bars");
  REQUIRE(p.size() == 1);
  CHECK(p[0].consumer == "fourth");
  CHECK(p[0].deliveries == 2);
}

TEMPLATE_TEST_CASE("an entry delivered dead_letter_after times goes to the dead letters instead of "
                   "a third delivery",
                   "[stream]", memory_backend, redis_backend) {
  stream_fixture f{testing::with<TestType>({{"BROKEDANCER_STREAMS_DEAD_LETTER_AFTER", "2"}})};
  auto ids = f.publish("market:data", ticks(2));
  f.create_group("market:data", "g", "0");
  f.read("market:data", "g", "poison", 2); // delivery 1
  CHECK(f.ack("market:data", "g", {ids[1]}) == 1);
  auto second = f.claim("market:data", "g", "retry", 0); // delivery 2
  CHECK(ids_of(second.entries) == std::vector<std::string>{ids[0]});
  auto third = f.claim("market:data", "g", "retry", 0);
  CHECK(third.entries.empty());
  CHECK(third.dead_lettered == 1);
  CHECK(f.pending("market:data", "g").empty());
  auto dead = f.replay(dead_letter_stream("market:data"));
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].tick.symbol == "BTC-USD");
  CHECK(dead[0].tick.price == 100);
}

TEMPLATE_TEST_CASE("a request to a group that does not exist is refused with not_found", "[stream]",
                   memory_backend, redis_backend) {
  stream_fixture f{testing::with<TestType>()};
  f.publish("market:data", ticks(1));
  auto read =
      f.call<std::vector<stream_entry>>(group_read_atom::value, std::string{"market:data"},
                                        std::string{"nobody"}, std::string{"c"}, uint32_t{10});
  REQUIRE_FALSE(read);
  CHECK(is(read.error(), errc::not_found));
  auto pending = f.call<std::vector<pending_entry>>(
      group_pending_atom::value, std::string{"market:data"}, std::string{"nobody"}, uint32_t{10});
  REQUIRE_FALSE(pending);
  CHECK(is(pending.error(), errc::not_found));
  auto claimed =
      f.call<claim_result>(group_claim_atom::value, std::string{"market:data"},
                           std::string{"nobody"}, std::string{"c"}, int64_t{0}, uint32_t{10});
  REQUIRE_FALSE(claimed);
  CHECK(is(claimed.error(), errc::not_found));
}

TEMPLATE_TEST_CASE("a stream keeps about max_length entries, the newest", "[stream]",
                   memory_backend, redis_backend) {
  stream_fixture f{testing::with<TestType>({{"BROKEDANCER_STREAMS_MAX_LENGTH", "100"}})};
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    auto batch = f.publish("market:data", ticks(100, 100 + i));
    ids.insert(ids.end(), batch.begin(), batch.end());
  }
  auto kept = f.replay("market:data");
  // Redis trims whole nodes of its radix tree (stream-node-max-entries, 100 by default): a
  // stream may keep up to one node more than asked. Memory trims exactly.
  CHECK(kept.size() >= 100);
  CHECK(kept.size() <= 200);
  REQUIRE_FALSE(kept.empty());
  CHECK(kept.back().id == ids.back());
}

TEMPLATE_TEST_CASE("a stream bounded by age lets go of entries older than max_age", "[stream]",
                   memory_backend, redis_backend) {
  stream_fixture f{testing::with<TestType>(
      {{"BROKEDANCER_STREAMS_MAX_AGE_S", "0.2"}, {"BROKEDANCER_STREAMS_MAX_LENGTH", "0"}})};
  // Redis trims by MINID approximately too: enough old entries to fill whole nodes.
  auto old = f.publish("market:data", ticks(300));
  std::this_thread::sleep_for(400ms);
  auto fresh = f.publish("market:data", ticks(1));
  auto kept = f.replay("market:data");
  CHECK(kept.size() < 150);
  REQUIRE_FALSE(kept.empty());
  CHECK(kept.back().id == fresh.back());
}

TEST_CASE("entries another Redis client wrote that are not ticks are skipped and counted",
          "[stream]") {
  auto settings = testing::with<redis_backend>();
  stream_fixture f{settings};
  f.publish("market:data", ticks(1));
  auto key = settings.at("BROKEDANCER_STATE_KEY_PREFIX") + "stream:market:data";
  testing::redis_command(testing::shared_redis_url(),
                         {"XADD", key, "*", "symbol", "BTC-USD", "price", "NaN"});
  testing::redis_command(testing::shared_redis_url(), {"XADD", key, "*", "note", "hello"});
  f.publish("market:data", ticks(1, 300));
  auto kept = f.replay("market:data");
  REQUIRE(kept.size() == 2);
  CHECK(kept[1].tick.price == 300);
  CHECK(f.status().rejected == 2);
}

TEMPLATE_TEST_CASE("a live subscription outlives a crash of the stream actor: nothing is lost or "
                   "sent twice",
                   "[stream]", memory_backend, redis_backend) {
  stream_fixture f{testing::with<TestType>()};
  auto seen = std::make_shared<received>();
  CHECK(f.subscribe("market:data", f.subscriber(seen)));
  std::vector<std::string> sent;
  auto publish = [&](double price) {
    auto ids = f.publish("market:data", ticks(20, price));
    sent.insert(sent.end(), ids.begin(), ids.end());
  };
  publish(100);
  REQUIRE(eventually([&] { return seen->size() >= sent.size(); }));
  {
    caf::scoped_actor self{*f.sys};
    caf::error err;
    self->request(f.tree.supervisor, 5s, restart_atom::value, std::string{"market_stream"})
        .receive([] {}, [&](caf::error& e) { err = e; });
    REQUIRE_FALSE(err);
  }
  // Requests caught by the restart fail at once; the new incarnation answers.
  REQUIRE(eventually([&] {
    auto s = f.call<stream_status>(status_atom::value);
    return s && s->available;
  }));
  publish(200);
  REQUIRE(eventually([&] { return seen->size() >= sent.size(); }));
  std::this_thread::sleep_for(300ms);
  CHECK(ids_of(seen->copy()) == sent);
  CHECK(f.status().subscribers == 1);
}

TEST_CASE("entries another Redis client wrote that are not ticks neither stop a live subscriber "
          "nor stay pending in a group",
          "[stream]") {
  auto settings = testing::with<redis_backend>();
  stream_fixture f{settings};
  auto key = settings.at("BROKEDANCER_STATE_KEY_PREFIX") + "stream:market:data";
  f.create_group("market:data", "g", "$");
  auto seen = std::make_shared<received>();
  CHECK(f.subscribe("market:data", f.subscriber(seen)));
  std::this_thread::sleep_for(400ms); // the live loop takes the stream in
  // More foreign entries than one live batch holds, then a tick.
  for (uint32_t i = 0; i < max_live_batch + 100; ++i)
    testing::redis_command(testing::shared_redis_url(), {"XADD", key, "*", "note", "junk"});
  auto ids = f.publish("market:data", ticks(1, 321));
  REQUIRE(eventually([&] { return seen->size() >= 1; }));
  CHECK(ids_of(seen->copy()) == ids);
  auto read = f.read("market:data", "g", "c", max_stream_read);
  CHECK(ids_of(read) == ids);
  CHECK(f.ack("market:data", "g", ids) == 1);
  // The foreign entries were acknowledged as they were skipped: nothing stays pending.
  CHECK(f.pending("market:data", "g").empty());
}
