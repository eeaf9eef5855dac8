// Reading a workflow definition: every problem at once, each with its JSON path, so that an
// operator fixes a file in one pass rather than one error per run.

#include "messages/workflow.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "core/json_check.hpp"
#include "core/json_text.hpp"
#include "core/plain_name.hpp"

namespace brokedancer {

using json = nlohmann::json;

std::string workflow_problem::render(const std::string& where) const {
  return where + ": " + path + ": " + message;
}

std::string workflow_id_problem(const char* what, const std::string& id, size_t max_bytes) {
  auto plain = check_plain_name(what, id, max_bytes);
  if (!plain.empty())
    return plain;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'))
      return std::string{what} + " may hold only letters, digits, '_' and '-'";
  return {};
}

std::string escaped_name(const std::string& text) {
  return json(text.size() > 64 ? text.substr(0, 64) + "..." : text)
      .dump(-1, ' ', true, json::error_handler_t::replace);
}

namespace {

// What a JSON value is, for "expected X, found Y".
std::string shown(const json& value) {
  if (value.is_null())
    return "null";
  if (value.is_boolean())
    return value.get<bool>() ? "true" : "false";
  if (value.is_number())
    return "the number " + dump_json(value);
  if (value.is_string()) {
    auto text = value.get<std::string>();
    if (text.size() > 40)
      text = text.substr(0, 40) + "...";
    return escaped_name(text);
  }
  return value.is_array() ? "an array" : "an object";
}

// The path of a field: $.a.b for plain names, $.a["odd key"] for others.
std::string path_of(const std::string& base, const std::string& key) {
  bool plain = !key.empty() && key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  return plain ? base + "." + key : base + "[" + escaped_name(key) + "]";
}

// At most 20 names: a list of every node of a large file in each of its problems would make
// the report far larger than the file.
std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  size_t shown_names = 0;
  for (const auto& n : names) {
    if (shown_names == 20) {
      out += ", and " + std::to_string(names.size() - 20) + " more";
      break;
    }
    out += (out.empty() ? "" : ", ") + n;
    ++shown_names;
  }
  return out.empty() ? "none" : out;
}

// Ids become parts of Redis keys (workflow:{id}:execution:...) and log fields: a colon or a
// dot (which separates a node from its output in an input) would make them ambiguous.
std::string id_problem(const char* what, const std::string& id) {
  return workflow_id_problem(what, id);
}

class reader {
public:
  reader(const node_catalogue& types, std::vector<workflow_problem>& problems)
    : types_(types), problems_(problems) {}

  void problem(std::string path, std::string message) {
    problems_.push_back({std::move(path), std::move(message)});
  }

