#pragma once

// The infrastructure actors, declared as supervised children from the configuration. The
// choice of backend is made here, once.

#include <functional>
#include <memory>

#include <caf/actor.hpp>

#include "actors/bots/bot.hpp"
#include "actors/redis/redis_connection.hpp"
#include "actors/supervision/supervisor.hpp"
#include "actors/workflow/node_call.hpp"
#include "core/event_fanout.hpp"
#include "core/node_identity.hpp"
#include "messages/bot.hpp"
#include "messages/emergency.hpp"
#include "messages/order_metrics.hpp"
#include "messages/workflow.hpp"
#include "runtime/config.hpp"

namespace brokedancer {

// How this node's connections reach Redis (redis.*).
redis_connection_options connection_options(const runtime_config& config);
// Whether any service of the node keeps its data on Redis.
bool uses_redis(const runtime_config& config);

// The workflow executor: runs `workflows` (validated against `nodes`' types) on their
// triggers; no child when there are none.
child_spec
workflow_executor_child(const runtime_config& config,
                        std::vector<std::shared_ptr<const workflow_definition>> workflows,
                        std::shared_ptr<const node_registry> nodes);

// The state store: memory (data outlives each incarnation) or Redis, per state.backend.
child_spec state_store_child(const runtime_config& config);

// The event bus, memory or Redis, per bus.backend (subscriptions outlive each incarnation).
child_spec event_bus_child(const runtime_config& config);

// The rate limiter: memory or Redis, per limiter.backend ("auto": the state store's). The
// memory backend's table outlives each incarnation.
child_spec rate_limiter_child(const runtime_config& config);

// The market-data stream: memory or Redis Streams, per streams.backend ("auto": the state
// store's). The memory backend's streams and live subscribers outlive each incarnation.
child_spec market_stream_child(const runtime_config& config);

// The time-series store (points and bars): memory or Redis sorted sets, per timeseries.backend
// ("auto": the state store's). The memory backend's series outlive each incarnation.
child_spec time_series_child(const runtime_config& config);

// The standard channels on Redis pub/sub (channels.backend, "auto": the state store's), with
// the sibling "event_bus"; an empty spec name on the memory backend (the bus is the channel).
child_spec channels_child(const runtime_config& config);

// The system watch: every service's health on trading.system, and the heartbeat, with the
// siblings "event_bus", "emergency" and whichever services the tree has.
child_spec system_watch_child(const runtime_config& config);

// The bar service: bars of market.stream's ticks in bars.timeframes, written to the sibling
// "time_series", read from the sibling "market_stream"; an empty spec name when either setting
// is empty.
child_spec bar_service_child(const runtime_config& config);

// The breaker registry: one circuit breaker and adapter per resilience.endpoints entry, each
// started on first use; transitions are published on the sibling "event_bus", breakers stop
// retrying from HALT up as the sibling "emergency" says, and spend their endpoint's request
// budget through the sibling "rate_limiter" (each when there is one).
child_spec breakers_child(const runtime_config& config);

// The risk monitor: every order's way to an endpoint, with the siblings "state_store",
// "event_bus", "emergency" and "breakers".
// `metrics` (may be null) counts the orders for /metrics; it outlives the monitor's restarts.
child_spec risk_monitor_child(const runtime_config& config,
                              std::shared_ptr<order_metrics> metrics = nullptr);
// The operator API's view of the bus (actors/api/event_relay.hpp), feeding `fanout`'s clients.
child_spec event_relay_child(const runtime_config& config, std::shared_ptr<event_fanout> fanout);

// The emergency controller, with the sibling "state_store" (where the level is persisted),
// "event_bus" and, when present, "risk_monitor". `on_shutdown` is called once a SHUTDOWN has
// been acknowledged by every bot or its grace ran out.
child_spec emergency_child(const runtime_config& config,
                           std::function<void(const level_change&)> on_shutdown);

// The scope controller (scoped halts), with the sibling "state_store" (where the scopes are
// persisted), and "event_bus" and "emergency" when present. Between the emergency controller
// and the risk monitor: the monitor, the bots and the cluster watch it.
child_spec scope_child(const runtime_config& config);

// The simulated market (market.*), with the sibling "event_bus"; nullopt-like: an empty spec
// name when market.symbols is empty.
child_spec market_child(const runtime_config& config);

// Operator control (node.control_port), with the siblings "emergency", "bots", "breakers".
child_spec control_child(const runtime_config& config);

// The node's link to its cluster (node.listen / node.peers); the runtime publishes it.
// The cluster actor; peers reach it through `front` (actors/node/front_door.hpp), and it proves its
// name to them with `identity` (null without TLS).
child_spec cluster_child(const runtime_config& config, caf::actor front,
                         std::shared_ptr<const node_identity> identity);

// The bots the configuration asks for (bots.*): bot-1 .. bot-<count>, their symbols dealt out
// in turn, "mixed" alternating momentum and mean_reversion.
std::vector<bot_config> configured_bots(const runtime_config& config);

// The bot supervisor, spawning `bots` from `strategies`, with the siblings "state_store",
// "event_bus", "emergency", "risk_monitor" and, when there is one, "market".
child_spec bot_supervisor_child(const runtime_config& config, strategy_catalog strategies,
                                std::vector<bot_config> bots);

} // namespace brokedancer
