#pragma once

// The emergency controller: the node's kill switch (messages/emergency.hpp has the contract).
//
// Fail-safe rules, in the order they matter:
// - A raise always takes effect, at once: if the state store cannot take it, it is broadcast
//   anyway and persisting is retried until it works (status says persisted: false meanwhile).
// - A resume takes effect only once it is persisted: if the store fails, the level stays.
// - Until the persisted level has been read at start, nothing trades (status: restored false),
//   and a persisted level that cannot be read is taken as HALT.
// - The registered bots and the level outlive an incarnation of the controller.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "messages/emergency.hpp"
#include "messages/event_bus.hpp"
#include "messages/state_store.hpp"

namespace brokedancer {

struct emergency_options {
  std::string node_name;
  std::string state_key = "emergency:level";
  // After a SHUTDOWN is broadcast: how long bots get to flatten and acknowledge.
  std::chrono::milliseconds shutdown_grace{10000};
  // Called once, after a SHUTDOWN has been acknowledged by every bot or the grace ran out:
  // the runtime stops the process.
  std::function<void(const level_change&)> on_shutdown;
};

// What survives a restart of the controller actor (the level also survives the process,
// through the state store).
struct emergency_data;
std::shared_ptr<emergency_data> make_emergency_data();

// `risk_monitor` (may be empty) answers (limits_atom) with std::vector<limit_status>, for status.
emergency_actor spawn_emergency_controller(caf::actor_system& sys,
                                           std::shared_ptr<emergency_data> data,
                                           emergency_options options, state_store_actor store,
                                           event_bus_actor bus, caf::actor risk_monitor);

} // namespace brokedancer