  // Fields of `object` not among `known`.
  void unknown_fields(const json& object, const std::string& path,
                      std::initializer_list<const char*> known) {
    for (const auto& [key, value] : object.items())
      if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; })) {
        std::vector<std::string> names(known.begin(), known.end());
        problem(path_of(path, key), "unknown field (known: " + quoted_list(names) + ")");
      }
  }

  std::optional<std::string> text(const json& object, const std::string& path, const char* key,
                                  bool required) {
    auto found = object.find(key);
    if (found == object.end()) {
      if (required)
        problem(path + "." + key, "missing: a text is required");
      return std::nullopt;
    }
    if (!found->is_string()) {
      problem(path + "." + key, std::string{"expected a text, found "} + shown(*found));
      return std::nullopt;
    }
    auto value = found->get<std::string>();
    if (!printable_text(value) || value.size() > 256) {
      problem(path + "." + key, "must be printable text of at most 256 bytes");
      return std::nullopt;
    }
    return value;
  }

  void read_trigger(const json& trigger, workflow_trigger& out) {
    const std::string path = "$.trigger";
    if (!trigger.is_object()) {
      problem(path, "expected an object with \"every_s\" or \"event\", found " + shown(trigger));
      return;
    }
    unknown_fields(trigger, path, {"every_s", "event"});
    bool every = trigger.contains("every_s");
    bool event = trigger.contains("event");
    if (every == event) {
      problem(path, "give exactly one of \"every_s\" (a schedule) or \"event\" (a topic pattern)");
      return;
    }
    if (every) {
      const auto& s = trigger["every_s"];
      if (!s.is_number() || !std::isfinite(s.get<double>()) || s.get<double>() < 0.1
          || s.get<double>() > 86400) {
        problem(path + ".every_s", "expected seconds from 0.1 to 86400, found " + shown(s));
        return;
      }
      out.how = workflow_trigger::kind::every;
      out.every_ms = static_cast<int64_t>(std::llround(s.get<double>() * 1000));
      return;
    }
    if (auto topic = text(trigger, path, "event", true)) {
      auto why = check_plain_name("an event pattern", *topic, 256);
      if (!why.empty()) {
        problem(path + ".event", why);
        return;
      }
      out.how = workflow_trigger::kind::on_event;
      out.topic = *topic;
    }
  }

  void read_retry(const json& retry, const std::string& path, workflow_node& node) {
    if (!retry.is_object()) {
      problem(path, "expected an object (attempts, first_delay_ms, factor, cap_ms, on), found "
                        + shown(retry));
      return;
    }
    unknown_fields(retry, path, {"attempts", "first_delay_ms", "factor", "cap_ms", "on"});
    auto& policy = node.retry;
    auto whole = [&](const char* key, int64_t low, int64_t high, int64_t& into) {
      if (!retry.contains(key))
        return;
      const auto& v = retry[key];
      if (!v.is_number_integer() || v.get<int64_t>() < low || v.get<int64_t>() > high) {
        problem(path + "." + key, "expected a whole number from " + std::to_string(low) + " to "
                                      + std::to_string(high) + ", found " + shown(v));
        return;
      }
      into = v.get<int64_t>();
    };
    int64_t attempts = policy.attempts;
    whole("attempts", 1, max_node_attempts, attempts);
    policy.attempts = static_cast<uint32_t>(attempts);
    whole("first_delay_ms", 0, 3600 * 1000, policy.first_delay_ms);
    whole("cap_ms", 0, 3600 * 1000, policy.cap_ms);
    if (retry.contains("factor")) {
      const auto& f = retry["factor"];
      if (!f.is_number() || !std::isfinite(f.get<double>()) || f.get<double>() < 1
          || f.get<double>() > 10)
        problem(path + ".factor", "expected a number from 1 to 10, found " + shown(f));
      else
        policy.factor = f.get<double>();
    }
    if (policy.cap_ms < policy.first_delay_ms)
      problem(path + ".cap_ms", "the longest wait is shorter than the first ("
                                    + std::to_string(policy.cap_ms) + " ms < "
                                    + std::to_string(policy.first_delay_ms) + " ms)");
    if (retry.contains("on")) {
      static const std::vector<std::string> kinds{"timeout", "unavailable", "rate_limited",
                                                  "failed"};
      const auto& on = retry["on"];
      policy.on.clear();
      if (!on.is_array()) {
        problem(path + ".on", "expected a list of failure kinds (" + quoted_list(kinds) + ")");
        return;
      }
      for (size_t i = 0; i < on.size(); ++i) {
        auto here = path + ".on[" + std::to_string(i) + "]";
        if (!on[i].is_string()
            || std::find(kinds.begin(), kinds.end(), on[i].get<std::string>()) == kinds.end())
          problem(here, "expected one of " + quoted_list(kinds) + ", found " + shown(on[i]));
        else
          policy.on.push_back(on[i].get<std::string>());
      }
    }
  }

  void check_parameter(const parameter_spec& spec, const json& value, const std::string& path) {
    if (!holds(spec.kind, value)) {
      problem(path, std::string{"expected "} + to_string(spec.kind) + ", found " + shown(value));
      return;
    }
    if (!spec.one_of.empty()
        && std::find(spec.one_of.begin(), spec.one_of.end(), value.get<std::string>())
               == spec.one_of.end()) {
      problem(path, "expected one of " + quoted_list(spec.one_of) + ", found " + shown(value));
      return;
    }
    if (spec.kind == value_kind::number) {
      auto number = value.get<double>();
      if (spec.integer && number != std::floor(number))
        problem(path, "expected a whole number, found " + shown(value));
      if (spec.maximum && number > *spec.maximum)
        problem(path,
                "must be at most " + dump_json(json(*spec.maximum)) + ", found " + shown(value));
      if (spec.minimum
          && (spec.minimum_excluded ? number <= *spec.minimum : number < *spec.minimum))
        problem(path, std::string{"must be "}
                          + (spec.minimum_excluded ? "greater than " : "at least ")
                          + dump_json(json(*spec.minimum)) + ", found " + shown(value));
    }
    if (spec.kind == value_kind::text && !printable_text(value.get<std::string>()))
      problem(path, "must be printable text");
  }

  void read_parameters(const json& node, const std::string& path, const node_signature& type,
                       workflow_node& out) {
    json given = json::object();
    if (node.contains("parameters")) {
      if (!node["parameters"].is_object())
        problem(path + ".parameters", "expected an object, found " + shown(node["parameters"]));
      else
        given = node["parameters"];
    }
    std::vector<std::string> known;
    for (const auto& p : type.parameters)
      known.push_back(p.name);
    for (const auto& [key, value] : given.items()) {
      auto spec = std::find_if(type.parameters.begin(), type.parameters.end(),
                               [&](const parameter_spec& p) { return p.name == key; });
      auto here = path_of(path + ".parameters", key);
      if (spec == type.parameters.end()) {
        problem(here, "unknown parameter of " + type.type + " (known: " + quoted_list(known) + ")");
        continue;
      }
      check_parameter(*spec, value, here);
    }
    for (const auto& spec : type.parameters) {
      if (given.contains(spec.name))
        continue;
      if (spec.required)
        problem(path + ".parameters." + spec.name,
                std::string{"missing: "} + type.type + " needs it (" + to_string(spec.kind) + ")");
      else if (!spec.default_value.is_null())
        given[spec.name] = spec.default_value;
    }
    out.parameters = std::move(given);
  }

  // Inputs are "NODE.OUTPUT"; their sources are checked once every node is known.
  void read_inputs(const json& node, const std::string& path, const node_signature& type,
                   workflow_node& out) {
    std::vector<std::string> known;
    for (const auto& p : type.inputs)
      known.push_back(p.name);
    if (node.contains("inputs")) {
      const auto& inputs = node["inputs"];
      if (!inputs.is_object()) {
        problem(path + ".inputs",
                "expected an object of NAME: \"NODE.OUTPUT\", found " + shown(inputs));
      } else {
        for (const auto& [key, value] : inputs.items()) {
          auto here = path_of(path + ".inputs", key);
          auto spec = std::find_if(type.inputs.begin(), type.inputs.end(),
                                   [&](const port_spec& p) { return p.name == key; });
          if (spec == type.inputs.end()) {
            problem(here, "unknown input of " + type.type + " (known: " + quoted_list(known) + ")");
            continue;
          }
          auto dot = value.is_string() ? value.get<std::string>().find('.') : std::string::npos;
          if (dot == std::string::npos || dot == 0 || dot + 1 == value.get<std::string>().size()) {
            problem(here, "expected \"NODE.OUTPUT\", found " + shown(value));
            continue;
          }
          auto ref = value.get<std::string>();
          out.inputs[key] = {ref.substr(0, dot), ref.substr(dot + 1)};
        }
      }
    }
    for (const auto& spec : type.inputs) {
      if (out.inputs.count(spec.name) > 0 || !spec.required)
        continue;
      if (spec.or_parameter && out.parameters.contains(spec.name))
        continue;
      problem(path + ".inputs." + spec.name,
              std::string{"missing: "} + type.type + " needs it (" + to_string(spec.kind) + ")"
                  + (spec.or_parameter ? ", as an input or a parameter" : ""));
    }
    for (const auto& spec : type.inputs)
      if (spec.or_parameter && out.inputs.count(spec.name) > 0 && out.parameters.contains(spec.name)
          && (node.contains("parameters") && node["parameters"].contains(spec.name)))
        problem(path + ".parameters." + spec.name,
                "given both as an input and as a parameter: keep one");
  }

  void read_timeout(const json& node, const std::string& path, workflow_node& out) {
    if (!node.contains("timeout"))
      return;
    const auto& t = node["timeout"];
    double max_s = static_cast<double>(max_node_timeout_ms) / 1000;
    if (!t.is_number() || !std::isfinite(t.get<double>()) || t.get<double>() < 0.001
        || t.get<double>() > max_s) {
      problem(path + ".timeout", "expected seconds from 0.001 to 86400, found " + shown(t));
      return;
    }
    out.timeout_ms = std::max<int64_t>(1, std::llround(t.get<double>() * 1000));
  }

  std::optional<workflow_node> read_node(const json& node, const std::string& path) {
    if (!node.is_object()) {
      problem(path, "expected a node object, found " + shown(node));
      return std::nullopt;
    }
    unknown_fields(node, path,
                   {"id", "name", "description", "category", "type", "parameters", "inputs", "when",
                    "unless", "timeout", "retry", "idempotent"});
    workflow_node out;
    if (auto id = text(node, path, "id", true)) {
      auto why = id_problem("a node id", *id);
      if (why.empty())
        out.id = *id;
      else
        problem(path + ".id", why);
    }
    out.name = text(node, path, "name", false).value_or(out.id);
    text(node, path, "description", false);
    auto type_name = text(node, path, "type", true);
    const node_signature* type = type_name ? types_.find(*type_name) : nullptr;
    if (type_name && !type)
      problem(path + ".type", "unknown node type \"" + *type_name
                                  + "\" (known: " + quoted_list(types_.types()) + ")");
    if (auto category = text(node, path, "category", false)) {
      auto parsed = node_category_from(*category);
      if (!parsed)
        problem(path + ".category",
                "expected providers, transforms, conditions or actions, found \"" + *category
                    + "\"");
      else if (type && *parsed != type->category)
        problem(path + ".category", "a " + type->type + " node is one of the "
                                        + to_string(type->category) + ", not the " + *category);
    }
    read_timeout(node, path, out);
    if (type) {
      out.type = type->type;
      out.category = type->category;
      out.idempotent = type->idempotent;
      out.sends_orders = type->sends_orders;
      // Providers call out: the guide's default is to retry what looks transient -- unless
      // running them twice may act twice (an http_request's POST): those retry only when the
      // definition asks (with its "retry" or "idempotent": true).
      bool idempotent = node.contains("idempotent") && node["idempotent"].is_boolean()
                            ? node["idempotent"].get<bool>()
                            : type->idempotent;
      if (type->category == node_category::providers && idempotent)
        out.retry.attempts = 3;
      read_parameters(node, path, *type, out);
      read_inputs(node, path, *type, out);
    }
    if (node.contains("retry"))
      read_retry(node["retry"], path + ".retry", out);
    if (out.sends_orders && out.retry.attempts > 1)
      problem(path + ".retry.attempts",
              "a node that sends orders is not retried: an order whose answer was lost may "
              "have been executed (the risk monitor asks the exchange about it instead)");
    if (node.contains("idempotent")) {
      if (!node["idempotent"].is_boolean())
        problem(path + ".idempotent", "expected true or false, found " + shown(node["idempotent"]));
      else if (node["idempotent"].get<bool>() && out.sends_orders)
        problem(path + ".idempotent", "a node that sends orders cannot be run twice safely");
      else
        out.idempotent = node["idempotent"].get<bool>();
    }
    bool when = node.contains("when");
    bool unless = node.contains("unless");
    if (when && unless)
      problem(path + ".unless", "give \"when\" or \"unless\", not both");
    else if (when || unless) {
      if (auto condition = text(node, path, when ? "when" : "unless", true)) {
        out.condition = *condition;
        out.run_if_passed = when;
      }
    }
    return out;
  }

