// Circuit breakers in front of real endpoint actors: a scripted endpoint the test controls,
// the simulated exchange, and the breaker registry as the runtime configures it.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <catch2/catch.hpp>

#include "actors/bus/bus_core.hpp"
#include "actors/bus/memory_bus.hpp"
#include "actors/emergency/emergency_controller.hpp"
#include "actors/limiter/memory_limiter.hpp"
#include "actors/market/simulated_exchange.hpp"
#include "actors/resilience/circuit_breaker.hpp"
#include "actors/store/memory_store.hpp"
#include "messages/errors.hpp"
#include "messages/registry.hpp"
#include "runtime/infrastructure.hpp"
#include "support/requests.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;

namespace {

// What the scripted endpoint does with the next calls; the test changes it at will.
struct script {
  enum mode_type { ok, unreachable, status_503, stall, rate_limited, bad_request };
  std::atomic<int> mode{ok};
  std::atomic<int> fail_first{0}; // answer 503 to this many calls before following `mode`
  std::atomic<int> ok_first{0};   // answer 200 to this many calls before following `mode`
  std::atomic<int> calls{0};
  std::mutex mutex;
  std::vector<std::string> request_ids;
  std::vector<std::chrono::steady_clock::time_point> arrivals;
};

using late_atom = caf::atom_constant<caf::atom("late")>;

using pending_answers =
    std::map<uint64_t,
             std::pair<caf::typed_response_promise<endpoint_response>, endpoint_response>>;

caf::behavior scripted_endpoint(caf::event_based_actor* self, std::shared_ptr<script> s) {
  auto stalled = std::make_shared<pending_answers>();
  return {
      [self, s, stalled](call_atom, endpoint_request& request) -> caf::result<endpoint_response> {
        auto n = ++s->calls;
        {
          std::lock_guard<std::mutex> guard{s->mutex};
          s->request_ids.push_back(request.client_request_id);
          s->arrivals.push_back(std::chrono::steady_clock::now());
        }
        endpoint_response response;
        response.client_request_id = request.client_request_id;
        response.status = 200;
        response.json = R"({"n":)" + std::to_string(n) + "}";
        if (n <= s->ok_first)
          return response;
        if (n <= s->fail_first) {
          response.status = 503;
          return response;
        }
        switch (s->mode.load()) {
          case script::unreachable:
            return make_error(errc::endpoint_unreachable, "connection refused");
          case script::status_503: response.status = 503; return response;
          case script::rate_limited:
            s->mode = script::ok; // once
            response.status = 429;
            response.retry_after_ms = 150;
            return response;
          case script::bad_request: response.status = 400; return response;
          case script::stall: {
            // Answers, but long after any deadline the tests use.
            auto promise = self->make_response_promise<endpoint_response>();
            stalled->emplace(static_cast<uint64_t>(n), std::make_pair(promise, response));
            self->delayed_send(self, 600ms, late_atom::value, static_cast<uint64_t>(n));
            return promise;
          }
          default: return response;
        }
      },
      [stalled](late_atom, uint64_t n) {
        auto found = stalled->find(n);
        if (found == stalled->end())
          return;
        found->second.first.deliver(found->second.second);
        stalled->erase(found);
      },
  };
}

struct breaker_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<script> endpoint_script = std::make_shared<script>();
  endpoint_actor endpoint;
  breaker_actor breaker;
  event_bus_actor bus;

  explicit breaker_fixture(circuit_breaker_options options = defaults()) {
    configure_logging({log_format::console, log_level::warn, ""});
    register_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    endpoint = caf::actor_cast<endpoint_actor>(sys->spawn(scripted_endpoint, endpoint_script));
    bus_options bus_settings;
    bus_settings.node_name = "test";
    bus = spawn_memory_bus(*sys, make_bus_data(), bus_settings);
    options.bus = bus;
    breaker = spawn_circuit_breaker(*sys, endpoint, options);
  }

