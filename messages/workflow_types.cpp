// The vocabulary of workflows: categories, value kinds, retry timing and the built-in node types.

#include <algorithm>
#include <cmath>

#include "messages/bars.hpp"
#include "messages/workflow.hpp"

namespace brokedancer {

using json = nlohmann::json;

const char* to_string(node_category category) {
  switch (category) {
    case node_category::providers: return "providers";
    case node_category::transforms: return "transforms";
    case node_category::conditions: return "conditions";
    case node_category::actions: return "actions";
  }
  return "?";
}

std::optional<node_category> node_category_from(std::string_view text) {
  for (auto c : {node_category::providers, node_category::transforms, node_category::conditions,
                 node_category::actions})
    if (text == to_string(c))
      return c;
  return std::nullopt;
}

const char* to_string(value_kind kind) {
  switch (kind) {
    case value_kind::number: return "number";
    case value_kind::boolean: return "boolean";
    case value_kind::text: return "text";
    case value_kind::numbers: return "numbers";
    case value_kind::bars: return "bars";
    case value_kind::object: return "object";
    case value_kind::any: return "any";
  }
  return "?";
}

bool holds(value_kind kind, const json& value) {
  auto finite_number = [](const json& v) {
    return v.is_number() && std::isfinite(v.get<double>());
  };
  switch (kind) {
    case value_kind::number: return finite_number(value);
    case value_kind::boolean: return value.is_boolean();
    case value_kind::text: return value.is_string();
    case value_kind::numbers:
      return value.is_array() && std::all_of(value.begin(), value.end(), finite_number);
    case value_kind::bars:
      return value.is_array() && std::all_of(value.begin(), value.end(), [](const json& v) {
               return v.is_object();
             });
    case value_kind::object: return value.is_object();
    case value_kind::any: return true;
  }
  return false;
}

int64_t node_retry::delay_before_ms(uint32_t attempt) const {
  if (attempt < 2)
    return 0;
  double delay = static_cast<double>(first_delay_ms);
  for (uint32_t i = 2; i < attempt && delay < static_cast<double>(cap_ms); ++i)
    delay *= factor;
  return std::min(static_cast<int64_t>(delay), cap_ms);
}

bool node_retry::retries(const std::string& failure_kind) const {
  return std::find(on.begin(), on.end(), failure_kind) != on.end();
}

bool node_catalogue::add(node_signature signature, std::string& why) {
  if (signature.type.empty()) {
    why = "a node type needs a name";
    return false;
  }
  if (signatures_.count(signature.type) > 0) {
    why = "node type \"" + signature.type + "\" is already defined";
    return false;
  }
  auto named_twice = [](const auto& specs) {
    for (size_t i = 0; i < specs.size(); ++i)
      for (size_t j = i + 1; j < specs.size(); ++j)
        if (specs[i].name == specs[j].name)
          return specs[i].name;
    return std::string{};
  };
  for (const auto& twice : {named_twice(signature.parameters), named_twice(signature.inputs),
                            named_twice(signature.outputs)})
    if (!twice.empty()) {
      why = "node type \"" + signature.type + "\" names \"" + twice + "\" twice";
      return false;
    }
  for (const auto& input : signature.inputs) {
    if (!input.or_parameter)
      continue;
    auto same = std::find_if(signature.parameters.begin(), signature.parameters.end(),
                             [&](const parameter_spec& p) { return p.name == input.name; });
    if (same == signature.parameters.end()) {
      why = "node type \"" + signature.type + "\": input \"" + input.name
            + "\" may be a parameter, but no parameter has that name";
      return false;
    }
  }
  // What `when` and `unless` read.
  if (signature.category == node_category::conditions
      && std::none_of(signature.outputs.begin(), signature.outputs.end(), [](const port_spec& p) {
           return p.name == "passed" && p.kind == value_kind::boolean;
         })) {
    why = "node type \"" + signature.type + "\" is a condition without a boolean output \"passed\"";
    return false;
  }
  if (signature.sends_orders)
    signature.idempotent = false;
  signatures_.emplace(signature.type, std::move(signature));
  return true;
}

const node_signature* node_catalogue::find(const std::string& type) const {
  auto found = signatures_.find(type);
  return found == signatures_.end() ? nullptr : &found->second;
}

std::vector<std::string> node_catalogue::types() const {
  std::vector<std::string> names;
  for (const auto& [name, signature] : signatures_)
    names.push_back(name);
  return names;
}

namespace {

parameter_spec text_parameter(std::string name, bool required, std::vector<std::string> one_of = {},
                              json default_value = nullptr) {
  parameter_spec p;
  p.name = std::move(name);
  p.kind = value_kind::text;
  p.required = required;
  p.one_of = std::move(one_of);
  p.default_value = std::move(default_value);
  return p;
}

parameter_spec number_parameter(std::string name, bool required, json default_value = nullptr,
                                std::optional<double> minimum = std::nullopt,
                                bool minimum_excluded = false, bool integer = false) {
  parameter_spec p;
  p.name = std::move(name);
  p.kind = value_kind::number;
  p.required = required;
  p.default_value = std::move(default_value);
  p.minimum = minimum;
  p.minimum_excluded = minimum_excluded;
  p.integer = integer;
  return p;
}

parameter_spec period_parameter(int default_period) {
  auto p = number_parameter("period", false, default_period, 1.0, false, true);
  p.maximum = 10000;
  return p;
}

parameter_spec count_parameter() {
  auto p = number_parameter("count", false, 20, 1.0, false, true);
  p.maximum = 1000;
  return p;
}

parameter_spec any_parameter(std::string name, value_kind kind = value_kind::any) {
  parameter_spec p;
  p.name = std::move(name);
  p.kind = kind;
  return p;
}

port_spec port(std::string name, value_kind kind, bool required = true, bool or_parameter = false) {
  return {std::move(name), kind, required, or_parameter};
}

std::vector<std::string> timeframe_names() {
  std::vector<std::string> names;
  for (auto tf : all_timeframes())
    names.push_back(to_string(tf));
  return names;
}

void add_builtin(node_catalogue& catalogue, node_signature signature) {
  std::string why;
  if (!catalogue.add(std::move(signature), why))
    throw std::logic_error("built-in node type: " + why);
}

void add_providers(node_catalogue& c) {
  add_builtin(c, {"latest_price",
                  node_category::providers,
                  {text_parameter("symbol", true), text_parameter("venue", false)},
                  {},
                  {port("price", value_kind::number), port("bid", value_kind::number),
                   port("ask", value_kind::number)},
                  true,
                  false,
                  "the latest quote of a symbol: the node's market's (the quote cache), or a "
                  "named venue's, asked through its breaker"});
  add_builtin(c, {"trigger_event",
                  node_category::providers,
                  {},
                  {},
                  {port("topic", value_kind::text), port("payload", value_kind::any)},
                  true,
                  false,
                  "the event that started the execution (an event trigger's): its topic and "
                  "payload"});
  add_builtin(c, {"bars",
                  node_category::providers,
                  {text_parameter("symbol", true),
                   text_parameter("timeframe", true, timeframe_names()), count_parameter()},
                  {},
                  {port("bars", value_kind::bars), port("closes", value_kind::numbers)},
                  true,
                  false,
                  "the latest N closed OHLCV bars of a symbol, oldest first"});
  add_builtin(c, {"state_get",
                  node_category::providers,
                  {text_parameter("key", true), any_parameter("default")},
                  {},
                  {port("value", value_kind::any), port("found", value_kind::boolean)},
                  true,
                  false,
                  "a JSON value from the state store"});
}

void add_transforms(node_catalogue& c) {
  for (const char* name : {"sma", "ema", "rsi"})
    add_builtin(c, {name,
                    node_category::transforms,
                    {period_parameter(std::string{name} == "rsi" ? 14 : 20)},
                    {port("values", value_kind::numbers)},
                    {port("value", value_kind::number)},
                    true,
                    false,
                    std::string{name == std::string{"sma"}   ? "simple moving average"
                                : name == std::string{"ema"} ? "exponential moving average"
                                                             : "relative strength index (Wilder)"}
                        + " of the last `period` values"});
  add_builtin(c, {"constant",
                  node_category::transforms,
                  {number_parameter("value", true)},
                  {},
                  {port("value", value_kind::number)},
                  true,
                  false,
                  "a number given as its parameter"});
  for (const char* name : {"add", "subtract", "multiply", "divide"})
    add_builtin(c, {name,
                    node_category::transforms,
                    {number_parameter("b", false)},
                    {port("a", value_kind::number), port("b", value_kind::number, true, true)},
                    {port("value", value_kind::number)},
                    true,
                    false,
                    std::string{"a "} + name + " b (b an input or a constant)"});
}

void add_conditions(node_catalogue& c) {
  add_builtin(c, {"compare",
                  node_category::conditions,
                  {text_parameter("op", true, {">", ">=", "<", "<=", "==", "!="}),
                   number_parameter("right", false)},
                  {port("left", value_kind::number), port("right", value_kind::number, true, true)},
                  {port("passed", value_kind::boolean)},
                  true,
                  false,
                  "left OP right; nodes `when` it run only if it passed"});
  add_builtin(c, {"condition",
                  node_category::conditions,
                  {},
                  {port("value", value_kind::boolean)},
                  {port("passed", value_kind::boolean)},
                  true,
                  false,
                  "passes when its input is true"});
}

// A call to a configured endpoint (resilience.endpoints): through the endpoint's breaker, its
// retries and its deadline, like every call the node makes.
void add_http(node_catalogue& c) {
  add_builtin(c,
              {"http_request",
               node_category::providers,
               {text_parameter("endpoint", true),
                text_parameter("method", false, {"GET", "POST", "PUT", "PATCH", "DELETE"}, "GET"),
                text_parameter("path", true), any_parameter("body")},
               {port("body", value_kind::any, false, true)},
               {port("status", value_kind::number), port("body", value_kind::any)},
               // A POST may act: not run again by a resume unless the definition says so.
               false,
               false,
               "METHOD path on a configured endpoint, through its breaker; the answer's JSON"});
}

void add_actions(node_catalogue& c) {
  add_builtin(
      c, {"submit_order",
          node_category::actions,
          {text_parameter("symbol", true), text_parameter("side", true, {"buy", "sell"}),
           text_parameter("venue", false), number_parameter("quantity", false, nullptr, 0.0, true),
           number_parameter("price", false, nullptr, 0.0, true)},
          {port("quantity", value_kind::number, true, true),
           port("price", value_kind::number, true, true)},
          {port("outcome", value_kind::text), port("client_order_id", value_kind::text),
           port("filled_quantity", value_kind::number), port("fill_price", value_kind::number)},
          false,
          true,
          "a limit order on a venue, through the risk monitor and the venue's breaker"});
  add_builtin(c, {"publish_event",
                  node_category::actions,
                  {text_parameter("topic", true), any_parameter("payload", value_kind::object)},
                  {port("payload", value_kind::any, false)},
                  {port("published", value_kind::boolean)},
                  false,
                  false,
                  "an event on the bus (the input, else the parameter, as its payload)"});
  add_builtin(c, {"publish_alert",
                  node_category::actions,
                  {text_parameter("symbol", true), text_parameter("message", true),
                   text_parameter("severity", false, {"info", "warning", "critical"}, "warning")},
                  {port("price", value_kind::number, false)},
                  {port("published", value_kind::boolean)},
                  false,
                  false,
                  "a PRICE_ALERT on trading:alerts"});
  add_builtin(c, {"state_set",
                  node_category::actions,
                  {text_parameter("key", true)},
                  {port("value", value_kind::any)},
                  {port("written", value_kind::boolean)},
                  true,
                  false,
                  "writes its input to the state store under a key"});
}

} // namespace

node_catalogue node_catalogue::with_builtins() {
  node_catalogue catalogue;
  add_providers(catalogue);
  add_http(catalogue);
  add_transforms(catalogue);
  add_conditions(catalogue);
  add_actions(catalogue);
  return catalogue;
}

} // namespace brokedancer
