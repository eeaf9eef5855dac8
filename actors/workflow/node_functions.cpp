#include "actors/workflow/node_functions.hpp"

#include <cmath>
#include <utility>

namespace brokedancer {

using json = nlohmann::json;

node_answer node_answer::done(json outputs) {
  return {std::move(outputs), std::nullopt};
}

node_answer node_answer::failed(std::string kind, std::string message) {
  return {json::object(), node_failure{std::move(kind), std::move(message)}};
}

std::optional<double> simple_moving_average(const std::vector<double>& values, size_t period) {
  if (period == 0 || values.size() < period)
    return std::nullopt;
  double sum = 0;
  for (size_t i = values.size() - period; i < values.size(); ++i)
    sum += values[i];
  return sum / static_cast<double>(period);
}

std::optional<double> exponential_moving_average(const std::vector<double>& values, size_t period) {
  if (period == 0 || values.size() < period)
    return std::nullopt;
  double average = 0;
  for (size_t i = 0; i < period; ++i)
    average += values[i];
  average /= static_cast<double>(period);
  double alpha = 2.0 / (static_cast<double>(period) + 1);
  for (size_t i = period; i < values.size(); ++i)
    average += alpha * (values[i] - average);
  return average;
}

std::optional<double> relative_strength_index(const std::vector<double>& values, size_t period) {
  if (period == 0 || values.size() < period + 1)
    return std::nullopt;
  double gain = 0;
  double loss = 0;
  for (size_t i = 1; i <= period; ++i) {
    double change = values[i] - values[i - 1];
    (change > 0 ? gain : loss) += std::abs(change);
  }
  auto n = static_cast<double>(period);
  gain /= n;
  loss /= n;
  for (size_t i = period + 1; i < values.size(); ++i) {
    double change = values[i] - values[i - 1];
    gain = (gain * (n - 1) + (change > 0 ? change : 0)) / n;
    loss = (loss * (n - 1) + (change < 0 ? -change : 0)) / n;
  }
  if (loss == 0)
    return gain == 0 ? 50.0 : 100.0;
  return 100.0 - 100.0 / (1.0 + gain / loss);
}

namespace {

// The input `name`, else the parameter of that name (an input that may be a constant).
const json* value_of(const json& parameters, const json& inputs, const char* name) {
  if (auto found = inputs.find(name); found != inputs.end() && !found->is_null())
    return &*found;
  if (auto found = parameters.find(name); found != parameters.end() && !found->is_null())
    return &*found;
  return nullptr;
}

// A finite number from `name`, or a failure saying what came instead.
std::optional<double> number(const json& parameters, const json& inputs, const char* name,
                             node_answer& failure) {
  const auto* v = value_of(parameters, inputs, name);
  if (v && v->is_number() && std::isfinite(v->get<double>()))
    return v->get<double>();
  failure = node_answer::failed("failed", std::string{"input "} + name + " is not a finite number"
                                              + (v ? ": " + v->dump() : " (no value)"));
  return std::nullopt;
}

// Two finite numbers (the operands of a binary node), or the failure of the first that is not.
std::optional<std::pair<double, double>> operands(const json& parameters, const json& inputs,
                                                  const char* first, const char* second,
                                                  node_answer& failure) {
  auto x = number(parameters, inputs, first, failure);
  if (!x)
    return std::nullopt;
  auto y = number(parameters, inputs, second, failure);
  if (!y)
    return std::nullopt;
  return std::make_pair(*x, *y);
}

node_answer finite_value(double value, const char* what) {
  if (!std::isfinite(value))
    return node_answer::failed("failed", std::string{what} + " is not a finite number");
  return node_answer::done({{"value", value}});
}

node_answer indicator(const std::string& type, const json& parameters, const json& inputs) {
  const auto* given = value_of(parameters, inputs, "values");
  std::vector<double> values;
  if (given && given->is_array())
    for (const auto& v : *given) {
      if (!v.is_number() || !std::isfinite(v.get<double>()))
        return node_answer::failed("failed", "input values holds something other than a finite "
                                             "number");
      values.push_back(v.get<double>());
    }
  else
    return node_answer::failed("failed", "input values is not a list of numbers");
  auto period = static_cast<size_t>(parameters.value("period", 0.0));
  auto result = type == "sma"   ? simple_moving_average(values, period)
                : type == "ema" ? exponential_moving_average(values, period)
                                : relative_strength_index(values, period);
  if (!result)
    return node_answer::failed("failed", type + " over " + std::to_string(period) + " needs "
                                             + std::to_string(period + (type == "rsi" ? 1 : 0))
                                             + " values, got " + std::to_string(values.size()));
  return finite_value(*result, type.c_str());
}

node_answer arithmetic(const std::string& type, const json& parameters, const json& inputs) {
  node_answer failure;
  auto ab = operands(parameters, inputs, "a", "b", failure);
  if (!ab)
    return failure;
  auto [a, b] = *ab;
  if (type == "add")
    return finite_value(a + b, "the sum");
  if (type == "subtract")
    return finite_value(a - b, "the difference");
  if (type == "multiply")
    return finite_value(a * b, "the product");
  if (b == 0)
    return node_answer::failed("failed", "division by zero");
  return finite_value(a / b, "the quotient");
}

node_answer compare(const json& parameters, const json& inputs) {
  node_answer failure;
  auto sides = operands(parameters, inputs, "left", "right", failure);
  if (!sides)
    return failure;
  auto [left, right] = *sides;
  auto op = parameters.value("op", std::string{});
  bool passed = op == ">"    ? left > right
                : op == ">=" ? left >= right
                : op == "<"  ? left < right
                : op == "<=" ? left <= right
                : op == "==" ? left == right
                : op == "!=" ? left != right
                             : false;
  return node_answer::done({{"passed", passed}});
}

node_answer condition(const json& inputs) {
  auto value = inputs.find("value");
  if (value == inputs.end() || !value->is_boolean())
    return node_answer::failed("failed", "input value is not true or false");
  return node_answer::done({{"passed", value->get<bool>()}});
}

} // namespace

bool is_computed(const std::string& type) {
  for (const char* t : {"sma", "ema", "rsi", "add", "subtract", "multiply", "divide", "compare",
                        "condition", "constant"})
    if (type == t)
      return true;
  return false;
}

node_answer compute_node(const std::string& type, const json& parameters, const json& inputs) {
  if (type == "sma" || type == "ema" || type == "rsi")
    return indicator(type, parameters, inputs);
  if (type == "add" || type == "subtract" || type == "multiply" || type == "divide")
    return arithmetic(type, parameters, inputs);
  if (type == "compare")
    return compare(parameters, inputs);
  if (type == "condition")
    return condition(inputs);
  if (type == "constant") {
    node_answer failure;
    auto value = number(parameters, inputs, "value", failure);
    return value ? node_answer::done({{"value", *value}}) : failure;
  }
  return node_answer::failed("failed", "no computation for node type " + type);
}

} // namespace brokedancer
