#include "actors/resilience/circuit_breaker.hpp"

#include <deque>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/emergency/registration.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/logging.hpp"
#include "core/unix_time.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

namespace {

using clock = std::chrono::steady_clock;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using deadline_atom = caf::atom_constant<caf::atom("br_dline")>;
using budget_due_atom = caf::atom_constant<caf::atom("br_budget")>;
using budget_next_atom = caf::atom_constant<caf::atom("br_bnext")>;

using breaker_impl =
    breaker_actor::extend<caf::reacts_to<retry_atom, uint64_t>, caf::reacts_to<tick_atom>,
                          caf::reacts_to<register_again_atom>,
                          caf::reacts_to<deadline_atom, int64_t>, caf::reacts_to<budget_due_atom>,
                          caf::reacts_to<budget_next_atom>>;

struct pending_call {
  endpoint_request request;
  caf::typed_response_promise<endpoint_response> promise;
  clock::time_point started;
  clock::time_point deadline;
  uint32_t attempts = 0;
  // The attempt the endpoint is working on, if any.
  bool in_flight = false;
  breaker_machine::permit permit;
  clock::time_point attempt_started;
  // The last failure, answered if no further attempt is made.
  std::optional<endpoint_response> last_response;
  caf::error last_error;
  // One request of the endpoint's budget, spent for the next attempt.
  bool budget_spent = false;
};

struct breaker_state_data {
  circuit_breaker_options options;
  endpoint_actor endpoint;
  std::unique_ptr<breaker_machine> machine;
  std::mt19937_64 random;
  uint64_t next_call = 1;
  std::unordered_map<uint64_t, pending_call> calls;
  // Every open call by deadline, watched by one timer due at the earliest: a CAF request
  // timeout per attempt would cost a round through CAF's clock thread (a mutex and a wake-up)
  // on every order.
  std::set<std::pair<clock::time_point, uint64_t>> deadlines;
  std::optional<clock::time_point> watch_due;
  uint64_t timeouts = 0;
  uint64_t retries = 0;
  uint64_t rate_limited = 0;
  uint64_t budget_waits = 0;
  std::optional<budget_keeper> budget;
  // Calls waiting for the budget, first come first served: only the first asks the limiter,
  // and the others wait behind it instead of all asking again at every refill.
  std::deque<uint64_t> budget_line;
  bool budget_asked = false;   // the first's question is with the limiter
  bool budget_waiting = false; // the first waits for the budget's room (budget_due_atom)
  // What the emergency controller said; until it has said anything, retries go on (the risk
  // monitor has already checked the level of every order that reaches a breaker).
  level_tracker level;
  // One warning, at the third failure: a breaker started with the registry usually comes up a
  // moment before the controller does.
  emergency_registration registration{
      "cannot register with the emergency controller yet; until it answers, retries do not stop "
      "at HALT",
      {std::chrono::seconds(5), std::chrono::milliseconds(200), /*warn_at=*/3, /*warn_every=*/0}};
  logger log{"breaker"};

