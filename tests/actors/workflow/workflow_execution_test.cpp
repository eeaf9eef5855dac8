// One execution on real services (the memory store and bus, the emergency controller, the risk
// monitor and its simulated exchange): the guide's events in their order, retries, timeouts,
// failures, a HALT in the middle, and the checkpoints it leaves.

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

#include <caf/scoped_actor.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/requests.hpp"
#include "support/workflow_fixture.hpp"
#include "support/workflow_nodes.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;
using json = nlohmann::json;
using Catch::Matchers::Contains;

using testing::execution_fixture;

TEST_CASE("a successful execution publishes the guide's events in order and writes its result",
          "[workflow]") {
  execution_fixture f;
  auto result =
      f.run({testing::node_json("a", "wait", {{"ms", 10}}),
             testing::node_json("b", "add", {{"b", 5}}, {{"a", "a.waited"}}),
             testing::node_json("keep", "state_set", {{"key", "last"}}, {{"value", "b.value"}})});
  CHECK(result["status"] == "completed");
  CHECK(result["outputs"]["b"]["value"] == 15.0);
  auto id = result["execution_id"].get<std::string>();
  CHECK_THAT(id, Catch::Matchers::StartsWith("exec_wf_test_"));
  auto events = f.events_of(id);
  CHECK(f.types_of(events)
        == std::vector<std::string>{"execution_started", "node_started:a", "node_completed:a",
                                    "node_started:b", "node_completed:b", "node_started:keep",
                                    "node_completed:keep", "execution_completed"});
  const auto& started = events.front();
  CHECK(started["workflow_id"] == "wf_test");
  CHECK(started["bot_id"] == "bot_007");
  CHECK(started["strategy_id"] == "s_1");
  CHECK(started["node_count"] == 3);
  CHECK_THAT(started["timestamp"].get<std::string>(), Catch::Matchers::EndsWith("Z"));
  const auto& completed = events[2];
  CHECK(completed["node_name"] == "a");
  CHECK(completed["node_category"] == "providers");
  CHECK(completed["status"] == "success");
  CHECK(completed["outputs"]["waited"] == 10);
  CHECK(completed["duration_ms"].get<double>() >= 10);
  CHECK(events.back()["node_count"] == 3);
  CHECK(events.back()["duration_ms"].get<double>() > 0);
  // The checkpoints: status with each node's progress, the result, the latest, the history.
  auto status = f.stored(execution_status_key("wf_test", id));
  REQUIRE(status);
  CHECK((*status)["status"] == "completed");
  CHECK((*status)["nodes"]["b"]["status"] == "completed");
  CHECK((*status)["nodes"]["b"]["outputs"]["value"] == 15.0);
  CHECK(f.stored(execution_result_key("wf_test", id)));
  CHECK(f.stored(latest_execution_key("wf_test")) == json(id));
  CHECK(f.stored("workflow:wf_test:state:last") == json(15.0));
}

TEST_CASE("a diamond's two branches run at the same time", "[workflow]") {
  execution_fixture f;
  auto result = f.run({testing::node_json("top", "wait", {{"ms", 1}}),
                       testing::node_json("left", "wait", {{"ms", 300}}),
                       testing::node_json("right", "wait", {{"ms", 300}}),
                       testing::node_json("join", "add", json::object(),
                                          {{"a", "left.waited"}, {"b", "right.waited"}})});
  REQUIRE(result["status"] == "completed");
  auto types = f.types_of(f.events_of(result["execution_id"]));
  auto at = [&](const std::string& t) {
    return std::find(types.begin(), types.end(), t) - types.begin();
  };
  // Both started before either finished.
  CHECK(at("node_started:left") < at("node_completed:right"));
  CHECK(at("node_started:right") < at("node_completed:left"));
  CHECK(result["outputs"]["join"]["value"] == 600.0);
}

