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
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "messages/emergency.hpp"
#include "messages/event_bus.hpp"
#include "messages/resilience.hpp"
#include "messages/risk.hpp"
#include "messages/state_store.hpp"

namespace brokedancer {

struct risk_options {
  // 0 turns a limit off. Money is in the quote currency, positions as notional at the mark.
  double max_daily_loss = 0;
  double max_position_size = 0;  // per symbol
  double max_total_position = 0; // all symbols together
  double max_order_notional = 0;
  uint32_t max_trades_per_hour = 0; // sliding window of the last 60 minutes
  double max_drawdown_percent = 0;  // from the peak equity
  double warning_percent = 80;
  bool auto_halt = true;
  double starting_equity = 100000;
  int daily_reset_minute_utc = 0; // the trading day starts this many minutes after 00:00 UTC
  std::string endpoint = "exchange";
  std::string state_key = "risk:state";
  // Symbols whose market prices are marks even without a position (market and bot symbols).
  std::vector<std::string> symbols;
  double max_mark_jump_percent = 20; // see actors/risk/mark_filter.hpp; 0: off
};

risk_monitor_actor spawn_risk_monitor(caf::actor_system& sys, risk_options options,
                                      state_store_actor store, event_bus_actor bus,
                                      emergency_actor emergency, breaker_registry_actor breakers);

} // namespace brokedancer
