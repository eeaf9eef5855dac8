#include "actors/emergency/controller_state.hpp"

#include <algorithm>

#include <caf/typed_event_based_actor.hpp>

#include "core/unix_time.hpp"

namespace brokedancer::emergency {

std::string own_key(const emergency_options& options) {
  return options.state_key + ":" + options.node_name;
}

void maybe_shut_down(self_pointer self) {
  auto& d = *self->state.data;
  if (d.current.level != emergency_level::shutdown || d.shutdown_done)
    return;
  d.shutdown_done = true;
  self->state.log.critical("SHUTDOWN acknowledged or its grace ran out; stopping the process",
                           {{"reason", d.current.reason},
                            {"acknowledged", d.bots.size() - d.bots.unacknowledged()},
                            {"bots", d.bots.size()}});
  if (self->state.options.on_shutdown)
    self->state.options.on_shutdown(d.current);
}

void settle_awaiting(self_pointer self) {
  auto& d = *self->state.data;
  self->state.awaiting.settle(d.current.sequence, d.bots);
}

void acknowledged(self_pointer self, const caf::actor_addr& bot) {
  auto& d = *self->state.data;
  if (!d.bots.acknowledge(bot))
    return;
  self->state.log.info("every bot acknowledged the level",
                       {{"level", to_string(d.current.level)},
                        {"sequence", d.current.sequence},
                        {"bots", d.bots.size()},
                        {"took_us", d.bots.last_broadcast_us()}});
  settle_awaiting(self);
  maybe_shut_down(self);
}

namespace {

void publish(self_pointer self, const level_change& change) {
  self->request(self->state.bus, store_timeout, publish_atom::value,
                std::string{"emergency.level_changed"}, encode_level_change(change),
                correlation_id{})
      .then([](uint64_t) {},
            [self](caf::error& err) {
              self->state.log.error("could not publish the level change on the bus",
                                    {{"error", self->system().render(err)}});
            });
}

} // namespace

// At once, whatever the store is doing: to every bot, on the bus, in the log.
void announce(self_pointer self, const level_change& change) {
  auto& st = self->state;
  auto& d = *st.data;
  d.bots.broadcast(change, self->ctrl(), self->context());
  settle_awaiting(self);
  if (st.bus)
    publish(self, change);
  logger::fields fields{
      {"level", to_string(change.level)}, {"previous", to_string(change.previous)},
      {"reason", change.reason},          {"source", to_string(change.source)},
      {"sequence", change.sequence},      {"bots", d.bots.size()},
      {"persisted", d.persisted}};
  if (change.level >= emergency_level::halt)
    st.log.critical("emergency level changed: trading stops", fields);
  else
    st.log.warn("emergency level changed", fields);
  if (change.level == emergency_level::shutdown) {
    self->delayed_send(self, st.options.shutdown_grace, grace_atom::value, change.sequence);
    if (d.bots.unacknowledged() == 0)
      maybe_shut_down(self);
  }
}

// -- persisting ---------------------------------------------------------------------------------

// Writes the current level to the store; retried until it works or a newer change replaces it.
void persist(self_pointer self) {
  auto& st = self->state;
  auto change = st.data->current;
  self->request(st.store, store_timeout, set_atom::value, own_key(st.options),
                encode_level_change(change), int64_t{0})
      .then(
          [self, sequence = change.sequence] {
            if (self->state.data->current.sequence == sequence)
              self->state.data->persisted = true;
          },
          [self, sequence = change.sequence](caf::error& err) {
            self->state.log.error("could not persist the emergency level; retrying",
                                  {{"error", self->system().render(err)}, {"sequence", sequence}});
            self->delayed_send(self, persist_retry, persist_atom::value, sequence);
          });
}

level_change make_change(self_pointer self, emergency_level level, std::string reason,
                         change_source source) {
  auto& d = *self->state.data;
  auto change = next_change(d.current, level, std::move(reason), source,
                            self->state.options.node_name, now_us());
  // The end of this process's run is this node's business, not the cluster's.
  change.local_only = source == change_source::stop;
  return change;
}

void apply_raise(self_pointer self, level_change change) {
  auto& d = *self->state.data;
  d.current = change;
  d.persisted = false;
  // The kill switch never waits: in force for every bot and peer at once, persisted in
  // parallel and retried until the store has it (status says "persisted": false meanwhile). A
  // store that hangs (Redis busy, a partition) once held a HALT back for up to 5 s.
  announce(self, change);
  persist(self);
}

emergency_status status_of(const emergency_data& d) {
  emergency_status s;
  s.current = d.current;
  s.restored = d.restored;
  s.persisted = d.persisted;
  s.trading_allowed = d.restored && trading_allowed(d.current.level);
  s.bots_registered = static_cast<uint32_t>(d.bots.size());
  s.bots_acknowledged = d.bots.acknowledged_of(d.current.sequence);
  s.last_broadcast_us = d.bots.last_broadcast_us();
  s.isolated = d.isolated;
  return s;
}

} // namespace brokedancer::emergency
