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
                      uint32_t breaker_failures = 5,
                      std::shared_ptr<executor_memory> memory = nullptr,
                      int64_t history_retention_ms = 3600 * 1000) {
    executor_options options;
    options.memory = std::move(memory);
    options.history_retention_ms = history_retention_ms;
    options.workflows = std::move(workflows);
    options.nodes = nodes;
    options.services = services;
    options.breaker.failure_threshold = breaker_failures;
    options.breaker.failure_rate_threshold = 0;
    options.breaker.recovery_timeout = 1h;
    options.node_name = "test-node";
    executor = spawn_workflow_executor(*sys, std::move(options));
  }

  // What the executor said when it refused a request ("" when it did not refuse).
  template <class... Ts>
  std::string refusal(Ts&&... xs) {
    auto answer = testing::call<std::string>(*sys, executor, std::forward<Ts>(xs)...);
    return answer ? std::string{} : sys->render(answer.error());
  }

  // As the supervisor does: the next incarnation starts once the last one is gone.
  void crash_executor() {
    caf::scoped_actor watcher{*sys};
    watcher->monitor(executor);
    caf::anon_send_exit(executor, caf::exit_reason::kill);
    watcher->receive([](caf::down_msg&) {});
    executor = nullptr;
  }

  // Until the executor knows the level and lets workflows start.
  void await_starting() {
    REQUIRE(testing::eventually([&] { return status()["starting"] == true; }));
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
                               {testing::node_json("c", "constant", {{"value", 2}})}),
                    // Each of these would trigger the other for ever if executions' events
                    // counted.
                    f.workflow("ping", {{"event", "workflow_*"}},
                               {testing::node_json("c", "constant", {{"value", 3}})}),
                    f.workflow("pong", {{"event", "workflow_events"}},
                               {testing::node_json("c", "constant", {{"value", 4}})})});
  auto publish = [&](const char* topic) {
    REQUIRE(testing::call<uint64_t>(*f.sys, f.services.bus, publish_atom::value, std::string{topic},
                                    std::string{"{}"}, correlation_id{}));
  };
  for (const char* id : {"on_all", "ping", "pong"})
    f.await_entry(id, [](const json& e) { return e["subscribed"] == true; });
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
  // on_all heard the events published here, not the executions' own: it ran once for each
  // and has stopped.
  auto on_all = f.await_entry("on_all", [](const json& e) { return e["running"] == 0; });
  std::this_thread::sleep_for(500ms);
  auto later = f.entry("on_all");
  CHECK(later["started"] == on_all["started"]);
  CHECK(later["started"].get<int>() >= 1);
  // Nothing but executions published on workflow_events: neither of the two ever started.
  CHECK(f.entry("ping")["started"] == 0);
  CHECK(f.entry("pong")["started"] == 0);
}

TEST_CASE("an event-triggered execution reads the event that started it", "[workflow][executor]") {
  executor_fixture f;
  f.start_executor({f.workflow("on_bar", {{"event", "bars.*.1m"}},
                               {testing::node_json("bar", "trigger_event"),
                                testing::node_json("keep", "state_set", {{"key", "last_bar"}},
                                                   {{"value", "bar.payload"}})})});
  f.await_entry("on_bar", [](const json& e) { return e["subscribed"] == true; });
  json bar{{"symbol", "BTC-USD"}, {"close", 101.5}};
  REQUIRE(testing::call<uint64_t>(*f.sys, f.services.bus, publish_atom::value,
                                  std::string{"bars.BTC-USD.1m"}, bar.dump(), correlation_id{}));
  auto done = f.await_entry("on_bar", [](const json& e) { return e["completed"] == 1; });
  auto kept = testing::call<maybe_value>(*f.sys, f.services.store, get_atom::value,
                                         std::string{"workflow:on_bar:state:last_bar"});
  REQUIRE(kept);
  REQUIRE(kept->found);
  CHECK(json::parse(kept->json) == bar);
  // The checkpoint keeps it, for a resume.
  auto status = testing::call<maybe_value>(
      *f.sys, f.services.store, get_atom::value,
      execution_status_key("on_bar", done["last_execution_id"].get<std::string>()));
  REQUIRE(status);
  REQUIRE(status->found);
  CHECK(json::parse(status->json)["trigger"]["topic"] == "bars.BTC-USD.1m");
}

