// The circuit breaker's decisions, with time passed in: every transition, exactly.

#include <catch2/catch.hpp>

#include "actors/resilience/breaker_machine.hpp"
#include "actors/resilience/retry_policy.hpp"
#include "messages/errors.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;
using clock_type = breaker_machine::clock;

namespace {

breaker_settings settings_for_tests() {
  breaker_settings s;
  s.failure_threshold = 3;
  s.failure_rate_threshold = 0;
  s.window_size = 10;
  s.minimum_calls = 5;
  s.recovery_timeout = 1000ms;
  s.half_open_calls = 2;
  s.success_threshold = 2;
  return s;
}

// One call through the machine at `now`: acquired, then recorded. False when refused.
bool call(breaker_machine& m, clock_type::time_point now, bool success, bool slow = false) {
  auto permit = m.try_acquire(now);
  if (!permit.allowed)
    return false;
  m.record(permit, success, slow, now, success ? "" : "status 503");
  return true;
}

} // namespace

TEST_CASE("consecutive failures open the breaker, and a success in between starts the count again",
          "[breaker]") {
  auto t0 = clock_type::now();
  breaker_machine m{settings_for_tests(), t0};
  CHECK(call(m, t0, false));
  CHECK(call(m, t0, false));
  CHECK(call(m, t0, true));
  CHECK(call(m, t0, false));
  CHECK(call(m, t0, false));
  CHECK(m.state() == breaker_state::closed);
  CHECK(call(m, t0, false));
  CHECK(m.state() == breaker_state::open);
  auto transitions = m.take_transitions();
  REQUIRE(transitions.size() == 1);
  CHECK(transitions[0].from == breaker_state::closed);
  CHECK(transitions[0].to == breaker_state::open);
  CHECK_THAT(transitions[0].reason, Catch::Matchers::Contains("3 consecutive failures"));
  // Open: refused at once and counted, until the recovery timeout.
  CHECK_FALSE(call(m, t0 + 999ms, true));
  CHECK(m.stats(t0).rejected == 1);
  CHECK(m.stats(t0).failures == 5);
}

TEST_CASE("the failure rate opens the breaker only once the window holds the minimum of calls",
          "[breaker]") {
  auto s = settings_for_tests();
  s.failure_threshold = 0;
  s.failure_rate_threshold = 50;
  auto t0 = clock_type::now();
  breaker_machine m{s, t0};
  // 2 failures in 3 calls is 67 %, but 3 calls are under the minimum of 5.
  call(m, t0, false);
  call(m, t0, true);
  call(m, t0, false);
  CHECK(m.state() == breaker_state::closed);
  call(m, t0, true);
  call(m, t0, true); // 2 of 5: 40 %
  CHECK(m.state() == breaker_state::closed);
  CHECK(m.stats(t0).failure_rate == Approx(40.0));
  call(m, t0, false); // 3 of 6: 50 %
  CHECK(m.state() == breaker_state::open);
  CHECK_THAT(m.take_transitions().at(0).reason, Catch::Matchers::Contains("failure rate 50.0%"));
}

TEST_CASE("the window slides: old outcomes drop out of the failure rate", "[breaker]") {
  breaker_settings s;
  s.failure_threshold = 0;
  s.failure_rate_threshold = 75;
  s.window_size = 4;
  s.minimum_calls = 4;
  auto t0 = clock_type::now();
  breaker_machine m{s, t0};
  for (bool success : {false, false, true, true, true, true})
    call(m, t0, success);
  CHECK(m.stats(t0).window_calls == 4);
  CHECK(m.stats(t0).failure_rate == Approx(0.0)); // the two failures slid out
  call(m, t0, false);
  call(m, t0, false); // T T F F: 50 %
  CHECK(m.state() == breaker_state::closed);
  call(m, t0, false); // T F F F: 75 %
  CHECK(m.state() == breaker_state::open);
}

TEST_CASE("a slow call counts as a failure even when it succeeded", "[breaker]") {
  auto t0 = clock_type::now();
  breaker_machine m{settings_for_tests(), t0};
  for (int i = 0; i < 3; ++i)
    call(m, t0, true, true);
  CHECK(m.state() == breaker_state::open);
  auto stats = m.stats(t0);
  CHECK(stats.slow_calls == 3);
  CHECK(stats.failures == 3);
  CHECK(stats.successes == 0);
  CHECK(stats.last_failure == "slow call");
}

TEST_CASE("after the recovery timeout a limited number of trial calls pass, and enough "
          "successes close the breaker",
          "[breaker]") {
  auto t0 = clock_type::now();
  breaker_machine m{settings_for_tests(), t0};
  for (int i = 0; i < 3; ++i)
    call(m, t0, false);
  REQUIRE(m.state() == breaker_state::open);
  m.take_transitions();
  m.tick(t0 + 999ms);
  CHECK(m.state() == breaker_state::open);
  m.tick(t0 + 1000ms);
  CHECK(m.state() == breaker_state::half_open);
  auto t1 = t0 + 1000ms;
  auto first = m.try_acquire(t1);
  auto second = m.try_acquire(t1);
  auto third = m.try_acquire(t1);
  CHECK(first.allowed);
  CHECK(second.allowed);
  CHECK_FALSE(third.allowed); // half_open_calls = 2 in flight at once
  m.record(first, true, false, t1, "");
  CHECK(m.state() == breaker_state::half_open);
  m.record(second, true, false, t1, "");
  CHECK(m.state() == breaker_state::closed);
  auto transitions = m.take_transitions();
  REQUIRE(transitions.size() == 2);
  CHECK(transitions[0].to == breaker_state::half_open);
  CHECK(transitions[1].from == breaker_state::half_open);
  CHECK(transitions[1].to == breaker_state::closed);
  // Closed again with a clean window: it takes three new failures to open it.
  call(m, t1, false);
  call(m, t1, false);
  CHECK(m.state() == breaker_state::closed);
}

