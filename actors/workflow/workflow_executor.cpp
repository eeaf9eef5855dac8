#include "actors/workflow/workflow_executor.hpp"

#include <chrono>
#include <map>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/emergency/registration.hpp"
#include "actors/supervision/supervisor.hpp"
#include "actors/workflow/workflow_events.hpp"
#include "actors/workflow/workflow_gate.hpp"
#include "core/glob.hpp"
#include "core/json_text.hpp"
#include "core/logging.hpp"
#include "messages/emergency.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

// An execution this executor started and has not heard the end of.
struct started_execution {
  size_t workflow = 0;
  std::string execution_id;
  breaker_machine::permit permit;
};

struct executor_state {
  executor_options options;
  std::vector<workflow_gate> gates; // one per workflow, in options.workflows' order
  std::vector<std::string> last_execution;
  std::map<caf::actor_addr, started_execution> running;
  level_tracker level;
  emergency_registration registration{
      "the emergency controller does not answer: no workflow starts until it does"};
  logger log{"workflow"};
  static inline const char* name = "workflow_executor";
};

using self_pointer = caf::stateful_actor<executor_state>*;

bool may_trade(const executor_state& st) {
  return st.registration.registered() && st.level.known() && !st.level.current().provisional
         && trading_allowed(st.level.level());
}

const workflow_definition& workflow_at(self_pointer self, size_t index) {
  return *self->state.options.workflows[index];
}

std::string trigger_text(const workflow_trigger& t) {
  switch (t.how) {
    case workflow_trigger::kind::every: return "every " + std::to_string(t.every_ms) + " ms";
    case workflow_trigger::kind::on_event: return "on event " + t.topic;
    case workflow_trigger::kind::on_demand: break;
  }
  return "on demand";
}

// Breaker transitions, logged as they happen: an open breaker is an operator's business.
void log_transitions(self_pointer self, size_t index) {
  for (auto& t : self->state.gates[index].breaker().take_transitions()) {
    json fields{{"workflow_id", workflow_at(self, index).id},
                {"from", to_string(t.from)},
                {"to", to_string(t.to)},
                {"reason", t.reason}};
    if (t.to == breaker_state::closed)
      self->state.log.info("a workflow's breaker closed", fields);
    else
      self->state.log.warn("a workflow's breaker changed state", fields);
  }
}

json workflow_entry(self_pointer self, size_t index) {
  auto& st = self->state;
  auto entry = st.gates[index].stats(steady::now());
  entry["workflow_id"] = workflow_at(self, index).id;
  entry["trigger"] = trigger_text(workflow_at(self, index).trigger);
  entry["last_execution_id"] = st.last_execution[index];
  return entry;
}

// Starts one execution of workflow `index` when its gate lets it; the verdict either way.
start_verdict try_start(self_pointer self, size_t index, const std::string& cause,
                        std::string* started_id = nullptr) {
  auto& st = self->state;
  auto admission = st.gates[index].admit(may_trade(st), steady::now());
  log_transitions(self, index);
  const auto& w = st.options.workflows[index];
  if (admission.verdict != start_verdict::start) {
    if (admission.verdict == start_verdict::breaker_open)
      st.log.warn("a workflow's trigger was refused: its breaker is open",
                  {{"workflow_id", w->id}, {"trigger", cause}});
    return admission.verdict;
  }
  auto execution_id = new_execution_id(w->id);
  auto execution = spawn_workflow_execution(self->system(),
                                            {w, st.options.nodes, st.options.services, execution_id,
                                             caf::actor_cast<caf::actor>(self), st.options.bounds});
  self->monitor(execution);
  st.running[execution.address()] = {index, execution_id, admission.permit};
  st.last_execution[index] = execution_id;
  st.log.debug("workflow triggered",
               {{"workflow_id", w->id}, {"correlation_id", execution_id}, {"trigger", cause}});
  if (started_id)
    *started_id = execution_id;
  return admission.verdict;
}

void ended(self_pointer self, const caf::actor_addr& who, const std::string& status,
           const std::string& why) {
  auto& st = self->state;
  auto found = st.running.find(who);
  if (found == st.running.end())
    return;
  auto index = found->second.workflow;
  st.gates[index].ended(found->second.permit, status, why, steady::now());
  st.running.erase(found);
  log_transitions(self, index);
}

