#pragma once

// Real services for workflow tests (the memory store and bus, the emergency controller, the
// risk monitor and its simulated exchanges, a simulated market when the settings name symbols), a
// recorder of every workflow event, and node types made for testing: wait (answers after ms), flaky
// and slow_flaky (fail as unavailable twice, then complete), liar (outputs of the wrong kind),
// never (never answers), thrower (throws), counted (counts its runs per node), crash_once (the
// first time in an execution, the execution's actor fails after ms: what a crash leaves).

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "actors/supervision/supervisor.hpp"
#include "actors/workflow/workflow_events.hpp"
#include "actors/workflow/workflow_execution.hpp"
#include "messages/market.hpp"
#include "messages/registry.hpp"
#include "runtime/infrastructure.hpp"
#include "support/requests.hpp"

namespace brokedancer::testing {

using namespace std::chrono_literals;
using json = nlohmann::json;

using sleep_atom = caf::atom_constant<caf::atom("sleep")>;
using wake_atom = caf::atom_constant<caf::atom("wake")>;

struct sleeper_state {
  std::map<uint64_t, caf::response_promise> sleeping;
  uint64_t next = 0;
};

// Answers (sleep, ms) after ms: something slow for a node to wait on. When it stops (the test
// ends), whoever still waits hears an error: a promise dropped unanswered would leave the
// execution waiting for ever, and the actor system would wait for it at teardown.
inline caf::behavior sleeper(caf::stateful_actor<sleeper_state>* self) {
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& entry : self->state.sleeping)
      entry.second.deliver(caf::make_error(caf::sec::request_receiver_down));
    self->state.sleeping.clear();
    self->quit(msg.reason);
  });
  return {
      [self](sleep_atom, int64_t ms) -> caf::result<bool> {
        auto id = ++self->state.next;
        self->state.sleeping.emplace(id, self->make_response_promise());
        self->delayed_send(self, std::chrono::milliseconds(ms), wake_atom::value, id);
        return caf::delegated<bool>{};
      },
      [self](wake_atom, uint64_t id) {
        auto found = self->state.sleeping.find(id);
        if (found != self->state.sleeping.end()) {
          found->second.deliver(true);
          self->state.sleeping.erase(found);
        }
      },
  };
}

