#pragma once

// The built-in nodes that only compute -- indicators, arithmetic, comparisons, conditions -- as
// plain functions of their parameters and inputs: no call out, no clock, tested without an
// actor. The execution actor runs them inline; the nodes that call a service are its own.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace brokedancer {

// Why a node did not complete. `kind` decides whether it is retried (node_retry::on):
// "timeout", "unavailable", "rate_limited", "halted", or "failed" (anything else, a bad input
// among them).
struct node_failure {
  std::string kind = "failed";
  std::string message;
};

// The outputs of a node, or why it failed.
struct node_answer {
  nlohmann::json outputs = nlohmann::json::object();
  std::optional<node_failure> failure;

  static node_answer done(nlohmann::json outputs);
  static node_answer failed(std::string kind, std::string message);
};

// True for the types compute_node() runs.
bool is_computed(const std::string& type);

// Runs a computing node. `inputs` are the wired ones (null where a source did not give the
// output); an input that may be a parameter and is not wired is read from `parameters`.
node_answer compute_node(const std::string& type, const nlohmann::json& parameters,
                         const nlohmann::json& inputs);

// The indicators, over values oldest first; nullopt when there are too few values.
std::optional<double> simple_moving_average(const std::vector<double>& values, size_t period);
// Seeded with the simple average of the first `period` values, then smoothed by 2/(period+1).
std::optional<double> exponential_moving_average(const std::vector<double>& values, size_t period);
// Wilder's RSI: averages of gains and losses over the first `period` changes, then smoothed by
// 1/period; 100 when nothing fell, 50 when nothing moved. Needs period + 1 values.
std::optional<double> relative_strength_index(const std::vector<double>& values, size_t period);

} // namespace brokedancer
