// The executor on real services: workflows started on a schedule and on events, held from HALT
// up and started again once the level is lowered, each behind its own breaker.

#include <chrono>
#include <thread>

#include <caf/scoped_actor.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "actors/workflow/workflow_executor.hpp"
#include "support/requests.hpp"
#include "support/workflow_fixture.hpp"
#include "support/workflow_nodes.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;
using json = nlohmann::json;
using Catch::Matchers::Contains;

namespace {

struct executor_fixture : testing::execution_fixture {
  caf::actor executor;

  ~executor_fixture() {
    if (executor)
      caf::anon_send_exit(executor, caf::exit_reason::user_shutdown);
  }

  std::shared_ptr<const workflow_definition> workflow(const std::string& id, json trigger,
                                                      json nodes_json) {
    json document{{"id", id}, {"nodes", std::move(nodes_json)}};
    if (!trigger.is_null())
      document["trigger"] = std::move(trigger);
    auto parsed = parse_workflow(document, nodes->catalogue());
    REQUIRE(parsed.workflow);
    return std::make_shared<const workflow_definition>(std::move(*parsed.workflow));
  }

  void start_executor(std::vector<std::shared_ptr<const workflow_definition>> workflows,
                      uint32_t breaker_failures = 5) {
    executor_options options;
    options.workflows = std::move(workflows);
    options.nodes = nodes;
    options.services = services;
    options.breaker.failure_threshold = breaker_failures;
    options.breaker.failure_rate_threshold = 0;
    options.breaker.recovery_timeout = 1h;
    executor = spawn_workflow_executor(*sys, std::move(options));
  }

  // What the executor said when it refused a request ("" when it did not refuse).
  template <class... Ts>
  std::string refusal(Ts&&... xs) {
    auto answer = testing::call<std::string>(*sys, executor, std::forward<Ts>(xs)...);
    return answer ? std::string{} : sys->render(answer.error());
  }

  json status() {
    auto text = testing::call<std::string>(*sys, executor, status_atom::value);
    REQUIRE(text);
    return json::parse(*text);
  }

  json entry(const std::string& workflow_id) {
    auto all = status();
    for (const auto& w : all["workflows"])
      if (w["workflow_id"] == workflow_id)
        return w;
    FAIL("no workflow " << workflow_id << " in the executor's status");
    return nullptr;
  }

  // Until `wanted` holds of the workflow's entry (10 s at most).
  json await_entry(const std::string& workflow_id, const std::function<bool(const json&)>& wanted) {
    json e;
    for (int i = 0; i < 1000; ++i) {
      e = entry(workflow_id);
      if (wanted(e))
        return e;
      std::this_thread::sleep_for(10ms);
    }
    FAIL("the workflow never got there: " << e.dump());
    return e;
  }

  level_change set_level(emergency_level level, bool raise) {
    auto emergency = caf::actor_cast<emergency_actor>(services.emergency);
    auto change =
        raise ? testing::call<level_change>(*sys, emergency, raise_atom::value, level,
                                            std::string{"test"}, change_source::operator_request)
              : testing::call<level_change>(*sys, emergency, resume_atom::value, level,
                                            std::string{"test over"},
                                            change_source::operator_request);
    REQUIRE(change);
    return *change;
  }
};

} // namespace

TEST_CASE("a scheduled workflow runs on its schedule, is held from HALT up, and starts again "
          "once the level is lowered",
          "[workflow][executor]") {
  executor_fixture f;
  f.start_executor(
      {f.workflow("tick", {{"every_s", 0.1}}, {testing::node_json("w", "wait", {{"ms", 5}})})});
  f.await_entry("tick", [](const json& e) { return e["completed"].get<int>() >= 3; });
  f.set_level(emergency_level::halt, true);
  // Whatever was running when the level rose has ended by now (each execution obeys it).
  auto halted = f.await_entry("tick", [](const json& e) { return e["running"] == 0; });
  std::this_thread::sleep_for(600ms);
  auto held = f.entry("tick");
  CHECK(held["started"] == halted["started"]);
  CHECK(held["held"].get<int>() >= 3);
  CHECK(f.status()["starting"] == false);
  f.set_level(emergency_level::normal, false);
  auto resumed = f.await_entry("tick", [&](const json& e) {
    return e["completed"].get<int>() >= halted["completed"].get<int>() + 2;
  });
  CHECK(resumed["last_status"] == "completed");
  CHECK(resumed["breaker"]["state"] == "CLOSED");
  // Its executions left their history: the latest one's result is stored.
  auto latest = f.stored(latest_execution_key("tick"));
  REQUIRE(latest);
  CHECK(latest->get<std::string>().rfind("exec_tick_", 0) == 0);
}

