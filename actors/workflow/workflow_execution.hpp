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
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "actors/workflow/execution_checkpoint.hpp"
#include "actors/workflow/node_call.hpp"
#include "messages/workflow.hpp"

namespace brokedancer {

// Outputs travel in events (a node's, in its node_completed) and in checkpoints (all of them):
// by default a node's at most 256 KB of JSON and an execution's 2 MB, within the bus's and the
// store's default limits (1 MB a payload, 4 MB a value); output_bounds() fits them to a
// configuration's. Past them the node fails -- save an order node, which has traded.
struct output_bounds {
  size_t node_bytes = 256 * 1024;
  size_t execution_bytes = 2 * 1024 * 1024;
};

// Bounds that the bus and the store of a configuration take: `bus_payload_bytes` and
// `store_value_bytes` are their limits (0: the defaults above).
output_bounds fitted_output_bounds(size_t bus_payload_bytes, size_t store_value_bytes);

struct execution_options {
  std::shared_ptr<const workflow_definition> workflow; // validated (parse_workflow)
  std::shared_ptr<const node_registry> nodes;
  workflow_services services;
  std::string execution_id; // empty: a fresh one (new_execution_id)
  // Hears (wf_result, result JSON text) once the execution has ended, even one that ends before
  // anybody could ask it (started at HALT); none: nobody.
  caf::actor report_to;
  output_bounds bounds;
  // The node that runs it, in its running marker: after a crash, that node's restart reports it
  // interrupted (and no other node's does).
  std::string node_name;
  // Resuming an interrupted execution (same id): the nodes restored from its checkpoint.
  std::optional<resume_point> resume;
  // The event that started it, {"topic", "payload"} (see trigger_of in workflow_events.hpp),
  // for its trigger_event nodes; null when a schedule, an operator or `workflow run` did. Kept
  // in its checkpoint: a resumed run reads the same event.
  nlohmann::json trigger = nullptr;
};

using node_timeout_atom = caf::atom_constant<caf::atom("wf_timeout")>;
using node_retry_atom = caf::atom_constant<caf::atom("wf_retry")>;
// To report_to: (wf_result, the result document as JSON text) once the execution has ended.
using execution_result_atom = caf::atom_constant<caf::atom("wf_result")>;
// (cancel_execution_atom, reason): an operator ends the execution; it ends as cancelled.

// Its checkpoint is written as it goes (with every node's progress, the definition's digest and
// the node that runs it), and "running" is in it before a node that is not idempotent starts:
// such a node starts only once the store has that, so that a crash never leaves one that ran
// looking as if it had not.
//
// Starts at once; quits once its result is written.
caf::actor spawn_workflow_execution(caf::actor_system& sys, execution_options options);

} // namespace brokedancer
