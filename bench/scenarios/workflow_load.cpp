// Many executions at once, each waiting in its first node on a timer (a "hold" node: a timer
// actor answers it after a minute), with the services the runtime gives them (the memory bus
// and store, the emergency controller):
//
// workflow-memory: 10,000 executions of a 5-node workflow (the hold, then four cheap
//   transforms), all waiting: heap per execution (its actor, plan, node call, registration with
//   the controller, the checkpoint it wrote, its wait at the timer). Baseline from the same run:
//   10,000 bare actors each waiting on the same timer, also registered with the controller.
// workflow-halt: 1,000 such executions waiting; then HALT: from the raise until each has ended
//   as halted (its result back), p50 and p99, and until the last. Baseline: 1,000 bare actors
//   registered with the controller that quit on the level change and say so the same way.

#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actor_system.hpp"
#include "actors/supervision/supervisor.hpp"
#include "actors/workflow/workflow_execution.hpp"
#include "five_node_workflow.hpp"
#include "harness.hpp"
#include "messages/registry.hpp"
#include "runtime/infrastructure.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;
using json = nlohmann::json;
using hold_atom = caf::atom_constant<caf::atom("hold")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using held_atom = caf::atom_constant<caf::atom("held")>;
using ended_atom = caf::atom_constant<caf::atom("ended")>;

constexpr auto hold_for = std::chrono::minutes(1);

struct timer_state {
  std::map<uint64_t, caf::response_promise> waiting;
  uint64_t next = 0;
};

// Answers (hold) after hold_for; (held) says how many wait.
caf::behavior timer(caf::stateful_actor<timer_state>* self) {
  return {
      [self](hold_atom) -> caf::result<bool> {
        auto id = ++self->state.next;
        self->state.waiting.emplace(id, self->make_response_promise());
        self->delayed_send(self, hold_for, release_atom::value, id);
        return caf::delegated<bool>{};
      },
      [self](release_atom, uint64_t id) {
        auto found = self->state.waiting.find(id);
        if (found != self->state.waiting.end()) {
          found->second.deliver(true);
          self->state.waiting.erase(found);
        }
      },
      [self](held_atom) { return static_cast<uint64_t>(self->state.waiting.size()); },
  };
}

std::shared_ptr<node_registry> registry_with_hold(caf::actor timer_actor) {
  auto nodes = node_registry::with_builtins();
  node_signature hold;
  hold.type = "hold";
  hold.category = node_category::providers;
  hold.outputs = {{"value", value_kind::number}};
  std::string why;
  bool added = nodes->add(
      hold,
      [timer_actor](std::shared_ptr<node_call> call) {
        call->self()->request(timer_actor, caf::infinite, hold_atom::value).then([call](bool) {
          call->complete({{"value", 1}});
        });
      },
      why);
  if (!added)
    throw std::runtime_error("the hold node was refused: " + why);
  return nodes;
}

std::shared_ptr<const workflow_definition> held_workflow(const node_catalogue& types) {
  return five_node_workflow("bench_held", {{"type", "hold"}, {"timeout", 120}}, types);
}

// A bare actor waiting on the timer, registered with the controller like an execution; on a
// level change from HALT up it tells `report_to` and quits.
caf::behavior bare_waiter(caf::event_based_actor* self, caf::actor timer_actor,
                          emergency_actor controller, caf::actor report_to) {
  self->request(timer_actor, caf::infinite, hold_atom::value).then([](bool) {});
  self->request(controller, std::chrono::seconds(30), register_bot_atom::value,
                caf::actor_cast<caf::actor>(self))
      .then([](level_change&) {});
  return {[self, controller, report_to](level_change& change) {
    self->send(controller, emergency_ack_atom::value, change.sequence);
    if (!trading_allowed(change.level)) {
      self->send(report_to, ended_atom::value);
      self->quit();
    }
  }};
}