TEST_CASE("an event trigger starts its workflow for each matching event, and not for its own "
          "events",
          "[workflow][executor]") {
  executor_fixture f;
  // "*" matches everything, the workflow's own workflow_events included.
  f.start_executor({f.workflow("on_bar", {{"event", "bars.*.1m"}},
                               {testing::node_json("c", "constant", {{"value", 1}})}),
                    f.workflow("on_all", {{"event", "*"}},
                               {testing::node_json("c", "constant", {{"value", 2}})})});
  auto publish = [&](const char* topic) {
    REQUIRE(testing::call<uint64_t>(*f.sys, f.services.bus, publish_atom::value, std::string{topic},
                                    std::string{"{}"}, correlation_id{}));
  };
  auto heard = [&] {
    auto e = f.entry("on_bar");
    return e["completed"].get<int>() + e["skipped_busy"].get<int>();
  };
  // Until the subscriptions are in place an event goes unheard: publish until one is.
  for (int i = 0; i < 100 && heard() == 0; ++i) {
    publish("bars.BTC-USD.1m");
    testing::eventually([&] { return heard() > 0; }, 100ms);
  }
  REQUIRE(heard() > 0);
  auto before = heard();
  for (int i = 1; i <= 2; ++i) {
    publish("bars.ETH-USD.1m");
    f.await_entry("on_bar", [&](const json& e) {
      return e["completed"].get<int>() + e["skipped_busy"].get<int>() == before + i;
    });
  }
  publish("bars.BTC-USD.5m");
  publish("market.BTC-USD");
  std::this_thread::sleep_for(500ms);
  CHECK(heard() == before + 2);
  // on_all heard every event and on_bar's workflow events, never its own: it ran a bounded
  // number of times and has stopped.
  auto on_all = f.await_entry("on_all", [](const json& e) { return e["running"] == 0; });
  std::this_thread::sleep_for(500ms);
  auto later = f.entry("on_all");
  CHECK(later["started"] == on_all["started"]);
  CHECK(later["started"].get<int>() >= 1);
}

TEST_CASE("a workflow's breaker opens after failed executions in a row and refuses at once, and an "
          "operator can close it",
          "[workflow][executor]") {
  executor_fixture f;
  f.start_executor({f.workflow("fragile", nullptr, {testing::node_json("t", "thrower")})}, 3);
  f.await_entry("fragile", [&](const json&) { return f.status()["starting"] == true; });
  for (int i = 0; i < 3; ++i) {
    auto id = testing::call<std::string>(*f.sys, f.executor, start_workflow_atom::value,
                                         std::string{"fragile"});
    REQUIRE(id);
    f.await_entry("fragile", [&](const json& e) { return e["failed"].get<int>() == i + 1; });
  }
  auto open = f.entry("fragile");
  CHECK(open["breaker"]["state"] == "OPEN");
  CHECK_THAT(open["breaker"]["last_failure"].get<std::string>(), Contains("the node threw"));
  // Refused without running a node: no execution starts.
  auto refused = f.refusal(start_workflow_atom::value, std::string{"fragile"});
  CHECK_THAT(refused, Contains("breaker of workflow fragile is open"));
  CHECK(f.entry("fragile")["started"] == 3);
  auto closed = testing::call<std::string>(*f.sys, f.executor, workflow_breaker_atom::value,
                                           std::string{"fragile"}, std::string{"force_close"},
                                           std::string{"fixed the venue"});
  REQUIRE(closed);
  CHECK(json::parse(*closed)["breaker"]["state"] == "CLOSED");
  CHECK(testing::call<std::string>(*f.sys, f.executor, start_workflow_atom::value,
                                   std::string{"fragile"}));
  // Unknown names and actions are refused with what was wrong.
  auto unknown = f.refusal(start_workflow_atom::value, std::string{"nope\x1b[2J"});
  CHECK_THAT(unknown, Contains("no workflow") && Contains("u001b[2J"));
  CHECK(unknown.find('\x1b') == std::string::npos);
  CHECK_THAT(f.refusal(workflow_breaker_atom::value, std::string{"fragile"}, std::string{"explode"},
                       std::string{}),
             Contains("expected force_open, force_close or reset"));
}

TEST_CASE("on demand, a workflow does not start at HALT", "[workflow][executor]") {
  executor_fixture f;
  f.start_executor(
      {f.workflow("manual", nullptr, {testing::node_json("c", "constant", {{"value", 1}})})});
  f.await_entry("manual", [&](const json&) { return f.status()["starting"] == true; });
  f.set_level(emergency_level::halt, true);
  f.await_entry("manual", [&](const json&) { return f.status()["starting"] == false; });
  CHECK_THAT(f.refusal(start_workflow_atom::value, std::string{"manual"}),
             Contains("HALT or higher"));
  CHECK(f.entry("manual")["started"] == 0);
}
