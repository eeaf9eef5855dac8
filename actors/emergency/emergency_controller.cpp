#include "actors/emergency/emergency_controller.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/emergency/controller_state.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/unix_time.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

std::shared_ptr<emergency_data> make_emergency_data() {
  return std::make_shared<emergency_data>();
}

namespace emergency {

namespace {

using behavior = controller_actor::behavior_type;

// -- restoring: the level persisted by earlier runs ---------------------------------------------

behavior running(self_pointer self);

void apply_restored(self_pointer self, const stored_levels& stored) {
  auto& s = self->state;
  auto& d = *s.data;
  auto outcome =
      restore_level(d.current, stored, d.deferred, d.isolated, s.options.node_name, now_us());
  d.restored = true;
  self->become(running(self));
  if (outcome.restored)
    s.log.warn(
        "restored the persisted emergency level",
        {{"level", to_string(outcome.restored->level)}, {"reason", outcome.restored->reason}});
  else if (!stored.found)
    s.log.info("no persisted emergency level; starting at the current one",
               {{"level", to_string(d.current.level)}});
  if (outcome.deferred)
    s.log.warn(
        "a raise made while the level was read takes effect",
        {{"level", to_string(outcome.deferred->level)}, {"reason", outcome.deferred->reason}});
  d.current = std::move(outcome.current);
  d.deferred.reset();
  d.persisted = false;
  // Bots registered meanwhile were told to wait; now they learn the level in force, at once.
  announce(self, d.current);
  persist(self);
}

void take_stored(self_pointer self, const std::vector<std::string>& keys,
                 const std::vector<maybe_value>& values) {
  auto& st = self->state;
  auto stored = merge_stored_levels(keys, values, own_key(st.options), st.options.state_key,
                                    st.options.node_name, now_us());
  for (const auto& record : stored.unreadable)
    st.log.critical("a persisted emergency level is unreadable; taking it as HALT",
                    {{"key", record.key}, {"problem", record.problem}});
  apply_restored(self, stored);
}

void restore(self_pointer self) {
  auto& st = self->state;
  auto retry = [self](caf::error& err) {
    self->state.log.error("cannot read the persisted emergency level yet; nothing trades "
                          "until it is read",
                          {{"error", self->system().render(err)}});
    self->delayed_send(self, persist_retry, restore_atom::value);
  };
  self->request(st.store, store_timeout, list_keys_atom::value, st.options.state_key + ":*")
      .then(
          [self, retry](std::vector<std::string>& keys) {
            auto& s = self->state;
            keys.push_back(s.options.state_key);
            self->request(s.store, store_timeout, get_many_atom::value, keys)
                .then([self,
                       keys](std::vector<maybe_value>& values) { take_stored(self, keys, values); },
                      retry);
          },
          retry);
}

// -- raising and lowering -----------------------------------------------------------------------

caf::error raise_problem(emergency_level level, const std::string& reason, change_source source) {
  if (!is_valid(level) || !is_valid(source))
    return make_error(errc::invalid_argument,
                      "no such level or source: " + to_string(level) + ", " + to_string(source));
  if (reason.empty())
    return make_error(errc::invalid_argument, "a level change needs a reason");
  return {};
}

caf::result<level_change> on_raise(self_pointer self, emergency_level level, std::string& reason,
                                   change_source source) {
  if (auto problem = raise_problem(level, reason, source))
    return problem;
  auto& d = *self->state.data;
  if (level <= d.current.level)
    return d.current;
  auto change = make_change(self, level, std::move(reason), source);
  apply_raise(self, change);
  return change;
}

caf::result<level_change> on_raise_while_restoring(self_pointer self, emergency_level level,
                                                   std::string& reason, change_source source) {
  if (auto problem = raise_problem(level, reason, source))
    return problem;
  auto& d = *self->state.data;
  // Persisting it now would overwrite what is stored (a HALT could be lost), and announcing it
  // would tell bots a level that may not be the one in force: it waits for the restore, and
  // bots stay at the provisional HALT meanwhile.
  if (!d.deferred || level > d.deferred->level)
    d.deferred = make_change(self, level, reason, source);
  auto waiting = d.current;
  waiting.level = std::max(level, emergency_level::halt);
  waiting.reason = "raised to " + to_string(level) + " (" + reason
                   + "); in force once the persisted level has been read";
  waiting.provisional = true;
  return waiting;
}

caf::error resume_problem(const emergency_data& d, emergency_level level, const std::string& reason,
                          change_source source) {
  if (!is_valid(level))
    return make_error(errc::invalid_argument, "no such level: " + to_string(level));
  if (source != change_source::operator_request)
    return make_error(errc::invalid_argument,
                      "only an operator may lower the emergency level, not " + to_string(source));
  if (reason.empty())
    return make_error(errc::invalid_argument, "resuming needs a reason");
  if (d.current.level == emergency_level::shutdown)
    return make_error(errc::invalid_argument,
                      "SHUTDOWN is final for this process; restart it to trade again");
  return {};
}

// Persisted first, and only then in force: a resume that is not stored does not happen.
caf::result<level_change> resume_once_persisted(self_pointer self, level_change change) {
  auto rp = self->make_response_promise<level_change>();
  self->request(self->state.store, store_timeout, set_atom::value, own_key(self->state.options),
                encode_level_change(change), int64_t{0})
      .then(
          [self, change, rp]() mutable {
            auto& now_data = *self->state.data;
            if (now_data.current.sequence >= change.sequence) {
              rp.deliver(
                  make_error(errc::invalid_argument, "the level changed meanwhile; resume again"));
              return;
            }
            now_data.current = change;
            now_data.persisted = true;
            announce(self, change);
            rp.deliver(change);
          },
          [rp](caf::error& err) mutable {
            rp.deliver(make_error(errc::store_unavailable,
                                  "the level was not lowered: it could not be persisted ("
                                      + to_string(err) + ")"));
          });
  return rp;
}

caf::result<level_change> on_resume(self_pointer self, emergency_level level, std::string& reason,
                                    change_source source) {
  auto& d = *self->state.data;
  if (auto problem = resume_problem(d, level, reason, source))
    return problem;
  if (d.isolated)
    return make_error(errc::invalid_argument,
                      "this node has lost contact with its cluster or its shared store "
                      "(dead man's switch); it can be resumed once contact is back");
  if (level >= d.current.level)
    return make_error(errc::invalid_argument, "resume lowers the level: " + to_string(level)
                                                  + " is not below " + to_string(d.current.level));
  auto change = make_change(self, level, std::move(reason), source);
  // Lifting this node's own HALT (its dead man's switch) is this node's business too: the
  // cluster's level reaches it again through its peers.
  change.local_only = change.local_only || d.current.local_only;
  return resume_once_persisted(self, std::move(change));
}

caf::result<level_change> on_resume_while_restoring(self_pointer self, emergency_level level,
                                                    std::string& reason, change_source source) {
  if (auto problem = resume_problem(*self->state.data, level, reason, source))
    return problem;
  return make_error(errc::subsystem_unavailable,
                    "the persisted level has not been read yet; try again shortly");
}

// -- the cluster: peers' levels and the dead man's switch ---------------------------------------

// As a resume: in force once persisted, if nothing changed meanwhile.
caf::result<level_change> lower_once_persisted(self_pointer self, level_change change) {
  auto rp = self->make_response_promise<level_change>();
  self->request(self->state.store, store_timeout, set_atom::value, own_key(self->state.options),
                encode_level_change(change), int64_t{0})
      .then(
          [self, change, rp, before = key_of(self->state.data->current)]() mutable {
            auto& now = *self->state.data;
            if (key_of(now.current) == before && !now.isolated) {
              now.current = change;
              now.persisted = true;
              announce(self, change);
            }
            rp.deliver(now.current);
          },
          [rp](caf::error& err) mutable {
            rp.deliver(make_error(errc::store_unavailable,
                                  "the peer's lower level was not taken: it could not be "
                                  "persisted ("
                                      + to_string(err) + ")"));
          });
  return rp;
}

caf::result<level_change> on_peer_change(self_pointer self, level_change& incoming) {
  auto& d = *self->state.data;
  auto merged = merge_peer_change(d.current, incoming);
  if (!merged)
    return d.current;
  auto change = std::move(*merged);
  // The dead man's switch holds this node: nothing lower from the cluster until an operator
  // has resumed it.
  if (d.isolated && change.level < d.current.level)
    return d.current;
  self->state.log.warn("taking the level of a peer node",
                       {{"level", to_string(change.level)},
                        {"node", change.node},
                        {"sequence", change.sequence},
                        {"restamped", change.sequence != incoming.sequence}});
  if (change.level < d.current.level)
    return lower_once_persisted(self, std::move(change));
  // As a raise: in force at once, persisted as soon as the store takes it.
  apply_raise(self, change);
  return change;
}

caf::result<level_change> on_peer_change_while_restoring() {
  return make_error(errc::subsystem_unavailable,
                    "the persisted level has not been read yet; the next heartbeat brings the "
                    "peer's level again");
}

// Takes the dead man's switch's news; true when it has just tripped.
bool note_isolation(self_pointer self, bool isolated, const std::string& reason) {
  auto& d = *self->state.data;
  if (d.isolated == isolated)
    return false;
  d.isolated = isolated;
  if (!isolated) {
    self->state.log.warn("contact is back; an operator can resume this node", {});
    return false;
  }
  self->state.log.critical("dead man's switch: this node lost contact; halting its bots",
                           {{"reason", reason}});
  return true;
}

void on_isolation(self_pointer self, bool isolated, const std::string& reason) {
  if (!note_isolation(self, isolated, reason)
      || self->state.data->current.level >= emergency_level::halt)
    return; // already halted
  auto change =
      make_change(self, emergency_level::halt, "isolated: " + reason, change_source::node);
  change.local_only = true;
  apply_raise(self, change);
}

void on_isolation_while_restoring(self_pointer self, bool isolated, const std::string& reason) {
  note_isolation(self, isolated, reason); // apply_restored halts it
}

// -- bots ---------------------------------------------------------------------------------------

caf::error add_bot(self_pointer self, const caf::actor& bot) {
  if (!bot)
    return make_error(errc::invalid_argument, "no bot given");
  if (self->state.data->bots.add(bot))
    self->monitor(bot);
  return {};
}

caf::result<level_change> on_register(self_pointer self, const caf::actor& bot) {
  if (auto problem = add_bot(self, bot))
    return problem;
  return self->state.data->current;
}

caf::result<level_change> on_register_while_restoring(self_pointer self, const caf::actor& bot) {
  if (auto problem = add_bot(self, bot))
    return problem;
  // Until the persisted level is known, a new bot must not trade: tell it HALT-like.
  auto current = self->state.data->current;
  current.level = std::max(current.level, emergency_level::halt);
  current.reason = "the persisted emergency level has not been read yet";
  current.provisional = true;
  return current;
}

void on_ack(self_pointer self, uint64_t sequence) {
  // Anonymous acknowledgements say nothing about which bot has acted.
  auto sender = self->current_sender();
  if (sender && sequence == self->state.data->bots.acking())
    acknowledged(self, caf::actor_cast<caf::actor_addr>(sender));
}

caf::result<int64_t> on_await_ack(self_pointer self, uint64_t sequence) {
  if (sequence > self->state.data->current.sequence)
    return make_error(errc::invalid_argument,
                      "no level change with sequence " + std::to_string(sequence) + " yet");
  auto promise = self->make_response_promise<int64_t>();
  self->state.awaiting.add(sequence, promise);
  settle_awaiting(self);
  return promise;
}

// -- status and timers --------------------------------------------------------------------------

caf::result<emergency_status> on_status(self_pointer self) {
  auto& st = self->state;
  auto status = status_of(*st.data);
  if (!st.risk_monitor)
    return status;
  auto rp = self->make_response_promise<emergency_status>();
  self->request(st.risk_monitor, std::chrono::seconds(1), limits_atom::value)
      .then(
          [rp, status](std::vector<limit_status>& limits) mutable {
            status.limits = std::move(limits);
            rp.deliver(status);
          },
          [rp, status](caf::error&) mutable { rp.deliver(status); });
  return rp;
}

void on_persist(self_pointer self, uint64_t sequence) {
  auto& d = *self->state.data;
  if (d.current.sequence == sequence && !d.persisted)
    persist(self);
}

void on_grace(self_pointer self, uint64_t sequence) {
  if (self->state.data->current.sequence == sequence)
    maybe_shut_down(self);
}

// -- the two phases -----------------------------------------------------------------------------

// While the persisted level is read (at start, until apply_restored): nothing trades, raises
// wait for the level in force, resumes and peers' levels are refused.
behavior restoring(self_pointer self) {
  return {
      [self](raise_atom, emergency_level level, std::string& reason, change_source source) {
        return on_raise_while_restoring(self, level, reason, source);
      },
      [self](resume_atom, emergency_level level, std::string& reason, change_source source) {
        return on_resume_while_restoring(self, level, reason, source);
      },
      [](peer_change_atom, level_change&) { return on_peer_change_while_restoring(); },
      [self](isolation_atom, bool isolated, std::string& reason) {
        on_isolation_while_restoring(self, isolated, reason);
      },
      [self](register_bot_atom, caf::actor& bot) { return on_register_while_restoring(self, bot); },
      [self](emergency_ack_atom, uint64_t sequence) { on_ack(self, sequence); },
      [self](await_ack_atom, uint64_t sequence) { return on_await_ack(self, sequence); },
      [self](status_atom) { return on_status(self); },
      [self](restore_atom) { restore(self); },
      [self](persist_atom, uint64_t sequence) { on_persist(self, sequence); },
      [self](grace_atom, uint64_t sequence) { on_grace(self, sequence); },
  };
}

behavior running(self_pointer self) {
  return {
      [self](raise_atom, emergency_level level, std::string& reason, change_source source) {
        return on_raise(self, level, reason, source);
      },
      [self](resume_atom, emergency_level level, std::string& reason, change_source source) {
        return on_resume(self, level, reason, source);
      },
      [self](peer_change_atom, level_change& incoming) { return on_peer_change(self, incoming); },
      [self](isolation_atom, bool isolated, std::string& reason) {
        on_isolation(self, isolated, reason);
      },
      [self](register_bot_atom, caf::actor& bot) { return on_register(self, bot); },
      [self](emergency_ack_atom, uint64_t sequence) { on_ack(self, sequence); },
      [self](await_ack_atom, uint64_t sequence) { return on_await_ack(self, sequence); },
      [self](status_atom) { return on_status(self); },
      // Sent only by a failed read of the persisted level, which ends before this phase begins.
      [](restore_atom) {},
      [self](persist_atom, uint64_t sequence) { on_persist(self, sequence); },
      [self](grace_atom, uint64_t sequence) { on_grace(self, sequence); },
  };
}

behavior emergency_controller(self_pointer self, std::shared_ptr<emergency_data> data,
                              emergency_options options, state_store_actor store,
                              event_bus_actor bus, caf::actor risk_monitor) {
  exit_with_exception_text(self);
  auto& fresh = self->state;
  fresh.data = std::move(data);
  fresh.options = std::move(options);
  fresh.store = std::move(store);
  fresh.bus = std::move(bus);
  fresh.risk_monitor = std::move(risk_monitor);
  // Taking over from a crashed incarnation: watch the bots again.
  for (const auto& [address, bot] : fresh.data->bots.all())
    self->monitor(bot);
  self->set_down_handler([self](caf::down_msg& down) {
    self->state.data->bots.remove(down.source);
    acknowledged(self, down.source); // a dead bot acknowledges nothing, and holds up nobody
  });
  if (fresh.data->restored)
    return running(self);
  restore(self);
  return restoring(self);
}

} // namespace

} // namespace emergency

emergency_actor spawn_emergency_controller(caf::actor_system& sys,
                                           std::shared_ptr<emergency_data> data,
                                           emergency_options options, state_store_actor store,
                                           event_bus_actor bus, caf::actor risk_monitor) {
  // Detached: the kill switch has a thread of its own, so a HALT never waits for a scheduler
  // worker busy with the bots' work, and its sends to thousands of bots are spread over the
  // workers instead of piling into one worker's queue (10,000 bots: 120 ms on a worker, 18 ms
  // detached, on the 2-core machine; bench halt-broadcast).
  return caf::actor_cast<emergency_actor>(
      sys.spawn<caf::detached>(emergency::emergency_controller, std::move(data), std::move(options),
                               std::move(store), std::move(bus), std::move(risk_monitor)));
}

} // namespace brokedancer