struct services_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  supervision_tree tree;
  workflow_services services;
  caf::actor timer_actor;

  explicit services_fixture(const run_context& context) {
    configure(cfg, context);
    auto config = load_config(embedded_default_config(),
                              runtime_environment(context, {{"BROKEDANCER_LOG_LEVEL", "error"},
                                                            {"BROKEDANCER_MARKET_SYMBOLS", ""}}));
    configure_logging(config.log);
    register_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    tree = spawn_supervisor(
        *sys, supervisor_options{},
        {state_store_child(config), event_bus_child(config), emergency_child(config, nullptr)});
    services.store = caf::actor_cast<state_store_actor>(tree.children.at("state_store"));
    services.bus = caf::actor_cast<event_bus_actor>(tree.children.at("event_bus"));
    services.emergency = tree.children.at("emergency");
    timer_actor = sys->spawn(timer);
    await_level(emergency_level::normal);
  }

  ~services_fixture() {
    caf::anon_send_exit(timer_actor, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
  }

  emergency_actor controller() const {
    return caf::actor_cast<emergency_actor>(services.emergency);
  }

  void await_level(emergency_level wanted) {
    caf::scoped_actor self{*sys};
    for (int i = 0; i < 6000; ++i) {
      bool there = false;
      self->request(controller(), std::chrono::seconds(5), status_atom::value)
          .receive([&](emergency_status& s) { there = s.current.level == wanted; },
                   [](caf::error&) {});
      if (there)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    throw std::runtime_error("the emergency controller never reached the level");
  }

  // Until `holds` wait at the timer and `count` are registered with the controller.
  void await_waiting(uint64_t holds, uint64_t count) {
    caf::scoped_actor self{*sys};
    for (int i = 0; i < 12000; ++i) {
      uint64_t held = 0;
      uint32_t registered = 0;
      self->request(timer_actor, std::chrono::seconds(5), held_atom::value)
          .receive([&](uint64_t n) { held = n; }, [](caf::error&) {});
      self->request(controller(), std::chrono::seconds(5), status_atom::value)
          .receive([&](emergency_status& s) { registered = s.bots_registered; },
                   [](caf::error&) {});
      if (held >= holds && registered >= count)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw std::runtime_error("the executions never all waited");
  }

  void raise(emergency_level level, const char* reason) {
    caf::scoped_actor self{*sys};
    bool raised = false;
    self->request(controller(), std::chrono::seconds(30), raise_atom::value, level,
                  std::string{reason}, change_source::operator_request)
        .receive([&](level_change&) { raised = true; }, [](caf::error&) {});
    if (!raised)
      throw std::runtime_error("the level could not be raised");
  }

  void lower() {
    caf::scoped_actor self{*sys};
    self->request(controller(), std::chrono::seconds(30), resume_atom::value,
                  emergency_level::normal, std::string{"bench"}, change_source::operator_request)
        .receive([](level_change&) {}, [](caf::error&) {});
    await_level(emergency_level::normal);
  }
};

// Milliseconds from `from` until each of `count` reports arrives at `self`.
template <class Handler>
std::vector<double> arrivals(caf::scoped_actor& self, size_t count, clock::time_point from,
                             Handler on_each) {
  std::vector<double> ms;
  ms.reserve(count);
  while (ms.size() < count) {
    bool got = false;
    self->receive(
        [&](execution_result_atom, std::string& text) {
          on_each(text);
          got = true;
        },
        [&](ended_atom) { got = true; }, caf::after(std::chrono::seconds(60)) >> [] {});
    if (!got)
      throw std::runtime_error("not every execution ended within a minute");
    ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - from).count());
  }
  return ms;
}

