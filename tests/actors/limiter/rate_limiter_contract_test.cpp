// The rate limiter's contract, run against every backend: the memory one and the Redis one
// (the real redis-server the test command starts). Decisions on Redis are timed by its clock,
// so the times here are bounds, not exact values; the exact arithmetic is rate_table_test's.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>

#include <catch2/catch.hpp>

#include "core/unix_time.hpp"
#include "messages/errors.hpp"
#include "messages/rate_limiter.hpp"
#include "runtime/infrastructure.hpp"
#include "support/child_process.hpp"
#include "support/rate_limits.hpp"
#include "support/redis_server.hpp"
#include "support/requests.hpp"
#include "support/store_fixture.hpp"
#include "support/supervised_child.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;
using testing::bucket;
using testing::memory_backend;
using testing::redis_backend;
using testing::sliding;

namespace {

struct limiter_fixture : testing::supervised_child {
  rate_limiter_actor limiter;

  explicit limiter_fixture(environment settings)
    : supervised_child(std::move(settings), rate_limiter_child),
      limiter(caf::actor_cast<rate_limiter_actor>(handle)) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto s = testing::call<limiter_status>(*sys, limiter, status_atom::value);
      if (s && s->available)
        return;
      std::this_thread::sleep_for(10ms);
    }
    FAIL("the rate limiter did not become available");
  }

  caf::expected<rate_decision> take(const std::string& name, rate_limit limit, uint32_t cost = 1) {
    return testing::call<rate_decision>(*sys, limiter, take_atom::value, name, limit, cost);
  }

  rate_decision decided(const std::string& name, rate_limit limit, uint32_t cost = 1) {
    auto d = take(name, limit, cost);
    REQUIRE(d);
    return *d;
  }
};

} // namespace

TEMPLATE_TEST_CASE("a sliding window admits its limit, refuses the next with the wait until one "
                   "leaves, and admits it after that wait",
                   "[limiter]", memory_backend, redis_backend) {
  limiter_fixture f{testing::with<TestType>()};
  auto limit = sliding(5, 1500);
  auto started = std::chrono::steady_clock::now();
  for (uint32_t left = 5; left-- > 0;) {
    auto d = f.decided("api", limit);
    CHECK(d.allowed);
    CHECK(d.remaining == left);
    CHECK(d.retry_after_ms == 0);
  }
  auto refused = f.decided("api", limit);
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.remaining == 0);
  CHECK(refused.retry_after_ms > 1500 - elapsed.count() - 50);
  CHECK(refused.retry_after_ms <= 1500);
  std::this_thread::sleep_for(std::chrono::milliseconds(refused.retry_after_ms + 20));
  CHECK(f.decided("api", limit).allowed);
}

TEMPLATE_TEST_CASE("a token bucket lets a burst of its limit through and refills at limit per "
                   "window",
                   "[limiter]", memory_backend, redis_backend) {
  limiter_fixture f{testing::with<TestType>()};
  // A token every 12 s: nothing comes back while the test asks.
  auto slow = bucket(5, 60000);
  for (uint32_t left = 5; left-- > 0;)
    CHECK(f.decided("orders", slow).remaining == left);
  auto refused = f.decided("orders", slow);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.remaining == 0);
  CHECK(refused.retry_after_ms > 0);
  CHECK(refused.retry_after_ms <= 12000);
  // A token every 200 ms: spent, and back after that.
  auto limit = bucket(5, 1000);
  while (f.decided("refill", limit).allowed) {
  }
  std::this_thread::sleep_for(250ms);
  CHECK(f.decided("refill", limit).allowed);
  // However fast it is asked, no more than limit + elapsed / interval pass.
  auto started = std::chrono::steady_clock::now();
  uint32_t passed = 0;
  for (int i = 0; i < 40; ++i)
    passed += f.decided("burst", limit).allowed ? 1 : 0;
  auto elapsed = std::chrono::steady_clock::now() - started;
  CHECK(passed >= 5);
  CHECK(passed <= 5 + 1 + static_cast<uint32_t>(elapsed / 200ms));
}

TEMPLATE_TEST_CASE("budgets are kept apart by name and by algorithm, and a cost takes that many",
                   "[limiter]", memory_backend, redis_backend) {
  limiter_fixture f{testing::with<TestType>()};
  CHECK(f.decided("a", sliding(3, 60000), 3).remaining == 0);
  CHECK_FALSE(f.decided("a", sliding(3, 60000)).allowed);
  CHECK(f.decided("b", sliding(3, 60000)).remaining == 2);
  CHECK(f.decided("a", bucket(3, 60000), 2).remaining == 1);
  auto too_much = f.decided("a", bucket(3, 60000), 2);
  CHECK_FALSE(too_much.allowed);
  CHECK(too_much.remaining == 1);
  CHECK(too_much.retry_after_ms > 19000); // one more token: 20 s
  CHECK(too_much.retry_after_ms <= 20000);
}