private:
  const node_catalogue& types_;
  std::vector<workflow_problem>& problems_;
};

// Sources of inputs and conditions: the nodes exist, their outputs exist and fit, conditions are
// conditions.
void check_references(const node_catalogue& types, const std::vector<workflow_node>& nodes,
                      const std::map<std::string, size_t>& index,
                      std::vector<workflow_problem>& problems) {
  std::vector<std::string> ids;
  for (const auto& n : nodes)
    ids.push_back(n.id);
  for (size_t i = 0; i < nodes.size(); ++i) {
    const auto& node = nodes[i];
    auto path = "$.nodes[" + std::to_string(i) + "]";
    const auto* type = types.find(node.type);
    for (const auto& [input, ref] : node.inputs) {
      auto here = path + ".inputs." + input;
      auto source = index.find(ref.node);
      if (source == index.end()) {
        problems.push_back({here, "unknown node " + escaped_name(ref.node)
                                      + " (nodes: " + quoted_list(ids) + ")"});
        continue;
      }
      const auto* source_type = types.find(nodes[source->second].type);
      if (!source_type || !type)
        continue;
      auto output = std::find_if(source_type->outputs.begin(), source_type->outputs.end(),
                                 [&](const port_spec& p) { return p.name == ref.output; });
      if (output == source_type->outputs.end()) {
        std::vector<std::string> names;
        for (const auto& p : source_type->outputs)
          names.push_back(p.name);
        problems.push_back({here, "node \"" + ref.node + "\" (" + source_type->type
                                      + ") has no output " + escaped_name(ref.output)
                                      + " (outputs: " + quoted_list(names) + ")"});
        continue;
      }
      auto wanted = std::find_if(type->inputs.begin(), type->inputs.end(),
                                 [&](const port_spec& p) { return p.name == input; });
      if (wanted != type->inputs.end() && wanted->kind != value_kind::any
          && output->kind != value_kind::any && wanted->kind != output->kind)
        problems.push_back({here, std::string{"expects "} + to_string(wanted->kind) + ", but "
                                      + ref.node + "." + ref.output + " gives "
                                      + to_string(output->kind)});
    }
    if (!node.condition.empty()) {
      auto here = path + (node.run_if_passed ? ".when" : ".unless");
      auto source = index.find(node.condition);
      if (source == index.end())
        problems.push_back({here, "unknown node " + escaped_name(node.condition)
                                      + " (nodes: " + quoted_list(ids) + ")"});
      else if (!nodes[source->second].type.empty()
               && nodes[source->second].category != node_category::conditions)
        problems.push_back({here, "node \"" + node.condition + "\" is one of the "
                                      + to_string(nodes[source->second].category)
                                      + ", not a condition"});
    }
  }
}