void on_result(self_pointer self, const std::string& text) {
  // The execution's own document, read as any text is: a status it cannot read is a failure.
  std::string status = "failed";
  std::string why;
  try {
    auto result = parse_json_within(text);
    status = result.value("status", status);
    why = result.value("error", result.value("reason", std::string{}));
  } catch (const std::exception& ex) {
    why = std::string{"unreadable result: "} + ex.what();
  }
  if (auto sender = self->current_sender())
    ended(self, sender->address(), status, why);
}

// An event heard through the subscription for `pattern`: each pattern has its own, so that an
// event two patterns match starts each workflow once.
void on_event(self_pointer self, const std::string& pattern, const event& ev) {
  auto& st = self->state;
  // An execution's own events do not trigger its workflow again: a pattern as wide as "*"
  // would otherwise start it each time it ends, for ever.
  std::string from_workflow;
  if (ev.topic == workflow_events_topic) {
    try {
      from_workflow = parse_json_within(ev.json).value("workflow_id", std::string{});
    } catch (const std::exception&) {
      // Not an execution's event: nobody to keep from triggering itself.
    }
  }
  for (size_t i = 0; i < st.options.workflows.size(); ++i) {
    const auto& w = *st.options.workflows[i];
    if (w.trigger.how == workflow_trigger::kind::on_event && w.trigger.topic == pattern
        && w.id != from_workflow)
      try_start(self, i, "event " + ev.topic);
  }
}

void on_level(self_pointer self, const level_change& change) {
  auto& st = self->state;
  if (st.level.take(change) && !change.provisional)
    st.log.info("workflow triggers follow the level",
                {{"level", to_string(change.level)},
                 {"starting", trading_allowed(change.level) ? "yes" : "no"}});
  // Nothing of its own to stop: its executions stop themselves and acknowledge for themselves.
  if (auto& controller = st.options.services.emergency)
    self->send(caf::actor_cast<emergency_actor>(controller), emergency_ack_atom::value,
               change.sequence);
}

void register_with_controller(self_pointer self) {
  auto& st = self->state;
  st.registration.attempt(self, caf::actor_cast<emergency_actor>(st.options.services.emergency),
                          st.log, [self](level_change& change) { on_level(self, change); });
}

// Passes what the bus delivers for one pattern on to the executor, saying which pattern.
caf::behavior pattern_forwarder(caf::event_based_actor*, caf::actor executor, std::string pattern) {
  return {[executor, pattern](const event& ev) {
    caf::anon_send(executor, workflow_event_atom::value, pattern, ev);
  }};
}

void subscribe_to_patterns(self_pointer self) {
  auto& st = self->state;
  std::set<std::string> patterns;
  for (const auto& w : st.options.workflows)
    if (w->trigger.how == workflow_trigger::kind::on_event)
      patterns.insert(w->trigger.topic);
  for (const auto& pattern : patterns) {
    // Linked: it goes with this incarnation, and the bus drops a subscriber that has gone.
    auto forwarder =
        self->spawn<caf::linked>(pattern_forwarder, caf::actor_cast<caf::actor>(self), pattern);
    self->request(st.options.services.bus, std::chrono::seconds(10), subscribe_atom::value, pattern,
                  forwarder)
        .then([](uint64_t) {},
              [self, pattern](caf::error& err) {
                // Without its subscription the workflow would never run: the supervisor starts
                // the executor again, which subscribes again.
                self->state.log.error(
                    "a workflow's event trigger could not subscribe",
                    {{"pattern", pattern}, {"error", self->system().render(err)}});
                self->quit(err);
              });
  }
}

std::optional<size_t> index_of(self_pointer self, const std::string& workflow_id) {
  const auto& list = self->state.options.workflows;
  for (size_t i = 0; i < list.size(); ++i)
    if (list[i]->id == workflow_id)
      return i;
  return std::nullopt;
}

