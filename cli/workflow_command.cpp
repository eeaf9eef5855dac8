#include "cli/workflow_command.hpp"

#include <chrono>
#include <iostream>
#include <sstream>
#include <thread>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/workflow/workflow_events.hpp"
#include "actors/workflow/workflow_execution.hpp"
#include "cli/runtime_start.hpp"
#include "core/json_text.hpp"
#include "core/logging.hpp"
#include "core/secret_masker.hpp"
#include "messages/workflow.hpp"
#include "runtime/config.hpp"
#include "runtime/exit_codes.hpp"
#include "runtime/runtime.hpp"
#include "runtime/workflow_files.hpp"

namespace brokedancer {

namespace {

std::string ports(const std::vector<port_spec>& list) {
  std::string out;
  for (const auto& p : list)
    out += (out.empty() ? "" : ", ") + p.name + ": " + to_string(p.kind)
           + (p.required ? "" : " (optional)") + (p.or_parameter ? " (or a parameter)" : "");
  return out.empty() ? "-" : out;
}

} // namespace

namespace {

using shown_atom = caf::atom_constant<caf::atom("shown")>;

// A definition from a file, or every problem on stderr.
std::optional<workflow_definition> read_definition(const std::string& path,
                                                   const node_catalogue& types) {
  auto file = read_workflow_file(path, types);
  if (!file.unreadable.empty()) {
    std::cerr << "error: " << path << ": " << file.unreadable << '\n';
    return std::nullopt;
  }
  if (!file.workflow) {
    for (const auto& problem : file.problems)
      std::cerr << "error: " << problem.render(path) << '\n';
    std::cerr << "brokedancer: the workflow was rejected (" << file.problems.size()
              << (file.problems.size() == 1 ? " problem" : " problems") << ")\n";
  }
  return std::move(file.workflow);
}

// One line per event, as the execution goes ("" for none); written whole, so that a log line
// from another thread cannot land in the middle of it.
std::string event_line(const nlohmann::json& e) {
  auto type = e.value("type", std::string{});
  auto node = e.value("node_id", std::string{});
  std::ostringstream line;
  if (type == "execution_started")
    line << "execution " << e.value("execution_id", std::string{}) << " started ("
         << e.value("node_count", 0) << " nodes)";
  else if (type == "node_started")
    line << "  started    " << node << " (" << e.value("node_type", std::string{})
         << (e.value("attempt", 1) > 1 ? ", attempt " + std::to_string(e.value("attempt", 1))
                                       : std::string{})
         << ")";
  else if (type == "node_completed")
    line << "  completed  " << node << " in " << e.value("duration_ms", 0.0)
         << " ms: " << dump_json(e.value("outputs", nlohmann::json::object()));
  else if (type == "node_skipped")
    line << "  skipped    " << node;
  else if (type == "node_retrying")
    line << "  retrying   " << node << " in " << e.value("retry_in_ms", 0)
         << " ms: " << e.value("error_kind", std::string{}) << ": "
         << e.value("error", std::string{});
  else if (type == "node_failed")
    line << "  failed     " << node << ": " << e.value("error_kind", std::string{}) << ": "
         << e.value("error", std::string{});
  else
    return {};
  line << '\n';
  return line.str();
}

// Until the level is known and the risk book loaded and reconciled: an order before then is
// refused, which would fail the workflow for nothing.
bool await_ready(runtime& node, std::chrono::seconds limit) {
  caf::scoped_actor self{node.system()};
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    bool ready = false;
    self->request(node.risk_monitor(), std::chrono::seconds(5), status_atom::value)
        .receive([&](risk_status& s) { ready = s.loaded && s.reconciled; }, [](caf::error&) {});
    if (ready)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

} // namespace

int workflow_validate(const std::string& path) {
  auto parsed = read_definition(path, node_catalogue::with_builtins());
  if (!parsed)
    return exit_code::input_invalid;
  const auto& w = *parsed;
  std::cout << path << ": workflow " << w.id << " is valid: " << w.nodes.size() << " nodes\n";
  for (const auto& node : w.nodes) {
    std::cout << "  " << node.id << "  " << node.type << " (" << to_string(node.category) << ")";
    if (!node.condition.empty())
      std::cout << (node.run_if_passed ? "  when " : "  unless ") << node.condition;
    if (node.sends_orders)
      std::cout << "  sends orders";
    std::cout << '\n';
  }
  return exit_code::ok;
}

int workflow_run(const workflow_run_options& options) {
  auto registry = node_registry::with_builtins();
  auto definition = read_definition(options.path, registry->catalogue());
  if (!definition)
    return exit_code::input_invalid;
  auto config = load_config_or_report(options.config_path);
  if (!config)
    return exit_code::config_invalid;
  // The workflow is what runs: the runtime's services and its market, not its sample bots nor
  // the workflows it runs on their triggers.
  config->bots.count = 0;
  config->effective["bots"]["count"] = 0;
  config->workflows.files.clear();
  config->effective["workflows"]["files"] = "";
  std::optional<runtime> node;
  if (int code = start_runtime(node, std::move(*config), runtime_options{}); code != exit_code::ok)
    return code;
  if (!await_ready(*node, std::chrono::seconds(30))) {
    std::cerr << "brokedancer: the risk monitor did not load its book within 30 s\n";
    return exit_code::startup_failed;
  }
  auto& sys = node->system();
  caf::scoped_actor self{sys};
  // The events come through the bus, the result straight from the execution: the printer says
  // when it has shown the last event, so that no line is lost at the end. It shows only this
  // execution's events (a shared bus carries others'), and an event it cannot read is skipped.
  auto listener = caf::actor_cast<caf::actor>(self);
  auto execution_id = new_execution_id(definition->id);
  // With --json the result is the standard output: the progress goes to the error output.
  std::ostream* out = options.json ? &std::cerr : &std::cout;
  auto printer = sys.spawn([listener, out, execution_id](caf::event_based_actor*) -> caf::behavior {
    return {[listener, out, execution_id](const event& ev) {
      try {
        auto e = parse_json_within(ev.json);
        if (!e.is_object() || e.value("execution_id", std::string{}) != execution_id)
          return;
        *out << event_line(e) << std::flush;
        auto type = e.value("type", std::string{});
        if (type.rfind("execution_", 0) == 0 && type != "execution_started")
          caf::anon_send(listener, shown_atom::value);
      } catch (const nlohmann::json::exception&) {
        // A field of another type than the schema's: not this execution's event.
      }
    }};
  });
  self->request(node->event_bus(), std::chrono::seconds(5), subscribe_atom::value,
                std::string{workflow_events_topic}, printer)
      .receive([](uint64_t) {}, [](caf::error&) {});
  auto services = node->services_for_workflows();
  execution_options run{std::make_shared<const workflow_definition>(std::move(*definition)),
                        registry, services, execution_id, listener,
                        fitted_output_bounds(node->config().bus.max_payload_bytes,
                                             node->config().state.max_value_bytes),
                        // Its own name: a node restart does not take this one-off run (it
                        // reports to this terminal) for one of its interrupted executions.
                        node->config().runtime.node_name + ":workflow-run", std::nullopt};
  auto execution = spawn_workflow_execution(sys, std::move(run));
  // An execution that dies without a result (a bug) ends the wait too.
  self->monitor(execution);
  nlohmann::json result;
  std::string died;
  self->receive(
      [&](execution_result_atom, std::string& text) { result = parse_json_within(text); },
      [&](caf::down_msg& down) { died = sys.render(down.reason); },
      caf::after(std::chrono::milliseconds(static_cast<int64_t>(options.timeout_s * 1000))) >>
          [&] {
            caf::anon_send(execution, cancel_execution_atom::value,
                           std::string{"workflow run: no end within the timeout"});
          });
  if (result.is_object())
    self->receive([](shown_atom) {}, caf::after(std::chrono::seconds(2)) >> [] {});
  caf::anon_send_exit(printer, caf::exit_reason::user_shutdown);
  if (!died.empty()) {
    std::cerr << "brokedancer: the execution stopped without a result: " << died << '\n';
    return exit_code::internal_error;
  }
  if (!result.is_object()) {
    std::cerr << "brokedancer: the execution did not end within " << options.timeout_s
              << " s; cancelled\n";
    return exit_code::internal_error;
  }
  auto status = result.value("status", std::string{});
  if (options.json)
    std::cout << dump_json(result, 2) << '\n';
  else
    std::cout << "workflow " << result.value("workflow_id", std::string{}) << ": execution "
              << result.value("execution_id", std::string{}) << " " << status << " in "
              << result.value("duration_ms", 0.0) << " ms"
              << (result.contains("error")    ? ": " + result["error"].get<std::string>()
                  : result.contains("reason") ? ": " + result["reason"].get<std::string>()
                                              : std::string{})
              << '\n';
  if (status == "completed")
    return exit_code::ok;
  return status == "halted" ? exit_code::workflow_halted : exit_code::workflow_failed;
}

int workflow_types() {
  auto catalogue = node_catalogue::with_builtins();
  for (const auto& name : catalogue.types()) {
    const auto* type = catalogue.find(name);
    std::cout << name << "  (" << to_string(type->category) << ")  " << type->summary << '\n';
    std::string parameters;
    for (const auto& p : type->parameters)
      parameters += (parameters.empty() ? "" : ", ") + p.name + ": " + to_string(p.kind)
                    + (p.required                  ? ""
                       : p.default_value.is_null() ? " (optional)"
                                                   : " = " + dump_json(p.default_value));
    std::cout << "    parameters: " << (parameters.empty() ? "-" : parameters) << '\n';
    std::cout << "    inputs: " << ports(type->inputs) << '\n';
    std::cout << "    outputs: " << ports(type->outputs) << '\n';
  }
  return exit_code::ok;
}

} // namespace brokedancer
