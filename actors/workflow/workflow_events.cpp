#include "actors/workflow/workflow_events.hpp"

#include <algorithm>

#include "core/json_text.hpp"
#include "messages/channels.hpp"
#include "messages/correlation.hpp"

namespace brokedancer {

using json = nlohmann::json;

std::string new_execution_id(const std::string& workflow_id) {
  return execution_id_prefix + workflow_id + "_" + new_correlation_id().substr(0, 12);
}

std::string order_id_of(const std::string& execution_id, const std::string& node_id) {
  return execution_id + "-" + node_id;
}

json trigger_of(const std::string& topic, const std::string& payload, size_t max_bytes) {
  auto refused = [&](std::string problem) {
    return json{{"topic", topic}, {"payload", nullptr}, {"problem", std::move(problem)}};
  };
  max_bytes = std::min(max_bytes, max_trigger_payload_bytes);
  if (payload.size() > max_bytes)
    return refused("its payload has " + std::to_string(payload.size()) + " bytes, over the "
                   + std::to_string(max_bytes) + " a workflow takes");
  // Kept in checkpoints and outputs, a few levels further down than the bus had it: it must
  // still fit the store's nesting limit there.
  auto parsed = parse_json_within(payload, max_trigger_depth);
  if (parsed.is_discarded())
    return refused("its payload is not JSON nested at most " + std::to_string(max_trigger_depth)
                   + " levels deep");
  // As it is written again (numbers may take more room than they did).
  if (auto size = dump_json(parsed).size(); size > max_bytes)
    return refused("its payload has " + std::to_string(size) + " bytes as JSON, over the "
                   + std::to_string(max_bytes) + " a workflow takes");
  return {{"topic", topic}, {"payload", std::move(parsed)}};
}

bool is_trigger(const json& trigger) {
  return trigger.is_object() && trigger.contains("payload")
         && trigger.find("topic") != trigger.end() && trigger["topic"].is_string();
}

json execution_event(const char* type, const execution_identity& who, int64_t at_us) {
  return {{"type", type},
          {"execution_id", who.execution_id},
          {"workflow_id", who.workflow_id},
          {"bot_id", who.bot_id},
          {"strategy_id", who.strategy_id},
          {"timestamp", iso8601_utc(at_us)}};
}

json node_event(const char* type, const execution_identity& who, const workflow_node& node,
                int64_t at_us) {
  auto event = execution_event(type, who, at_us);
  event["node_id"] = node.id;
  event["node_name"] = node.name;
  event["node_category"] = to_string(node.category);
  event["node_type"] = node.type;
  return event;
}

std::string execution_status_key(const std::string& workflow_id, const std::string& execution_id) {
  return "workflow:" + workflow_id + ":execution:" + execution_id + ":status";
}

std::string execution_result_key(const std::string& workflow_id, const std::string& execution_id) {
  return "workflow:" + workflow_id + ":execution:" + execution_id + ":result";
}

std::string latest_execution_key(const std::string& workflow_id) {
  return "workflow:" + workflow_id + ":latest_execution";
}

std::string execution_history_log(const std::string& workflow_id) {
  return "workflow:" + workflow_id + ":history";
}

std::string running_marker_key(const std::string& workflow_id, const std::string& execution_id) {
  return "workflow:" + workflow_id + ":running:" + execution_id;
}

std::string running_marker_pattern(const std::string& workflow_id) {
  return "workflow:" + workflow_id + ":running:*";
}

std::string resume_claim_key(const std::string& workflow_id, const std::string& execution_id,
                             uint32_t interruptions) {
  return "workflow:" + workflow_id + ":execution:" + execution_id
         + ":resume:" + std::to_string(interruptions);
}

} // namespace brokedancer