caf::result<std::string> start_on_demand(self_pointer self, const std::string& workflow_id) {
  auto index = index_of(self, workflow_id);
  if (!index)
    return make_error(errc::not_found, "no workflow " + escaped_name(workflow_id) + " here");
  std::string started;
  switch (try_start(self, *index, "on demand", &started)) {
    case start_verdict::start: return started;
    case start_verdict::held:
      return make_error(errc::trading_halted,
                        self->state.level.known() && !self->state.level.current().provisional
                            ? "the emergency level is HALT or higher: no workflow starts"
                            : "the emergency level is not known yet: no workflow starts");
    case start_verdict::busy:
      return make_error(errc::invalid_argument,
                        "workflow " + workflow_id + " already runs as many executions as allowed");
    case start_verdict::breaker_open: break;
  }
  return make_error(errc::breaker_open, "the breaker of workflow " + workflow_id + " is open");
}

caf::result<std::string> operate_breaker(self_pointer self, const std::string& workflow_id,
                                         const std::string& action, const std::string& reason) {
  auto index = index_of(self, workflow_id);
  if (!index)
    return make_error(errc::not_found, "no workflow " + escaped_name(workflow_id) + " here");
  auto& breaker = self->state.gates[*index].breaker();
  auto now = steady::now();
  auto why = "operator: " + reason;
  if (action == "force_open")
    breaker.force_open(now, why);
  else if (action == "force_close")
    breaker.force_close(now, why);
  else if (action == "reset")
    breaker.reset(now, why);
  else
    return make_error(errc::invalid_argument,
                      "expected force_open, force_close or reset, found " + escaped_name(action));
  log_transitions(self, *index);
  return dump_json(workflow_entry(self, *index));
}

std::string status_text(self_pointer self) {
  const auto& st = self->state;
  json list = json::array();
  for (size_t i = 0; i < st.options.workflows.size(); ++i)
    list.push_back(workflow_entry(self, i));
  return dump_json(json{{"level", st.level.known() ? to_string(st.level.level()) : "unknown"},
                        {"starting", may_trade(st)},
                        {"workflows", std::move(list)}});
}

caf::behavior executor(self_pointer self, executor_options options) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.options = std::move(options);
  auto now = steady::now();
  for (size_t i = 0; i < st.options.workflows.size(); ++i) {
    st.gates.emplace_back(st.options.max_running, st.options.breaker, now);
    st.last_execution.emplace_back();
    const auto& trigger = st.options.workflows[i]->trigger;
    if (trigger.how == workflow_trigger::kind::every)
      self->delayed_send(self, std::chrono::milliseconds(trigger.every_ms),
                         workflow_tick_atom::value, static_cast<uint64_t>(i));
  }
  if (st.options.services.emergency)
    register_with_controller(self);
  if (st.options.services.bus)
    subscribe_to_patterns(self);
  self->set_down_handler([self](caf::down_msg& down) {
    ended(self, down.source, "failed",
          "the execution stopped without a result: " + self->system().render(down.reason));
  });
  st.log.info("workflow executor started", {{"workflows", st.options.workflows.size()}});
  return {
      [self](workflow_tick_atom, uint64_t index) {
        if (index >= self->state.options.workflows.size())
          return;
        const auto& w = workflow_at(self, index);
        // The next tick first: a slow or refused start does not shift the schedule.
        self->delayed_send(self, std::chrono::milliseconds(w.trigger.every_ms),
                           workflow_tick_atom::value, index);
        try_start(self, index, "schedule");
      },
      [self](workflow_event_atom, const std::string& pattern, const event& ev) {
        on_event(self, pattern, ev);
      },
      [self](execution_result_atom, const std::string& text) { on_result(self, text); },
      [self](level_change& change) { on_level(self, change); },
      [self](register_again_atom) { register_with_controller(self); },
      [self](status_atom) { return status_text(self); },
      [self](start_workflow_atom, const std::string& workflow_id) {
        return start_on_demand(self, workflow_id);
      },
      [self](workflow_breaker_atom, const std::string& workflow_id, const std::string& action,
             const std::string& reason) {
        return operate_breaker(self, workflow_id, action, reason);
      },
  };
}

} // namespace

caf::actor spawn_workflow_executor(caf::actor_system& sys, executor_options options) {
  return sys.spawn(executor, std::move(options));
}

} // namespace brokedancer
