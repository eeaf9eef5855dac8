#pragma once

// What the risk monitor is configured with: plain data, no CAF, so that the runtime's
// configuration holds it as its `risk` section and each setting's schema row binds straight to
// its field here (runtime/config_schema.cpp) -- a new limit is a field here, a row there, and
// the code that uses it.

#include <cstdint>
#include <string>
#include <vector>

namespace brokedancer {

// What a limit raises when it has used a share of itself (risk.escalation): an emergency level
// at or below HALT. Kept apart from emergency_level so that the configuration needs no CAF.
enum class escalation_action : uint8_t { alert, reduce_only, halt };

struct escalation_step {
  double percent = 0; // of the limit used
  escalation_action action = escalation_action::alert;
};

struct risk_limits {
  // 0 turns a limit off. Money is in the quote currency, positions as notional at the mark.
  double max_daily_loss = 0;
  double max_position_size = 0;  // per symbol
  double max_total_position = 0; // all symbols together
  double max_order_notional = 0;
  uint32_t max_trades_per_hour = 0; // sliding window of the last 60 minutes
  double max_drawdown_percent = 0;  // from the peak equity
  double warning_percent = 80;
  double starting_equity = 100000;
  int daily_reset_minute_utc = 0; // the trading day starts this many minutes after 00:00 UTC
  // The steps each of daily loss, position size, total position and drawdown raises as it is
  // used up, by rising percent and level. Empty: ALERT at warning_percent, then HALT at 100
  // (with auto_halt).
  std::vector<escalation_step> escalation;
};

// The limits, the starting equity and the day's start (see risk_book.hpp), and how the monitor
// acts on them.
struct risk_options : risk_limits {
  bool auto_halt = true;
  std::string endpoint = "exchange";
  // Other endpoints an order may name as its venue (order::venue), each through its own breaker;
  // an order to any other is refused (invalid_order).
  std::vector<std::string> venues;
  // The node's name: its book is node:<name>:risk:state, its journal node:<name>:journal, and
  // it is the account its orders carry to the exchange.
  std::string node_name = "node-1";
  // Orders are written to the journal before they leave the node, and reconciled with the
  // exchange after a restart (off only to measure what it costs).
  bool journal = true;
  // How long a start waits for the exchange to answer for unfinished orders before it halts
  // the node with the reason (it keeps trying; the bots do not trade until it has answered).
  int64_t reconcile_halt_after_ms = 10000;
  // Symbols whose market prices are marks even without a position (market and bot symbols).
  std::vector<std::string> symbols;
  double max_mark_jump_percent = 20; // see actors/risk/mark_filter.hpp; 0: off
  // Limits (by name: max_daily_loss, ...) whose breach closes every position of the node with
  // reduce-only orders, as `brokedancer flatten` does.
  std::vector<std::string> flatten_on;
  // Order throttles (actors/risk/order_throttle.hpp): submissions per bot and per node, and
  // cancels per node, in any throttle_window_ms; 0: none. Beyond them an order is refused with
  // `throttled` -- not a breach, the level does not move.
  uint32_t throttle_orders_per_bot = 0;
  uint32_t throttle_orders_per_node = 0;
  uint32_t throttle_cancels_per_node = 0;
  int64_t throttle_window_ms = 1000;
};

// Every endpoint orders may go to: `endpoint`, then the venues.
inline std::vector<std::string> order_endpoints(const risk_options& options) {
  std::vector<std::string> all{options.endpoint};
  all.insert(all.end(), options.venues.begin(), options.venues.end());
  return all;
}

} // namespace brokedancer
