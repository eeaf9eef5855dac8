#include "actors/workflow/workflow_executor.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <limits>
#include <map>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/emergency/registration.hpp"
#include "actors/supervision/supervisor.hpp"
#include "actors/workflow/execution_checkpoint.hpp"
#include "actors/workflow/workflow_events.hpp"
#include "actors/workflow/workflow_gate.hpp"
#include "core/glob.hpp"
#include "core/json_fields.hpp"
#include "core/json_text.hpp"
#include "core/logging.hpp"
#include "core/plain_name.hpp"
#include "core/unix_time.hpp"
#include "messages/channels.hpp"
#include "messages/emergency.hpp"
#include "messages/errors.hpp"
#include "messages/state_store.hpp"

namespace brokedancer {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

// An execution this executor started and has not heard the end of.
struct started_execution {
  size_t workflow = 0;
  std::string execution_id;
  breaker_machine::permit permit;
  caf::actor handle;
  bool inherited = false; // started by an earlier incarnation: its result went there
};

using trim_history_atom = caf::atom_constant<caf::atom("wf_trim")>;
using resubscribe_atom = caf::atom_constant<caf::atom("wf_resub")>;
constexpr auto trim_every = std::chrono::hours(1);
constexpr auto store_timeout = std::chrono::seconds(10);
constexpr auto resubscribe_first = std::chrono::milliseconds(500);
constexpr auto resubscribe_cap = std::chrono::seconds(30);
// A resume's two store steps, well within the node control's wait for the answer (5 s): an
// operator told "timed out" must not find it resumed after all.
constexpr auto resume_store_timeout = std::chrono::milliseconds(1500);
// What a status entry lists of the executions found interrupted (the newest).
constexpr size_t interrupted_listed = 20;
// The running markers one start reads per workflow: more would be a store others write to.
constexpr size_t max_markers_read = 1000;

} // namespace

struct executor_memory {
  std::vector<workflow_gate> gates; // one per workflow, in options.workflows' order
  std::vector<std::string> last_execution;
  std::map<caf::actor_addr, started_execution> running;
  std::vector<std::deque<std::string>> interrupted; // per workflow, newest last
};

std::shared_ptr<executor_memory> make_executor_memory() {
  return std::make_shared<executor_memory>();
}

