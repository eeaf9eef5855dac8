// workflow-linear: executions of a 5-node linear workflow of cheap transforms (a constant, then
// add, multiply, subtract, divide), one after another, each an actor of its own. Two settings:
// bare (no services: no events, no checkpoints, no level) and served (the memory bus takes
// every event, the memory store every checkpoint, the emergency controller registers each
// execution) -- what `workflow run` and the runtime do.
//
// Baseline from the same run: the same five node functions called directly in a loop, their
// JSON inputs and outputs included. The executor's overhead per node is the execution's time
// less the direct chain's, over five.

#include <chrono>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actor_system.hpp"
#include "actors/supervision/supervisor.hpp"
#include "actors/workflow/node_functions.hpp"
#include "actors/workflow/workflow_execution.hpp"
#include "five_node_workflow.hpp"
#include "harness.hpp"
#include "messages/registry.hpp"
#include "runtime/infrastructure.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;
using json = nlohmann::json;

constexpr int executions = 2000;

std::shared_ptr<const workflow_definition> linear_workflow(const node_catalogue& types) {
  return five_node_workflow("bench_linear", {{"type", "constant"}, {"parameters", {{"value", 10}}}},
                            types);
}

// Each execution's time from spawn to its reported result, in microseconds.
std::vector<double> run_executions(caf::actor_system& sys,
                                   std::shared_ptr<const workflow_definition> workflow,
                                   std::shared_ptr<node_registry> nodes,
                                   const workflow_services& services) {
  std::vector<double> latencies;
  latencies.reserve(executions);
  caf::scoped_actor self{sys};
  for (int i = 0; i < executions; ++i) {
    auto started = clock::now();
    spawn_workflow_execution(
        sys, {workflow, nodes, services, "", caf::actor_cast<caf::actor>(self), {}, {}, {}});
    bool completed = false;
    self->receive(
        [&](execution_result_atom, std::string& text) {
          completed = text.find("\"status\":\"completed\"") != std::string::npos;
        },
        caf::after(std::chrono::seconds(10)) >> [] {});
    if (!completed)
      throw std::runtime_error("a benchmark execution did not complete");
    latencies.push_back(std::chrono::duration<double, std::micro>(clock::now() - started).count());
  }
  return latencies;
}

// The same loop with an actor that only answers as an execution does, at once: what a spawn and
// the result's way back cost on this machine (two hand-offs between threads), executor or not.
std::vector<double> run_answering_actors(caf::actor_system& sys) {
  std::vector<double> latencies;
  latencies.reserve(executions);
  caf::scoped_actor self{sys};
  auto reply_to = caf::actor_cast<caf::actor>(self);
  for (int i = 0; i < executions; ++i) {
    auto started = clock::now();
    sys.spawn([reply_to](caf::event_based_actor* actor) {
      actor->send(reply_to, execution_result_atom::value, std::string{R"({"status":"completed"})"});
    });
    bool answered = false;
    self->receive([&](execution_result_atom, std::string&) { answered = true; },
                  caf::after(std::chrono::seconds(10)) >> [] {});
    if (!answered)
      throw std::runtime_error("a benchmark actor did not answer");
    latencies.push_back(std::chrono::duration<double, std::micro>(clock::now() - started).count());
  }
  return latencies;
}

// The same five functions called in a chain, inputs and outputs as JSON: microseconds per chain.
double direct_chain(const workflow_definition& workflow, double& sink) {
  constexpr int rounds = 20000;
  auto started = clock::now();
  for (int i = 0; i < rounds; ++i) {
    json previous;
    for (const auto& node : workflow.nodes) {
      json inputs = json::object();
      if (!previous.is_null())
        inputs["a"] = previous["value"];
      auto answer = compute_node(node.type, node.parameters, inputs);
      previous = std::move(answer.outputs);
    }
    sink += previous["value"].get<double>();
  }
  return std::chrono::duration<double, std::micro>(clock::now() - started).count() / rounds;
}

