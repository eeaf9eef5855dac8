// A program of a user's own that runs a workflow through the C++ API, step for step as the
// integration guide's quick start does in Python: create the infrastructure (the runtime),
// create an executor for a workflow (with a node type of its own), subscribe to its events,
// execute, and read the result.
//
//   workflow-custom-node [CONFIG_FILE]
//
// Exit codes: 0 when the execution completed, 9 when it failed, 10 when a HALT stopped it.

#include <iostream>
#include <string>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/workflow/workflow_events.hpp"
#include "actors/workflow/workflow_execution.hpp"
#include "runtime/exit_codes.hpp"
#include "runtime/runtime.hpp"

namespace {

using namespace brokedancer;
using json = nlohmann::json;

// A node type of our own: how far the ask is above the bid, in basis points of the bid.
bool add_spread_in_bps(node_registry& nodes) {
  node_signature spread;
  spread.type = "spread_bps";
  spread.category = node_category::transforms;
  spread.inputs = {{"bid", value_kind::number, true, false},
                   {"ask", value_kind::number, true, false}};
  spread.outputs = {{"bps", value_kind::number, true, false}};
  spread.summary = "(ask - bid) / bid in basis points";
  std::string why;
  bool added = nodes.add(
      spread,
      [](std::shared_ptr<node_call> call) {
        auto bid = call->value("bid").get<double>();
        auto ask = call->value("ask").get<double>();
        if (!(bid > 0))
          return call->fail("failed", "the bid is not above 0");
        call->complete({{"bps", (ask - bid) / bid * 10000}});
      },
      why);
  if (!added)
    std::cerr << "the node type was refused: " << why << '\n';
  return added;
}

// The workflow: the latest BTC-USD quote, its spread, and an alert when it is wider than 5 bps.
const char* definition = R"({
  "id": "spread_watch",
  "bot_id": "bot_001",
  "strategy_id": "spread_watch",
  "nodes": [
    {"id": "quote", "name": "BTC-USD quote", "type": "latest_price",
     "parameters": {"symbol": "BTC-USD"}, "retry": {"attempts": 10, "first_delay_ms": 100}},
    {"id": "spread", "type": "spread_bps", "inputs": {"bid": "quote.bid", "ask": "quote.ask"}},
    {"id": "wide", "type": "compare", "inputs": {"left": "spread.bps"},
     "parameters": {"op": ">", "right": 5}},
    {"id": "alert", "type": "publish_alert", "when": "wide", "inputs": {"price": "quote.price"},
     "parameters": {"symbol": "BTC-USD", "message": "BTC-USD spread is wide"}}
  ]
})";

} // namespace

using last_event_shown = caf::atom_constant<caf::atom("shown")>;

int main(int argc, char** argv) {
  try {
    // 1. Create the infrastructure: a runtime from a config file or the embedded default.
    auto config = load_config(argc > 1 ? read_config_file(argv[1]) : embedded_default_config(),
                              process_environment());
    config.bots.count = 0; // this program runs a workflow, not the sample bots
    runtime node{std::move(config), runtime_options{}};
    auto& sys = node.system();

    // 2. Create the executor's parts: the node types (built-in and ours) and the workflow.
    auto nodes = node_registry::with_builtins();
    if (!add_spread_in_bps(*nodes))
      return exit_code::internal_error;
    auto parsed = parse_workflow_text(definition, nodes->catalogue());
    for (const auto& problem : parsed.problems)
      std::cerr << problem.render("definition") << '\n';
    if (!parsed.workflow)
      return exit_code::input_invalid;

    // 3. Subscribe to the events. The handler says when it has shown the execution's last one:
    // events travel through the bus, the result straight from the execution, so the result can
    // come first.
    caf::scoped_actor self{sys};
    auto listener = caf::actor_cast<caf::actor>(self);
    auto handler = sys.spawn([listener](caf::event_based_actor*) -> caf::behavior {
      return {[listener](const event& ev) {
        auto e = json::parse(ev.json);
        auto type = e["type"].get<std::string>();
        std::cout << "Event: " << type << " - " << e.value("node_id", std::string{}) << '\n';
        if (type.rfind("execution_", 0) == 0 && type != "execution_started")
          caf::anon_send(listener, last_event_shown::value);
      }};
    });
    self->request(node.event_bus(), std::chrono::seconds(5), subscribe_atom::value,
                  std::string{workflow_events_topic}, handler)
        .receive([](uint64_t) {}, [](caf::error&) {});

    // 4. Execute, and wait for the result.
    execution_options options;
    options.workflow = std::make_shared<const workflow_definition>(std::move(*parsed.workflow));
    options.nodes = nodes;
    options.services = node.services_for_workflows();
    options.report_to = caf::actor_cast<caf::actor>(self);
    spawn_workflow_execution(sys, std::move(options));
    json result;
    self->receive([&](execution_result_atom, std::string& text) { result = json::parse(text); },
                  caf::after(std::chrono::seconds(60)) >> [] {});
    if (result.is_object())
      self->receive([](last_event_shown) {}, caf::after(std::chrono::seconds(2)) >> [] {});
    caf::anon_send_exit(handler, caf::exit_reason::user_shutdown);
    if (!result.is_object()) {
      std::cerr << "no result within 60 s\n";
      return exit_code::internal_error;
    }
    std::cout << "Result: " << result["status"].get<std::string>() << " in "
              << result["duration_ms"].get<double>() << " ms, spread "
              << result["outputs"]["spread"].value("bps", 0.0) << " bps\n";
    auto status = result["status"].get<std::string>();
    return status == "completed" ? exit_code::ok
           : status == "halted"  ? exit_code::workflow_halted
                                 : exit_code::workflow_failed;
  } catch (const config_error& err) {
    for (const auto& problem : err.problems())
      std::cerr << "error: " << problem.render() << '\n';
    return exit_code::config_invalid;
  } catch (const std::exception& ex) {
    std::cerr << "workflow-custom-node: " << ex.what() << '\n';
    return exit_code::startup_failed;
  }
}