// Every cycle, as the nodes on it: Tarjan's strongly connected components, then one loop through
// each component that has one.
void check_cycles(const std::vector<workflow_node>& nodes,
                  const std::map<std::string, size_t>& index,
                  std::vector<workflow_problem>& problems) {
  auto n = nodes.size();
  std::vector<std::vector<size_t>> reads(n); // node -> the nodes it reads from
  for (size_t i = 0; i < n; ++i) {
    for (const auto& [input, ref] : nodes[i].inputs)
      if (auto found = index.find(ref.node); found != index.end())
        reads[i].push_back(found->second);
    if (auto found = index.find(nodes[i].condition); found != index.end())
      reads[i].push_back(found->second);
  }
  std::vector<int> order(n, -1), low(n, 0);
  std::vector<bool> on_stack(n, false);
  std::vector<size_t> stack;
  int counter = 0;
  std::vector<std::vector<size_t>> components;
  // Iterative, so that a long chain in a hostile file cannot exhaust the stack.
  for (size_t root = 0; root < n; ++root) {
    if (order[root] >= 0)
      continue;
    std::vector<std::pair<size_t, size_t>> frames{{root, 0}};
    order[root] = low[root] = counter++;
    stack.push_back(root);
    on_stack[root] = true;
    while (!frames.empty()) {
      auto& [v, next] = frames.back();
      if (next < reads[v].size()) {
        auto w = reads[v][next++];
        if (order[w] < 0) {
          order[w] = low[w] = counter++;
          stack.push_back(w);
          on_stack[w] = true;
          frames.push_back({w, 0});
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], order[w]);
        }
        continue;
      }
      if (low[v] == order[v]) {
        std::vector<size_t> component;
        size_t w;
        do {
          w = stack.back();
          stack.pop_back();
          on_stack[w] = false;
          component.push_back(w);
        } while (w != v);
        components.push_back(std::move(component));
      }
      auto done = v;
      frames.pop_back();
      if (!frames.empty())
        low[frames.back().first] = std::min(low[frames.back().first], low[done]);
    }
  }
  for (auto& component : components) {
    bool self_loop =
        component.size() == 1
        && std::count(reads[component[0]].begin(), reads[component[0]].end(), component[0]) > 0;
    if (component.size() < 2 && !self_loop)
      continue;
    std::sort(component.begin(), component.end());
    std::set<size_t> members(component.begin(), component.end());
    // One loop: from the first member, follow reads within the component until a node repeats.
    std::vector<size_t> walk{component[0]};
    std::vector<int> seen_at(n, -1);
    seen_at[component[0]] = 0;
    for (;;) {
      auto v = walk.back();
      size_t next = v;
      for (auto w : reads[v])
        if (members.count(w) > 0) {
          next = w;
          break;
        }
      if (seen_at[next] >= 0) {
        walk.erase(walk.begin(), walk.begin() + seen_at[next]);
        walk.push_back(next);
        break;
      }
      seen_at[next] = static_cast<int>(walk.size());
      walk.push_back(next);
    }
    // Reads run against the flow: print it the way data flows.
    std::reverse(walk.begin(), walk.end());
    std::string loop;
    for (auto v : walk)
      loop += (loop.empty() ? "" : " -> ") + nodes[v].id;
    std::string message = "a cycle: " + loop;
    if (component.size() + 1 > walk.size()) {
      std::vector<std::string> all;
      for (auto v : component)
        all.push_back(nodes[v].id);
      message += " (nodes on cycles here: " + quoted_list(all) + ")";
    }
    problems.push_back({"$.nodes[" + std::to_string(component[0]) + "]", message});
  }
}

} // namespace

