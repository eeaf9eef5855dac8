#include "actors/workflow/execution_checkpoint.hpp"

#include <openssl/evp.h>

#include "actors/workflow/workflow_events.hpp"
#include "core/json_fields.hpp"
#include "core/json_text.hpp"

namespace brokedancer {

using json = nlohmann::json;

namespace {

json rendered(const workflow_node& node) {
  json inputs = json::object();
  for (const auto& [name, ref] : node.inputs)
    inputs[name] = ref.node + "." + ref.output;
  return {{"id", node.id},
          {"type", node.type},
          {"category", to_string(node.category)},
          {"parameters", node.parameters},
          {"inputs", std::move(inputs)},
          {"condition", node.condition},
          {"run_if_passed", node.run_if_passed},
          {"timeout_ms", node.timeout_ms},
          {"retry",
           {{"attempts", node.retry.attempts},
            {"first_delay_ms", node.retry.first_delay_ms},
            {"factor", node.retry.factor},
            {"cap_ms", node.retry.cap_ms},
            {"on", node.retry.on}}},
          {"idempotent", node.idempotent},
          {"sends_orders", node.sends_orders}};
}

bool is_hex(const std::string& text) {
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

// A whole number from 0 to `most` in `value`, else nullopt.
std::optional<uint32_t> count_in(const json& value, uint32_t most) {
  if (!value.is_number_integer() && !value.is_number_unsigned())
    return std::nullopt;
  auto n = value.get<int64_t>();
  if (n < 0 || n > static_cast<int64_t>(most))
    return std::nullopt;
  return static_cast<uint32_t>(n);
}

} // namespace

std::string definition_digest(const workflow_definition& workflow) {
  json nodes = json::array();
  for (const auto& node : workflow.nodes)
    nodes.push_back(rendered(node));
  auto text = dump_json(json{{"id", workflow.id},
                             {"bot_id", workflow.bot_id},
                             {"strategy_id", workflow.strategy_id},
                             {"nodes", std::move(nodes)}});
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    return {}; // compares unequal to every checkpoint's: nothing resumes on a guess
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += digits[digest[i] >> 4];
    hex += digits[digest[i] & 0xf];
  }
  return hex;
}

std::string declared_output_problem(const node_signature* type, const json& outputs) {
  if (!outputs.is_object())
    return "its outputs are not an object";
  if (!type)
    return {};
  for (const auto& port : type->outputs) {
    auto found = outputs.find(port.name);
    if (found == outputs.end())
      return "it gave no output " + port.name;
    if (!holds(port.kind, *found))
      return "its output " + port.name + " is not " + to_string(port.kind);
  }
  return {};
}

std::optional<resume_point> read_checkpoint(const json& status, const std::string& execution_id,
                                            const workflow_definition& workflow,
                                            const node_catalogue& types, std::string& why) {
  if (!status.is_object()) {
    why = "its checkpoint is not a JSON object";
    return std::nullopt;
  }
  if (text_field(status, "execution_id") != execution_id
      || text_field(status, "workflow_id") != workflow.id) {
    why = "its checkpoint names another execution or workflow";
    return std::nullopt;
  }
  auto state = text_field(status, "status");
  if (state != "interrupted") {
    why = "it is " + (state.empty() ? std::string{"of no known status"} : escaped_name(state))
          + ": only an execution reported interrupted (after a crash) resumes";
    return std::nullopt;
  }
  auto digest = definition_digest(workflow);
  auto written = text_field(status, "definition");
  if (written.empty()) {
    why = "its checkpoint has no definition digest (it was lost, or written by an older "
          "version): it cannot be matched to the workflow; start a new execution instead";
    return std::nullopt;
  }
  if (digest.empty() || written != digest) {
    why = "workflow " + workflow.id
          + "'s definition has changed since the execution started: its checkpoint does not fit "
            "the new graph; start a new execution instead";
    return std::nullopt;
  }
  resume_point point;
  auto interruptions = status.find("interruptions");
  auto counted = interruptions == status.end() ? std::nullopt : count_in(*interruptions, 1000000);
  if (!counted || *counted == 0) {
    why = "its checkpoint does not say how often it was interrupted";
    return std::nullopt;
  }
  point.interruptions = *counted;
  // The event that started it: a resumed run's trigger_event nodes read the same one.
  if (auto trigger = status.find("trigger"); trigger != status.end() && !trigger->is_null()) {
    if (!is_trigger(*trigger)) {
      why = "its checkpoint's trigger is not an event's";
      return std::nullopt;
    }
    point.trigger = *trigger;
  }
  auto nodes = status.find("nodes");
  if (nodes == status.end() || !nodes->is_object()) {
    why = "its checkpoint has no nodes";
    return std::nullopt;
  }
  for (size_t i = 0; i < workflow.nodes.size(); ++i) {
    const auto& node = workflow.nodes[i];
    auto entry = nodes->find(node.id);
    if (entry == nodes->end() || !entry->is_object()) {
      why = "its checkpoint has no progress for node " + node.id;
      return std::nullopt;
    }
    auto progress = text_field(*entry, "status");
    if (progress == "completed") {
      auto outputs = entry->find("outputs");
      auto problem = outputs == entry->end()
                         ? std::string{"it has no outputs"}
                         : declared_output_problem(types.find(node.type), *outputs);
      if (!problem.empty()) {
        why = "its checkpoint is damaged at node " + node.id + ": " + problem;
        return std::nullopt;
      }
      auto attempts = entry->find("attempts");
      auto n = attempts == entry->end() ? std::nullopt : count_in(*attempts, max_node_attempts);
      point.completed.push_back({i, *outputs, n && *n > 0 ? *n : 1});
    } else if (progress == "running" || progress == "failed" || progress == "cancelled") {
      if (!node.idempotent) {
        why = "node " + node.id + " had started and is not idempotent: what it did is not known, "
              + "and it is not run again";
        if (node.sends_orders)
          why += " (its order's client order id is " + order_id_of(execution_id, node.id)
                 + ": look the order up before trading by hand)";
        why += "; start a new execution instead";
        return std::nullopt;
      }
    } else if (progress != "waiting" && progress != "skipped") {
      why = "its checkpoint is damaged at node " + node.id + ": no known status";
      return std::nullopt;
    }
  }
  return point;
}

std::string workflow_of_execution(const std::string& execution_id) {
  const std::string prefix = execution_id_prefix;
  constexpr size_t tail = 13; // "_" and 12 hex digits
  if (execution_id.size() <= prefix.size() + tail || execution_id.rfind(prefix, 0) != 0
      || execution_id.size() > max_execution_id_bytes)
    return {};
  auto split = execution_id.size() - tail;
  if (execution_id[split] != '_' || !is_hex(execution_id.substr(split + 1)))
    return {};
  auto workflow = execution_id.substr(prefix.size(), split - prefix.size());
  return workflow_id_problem("a workflow id", workflow).empty() ? workflow : std::string{};
}

} // namespace brokedancer
