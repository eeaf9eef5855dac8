// The state store's leases and logs, run against every backend like the rest of its contract:
// one holder at a time, renewal and release only with the holder's token, fences that only
// grow, writes fenced by a lease, and logs with Redis stream semantics.

#include <chrono>
#include <random>
#include <set>
#include <thread>

#include <caf/actor_system.hpp>

#include <catch2/catch.hpp>

#include "actors/store/lease_table.hpp"
#include "actors/store/log_table.hpp"
#include "messages/errors.hpp"
#include "messages/state_store.hpp"
#include "runtime/infrastructure.hpp"
#include "support/redis_server.hpp"
#include "support/requests.hpp"
#include "support/store_fixture.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;
using testing::memory_backend;
using testing::redis_backend;
using testing::store_fixture;

namespace {

const std::string token_a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string token_b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

lease_grant acquire(store_fixture& f, const std::string& name, const std::string& holder,
                    const std::string& token, int64_t ttl_ms) {
  auto grant = f.call<lease_grant>(acquire_lease_atom::value, name, holder, token, ttl_ms);
  REQUIRE(grant);
  return *grant;
}

} // namespace

TEMPLATE_TEST_CASE("a lease has one holder, who alone renews and releases it, and each grant's "
                   "fence is higher",
                   "[state][lease]", memory_backend, redis_backend) {
  store_fixture f{testing::with<TestType>()};
  auto first = acquire(f, "bot:bot-1", "node-a", token_a, 5000);
  CHECK(first.held);
  CHECK(first.holder == "node-a");
  CHECK(first.token == token_a);
  CHECK(first.fence >= 1);
  // Another holder is told who has it, never its token.
  auto refused = acquire(f, "bot:bot-1", "node-b", token_b, 5000);
  CHECK_FALSE(refused.held);
  CHECK(refused.holder == "node-a");
  CHECK(refused.token.empty());
  CHECK(refused.fence == first.fence);
  CHECK(refused.remaining_ms > 0);
  CHECK(refused.remaining_ms <= 5000);
  // Acquiring again with the holder's token extends it: the same fence.
  auto again = acquire(f, "bot:bot-1", "node-a", token_a, 5000);
  CHECK(again.held);
  CHECK(again.fence == first.fence);
  CHECK(f.call<bool>(renew_lease_atom::value, "bot:bot-1", token_b, int64_t{5000}) == false);
  CHECK(f.call<bool>(renew_lease_atom::value, "bot:bot-1", token_a, int64_t{5000}) == true);
  // Never another's: a release with the wrong token changes nothing.
  CHECK(f.call<bool>(release_lease_atom::value, "bot:bot-1", token_b) == false);
  auto status = f.call<lease_grant>(lease_status_atom::value, "bot:bot-1");
  REQUIRE(status);
  CHECK(status->held);
  CHECK(status->holder == "node-a");
  CHECK(status->token.empty());
  CHECK(f.call<bool>(release_lease_atom::value, "bot:bot-1", token_a) == true);
  CHECK(f.call<bool>(release_lease_atom::value, "bot:bot-1", token_a) == false);
  auto free = f.call<lease_grant>(lease_status_atom::value, "bot:bot-1");
  REQUIRE(free);
  CHECK_FALSE(free->held);
  auto second = acquire(f, "bot:bot-1", "node-b", token_b, 5000);
  CHECK(second.held);
  CHECK(second.fence > first.fence);
}

TEMPLATE_TEST_CASE("a lease nobody renews expires, and the next holder's fence is higher",
                   "[state][lease]", memory_backend, redis_backend) {
  store_fixture f{testing::with<TestType>()};
  auto first = acquire(f, "bot:bot-2", "node-a", token_a, 200);
  REQUIRE(first.held);
  CHECK_FALSE(acquire(f, "bot:bot-2", "node-b", token_b, 200).held);
  std::this_thread::sleep_for(350ms);
  CHECK(f.call<bool>(renew_lease_atom::value, "bot:bot-2", token_a, int64_t{200}) == false);
  auto second = acquire(f, "bot:bot-2", "node-b", token_b, 5000);
  CHECK(second.held);
  CHECK(second.holder == "node-b");
  CHECK(second.fence > first.fence);
  CHECK(second.age_ms < 1000);
}