TEST_CASE("a trigger_event node fails an execution no event started", "[workflow][executor]") {
  testing::execution_fixture f;
  auto result = f.run({testing::node_json("bar", "trigger_event")});
  CHECK(result["status"] == "failed");
  CHECK_THAT(result["error"].get<std::string>(), Contains("not started by an event"));
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

TEST_CASE("events published by executions trigger no workflow", "[workflow][executor]") {
  executor_fixture f;
  f.start_executor(
      {f.workflow("chatty", nullptr,
                  {testing::node_json("say", "publish_event", {{"topic", "signals.chatty"}}, {})}),
       f.workflow("listener", {{"event", "signals.*"}},
                  {testing::node_json("c", "constant", {{"value", 1}})})});
  f.await_entry("chatty", [&](const json&) { return f.status()["starting"] == true; });
  f.await_entry("listener", [](const json& e) { return e["subscribed"] == true; });
  REQUIRE(testing::call<std::string>(*f.sys, f.executor, start_workflow_atom::value,
                                     std::string{"chatty"}));
  f.await_entry("chatty", [](const json& e) { return e["completed"] == 1; });
  // A client's event on the same topic does.
  REQUIRE(testing::call<uint64_t>(*f.sys, f.services.bus, publish_atom::value,
                                  std::string{"signals.client"}, std::string{"{}"},
                                  correlation_id{"client-1"}));
  f.await_entry("listener", [](const json& e) { return e["completed"] == 1; });
  std::this_thread::sleep_for(300ms);
  CHECK(f.entry("listener")["started"] == 1);
}

TEST_CASE("an operator cancels a running execution, and its history lists it first",
          "[workflow][executor]") {
  executor_fixture f;
  f.start_executor(
      {f.workflow("slow", nullptr, {testing::node_json("w", "wait", {{"ms", 20000}})}),
       f.workflow("fast", nullptr, {testing::node_json("c", "constant", {{"value", 1}})})});
  f.await_entry("slow", [&](const json&) { return f.status()["starting"] == true; });
  for (int i = 1; i <= 3; ++i) {
    REQUIRE(testing::call<std::string>(*f.sys, f.executor, start_workflow_atom::value,
                                       std::string{"fast"}));
    f.await_entry("fast", [&](const json& e) { return e["completed"] == i; });
  }
  auto id = testing::call<std::string>(*f.sys, f.executor, start_workflow_atom::value,
                                       std::string{"slow"});
  REQUIRE(id);
  CHECK_THAT(f.refusal(cancel_execution_atom::value, *id, std::string{"bad\nreason"}),
             Contains("the reason"));
  auto cancelled = testing::call<std::string>(*f.sys, f.executor, cancel_execution_atom::value, *id,
                                              std::string{"wrong venue"});
  REQUIRE(cancelled);
  CHECK(json::parse(*cancelled)["status"] == "cancelling");
  auto e = f.await_entry("slow", [](const json& x) { return x["cancelled"] == 1; });
  CHECK(e["running"] == 0);
  CHECK(e["breaker"]["failures"] == 0);
  CHECK_THAT(f.refusal(cancel_execution_atom::value, *id, std::string{"again"}),
             Contains("no running execution"));
  // The history: newest first, as many as asked, read from the store.
  json history;
  for (int i = 0; i < 100 && history.size() != 2; ++i) {
    auto text = testing::call<std::string>(*f.sys, f.executor, workflow_history_atom::value,
                                           std::string{"fast"}, uint32_t{2});
    REQUIRE(text);
    history = json::parse(*text);
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE(history.size() == 2);
  CHECK(history[0]["execution_id"] == f.entry("fast")["last_execution_id"]);
  CHECK(history[0]["status"] == "completed");
  auto slow_text = testing::call<std::string>(*f.sys, f.executor, workflow_history_atom::value,
                                              std::string{"slow"}, uint32_t{10});
  REQUIRE(slow_text);
  auto slow = json::parse(*slow_text);
  REQUIRE(slow.size() == 1);
  CHECK(slow[0]["status"] == "cancelled");
  CHECK_THAT(f.refusal(workflow_history_atom::value, std::string{"fast"}, uint32_t{0}),
             Contains("from 1 to 1000"));
}

TEST_CASE("a restarted executor keeps a forced-open breaker and counts what still runs",
          "[workflow][executor]") {
  executor_fixture f;
  auto memory = make_executor_memory();
  auto definitions = std::vector<std::shared_ptr<const workflow_definition>>{
      f.workflow("slow", nullptr, {testing::node_json("w", "wait", {{"ms", 1500}})}),
      f.workflow("fenced", nullptr, {testing::node_json("c", "constant", {{"value", 1}})})};
  f.start_executor(definitions, 5, memory);
  f.await_entry("slow", [&](const json&) { return f.status()["starting"] == true; });
  REQUIRE(testing::call<std::string>(*f.sys, f.executor, workflow_breaker_atom::value,
                                     std::string{"fenced"}, std::string{"force_open"},
                                     std::string{"maintenance"}));
  REQUIRE(testing::call<std::string>(*f.sys, f.executor, start_workflow_atom::value,
                                     std::string{"slow"}));
  // The executor crashes while "slow" runs; the supervisor would start it again like this.
  f.crash_executor();
  f.start_executor(definitions, 5, memory);
  f.await_entry("slow", [&](const json&) { return f.status()["starting"] == true; });
  CHECK(f.entry("fenced")["breaker"]["state"] == "FORCED_OPEN");
  CHECK(f.entry("slow")["running"] == 1);
  // max_running (1) holds across the restart.
  CHECK_THAT(f.refusal(start_workflow_atom::value, std::string{"slow"}), Contains("already runs"));
  // Its end is seen, not its result (that went to the old incarnation).
  auto ended = f.await_entry("slow", [](const json& e) { return e["running"] == 0; });
  CHECK(ended["lost"] == 1);
  CHECK(ended["failed"] == 0);
}

TEST_CASE("past the retention, an execution's history entry and its keys are dropped",
          "[workflow][executor]") {
  executor_fixture f;
  auto memory = make_executor_memory();
  auto definitions = std::vector<std::shared_ptr<const workflow_definition>>{
      f.workflow("fast", nullptr, {testing::node_json("c", "constant", {{"value", 1}})})};
  f.start_executor(definitions, 5, memory);
  f.await_entry("fast", [&](const json&) { return f.status()["starting"] == true; });
  std::vector<std::string> ids;
  for (int i = 1; i <= 2; ++i) {
    auto id = testing::call<std::string>(*f.sys, f.executor, start_workflow_atom::value,
                                         std::string{"fast"});
    REQUIRE(id);
    ids.push_back(*id);
    f.await_entry("fast", [&](const json& e) { return e["completed"] == i; });
  }
  auto history_size = [&] {
    auto text = testing::call<std::string>(*f.sys, f.executor, workflow_history_atom::value,
                                           std::string{"fast"}, uint32_t{10});
    return text ? json::parse(*text).size() : size_t{99};
  };
  REQUIRE(testing::eventually(
      [&] { return history_size() == 2 && f.stored(execution_result_key("fast", ids[1])); }));
  // A third, three seconds later; then an incarnation that keeps two seconds trims at its start:
  // the first two go with their keys, the third stays.
  std::this_thread::sleep_for(3s);
  auto third = testing::call<std::string>(*f.sys, f.executor, start_workflow_atom::value,
                                          std::string{"fast"});
  REQUIRE(third);
  f.await_entry("fast", [&](const json& e) { return e["completed"] == 3; });
  REQUIRE(testing::eventually([&] { return history_size() == 3; }));
  f.crash_executor();
  f.start_executor(definitions, 5, memory, 2000);
  CHECK(testing::eventually([&] { return history_size() == 1; }));
  for (const auto& id : ids) {
    CHECK_FALSE(f.stored(execution_result_key("fast", id)));
    CHECK_FALSE(f.stored(execution_status_key("fast", id)));
  }
  CHECK(f.stored(execution_result_key("fast", *third)));
  CHECK(f.stored(execution_status_key("fast", *third)));
}

namespace {

// o (not idempotent) -> c (crash_once: its execution's actor fails the first time) -> k.
json interrupted_graph(int crash_after_ms) {
  auto once = testing::node_json("o", "counted");
  once["idempotent"] = false;
  return json::array(
      {once,
       testing::node_json("c", "crash_once", {{"ms", crash_after_ms}}, {{"after", "o.waited"}}),
       testing::node_json("k", "counted", {}, {{"after", "c.waited"}})});
}

std::string resume_refusal(executor_fixture& f, const std::string& execution_id) {
  return f.refusal(resume_execution_atom::value, execution_id, std::string{"test"});
}

} // namespace

TEST_CASE("an execution whose actor fails is reported interrupted, and resume completes it "
          "without running its non-idempotent node again",
          "[workflow][executor][resume]") {
  executor_fixture f;
  f.start_executor({f.workflow("crashy", nullptr, interrupted_graph(10))});
  f.await_starting();
  auto id = testing::call<std::string>(*f.sys, f.executor, start_workflow_atom::value,
                                       std::string{"crashy"});
  REQUIRE(id);
  auto e = f.await_entry("crashy", [&](const json& x) { return x["interrupted"].size() == 1; });
  CHECK(e["interrupted"][0] == *id);
  CHECK(e["running"] == 0);
  auto status = f.stored(execution_status_key("crashy", *id));
  REQUIRE(status);
  CHECK((*status)["status"] == "interrupted");
  CHECK((*status)["interruptions"] == 1);
  CHECK((*status)["nodes"]["o"]["status"] == "completed");
  CHECK_FALSE(f.stored(running_marker_key("crashy", *id)));
  CHECK(f.counted("o") == 1);
  auto history = json::parse(*testing::call<std::string>(
      *f.sys, f.executor, workflow_history_atom::value, std::string{"crashy"}, uint32_t{10}));
  REQUIRE(history.size() == 1);
  CHECK(history[0]["status"] == "interrupted");
  // The event says so, under the execution's correlation id.
  REQUIRE(testing::eventually([&] {
    std::lock_guard<std::mutex> lock{*f.mutex};
    for (const auto& ev : *f.events)
      if (ev["type"] == "execution_interrupted" && ev["execution_id"] == *id)
        return true;
    return false;
  }));

  auto resumed = testing::call<std::string>(*f.sys, f.executor, resume_execution_atom::value, *id,
                                            std::string{"the crash is understood"});
  REQUIRE(resumed);
  CHECK(json::parse(*resumed)["restored_nodes"] == json::array({"o"}));
  auto done = f.await_entry("crashy", [](const json& x) { return x["completed"] == 1; });
  CHECK(done["interrupted"].empty());
  CHECK(f.counted("o") == 1); // not run again
  CHECK(f.counted("k") == 1);
  CHECK(f.crash_once_calls->load() == 2);
  auto events = f.events_of(*id);
  auto types = f.types_of(events);
  // The resumed run: started again (resumed, with what it restored), c and k run, completed.
  auto again = std::find(types.begin(), types.end(), "execution_interrupted");
  REQUIRE(again != types.end());
  CHECK(std::vector<std::string>(again + 1, types.end())
        == std::vector<std::string>{"execution_started", "node_started:c", "node_completed:c",
                                    "node_started:k", "node_completed:k", "execution_completed"});
  auto started = events[static_cast<size_t>(again - types.begin()) + 1];
  CHECK(started["resumed"] == true);
  CHECK(started["restored_nodes"] == json::array({"o"}));
  auto result = f.stored(execution_result_key("crashy", *id));
  REQUIRE(result);
  CHECK((*result)["status"] == "completed");
  CHECK((*result)["outputs"]["o"]["waited"] == 1);
  history = json::parse(*testing::call<std::string>(
      *f.sys, f.executor, workflow_history_atom::value, std::string{"crashy"}, uint32_t{10}));
  REQUIRE(history.size() == 2);
  CHECK(history[0]["status"] == "completed");
  CHECK(history[0]["resumed"] == true);
  CHECK(history[1]["status"] == "interrupted");
  // Only an interrupted execution resumes, and only once.
  CHECK_THAT(resume_refusal(f, *id), Catch::Contains("only an execution reported interrupted"));
}

TEST_CASE("a resumed run of an event-triggered execution reads the same event",
          "[workflow][executor][resume]") {
  executor_fixture f;
  // c crashes the first run; the event is read only after it, so in the resumed run.
  f.start_executor(
      {f.workflow("on_bar", {{"event", "bars.*.1m"}},
                  {testing::node_json("c", "crash_once", {{"ms", 10}}),
                   testing::node_json("after_c", "compare", {{"op", ">="}, {"right", 0}},
                                      {{"left", "c.waited"}}),
                   [] {
                     auto t = testing::node_json("bar", "trigger_event");
                     t["when"] = "after_c";
                     return t;
                   }(),
                   testing::node_json("keep", "state_set", {{"key", "last_bar"}},
                                      {{"value", "bar.payload"}})})});
  f.await_entry("on_bar", [](const json& e) { return e["subscribed"] == true; });
  json bar{{"symbol", "ETH-USD"}, {"close", 42}};
  REQUIRE(testing::call<uint64_t>(*f.sys, f.services.bus, publish_atom::value,
                                  std::string{"bars.ETH-USD.1m"}, bar.dump(), correlation_id{}));
  auto e = f.await_entry("on_bar", [&](const json& x) { return x["interrupted"].size() == 1; });
  auto id = e["interrupted"][0].get<std::string>();
  REQUIRE(testing::call<std::string>(*f.sys, f.executor, resume_execution_atom::value, id,
                                     std::string{"the crash is understood"}));
  f.await_entry("on_bar", [](const json& x) { return x["completed"] == 1; });
  auto kept = f.stored("workflow:on_bar:state:last_bar");
  REQUIRE(kept);
  CHECK(*kept == bar);
}

TEST_CASE("a restarted node reports the executions it was running as interrupted, not another "
          "node's",
          "[workflow][executor][resume]") {
  executor_fixture f;
  auto definitions = std::vector<std::shared_ptr<const workflow_definition>>{
      f.workflow("crashy", nullptr, interrupted_graph(300))};
  f.start_executor(definitions);
  f.await_starting();
  auto id = testing::call<std::string>(*f.sys, f.executor, start_workflow_atom::value,
                                       std::string{"crashy"});
  REQUIRE(id);
  // Another node's execution of the same workflow, running there: its marker names that node.
  auto theirs = new_execution_id("crashy");
  REQUIRE_FALSE(testing::ack(*f.sys, f.services.store, set_atom::value,
                             running_marker_key("crashy", theirs),
                             std::string{R"({"node":"other-node"})"}, int64_t{0}));
  REQUIRE_FALSE(testing::ack(*f.sys, f.services.store, set_atom::value,
                             execution_status_key("crashy", theirs),
                             json{{"execution_id", theirs},
                                  {"workflow_id", "crashy"},
                                  {"status", "running"},
                                  {"nodes", json::object()}}
                                 .dump(),
                             int64_t{0}));
  // The executor goes before the execution fails (as in a crash of the whole node): nobody
  // sees the failure; the checkpoint says running and the marker stays.
  REQUIRE(testing::eventually([&] {
    auto s = f.stored(execution_status_key("crashy", *id));
    return s && (*s)["nodes"]["o"]["status"] == "completed";
  }));
  f.crash_executor();
  REQUIRE(testing::eventually([&] { return f.crash_once_calls->load() == 1; }));
  std::this_thread::sleep_for(500ms);
  CHECK((*f.stored(execution_status_key("crashy", *id)))["status"] == "running");
  REQUIRE(f.stored(running_marker_key("crashy", *id)));

  f.start_executor(definitions); // a new process: nothing remembered
  f.await_starting();
  auto e = f.await_entry("crashy", [&](const json& x) { return x["interrupted"].size() == 1; });
  CHECK(e["interrupted"][0] == *id);
  CHECK((*f.stored(execution_status_key("crashy", *id)))["status"] == "interrupted");
  CHECK((*f.stored(execution_status_key("crashy", theirs)))["status"] == "running");
  CHECK(f.stored(running_marker_key("crashy", theirs)));
  CHECK_THAT(resume_refusal(f, theirs), Catch::Contains("only an execution reported interrupted"));

  REQUIRE(testing::call<std::string>(*f.sys, f.executor, resume_execution_atom::value, *id,
                                     std::string{"after the restart"}));
  f.await_entry("crashy", [](const json& x) { return x["completed"] == 1; });
  CHECK(f.counted("o") == 1);
  CHECK(f.counted("k") == 1);
}

TEST_CASE("resume refuses an execution whose non-idempotent node had started, a changed "
          "definition, a claimed resume and a HALT",
          "[workflow][executor][resume]") {
  executor_fixture f;
  // The node that is not idempotent is the one the crash interrupts.
  auto crash = testing::node_json("c", "crash_once", {{"ms", 10}});
  crash["idempotent"] = false;
  auto definitions = std::vector<std::shared_ptr<const workflow_definition>>{
      f.workflow("unsure", nullptr, json::array({crash})),
      f.workflow("crashy", nullptr, interrupted_graph(10))};
  f.start_executor(definitions);
  f.await_starting();
  auto unsure = testing::call<std::string>(*f.sys, f.executor, start_workflow_atom::value,
                                           std::string{"unsure"});
  REQUIRE(unsure);
  f.await_entry("unsure", [](const json& x) { return x["interrupted"].size() == 1; });
  // Written running before it started: a crash leaves it looking started, never unstarted.
  CHECK((*f.stored(execution_status_key("unsure", *unsure)))["nodes"]["c"]["status"] == "running");
  CHECK_THAT(resume_refusal(f, *unsure),
             Catch::Contains("node c had started and is not idempotent"));
  CHECK(f.crash_once_calls->load() == 1);

  auto crashy = testing::call<std::string>(*f.sys, f.executor, start_workflow_atom::value,
                                           std::string{"crashy"});
  REQUIRE(crashy);
  f.await_entry("crashy", [](const json& x) { return x["interrupted"].size() == 1; });
  // At HALT nothing resumes, and the claim is not spent: it resumes once the level is lowered.
  f.set_level(emergency_level::halt, true);
  CHECK_THAT(resume_refusal(f, *crashy), Catch::Contains("emergency level"));
  f.set_level(emergency_level::normal, false);
  f.await_starting();
  // A changed definition (another timeout on k) does not take the old checkpoint.
  auto changed = interrupted_graph(10);
  changed[2]["timeout"] = 5;
  f.crash_executor();
  f.start_executor({definitions[0], f.workflow("crashy", nullptr, changed)});
  f.await_starting();
  CHECK_THAT(resume_refusal(f, *crashy), Catch::Contains("definition has changed"));
  f.crash_executor();
  f.start_executor(definitions);
  f.await_starting();
  // Another node (sharing the store) took this interruption's resume.
  // (Taken here: the refusal at HALT gave it back.)
  auto claimed =
      testing::call<bool>(*f.sys, f.services.store, set_nx_atom::value,
                          resume_claim_key("crashy", *crashy, 1), std::string{"{}"}, int64_t{0});
  REQUIRE(claimed);
  REQUIRE(*claimed);
  CHECK_THAT(resume_refusal(f, *crashy), Catch::Contains("resumed already"));
  CHECK_THAT(resume_refusal(f, "exec_crashy"), Catch::Contains("is not an execution id"));
  CHECK_THAT(resume_refusal(f, "exec_nowhere_0123456789ab"), Catch::Contains("no workflow"));
  CHECK_THAT(resume_refusal(f, "exec_crashy_0123456789ab"), Catch::Contains("no checkpoint"));
  CHECK(f.counted("o") == 1);
}
