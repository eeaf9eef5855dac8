#include "actors/node/node_control.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/supervision/owed_reply.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/json_text.hpp"
#include "core/logging.hpp"
#include "core/plain_name.hpp"
#include "core/unix_time.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

namespace {

constexpr auto ask_timeout = std::chrono::seconds(5);
// A resume is answered once it is persisted, which the controller allows 5 s: wait longer, or
// an operator could be told it failed when it happened.
constexpr auto change_timeout = std::chrono::seconds(15);
// A change returns once every bot has acknowledged; a node with a stuck bot must still answer.
constexpr auto ack_timeout = std::chrono::seconds(60);
constexpr auto audit_write_timeout = std::chrono::seconds(5);
// A flatten or a cancel-all returns once every order's call has its answer, which its breaker
// gives by the call's deadline (up to two minutes with retries): longer than that.
constexpr auto flatten_wait = std::chrono::seconds(150);
constexpr auto cancel_all_wait = std::chrono::seconds(160);

// Its own timer: asks the emergency controller again whether the persisted level is read.
using recheck_atom = caf::atom_constant<caf::atom("recheck")>;
using reread_audit_atom = caf::atom_constant<caf::atom("au_reread")>;
using control_impl = node_control_actor::extend<caf::reacts_to<recheck_atom>,
                                                caf::reacts_to<reread_audit_atom, int>>;

// A store that is still connecting answers store_unavailable at once: the trail of earlier runs
// is asked for again after a pause, for as long as this (asked at once, it was given up within
// microseconds of the start, and a restarted node lost its trail).
constexpr auto audit_reread_after = std::chrono::milliseconds(200);
constexpr int audit_reads = 25;

struct control_state {
  node_control_services services;
  std::deque<audit_entry> audit;
  // Requests without a proven credential, kept apart (and not persisted) so that a flood of
  // them never pushes an operator's actions out of the trail.
  std::deque<audit_entry> unauthenticated;
  // A write of the trail is in flight; another change waits for it and is written after.
  bool audit_writing = false;
  bool audit_dirty = false;
  bool audit_restored = false; // the trail of earlier runs has been read (or given up on)
  // Every level change not answered yet, by the number it was opened under. An operator's
  // request (an API worker thread) would otherwise wait for nothing until its timeout -- and
  // hold up the node's own stop: whatever is open when this actor goes is answered with an error.
  std::map<uint64_t, owed_reply<control_reply>> open_changes;
  uint64_t next_change = 1;
  // Raises taken before the node read its persisted level, waiting for it (await_restore).
  struct restore_wait {
    level_change wanted;
    uint64_t change = 0; // in open_changes
    audit_entry entry;
    int polls = 0;
  };
  std::vector<restore_wait> restore_waits;
  // Waiting for the trail to be persisted (flush_atom).
  std::vector<caf::typed_response_promise<bool>> flushes;