TEMPLATE_TEST_CASE("a write fenced by a lease happens only while the writer holds it",
                   "[state][lease]", memory_backend, redis_backend) {
  store_fixture f{testing::with<TestType>()};
  REQUIRE(acquire(f, "bot:bot-3", "node-a", token_a, 300).held);
  CHECK_FALSE(f.ack(set_fenced_atom::value, "bot:bot-3:state", R"({"n":1})", int64_t{0},
                    "bot:bot-3", token_a));
  // Someone who does not hold it writes nothing.
  CHECK(is(f.ack(set_fenced_atom::value, "bot:bot-3:state", R"({"n":2})", int64_t{0}, "bot:bot-3",
                 token_b),
           errc::lease_lost));
  std::this_thread::sleep_for(450ms);
  REQUIRE(acquire(f, "bot:bot-3", "node-b", token_b, 5000).held);
  // The old holder, back after its lease went to another, writes nothing either.
  CHECK(is(f.ack(set_fenced_atom::value, "bot:bot-3:state", R"({"n":3})", int64_t{0}, "bot:bot-3",
                 token_a),
           errc::lease_lost));
  auto stored = f.call<maybe_value>(get_atom::value, "bot:bot-3:state");
  REQUIRE(stored);
  CHECK(stored->json == R"({"n":1})");
  CHECK_FALSE(f.ack(set_fenced_atom::value, "bot:bot-3:state", R"({"n":4})", int64_t{0},
                    "bot:bot-3", token_b));
  // Bad requests are refused as such: a short token, a value that is not JSON.
  CHECK(is(f.ack(set_fenced_atom::value, "k", "1", int64_t{0}, "bot:bot-3", "short"),
           errc::invalid_argument));
  CHECK(is(f.ack(set_fenced_atom::value, "k", "{", int64_t{0}, "bot:bot-3", token_b),
           errc::invalid_json));
  CHECK(is(f.call<lease_grant>(acquire_lease_atom::value, "bot:x", "node a", token_a, int64_t{1000})
               .error(),
           errc::invalid_argument));
  CHECK(is(f.call<lease_grant>(acquire_lease_atom::value, "bot:x", "node-a", token_a, int64_t{0})
               .error(),
           errc::invalid_argument));
  // A plain write cannot reach a lease or its fence.
  CHECK(is(f.ack(set_atom::value, "lease:bot:bot-3", R"({"token":"x"})", int64_t{0}),
           errc::invalid_argument));
  CHECK(
      is(f.ack(set_atom::value, "lease-fence:bot:bot-3", "1", int64_t{0}), errc::invalid_argument));
  // Nor a rate limiter's budget (kept under the same prefix on Redis).
  CHECK(is(f.call<bool>(del_atom::value, "ratelimit:sw:endpoint:exchange").error(),
           errc::invalid_argument));
  CHECK(is(f.ack(set_atom::value, "ratelimit-seq:endpoint:exchange", "1", int64_t{0}),
           errc::invalid_argument));
  // Nor a market-data stream or a time series (a SET would replace one with a string).
  CHECK(is(f.ack(set_atom::value, "stream:market:data", "1", int64_t{0}), errc::invalid_argument));
  CHECK(is(f.call<bool>(del_atom::value, "ts:metrics:latency").error(), errc::invalid_argument));
  CHECK(is(f.ack(set_atom::value, "bars:AAPL:1m", "1", int64_t{0}), errc::invalid_argument));
  // The quote cache is the store's own: the market writes it with plain requests.
  CHECK_FALSE(f.ack(set_atom::value, "quote:AAPL", R"({"bid":1})", int64_t{1000}));
}

TEMPLATE_TEST_CASE("many nodes racing for one lease: exactly one wins", "[state][lease]",
                   memory_backend, redis_backend) {
  store_fixture f{testing::with<TestType>()};
  std::vector<std::thread> racers;
  std::atomic<int> winners{0};
  for (int i = 0; i < 8; ++i)
    racers.emplace_back([&, i] {
      auto token = std::string(32, static_cast<char>('c' + i));
      auto grant = testing::call<lease_grant>(*f.sys, f.store, acquire_lease_atom::value,
                                              std::string{"race"}, "node-" + std::to_string(i),
                                              token, int64_t{5000});
      if (grant && grant->held)
        ++winners;
    });
  for (auto& t : racers)
    t.join();
  CHECK(winners == 1);
}