struct execution_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  supervision_tree tree;
  workflow_services services;
  caf::actor slow;
  std::shared_ptr<node_registry> nodes = node_registry::with_builtins();
  std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
  std::shared_ptr<std::vector<json>> events = std::make_shared<std::vector<json>>();
  caf::actor recorder;
  std::shared_ptr<std::atomic<int>> flaky_calls = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> slow_flaky_calls = std::make_shared<std::atomic<int>>(0);
  // counted: its runs, per node id; crash_once: its runs.
  std::shared_ptr<std::map<std::string, int>> counted_runs =
      std::make_shared<std::map<std::string, int>>();
  std::shared_ptr<std::atomic<int>> crash_once_calls = std::make_shared<std::atomic<int>>(0);

  explicit execution_fixture(environment extra = {}) {
    environment settings{{"BROKEDANCER_LOG_LEVEL", "error"},
                         {"BROKEDANCER_MARKET_SYMBOLS", ""},
                         {"BROKEDANCER_RISK_MAX_ORDER_NOTIONAL", "100000"}};
    for (auto& [key, value] : extra)
      settings[key] = value;
    auto config = load_config(embedded_default_config(), settings);
    configure_logging(config.log);
    register_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    supervisor_options options;
    std::vector<child_spec> children{state_store_child(config), event_bus_child(config),
                                     breakers_child(config), emergency_child(config, nullptr),
                                     risk_monitor_child(config)};
    // A market only when the test names symbols (the simulated venues then match its ticks).
    if (!config.market.symbols.empty())
      children.push_back(market_child(config));
    tree = spawn_supervisor(*sys, options, std::move(children));
    services.store = caf::actor_cast<state_store_actor>(tree.children.at("state_store"));
    services.bus = caf::actor_cast<event_bus_actor>(tree.children.at("event_bus"));
    services.emergency = tree.children.at("emergency");
    services.risk = caf::actor_cast<risk_monitor_actor>(tree.children.at("risk_monitor"));
    services.breakers = caf::actor_cast<breaker_registry_actor>(tree.children.at("breakers"));
    services.venues = order_endpoints(config.risk);
    if (auto market = tree.children.find("market"); market != tree.children.end())
      REQUIRE(testing::call<bool>(*sys, caf::actor_cast<market_actor>(market->second),
                                  start_atom::value));
    slow = sys->spawn(sleeper);
    add_test_types();
    auto seen = events;
    auto guard = mutex;
    recorder = sys->spawn([seen, guard](caf::event_based_actor*) -> caf::behavior {
      return {[seen, guard](const event& ev) {
        std::lock_guard<std::mutex> lock{*guard};
        seen->push_back(json::parse(ev.json));
      }};
    });
    REQUIRE(testing::call<uint64_t>(*sys, services.bus, subscribe_atom::value,
                                    std::string{workflow_events_topic}, recorder));
    REQUIRE(await_ready());
  }

  ~execution_fixture() {
    caf::anon_send_exit(recorder, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(slow, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
  }

  bool await_ready() {
    for (int i = 0; i < 2000; ++i) {
      auto s = testing::call<risk_status>(*sys, services.risk, status_atom::value);
      auto l = testing::call<emergency_status>(
          *sys, caf::actor_cast<emergency_actor>(services.emergency), status_atom::value);
      if (s && s->loaded && s->reconciled && l && l->current.level == emergency_level::normal)
        return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  // wait (ms): completes after ms; flaky: fails as unavailable twice, then completes;
  // never: never answers; thrower: throws.
  void add_test_types() {
    std::string why;
    node_signature wait;
    wait.type = "wait";
    wait.category = node_category::providers;
    parameter_spec duration;
    duration.name = "ms";
    duration.kind = value_kind::number;
    duration.required = true;
    wait.parameters = {duration};
    wait.outputs = {{"waited", value_kind::number}};
    auto sleeping = slow;
    REQUIRE(nodes->add(
        wait,
        [sleeping](std::shared_ptr<node_call> call) {
          auto ms = static_cast<int64_t>(call->value("ms").get<double>());
          call->self()
              ->request(caf::actor_cast<caf::actor>(sleeping), caf::infinite, sleep_atom::value, ms)
              .then([call, ms](bool) {
                call->complete({{"waited", ms}});
              });
        },
        why));
    node_signature flaky = wait;
    flaky.type = "flaky";
    flaky.parameters.clear();
    auto calls = flaky_calls;
    REQUIRE(nodes->add(
        flaky,
        [calls](std::shared_ptr<node_call> call) {
          if (++*calls <= 2)
            call->fail("unavailable", "venue busy");
          else
            call->complete({{"waited", 0}});
        },
        why));
    // Fails twice as unavailable, 20 ms after it is asked, then completes: an answer that
    // comes before the attempt's timeout, with the retry's wait longer than the timeout.
    node_signature slow_flaky = flaky;
    slow_flaky.type = "slow_flaky";
    auto slow_calls = slow_flaky_calls;
    REQUIRE(nodes->add(
        slow_flaky,
        [sleeping, slow_calls](std::shared_ptr<node_call> call) {
          call->self()
              ->request(caf::actor_cast<caf::actor>(sleeping), caf::infinite, sleep_atom::value,
                        int64_t{20})
              .then([call, slow_calls](bool) {
                if (++*slow_calls <= 2)
                  call->fail("unavailable", "venue busy");
                else
                  call->complete({{"waited", 20}});
              });
        },
        why));
    node_signature liar = flaky;
    liar.type = "liar";
    REQUIRE(nodes->add(
        liar,
        [](std::shared_ptr<node_call> call) {
          call->complete({{"waited", "ten"}});
        },
        why));
    node_signature never = flaky;
    never.type = "never";
    REQUIRE(nodes->add(
        never, [](std::shared_ptr<node_call>) {}, why));
    node_signature thrower = flaky;
    thrower.type = "thrower";
    REQUIRE(nodes->add(
        thrower, [](std::shared_ptr<node_call>) -> void { throw std::runtime_error("boom"); },
        why));
    // Both read an optional `after`, to be wired behind another node.
    node_signature counted = flaky;
    counted.type = "counted";
    counted.inputs = {{"after", value_kind::number, false}};
    auto runs = counted_runs;
    auto guard = mutex;
    REQUIRE(nodes->add(
        counted,
        [runs, guard](std::shared_ptr<node_call> call) {
          int run = 0;
          {
            std::lock_guard<std::mutex> lock{*guard};
            run = ++(*runs)[call->node().id];
          }
          call->complete({{"waited", run}}); // may start the next node, which may lock too
        },
        why));
    node_signature crash_once = counted;
    crash_once.type = "crash_once";
    crash_once.parameters = {duration};
    auto crashes = crash_once_calls;
    auto crashed = std::make_shared<std::set<std::string>>(); // executions, under `guard`
    REQUIRE(nodes->add(
        crash_once,
        [sleeping, crashes, crashed, guard](std::shared_ptr<node_call> call) {
          ++*crashes;
          {
            std::lock_guard<std::mutex> lock{*guard};
            if (!crashed->insert(call->execution_id()).second) {
              call->complete({{"waited", 0}});
              return;
            }
          }
          auto ms = static_cast<int64_t>(call->value("ms").get<double>());
          auto* self = call->self();
          self->request(caf::actor_cast<caf::actor>(sleeping), caf::infinite, sleep_atom::value, ms)
              .then([self](bool) { self->quit(caf::make_error(caf::sec::runtime_error)); });
        },
        why));
  }

  int counted(const std::string& node_id) {
    std::lock_guard<std::mutex> lock{*mutex};
    auto found = counted_runs->find(node_id);
    return found == counted_runs->end() ? 0 : found->second;
  }

  std::shared_ptr<const workflow_definition> definition(json nodes_json) {
    auto parsed = parse_workflow({{"id", "wf_test"},
                                  {"bot_id", "bot_007"},
                                  {"strategy_id", "s_1"},
                                  {"nodes", std::move(nodes_json)}},
                                 nodes->catalogue());
    std::string problems;
    for (const auto& p : parsed.problems)
      problems += p.render("test") + "\n";
    INFO(problems);
    REQUIRE(parsed.workflow);
    return std::make_shared<const workflow_definition>(std::move(*parsed.workflow));
  }

  // An execution that reports its result to `listener`.
  caf::actor start(json nodes_json, caf::actor listener) {
    return spawn_workflow_execution(*sys, {definition(std::move(nodes_json)),
                                           nodes,
                                           services,
                                           "",
                                           std::move(listener),
                                           {},
                                           "test-node",
                                           std::nullopt});
  }

  // The result an execution reported to `listener`.
  json result_from(caf::scoped_actor& listener) {
    json result;
    listener->receive([&](execution_result_atom, std::string& text) { result = json::parse(text); },
                      caf::after(std::chrono::seconds(60)) >>
                          [] { FAIL("no result within 60 s"); });
    return result;
  }

  json run(json nodes_json) {
    caf::scoped_actor listener{*sys};
    start(std::move(nodes_json), listener);
    return result_from(listener);
  }

  // The events of one execution, once its last one has arrived.
  std::vector<json> events_of(const std::string& execution_id) {
    for (int i = 0; i < 2000; ++i) {
      {
        std::lock_guard<std::mutex> lock{*mutex};
        std::vector<json> mine;
        for (const auto& e : *events)
          if (e["execution_id"] == execution_id)
            mine.push_back(e);
        if (!mine.empty() && mine.back()["type"].get<std::string>().rfind("execution_", 0) == 0
            && mine.back()["type"] != "execution_started")
          return mine;
      }
      std::this_thread::sleep_for(5ms);
    }
    FAIL("the execution's last event never came");
    return {};
  }

  std::vector<std::string> types_of(const std::vector<json>& list) {
    std::vector<std::string> types;
    for (const auto& e : list)
      types.push_back(e["type"].get<std::string>()
                      + (e.contains("node_id") ? ":" + e["node_id"].get<std::string>() : ""));
    return types;
  }

  std::optional<json> stored(const std::string& key) {
    auto value = testing::call<maybe_value>(*sys, services.store, get_atom::value, key);
    if (!value || !value->found)
      return std::nullopt;
    return json::parse(value->json);
  }
};

} // namespace brokedancer::testing