  ~breaker_fixture() {
    caf::anon_send_exit(breaker, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(endpoint, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(bus, caf::exit_reason::user_shutdown);
  }

  static circuit_breaker_options defaults() {
    circuit_breaker_options o;
    o.endpoint = "scripted";
    o.breaker.failure_threshold = 3;
    o.breaker.failure_rate_threshold = 0;
    o.breaker.recovery_timeout = 200ms;
    o.breaker.half_open_calls = 1;
    o.breaker.success_threshold = 2;
    o.retry.max_attempts = 1;
    o.timeout = 5000ms;
    o.seed = 7;
    return o;
  }

  caf::expected<endpoint_response> call(std::string id = "", int64_t timeout_ms = 0) {
    endpoint_request request{"submit_order", R"({"qty":1})", std::move(id), timeout_ms, ""};
    return testing::call<endpoint_response>(*sys, breaker, call_atom::value, request);
  }

  breaker_stats stats() {
    auto s = testing::call<breaker_stats>(*sys, breaker, status_atom::value);
    REQUIRE(s);
    return *s;
  }
};

struct event_log {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<nlohmann::json> events;

  bool await(size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> guard{mutex};
    return changed.wait_for(guard, timeout, [&] { return events.size() >= n; });
  }
};

caf::behavior event_recorder(caf::event_based_actor*, std::shared_ptr<event_log> log) {
  return {[log](const event& ev) {
    std::lock_guard<std::mutex> guard{log->mutex};
    log->events.push_back(nlohmann::json::parse(ev.json));
    log->changed.notify_all();
  }};
}

// What the callers of the 1,000-caller test got back.
struct tally {
  std::atomic<int> ok{0}, unreachable{0}, open{0}, other{0};
  std::mutex mutex;
  std::condition_variable done;
  int callers_left = 0;
};

// Makes `calls` calls one after the other, counting the outcomes.
caf::behavior load_caller(caf::event_based_actor* self, breaker_actor breaker,
                          std::shared_ptr<tally> t, int calls) {
  auto left = std::make_shared<int>(calls);
  // The pending request's handlers own the loop; the loop only knows itself weakly.
  auto next = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak = next;
  *next = [self, breaker, t, left, weak] {
    if ((*left)-- == 0) {
      std::lock_guard<std::mutex> guard{t->mutex};
      if (--t->callers_left == 0)
        t->done.notify_all();
      self->quit();
      return;
    }
    auto again = weak.lock();
    self->request(breaker, 30s, call_atom::value, endpoint_request{"ping", "", "", 0, ""})
        .then(
            [t, again](endpoint_response&) {
              ++t->ok;
              (*again)();
            },
            [t, again](caf::error& err) {
              if (is(err, errc::endpoint_unreachable))
                ++t->unreachable;
              else if (is(err, errc::breaker_open))
                ++t->open;
              else
                ++t->other;
              (*again)();
            });
  };
  (*next)();
  return {[](int) {
  }};
}

} // namespace

TEST_CASE("a flaky endpoint opens its breaker, fails fast, and closes again by itself",
          "[breaker][resilience]") {
  breaker_fixture f;
  auto log = std::make_shared<event_log>();
  auto recorder = f.sys->spawn(event_recorder, log);
  REQUIRE(testing::call<uint64_t>(*f.sys, f.bus, subscribe_atom::value,
                                  std::string{"breaker.state_changed"}, recorder));
  REQUIRE(f.call());
  f.endpoint_script->mode = script::unreachable;
  for (int i = 0; i < 3; ++i)
    CHECK(is(f.call().error(), errc::endpoint_unreachable));
  CHECK(f.stats().state == breaker_state::open);
  // Open: refused at once, and the endpoint is not touched.
  auto calls_before = f.endpoint_script->calls.load();
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i)
    CHECK(is(f.call().error(), errc::breaker_open));
  CHECK(std::chrono::steady_clock::now() - started < 500ms); // no endpoint round trips
  CHECK(f.endpoint_script->calls == calls_before);
  CHECK(f.stats().rejected == 20);
  // The endpoint recovers; after the recovery timeout, trial calls close the breaker.
  f.endpoint_script->mode = script::ok;
  REQUIRE(log->await(2)); // CLOSED -> OPEN, then OPEN -> HALF_OPEN by the timer
  CHECK(f.stats().state == breaker_state::half_open);
  REQUIRE(f.call());
  REQUIRE(f.call());
  CHECK(f.stats().state == breaker_state::closed);
  REQUIRE(log->await(3));
  std::lock_guard<std::mutex> guard{log->mutex};
  CHECK(log->events[0]["from"] == "CLOSED");
  CHECK(log->events[0]["to"] == "OPEN");
  CHECK(log->events[0]["endpoint"] == "scripted");
  CHECK(log->events[1]["to"] == "HALF_OPEN");
  CHECK(log->events[2]["from"] == "HALF_OPEN");
  CHECK(log->events[2]["to"] == "CLOSED");
  caf::anon_send_exit(recorder, caf::exit_reason::user_shutdown);
}

