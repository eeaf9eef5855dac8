#pragma once

// What an execution publishes on the `workflow_events` topic, in the schema of the integration
// guide the Python executor's users write against (execution_started, node_started,
// node_completed / node_failed, then execution_completed / execution_failed /
// execution_halted), and the keys its checkpoints live under. Plain code: the execution actor
// fills them in, tests read them.

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "messages/workflow.hpp"

namespace brokedancer {

constexpr const char* workflow_events_topic = "workflow_events";

// Who runs: the fields every event of an execution carries.
struct execution_identity {
  std::string execution_id;
  std::string workflow_id;
  std::string bot_id;
  std::string strategy_id;
};

// Every execution id begins with it (and so every correlation id of what an execution does).
constexpr const char* execution_id_prefix = "exec_";

// "exec_<workflow>_<12 hex digits>", as the guide shows them.
std::string new_execution_id(const std::string& workflow_id);

// The client order id of an order node's order: "<execution id>-<node id>", unique per
// execution and node (an order node runs once per execution, never retried).
std::string order_id_of(const std::string& execution_id, const std::string& node_id);

// The most of an event's payload a workflow takes as its trigger: it is kept in every
// checkpoint of the execution, and in a trigger_event node's outputs, deeper than the bus had it.
constexpr size_t max_trigger_payload_bytes = 64 * 1024;
constexpr int max_trigger_depth = 48;

// What an event that starts an execution passes to it: {"topic", "payload"}, the payload being
// the event's JSON; or {"topic", "payload": null, "problem"} when it is over `max_bytes` (at most
// max_trigger_payload_bytes), before or after it is parsed, or not JSON of at most
// max_trigger_depth levels.
nlohmann::json trigger_of(const std::string& topic, const std::string& payload,
                          size_t max_bytes = max_trigger_payload_bytes);
// Whether a checkpoint's trigger (anything may be in the store) has that form.
bool is_trigger(const nlohmann::json& trigger);

nlohmann::json execution_event(const char* type, const execution_identity& who, int64_t at_us);
nlohmann::json node_event(const char* type, const execution_identity& who,
                          const workflow_node& node, int64_t at_us);

// workflow:{workflow_id}:execution:{execution_id}:status, with every node's progress.
std::string execution_status_key(const std::string& workflow_id, const std::string& execution_id);
// workflow:{workflow_id}:execution:{execution_id}:result, written once it has ended.
std::string execution_result_key(const std::string& workflow_id, const std::string& execution_id);
// workflow:{workflow_id}:latest_execution: the id of the execution started last.
std::string latest_execution_key(const std::string& workflow_id);
// workflow:{workflow_id}:history: a log with an entry for each execution that ended (or was
// found interrupted).
std::string execution_history_log(const std::string& workflow_id);
// workflow:{workflow_id}:running:{execution_id}: there from an execution's start until its end
// is written, naming the node that runs it; one left behind is an execution a crash interrupted.
std::string running_marker_key(const std::string& workflow_id, const std::string& execution_id);
// The glob of a workflow's running markers (ids are letters, digits, '_' and '-': no escapes).
std::string running_marker_pattern(const std::string& workflow_id);
// workflow:{workflow_id}:execution:{execution_id}:resume:{n}: taken (set_nx) by the one resume of
// the execution's n-th interruption, across every node sharing the store.
std::string resume_claim_key(const std::string& workflow_id, const std::string& execution_id,
                             uint32_t interruptions);

} // namespace brokedancer