TEST_CASE("a failed trial call opens the breaker again for a whole recovery timeout", "[breaker]") {
  auto t0 = clock_type::now();
  breaker_machine m{settings_for_tests(), t0};
  for (int i = 0; i < 3; ++i)
    call(m, t0, false);
  auto t1 = t0 + 1500ms;
  auto trial = m.try_acquire(t1); // moves to HALF_OPEN
  REQUIRE(trial.allowed);
  CHECK(m.state() == breaker_state::half_open);
  m.record(trial, false, false, t1, "endpoint_unreachable");
  CHECK(m.state() == breaker_state::open);
  CHECK(m.open_until() == t1 + 1000ms);
  CHECK_FALSE(m.try_acquire(t1 + 999ms).allowed);
  CHECK(m.try_acquire(t1 + 1000ms).allowed);
  auto transitions = m.take_transitions();
  REQUIRE(transitions.size() == 4);
  CHECK(transitions[2].from == breaker_state::half_open);
  CHECK(transitions[2].to == breaker_state::open);
  CHECK_THAT(transitions[2].reason, Catch::Matchers::Contains("trial call failed"));
}

TEST_CASE("outcomes of calls let through before a transition decide nothing after it",
          "[breaker]") {
  auto t0 = clock_type::now();
  breaker_machine m{settings_for_tests(), t0};
  auto early = m.try_acquire(t0); // let through while CLOSED
  for (int i = 0; i < 3; ++i)
    call(m, t0, false);
  auto t1 = t0 + 1000ms;
  m.tick(t1);
  REQUIRE(m.state() == breaker_state::half_open);
  // The early call fails late: it was not a trial, so the half-open breaker stays half open.
  m.record(early, false, false, t1, "late failure");
  CHECK(m.state() == breaker_state::half_open);
  CHECK(m.stats(t1).failures == 4); // but it is counted
}

TEST_CASE("operators force the breaker open or closed, disable it, and reset it", "[breaker]") {
  auto t0 = clock_type::now();
  breaker_machine m{settings_for_tests(), t0};
  m.force_open(t0, "exchange maintenance");
  CHECK(m.state() == breaker_state::forced_open);
  CHECK_FALSE(m.try_acquire(t0 + 1h).allowed); // no recovery timeout lifts it
  m.force_close(t0, "maintenance over");
  CHECK(m.state() == breaker_state::closed);
  CHECK(call(m, t0, true));
  m.disable(t0, "debugging");
  for (int i = 0; i < 10; ++i)
    CHECK(call(m, t0, false)); // failures pass and decide nothing
  CHECK(m.state() == breaker_state::disabled);
  m.reset(t0, "fresh start");
  CHECK(m.state() == breaker_state::closed);
  auto stats = m.stats(t0);
  CHECK(stats.calls == 0);
  CHECK(stats.failures == 0);
  CHECK(stats.rejected == 0);
  auto transitions = m.take_transitions();
  REQUIRE(transitions.size() == 4);
  CHECK(transitions[0].reason == "forced open: exchange maintenance");
  CHECK(transitions[3].reason == "reset: fresh start");
}

TEST_CASE("retry waits stay within the full-jitter bounds and cover them", "[breaker][retry]") {
  retry_settings s;
  s.initial_backoff = 100ms;
  s.max_backoff = 1000ms;
  std::mt19937_64 random{42};
  for (uint32_t failed = 1; failed <= 6; ++failed) {
    auto ceiling = std::min<int64_t>(100 << (failed - 1), 1000);
    int64_t lowest = ceiling, highest = 0;
    for (int i = 0; i < 2000; ++i) {
      auto wait = backoff(s, failed, random).count();
      REQUIRE(wait >= 0);
      REQUIRE(wait <= ceiling);
      lowest = std::min(lowest, wait);
      highest = std::max(highest, wait);
    }
    CHECK(lowest < ceiling / 10);
    CHECK(highest > ceiling * 9 / 10);
  }
}

TEST_CASE("only failures that another attempt may cure are retried", "[breaker][retry]") {
  CHECK(retryable(make_error(errc::endpoint_unreachable, "refused")));
  CHECK(retryable(make_error(errc::endpoint_timeout, "late")));
  CHECK(retryable(make_error(errc::endpoint_overloaded, "busy")));
  CHECK_FALSE(retryable(make_error(errc::breaker_open, "open")));
  CHECK_FALSE(retryable(make_error(errc::invalid_argument, "bad")));
  CHECK(retryable_status(503));
  CHECK(retryable_status(500));
  CHECK(retryable_status(429));
  CHECK_FALSE(retryable_status(400));
  CHECK_FALSE(retryable_status(404));
  CHECK_FALSE(retryable_status(200));
}