  // CAF 0.17 drops a promise destroyed unanswered. A flush still open when this actor goes is
  // answered false (not persisted), which is no error: not an owed_reply.
  ~control_state() {
    for (auto& rp : flushes)
      rp.deliver(false);
  }
  logger log{"control"};
};

using self_pointer = control_impl::stateful_pointer<control_state>;

// -- the audit trail ------------------------------------------------------------------------

nlohmann::json audit_json(const std::deque<audit_entry>& entries) {
  auto list = nlohmann::json::array();
  for (const auto& e : entries)
    list.push_back(e);
  return list;
}

// Entries read back from the store, which is outside input too: what does not have the shape
// of an entry is skipped.
std::deque<audit_entry> audit_from_json(const std::string& text) {
  std::deque<audit_entry> out;
  auto list = parse_json_within(text);
  if (!list.is_array())
    return out;
  auto field = [](const nlohmann::json& e, const char* key) {
    auto found = e.find(key);
    return found != e.end() && found->is_string() ? found->get<std::string>() : std::string{"?"};
  };
  for (const auto& e : list) {
    if (!e.is_object() || !e.contains("at_us") || !e["at_us"].is_number_integer())
      continue;
    out.push_back({e["at_us"].get<int64_t>(), field(e, "credential"), field(e, "role"),
                   field(e, "address"), field(e, "command"), field(e, "reason"),
                   field(e, "outcome")});
    if (out.size() > audit_capacity)
      out.pop_front();
  }
  return out;
}

std::string audit_key(const control_state& st) {
  return "audit:" + st.services.node_name;
}

// One write at a time, each with the whole (bounded) trail: the newest write wins. Nothing is
// written before the trail of the last run is read, so that it is not overwritten.
void persist_audit(self_pointer self) {
  auto& st = self->state;
  if (!st.services.store)
    return;
  if (!st.audit_restored) {
    st.audit_dirty = true;
    return;
  }
  if (st.audit_writing) {
    st.audit_dirty = true;
    return;
  }
  st.audit_writing = true;
  st.audit_dirty = false;
  auto done = [self] {
    auto& state = self->state;
    state.audit_writing = false;
    if (state.audit_dirty) {
      persist_audit(self);
      return;
    }
    for (auto& rp : state.flushes)
      rp.deliver(true);
    state.flushes.clear();
  };
  self->request(st.services.store, audit_write_timeout, set_atom::value, audit_key(st),
                dump_json(audit_json(st.audit)), int64_t{0})
      .then([done]() { done(); },
            [self, done](caf::error& err) {
              self->state.log.warn("the audit trail was not persisted; kept in memory",
                                   {{"error", self->system().render(err)}});
              done();
            });
}

void record(self_pointer self, audit_entry entry) {
  auto& st = self->state;
  if (entry.at_us == 0)
    entry.at_us = now_us();
  auto level = entry.outcome == "ok" ? log_level::warn : log_level::error;
  if (entry.command == "status" && entry.outcome == "ok")
    level = log_level::info;
  st.log.write(level, "operator action",
               // Not "credential": the log masks the values of keys that look secret.
               {{"operator", entry.credential},
                {"role", entry.role},
                {"address", entry.address},
                {"command", entry.command},
                {"reason", entry.reason},
                {"outcome", entry.outcome}});
  if (entry.credential == "-") {
    st.unauthenticated.push_back(std::move(entry));
    while (st.unauthenticated.size() > audit_in_status)
      st.unauthenticated.pop_front();
    return;
  }
  st.audit.push_back(std::move(entry));
  while (st.audit.size() > audit_capacity)
    st.audit.pop_front();
  persist_audit(self);
}

audit_entry entry_for(const operator_identity& who, std::string command, std::string reason) {
  audit_entry e;
  e.credential = who.name;
  e.role = to_string(who.role);
  e.address = who.address;
  e.command = std::move(command);
  e.reason = std::move(reason);
  return e;
}

// Reads the trail earlier runs left; entries of this run so far go after it.
void restore_audit(self_pointer self, int attempt = 0) {
  auto& st = self->state;
  if (!st.services.store) {
    st.audit_restored = true;
    return;
  }
  auto done = [self] {
    self->state.audit_restored = true;
    if (self->state.audit_dirty)
      persist_audit(self);
  };
  self->request(st.services.store, audit_write_timeout, get_atom::value, audit_key(st))
      .then(
          [self, done](maybe_value& stored) {
            auto& s = self->state;
            if (stored.found) {
              auto earlier = audit_from_json(stored.json);
              earlier.insert(earlier.end(), s.audit.begin(), s.audit.end());
              s.audit = std::move(earlier);
              while (s.audit.size() > audit_capacity)
                s.audit.pop_front();
            }
            done();
          },
          [self, attempt, done](caf::error& err) {
            if (attempt + 1 < audit_reads) {
              self->delayed_send(self, audit_reread_after, reread_audit_atom::value, attempt + 1);
              return;
            }
            self->state.log.warn("the audit trail of earlier runs could not be read; it will be "
                                 "overwritten by this run's",
                                 {{"error", self->system().render(err)}});
            done();
          });
}

// -- status -----------------------------------------------------------------------------------

// Asks `target` (`what`: status_atom, bots_atom, ...) and puts the answer into `slot`;
// `one_done` runs either way.
template <class Reply, class Handle, class Atom, class Answer, class Done>
void ask(self_pointer self, const Handle& target, Atom what, Answer into, Done one_done) {
  if (!target) {
    one_done();
    return;
  }
  self->request(target, ask_timeout, what)
      .then(
          [into, one_done](Reply& answer) mutable {
            into(answer);
            one_done();
          },
          [one_done](caf::error&) mutable { one_done(); });
}

template <class Reply, class Handle, class Answer, class Done>
void ask_status(self_pointer self, const Handle& target, Answer into, Done one_done) {
  ask<Reply>(self, target, status_atom::value, std::move(into), std::move(one_done));
}

caf::result<node_status> status(self_pointer self) {
  auto& st = self->state;
  auto rp = self->make_response_promise<node_status>();
  auto status = std::make_shared<node_status>();
  status->node = st.services.node_name;
  status->clustered = st.services.clustered;
  // The newest entries of both, in time order.
  std::vector<audit_entry> recent(st.audit.begin(), st.audit.end());
  recent.insert(recent.end(), st.unauthenticated.begin(), st.unauthenticated.end());
  std::stable_sort(recent.begin(), recent.end(),
                   [](const audit_entry& a, const audit_entry& b) { return a.at_us < b.at_us; });
  auto first = recent.size() > audit_in_status ? recent.size() - audit_in_status : 0;
  status->audit.assign(recent.begin() + static_cast<std::ptrdiff_t>(first), recent.end());
  // Nine questions in flight; the answer goes out when the last one is back.
  auto left = std::make_shared<int>(9);
  auto one_done = [rp, status, left]() mutable {
    if (--*left == 0)
      rp.deliver(*status);
  };
  ask_status<emergency_status>(
      self, st.services.emergency,
      [status](emergency_status& e) { status->emergency = std::move(e); }, one_done);
  ask_status<bots_summary>(
      self, st.services.bots, [status](bots_summary& b) { status->bots = b; }, one_done);
  ask_status<std::vector<breaker_stats>>(
      self, st.services.breakers,
      [status](std::vector<breaker_stats>& b) { status->breakers = std::move(b); }, one_done);
  ask_status<cluster_status>(
      self, st.services.cluster, [status](cluster_status& c) { status->cluster = std::move(c); },
      one_done);
  ask_status<risk_status>(
      self, st.services.risk, [status](risk_status& r) { status->risk = std::move(r); }, one_done);
  ask_status<watch_status>(
      self, st.services.watch, [status](watch_status& w) { status->services = std::move(w); },
      one_done);
  ask_status<std::string>(
      self, st.services.workflows, [status](std::string& w) { status->workflows = std::move(w); },
      one_done);
  ask_status<scope_status>(
      self, st.services.scopes, [status](scope_status& s) { status->scopes = std::move(s); },
      one_done);
  ask<std::vector<bot_stats>>(
      self, st.services.bots, bots_atom::value,
      [status](std::vector<bot_stats>& bots) {
        for (auto& b : bots) {
          if (status->owners.size() == max_bot_owners_in_status)
            break;
          status->owners.push_back({b.id, b.state, b.owner, b.lease_age_ms, b.fence});
        }
      },
      one_done);
  return rp;
}

// -- level changes --------------------------------------------------------------------------

// The number of an operator's change in open_changes.
using open_change = uint64_t;

open_change open(self_pointer self, caf::typed_response_promise<control_reply> promise) {
  auto& st = self->state;
  auto id = st.next_change++;
  st.open_changes.emplace(
      id, owed_reply<control_reply>{std::move(promise),
                                    "the node's control stopped before the change was answered"});
  return id;
}

template <class Answer>
void answer(self_pointer self, open_change id, Answer&& value) {
  auto& open_changes = self->state.open_changes;
  auto found = open_changes.find(id);
  if (found == open_changes.end())
    return;
  found->second.deliver(std::forward<Answer>(value));
  open_changes.erase(found);
}

void await_acknowledgements(self_pointer self, level_change change, open_change rp,
                            audit_entry entry);

constexpr auto restore_poll = std::chrono::milliseconds(50);
constexpr int restore_polls = 300; // 15 s

// A raise taken before the persisted level was read: once it is read, the raise is in force
// (or a higher level is); then the acknowledgements are awaited as for any change.
void await_restore(self_pointer self, level_change wanted, open_change rp, audit_entry entry,
                   int polls) {
  self->request(self->state.services.emergency, ask_timeout, status_atom::value)
      .then(
          [self, wanted, rp, entry, polls](emergency_status& status) mutable {
            if (!status.restored) {
              if (polls >= restore_polls) {
                entry.outcome = "not in force: the persisted level could not be read";
                record(self, entry);
                answer(self, rp,
                       make_error(errc::subsystem_unavailable,
                                  "the node could not read its persisted level within 15 s; "
                                  "its bots hold a provisional HALT, and the change applies "
                                  "once the level is read"));
                return;
              }
              // Asked again after a pause; one timer serves every waiting raise.
              auto& waits = self->state.restore_waits;
              waits.push_back({wanted, rp, entry, polls + 1});
              if (waits.size() == 1)
                self->delayed_send(self, restore_poll, recheck_atom::value);
              return;
            }
            await_acknowledgements(self, status.current, rp, std::move(entry));
          },
          [self, rp, entry](caf::error& err) mutable {
            entry.outcome = "not in force: " + self->system().render(err);
            record(self, entry);
            answer(self, rp, std::move(err));
          });
}

// After the change: wait for every bot's acknowledgement, then answer with the count.
void await_acknowledgements(self_pointer self, level_change change, open_change rp,
                            audit_entry entry) {
  auto& st = self->state;
  if (change.provisional) {
    // Taken while the node still reads its persisted level (its first moments): the bots hold a
    // provisional HALT meanwhile, and the raise applies once the level is read. Wait for that,
    // then for the acknowledgements of whatever is in force.
    await_restore(self, change, rp, std::move(entry), 0);
    return;
  }
  self->request(st.services.emergency, ack_timeout, await_ack_atom::value, change.sequence)
      .then(
          [self, change, rp, entry](int64_t took_us) mutable {
            entry.outcome = "ok";
            record(self, std::move(entry));
            self->request(self->state.services.emergency, ask_timeout, status_atom::value)
                .then(
                    [self, change, rp, took_us](emergency_status& status) mutable {
                      answer(self, rp, control_reply{change, status.bots_registered, took_us});
                    },
                    [self, change, rp, took_us](caf::error&) mutable {
                      answer(self, rp, control_reply{change, 0, took_us});
                    });
          },
          [self, rp, entry](caf::error& err) mutable {
            entry.outcome = "not acknowledged: " + self->system().render(err);
            record(self, std::move(entry));
            answer(self, rp, std::move(err));
          });
}

// Why an operator's change cannot be taken as asked; empty when it can.
std::string refusal(emergency_level level, const std::string& reason) {
  if (reason.empty())
    return "an operator's level change needs a reason";
  if (reason.size() > max_reason_bytes)
    return "a reason is at most " + std::to_string(max_reason_bytes) + " bytes, not "
           + std::to_string(reason.size());
  if (!printable_text(reason))
    return "a reason must be printable UTF-8 text on one line";
  if (!is_valid(level))
    return "no such level: " + to_string(level);
  return {};
}

// Why an operator's action that takes risk off (flatten, cancel-all) may not go -- the role,
// the names (`invalid`), the reason, the service it needs -- recorded in the trail; empty when
// it may.
std::string refuse_risk_off(self_pointer self, audit_entry& entry, const operator_identity& who,
                            const std::string& verb, const std::string& invalid,
                            const std::string& reason, bool served, const char* unserved) {
  std::string why;
  if (!permits(who.role, operator_action::raise))
    why = "the " + to_string(who.role) + " role may not " + verb
          + "; a credential of the operator or risk role may";
  else if (!invalid.empty())
    why = invalid;
  else if (auto problem = refusal(emergency_level::halt, reason); !problem.empty())
    why = problem;
  else if (!served)
    why = unserved;
  if (!why.empty()) {
    entry.outcome = "refused: " + why;
    record(self, entry);
  }
  return why;
}

// Asks `to` for the action's report, records the outcome `outcome_of` gives it (or, on an error,
// why -- "outcome unknown" when it timed out: orders may still be out), and answers with it.
template <class Report, class Handle, class OutcomeOf, class... Ts>
caf::result<Report> recorded(self_pointer self, const Handle& to, std::chrono::seconds wait,
                             audit_entry entry, OutcomeOf outcome_of, Ts&&... request) {
  auto rp = self->make_response_promise<Report>();
  self->request(to, wait, std::forward<Ts>(request)...)
      .then(
          [self, rp, entry, outcome_of](Report& report) mutable {
            entry.outcome = outcome_of(report);
            record(self, std::move(entry));
            rp.deliver(std::move(report));
          },
          [self, rp, entry](caf::error& err) mutable {
            entry.outcome = (err == caf::sec::request_timeout ? "outcome unknown: " : "refused: ")
                            + self->system().render(err);
            record(self, std::move(entry));
            rp.deliver(std::move(err));
          });
  return rp;
}

// The audit outcome of a cancel-all: "ok" when every order's cancel ended it (cancelled, or
// executed already); anything else leaves the order live.
std::string cancel_outcome(const cancel_report& report) {
  auto failed =
      std::count_if(report.cancels.begin(), report.cancels.end(), [](const order_cancel& c) {
        return c.result.outcome != order_outcome::cancelled
               && c.result.outcome != order_outcome::not_open;
      });
  if (failed == 0)
    return "ok";
  return "cancels failed: " + std::to_string(failed) + " of "
         + std::to_string(report.cancels.size());
}

// Cancels the working orders of the bots in scope (`name` empty: every bot): as an operator, with
// a reason, recorded with how the cancels were answered.
caf::result<cancel_report> cancel_all(self_pointer self, scope_kind kind, const std::string& name,
                                      std::string reason, const operator_identity& who) {
  auto& st = self->state;
  auto invalid = name.empty() ? std::string{} : scope_name_problem(kind, name);
  if (invalid.empty() && kind == scope_kind::endpoint)
    invalid = "cancel-all takes a bot, a strategy or a symbol, not an endpoint";
  auto command =
      "cancel-all"
      + (name.empty() || !invalid.empty() ? std::string{} : " " + to_string(kind) + " " + name);
  auto entry = entry_for(who, command, reason_problem(reason).empty() ? reason : std::string{"?"});
  if (auto why = refuse_risk_off(self, entry, who, "cancel-all", invalid, reason,
                                 static_cast<bool>(st.services.bots), "this node runs no bots");
      !why.empty())
    return make_error(errc::invalid_argument, why);
  auto pick = [&](scope_kind k) {
    return !name.empty() && kind == k ? name : std::string{};
  };
  return recorded<cancel_report>(self, st.services.bots, cancel_all_wait, std::move(entry),
                                 cancel_outcome, cancel_all_atom::value, pick(scope_kind::bot),
                                 pick(scope_kind::strategy), pick(scope_kind::symbol));
}

// The audit outcome of a flatten: "ok" when every position asked for is closed.
std::string flatten_outcome(const flatten_report& report) {
  if (report.left.empty())
    return "ok";
  return "positions still open: " + std::to_string(report.left.size()) + " (of "
         + std::to_string(report.closes.size()) + " closing orders, "
         + std::to_string(std::count_if(
             report.closes.begin(), report.closes.end(),
             [](const position_close& c) { return c.result.outcome == order_outcome::filled; }))
         + " filled)";
}

// Closes the node's positions (in `symbol`; empty: all) through the risk monitor: as an
// operator (closing takes risk off, like a halt), with a reason, recorded.
caf::result<flatten_report> flatten(self_pointer self, const std::string& symbol,
                                    std::string reason, const operator_identity& who) {
  auto& st = self->state;
  auto invalid = symbol.empty() ? std::string{} : check_plain_name("a symbol", symbol, 64);
  auto command = "flatten" + (symbol.empty() || !invalid.empty() ? "" : " " + symbol);
  auto entry = entry_for(who, command, reason_problem(reason).empty() ? reason : std::string{"?"});
  if (auto why =
          refuse_risk_off(self, entry, who, "flatten", invalid, reason,
                          static_cast<bool>(st.services.risk), "this node runs no risk monitor");
      !why.empty())
    return make_error(errc::invalid_argument, why);
  return recorded<flatten_report>(self, st.services.risk, flatten_wait, std::move(entry),
                                  flatten_outcome, flatten_atom::value, symbol, std::move(reason));
}

template <class Atom>
caf::result<control_reply> change_level(self_pointer self, Atom op, emergency_level level,
                                        std::string reason, const operator_identity& who,
                                        operator_action action) {
  auto& st = self->state;
  auto command = std::string{action == operator_action::lower        ? "resume"
                             : level == emergency_level::shutdown    ? "shutdown"
                             : level == emergency_level::reduce_only ? "reduce-only"
                                                                     : "halt"};
  auto entry = entry_for(who, command, reason_problem(reason).empty() ? reason : std::string{"?"});
  if (!permits(who.role, action)) {
    entry.outcome = "forbidden: the " + to_string(who.role) + " role may not " + command;
    record(self, entry);
    return make_error(errc::invalid_argument,
                      "the " + to_string(who.role) + " role may not " + command
                          + (action == operator_action::lower
                                 ? "; a credential of the risk role may"
                                 : "; a credential of the operator or risk role may"));
  }
  if (auto why = refusal(level, reason); !why.empty()) {
    entry.outcome = "refused: " + why;
    record(self, entry);
    return make_error(errc::invalid_argument, why);
  }
  auto promise = self->make_response_promise<control_reply>();
  auto rp = open(self, promise);
  self->request(st.services.emergency, change_timeout, op, level, std::move(reason),
                change_source::operator_request)
      .then([self, rp,
             entry](level_change& change) { await_acknowledgements(self, change, rp, entry); },
            [self, rp, entry](caf::error& err) mutable {
              entry.outcome = "refused: " + self->system().render(err);
              record(self, std::move(entry));
              answer(self, rp, std::move(err));
            });
  return promise;
}

// -- scoped halts -------------------------------------------------------------------------------

// A scope raised or lowered as an operator: recorded, and answered once every bot it covers has
// acknowledged (or their wait ran out).
template <class Atom>
caf::result<control_reply> change_scope(self_pointer self, Atom op, scope_kind kind,
                                        const std::string& name, emergency_level level,
                                        std::string reason, const operator_identity& who,
                                        operator_action action) {
  auto& st = self->state;
  auto invalid = scope_name_problem(kind, name);
  auto verb = action == operator_action::lower        ? std::string{"resume"}
              : level == emergency_level::reduce_only ? std::string{"reduce-only"}
                                                      : std::string{"halt"};
  auto command = verb + " " + (is_valid(kind) ? to_string(kind) : std::string{"?"})
                 + (invalid.empty() ? " " + name : std::string{});
  auto entry = entry_for(who, command, reason_problem(reason).empty() ? reason : std::string{"?"});
  auto refuse = [&](std::string outcome, std::string why) -> caf::result<control_reply> {
    entry.outcome = std::move(outcome);
    record(self, entry);
    return make_error(errc::invalid_argument, std::move(why));
  };
  if (!permits(who.role, action))
    return refuse("forbidden: the " + to_string(who.role) + " role may not " + verb,
                  "the " + to_string(who.role) + " role may not " + verb
                      + (action == operator_action::lower
                             ? " a scope; a credential of the risk role may"
                             : "; a credential of the operator or risk role may"));
  if (!invalid.empty())
    return refuse("refused: " + invalid, invalid);
  if (auto why = refusal(level, reason); !why.empty())
    return refuse("refused: " + why, why);
  if (!st.services.scopes)
    return refuse("refused: this node runs no scoped halts", "this node runs no scoped halts");
  auto promise = self->make_response_promise<control_reply>();
  auto rp = open(self, promise);
  self->request(st.services.scopes, change_timeout, op, kind, name, level, std::move(reason),
                change_source::operator_request)
      .then(
          [self, rp, entry](scope_reply& reply) mutable {
            auto change = reply.scope.change;
            auto bots = reply.bots_covered;
            self->request(self->state.services.scopes, ack_timeout, await_scope_ack_atom::value,
                          reply.version)
                .then(
                    [self, rp, entry, change, bots](int64_t took_us) mutable {
                      entry.outcome = "ok";
                      record(self, std::move(entry));
                      answer(self, rp, control_reply{change, bots, took_us});
                    },
                    [self, rp, entry](caf::error& err) mutable {
                      entry.outcome = "not acknowledged: " + self->system().render(err);
                      record(self, std::move(entry));
                      answer(self, rp, std::move(err));
                    });
          },
          [self, rp, entry](caf::error& err) mutable {
            entry.outcome = "refused: " + self->system().render(err);
            record(self, std::move(entry));
            answer(self, rp, std::move(err));
          });
  return promise;
}

// -- workflows ----------------------------------------------------------------------------------

// Passes an operator's workflow request on to the executor, once the role allows it and the
// reason is acceptable; recorded in the audit trail unless it only reads.
template <class... Ts>
caf::result<std::string> to_workflows(self_pointer self, const operator_identity& who,
                                      operator_action action, std::string command,
                                      const std::string& invalid, const std::string& reason,
                                      Ts... request) {
  auto& st = self->state;
  bool recorded = action != operator_action::status;
  auto entry = entry_for(who, command, reason_problem(reason).empty() ? reason : std::string{"?"});
  auto refuse = [&](std::string outcome, caf::error err) -> caf::result<std::string> {
    if (recorded) {
      entry.outcome = std::move(outcome);
      record(self, entry);
    }
    return err;
  };
  // The names come first: a name that is not one is not repeated into the trail or the log.
  if (!invalid.empty())
    return refuse("refused: " + invalid, make_error(errc::invalid_argument, invalid));
  if (!permits(who.role, action))
    return refuse("forbidden: the " + to_string(who.role) + " role may not " + command,
                  make_error(errc::invalid_argument, "the " + to_string(who.role) + " role may not "
                                                         + command
                                                         + "; a credential of the risk role may"));
  if (recorded) {
    if (auto why = reason_problem(reason); !why.empty())
      return refuse("refused: " + why, make_error(errc::invalid_argument, why));
  }
  if (!st.services.workflows)
    return refuse("refused: no workflows here",
                  make_error(errc::not_found, "this node runs no workflows (workflows.files)"));
  auto promise = self->make_response_promise<std::string>();
  self->request(st.services.workflows, ask_timeout, std::move(request)...)
      .then(
          [self, promise, entry, recorded](std::string& answer) mutable {
            if (recorded) {
              entry.outcome = "ok";
              record(self, entry);
            }
            promise.deliver(std::move(answer));
          },
          [self, promise, entry, recorded](caf::error& err) mutable {
            if (recorded) {
              entry.outcome = "refused: " + self->system().render(err);
              record(self, entry);
            }
            promise.deliver(std::move(err));
          });
  return promise;
}

// Answers once the trail is persisted (true), or could not be (false).
caf::result<bool> flush(self_pointer self) {
  auto& st = self->state;
  if (!st.audit_writing && !st.audit_dirty)
    return true;
  st.flushes.push_back(self->make_response_promise<bool>());
  return st.flushes.back();
}

// Asks again, for every raise waiting for the persisted level to be read.
void recheck(self_pointer self) {
  auto waits = std::move(self->state.restore_waits);
  self->state.restore_waits.clear();
  for (auto& w : waits)
    await_restore(self, w.wanted, w.change, w.entry, w.polls);
}

control_impl::behavior_type node_control(self_pointer self, node_control_services services) {
  exit_with_exception_text(self);
  self->state.services = std::move(services);
  restore_audit(self);
  return {
      [self](status_atom) { return status(self); },
      [self](raise_atom op, emergency_level level, std::string& reason,
             const operator_identity& who) {
        return change_level(self, op, level, std::move(reason), who, operator_action::raise);
      },
      [self](resume_atom op, emergency_level level, std::string& reason,
             const operator_identity& who) {
        return change_level(self, op, level, std::move(reason), who, operator_action::lower);
      },
      [self](cancel_all_atom, scope_kind kind, const std::string& name, std::string& reason,
             const operator_identity& who) {
        return cancel_all(self, kind, name, std::move(reason), who);
      },
      [self](flatten_atom, const std::string& symbol, std::string& reason,
             const operator_identity& who) {
        return flatten(self, symbol, std::move(reason), who);
      },
      [self](raise_scope_atom op, scope_kind kind, const std::string& name, emergency_level level,
             std::string& reason, const operator_identity& who) {
        return change_scope(self, op, kind, name, level, std::move(reason), who,
                            operator_action::raise);
      },
      [self](lower_scope_atom op, scope_kind kind, const std::string& name, emergency_level level,
             std::string& reason, const operator_identity& who) {
        return change_scope(self, op, kind, name, level, std::move(reason), who,
                            operator_action::lower);
      },
      [self](audit_atom, audit_entry& entry) { record(self, std::move(entry)); },
      [self](workflow_history_atom op, std::string& workflow_id, uint32_t limit,
             const operator_identity& who) -> caf::result<std::string> {
        auto invalid = workflow_id_problem("a workflow id", workflow_id);
        auto command = "workflow history" + (invalid.empty() ? " " + workflow_id : "");
        return to_workflows(self, who, operator_action::status, command, invalid, {}, op,
                            workflow_id, limit);
      },
      [self](workflow_breaker_atom op, std::string& workflow_id, std::string& action,
             std::string& reason, const operator_identity& who) -> caf::result<std::string> {
        auto invalid = workflow_id_problem("a workflow id", workflow_id);
        if (action != "force_open" && action != "force_close" && action != "reset")
          invalid = "a breaker's action is force_open, force_close or reset";
        // Opening stops trading; closing or resetting lifts that, as lowering a level does.
        auto needs = action == "force_open" ? operator_action::raise : operator_action::lower;
        auto command =
            "workflow breaker" + (invalid.empty() ? " " + action + " " + workflow_id : "");
        return to_workflows(self, who, needs, command, invalid, reason, op, workflow_id, action,
                            reason);
      },
      [self](cancel_execution_atom op, std::string& execution_id, std::string& reason,
             const operator_identity& who) -> caf::result<std::string> {
        auto invalid = workflow_id_problem("an execution id", execution_id, max_execution_id_bytes);
        auto command = "workflow cancel" + (invalid.empty() ? " " + execution_id : "");
        return to_workflows(self, who, operator_action::raise, command, invalid, reason, op,
                            execution_id, reason);
      },
      [self](start_workflow_atom op, std::string& workflow_id, std::string& reason,
             const operator_identity& who) -> caf::result<std::string> {
        auto invalid = workflow_id_problem("a workflow id", workflow_id);
        auto command = "workflow start" + (invalid.empty() ? " " + workflow_id : "");
        return to_workflows(self, who, operator_action::raise, command, invalid, reason, op,
                            workflow_id);
      },
      [self](resume_execution_atom op, std::string& execution_id, std::string& reason,
             const operator_identity& who) -> caf::result<std::string> {
        auto invalid = workflow_id_problem("an execution id", execution_id, max_execution_id_bytes);
        auto command = "workflow resume" + (invalid.empty() ? " " + execution_id : "");
        return to_workflows(self, who, operator_action::lower, command, invalid, reason, op,
                            execution_id, reason);
      },
      [self](flush_atom) { return flush(self); },
      [self](recheck_atom) { recheck(self); },
      [self](reread_audit_atom, int attempt) { restore_audit(self, attempt); },
  };
}

} // namespace

node_control_actor spawn_node_control(caf::actor_system& sys, node_control_services services) {
  return caf::actor_cast<node_control_actor>(sys.spawn(node_control, std::move(services)));
}

} // namespace brokedancer