TEST_CASE("a provider that fails as unavailable is retried with backoff, then completes",
          "[workflow]") {
  execution_fixture f;
  auto flaky = testing::node_json("feed", "flaky");
  flaky["retry"] = {{"attempts", 3}, {"first_delay_ms", 20}, {"factor", 2}, {"cap_ms", 1000}};
  auto result = f.run({flaky});
  CHECK(result["status"] == "completed");
  auto events = f.events_of(result["execution_id"]);
  CHECK(f.types_of(events)
        == std::vector<std::string>{"execution_started", "node_started:feed", "node_retrying:feed",
                                    "node_started:feed", "node_retrying:feed", "node_started:feed",
                                    "node_completed:feed", "execution_completed"});
  CHECK(events[2]["retry_in_ms"] == 20);
  CHECK(events[4]["retry_in_ms"] == 40);
  CHECK(events[4]["error"] == "venue busy");
  CHECK(events[6]["attempts"] == 3);
}

TEST_CASE("an attempt answered before its timeout is not failed again by it while the retry "
          "waits",
          "[workflow]") {
  execution_fixture f;
  auto flaky = testing::node_json("feed", "slow_flaky");
  flaky["timeout"] = 0.1;
  flaky["retry"] = {{"attempts", 3},
                    {"first_delay_ms", 300},
                    {"factor", 1},
                    {"cap_ms", 300},
                    {"on", {"unavailable", "timeout"}}};
  auto result = f.run({flaky});
  CHECK(result["status"] == "completed");
  CHECK(f.types_of(f.events_of(result["execution_id"]))
        == std::vector<std::string>{"execution_started", "node_started:feed", "node_retrying:feed",
                                    "node_started:feed", "node_retrying:feed", "node_started:feed",
                                    "node_completed:feed", "execution_completed"});
  CHECK(*f.slow_flaky_calls == 3);
}

TEST_CASE("a node whose outputs are not what its type declares fails", "[workflow]") {
  execution_fixture f;
  auto result = f.run({testing::node_json("lie", "liar")});
  CHECK(result["status"] == "failed");
  CHECK_THAT(result["error"].get<std::string>(), Contains("its output waited is not number"));
}

TEST_CASE("a node that does not answer in time fails the execution as timed out", "[workflow]") {
  execution_fixture f;
  auto silent = testing::node_json("silent", "never");
  silent["timeout"] = 0.2;
  silent["retry"] = {{"attempts", 2}, {"first_delay_ms", 10}};
  auto after = testing::node_json("after", "add", {{"b", 1}}, {{"a", "silent.waited"}});
  auto result = f.run({silent, after});
  CHECK(result["status"] == "failed");
  CHECK(result["failed_node"] == "silent");
  CHECK_THAT(result["error"].get<std::string>(), Contains("timeout"));
  auto events = f.events_of(result["execution_id"]);
  CHECK(f.types_of(events)
        == std::vector<std::string>{"execution_started", "node_started:silent",
                                    "node_retrying:silent", "node_started:silent",
                                    "node_failed:silent", "execution_failed"});
  CHECK(events[4]["error_kind"] == "timeout");
  CHECK(events[4]["duration_ms"].get<double>() >= 200);
}

TEST_CASE("a failing node and a throwing node fail the execution with their reasons",
          "[workflow]") {
  execution_fixture f;
  auto zero = f.run({testing::node_json("z", "flaky"),
                     testing::node_json("q", "divide", {{"b", 0}}, {{"a", "z.waited"}})});
  CHECK(zero["status"] == "failed");
  CHECK(zero["failed_node"] == "q");
  CHECK_THAT(zero["error"].get<std::string>(), Contains("division by zero"));
  auto threw = f.run({testing::node_json("t", "thrower")});
  CHECK(threw["status"] == "failed");
  CHECK_THAT(threw["error"].get<std::string>(), Contains("the node threw: boom"));
}

