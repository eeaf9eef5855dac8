#pragma once

// The risk monitor: the only way an order reaches an endpoint. For each order it checks the
// emergency level (it is registered with the controller like a bot) and the limits, passes the
// order through the endpoint's circuit breaker, and books the fill. Market events mark the
// positions; a breached limit is published on trading.alerts and, with auto_halt, raises HALT;
// crossing warning_percent of a limit raises ALERT.
//
// Its book (positions, realized P&L, the day's starting equity, peak equity, the last hour's
// trades) is persisted through the state store after every fill, so a restart does not reset
// the daily loss. Until the book has been read, orders are refused (risk_state_loading); a book
// that cannot be read raises HALT.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/risk/risk_book.hpp"
#include "actors/risk/risk_options.hpp"
#include "messages/emergency.hpp"
#include "messages/event_bus.hpp"
#include "messages/halt_scope.hpp"
#include "messages/order_metrics.hpp"
#include "messages/resilience.hpp"
#include "messages/risk.hpp"
#include "messages/state_store.hpp"

namespace brokedancer {

risk_monitor_actor spawn_risk_monitor(caf::actor_system& sys, risk_options options,
                                      state_store_actor store, event_bus_actor bus,
                                      emergency_actor emergency, breaker_registry_actor breakers,
                                      std::shared_ptr<order_metrics> metrics = nullptr,
                                      scope_actor scopes = {});

} // namespace brokedancer
