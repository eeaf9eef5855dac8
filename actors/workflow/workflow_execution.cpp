#include "actors/workflow/workflow_execution.hpp"

#include <chrono>
#include <functional>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/emergency/registration.hpp"
#include "actors/supervision/supervisor.hpp"
#include "actors/workflow/workflow_events.hpp"
#include "core/json_text.hpp"
#include "core/logging.hpp"
#include "core/unix_time.hpp"
#include "messages/channels.hpp"
#include "messages/correlation.hpp"
#include "messages/emergency.hpp"
#include "messages/workflow_plan.hpp"

namespace brokedancer {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

constexpr auto store_timeout = std::chrono::seconds(5);

struct node_run {
  uint32_t attempt = 0;
  bool in_flight = false;     // this attempt has not been settled (nor its timeout)
  steady::time_point started; // this attempt
  std::shared_ptr<node_call> call;
};

struct execution_state {
  execution_options options;
  execution_identity who;
  std::unique_ptr<execution_plan> plan;
  std::vector<node_run> runs;
  level_tracker level;
  bool started = false;
  bool ended = false;
  std::string status; // running, completed, failed, halted, cancelled
  std::string reason;
  steady::time_point began;
  int64_t began_us = 0;
  emergency_registration registration{
      "the emergency controller does not answer: the workflow waits before its first node"};
  uint64_t ack_owed = 0; // a level change's sequence, acknowledged once the execution stopped
  size_t writes_in_flight = 0;
  // Nodes that complete while the plan is advanced (computing nodes settle at once) are not
  // advanced from within: the loop in advance() goes round again, so that a long chain does not
  // recurse, and their progress is written once when it stops.
  bool advancing = false;
  bool advance_again = false;
  bool checkpoint_due = false;
  size_t output_bytes = 0; // all nodes' outputs so far, as JSON text
  std::string digest;      // of the definition: a resume checks it is the same
  // This run of the execution (a resumed one is another run of the same id), in its status and
  // its running marker: a marker left by an earlier run does not speak for this one.
  std::string run = new_correlation_id();
  json restored_nodes = json::array(); // a resumed run's nodes restored from the checkpoint
  std::shared_ptr<const json> trigger; // options.trigger, shared by the node calls
  uint32_t interruptions = 0;
  // Nodes that are not idempotent, waiting to start until the checkpoint that shows them
  // running is written.
  std::vector<size_t> guarded;
  // Order nodes that ended without their order's answer (timed out, the risk monitor away,
  // or still out when the execution ended): the order may yet fill.
  json orders_unanswered = json::array();
  logger log{"workflow"};
  static inline const char* name = "workflow_execution";
};

using self_pointer = caf::stateful_actor<execution_state>*;

double milliseconds_since(steady::time_point from) {
  return std::chrono::duration<double, std::milli>(steady::now() - from).count();
}

json log_fields(self_pointer self, json more = json::object()) {
  more["correlation_id"] = self->state.who.execution_id;
  more["workflow_id"] = self->state.who.workflow_id;
  return more;
}

// Published in the order made: one sender, one bus, so the bus keeps the order.
void emit(self_pointer self, const json& event) {
  auto& st = self->state;
  if (st.options.services.bus)
    caf::anon_send(st.options.services.bus, publish_atom::value, std::string{workflow_events_topic},
                   dump_json(event), st.who.execution_id);
}

// Progress of every node, under the status key: what a restart reads to resume.
json progress(self_pointer self) {
  auto& st = self->state;
  json nodes = json::object();
  for (size_t i = 0; i < st.runs.size(); ++i) {
    const auto& node = st.options.workflow->nodes[i];
    json entry{{"status", to_string(st.plan->status(i))}, {"attempts", st.runs[i].attempt}};
    if (st.plan->status(i) == node_progress::completed)
      entry["outputs"] = st.plan->outputs(i);
    nodes[node.id] = std::move(entry);
  }
  json doc{{"execution_id", st.who.execution_id},
           {"workflow_id", st.who.workflow_id},
           {"bot_id", st.who.bot_id},
           {"strategy_id", st.who.strategy_id},
           {"status", st.status},
           {"reason", st.reason},
           {"started_at", iso8601_utc(st.began_us)},
           {"updated_at", iso8601_utc(now_us())},
           {"node", st.options.node_name},
           {"run", st.run},
           {"definition", st.digest},
           {"interruptions", st.interruptions},
           {"resumed", st.options.resume.has_value()},
           {"nodes", std::move(nodes)}};
  if (st.trigger) // the event that started it, for a resumed run
    doc["trigger"] = *st.trigger;
  return doc;
}

void quit_when_written(self_pointer self) {
  auto& st = self->state;
  if (st.ended && st.writes_in_flight == 0)
    self->quit();
}

using written_fn = std::function<void(bool written)>;

// Keys, and entries appended to `log` when it is named, in one step of the store; `then` hears
// whether the store has them. Without a store, nothing is written and `then` hears true.
void write(self_pointer self, std::vector<key_value> items, std::string log = {},
           std::vector<std::string> entries = {}, written_fn then = {}) {
  auto& st = self->state;
  auto& store = st.options.services.store;
  if (!store) {
    if (then)
      then(true);
    return;
  }
  ++st.writes_in_flight;
  auto written = [self, then] {
    --self->state.writes_in_flight;
    if (then)
      then(true);
    quit_when_written(self);
  };
  auto failed = [self, then](caf::error& err) {
    --self->state.writes_in_flight;
    self->state.log.warn("an execution's checkpoint could not be written",
                         log_fields(self, {{"error", self->system().render(err)}}));
    if (then)
      then(false);
    quit_when_written(self);
  };
  if (log.empty())
    self->request(store, store_timeout, set_many_atom::value, std::move(items), int64_t{0})
        .then(written, failed);
  else
    self->request(store, store_timeout, commit_atom::value, std::move(items), std::move(log),
                  std::move(entries))
        .then(written, failed);
}

json running_marker(self_pointer self) {
  auto& st = self->state;
  return json{{"node", st.options.node_name},
              {"run", st.run},
              {"execution_id", st.who.execution_id},
              {"started_at", iso8601_utc(st.began_us)}};
}

// With the running marker too when `with_marker`: before a node that is not idempotent starts,
// so that a crash after it is found even if the first write (at begin) was lost.
void checkpoint(self_pointer self, written_fn then = {}, bool with_marker = false) {
  auto& st = self->state;
  std::vector<key_value> items{
      {execution_status_key(st.who.workflow_id, st.who.execution_id), dump_json(progress(self))}};
  if (with_marker)
    items.push_back({running_marker_key(st.who.workflow_id, st.who.execution_id),
                     dump_json(running_marker(self))});
  write(self, std::move(items), {}, {}, std::move(then));
}

void advance(self_pointer self);

void acknowledge(self_pointer self, uint64_t sequence) {
  if (auto& controller = self->state.options.services.emergency)
    self->send(caf::actor_cast<emergency_actor>(controller), emergency_ack_atom::value, sequence);
}

void end(self_pointer self, std::string status, std::string reason) {
  auto& st = self->state;
  if (st.ended)
    return;
  st.ended = true;
  st.status = std::move(status);
  st.reason = std::move(reason);
  // Order nodes still waiting for their answer: the order may yet fill at the risk monitor,
  // which books it. The result names them, so that nobody reads "halted" as "nothing traded".
  auto& unsettled = st.orders_unanswered;
  for (auto i : st.plan->stop()) {
    auto& run = st.runs[i];
    run.in_flight = false;
    if (run.call)
      run.call->abandon();
    const auto& node = st.options.workflow->nodes[i];
    // attempt 0: it was waiting for its checkpoint and never started.
    if (node.sends_orders && run.attempt > 0)
      unsettled.push_back(
          {{"node_id", node.id}, {"client_order_id", order_id_of(st.who.execution_id, node.id)}});
  }
  const char* type = st.status == "completed" ? "execution_completed"
                     : st.status == "halted"  ? "execution_halted"
                                              : "execution_failed";
  auto duration = milliseconds_since(st.began);
  auto event = execution_event(type, st.who, now_us());
  event["status"] = st.status;
  event["duration_ms"] = duration;
  event["node_count"] = st.options.workflow->nodes.size();
  if (!st.reason.empty())
    event[st.status == "failed" ? "error" : "reason"] = st.reason;
  if (st.status == "failed" && st.plan->failed_node() < st.runs.size())
    event["failed_node"] = st.options.workflow->nodes[st.plan->failed_node()].id;
  if (!unsettled.empty())
    event["orders_unanswered"] = unsettled;
  emit(self, event);
  json outputs = json::object();
  for (size_t i = 0; i < st.runs.size(); ++i)
    if (st.plan->status(i) == node_progress::completed)
      outputs[st.options.workflow->nodes[i].id] = st.plan->outputs(i);
  auto result = event;
  result["outputs"] = std::move(outputs);
  auto history = json{{"execution_id", st.who.execution_id},
                      {"status", st.status},
                      {"reason", st.reason},
                      {"started_at", iso8601_utc(st.began_us)},
                      {"ended_at", event["timestamp"]},
                      {"duration_ms", duration}};
  if (st.options.resume)
    history["resumed"] = true;
  auto result_text = dump_json(result);
  // Status, result and the history's entry in one step: all of them, or none. The running
  // marker goes once they are written: a node that crashes before finds it, and the
  // "running" status beside it, and reports the execution interrupted.
  write(self,
        {{execution_status_key(st.who.workflow_id, st.who.execution_id), dump_json(progress(self))},
         {execution_result_key(st.who.workflow_id, st.who.execution_id), result_text}},
        execution_history_log(st.who.workflow_id), {dump_json(history)}, [self](bool written) {
          auto& s = self->state;
          if (!written)
            return;
          ++s.writes_in_flight;
          auto done = [self] {
            --self->state.writes_in_flight;
            quit_when_written(self);
          };
          self->request(s.options.services.store, store_timeout, del_atom::value,
                        running_marker_key(s.who.workflow_id, s.who.execution_id))
              .then([done](bool) { done(); }, [done](caf::error&) { done(); });
        });
  st.log.info(
      "workflow execution ended",
      log_fields(self, {{"status", st.status}, {"reason", st.reason}, {"duration_ms", duration}}));
  if (st.options.report_to)
    self->send(st.options.report_to, execution_result_atom::value, result_text);
  if (st.ack_owed > 0)
    acknowledge(self, st.ack_owed);
  st.ack_owed = 0;
  quit_when_written(self);
}

void settle(self_pointer self, size_t node, uint32_t attempt, const json* outputs,
            const std::string& kind, const std::string& message);

// The first wired input that is not of the kind the node's type reads ("" when all are):
// an `any` output (a stored value, an HTTP body) may hold anything.
std::string mistyped_input(self_pointer self, size_t index, const json& inputs) {
  auto& st = self->state;
  const auto* type = st.options.nodes->catalogue().find(st.options.workflow->nodes[index].type);
  if (!type)
    return {};
  for (const auto& port : type->inputs) {
    auto found = inputs.find(port.name);
    if (found != inputs.end() && !found->is_null() && !holds(port.kind, *found))
      return "input " + port.name + " is not " + to_string(port.kind) + ": "
             + found->dump(-1, ' ', true, json::error_handler_t::replace).substr(0, 80);
  }
  return {};
}

// Why a node's outputs cannot be taken ("" when they can): every declared output there and of
// its kind, and within the bounds -- outputs go into events and checkpoints.
std::string output_problem(self_pointer self, size_t index, const json& outputs, size_t bytes) {
  auto& st = self->state;
  if (!outputs.is_object())
    return "its outputs are not an object";
  const auto& bounds = st.options.bounds;
  if (bytes > bounds.node_bytes)
    return "its outputs take " + std::to_string(bytes) + " bytes, more than "
           + std::to_string(bounds.node_bytes);
  // An order node has traded by now: its few outputs are taken whatever the execution's total.
  if (!st.options.workflow->nodes[index].sends_orders
      && st.output_bytes + bytes > bounds.execution_bytes)
    return "the execution's outputs would take more than " + std::to_string(bounds.execution_bytes)
           + " bytes";
  return declared_output_problem(
      st.options.nodes->catalogue().find(st.options.workflow->nodes[index].type), outputs);
}

void start_attempt(self_pointer self, size_t index, uint32_t attempt) {
  auto& st = self->state;
  if (st.ended || st.plan->status(index) != node_progress::running)
    return;
  const auto& node = st.options.workflow->nodes[index];
  auto& run = st.runs[index];
  run.attempt = attempt;
  run.in_flight = true;
  run.call = nullptr;
  run.started = steady::now();
  auto event = node_event("node_started", st.who, node, now_us());
  event["attempt"] = attempt;
  emit(self, event);
  const auto* runner = st.options.nodes->runner(node.type);
  if (!runner) {
    settle(self, index, attempt, nullptr, "failed", "no runner for node type " + node.type);
    return;
  }
  auto inputs = st.plan->inputs_of(index);
  if (auto why = mistyped_input(self, index, inputs); !why.empty()) {
    settle(self, index, attempt, nullptr, "failed", why);
    return;
  }
  auto call = std::make_shared<node_call>(
      self, st.options.workflow, index, std::move(inputs), st.options.services, st.who.execution_id,
      attempt,
      [self, index, attempt](const json* outputs, const std::string& kind,
                             const std::string& message) {
        settle(self, index, attempt, outputs, kind, message);
      },
      st.trigger);
  run.call = call;
  try {
    (*runner)(call);
  } catch (const std::exception& ex) {
    // A custom node's exception is its failure, not the execution's end.
    call->fail("failed", std::string{"the node threw: "} + ex.what());
  }
  // A node that answered at once needs no timer (computing nodes: most of a graph).
  if (!call->settled())
    self->delayed_send(self, std::chrono::milliseconds(node.timeout_ms), node_timeout_atom::value,
                       static_cast<uint64_t>(index), static_cast<uint64_t>(attempt));
}

void fail_node(self_pointer self, size_t index, uint32_t attempt, const std::string& kind,
               const std::string& message, double duration) {
  auto& st = self->state;
  const auto& node = st.options.workflow->nodes[index];
  bool retry = attempt < node.retry.attempts && node.retry.retries(kind) && !node.sends_orders;
  if (retry) {
    auto delay = node.retry.delay_before_ms(attempt + 1);
    auto event = node_event("node_retrying", st.who, node, now_us());
    event["attempt"] = attempt;
    event["error_kind"] = kind;
    event["error"] = message;
    event["retry_in_ms"] = delay;
    emit(self, event);
    self->delayed_send(self, std::chrono::milliseconds(delay), node_retry_atom::value,
                       static_cast<uint64_t>(index), static_cast<uint64_t>(attempt + 1));
    return;
  }
  st.plan->failed(index, kind + ": " + message);
  auto event = node_event("node_failed", st.who, node, now_us());
  event["duration_ms"] = duration;
  event["status"] = "failed";
  event["attempts"] = attempt;
  event["error_kind"] = kind;
  event["error"] = message;
  if (node.sends_orders) {
    event["client_order_id"] = order_id_of(st.who.execution_id, node.id);
    if (kind == "timeout" || kind == "unavailable")
      st.orders_unanswered.push_back(
          {{"node_id", node.id}, {"client_order_id", order_id_of(st.who.execution_id, node.id)}});
  }
  emit(self, event);
  st.log.warn("a workflow node failed",
              log_fields(self, {{"node", node.id}, {"kind", kind}, {"error", message}}));
  if (kind == "halted")
    end(self, "halted", message);
  else
    end(self, "failed", "node " + node.id + " failed: " + kind + ": " + message);
}

void settle(self_pointer self, size_t index, uint32_t attempt, const json* outputs,
            const std::string& kind, const std::string& message) {
  auto& st = self->state;
  auto& run = st.runs[index];
  // Once per attempt: a late answer, a timeout after the answer, or an answer after the
  // timeout (the retry's wait under way) changes nothing.
  if (st.ended || run.attempt != attempt || !run.in_flight
      || st.plan->status(index) != node_progress::running)
    return;
  run.in_flight = false;
  if (run.call)
    run.call->abandon();
  auto duration = milliseconds_since(run.started);
  if (!outputs) {
    fail_node(self, index, attempt, kind, message, duration);
    return;
  }
  auto text_bytes = dump_json(*outputs).size();
  if (auto why = output_problem(self, index, *outputs, text_bytes); !why.empty()) {
    fail_node(self, index, attempt, "failed", why, duration);
    return;
  }
  st.output_bytes += text_bytes;
  st.plan->completed(index, *outputs);
  const auto& node = st.options.workflow->nodes[index];
  auto event = node_event("node_completed", st.who, node, now_us());
  event["duration_ms"] = duration;
  event["status"] = "success";
  event["attempts"] = attempt;
  event["outputs"] = st.plan->outputs(index);
  emit(self, event);
  st.checkpoint_due = true;
  advance(self);
}

// A node that is not idempotent was found unable to start: the checkpoint that would show it
// running could not be written. It did not run, so it is not retried blindly either.
void refuse_start(self_pointer self, size_t index, const std::string& message) {
  auto& st = self->state;
  if (st.ended || st.plan->status(index) != node_progress::running)
    return;
  const auto& node = st.options.workflow->nodes[index];
  st.plan->failed(index, "unavailable: " + message);
  auto event = node_event("node_failed", st.who, node, now_us());
  event["duration_ms"] = 0.0;
  event["status"] = "failed";
  event["attempts"] = 0;
  event["error_kind"] = "unavailable";
  event["error"] = message;
  emit(self, event);
  st.log.warn("a workflow node was not started",
              log_fields(self, {{"node", node.id}, {"error", message}}));
  end(self, "failed", "node " + node.id + " was not started: " + message);
}

// Starts the nodes that are not idempotent once the store has them as running: a crash
// between their start and their next checkpoint must not make them look unstarted, or a
// resume would run them (send an order) twice.
void start_guarded(self_pointer self) {
  auto nodes = std::move(self->state.guarded);
  self->state.guarded.clear();
  auto then = [self, nodes](bool written) {
    for (auto i : nodes) {
      if (self->state.ended)
        return;
      if (written)
        start_attempt(self, i, 1);
      else
        refuse_start(self, i,
                     "the checkpoint that records its start could not be written; it was not "
                     "started");
    }
  };
  checkpoint(self, std::move(then), true);
}

void advance(self_pointer self) {
  auto& st = self->state;
  if (st.advancing) {
    st.advance_again = true;
    return;
  }
  st.advancing = true;
  do {
    st.advance_again = false;
    if (st.ended)
      break;
    auto step = st.plan->advance();
    for (auto i : step.skipped) {
      auto event = node_event("node_skipped", st.who, st.options.workflow->nodes[i], now_us());
      event["status"] = "skipped";
      emit(self, event);
      st.checkpoint_due = true;
    }
    for (auto i : step.start) {
      if (!st.options.workflow->nodes[i].idempotent) {
        st.guarded.push_back(i);
        continue;
      }
      start_attempt(self, i, 1);
      if (st.ended)
        break;
    }
    if (!st.ended && !st.advance_again && st.plan->finished())
      end(self, st.plan->succeeded() ? "completed" : "failed", st.plan->error());
  } while (st.advance_again && !st.ended);
  st.advancing = false;
  if (!st.guarded.empty() && !st.ended) {
    st.checkpoint_due = false;
    start_guarded(self);
  } else if (st.checkpoint_due && !st.ended) {
    st.checkpoint_due = false;
    checkpoint(self);
  }
}

// A resumed execution's nodes that completed before the interruption: restored with their
// outputs (checked by read_checkpoint), not run again. Done before the level is known: a resume
// halted or cancelled before its first node still writes what the interrupted run had done
// (its orders' outcomes among it).
void restore_completed(self_pointer self) {
  auto& st = self->state;
  auto& restored = st.restored_nodes;
  if (!st.options.resume)
    return;
  st.interruptions = st.options.resume->interruptions;
  for (auto& node : st.options.resume->completed) {
    if (node.index >= st.runs.size())
      continue;
    st.output_bytes += dump_json(node.outputs).size();
    st.runs[node.index].attempt = node.attempts;
    st.plan->restore(node.index, std::move(node.outputs));
    restored.push_back(st.options.workflow->nodes[node.index].id);
  }
  st.options.resume->completed.clear();
}

void begin(self_pointer self) {
  auto& st = self->state;
  st.started = true;
  auto event = execution_event("execution_started", st.who, now_us());
  event["node_count"] = st.options.workflow->nodes.size();
  if (st.options.resume) {
    event["resumed"] = true;
    event["restored_nodes"] = st.restored_nodes;
  }
  emit(self, event);
  st.status = "running";
  auto marker = running_marker(self);
  write(self,
        {{latest_execution_key(st.who.workflow_id), dump_json(json(st.who.execution_id))},
         {execution_status_key(st.who.workflow_id, st.who.execution_id), dump_json(progress(self))},
         {running_marker_key(st.who.workflow_id, st.who.execution_id), dump_json(marker)}});
  st.log.info("workflow execution started",
              log_fields(self, {{"nodes", st.options.workflow->nodes.size()}}));
  advance(self);
}

// The level in force: from HALT up, the execution stops before another node starts.
void on_level(self_pointer self, const level_change& change) {
  auto& st = self->state;
  bool taken = st.level.take(change);
  if (!taken || change.provisional) {
    // A provisional HALT (the level not yet read) holds the start back; nothing to stop.
    acknowledge(self, change.sequence);
    return;
  }
  if (!trading_allowed(st.level.level()) && !st.ended) {
    st.ack_owed = change.sequence;
    if (!st.started) {
      st.started = true;
      st.status = "running";
    }
    end(self, "halted", std::string{to_string(change.level)} + ": " + change.reason);
    return;
  }
  acknowledge(self, change.sequence);
  if (!st.started && !st.ended)
    begin(self);
}

void register_with_controller(self_pointer self) {
  auto& st = self->state;
  st.registration.attempt(
      self, caf::actor_cast<emergency_actor>(st.options.services.emergency), st.log,
      [self](level_change& change) { on_level(self, change); }, log_fields(self));
}

caf::behavior execution(self_pointer self, execution_options options) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.options = std::move(options);
  const auto& w = *st.options.workflow;
  if (st.options.execution_id.empty())
    st.options.execution_id = new_execution_id(w.id);
  st.who = {st.options.execution_id, w.id, w.bot_id, w.strategy_id};
  st.plan = std::make_unique<execution_plan>(w);
  st.runs.resize(w.nodes.size());
  st.began = steady::now();
  st.began_us = now_us();
  st.digest = definition_digest(w);
  if (!st.options.trigger.is_null())
    st.trigger = std::make_shared<const json>(std::move(st.options.trigger));
  restore_completed(self);
  // Registered like a bot, tried again until the controller answers: nothing runs before the
  // level is known (an order could go out under a HALT).
  if (st.options.services.emergency)
    register_with_controller(self);
  else
    begin(self);
  return {
      [self](level_change& change) { on_level(self, change); },
      [self](node_timeout_atom, uint64_t node, uint64_t attempt) {
        const auto& nodes = self->state.options.workflow->nodes;
        if (node < nodes.size())
          settle(self, node, static_cast<uint32_t>(attempt), nullptr, "timeout",
                 "no answer within " + std::to_string(nodes[node].timeout_ms) + " ms");
      },
      [self](node_retry_atom, uint64_t node, uint64_t attempt) {
        if (node < self->state.runs.size())
          start_attempt(self, node, static_cast<uint32_t>(attempt));
      },
      [self](register_again_atom) { register_with_controller(self); },
      [self](cancel_execution_atom, std::string& reason) {
        end(self, "cancelled", "cancelled: " + reason);
      },
  };
}

} // namespace

output_bounds fitted_output_bounds(size_t bus_payload_bytes, size_t store_value_bytes) {
  output_bounds bounds;
  // Room for an event's other fields, and for a checkpoint's statuses beside the outputs.
  if (bus_payload_bytes > 0)
    bounds.node_bytes = std::min(bounds.node_bytes, bus_payload_bytes / 2);
  if (store_value_bytes > 0)
    bounds.execution_bytes = std::min(bounds.execution_bytes, store_value_bytes / 2);
  bounds.node_bytes = std::min(bounds.node_bytes, bounds.execution_bytes);
  return bounds;
}

caf::actor spawn_workflow_execution(caf::actor_system& sys, execution_options options) {
  return sys.spawn(execution, std::move(options));
}

} // namespace brokedancer