TEST_CASE("1,000 concurrent callers while the endpoint dies: the breaker opens after its "
          "threshold and the rest fail fast",
          "[breaker][resilience]") {
  auto options = breaker_fixture::defaults();
  options.breaker.failure_threshold = 20;
  options.breaker.recovery_timeout = 60s;
  breaker_fixture f{options};
  constexpr int callers = 1000;
  constexpr int calls_each = 10;
  f.endpoint_script->ok_first = 2000; // then it dies
  f.endpoint_script->mode = script::unreachable;
  auto t = std::make_shared<tally>();
  t->callers_left = callers;
  for (int i = 0; i < callers; ++i)
    f.sys->spawn(load_caller, f.breaker, t, calls_each);
  {
    std::unique_lock<std::mutex> guard{t->mutex};
    REQUIRE(t->done.wait_for(guard, 60s, [&] { return t->callers_left == 0; }));
  }
  CHECK(t->ok == 2000);
  CHECK(t->other == 0);
  // After the endpoint died it saw at most the threshold plus the calls already in flight
  // (one per caller); everything else was refused without reaching it.
  auto reached_dead_endpoint = f.endpoint_script->calls - 2000;
  CHECK(reached_dead_endpoint == t->unreachable);
  CHECK(reached_dead_endpoint <= 20 + callers);
  CHECK(t->open >= callers * calls_each - 2000 - 20 - callers);
  auto stats = f.stats();
  CHECK(stats.state == breaker_state::open);
  CHECK(stats.rejected == static_cast<uint64_t>(t->open.load()));
}

TEST_CASE("a call that misses its deadline fails with endpoint_timeout and counts as a failure",
          "[breaker][resilience]") {
  breaker_fixture f;
  f.endpoint_script->mode = script::stall;
  auto started = std::chrono::steady_clock::now();
  auto result = f.call("", 100);
  auto took = std::chrono::steady_clock::now() - started;
  CHECK(is(result.error(), errc::endpoint_timeout));
  CHECK(took >= 90ms); // the actor clock may fire a tick early
  CHECK(took < 1000ms);
  // The late answer arrives after the deadline and is discarded; the breaker carries on.
  std::this_thread::sleep_for(700ms);
  f.endpoint_script->mode = script::ok;
  REQUIRE(f.call());
  auto stats = f.stats();
  CHECK(stats.timeouts == 1);
  CHECK(stats.failures == 1);
  CHECK(stats.successes == 1);
}

TEST_CASE("each call ends at its own deadline, even one shorter than a call before it",
          "[breaker][resilience]") {
  breaker_fixture f;
  f.endpoint_script->mode = script::stall;
  caf::scoped_actor self{*f.sys};
  auto started = std::chrono::steady_clock::now();
  auto long_call = self->request(f.breaker, 10s, call_atom::value,
                                 endpoint_request{"submit_order", "{}", "", 400, ""});
  auto short_call = self->request(f.breaker, 10s, call_atom::value,
                                  endpoint_request{"submit_order", "{}", "", 100, ""});
  auto ended_with_timeout = [&](auto& handle) {
    bool timed_out = false;
    handle.receive([](endpoint_response&) {},
                   [&](caf::error& err) { timed_out = is(err, errc::endpoint_timeout); });
    return timed_out;
  };
  CHECK(ended_with_timeout(short_call));
  auto short_took = std::chrono::steady_clock::now() - started;
  CHECK(short_took >= 90ms); // the actor clock may fire a tick early
  CHECK(short_took < 350ms);
  // The endpoint answers at 600 ms: a timeout means the call ended at its own deadline.
  CHECK(ended_with_timeout(long_call));
  CHECK(std::chrono::steady_clock::now() - started >= 350ms);
  CHECK(f.stats().timeouts == 2);
}

