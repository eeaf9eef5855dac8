#pragma once

// The order path's contract. Bots submit orders to the risk monitor, never to an endpoint: the
// monitor checks each one against the emergency level and the risk limits, passes it through
// the endpoint's circuit breaker, books the fill (positions, P&L, drawdown, trade count), and
// answers with an order_result.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/correlation.hpp"
#include "messages/emergency.hpp"
#include "messages/event_bus.hpp"

namespace brokedancer {

enum class order_side : uint8_t { buy, sell };

std::string to_string(order_side side);

struct order {
  std::string bot_id;
  std::string symbol;
  order_side side = order_side::buy;
  double quantity = 0;         // > 0, in units of the symbol
  double price = 0;            // > 0: the limit price, and what the notional is reckoned at
  std::string client_order_id; // unique per order; kept across retries
  correlation_id correlation;
  // The fencing token of the bot's ownership lease (0: the bot holds none, as on the memory
  // backend): the exchange refuses an order whose fence is lower than one it has seen for the
  // bot, so a node that lost the bot cannot trade it.
  uint64_t fence = 0;
  // The endpoint the order goes to: empty for the node's own (risk.endpoint), else one of
  // risk.venues. A venue's positions are booked apart from the same symbol's elsewhere (see
  // book_symbol in actors/risk/risk_book.hpp): what is held on one exchange is not closed by
  // what is held on another.
  std::string venue{};
  // The strategy of the bot that sent it (empty for others): what a strategy's scoped halt
  // covers (messages/halt_scope.hpp).
  std::string strategy{};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order& x) {
  return f(caf::meta::type_name("order"), x.bot_id, x.symbol, x.side, x.quantity, x.price,
           x.client_order_id, x.correlation, x.fence, x.venue, x.strategy);
}

// What became of an order (or a cancel).
enum class order_outcome : uint8_t {
  filled,
  // An immediate-or-cancel order the exchange could not match (code not_marketable).
  expired,
  // Refused by the risk monitor, or the exchange refused it (exchange_rejected): see the code.
  rejected,
  // The endpoint could not be reached or answered with nothing usable: the outcome is unknown,
  // the order may have been executed (breaker_open, endpoint_timeout, ...).
  failed,
  // For a cancel: the exchange will not execute the order.
  cancelled,
  // For a cancel: the order was executed already.
  not_open,
  // The endpoint took the order but answered with no fill the book can take (see sane_fill):
  // nothing is booked, and the order may have been executed.
  accepted,
};

std::string to_string(order_outcome outcome);
bool from_string(const std::string& text, order_outcome& outcome);

// A value read off the wire may be any byte: only these are outcomes.
constexpr bool is_valid(order_outcome outcome) {
  return outcome <= order_outcome::accepted;
}

// Why an order was not filled (or a cancel failed). The names are stable: operators see them
// as the keys of a bot's rejections and in the reason texts, which start with them.
enum class reject_code : uint8_t {
  none, // filled, cancelled, not_open
  // Refused by the risk monitor before it reached the endpoint.
  halted,             // the emergency level is HALT or above (or the bot held it back)
  level_unknown,      // the emergency level has not been heard yet
  risk_state_loading, // the risk book has not been read yet
  invalid_order,
  max_order_notional,
  max_position_size,
  max_total_position,
  max_trades_per_hour,
  max_daily_loss,
  max_drawdown_percent,
  // Answered by the exchange.
  exchange_rejected, // refused, or an answer that was not a success
  not_marketable,    // expired: the immediate-or-cancel order found no match
  // The call to the endpoint failed: the errc of the same name (see messages/errors.hpp).
  breaker_open,
  endpoint_timeout,
  endpoint_unreachable,
  unknown_endpoint,
  endpoint_overloaded,
  trading_halted,
  subsystem_unavailable,
  shutting_down,
  call_failed, // any other error (CAF's own: a request timed out, its receiver was down)
  // The order could not be written to the order journal, so it was not sent.
  journal_unavailable,
  // The node is reconciling its journal with the exchange after a restart.
  reconciling,
  // Another node owns the bot now (its lease was lost), or the exchange saw a newer owner.
  not_owner,
  // A request budget was spent: the endpoint's published rate limit, or the bot's order cap.
  rate_limited,
  // Refused by the risk monitor (kept after the older codes: the values are counted by code).
  // The level is REDUCE_ONLY and the order would open, grow or flip a position.
  reduce_only,
  // The node's or the bot's order throttle (risk.throttle_*) is spent for this interval: not a
  // breach, the level does not move.
  throttled,
};

constexpr reject_code last_reject_code = reject_code::throttled;

std::string to_string(reject_code code);
// The name as a literal, for code that must not allocate (the limits on the order path).
const char* name_of(reject_code code);
bool from_string(const std::string& text, reject_code& code);

constexpr bool is_valid(reject_code code) {
  return code <= last_reject_code;
}

// The code of a failed call: the project's errors that a call to an endpoint (or to the risk
// monitor) ends with keep their name, every other error is call_failed.
reject_code reject_code_of(const caf::error& err);

struct order_result {
  std::string client_order_id;
  order_outcome outcome = order_outcome::failed;
  reject_code code = reject_code::none; // none when filled, cancelled or not_open
  // For a person: the code's name first ("max_position_size: 12000.00 in BTC over 10000.00"),
  // the exchange's own words, or the rendered error of a failed call.
  std::string reason;
  double filled_quantity = 0;
  double fill_price = 0;
  double fee = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_result& x) {
  return f(caf::meta::type_name("order_result"), x.client_order_id, x.outcome, x.code, x.reason,
           x.filled_quantity, x.fill_price, x.fee);
}

// Whether a result from elsewhere holds an outcome and a code this build knows.
bool is_valid(const order_result& result);

// Whether an exchange's answer describes a fill the book can take: every number finite, a
// positive quantity no larger than ordered, a positive price, and a fee no larger than the
// notional. The exchange's word is outside input: a fill whose notional is not finite once
// made equity NaN, which switched every loss limit off.
bool sane_fill(double ordered_quantity, double filled_quantity, double fill_price, double fee);

struct position_status {
  std::string symbol;
  double quantity = 0; // signed: negative is short
  double average_price = 0;
  double mark_price = 0;
  double unrealized_pnl = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, position_status& x) {
  return f(caf::meta::type_name("position_status"), x.symbol, x.quantity, x.average_price,
           x.mark_price, x.unrealized_pnl);
}

struct risk_status {
  emergency_level level = emergency_level::halt; // as the monitor last heard it
  bool loaded = false;                           // its persisted state has been read
  double equity = 0;
  double peak_equity = 0;
  double realized_pnl = 0;
  double unrealized_pnl = 0;
  double daily_pnl = 0;
  std::string trading_day; // YYYY-MM-DD, rolling over at risk.daily_reset_utc
  std::vector<position_status> positions;
  std::vector<limit_status> limits;
  uint64_t orders_filled = 0;
  uint64_t orders_rejected = 0;
  uint64_t orders_failed = 0;
  // The book's own count of fills, across restarts.
  uint64_t book_fills = 0;
  // The order journal: orders sent whose outcome is not booked yet, orders whose outcome the
  // endpoint has not told (failed calls, asked again in the background), and what the last
  // reconciliation (at start, or in the background) found.
  bool reconciled = false; // at start: the journal has been reconciled, orders may go
  uint64_t journal_open = 0;
  uint64_t outcome_unknown = 0;
  uint64_t reconciled_orders = 0;
  uint64_t reconciled_fills = 0;
  std::string reconcile_problem; // why the endpoint could not answer yet; empty when it did
  // Flattens (brokedancer flatten, or a limit's flatten policy) since the monitor started, and
  // the positions their closing orders closed.
  uint64_t flattens = 0;
  uint64_t positions_flattened = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, risk_status& x) {
  return f(caf::meta::type_name("risk_status"), x.level, x.loaded, x.equity, x.peak_equity,
           x.realized_pnl, x.unrealized_pnl, x.daily_pnl, x.trading_day, x.positions, x.limits,
           x.orders_filled, x.orders_rejected, x.orders_failed, x.book_fills, x.reconciled,
           x.journal_open, x.outcome_unknown, x.reconciled_orders, x.reconciled_fills,
           x.reconcile_problem, x.flattens, x.positions_flattened);
}

// One closing order of a flatten: the position it closed (a book symbol, "<symbol>@<venue>" on
// a venue), how much it sold or bought, and its outcome.
struct position_close {
  std::string symbol;
  order_side side = order_side::sell;
  double quantity = 0;
  order_result result;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, position_close& x) {
  return f(caf::meta::type_name("position_close"), x.symbol, x.side, x.quantity, x.result);
}

// What a flatten did: each close, and what is still open afterwards of what it was asked to
// close (empty when everything was closed).
struct flatten_report {
  std::vector<position_close> closes;
  std::vector<position_status> left;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, flatten_report& x) {
  return f(caf::meta::type_name("flatten_report"), x.closes, x.left);
}

using submit_order_atom = caf::atom_constant<caf::atom("submit")>;
using flatten_atom = caf::atom_constant<caf::atom("flatten")>;
using announce_fence_atom = caf::atom_constant<caf::atom("fence")>;
using cancel_order_atom = caf::atom_constant<caf::atom("cancel")>;

using risk_monitor_actor =
    caf::typed_actor<caf::replies_to<submit_order_atom, order>::with<order_result>,
                     // Cancels an order by its client order id; passes at every level.
                     caf::replies_to<cancel_order_atom, std::string>::with<order_result>,
                     // The same, with whether it is the kill switch's (a HALT's, a scope's, a
                     // cancel-all's): those take risk off and are never throttled.
                     caf::replies_to<cancel_order_atom, std::string, bool>::with<order_result>,
                     // (bot id, fence): tells the exchange a bot's new owner's fence before
                     // the bot trades, so that orders of a node that lost it are refused at
                     // once; true when the exchange took it.
                     caf::replies_to<announce_fence_atom, std::string, uint64_t>::with<bool>,
                     // (symbol, reason): closes the node's positions in `symbol` (every venue's;
                     // empty: all) with reduce-only orders through the breakers, at every level
                     // below SHUTDOWN, and reports each close once all have their answer.
                     caf::replies_to<flatten_atom, std::string, std::string>::with<flatten_report>,
                     // The emergency controller's broadcast: the monitor is registered like a bot.
                     caf::reacts_to<level_change>,
                     // Market data from the bus (market.<symbol>), marking positions to market.
                     caf::reacts_to<event>,
                     caf::replies_to<limits_atom>::with<std::vector<limit_status>>,
                     caf::replies_to<status_atom>::with<risk_status>>;

} // namespace brokedancer
