#pragma once

// A workflow: a graph of nodes -- providers, transforms, conditions, actions -- that the
// executor runs, each node starting once the nodes it reads from have finished. This file is the
// definition, the node types' signatures and the validation, as plain code without an actor, so
// that `brokedancer workflow validate`, the config and the executor agree on what a valid
// workflow is. A definition comes from a file an operator wrote: every problem in it is reported
// at once, each with its JSON path, and a definition that has one never runs.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/atom.hpp>
#include <nlohmann/json.hpp>

namespace brokedancer {

enum class node_category { providers, transforms, conditions, actions };

const char* to_string(node_category category);
std::optional<node_category> node_category_from(std::string_view text);

// What a parameter, an input or an output holds. `numbers` is a list of numbers (closing prices),
// `bars` a list of OHLCV bars as JSON objects, `any` any JSON value (checked when it arrives).
enum class value_kind { number, boolean, text, numbers, bars, object, any };

const char* to_string(value_kind kind);
// True when `value` is of `kind` (numbers finite).
bool holds(value_kind kind, const nlohmann::json& value);

struct parameter_spec {
  std::string name;
  value_kind kind = value_kind::any;
  bool required = false;
  nlohmann::json default_value;    // null: none
  std::vector<std::string> one_of; // for text: the values it may take
  std::optional<double> minimum;   // for numbers
  std::optional<double> maximum;
  bool minimum_excluded = false; // > minimum rather than >=
  bool integer = false;          // a whole number
};

struct port_spec {
  std::string name;
  value_kind kind = value_kind::any;
  bool required = true;
  // An input that may be given as the parameter of the same name instead (a constant: the
  // threshold of a comparison, the quantity of an order).
  bool or_parameter = false;
};

// What a node type takes and gives; every node of the type is checked against it.
struct node_signature {
  std::string type;
  node_category category = node_category::transforms;
  std::vector<parameter_spec> parameters;
  std::vector<port_spec> inputs;
  std::vector<port_spec> outputs;
  // Whether running the node twice does no harm: a resumed execution runs such a node again if
  // the crash came before its result was written, and never one that is not.
  bool idempotent = true;
  // Blocked from HALT up, and never retried (an order whose outcome is unknown is asked about
  // by the risk monitor, not sent again).
  bool sends_orders = false;
  std::string summary; // one line for `workflow types`
};

// The node types a workflow may use: the built-in ones and those an embedding program adds.
class node_catalogue {
public:
  static node_catalogue with_builtins();

  // Adds a type; false, saying why, when its name is taken or its signature cannot be used.
  bool add(node_signature signature, std::string& why);
  const node_signature* find(const std::string& type) const;
  std::vector<std::string> types() const;

private:
  std::map<std::string, node_signature> signatures_;
};

// Retries of a failed node, timed on the executor's clock: attempt 2 waits first_delay_ms,
// each next one `factor` times longer, never more than cap_ms.
struct node_retry {
  uint32_t attempts = 1; // every attempt, the first included
  int64_t first_delay_ms = 1000;
  double factor = 2.0;
  int64_t cap_ms = 60000;
  // The failures that are retried: "timeout", "unavailable" (an endpoint or service that did
  // not answer), "rate_limited", "failed" (anything else).
  std::vector<std::string> on{"timeout", "unavailable"};

  // The wait before attempt number `attempt` (2 is the first retry).
  int64_t delay_before_ms(uint32_t attempt) const;
  bool retries(const std::string& failure_kind) const;
};

struct input_ref {
  std::string node;
  std::string output;
};

struct workflow_node {
  std::string id;
  std::string name;
  std::string type;
  node_category category = node_category::transforms;
  nlohmann::json parameters = nlohmann::json::object(); // with the defaults filled in
  std::map<std::string, input_ref> inputs;
  // A conditions node this one waits for, running only if it passed (`when`) or only if it did
  // not (`unless`); empty: none.
  std::string condition;
  bool run_if_passed = true;
  int64_t timeout_ms = 30000;
  node_retry retry;
  bool idempotent = true;
  bool sends_orders = false;
};

struct workflow_trigger {
  enum class kind { on_demand, every, on_event };
  kind how = kind::on_demand;
  int64_t every_ms = 0; // kind::every
  std::string topic;    // kind::on_event: a topic pattern of the event bus
};

struct workflow_definition {
  std::string id;
  std::string name;
  std::string bot_id;
  std::string strategy_id;
  workflow_trigger trigger;
  std::vector<workflow_node> nodes; // in the order written
};

struct workflow_problem {
  std::string path; // a JSON path: $.nodes[2].inputs.a
  std::string message;

  // "FILE: $.nodes[2].inputs.a: MESSAGE"
  std::string render(const std::string& where) const;
};

struct workflow_parse {
  std::optional<workflow_definition> workflow; // only when there is no problem
  std::vector<workflow_problem> problems;
};

// The messages of a node's workflow executor (actors/workflow/workflow_executor.hpp) and of an
// execution, which operators reach through the node's control (messages/control.hpp).
using start_workflow_atom = caf::atom_constant<caf::atom("wf_start")>;
using workflow_breaker_atom = caf::atom_constant<caf::atom("wf_breaker")>;
using workflow_history_atom = caf::atom_constant<caf::atom("wf_hist")>;
using cancel_execution_atom = caf::atom_constant<caf::atom("wf_cancel")>;
using resume_execution_atom = caf::atom_constant<caf::atom("wf_resume")>;

// The most history entries one request returns.
constexpr uint32_t max_history_limit = 1000;

// Bounds on a definition from outside.
constexpr size_t max_workflow_nodes = 500;
constexpr size_t max_workflow_id_bytes = 64;
constexpr size_t max_workflow_text_bytes = 1 << 20;
constexpr int64_t default_node_timeout_ms = 30000;
constexpr int64_t max_node_timeout_ms = 24 * 3600 * 1000;
constexpr uint32_t max_node_attempts = 10;

// A name from outside (a file, a request), safe to print on a terminal: quoted, with every
// control character and every byte past ASCII escaped (\u001b, not ESC), at most 64 bytes of it.
std::string escaped_name(const std::string& text);

// Why `id` is not a workflow's, node's or execution's id -- letters, digits, '_' and '-', at
// most `max_bytes` -- or empty. `what` starts the sentence ("a workflow id").
std::string workflow_id_problem(const char* what, const std::string& id,
                                size_t max_bytes = max_workflow_id_bytes);

// An execution id's length bound: "exec_", a workflow id, "_" and 12 hex digits.
constexpr size_t max_execution_id_bytes = 128;

// Every problem of `document` as a workflow of `types`, or the workflow when there is none.
workflow_parse parse_workflow(const nlohmann::json& document, const node_catalogue& types);

// The same from text (a file's contents): not JSON, too large or too deep is a problem at "$".
workflow_parse parse_workflow_text(std::string_view text, const node_catalogue& types);

} // namespace brokedancer
