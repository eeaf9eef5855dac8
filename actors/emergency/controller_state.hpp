#pragma once

// The emergency controller's state, and how a change of level takes effect: told to every bot
// at once, published, logged and persisted, and a SHUTDOWN ended once the bots have acted on it.
// Shared by the controller's two phases (emergency_controller.cpp): reading the persisted level
// at start, and running.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>

#include "actors/emergency/emergency_controller.hpp"
#include "actors/emergency/level_listeners.hpp"
#include "core/logging.hpp"

namespace brokedancer {

struct emergency_data {
  level_change current;
  bool restored = false;
  // A raise made before the persisted level was read: applied on top of it once it is.
  std::optional<level_change> deferred;
  bool persisted = false;
  bool shutdown_done = false;
  level_listeners bots;
  // The dead man's switch has tripped, and contact has not come back since.
  bool isolated = false;
};

namespace emergency {

// The controller's own timers: read the persisted level again, persist the level again, end a
// SHUTDOWN whose grace ran out.
using restore_atom = caf::atom_constant<caf::atom("restore")>;
using persist_atom = caf::atom_constant<caf::atom("persist")>;
using grace_atom = caf::atom_constant<caf::atom("grace")>;

using controller_actor =
    emergency_actor::extend<caf::reacts_to<restore_atom>, caf::reacts_to<persist_atom, uint64_t>,
                            caf::reacts_to<grace_atom, uint64_t>>;

struct controller_state {
  std::shared_ptr<emergency_data> data;
  emergency_options options;
  state_store_actor store;
  event_bus_actor bus;
  caf::actor risk_monitor;
  logger log{"emergency"};
  ack_waiters awaiting;
};

using self_pointer = controller_actor::stateful_pointer<controller_state>;

constexpr auto store_timeout = std::chrono::seconds(5);
constexpr auto persist_retry = std::chrono::milliseconds(500);

// Each node writes its level under a key of its own (no two nodes overwrite each other on a
// shared store), and reads every node's at start.
std::string own_key(const emergency_options& options);

// A change made on this node on top of the level in force, now.
level_change make_change(self_pointer self, emergency_level level, std::string reason,
                         change_source source);

// At once, whatever the store is doing: to every bot, on the bus, in the log.
void announce(self_pointer self, const level_change& change);

// Writes the current level to the store; retried until it works or a newer change replaces it.
void persist(self_pointer self);

// A raise: in force at once, persisted in parallel.
void apply_raise(self_pointer self, level_change change);

// `bot` has acted on the change being acknowledged (or is gone).
void acknowledged(self_pointer self, const caf::actor_addr& bot);

// Answers the await_ack requests that can be answered.
void settle_awaiting(self_pointer self);

// Stops the process once a SHUTDOWN has been acknowledged by every bot or its grace ran out.
void maybe_shut_down(self_pointer self);

emergency_status status_of(const emergency_data& d);

} // namespace emergency

} // namespace brokedancer
