#pragma once

// The workflow the workflow scenarios run: a first node of the caller's (a constant, a timer
// wait), then four cheap transforms on its `value` -- add, multiply, subtract, divide.

#include <memory>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "messages/workflow.hpp"

namespace brokedancer::bench {

inline std::shared_ptr<const workflow_definition>
five_node_workflow(const char* id, nlohmann::json first, const node_catalogue& types) {
  first["id"] = "n1";
  auto nodes = nlohmann::json::array({std::move(first)});
  const char* transforms[] = {"add", "multiply", "subtract", "divide"};
  for (int i = 0; i < 4; ++i)
    nodes.push_back({{"id", "n" + std::to_string(i + 2)},
                     {"type", transforms[i]},
                     {"inputs", {{"a", "n" + std::to_string(i + 1) + ".value"}}},
                     {"parameters", {{"b", i + 1}}}});
  auto parsed = parse_workflow({{"id", id}, {"nodes", nodes}}, types);
  if (!parsed.workflow)
    throw std::runtime_error("the benchmark's workflow is invalid: "
                             + parsed.problems.at(0).render("bench"));
  return std::make_shared<const workflow_definition>(std::move(*parsed.workflow));
}

} // namespace brokedancer::bench