samples run_memory(const run_context& context) {
  constexpr size_t count = 10000;
  services_fixture f{context};
  auto nodes = registry_with_hold(f.timer_actor);
  auto workflow = held_workflow(nodes->catalogue());
  samples out;
  caf::scoped_actor self{*f.sys};
  auto report_to = caf::actor_cast<caf::actor>(self);
  {
    auto before = heap_bytes();
    for (size_t i = 0; i < count; ++i)
      f.sys->spawn(bare_waiter, f.timer_actor, f.controller(), report_to);
    f.await_waiting(count, count);
    out["bare_waiter_bytes_each"] = (heap_bytes() - before) / count;
    f.raise(emergency_level::halt, "bench: end the waiters");
    arrivals(self, count, clock::now(), [](const std::string&) {});
    f.lower();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  auto before = heap_bytes();
  for (size_t i = 0; i < count; ++i)
    spawn_workflow_execution(*f.sys, {workflow, nodes, f.services, "", report_to, {}, {}, {}});
  // The bare waiters' holds are still at the timer: these come on top.
  f.await_waiting(2 * count, count);
  // The checkpoints they wrote at start are in: the store answers in order.
  out["execution_bytes_each"] = (heap_bytes() - before) / count;
  f.raise(emergency_level::halt, "bench: end the executions");
  size_t halted = 0;
  arrivals(self, count, clock::now(), [&](const std::string& text) {
    halted += text.find("\"status\":\"halted\"") != std::string::npos;
  });
  if (halted != count)
    throw std::runtime_error("not every execution ended as halted");
  return out;
}

samples run_halt(const run_context& context) {
  constexpr size_t count = 1000;
  services_fixture f{context};
  auto nodes = registry_with_hold(f.timer_actor);
  auto workflow = held_workflow(nodes->catalogue());
  samples out;
  caf::scoped_actor self{*f.sys};
  auto report_to = caf::actor_cast<caf::actor>(self);
  {
    for (size_t i = 0; i < count; ++i)
      f.sys->spawn(bare_waiter, f.timer_actor, f.controller(), report_to);
    f.await_waiting(count, count);
    auto raised = clock::now();
    f.raise(emergency_level::halt, "bench: halt the waiters");
    auto ms = arrivals(self, count, raised, [](const std::string&) {});
    out["bare_halted_p50_ms"] = percentile(ms, 50);
    out["bare_halted_p99_ms"] = percentile(ms, 99);
    out["bare_all_halted_ms"] = percentile(ms, 100);
    f.lower();
  }
  for (size_t i = 0; i < count; ++i)
    spawn_workflow_execution(*f.sys, {workflow, nodes, f.services, "", report_to, {}, {}, {}});
  // The bare waiters' holds are still at the timer: these come on top.
  f.await_waiting(2 * count, count);
  auto raised = clock::now();
  f.raise(emergency_level::halt, "bench: halt the executions");
  size_t halted = 0;
  auto ms = arrivals(self, count, raised, [&](const std::string& text) {
    halted += text.find("\"status\":\"halted\"") != std::string::npos;
  });
  if (halted != count)
    throw std::runtime_error("not every execution ended as halted");
  out["halted_p50_ms"] = percentile(ms, 50);
  out["halted_p99_ms"] = percentile(ms, 99);
  out["all_halted_ms"] = percentile(ms, 100);
  return out;
}

const bool memory_registered = register_scenario({
    "workflow-memory",
    "10,000 executions of a 5-node workflow waiting on a timer in their first node, with the "
    "memory bus and store and the emergency controller, beside 10,000 bare actors waiting on "
    "the same timer",
    {
        {"execution_bytes_each", "bytes",
         "heap per waiting execution (actor, plan, node call, registration, checkpoint, wait)",
         false, "bare_waiter_bytes_each"},
        {"bare_waiter_bytes_each", "bytes", "heap per bare registered actor waiting on the timer",
         false, ""},
    },
    run_memory,
});

const bool halt_registered = register_scenario({
    "workflow-halt",
    "HALT while 1,000 executions wait in their first node: from the raise until each has ended "
    "as halted, beside 1,000 bare registered actors that quit on the level change",
    {
        {"halted_p50_ms", "ms", "raise to an execution's halted result, p50", false,
         "bare_halted_p50_ms"},
        {"halted_p99_ms", "ms", "the same, p99", false, "bare_halted_p99_ms"},
        {"all_halted_ms", "ms", "raise to the last execution's result", false,
         "bare_all_halted_ms"},
        {"bare_halted_p50_ms", "ms", "raise to a bare actor's report, p50", false, ""},
        {"bare_halted_p99_ms", "ms", "the same, p99", false, ""},
        {"bare_all_halted_ms", "ms", "raise to the last bare actor's report", false, ""},
    },
    run_halt,
});

} // namespace

} // namespace brokedancer::bench
