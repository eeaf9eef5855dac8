#include "cli/workflow_command.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/json_text.hpp"
#include "messages/workflow.hpp"
#include "runtime/exit_codes.hpp"

namespace brokedancer {

namespace {

// The file's text, at most one byte past the bound (enough to say it is too large).
bool read_bounded(const std::string& path, std::string& text, std::string& why) {
  std::error_code error;
  if (std::filesystem::exists(path, error) && !std::filesystem::is_regular_file(path, error)) {
    why = "is not a regular file";
    return false;
  }
  std::ifstream file{path, std::ios::binary};
  if (!file) {
    why = "cannot be read (does it exist, and may this user read it?)";
    return false;
  }
  text.resize(max_workflow_text_bytes + 1);
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(file.gcount()));
  if (file.bad()) {
    why = "could not be read to the end";
    return false;
  }
  return true;
}

std::string ports(const std::vector<port_spec>& list) {
  std::string out;
  for (const auto& p : list)
    out += (out.empty() ? "" : ", ") + p.name + ": " + to_string(p.kind)
           + (p.required ? "" : " (optional)") + (p.or_parameter ? " (or a parameter)" : "");
  return out.empty() ? "-" : out;
}

} // namespace

int workflow_validate(const std::string& path) {
  std::string text;
  std::string why;
  if (!read_bounded(path, text, why)) {
    std::cerr << "error: " << path << ": " << why << '\n';
    return exit_code::input_invalid;
  }
  auto parsed = parse_workflow_text(text, node_catalogue::with_builtins());
  if (!parsed.workflow) {
    for (const auto& problem : parsed.problems)
      std::cerr << "error: " << problem.render(path) << '\n';
    std::cerr << "brokedancer: the workflow was rejected (" << parsed.problems.size()
              << (parsed.problems.size() == 1 ? " problem" : " problems") << ")\n";
    return exit_code::input_invalid;
  }
  const auto& w = *parsed.workflow;
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