TEST_CASE("retries keep the client request id, honour Retry-After, and never retry a refusal",
          "[breaker][resilience][retry]") {
  auto options = breaker_fixture::defaults();
  options.retry.max_attempts = 4;
  options.retry.initial_backoff = 10ms;
  options.retry.max_backoff = 1000ms;
  options.breaker.failure_threshold = 10;
  breaker_fixture f{options};

  SECTION("two 503s, then success: one call, three attempts, one id") {
    f.endpoint_script->fail_first = 2;
    auto response = f.call("order-1");
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->attempts == 3);
    std::lock_guard<std::mutex> guard{f.endpoint_script->mutex};
    CHECK(f.endpoint_script->request_ids == std::vector<std::string>(3, "order-1"));
    CHECK(f.stats().retries == 2);
  }
  SECTION("429 with Retry-After: the next attempt waits at least that long") {
    f.endpoint_script->mode = script::rate_limited;
    auto response = f.call("order-2");
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->attempts == 2);
    std::lock_guard<std::mutex> guard{f.endpoint_script->mutex};
    REQUIRE(f.endpoint_script->arrivals.size() == 2);
    CHECK(f.endpoint_script->arrivals[1] - f.endpoint_script->arrivals[0] >= 150ms);
  }
  SECTION("400 is the endpoint refusing the request: no retry, and no failure") {
    f.endpoint_script->mode = script::bad_request;
    auto response = f.call("order-3");
    REQUIRE(response);
    CHECK(response->status == 400);
    CHECK(response->attempts == 1);
    CHECK(f.stats().failures == 0);
  }
  SECTION("attempts run out: the last answer is returned") {
    f.endpoint_script->mode = script::status_503;
    auto response = f.call("order-4");
    REQUIRE(response);
    CHECK(response->status == 503);
    CHECK(response->attempts == 4);
  }
}

TEST_CASE("operators force a breaker open or closed, and disable it", "[breaker][resilience]") {
  breaker_fixture f;
  auto stats = testing::call<breaker_stats>(*f.sys, f.breaker, force_open_atom::value,
                                            std::string{"exchange maintenance"});
  REQUIRE(stats);
  CHECK(stats->state == breaker_state::forced_open);
  CHECK(is(f.call().error(), errc::breaker_open));
  CHECK(f.endpoint_script->calls == 0);
  REQUIRE(testing::call<breaker_stats>(*f.sys, f.breaker, force_close_atom::value,
                                       std::string{"done"}));
  REQUIRE(f.call());
  REQUIRE(testing::call<breaker_stats>(*f.sys, f.breaker, disable_atom::value,
                                       std::string{"debugging"}));
  f.endpoint_script->mode = script::unreachable;
  for (int i = 0; i < 10; ++i)
    CHECK(is(f.call().error(), errc::endpoint_unreachable)); // never breaker_open
  CHECK(f.stats().state == breaker_state::disabled);
  auto reset = testing::call<breaker_stats>(*f.sys, f.breaker, reset_atom::value,
                                            std::string{"fresh start"});
  REQUIRE(reset);
  CHECK(reset->state == breaker_state::closed);
  CHECK(reset->calls == 0);
}

TEST_CASE("the simulated exchange executes a client request id once and is deterministic for "
          "its seed",
          "[breaker][simulated]") {
  caf::actor_system_config cfg;
  register_message_types(cfg);
  caf::actor_system sys{cfg};
  simulated_exchange_settings settings;
  settings.seed = 99;
  settings.error_rate = 0.3;
  auto run = [&] {
    auto exchange = spawn_simulated_exchange(sys, settings);
    std::vector<int> statuses;
    for (int i = 0; i < 50; ++i) {
      auto r = testing::call<endpoint_response>(
          sys, exchange, call_atom::value,
          endpoint_request{"ping", "{}", "id-" + std::to_string(i), 0, ""});
      REQUIRE(r);
      statuses.push_back(r->status);
    }
    caf::anon_send_exit(exchange, caf::exit_reason::user_shutdown);
    return statuses;
  };
  auto first = run();
  CHECK(first == run());
  CHECK(std::count(first.begin(), first.end(), 503) > 5);
  CHECK(std::count(first.begin(), first.end(), 200) > 25);

  settings.error_rate = 0;
  auto exchange = spawn_simulated_exchange(sys, settings);
  endpoint_request order{"submit_order", R"({"symbol":"BTC","quantity":2,"price":100})", "order-42",
                         0, ""};
  auto once = testing::call<endpoint_response>(sys, exchange, call_atom::value, order);
  auto again = testing::call<endpoint_response>(sys, exchange, call_atom::value, order);
  REQUIRE(once);
  REQUIRE(again);
  CHECK(once->json == again->json); // the same execution, not a second one
  auto fill = nlohmann::json::parse(once->json);
  CHECK(fill["status"] == "filled");
  CHECK(fill["filled_quantity"] == 2.0);
  CHECK(fill["fill_price"] == 100.0);
  CHECK(fill["fee"].get<double>() == Approx(0.2)); // fee_rate 0.001 of 200
  auto malformed = testing::call<endpoint_response>(
      sys, exchange, call_atom::value, endpoint_request{"submit_order", "{}", "bad-1", 0, ""});
  REQUIRE(malformed);
  CHECK(malformed->status == 400);
  auto other = testing::call<endpoint_response>(sys, exchange, call_atom::value,
                                                endpoint_request{"ping", "{}", "order-43", 0, ""});
  REQUIRE(other);
  CHECK(nlohmann::json::parse(other->json)["execution"]
        == nlohmann::json::parse(once->json)["execution"].get<int>() + 1);
  // An outage: unreachable until it ends.
  REQUIRE(testing::call<bool>(sys, exchange, outage_atom::value, int64_t{100}));
  CHECK(is(testing::call<endpoint_response>(sys, exchange, call_atom::value, order).error(),
           errc::endpoint_unreachable));
  std::this_thread::sleep_for(150ms);
  CHECK(testing::call<endpoint_response>(sys, exchange, call_atom::value, order));
  caf::anon_send_exit(exchange, caf::exit_reason::user_shutdown);
}