samples run(const run_context& context) {
  samples out;
  // An execution logs its start and end at info: not what is measured here.
  auto quiet = load_config(embedded_default_config(),
                           runtime_environment(context, {{"BROKEDANCER_LOG_LEVEL", "error"}}));
  configure_logging(quiet.log);
  auto nodes = node_registry::with_builtins();
  auto workflow = linear_workflow(nodes->catalogue());
  double sink = 0;
  auto direct_us = direct_chain(*workflow, sink);
  out["direct_chain_us"] = direct_us;
  {
    caf::actor_system_config cfg;
    configure(cfg, context);
    caf::actor_system sys{cfg};
    auto answering = run_answering_actors(sys);
    auto bare = run_executions(sys, workflow, nodes, {});
    out["spawn_answer_p50_us"] = percentile(answering, 50);
    out["bare_execution_p50_us"] = percentile(bare, 50);
    out["bare_execution_p99_us"] = percentile(bare, 99);
    out["bare_overhead_per_node_p50_us"] = (percentile(bare, 50) - direct_us) / 5;
    out["bare_executions_per_s"] = 1e6 / percentile(bare, 50);
    // What the executor adds per node beyond the spawn and the answer any actor costs.
    out["bare_executor_per_node_p50_us"] =
        (percentile(bare, 50) - percentile(answering, 50) - direct_us) / 5;
  }
  {
    caf::actor_system_config cfg;
    configure(cfg, context);
    auto config = load_config(embedded_default_config(),
                              runtime_environment(context, {{"BROKEDANCER_LOG_LEVEL", "error"},
                                                            {"BROKEDANCER_MARKET_SYMBOLS", ""}}));
    configure_logging(config.log);
    register_message_types(cfg);
    caf::actor_system sys{cfg};
    auto tree = spawn_supervisor(
        sys, supervisor_options{},
        {state_store_child(config), event_bus_child(config), emergency_child(config, nullptr)});
    workflow_services services;
    services.store = caf::actor_cast<state_store_actor>(tree.children.at("state_store"));
    services.bus = caf::actor_cast<event_bus_actor>(tree.children.at("event_bus"));
    services.emergency = tree.children.at("emergency");
    auto served = run_executions(sys, workflow, nodes, services);
    out["served_execution_p50_us"] = percentile(served, 50);
    out["served_execution_p99_us"] = percentile(served, 99);
    out["served_overhead_per_node_p50_us"] = (percentile(served, 50) - direct_us) / 5;
    caf::anon_send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
  }
  out["direct_chain_us"] += sink > 0 ? 0 : 1e-12;
  return out;
}

const bool registered = register_scenario({
    "workflow-linear",
    "2000 executions, one after another, of a 5-node linear workflow of cheap transforms, bare "
    "and with the bus, store and emergency controller, beside the same five node functions "
    "called directly",
    {
        {"bare_execution_p50_us", "us", "spawn to result, no services", false, "direct_chain_us"},
        {"bare_execution_p99_us", "us", "the same, p99", false, "direct_chain_us"},
        {"bare_overhead_per_node_p50_us", "us", "(p50 - direct chain) / 5 nodes", false, ""},
        {"bare_executions_per_s", "1/s", "executions one at a time, at the p50", true, ""},
        {"bare_executor_per_node_p50_us", "us",
         "(p50 - an answering actor's p50 - direct chain) / 5 nodes", false, ""},
        {"spawn_answer_p50_us", "us", "spawn to answer of an actor that answers at once", false,
         ""},
        {"served_execution_p50_us", "us",
         "spawn to result with events, checkpoints and the level (memory backends)", false,
         "direct_chain_us"},
        {"served_execution_p99_us", "us", "the same, p99", false, "direct_chain_us"},
        {"served_overhead_per_node_p50_us", "us", "(p50 - direct chain) / 5 nodes", false, ""},
        {"direct_chain_us", "us", "the five node functions called in a chain", false, ""},
    },
    run,
});

} // namespace

} // namespace brokedancer::bench