  // CAF 0.17 drops a promise destroyed unanswered, and the caller would wait for its timeout.
  // Not an owed_reply: the answer names the endpoint (endpoint_unreachable, retryable), and an
  // owed_reply's text is a literal.
  ~breaker_state_data() {
    for (auto& [id, call] : calls)
      call.promise.deliver(
          make_error(errc::endpoint_unreachable, "the circuit breaker of " + options.endpoint
                                                     + " stopped before the call ended"));
  }
};

using self_pointer = breaker_impl::stateful_pointer<breaker_state_data>;

breaker_stats current_stats(self_pointer self) {
  auto& st = self->state;
  auto stats = st.machine->stats(clock::now());
  stats.endpoint = st.options.endpoint;
  stats.timeouts = st.timeouts;
  stats.retries = st.retries;
  stats.rate_limited = st.rate_limited;
  stats.budget_waits = st.budget_waits;
  stats.budget_local = st.budget ? st.budget->local_decisions() : 0;
  return stats;
}

// Logs and publishes every transition the machine made since the last time.
void announce_transitions(self_pointer self) {
  auto& st = self->state;
  for (auto& t : st.machine->take_transitions()) {
    auto stats = current_stats(self);
    logger::fields fields{{"endpoint", st.options.endpoint},
                          {"from", to_string(t.from)},
                          {"to", to_string(t.to)},
                          {"reason", t.reason},
                          {"failure_rate", stats.failure_rate}};
    if (t.to == breaker_state::open || t.to == breaker_state::forced_open)
      st.log.warn("circuit breaker opened; calls fail fast with breaker_open", fields);
    else
      st.log.info("circuit breaker changed state", fields);
    if (t.to == breaker_state::open)
      self->delayed_send(self, st.options.breaker.recovery_timeout, tick_atom::value);
    if (!st.options.bus)
      continue;
    auto payload = nlohmann::json{
        {"endpoint", st.options.endpoint},
        {"from", to_string(t.from)},
        {"to", to_string(t.to)},
        {"reason", t.reason},
        {"failure_rate", stats.failure_rate},
        {"at_us",
         now_us()}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    self->request(st.options.bus, std::chrono::seconds(10), publish_atom::value,
                  std::string{"breaker.state_changed"}, std::move(payload), correlation_id{})
        .then([](uint64_t) {},
              [self](caf::error& err) {
                self->state.log.warn("could not publish a breaker transition on the bus",
                                     {{"error", self->system().render(err)}});
              });
  }
}

void finish(self_pointer self, uint64_t id) {
  auto& st = self->state;
  auto found = st.calls.find(id);
  if (found == st.calls.end())
    return;
  auto call = std::move(found->second);
  st.calls.erase(found);
  st.deadlines.erase({call.deadline, id});
  if (call.last_response) {
    call.last_response->attempts = call.attempts;
    call.last_response->latency_us =
        std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - call.started).count();
    call.promise.deliver(std::move(*call.last_response));
  } else {
    call.promise.deliver(call.last_error);
  }
}

void fail_call(self_pointer self, uint64_t id, caf::error err) {
  auto found = self->state.calls.find(id);
  if (found == self->state.calls.end())
    return;
  found->second.last_response.reset();
  found->second.last_error = std::move(err);
  finish(self, id);
}

void attempt(self_pointer self, uint64_t id);
void queue_for_budget(self_pointer self, uint64_t id);
void retry_or_finish(self_pointer self, uint64_t id, const pending_call& call,
                     int64_t retry_after_ms, clock::time_point now);

// The end of the attempt `attempt_number` of call `id`: an answer, an error, or its deadline.
// An answer that comes after the deadline ended the call finds nothing and is dropped.
void outcome(self_pointer self, uint64_t id, uint32_t attempt_number, endpoint_response* response,
             caf::error err) {
  auto& st = self->state;
  auto now = clock::now();
  auto found = st.calls.find(id);
  if (found == st.calls.end() || !found->second.in_flight
      || found->second.attempts != attempt_number)
    return;
  auto& call = found->second;
  call.in_flight = false;
  auto permit = call.permit;
  auto attempt_started = call.attempt_started;
  bool slow = st.options.breaker.slow_call.count() > 0
              && now - attempt_started > st.options.breaker.slow_call;
  bool retry_wanted = false;
  std::string failure;
  int64_t retry_after_ms = 0;
  if (response) {
    retry_wanted = retryable_status(response->status);
    if (retry_wanted)
      failure = "status " + std::to_string(response->status);
    retry_after_ms = response->retry_after_ms;
    call.last_response = std::move(*response);
    call.last_error = caf::error{};
  } else {
    if (err == caf::sec::request_timeout) {
      ++st.timeouts;
      err = make_error(errc::endpoint_timeout,
                       st.options.endpoint + " did not answer within the call's deadline");
    }
    retry_wanted = retryable(err);
    failure = self->system().render(err);
    if (failure.empty())
      failure = "error";
    call.last_response.reset();
    call.last_error = std::move(err);
  }
  bool success = failure.empty();
  st.machine->record(permit, success, slow, now, failure);
  announce_transitions(self);
  if (success || !retry_wanted || call.attempts >= st.options.retry.max_attempts) {
    finish(self, id);
    return;
  }
  retry_or_finish(self, id, call, retry_after_ms, now);
}

// A failed attempt that could be retried: retried after a backoff, if that helps.
void retry_or_finish(self_pointer self, uint64_t id, const pending_call& call,
                     int64_t retry_after_ms, clock::time_point now) {
  auto& st = self->state;
  // Never retry into an open breaker (the endpoint is failing, a retry would only wait), nor
  // once trading has stopped: a HALT means no order goes out again by itself -- except one
  // that closes exposure, which is what SHUTDOWN needs to get through.
  auto state = st.machine->state();
  if (state == breaker_state::open || state == breaker_state::forced_open
      || (st.level.known() && !trading_allowed(st.level.level()) && !call.request.reduces_risk)) {
    finish(self, id);
    return;
  }
  auto delay = backoff(st.options.retry, call.attempts, st.random);
  auto retry_after = std::chrono::milliseconds(retry_after_ms);
  if (retry_after > st.options.retry.max_backoff) {
    finish(self, id); // the endpoint asked for a longer pause than we are willing to wait
    return;
  }
  delay = std::max(delay, retry_after);
  if (now + delay >= call.deadline) {
    finish(self, id);
    return;
  }
  self->delayed_send(self, delay, retry_atom::value, id);
}

// An order that passed the risk monitor just before a HALT may still be queued here; the HALT
// overtook it (high priority), so it does not go out. Closing orders do.
bool held_back_by_level(self_pointer self, const pending_call& call) {
  const auto& st = self->state;
  return call.request.operation == "submit_order" && !call.request.reduces_risk && st.level.known()
         && !trading_allowed(st.level.level());
}

void fail_held_back(self_pointer self, uint64_t id) {
  fail_call(self, id,
            make_error(errc::trading_halted, "the emergency level is "
                                                 + to_string(self->state.level.level())
                                                 + ": the order was not sent"));
}

void attempt(self_pointer self, uint64_t id) {
  auto& st = self->state;
  auto found = st.calls.find(id);
  if (found == st.calls.end())
    return;
  auto& call = found->second;
  auto now = clock::now();
  if (now >= call.deadline) {
    ++st.timeouts;
    fail_call(self, id,
              make_error(errc::endpoint_timeout,
                         st.options.endpoint + ": the call's deadline passed before an answer"));
    return;
  }
  if (held_back_by_level(self, call)) {
    fail_held_back(self, id);
    return;
  }
  // No budget is spent on a call the breaker refuses anyway.
  if (st.options.budget && !call.budget_spent && st.machine->would_admit(now)) {
    queue_for_budget(self, id);
    return;
  }
  call.budget_spent = false;
  auto permit = st.machine->try_acquire(now);
  announce_transitions(self);
  if (!permit.allowed) {
    auto stats = st.machine->stats(now);
    fail_call(
        self, id,
        make_error(
            errc::breaker_open,
            "the circuit breaker of " + st.options.endpoint + " is " + to_string(stats.state)
                + (stats.last_failure.empty() ? "" : "; last failure: " + stats.last_failure)));
    return;
  }
  if (call.attempts++ > 0)
    ++st.retries;
  call.in_flight = true;
  call.permit = permit;
  call.attempt_started = now;
  auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(call.deadline - now);
  remaining = std::max(remaining, std::chrono::milliseconds(1));
  // The adapter gets what is left of the deadline, so that it can give up when we do. No CAF
  // timeout on the request: the deadline watch ends the attempt (see `deadlines`).
  call.request.timeout_ms = remaining.count();
  auto number = call.attempts;
  self->request(st.endpoint, caf::infinite, call_atom::value, call.request)
      .then([self, id,
             number](endpoint_response& response) { outcome(self, id, number, &response, {}); },
            [self, id, number](caf::error& err) {
              outcome(self, id, number, nullptr, std::move(err));
            });
}

void ask_for_budget(self_pointer self);

// The next call in line asks. Without a limiter the answer comes at once, and a line answered
// within one handler would recurse once per call: then it asks in a message of its own. (With
// one, only one question per endpoint is out at a time: on Redis, one call per round trip.)
void next_in_line(self_pointer self) {
  if (self->state.budget_line.empty())
    return;
  if (self->state.options.limiter)
    ask_for_budget(self);
  else
    self->send(self, budget_next_atom::value);
}

// The budget's answer for the first call in line: go, wait for the budget's room, or end it.
// A wait must leave the attempt a quarter of the call's time: one that went out with a
// millisecond left would time out, and a spent budget would count as the endpoint failing.
// Closing orders (reduces_risk) wait whatever the budget says: SHUTDOWN must get them out.
void budget_decided(self_pointer self, const rate_decision& decision) {
  auto& st = self->state;
  st.budget_asked = false;
  auto id = st.budget_line.front();
  auto found = st.calls.find(id);
  if (found == st.calls.end()) { // ended meanwhile (its deadline)
    st.budget_line.pop_front();
    next_in_line(self);
    return;
  }
  auto& call = found->second;
  if (decision.allowed || held_back_by_level(self, call)) {
    // (Held back by a HALT that came meanwhile: attempt() ends it.)
    st.budget_line.pop_front();
    call.budget_spent = true;
    attempt(self, id);
    next_in_line(self);
    return;
  }
  const auto& budget = *st.options.budget;
  auto wait = std::chrono::milliseconds(decision.retry_after_ms);
  auto margin = (call.deadline - call.started) / 4;
  if ((budget.wait || call.request.reduces_risk) && clock::now() + wait + margin < call.deadline) {
    ++st.budget_waits;
    st.budget_waiting = true;
    self->delayed_send(self, wait, budget_due_atom::value);
    return;
  }
  st.budget_line.pop_front();
  if (call.attempts > 0) {
    finish(self, id); // a retry: the last attempt's outcome stands
  } else {
    ++st.rate_limited;
    fail_call(self, id,
              make_error(errc::rate_limited, st.options.endpoint + ": its request budget ("
                                                 + std::to_string(budget.limit.limit) + " per "
                                                 + std::to_string(budget.limit.window_ms)
                                                 + " ms) is spent; the next request fits in "
                                                 + std::to_string(decision.retry_after_ms)
                                                 + " ms"));
  }
  next_in_line(self);
}

// Asks the limiter for the first call in line that is still open, unless a question or a wait
// is under way.
void ask_for_budget(self_pointer self) {
  auto& st = self->state;
  if (st.budget_asked || st.budget_waiting)
    return;
  // Calls that ended meanwhile leave the line; orders a HALT holds back end here, without
  // spending the budget the closing orders behind them need.
  while (!st.budget_line.empty()) {
    auto front = st.budget_line.front();
    auto found = st.calls.find(front);
    if (found != st.calls.end() && !held_back_by_level(self, found->second))
      break;
    st.budget_line.pop_front();
    if (found != st.calls.end())
      fail_held_back(self, front);
  }
  if (st.budget_line.empty())
    return;
  st.budget_asked = true;
  st.budget->spend(self, st.options.limiter, *st.options.budget, st.log,
                   [self](const rate_decision& decision) { budget_decided(self, decision); });
}

void queue_for_budget(self_pointer self, uint64_t id) {
  self->state.budget_line.push_back(id);
  ask_for_budget(self);
}

void on_budget_due(self_pointer self) {
  self->state.budget_waiting = false;
  ask_for_budget(self);
}

void watch_deadline(self_pointer self, clock::time_point due) {
  auto& st = self->state;
  if (st.watch_due && *st.watch_due <= due)
    return;
  st.watch_due = due;
  auto delay = std::max(due - clock::now(), clock::duration::zero());
  self->delayed_send(self, std::chrono::duration_cast<std::chrono::microseconds>(delay),
                     deadline_atom::value, static_cast<int64_t>(due.time_since_epoch().count()));
}

// Ends every call whose deadline has passed: an attempt in flight counts as a timeout of the
// endpoint (for the breaker too), a call waiting for its retry fails.
void expire_calls(self_pointer self) {
  auto& st = self->state;
  st.watch_due.reset();
  auto now = clock::now();
  while (!st.deadlines.empty() && st.deadlines.begin()->first <= now) {
    auto id = st.deadlines.begin()->second;
    auto found = st.calls.find(id);
    if (found == st.calls.end()) {
      st.deadlines.erase(st.deadlines.begin());
      continue;
    }
    if (found->second.in_flight) {
      outcome(self, id, found->second.attempts, nullptr, caf::sec::request_timeout);
    } else if (found->second.attempts == 0 && st.options.budget) {
      // Waited in the budget's line to its deadline: never sent, and said so (an order the
      // risk monitor knows was not sent is not asked about at the exchange).
      ++st.rate_limited;
      fail_call(self, id,
                make_error(errc::rate_limited, st.options.endpoint
                                                   + ": the call's deadline passed while it "
                                                     "waited for the request budget; not sent"));
    } else {
      ++st.timeouts;
      fail_call(self, id,
                make_error(errc::endpoint_timeout,
                           st.options.endpoint + ": the call's deadline passed before an answer"));
    }
  }
  if (!st.deadlines.empty())
    watch_deadline(self, st.deadlines.begin()->first);
}

// Registers with the emergency controller, again and again until it answers: a breaker
// started with the registry comes up before the controller does.
void register_with_emergency(self_pointer self) {
  auto& st = self->state;
  st.registration.attempt(self, st.options.emergency, st.log,
                          [self](level_change& current) { self->state.level.take(current); });
}

caf::result<endpoint_response> on_call(self_pointer self, endpoint_request& request) {
  auto& s = self->state;
  auto promise = self->make_response_promise<endpoint_response>();
  auto id = s.next_call++;
  auto now = clock::now();
  // A caller's own timeout, within reason: an hour at most.
  auto timeout = request.timeout_ms > 0
                     ? std::chrono::milliseconds(std::min<int64_t>(request.timeout_ms, 3600 * 1000))
                     : s.options.timeout;
  pending_call call;
  call.request = std::move(request);
  call.promise = promise;
  call.started = now;
  call.deadline = now + timeout;
  s.deadlines.emplace(call.deadline, id);
  watch_deadline(self, call.deadline);
  s.calls.emplace(id, std::move(call));
  attempt(self, id);
  return promise;
}

void on_deadline(self_pointer self, int64_t due) {
  // A watch superseded by an earlier one has nothing to do.
  if (self->state.watch_due && self->state.watch_due->time_since_epoch().count() == due)
    expire_calls(self);
}

void on_tick(self_pointer self) {
  self->state.machine->tick(clock::now());
  announce_transitions(self);
}

// An operator's force_open, force_close, reset or disable.
breaker_stats operator_change(self_pointer self,
                              void (breaker_machine::*change)(clock::time_point,
                                                              const std::string&),
                              const std::string& reason) {
  (self->state.machine.get()->*change)(clock::now(), reason);
  announce_transitions(self);
  return current_stats(self);
}

void on_level_change(self_pointer self, const level_change& change) {
  self->state.level.take(change);
  self->send(caf::actor_cast<emergency_actor>(self->current_sender()), emergency_ack_atom::value,
             change.sequence);
}

breaker_impl::behavior_type circuit_breaker(self_pointer self, endpoint_actor endpoint,
                                            circuit_breaker_options options) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.options = std::move(options);
  st.endpoint = std::move(endpoint);
  st.machine = std::make_unique<breaker_machine>(st.options.breaker, clock::now());
  st.random.seed(st.options.seed != 0 ? st.options.seed : std::random_device{}());
  if (st.options.budget)
    st.budget.emplace("endpoint " + st.options.endpoint);
  if (st.options.emergency)
    register_with_emergency(self);
  return {
      [self](call_atom, endpoint_request& request) { return on_call(self, request); },
      [self](retry_atom, uint64_t id) { attempt(self, id); },
      [self](deadline_atom, int64_t due) { on_deadline(self, due); },
      [self](budget_due_atom) { on_budget_due(self); },
      [self](budget_next_atom) { ask_for_budget(self); },
      [self](tick_atom) { on_tick(self); },
      [self](force_open_atom, std::string& reason) {
        return operator_change(self, &breaker_machine::force_open, reason);
      },
      [self](force_close_atom, std::string& reason) {
        return operator_change(self, &breaker_machine::force_close, reason);
      },
      [self](reset_atom, std::string& reason) {
        return operator_change(self, &breaker_machine::reset, reason);
      },
      [self](disable_atom, std::string& reason) {
        return operator_change(self, &breaker_machine::disable, reason);
      },
      [self](status_atom) { return current_stats(self); },
      [self](register_again_atom) { register_with_emergency(self); },
      [self](const level_change& change) { on_level_change(self, change); },
  };
}

} // namespace

breaker_actor spawn_circuit_breaker(caf::actor_system& sys, endpoint_actor endpoint,
                                    circuit_breaker_options options) {
  return caf::actor_cast<breaker_actor>(
      sys.spawn(circuit_breaker, std::move(endpoint), std::move(options)));
}

} // namespace brokedancer
