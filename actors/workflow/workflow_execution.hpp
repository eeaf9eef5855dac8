#pragma once

// One execution of a workflow: an actor that runs the nodes as the plan allows (independent ones
// together), times each attempt on its own clock, retries as the node's policy says, publishes
// the guide's events on `workflow_events`, writes its progress and result to the state store,
// and stops at HALT. Every order it sends goes through the risk monitor like a bot's.
//
// It registers with the emergency controller like a bot: from HALT up it ends as
// execution_halted with the level's reason before another node starts, and acknowledges the
// change only once it has stopped (a SHUTDOWN waits for it). The execution id is the
// correlation id of its log lines, events and orders.

#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "actors/workflow/node_call.hpp"
#include "messages/workflow.hpp"

namespace brokedancer {

// Outputs travel in events and checkpoints: a node's at most 1 MB as JSON, an execution's all
// together at most 16 MB; past that the node fails.
constexpr size_t max_node_output_bytes = 1 << 20;
constexpr size_t max_execution_output_bytes = 16 << 20;

struct execution_options {
  std::shared_ptr<const workflow_definition> workflow; // validated (parse_workflow)
  std::shared_ptr<const node_registry> nodes;
  workflow_services services;
  std::string execution_id; // empty: a fresh one (new_execution_id)
  // Hears (wf_result, result JSON text) once the execution has ended, even one that ends before
  // anybody could ask it (started at HALT); none: nobody.
  caf::actor report_to;
};

using node_timeout_atom = caf::atom_constant<caf::atom("wf_timeout")>;
using node_retry_atom = caf::atom_constant<caf::atom("wf_retry")>;
// (wf_result) -> the result document (JSON text) once the execution has ended.
using execution_result_atom = caf::atom_constant<caf::atom("wf_result")>;
// (wf_cancel, reason): an operator ends the execution; it ends as cancelled.
using cancel_execution_atom = caf::atom_constant<caf::atom("wf_cancel")>;

// Starts at once; quits once its result is written.
caf::actor spawn_workflow_execution(caf::actor_system& sys, execution_options options);

} // namespace brokedancer
