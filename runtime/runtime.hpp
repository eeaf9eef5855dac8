#pragma once

// One brokedancer node: an actor system, the root supervisor and the infrastructure actors
// under it. A user's own program can build one from a runtime_config, add its own supervised
// actors, and run it; `brokedancer run` does exactly that.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/bots/bot.hpp"
#include "actors/supervision/supervisor.hpp"
#include "actors/workflow/node_call.hpp"
#include "messages/bot.hpp"
#include "messages/emergency.hpp"
#include "messages/event_bus.hpp"
#include "messages/halt_scope.hpp"
#include "messages/market.hpp"
#include "messages/market_stream.hpp"
#include "messages/rate_limiter.hpp"
#include "messages/resilience.hpp"
#include "messages/risk.hpp"
#include "messages/state_store.hpp"
#include "messages/time_series.hpp"
#include "runtime/config.hpp"

namespace brokedancer {

// Blocks SIGINT and SIGTERM in the calling thread and so in every thread it starts afterwards,
// so that runtime::run can take them synchronously. Call it first thing in main, before any
// thread exists.
void block_termination_signals();

enum class stop_reason {
  duration_elapsed,   // run(duration) ran its course (a graceful SHUTDOWN)
  requested,          // stop() was called
  signal,             // SIGINT or SIGTERM (a graceful SHUTDOWN)
  escalated,          // the root supervisor exceeded its restart intensity
  emergency_shutdown, // the emergency level reached SHUTDOWN and the bots were told
};

struct run_result {
  stop_reason reason = stop_reason::requested;
  std::string detail;
  int exit_code = 0;
};

struct runtime_options {
  // A user's own supervised actors, started after the infrastructure, before the bots.
  std::vector<child_spec> extra_children;
  // Strategies bots can be spawned from, by name, besides the built-in "momentum" and
  // "mean_reversion" (strategies/); one of the same name replaces the built-in.
  strategy_catalog strategies;
  // Bots spawned at start, besides the bots.count the configuration asks for.
  std::vector<bot_config> bots;
  // The node types the configuration's workflows (workflows.files) may use; none: the
  // built-in ones (node_registry::with_builtins, to which a program adds its own).
  std::shared_ptr<const node_registry> workflow_nodes;
  // The risk monitor counts every order's outcome and latency for /metrics (off only to
  // measure what counting costs: the benchmark's same-run baseline).
  bool count_orders = true;
};

class runtime {
public:
  // Configures logging, starts the actor system and the supervision tree: the infrastructure
  // actors (state store, event bus, breakers, emergency controller, risk monitor, market), the
  // user's children, then the bot supervisor with its bots. Throws config_error when the
  // configuration asks for bots of a strategy that is not in the catalog, std::runtime_error
  // when the tree cannot be started.
  runtime(runtime_config config, runtime_options options);
  explicit runtime(runtime_config config, std::vector<child_spec> extra_children = {});
  ~runtime();

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  // Blocks until `duration` (if any) has passed, stop() is called, a termination signal
  // arrives (when watch_signals is set; see block_termination_signals), the emergency level
  // reaches SHUTDOWN, or the supervision tree escalates. Then stops every actor and returns why.
  // The end of the duration and a signal are a graceful stop: a SHUTDOWN with source `stop`
  // (bots cancel, the risk monitor closes the positions and persists its book, every bot
  // acknowledges), then exit code 0. A second signal stops at once.
  run_result run(std::optional<std::chrono::milliseconds> duration, bool watch_signals);

  // Calls `fn` from run()'s thread about every `interval` while it runs (a status line, say).
  void every(std::chrono::milliseconds interval, std::function<void()> fn);
  // Calls `fn` from run()'s thread once it knows why it stops, before it stops the actors:
  // the place to ask them for a final report.
  void before_stop(std::function<void(const run_result&)> fn);

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
  // The rate limiter: request budgets (shared by every node on Redis).
  rate_limiter_actor rate_limiter() const;
  // The market-data stream (Redis Streams on Redis: shared by every node and any Redis client).
  market_stream_actor market_stream() const;
  // The time-series store: metric points and OHLCV bars (sorted sets on Redis).
  time_series_actor time_series() const;
  // The emergency controller: the node's kill switch.
  emergency_actor emergency() const;
  // The scoped halts: a bot, a strategy, a symbol or an endpoint (messages/halt_scope.hpp).
  scope_actor scopes() const;
  // The risk monitor: where orders go (never straight to an endpoint).
  risk_monitor_actor risk_monitor() const;
  // The bot supervisor: spawn, stop and inspect bots.
  bot_supervisor_actor bots() const;
  // The workflow executor (actors/workflow/workflow_executor.hpp); empty when the configuration
  // names no workflow.
  caf::actor workflows() const;
  // What a workflow execution started by hand uses of this node (the executor's own): its
  // store, bus, kill switch, risk monitor, time series, endpoints, and the configuration's
  // http_endpoints and venues.
  workflow_services services_for_workflows() const;
  // The simulated market; empty when market.symbols is empty.
  market_actor market() const;
  // The stable handle of a supervised actor, by name; empty when there is none.
  caf::actor child(const std::string& name) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace brokedancer
