#pragma once

// What a resumed execution takes from the checkpoint of an interrupted one, as plain code: the
// rules that decide whether a checkpoint read back from the store can be trusted, which nodes
// are restored with the outputs they had, and which run again. Tests drive them without actors.
//
// The rules, in the order they are checked:
//  - only an execution reported interrupted resumes (a restart or the executor found it running
//    without the actor that ran it), once per interruption (resume_claim_key);
//  - the workflow's definition must be the one the execution started with (its digest is in
//    the checkpoint): outputs of a node that has since changed do not fit the new graph;
//  - a node that completed is restored with its outputs (checked against its type's outputs
//    as any node's are) and does not run again;
//  - a node that had started and not completed runs again only if its type is idempotent. One
//    that is not (an order) stops the resume: its outcome is unknown, and running it again could
//    trade twice. The execution writes "running" into its checkpoint before such a node starts
//    (and starts it only once the store has it), so a node found waiting never started.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "messages/workflow.hpp"

namespace brokedancer {

// A hex SHA-256 of what running a workflow depends on: its id, bot, strategy and every node's
// type, parameters, wiring, condition, timeout, retries and flags (not names or the trigger).
std::string definition_digest(const workflow_definition& workflow);

// Why `outputs` are not what `type` declares (an object with each declared output, of its
// kind), or empty. Null type: only the object is checked.
std::string declared_output_problem(const node_signature* type, const nlohmann::json& outputs);

struct restored_node {
  size_t index = 0; // in the definition's nodes
  nlohmann::json outputs;
  uint32_t attempts = 1;
};

struct resume_point {
  std::vector<restored_node> completed;
  // How many times the execution has been interrupted, this time included: its resume claims
  // are per interruption.
  uint32_t interruptions = 1;
  // The event that started it (see trigger_of), null when none did.
  nlohmann::json trigger = nullptr;
};

// Reads the status document of execution `execution_id` (from the store: anything may be in it)
// as a checkpoint of `workflow`; the point to resume from, or why not in `why`.
std::optional<resume_point> read_checkpoint(const nlohmann::json& status,
                                            const std::string& execution_id,
                                            const workflow_definition& workflow,
                                            const node_catalogue& types, std::string& why);

// The workflow id in an execution id ("exec_<workflow>_<12 hex digits>"), or empty when it is
// not one.
std::string workflow_of_execution(const std::string& execution_id);

} // namespace brokedancer