TEMPLATE_TEST_CASE("concurrent callers never get more than the limit together", "[limiter]",
                   memory_backend, redis_backend) {
  limiter_fixture f{testing::with<TestType>()};
  std::atomic<int> allowed{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 8; ++c)
    callers.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto d = f.take("shared", sliding(60, 60000));
        if (!d)
          ++failed;
        else if (d->allowed)
          ++allowed;
      }
    });
  for (auto& t : callers)
    t.join();
  CHECK(failed == 0);
  CHECK(allowed == 60);
}

TEMPLATE_TEST_CASE("a request the limiter cannot decide is refused as invalid, naming what is "
                   "wrong",
                   "[limiter]", memory_backend, redis_backend) {
  limiter_fixture f{testing::with<TestType>()};
  auto refused = [&](const std::string& name, rate_limit limit, uint32_t cost,
                     const std::string& says) {
    auto d = f.take(name, limit, cost);
    REQUIRE_FALSE(d);
    CHECK(is(d.error(), errc::invalid_argument));
    CHECK_THAT(f.sys->render(d.error()), Catch::Contains(says));
  };
  refused("", sliding(10, 1000), 1, "needs a name");
  refused("api", sliding(0, 1000), 1, "limit must be");
  refused("api", sliding(10, -5), 1, "window must be");
  refused("api", bucket(10, 1000), 11, "never pass");
  refused(std::string(300, 'n'), bucket(10, 1000), 1, "300 bytes");
  auto s = testing::call<limiter_status>(*f.sys, f.limiter, status_atom::value);
  REQUIRE(s);
  CHECK(s->decisions == 0);
}

TEMPLATE_TEST_CASE("the limiter counts its decisions and refusals", "[limiter]", memory_backend,
                   redis_backend) {
  limiter_fixture f{testing::with<TestType>()};
  f.decided("x", sliding(1, 60000));
  f.decided("x", sliding(1, 60000));
  auto s = testing::call<limiter_status>(*f.sys, f.limiter, status_atom::value);
  REQUIRE(s);
  CHECK(s->decisions == 2);
  CHECK(s->refused == 1);
  CHECK(s->failures == 0);
  CHECK(s->available);
}

TEST_CASE("a Redis limiter without its Redis answers store_unavailable at once, and decides "
          "again once Redis is back",
          "[limiter][redis]") {
  testing::redis_server own{testing::redis_server::persistence::none};
  auto settings = testing::with<redis_backend>();
  settings["BROKEDANCER_REDIS_URL"] = own.url();
  settings["BROKEDANCER_REDIS_RECONNECT_MAX_MS"] = "200";
  limiter_fixture f{settings};
  CHECK(f.decided("api", sliding(2, 60000)).allowed);
  own.kill();
  auto started = std::chrono::steady_clock::now();
  auto d = f.take("api", sliding(2, 60000));
  REQUIRE_FALSE(d);
  CHECK(is(d.error(), errc::store_unavailable));
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  own.start();
  auto deadline = std::chrono::steady_clock::now() + 15s;
  caf::expected<rate_decision> back{caf::error{}};
  while (std::chrono::steady_clock::now() < deadline) {
    back = f.take("api", sliding(2, 60000));
    if (back)
      break;
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE(back);
  // A new server (nothing persisted): the budget is whole again, and the scripts were loaded
  // anew (NOSCRIPT answered by sending them).
  CHECK(back->allowed);
  CHECK(back->remaining == 1);
}

TEST_CASE("two processes sharing one Redis limiter never get more than its limit together",
          "[limiter][redis]") {
  auto settings = testing::with<redis_backend>();
  settings["BROKEDANCER_LOG_LEVEL"] = "warn";
  // Both connected, then both asking from the same instant (a process that takes longer than
  // 5 s to start under the sanitizers asks later, and the sum must still hold); 150 each
  // against a limit of 100.
  auto start = std::to_string(now_us() / 1000 + 5000);
  std::vector<std::unique_ptr<testing::child_process>> clients;
  for (int i = 0; i < 2; ++i)
    clients.push_back(std::make_unique<testing::child_process>(
        BROKEDANCER_LIMITER_CLIENT_PATH,
        std::vector<std::string>{"shared-budget", "100", "60000", "150", start}, settings));
  int allowed = 0;
  for (auto& client : clients) {
    auto line = client->read_line(60s);
    REQUIRE(line);
    int mine = 0;
    int failed = -1;
    REQUIRE(std::sscanf(line->c_str(), "allowed %d failed %d", &mine, &failed) == 2);
    CHECK(failed == 0);
    allowed += mine;
    CHECK(client->wait(30s) == 0);
  }
  CHECK(allowed == 100);
}
