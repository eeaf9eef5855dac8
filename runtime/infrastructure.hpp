#pragma once

// The infrastructure actors, declared as supervised children from the configuration. The
// choice of backend is made here, once.

#include <functional>

#include "actors/supervisor.hpp"
#include "messages/emergency.hpp"
#include "runtime/config.hpp"

namespace brokedancer {

// The state store: memory (data outlives each incarnation) or Redis, per state.backend.
child_spec state_store_child(const runtime_config& config);

// The event bus, memory or Redis, per bus.backend (subscriptions outlive each incarnation).
child_spec event_bus_child(const runtime_config& config);

// The breaker registry: one circuit breaker and adapter per resilience.endpoints entry, each
// started on first use; transitions are published on the sibling "event_bus", and breakers stop
// retrying from HALT up as the sibling "emergency" says (each when there is one).
child_spec breakers_child(const runtime_config& config);

// The risk monitor: every order's way to an endpoint, with the siblings "state_store",
// "event_bus", "emergency" and "breakers".
child_spec risk_monitor_child(const runtime_config& config);

// The emergency controller, with the sibling "state_store" (where the level is persisted),
// "event_bus" and, when present, "risk_monitor". `on_shutdown` is called once a SHUTDOWN has
// been acknowledged by every bot or its grace ran out.
child_spec emergency_child(const runtime_config& config,
                           std::function<void(const level_change&)> on_shutdown);

} // namespace brokedancer
