#pragma once

// The workflows a node runs by itself: the definitions of its configuration (`workflows.files`),
// each started on its trigger -- every N seconds, or on each event whose topic matches its
// pattern -- or on demand, through its gate (workflow_gate: the level, the executions of it still
// running, its own circuit breaker).
//
// Events published by executions (their workflow_events, publish_event nodes: any event whose
// correlation id is an execution's) never trigger a workflow, so no pattern can make workflows
// trigger each other for ever.
//
// It registers with the emergency controller like a bot: from HALT up nothing starts (the
// triggers are counted as held) until the level is lowered. The executions it started stop by
// themselves, each registered too, and a SHUTDOWN waits for them.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "actors/resilience/breaker_machine.hpp"
#include "actors/workflow/node_call.hpp"
#include "actors/workflow/workflow_execution.hpp"
#include "messages/workflow.hpp"

namespace brokedancer {

// What outlives an incarnation of the executor (the supervisor starts it again after a crash):
// each workflow's gate -- a breaker an operator forced open stays open -- and the executions
// still running, so that max_running holds across the restart. Opaque; one per child.
struct executor_memory;
std::shared_ptr<executor_memory> make_executor_memory();

struct executor_options {
  std::vector<std::shared_ptr<const workflow_definition>> workflows; // validated, ids unique
  std::shared_ptr<const node_registry> nodes;
  workflow_services services;
  output_bounds bounds;
  uint32_t max_running = 1; // executions of one workflow at once; a trigger past it is skipped
  breaker_settings breaker; // each workflow's own, over its executions' outcomes
  int64_t history_retention_ms = 7LL * 24 * 3600 * 1000;
  std::shared_ptr<executor_memory> memory; // none: its own, lost with it
  // This node's name, in its executions' running markers: at start, the executor reports the
  // executions this node was running when it stopped without ending them as interrupted.
  std::string node_name;
};

// The executor's messages (it is a dynamically typed actor, as the executions are):
//   (status_atom) -> string: JSON {"level", "workflows": [{"workflow_id", "trigger", counters,
//                    "breaker": {...}, "last_execution_id"}]}
//   (wf_start, workflow id) -> string: the id of the execution started; an error when the
//                    workflow is unknown, the level is HALT or higher, it is busy or its
//                    breaker is open
//   (wf_breaker, workflow id, action, reason) -> string: the workflow's status entry after
//                    force_open, force_close or reset of its breaker
//   (wf_hist, workflow id, limit) -> string: a JSON array of the newest `limit` entries of the
//                    workflow's history (any workflow whose executions wrote to this store),
//                    newest first
//   (wf_cancel, execution id, reason) -> string: the execution id, once told to end as
//                    cancelled; only an execution this executor started
//   (wf_resume, execution id, reason) -> string: {"execution_id", "status": "resumed",
//                    "restored_nodes"} once an interrupted execution of one of its workflows
//                    runs again from its checkpoint (actors/workflow/execution_checkpoint.hpp),
//                    through the workflow's gate; an error saying why not otherwise
//
// Interrupted executions: at start, those this node was running when it stopped (their running
// markers name it, their status is still "running"), and any of its executions whose actor
// stopped without a result, are reported: status "interrupted" with the reason, an entry in
// the history, an execution_interrupted event, a warning, and the workflow's status entry's
// "interrupted" list.
// Its history logs are trimmed to history_retention_ms (at start, then every hour).
using workflow_tick_atom = caf::atom_constant<caf::atom("wf_tick")>;
using workflow_event_atom = caf::atom_constant<caf::atom("wf_event")>;

caf::actor spawn_workflow_executor(caf::actor_system& sys, executor_options options);

} // namespace brokedancer
