#pragma once

// The scope controller: the node's scoped halts (messages/halt_scope.hpp has the contract). A
// sibling of the emergency controller, which keeps the node's own level: a scope narrows the kill
// switch to a bot, a strategy, a symbol or an endpoint, and the node's level applies on top.
//
// Its rules mirror the emergency controller's:
// - A raise takes effect at once, for every bot it covers and every watcher (the risk monitor,
//   the cluster), and is persisted in parallel, retried until the store has it.
// - A lowering (an operator's resume of a scope) takes effect only once persisted.
// - Until the stored tables have been read, watchers get an error (the risk monitor refuses
//   orders meanwhile); a stored table that cannot be read halts the node (through the
//   emergency controller), since what it halted is unknown.
// - A bot is told only when what covers it changes, and acknowledges; the table, the bots and
//   the watchers outlive an incarnation of the actor.

#include <chrono>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "messages/emergency.hpp"
#include "messages/event_bus.hpp"
#include "messages/halt_scope.hpp"
#include "messages/state_store.hpp"

namespace brokedancer {

struct scope_options {
  std::string node_name;
  // Each node's table is stored under <key_prefix><node>; all of them are read at start.
  std::string key_prefix = "emergency:scopes:";
};

struct scope_data;
std::shared_ptr<scope_data> make_scope_data();

scope_actor spawn_scope_controller(caf::actor_system& sys, std::shared_ptr<scope_data> data,
                                   scope_options options, state_store_actor store,
                                   event_bus_actor bus, emergency_actor emergency);

} // namespace brokedancer