TEMPLATE_TEST_CASE("a log keeps entries in order, reads after an id, and trims what is older",
                   "[state][log]", memory_backend, redis_backend) {
  store_fixture f{testing::with<TestType>()};
  auto ids = f.call<std::vector<std::string>>(
      append_log_atom::value, "node:a:journal",
      std::vector<std::string>{R"({"n":1})", R"({"n":2})", R"({"n":3})"});
  REQUIRE(ids);
  REQUIRE(ids->size() == 3);
  auto all = f.call<std::vector<log_entry>>(read_log_atom::value, "node:a:journal", std::string{},
                                            uint32_t{100});
  REQUIRE(all);
  REQUIRE(all->size() == 3);
  CHECK(all->at(0).json == R"({"n":1})");
  CHECK(all->at(2).id == ids->at(2));
  auto after = f.call<std::vector<log_entry>>(read_log_atom::value, "node:a:journal", ids->at(0),
                                              uint32_t{1});
  REQUIRE(after);
  REQUIRE(after->size() == 1);
  CHECK(after->at(0).json == R"({"n":2})");
  // A commit writes keys and entries together.
  CHECK_FALSE(f.ack(commit_atom::value, std::vector<key_value>{{"node:a:book", R"({"fills":1})"}},
                    "node:a:journal", std::vector<std::string>{R"({"n":4})"}));
  auto book = f.call<maybe_value>(get_atom::value, "node:a:book");
  REQUIRE(book);
  CHECK(book->json == R"({"fills":1})");
  CHECK(f.call<uint64_t>(trim_log_atom::value, "node:a:journal", ids->at(2)) == 2);
  auto left = f.call<std::vector<log_entry>>(read_log_atom::value, "node:a:journal",
                                             std::string{"0"}, uint32_t{100});
  REQUIRE(left);
  REQUIRE(left->size() == 2);
  CHECK(left->at(0).json == R"({"n":3})");
  CHECK(left->at(1).json == R"({"n":4})");
  // A commit with a value that is not JSON writes nothing at all.
  CHECK(is(f.ack(commit_atom::value, std::vector<key_value>{{"node:a:book", "{"}}, "node:a:journal",
                 std::vector<std::string>{R"({"n":5})"}),
           errc::invalid_json));
  auto unchanged = f.call<std::vector<log_entry>>(read_log_atom::value, "node:a:journal",
                                                  std::string{}, uint32_t{100});
  REQUIRE(unchanged);
  CHECK(unchanged->size() == 2);
  CHECK(is(f.call<std::vector<log_entry>>(read_log_atom::value, "node:a:journal",
                                          std::string{"12x-3"}, uint32_t{1})
               .error(),
           errc::invalid_argument));
}

TEST_CASE("the memory backend's lease rules hold at every instant of their own clock", "[lease]") {
  lease_table leases;
  auto a = leases.acquire("x", "a", token_a, 100, 1000);
  CHECK(a.held);
  CHECK(a.fence == 1);
  CHECK_FALSE(leases.acquire("x", "b", token_b, 100, 1099).held);
  CHECK(leases.acquire("x", "b", token_b, 100, 1100).held); // expired at 1100
  CHECK_FALSE(leases.renew("x", token_a, 100, 1101));
  CHECK(leases.status("x", 1150).fence == 2);
  CHECK_FALSE(leases.holds("x", token_a, 1150));
  CHECK(leases.holds("x", token_b, 1150));
}

TEST_CASE("log ids only grow, even when the clock goes back", "[log]") {
  log_table logs;
  auto first = logs.append("j", "1", 5000);
  auto second = logs.append("j", "2", 4000);
  auto third = logs.append("j", "3", 5000);
  CHECK(first == "5000-0");
  CHECK(second == "5000-1");
  CHECK(third == "5000-2");
  CHECK(logs.read("j", "5000-0", 10).size() == 2);
  CHECK(logs.trim("j", "5000-2") == 2);
}
