#pragma once

// A node of a workflow definition as JSON, for the tests that write definitions.

#include <utility>

#include <nlohmann/json.hpp>

namespace brokedancer::testing {

inline nlohmann::json node_json(const char* id, const char* type,
                                nlohmann::json parameters = nlohmann::json::object(),
                                nlohmann::json inputs = nlohmann::json::object()) {
  nlohmann::json n{{"id", id}, {"type", type}};
  if (!parameters.empty())
    n["parameters"] = std::move(parameters);
  if (!inputs.empty())
    n["inputs"] = std::move(inputs);
  return n;
}

} // namespace brokedancer::testing