TEST_CASE("through the registry, a breaker on one endpoint never affects another",
          "[breaker][registry]") {
  configure_logging({log_format::console, log_level::warn, ""});
  auto config = load_config(embedded_default_config(),
                            {{"BROKEDANCER_RESILIENCE_ENDPOINTS_DOWN_OUTAGES", "0-3600"},
                             {"BROKEDANCER_RESILIENCE_ENDPOINTS_DOWN_RETRY_MAX_ATTEMPTS", "1"},
                             {"BROKEDANCER_RESILIENCE_ENDPOINTS_UP_LATENCY_MS", "1"},
                             // No market: the endpoints start on first use, as plain ones do.
                             {"BROKEDANCER_MARKET_SYMBOLS", ""},
                             {"BROKEDANCER_LOG_LEVEL", "warn"}});
  caf::actor_system_config cfg;
  register_message_types(cfg);
  caf::actor_system sys{cfg};
  auto registry =
      caf::actor_cast<breaker_registry_actor>(breakers_child(config).start_with_siblings(sys, {}));
  auto call = [&](const std::string& name) {
    return testing::call<endpoint_response>(sys, registry, call_atom::value, name,
                                            endpoint_request{"ping", "", "", 0, ""});
  };
  for (int i = 0; i < 10; ++i) {
    CHECK_FALSE(call("down"));
    CHECK(call("up"));
  }
  CHECK(is(call("down").error(), errc::breaker_open));
  CHECK(is(call("nowhere").error(), errc::unknown_endpoint));
  auto all = testing::call<std::vector<breaker_stats>>(sys, registry, status_atom::value);
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].endpoint == "down");
  CHECK((*all)[0].state == breaker_state::open);
  CHECK((*all)[1].endpoint == "up");
  CHECK((*all)[1].state == breaker_state::closed);
  CHECK((*all)[1].failures == 0);
  CHECK((*all)[1].successes == 10);
  auto forced = testing::call<breaker_stats>(sys, registry, force_open_atom::value,
                                             std::string{"up"}, std::string{"test"});
  REQUIRE(forced);
  CHECK(forced->state == breaker_state::forced_open);
  CHECK(is(call("up").error(), errc::breaker_open));
  // The breaker dies (its adapter crashed, say): the next call starts a new one, still forced
  // open, because the operator has not lifted it.
  auto old_breaker =
      testing::call<breaker_actor>(sys, registry, breaker_atom::value, std::string{"up"});
  REQUIRE(old_breaker);
  caf::anon_send_exit(*old_breaker, caf::exit_reason::kill);
  std::this_thread::sleep_for(50ms);
  auto new_breaker =
      testing::call<breaker_actor>(sys, registry, breaker_atom::value, std::string{"up"});
  INFO((new_breaker ? std::string{} : sys.render(new_breaker.error())));
  REQUIRE(new_breaker);
  CHECK(*new_breaker != *old_breaker);
  CHECK(is(call("up").error(), errc::breaker_open));
  REQUIRE(testing::call<breaker_stats>(sys, registry, force_close_atom::value, std::string{"up"},
                                       std::string{"done"}));
  CHECK(call("up"));
  caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
}