TEST_CASE("a HALT during a long node ends the execution before its order node starts",
          "[workflow]") {
  execution_fixture f;
  auto order = testing::node_json("buy", "submit_order",
                                  {{"symbol", "BTC-USD"}, {"side", "buy"}, {"quantity", 1}}, {});
  order["inputs"] = {{"price", "long.waited"}};
  caf::scoped_actor listener{*f.sys};
  f.start({testing::node_json("long", "wait", {{"ms", 1500}}), order}, listener);
  // Once the long node runs, HALT.
  auto long_node_started = [&] {
    std::lock_guard<std::mutex> lock{*f.mutex};
    return std::any_of(f.events->begin(), f.events->end(), [](const json& e) {
      return e["type"] == "node_started" && e["node_id"] == "long";
    });
  };
  for (int i = 0; i < 2000 && !long_node_started(); ++i)
    std::this_thread::sleep_for(5ms);
  REQUIRE(long_node_started());
  std::this_thread::sleep_for(50ms);
  auto emergency = caf::actor_cast<emergency_actor>(f.services.emergency);
  auto change =
      testing::call<level_change>(*f.sys, emergency, raise_atom::value, emergency_level::halt,
                                  std::string{"test halt"}, change_source::operator_request);
  REQUIRE(change);
  auto result = f.result_from(listener);
  CHECK(result["status"] == "halted");
  CHECK(result["reason"] == "HALT: test halt");
  auto types = f.types_of(f.events_of(result["execution_id"]));
  CHECK(types.back() == "execution_halted");
  CHECK(std::find(types.begin(), types.end(), "node_started:buy") == types.end());
  // It acknowledged the HALT, and no order reached the risk monitor.
  auto acked = testing::call<int64_t>(*f.sys, emergency, await_ack_atom::value, change->sequence);
  CHECK(acked);
  auto risk = testing::call<risk_status>(*f.sys, f.services.risk, status_atom::value);
  REQUIRE(risk);
  CHECK(risk->orders_filled + risk->orders_rejected + risk->orders_failed == 0);
  // Started at HALT, an execution ends at once.
  auto late = f.run({testing::node_json("x", "wait", {{"ms", 1}})});
  CHECK(late["status"] == "halted");
}

TEST_CASE("an order still out when a HALT ends the execution is named in its result",
          "[workflow]") {
  // The exchange answers after 1.5 s: the order is out when the HALT comes.
  execution_fixture f{{{"BROKEDANCER_RESILIENCE_ENDPOINTS_EXCHANGE_LATENCY_MS", "1500"}}};
  caf::scoped_actor listener{*f.sys};
  f.start({testing::node_json(
              "buy", "submit_order",
              {{"symbol", "BTC-USD"}, {"side", "buy"}, {"quantity", 1}, {"price", 100}})},
          listener);
  auto order_out = [&] {
    auto s = testing::call<risk_status>(*f.sys, f.services.risk, status_atom::value);
    return s && s->journal_open > 0;
  };
  for (int i = 0; i < 2000 && !order_out(); ++i)
    std::this_thread::sleep_for(5ms);
  REQUIRE(order_out());
  REQUIRE(testing::call<level_change>(
      *f.sys, caf::actor_cast<emergency_actor>(f.services.emergency), raise_atom::value,
      emergency_level::halt, std::string{"test halt"}, change_source::operator_request));
  auto result = f.result_from(listener);
  CHECK(result["status"] == "halted");
  REQUIRE(result["orders_unanswered"].size() == 1);
  CHECK(result["orders_unanswered"][0]["node_id"] == "buy");
  CHECK(result["orders_unanswered"][0]["client_order_id"]
        == result["execution_id"].get<std::string>() + "-buy");
}

TEST_CASE("an order node goes through the risk monitor and is filled", "[workflow]") {
  execution_fixture f;
  auto result = f.run({testing::node_json(
      "buy", "submit_order",
      {{"symbol", "BTC-USD"}, {"side", "buy"}, {"quantity", 0.5}, {"price", 100}})});
  INFO(result.dump());
  CHECK(result["status"] == "completed");
  CHECK(result["outputs"]["buy"]["outcome"] == "filled");
  CHECK(result["outputs"]["buy"]["filled_quantity"] == 0.5);
  auto risk = testing::call<risk_status>(*f.sys, f.services.risk, status_atom::value);
  REQUIRE(risk);
  CHECK(risk->orders_filled == 1);
}

TEST_CASE("a subscriber that throws does not disturb an execution", "[workflow]") {
  execution_fixture f;
  auto thrower = f.sys->spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](const event&) {
      throw std::runtime_error("a subscriber's bug");
    }};
  });
  REQUIRE(testing::call<uint64_t>(*f.sys, f.services.bus, subscribe_atom::value,
                                  std::string{workflow_events_topic}, thrower));
  auto result = f.run(
      {testing::node_json("a", "wait", {{"ms", 5}}), testing::node_json("b", "wait", {{"ms", 5}})});
  CHECK(result["status"] == "completed");
  CHECK(f.types_of(f.events_of(result["execution_id"])).size() == 6);
}