namespace {

struct executor_state {
  executor_options options;
  std::shared_ptr<executor_memory> memory;
  std::vector<steady::time_point> next_due; // scheduled workflows: their next planned start
  std::map<std::string, bool> subscribed;   // event patterns: whether the bus has them
  std::set<std::string> resuming;           // execution ids whose resume is under way
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
  for (auto& t : self->state.memory->gates[index].breaker().take_transitions()) {
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
  auto entry = st.memory->gates[index].stats(steady::now());
  entry["workflow_id"] = workflow_at(self, index).id;
  entry["trigger"] = trigger_text(workflow_at(self, index).trigger);
  entry["last_execution_id"] = st.memory->last_execution[index];
  entry["interrupted"] = st.memory->interrupted[index];
  const auto& trigger = workflow_at(self, index).trigger;
  if (trigger.how == workflow_trigger::kind::on_event) {
    auto found = st.subscribed.find(trigger.topic);
    entry["subscribed"] = found != st.subscribed.end() && found->second;
  }
  return entry;
}

// Spawns execution `execution_id` of workflow `index`, admitted with `permit` (a resume's
// restored nodes in `resume`, the event that started it in `trigger`), and counts it as running
// until its end is seen.
void launch(self_pointer self, size_t index, const std::string& execution_id,
            const breaker_machine::permit& permit, std::optional<resume_point> resume,
            json trigger = nullptr) {
  auto& st = self->state;
  if (resume)
    trigger = resume->trigger; // the same event as the run it resumes
  auto execution = spawn_workflow_execution(
      self->system(), {st.options.workflows[index], st.options.nodes, st.options.services,
                       execution_id, caf::actor_cast<caf::actor>(self), st.options.bounds,
                       st.options.node_name, std::move(resume), std::move(trigger)});
  self->monitor(execution);
  st.memory->running[execution.address()] = {index, execution_id, permit, execution};
  st.memory->last_execution[index] = execution_id;
}

// The most of an event's payload an execution takes as its trigger: half its outputs' room in
// the store (the checkpoint holds both), and what a trigger_event node's outputs may hold (with
// room for its topic).
size_t trigger_room(const output_bounds& bounds) {
  constexpr size_t topic_room = 256;
  auto node_room =
      bounds.node_bytes > topic_room ? bounds.node_bytes - topic_room : bounds.node_bytes;
  return std::min(bounds.execution_bytes / 2, node_room);
}

// Whether any node of `w` reads the event that started its execution.
bool reads_trigger(const workflow_definition& w) {
  return std::any_of(w.nodes.begin(), w.nodes.end(),
                     [](const workflow_node& n) { return n.type == "trigger_event"; });
}

// Starts one execution of workflow `index` when its gate lets it (started by `by_event`, if an
// event started it); the verdict either way.
start_verdict try_start(self_pointer self, size_t index, const std::string& cause,
                        std::string* started_id = nullptr, const event* by_event = nullptr) {
  auto& st = self->state;
  auto admission = st.memory->gates[index].admit(may_trade(st), steady::now());
  log_transitions(self, index);
  const auto& w = st.options.workflows[index];
  if (admission.verdict != start_verdict::start) {
    if (admission.verdict == start_verdict::breaker_open)
      st.log.warn("a workflow's trigger was refused: its breaker is open",
                  {{"workflow_id", w->id}, {"trigger", cause}});
    return admission.verdict;
  }
  auto execution_id = new_execution_id(w->id);
  // Parsed once admitted, and only for a workflow that reads it (it rides in every checkpoint),
  // within what the store takes next to the outputs and what one node's outputs may hold.
  json trigger = nullptr;
  if (by_event && reads_trigger(*w))
    trigger = trigger_of(by_event->topic, by_event->json, trigger_room(st.options.bounds));
  launch(self, index, execution_id, admission.permit, std::nullopt, std::move(trigger));
  st.log.debug("workflow triggered",
               {{"workflow_id", w->id}, {"correlation_id", execution_id}, {"trigger", cause}});
  if (started_id)
    *started_id = execution_id;
  return admission.verdict;
}

void ended(self_pointer self, const caf::actor_addr& who, const std::string& status,
           const std::string& why) {
  auto& st = self->state;
  auto found = st.memory->running.find(who);
  if (found == st.memory->running.end())
    return;
  auto index = found->second.workflow;
  // One an earlier incarnation started told it how it ended; here only its end is seen.
  auto seen = found->second.inherited ? std::string{"lost"} : status;
  st.memory->gates[index].ended(found->second.permit, seen, why, steady::now());
  st.memory->running.erase(found);
  log_transitions(self, index);
}

void on_result(self_pointer self, const std::string& text) {
  // The execution's own document, read as any text is: a status it cannot read is a failure.
  std::string status = "failed";
  std::string why;
  try {
    auto result = parse_json_within(text);
    if (auto given = text_field(result, "status"); !given.empty())
      status = given;
    why = text_field(result, "error");
    if (why.empty())
      why = text_field(result, "reason");
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
  // What an execution published (its events, a publish_event node's) triggers nothing: a
  // pattern as wide as "*", or two workflows each matching the other's events, would otherwise
  // start them for ever.
  if (ev.correlation.rfind(execution_id_prefix, 0) == 0)
    return;
  for (size_t i = 0; i < st.options.workflows.size(); ++i) {
    const auto& w = *st.options.workflows[i];
    if (w.trigger.how == workflow_trigger::kind::on_event && w.trigger.topic == pattern)
      try_start(self, i, "event " + ev.topic, nullptr, &ev);
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
// Delegated: the bus's acknowledgement (it asks now and then) comes once the executor has
// handled the event, so the bus's backlog bounds what waits in the executor's mailbox.
caf::behavior pattern_forwarder(caf::event_based_actor* self, caf::actor executor,
                                std::string pattern) {
  return {[self, executor, pattern](const event& ev) {
    return self->delegate(executor, workflow_event_atom::value, pattern, ev);
  }};
}

// Subscribes for `pattern`, and tries again (after `wait`, doubled up to a cap) while the bus
// refuses: a bus that cannot reach Redis does not stop the executor, which would restart it
// in a storm the root supervisor answers with HALT.
void subscribe(self_pointer self, const std::string& pattern, std::chrono::milliseconds wait) {
  auto& st = self->state;
  // Linked: it goes with this incarnation, and the bus drops a subscriber that has gone.
  auto forwarder =
      self->spawn<caf::linked>(pattern_forwarder, caf::actor_cast<caf::actor>(self), pattern);
  self->request(st.options.services.bus, std::chrono::seconds(10), subscribe_atom::value, pattern,
                forwarder)
      .then([self, pattern](uint64_t) { self->state.subscribed[pattern] = true; },
            [self, pattern, wait, forwarder](caf::error& err) {
              self->unlink_from(forwarder);
              caf::anon_send_exit(forwarder, caf::exit_reason::user_shutdown);
              self->state.log.warn("a workflow's event trigger could not subscribe; trying again",
                                   {{"pattern", pattern},
                                    {"retry_in_ms", wait.count()},
                                    {"error", self->system().render(err)}});
              auto next = std::min<std::chrono::milliseconds>(wait * 2, resubscribe_cap);
              self->delayed_send(self, wait, resubscribe_atom::value, pattern,
                                 static_cast<int64_t>(next.count()));
            });
}

void subscribe_to_patterns(self_pointer self) {
  auto& st = self->state;
  for (const auto& w : st.options.workflows)
    if (w->trigger.how == workflow_trigger::kind::on_event)
      st.subscribed.emplace(w->trigger.topic, false);
  for (const auto& entry : st.subscribed)
    subscribe(self, entry.first, resubscribe_first);
}

// The next tick of scheduled workflow `index`, at its planned time: the schedule does not
// drift with the mailbox, and periods missed (a stalled node) are skipped, not caught up.
void schedule_next(self_pointer self, size_t index) {
  auto& st = self->state;
  auto period = std::chrono::milliseconds(workflow_at(self, index).trigger.every_ms);
  auto now = steady::now();
  auto& due = st.next_due[index];
  due += period;
  if (due <= now)
    due = now + period;
  self->delayed_send(self, std::chrono::duration_cast<std::chrono::microseconds>(due - now),
                     workflow_tick_atom::value, static_cast<uint64_t>(index));
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
      return make_error(errc::refused,
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
  if (action != "force_open" && action != "force_close" && action != "reset")
    return make_error(errc::invalid_argument,
                      "expected force_open, force_close or reset, found " + escaped_name(action));
  if (auto why = reason_problem(reason); !why.empty())
    return make_error(errc::invalid_argument, "the reason: " + why);
  auto& breaker = self->state.memory->gates[*index].breaker();
  auto now = steady::now();
  auto why = "operator: " + reason;
  if (action == "force_open")
    breaker.force_open(now, why);
  else if (action == "force_close")
    breaker.force_close(now, why);
  else
    breaker.reset(now, why);
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

// Drops history entries past the retention (a workflow that runs every second writes 86,400 a
// day); the entries' ids begin with their time in milliseconds.
// The time of a log entry's id ("<ms>-<seq>"); 0 when it has none.
int64_t milliseconds_of(const std::string& id) {
  int64_t ms = 0;
  for (char c : id) {
    if (c < '0' || c > '9' || ms > std::numeric_limits<int64_t>::max() / 10 - 10)
      break;
    ms = ms * 10 + (c - '0');
  }
  return ms;
}

// Drops what the executions of `workflow_id` left past the retention: the status and result
// keys of each history entry older than `cutoff_ms`, read a chunk at a time from `after`, then
// those entries.
void expire_history(self_pointer self, const std::string& workflow_id, int64_t cutoff_ms,
                    const std::string& after) {
  auto& store = self->state.options.services.store;
  auto log = execution_history_log(workflow_id);
  auto failed = [self, workflow_id](caf::error& err) {
    self->state.log.warn("a workflow's history could not be trimmed",
                         {{"workflow_id", workflow_id}, {"error", self->system().render(err)}});
  };
  self->request(store, store_timeout, read_log_atom::value, log, after, max_log_read)
      .then(
          [self, workflow_id, cutoff_ms, log, failed](std::vector<log_entry>& chunk) {
            auto& keys = self->state.options.services.store;
            bool past_cutoff = false;
            for (const auto& e : chunk) {
              if (milliseconds_of(e.id) >= cutoff_ms) {
                past_cutoff = true;
                break;
              }
              std::string id;
              try {
                auto entry = parse_json_within(e.json);
                // An interrupted execution's entry leaves its keys to the entry of its resumed
                // run, which may still be running.
                if (text_field(entry, "status") == "interrupted")
                  continue;
                id = text_field(entry, "execution_id");
              } catch (const std::exception&) {
                continue; // not an execution's entry: only the entry goes
              }
              // Read back from a store others may write to: only an execution id names keys.
              if (id.rfind(execution_id_prefix, 0) != 0
                  || !workflow_id_problem("an execution id", id, max_execution_id_bytes).empty())
                continue;
              caf::anon_send(keys, del_atom::value, execution_status_key(workflow_id, id));
              caf::anon_send(keys, del_atom::value, execution_result_key(workflow_id, id));
            }
            if (!past_cutoff && chunk.size() == max_log_read) {
              expire_history(self, workflow_id, cutoff_ms, chunk.back().id);
              return;
            }
            self->request(keys, store_timeout, trim_log_atom::value, log,
                          std::to_string(cutoff_ms) + "-0")
                .then([](uint64_t) {}, failed);
          },
          failed);
}

// Runs at start and every hour: a workflow that runs every second leaves 86,400 executions a
// day, each with its keys (the result up to the execution's output bound).
void trim_histories(self_pointer self) {
  auto& st = self->state;
  self->delayed_send(self, trim_every, trim_history_atom::value);
  if (!st.options.services.store)
    return;
  auto cutoff_ms = now_us() / 1000 - st.options.history_retention_ms;
  for (const auto& w : st.options.workflows)
    expire_history(self, w->id, cutoff_ms, "0");
}

// The newest `limit` entries of a log, read from its start a chunk at a time (the store reads
// oldest first); the log is bounded by trim_histories.
void read_newest(self_pointer self, std::string log, std::string after, uint32_t limit,
                 std::shared_ptr<std::deque<std::string>> kept,
                 caf::typed_response_promise<std::string> promise) {
  self->request(self->state.options.services.store, store_timeout, read_log_atom::value, log, after,
                max_log_read)
      .then(
          [self, log, limit, kept, promise](std::vector<log_entry>& chunk) mutable {
            for (auto& e : chunk) {
              kept->push_back(std::move(e.json));
              if (kept->size() > limit)
                kept->pop_front();
            }
            if (chunk.size() == max_log_read) {
              read_newest(self, log, chunk.back().id, limit, kept, promise);
              return;
            }
            json list = json::array();
            for (auto it = kept->rbegin(); it != kept->rend(); ++it) {
              // Written by executions, read back from a store others may write to.
              // (Too deep or not JSON comes back discarded, not thrown.)
              auto entry = parse_json_within(*it);
              list.push_back(entry.is_object() ? entry : json{{"unreadable", true}});
            }
            promise.deliver(dump_json(list));
          },
          [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
}

caf::result<std::string> history(self_pointer self, const std::string& workflow_id,
                                 uint32_t limit) {
  if (auto why = workflow_id_problem("a workflow id", workflow_id); !why.empty())
    return make_error(errc::invalid_argument, why);
  if (limit == 0 || limit > max_history_limit)
    return make_error(errc::invalid_argument,
                      "a history limit is from 1 to " + std::to_string(max_history_limit));
  if (!self->state.options.services.store)
    return make_error(errc::store_unavailable, "this executor has no state store");
  auto promise = self->make_response_promise<std::string>();
  read_newest(self, execution_history_log(workflow_id), "0", limit,
              std::make_shared<std::deque<std::string>>(), promise);
  return promise;
}

caf::result<std::string> cancel(self_pointer self, const std::string& execution_id,
                                const std::string& reason) {
  if (auto why = reason_problem(reason); !why.empty())
    return make_error(errc::invalid_argument, "the reason: " + why);
  for (auto& [address, run] : self->state.memory->running)
    if (run.execution_id == execution_id) {
      self->send(run.handle, cancel_execution_atom::value, reason);
      self->state.log.warn("an operator cancelled a workflow execution",
                           {{"correlation_id", execution_id}, {"reason", reason}});
      return dump_json(json{{"execution_id", execution_id}, {"status", "cancelling"}});
    }
  return make_error(errc::not_found, "no running execution " + escaped_name(execution_id)
                                         + " was started by this node's executor");
}

// --- interrupted executions and their resume ---

bool runs_here(self_pointer self, const std::string& execution_id) {
  for (const auto& [address, run] : self->state.memory->running)
    if (run.execution_id == execution_id)
      return true;
  return false;
}

void remember_interrupted(self_pointer self, size_t index, const std::string& execution_id) {
  auto& list = self->state.memory->interrupted[index];
  if (std::find(list.begin(), list.end(), execution_id) != list.end())
    return;
  list.push_back(execution_id);
  while (list.size() > interrupted_listed)
    list.pop_front();
}

// Reports execution `execution_id` of workflow `index` interrupted, if its status still says
// running: the status (with the reason and one more interruption), an entry in the history, in
// one step; then its running marker goes, an event is published and a warning logged. An
// execution that ended (its marker outlived the crash between its result and the marker's
// removal) only loses its marker.
//
// Only this node's run is taken for dead: the status must name this node, and -- found through
// a marker (`run` not empty) -- the run the marker names. A marker left behind by an earlier run
// must not make a live resumed run (here or on another node sharing the store) look
// interrupted: that would let it be resumed, and run, twice.
void mark_interrupted(self_pointer self, size_t index, const std::string& execution_id,
                      const std::string& why, const std::string& run = {}) {
  auto& store = self->state.options.services.store;
  if (!store)
    return;
  const auto workflow_id = workflow_at(self, index).id;
  auto status_key = execution_status_key(workflow_id, execution_id);
  auto marker = running_marker_key(workflow_id, execution_id);
  auto failed = [self, execution_id](caf::error& err) {
    self->state.log.warn("an interrupted execution could not be reported",
                         {{"correlation_id", execution_id}, {"error", self->system().render(err)}});
  };
  self->request(store, store_timeout, get_atom::value, status_key)
      .then(
          [self, index, execution_id, why, workflow_id, status_key, marker, run,
           failed](maybe_value& found) {
            auto& keys = self->state.options.services.store;
            // Read back from a store others may write to; unreadable comes back discarded.
            auto status = found.found ? parse_json_within(found.json) : json{};
            if (status.is_object()) {
              bool ours = text_field(status, "node") == self->state.options.node_name
                          && (run.empty() || text_field(status, "run") == run);
              if (!ours)
                return; // another run's, or another node's: not this node's to judge
              if (text_field(status, "status") != "running") {
                caf::anon_send(keys, del_atom::value, marker);
                return;
              }
            }
            if (!status.is_object())
              status = json{{"execution_id", execution_id}, {"workflow_id", workflow_id}};
            auto before = status.find("interruptions");
            uint32_t count = 0;
            if (before != status.end() && before->is_number_unsigned())
              count = static_cast<uint32_t>(std::min<uint64_t>(before->get<uint64_t>(), 999999));
            auto now = now_us();
            status["status"] = "interrupted";
            status["reason"] = why;
            status["interruptions"] = count + 1;
            status["updated_at"] = iso8601_utc(now);
            json entry{{"execution_id", execution_id},
                       {"status", "interrupted"},
                       {"reason", why},
                       {"ended_at", iso8601_utc(now)},
                       {"resumable", "brokedancer workflow resume " + execution_id
                                         + " --node HOST:PORT --reason TEXT"}};
            if (auto started = status.find("started_at");
                started != status.end() && started->is_string()
                && started->get<std::string>().size() <= 40
                && printable_text(started->get<std::string>()))
              entry["started_at"] = *started;
            self->request(keys, store_timeout, commit_atom::value,
                          std::vector<key_value>{{status_key, dump_json(status)}},
                          execution_history_log(workflow_id),
                          std::vector<std::string>{dump_json(entry)})
                .then(
                    [self, index, execution_id, why, workflow_id, marker] {
                      auto& st = self->state;
                      caf::anon_send(st.options.services.store, del_atom::value, marker);
                      remember_interrupted(self, index, execution_id);
                      auto event = execution_event("execution_interrupted",
                                                   {execution_id, workflow_id,
                                                    workflow_at(self, index).bot_id,
                                                    workflow_at(self, index).strategy_id},
                                                   now_us());
                      event["status"] = "interrupted";
                      event["reason"] = why;
                      if (st.options.services.bus)
                        caf::anon_send(st.options.services.bus, publish_atom::value,
                                       std::string{workflow_events_topic}, dump_json(event),
                                       execution_id);
                      st.log.warn("a workflow execution was interrupted; it can be resumed",
                                  {{"correlation_id", execution_id},
                                   {"workflow_id", workflow_id},
                                   {"reason", why}});
                    },
                    failed);
          },
          failed);
}

// At start: the executions this node was running when it stopped without ending them.
void find_interrupted(self_pointer self) {
  auto& st = self->state;
  if (!st.options.services.store)
    return;
  for (size_t index = 0; index < st.options.workflows.size(); ++index) {
    auto workflow_id = workflow_at(self, index).id;
    auto failed = [self, workflow_id](caf::error& err) {
      self->state.log.warn("the running executions of a workflow could not be read",
                           {{"workflow_id", workflow_id}, {"error", self->system().render(err)}});
    };
    self->request(st.options.services.store, store_timeout, list_keys_atom::value,
                  running_marker_pattern(workflow_id))
        .then(
            [self, index, workflow_id, failed](std::vector<std::string>& keys) {
              auto prefix = running_marker_key(workflow_id, "");
              std::vector<std::string> ids;
              for (const auto& key : keys) {
                if (ids.size() >= max_markers_read)
                  break;
                auto id = key.substr(std::min(prefix.size(), key.size()));
                // Only a key that names an execution of this workflow names keys in turn.
                if (key.rfind(prefix, 0) == 0 && workflow_of_execution(id) == workflow_id)
                  ids.push_back(std::move(id));
              }
              std::vector<std::string> markers;
              for (const auto& id : ids)
                markers.push_back(running_marker_key(workflow_id, id));
              self->request(self->state.options.services.store, store_timeout, get_many_atom::value,
                            std::move(markers))
                  .then(
                      [self, index, ids](std::vector<maybe_value>& values) {
                        const auto& node_name = self->state.options.node_name;
                        for (size_t i = 0; i < ids.size() && i < values.size(); ++i) {
                          if (!values[i].found)
                            continue;
                          auto marker = parse_json_within(values[i].json);
                          // Another node's execution may well be running there.
                          if (text_field(marker, "node") != node_name
                              || text_field(marker, "run").empty() || runs_here(self, ids[i]))
                            continue;
                          mark_interrupted(self, index, ids[i],
                                           "node " + node_name + " stopped while the execution ran",
                                           text_field(marker, "run"));
                        }
                      },
                      failed);
            },
            failed);
  }
}

caf::error refusal(errc code, const std::string& execution_id, const std::string& why) {
  return make_error(code, "execution " + execution_id + " cannot be resumed: " + why);
}

// The last steps of a resume, its checkpoint read and its claim taken: through the gate, then
// started with the restored nodes.
void start_resumed(self_pointer self, size_t index, const std::string& execution_id,
                   resume_point point, const std::string& claim,
                   caf::typed_response_promise<std::string> promise) {
  auto& st = self->state;
  auto admission = st.memory->gates[index].admit(may_trade(st), steady::now());
  log_transitions(self, index);
  if (admission.verdict != start_verdict::start) {
    // Not resumed: the claim goes, so that it can be tried again once the gate lets it.
    caf::anon_send(st.options.services.store, del_atom::value, claim);
    auto why = admission.verdict == start_verdict::held
                   ? "the emergency level does not let workflows start"
               : admission.verdict == start_verdict::busy
                   ? "the workflow already runs as many executions as allowed"
                   : "the workflow's breaker is open";
    promise.deliver(refusal(admission.verdict == start_verdict::held   ? errc::trading_halted
                            : admission.verdict == start_verdict::busy ? errc::refused
                                                                       : errc::breaker_open,
                            execution_id, why));
    return;
  }
  json restored = json::array();
  for (const auto& node : point.completed)
    restored.push_back(workflow_at(self, index).nodes[node.index].id);
  launch(self, index, execution_id, admission.permit, std::move(point));
  auto& listed = st.memory->interrupted[index];
  listed.erase(std::remove(listed.begin(), listed.end(), execution_id), listed.end());
  st.log.warn("an interrupted workflow execution resumed",
              {{"correlation_id", execution_id}, {"restored_nodes", restored}});
  promise.deliver(dump_json(
      json{{"execution_id", execution_id}, {"status", "resumed"}, {"restored_nodes", restored}}));
}

caf::result<std::string> resume(self_pointer self, const std::string& execution_id,
                                const std::string& reason) {
  auto& st = self->state;
  if (auto why = reason_problem(reason); !why.empty())
    return make_error(errc::invalid_argument, "the reason: " + why);
  auto workflow_id = workflow_of_execution(execution_id);
  if (workflow_id.empty())
    return make_error(errc::invalid_argument,
                      escaped_name(execution_id)
                          + " is not an execution id (exec_<workflow>_<12 hex digits>)");
  auto index = index_of(self, workflow_id);
  if (!index)
    return make_error(errc::not_found, "no workflow " + workflow_id + " here");
  if (!st.options.services.store)
    return make_error(errc::store_unavailable, "this executor has no state store");
  if (runs_here(self, execution_id))
    return refusal(errc::refused, execution_id, "it is running");
  if (!st.resuming.insert(execution_id).second)
    return refusal(errc::refused, execution_id, "a resume of it is under way");
  auto promise = self->make_response_promise<std::string>();
  auto give_up = [self, execution_id, promise](caf::error err) mutable {
    self->state.resuming.erase(execution_id);
    promise.deliver(std::move(err));
  };
  self->request(st.options.services.store, resume_store_timeout, get_atom::value,
                execution_status_key(workflow_id, execution_id))
      .then(
          [self, i = *index, execution_id, workflow_id, reason, promise,
           give_up](maybe_value& found) mutable {
            auto& s = self->state;
            if (!found.found) {
              give_up(refusal(errc::not_found, execution_id, "it has no checkpoint here"));
              return;
            }
            std::string why;
            auto point = read_checkpoint(parse_json_within(found.json), execution_id,
                                         workflow_at(self, i), s.options.nodes->catalogue(), why);
            if (!point) {
              give_up(refusal(errc::refused, execution_id, why));
              return;
            }
            // Restored outputs are held to the bounds of outputs made here.
            size_t total = 0;
            for (const auto& node : point->completed) {
              auto bytes = dump_json(node.outputs).size();
              total += bytes;
              if (bytes > s.options.bounds.node_bytes || total > s.options.bounds.execution_bytes) {
                give_up(refusal(errc::refused, execution_id,
                                "its checkpoint's outputs are larger than an execution's may be"));
                return;
              }
            }
            auto claim = resume_claim_key(workflow_id, execution_id, point->interruptions);
            auto claimed = json{
                {"node", s.options.node_name}, {"reason", reason}, {"at", iso8601_utc(now_us())}};
            self->request(s.options.services.store, resume_store_timeout, set_nx_atom::value, claim,
                          dump_json(claimed), s.options.history_retention_ms)
                .then(
                    [self, i, execution_id, point = std::move(*point), claim, promise,
                     give_up](bool won) mutable {
                      if (!won) {
                        give_up(refusal(errc::refused, execution_id,
                                        "it was resumed already, by this node or another "
                                        "sharing the store ("
                                            + claim
                                            + " is taken; should that node have died before the "
                                              "run began, delete that key to resume)"));
                        return;
                      }
                      self->state.resuming.erase(execution_id);
                      start_resumed(self, i, execution_id, std::move(point), claim, promise);
                    },
                    [give_up](caf::error& err) mutable { give_up(std::move(err)); });
          },
          [give_up](caf::error& err) mutable { give_up(std::move(err)); });
  return promise;
}

caf::behavior executor(self_pointer self, executor_options options) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.options = std::move(options);
  st.memory = st.options.memory ? st.options.memory : make_executor_memory();
  auto now = steady::now();
  auto& memory = *st.memory;
  if (memory.gates.size() != st.options.workflows.size()) {
    memory.gates.clear();
    memory.last_execution.assign(st.options.workflows.size(), std::string{});
    memory.interrupted.assign(st.options.workflows.size(), {});
    for (size_t i = 0; i < st.options.workflows.size(); ++i)
      memory.gates.emplace_back(st.options.max_running, st.options.breaker, now);
  }
  // Executions an earlier incarnation started: their end is awaited here (a monitor of one
  // that has ended already answers at once).
  for (auto& [address, run] : memory.running) {
    run.inherited = true;
    self->monitor(run.handle);
  }
  st.next_due.assign(st.options.workflows.size(), now);
  for (size_t i = 0; i < st.options.workflows.size(); ++i)
    if (st.options.workflows[i]->trigger.how == workflow_trigger::kind::every)
      schedule_next(self, i);
  if (st.options.services.emergency)
    register_with_controller(self);
  if (st.options.services.bus)
    subscribe_to_patterns(self);
  self->set_down_handler([self](caf::down_msg& down) {
    // An execution that stops without its result (its actor failed) left its checkpoint saying
    // "running": it is reported interrupted, and can be resumed.
    auto found = self->state.memory->running.find(down.source);
    if (found != self->state.memory->running.end() && down.reason)
      mark_interrupted(self, found->second.workflow, found->second.execution_id,
                       "its actor stopped: " + self->system().render(down.reason));
    ended(self, down.source, "failed",
          "the execution stopped without a result: " + self->system().render(down.reason));
  });
  trim_histories(self);
  find_interrupted(self);
  st.log.info("workflow executor started", {{"workflows", st.options.workflows.size()}});
  return {
      [self](workflow_tick_atom, uint64_t index) {
        if (index >= self->state.options.workflows.size())
          return;
        schedule_next(self, index);
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
      [self](workflow_history_atom, const std::string& workflow_id, uint32_t limit) {
        return history(self, workflow_id, limit);
      },
      [self](cancel_execution_atom, const std::string& execution_id, const std::string& reason) {
        return cancel(self, execution_id, reason);
      },
      [self](resume_execution_atom, const std::string& execution_id, const std::string& reason) {
        return resume(self, execution_id, reason);
      },
      [self](trim_history_atom) { trim_histories(self); },
      [self](resubscribe_atom, const std::string& pattern, int64_t next_ms) {
        subscribe(self, pattern, std::chrono::milliseconds(next_ms));
      },
  };
}

} // namespace

caf::actor spawn_workflow_executor(caf::actor_system& sys, executor_options options) {
  return sys.spawn(executor, std::move(options));
}

} // namespace brokedancer