workflow_parse parse_workflow(const json& document, const node_catalogue& types) {
  workflow_parse result;
  auto& problems = result.problems;
  reader read{types, problems};
  if (!document.is_object()) {
    read.problem("$", "expected a workflow object, found " + shown(document));
    return result;
  }
  read.unknown_fields(document, "$",
                      {"id", "name", "description", "bot_id", "strategy_id", "trigger", "nodes"});
  workflow_definition workflow;
  if (auto id = read.text(document, "$", "id", true)) {
    auto why = id_problem("a workflow id", *id);
    if (why.empty())
      workflow.id = *id;
    else
      read.problem("$.id", why);
  }
  workflow.name = read.text(document, "$", "name", false).value_or(workflow.id);
  read.text(document, "$", "description", false);
  for (auto [key, into] : {std::pair<const char*, std::string*>{"bot_id", &workflow.bot_id},
                           {"strategy_id", &workflow.strategy_id}})
    if (auto value = read.text(document, "$", key, false)) {
      auto why = id_problem(key, *value);
      if (why.empty())
        *into = *value;
      else
        read.problem(std::string{"$."} + key, why);
    }
  if (document.contains("trigger"))
    read.read_trigger(document["trigger"], workflow.trigger);
  auto nodes = document.find("nodes");
  if (nodes == document.end() || !nodes->is_array() || nodes->empty()) {
    read.problem("$.nodes", "expected a non-empty list of nodes");
    return result;
  }
  if (nodes->size() > max_workflow_nodes) {
    read.problem("$.nodes", "has " + std::to_string(nodes->size()) + " nodes, more than "
                                + std::to_string(max_workflow_nodes));
    return result;
  }
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < nodes->size(); ++i) {
    auto path = "$.nodes[" + std::to_string(i) + "]";
    auto node = read.read_node((*nodes)[i], path);
    if (!node)
      continue;
    if (!node->id.empty()) {
      auto [at, fresh] = index.emplace(node->id, workflow.nodes.size());
      if (!fresh)
        read.problem(path + ".id", "node id \"" + node->id + "\" is used by $.nodes["
                                       + std::to_string(at->second) + "] too");
    }
    workflow.nodes.push_back(std::move(*node));
  }
  // Indexes into workflow.nodes equal those into the file only when every node was an object.
  if (workflow.nodes.size() == nodes->size()) {
    check_references(types, workflow.nodes, index, problems);
    check_cycles(workflow.nodes, index, problems);
  }
  if (problems.empty())
    result.workflow = std::move(workflow);
  return result;
}

workflow_parse parse_workflow_text(std::string_view text, const node_catalogue& types) {
  workflow_parse result;
  if (text.size() > max_workflow_text_bytes) {
    result.problems.push_back({"$", "the definition has " + std::to_string(text.size())
                                        + " bytes, more than "
                                        + std::to_string(max_workflow_text_bytes)});
    return result;
  }
  if (auto why = json_text_problem(text); !why.empty()) {
    result.problems.push_back({"$", "the definition " + why});
    return result;
  }
  return parse_workflow(parse_json_within(text), types);
}

} // namespace brokedancer