TEST_CASE(
    "once the emergency level is HALT, no new order goes out and a failed call is not retried",
    "[breaker][retry][emergency]") {
  caf::actor_system_config cfg;
  register_message_types(cfg);
  caf::actor_system sys{cfg};
  auto store = spawn_memory_store(sys, make_memory_store_data(), {1024, 1 << 20}, 1000ms);
  emergency_options emergency_settings;
  emergency_settings.node_name = "test";
  auto controller =
      spawn_emergency_controller(sys, make_emergency_data(), emergency_settings, store, {}, {});
  auto s = std::make_shared<script>();
  auto endpoint = caf::actor_cast<endpoint_actor>(sys.spawn(scripted_endpoint, s));
  auto options = breaker_fixture::defaults();
  options.retry.max_attempts = 3;
  options.retry.initial_backoff = 1ms;
  options.breaker.failure_threshold = 100;
  options.emergency = controller;
  auto breaker = spawn_circuit_breaker(sys, endpoint, options);
  s->mode = script::status_503;
  auto call = [&] {
    return testing::call<endpoint_response>(sys, breaker, call_atom::value,
                                            endpoint_request{"submit_order", "{}", "x", 0, ""});
  };
  // The breaker registers like a bot and acknowledges every level it is told. Until the
  // controller has read the persisted level it tells newcomers HALT (fail safe), so the first
  // call waits until the breaker has heard that trading is allowed.
  auto wait_until_acknowledged = [&](emergency_level level) {
    for (int i = 0; i < 2000; ++i) {
      auto status = testing::call<emergency_status>(sys, controller, status_atom::value);
      if (status && status->restored && status->bots_acknowledged == 1
          && status->current.level == level)
        return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  };
  REQUIRE(wait_until_acknowledged(emergency_level::normal));
  auto before = call();
  REQUIRE(before);
  CHECK(before->attempts == 3);
  REQUIRE(testing::call<level_change>(sys, controller, raise_atom::value, emergency_level::halt,
                                      std::string{"test"}, change_source::operator_request));
  REQUIRE(wait_until_acknowledged(emergency_level::halt));
  // A new order is not sent at all.
  auto order_after = call();
  CHECK(is(order_after.error(), errc::trading_halted));
  // Anything else that fails is not retried.
  auto cancel_after = testing::call<endpoint_response>(
      sys, breaker, call_atom::value, endpoint_request{"cancel_order", "{}", "c", 0, ""});
  REQUIRE(cancel_after);
  CHECK(cancel_after->status == 503);
  CHECK(cancel_after->attempts == 1);
  // An order that only closes exposure goes out, and is retried: SHUTDOWN needs it.
  endpoint_request closing{"submit_order", "{}", "close", 0, ""};
  closing.reduces_risk = true;
  auto closing_after = testing::call<endpoint_response>(sys, breaker, call_atom::value, closing);
  REQUIRE(closing_after);
  CHECK(closing_after->attempts == 3);
  for (const caf::actor& a :
       {caf::actor_cast<caf::actor>(breaker), caf::actor_cast<caf::actor>(endpoint),
        caf::actor_cast<caf::actor>(controller), caf::actor_cast<caf::actor>(store)})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

namespace {

circuit_breaker_options with_budget(uint32_t limit, int64_t window_ms, bool wait) {
  auto o = breaker_fixture::defaults();
  request_budget budget;
  budget.name = "endpoint:scripted";
  budget.limit = {rate_algorithm::sliding_window, limit, window_ms};
  budget.wait = wait;
  o.budget = budget;
  return o;
}

} // namespace

TEST_CASE("an endpoint's request budget holds its calls back until it has room, within the "
          "call's deadline",
          "[breaker][resilience][limiter]") {
  breaker_fixture f;
  // The budget through a real limiter, as the registry hands it over.
  auto options = with_budget(3, 1000, true);
  options.limiter = spawn_memory_limiter(*f.sys, make_memory_limiter_data());
  options.bus = f.bus;
  auto breaker = spawn_circuit_breaker(*f.sys, f.endpoint, options);
  auto call = [&](int64_t timeout_ms = 0) {
    endpoint_request request{"submit_order", R"({"qty":1})", "", timeout_ms, ""};
    return testing::call<endpoint_response>(*f.sys, breaker, call_atom::value, request);
  };
  for (int i = 0; i < 4; ++i)
    REQUIRE(call());
  {
    std::lock_guard<std::mutex> guard{f.endpoint_script->mutex};
    REQUIRE(f.endpoint_script->arrivals.size() == 4);
    // The fourth went out only once the first had left the window (less the time between the
    // first decision and the first call's arrival).
    CHECK(f.endpoint_script->arrivals[3] - f.endpoint_script->arrivals[0] >= 850ms);
  }
  // A call whose deadline comes before the budget has room is refused as such, unsent.
  for (int i = 0; i < 2; ++i)
    REQUIRE(call());
  auto short_call = call(200);
  REQUIRE_FALSE(short_call);
  CHECK(is(short_call.error(), errc::rate_limited));
  CHECK(f.endpoint_script->calls == 6);
  auto stats = testing::call<breaker_stats>(*f.sys, breaker, status_atom::value);
  REQUIRE(stats);
  CHECK(stats->budget_waits >= 1);
  CHECK(stats->rate_limited == 1);
  CHECK(stats->failures == 0); // a spent budget is not the endpoint failing
  caf::anon_send_exit(breaker, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(options.limiter, caf::exit_reason::user_shutdown);
}

TEST_CASE("a budget that says not to wait refuses at once with rate_limited, naming the budget",
          "[breaker][resilience][limiter]") {
  breaker_fixture f{with_budget(2, 60000, false)};
  REQUIRE(f.call());
  REQUIRE(f.call());
  auto started = std::chrono::steady_clock::now();
  auto refused = f.call();
  REQUIRE_FALSE(refused);
  CHECK(std::chrono::steady_clock::now() - started < 1s);
  CHECK(is(refused.error(), errc::rate_limited));
  CHECK_THAT(f.sys->render(refused.error()),
             Catch::Contains("scripted: its request budget (2 per 60000 ms) is spent"));
  CHECK(f.endpoint_script->calls == 2);
  // Without a limiter the breaker keeps the budget itself.
  CHECK(f.stats().budget_local == 3);
}

TEST_CASE("a breaker whose rate limiter is gone keeps the endpoint's budget on its own",
          "[breaker][resilience][limiter]") {
  breaker_fixture f{with_budget(2, 60000, false)};
  auto options = with_budget(2, 60000, false);
  options.limiter = spawn_memory_limiter(*f.sys, make_memory_limiter_data());
  options.bus = f.bus;
  {
    caf::scoped_actor self{*f.sys};
    self->monitor(options.limiter);
    caf::anon_send_exit(options.limiter, caf::exit_reason::kill);
    self->receive([](caf::down_msg&) {});
  }
  auto breaker = spawn_circuit_breaker(*f.sys, f.endpoint, options);
  auto call = [&] {
    endpoint_request request{"submit_order", R"({"qty":1})", "", 0, ""};
    return testing::call<endpoint_response>(*f.sys, breaker, call_atom::value, request);
  };
  CHECK(call());
  CHECK(call());
  auto refused = call();
  REQUIRE_FALSE(refused);
  CHECK(is(refused.error(), errc::rate_limited));
  auto stats = testing::call<breaker_stats>(*f.sys, breaker, status_atom::value);
  REQUIRE(stats);
  CHECK(stats->budget_local == 3);
  caf::anon_send_exit(breaker, caf::exit_reason::user_shutdown);
}

TEST_CASE("a call whose deadline passes while it waits in the budget's line ends rate_limited, "
          "unsent",
          "[breaker][resilience][limiter]") {
  breaker_fixture f{with_budget(1, 1000, true)};
  REQUIRE(f.call());
  // The second waits for the budget's room (about a second); the third, behind it, has 300 ms.
  auto second = std::async(std::launch::async, [&] { return f.call("", 5000); });
  std::this_thread::sleep_for(100ms);
  auto third = f.call("", 300);
  REQUIRE_FALSE(third);
  CHECK(is(third.error(), errc::rate_limited));
  CHECK_THAT(f.sys->render(third.error()), Catch::Contains("not sent"));
  CHECK(second.get());
  CHECK(f.endpoint_script->calls == 2);
  CHECK(f.stats().timeouts == 0);
}
