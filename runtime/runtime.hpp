#pragma once

// One brokedancer node: an actor system, the root supervisor and the infrastructure actors
// under it. A user's own program can build one from a runtime_config, add its own supervised
// actors, and run it; `brokedancer run` does exactly that.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/supervisor.hpp"
#include "messages/emergency.hpp"
#include "messages/event_bus.hpp"
#include "messages/resilience.hpp"
#include "messages/risk.hpp"
#include "messages/state_store.hpp"
#include "runtime/config.hpp"

namespace brokedancer {

// Blocks SIGINT and SIGTERM in the calling thread and so in every thread it starts afterwards,
// so that runtime::run can take them synchronously. Call it first thing in main, before any
// thread exists.
void block_termination_signals();

enum class stop_reason {
  duration_elapsed,   // run(duration) ran its course
  requested,          // stop() was called
  signal,             // SIGINT or SIGTERM
  escalated,          // the root supervisor exceeded its restart intensity
  emergency_shutdown, // the emergency level reached SHUTDOWN and the bots were told
};

struct run_result {
  stop_reason reason = stop_reason::requested;
  std::string detail;
  int exit_code = 0;
};

class runtime {
public:
  // Configures logging, starts the actor system and the supervision tree: the infrastructure
  // actors, then `extra_children` (a user's own actors) in that order. Throws
  // std::runtime_error when the tree cannot be started.
  explicit runtime(runtime_config config, std::vector<child_spec> extra_children = {});
  ~runtime();

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  // Blocks until `duration` (if any) has passed, stop() is called, a termination signal
  // arrives (when watch_signals is set; see block_termination_signals), or the supervision tree
  // escalates. Then stops every actor and returns why.
  run_result run(std::optional<std::chrono::milliseconds> duration, bool watch_signals);

  // Asks run() to return. Thread-safe, and safe to call from an actor.
  void stop();

  caf::actor_system& system();
  const runtime_config& config() const;
  // The state store (stable across restarts of the store actor).
  state_store_actor state_store() const;
  // The event bus (stable across restarts of the bus actor).
  event_bus_actor event_bus() const;
  // The breaker registry: calls to the configured endpoints, through their circuit breakers.
  breaker_registry_actor breakers() const;
  // The emergency controller: the node's kill switch.
  emergency_actor emergency() const;
  // The risk monitor: where orders go (never straight to an endpoint).
  risk_monitor_actor risk_monitor() const;
  // The stable handle of a supervised actor, by name; empty when there is none.
  caf::actor child(const std::string& name) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace brokedancer
