#pragma once

// The risk monitor's book as plain code: the node's positions at average cost (see
// position.hpp), its marks, realized P&L, the trading day's starting equity, the peak equity and
// the last hour's trades; the limits measured on them; and the pre-trade check. No actor and no
// clock: every rule that depends on time takes the time as an argument (microseconds since the
// Unix epoch), so that the rules are tested with explicit times.
//
// Its contract, where the risk monitor's and the bot host's books once disagreed:
//  - realized P&L is net of fees: each fill's fee is taken off it, so equity is what the account
//    holds (a bot's stats keep fees apart instead; both book positions with apply_fill);
//  - a position closed to zero leaves the book, and its mark with it unless the caller keeps it;
//  - a fill without a positive quantity and price changes nothing (no NaN average).

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/risk/position.hpp"
#include "actors/risk/risk_options.hpp"
#include "messages/emergency.hpp"
#include "messages/risk.hpp"

namespace brokedancer {

// Why an order may not go: its code, and the reason as a person reads it (the code's name
// first).
struct rejection {
  reject_code code = reject_code::none;
  std::string reason;
};

// A limit crossed by fills or marks since the day began: a step of its escalation reached (the
// level to raise), or a breach (all of it used), or both. Each step and the breach are reported
// at most once a trading day.
struct limit_crossing {
  limit_status limit;
  bool breached = false;
  emergency_level raise = emergency_level::normal; // NORMAL: no new step
};

// The level an escalation step raises.
emergency_level level_of(escalation_action action);

// Whether an order reduces a position of `held` (signed: negative is short) without flipping
// it: the other side, at most the quantity held. What REDUCE_ONLY lets through.
bool reduces_position(double held, order_side side, double quantity);

// "1234.50": money as reasons and alerts show it.
std::string money_text(double value);

// The trading day (YYYY-MM-DD) that `at_us` falls in, days starting `reset_minute_utc` minutes
// after 00:00 UTC.
std::string trading_day(int64_t at_us, int reset_minute_utc);

// invalid_order when an order lacks a symbol or a client order id, or a positive finite quantity
// and price, or when its symbol or venue holds '@' (see book_symbol); nothing when it is
// well-formed.
std::optional<rejection> malformed(const order& o);

// Where the book keeps the position an order changes: its symbol on the node's own endpoint,
// "<symbol>@<venue>" on another venue. A coin bought on one exchange and sold on another is two
// positions, not none: each is closed where it is held, and each counts against the limits.
// Marks are the market symbol's (one price for the asset, whichever venue holds it).
std::string book_symbol(const order& o);
// The symbol before '@' (the whole of a position on the node's own endpoint).
std::string market_symbol(const std::string& book_symbol);
// The venue after '@'; empty on the node's own endpoint.
std::string venue_of(const std::string& book_symbol);

class risk_book {
public:
  explicit risk_book(risk_limits limits = {});

  // --- booking ---

  // Books a fill at average cost (see apply_fill) under `symbol`, a book symbol; its fee comes
  // off realized P&L. The fill's price becomes its market symbol's mark.
  void book_fill(const std::string& symbol, order_side side, double quantity, double price,
                 double fee);
  void set_mark(const std::string& symbol, double price);
  void forget_mark(const std::string& symbol);
  // The mark of a book symbol's market symbol, or `fallback` when it has none.
  double mark(const std::string& symbol, double fallback) const;
  // Whether a position in the market symbol `symbol` is held, on any venue.
  bool holds(const std::string& symbol) const;
  const std::map<std::string, position>& positions() const {
    return positions_;
  }
  std::vector<position_status> position_statuses() const;
  size_t mark_count() const {
    return marks_.size();
  }

  // --- figures ---

  double realized_pnl() const {
    return realized_;
  }
  // Fills booked since the book began (persisted: it goes on across restarts).
  uint64_t fills() const {
    return fills_;
  }
  double unrealized_pnl() const;
  double equity() const;
  double peak_equity() const {
    return peak_equity_;
  }
  double day_start_equity() const {
    return day_start_equity_;
  }
  const std::string& day() const {
    return day_;
  }
  // Notional at the mark (at the average price without one).
  double exposure(const std::string& symbol) const;
  double total_exposure() const;

  // --- time ---

  // With no book stored (or one that cannot be read): the day and the peak start at the
  // starting equity.
  void start_afresh();
  // Begins a new trading day when `now_us` is past the book's: the daily loss is measured from
  // the equity now, and every limit may warn and breach again. True when it did.
  bool roll_day(int64_t now_us);

  // --- limits ---

  // Every limit as it stands at `now_us`, in the order operators see them.
  std::vector<limit_status> limits(int64_t now_us) const;
  // After every fill and mark: raises the peak equity, and returns the limits that crossed their
  // warning or breach threshold since the day began and were not reported yet. The order
  // notional and the trade count are checked before each order instead.
  std::vector<limit_crossing> evaluate();
  // The pre-trade check of a well-formed order at `now_us` against the limits, on a book whose
  // day is current (roll_day first): nothing when it may go. An order that reduces a position
  // passes the position limits, and is the only kind that passes a reached daily loss or
  // drawdown. Drops trades older than an hour.
  std::optional<rejection> check(const order& o, int64_t now_us);
  // The check REDUCE_ONLY adds: nothing when `o` reduces its book symbol's position without
  // flipping it, else why not (reduce_only). `pending_buys` and `pending_sells`: what orders
  // still out buy and sell in that symbol; those that reduce count as filled already.
  std::optional<rejection> check_reduce_only(const order& o, double pending_buys = 0,
                                             double pending_sells = 0) const;
  // The signed quantity held of a book symbol (0: none).
  double held(const std::string& book_symbol) const;
  // Counts an order that passed the check into the trades-per-hour window (kept only when that
  // limit is on; then it holds at most the limit).
  void count_trade(int64_t now_us);
  size_t trades_in_window() const {
    return trades_.size();
  }

  // --- the persisted form (version 1) ---

  nlohmann::json to_json() const;
  // Replaces the persisted part of the book by `text`; on failure leaves the book as it was and
  // says why. What the store gives back is outside input: non-finite totals, positions with a
  // non-finite quantity or a negative average, and fields of the wrong type are refused; marks
  // that are not positive and finite are dropped.
  bool from_json(const std::string& text, std::string& why);

private:
  // A limit that fills and marks can breach, as it stands. Plain numbers and a literal name: the
  // order path reads these twice per order (before it and after its fill).
  struct reading {
    reject_code code;
    double limit;
    double current;

    double utilization() const {
      return limit > 0 ? current / limit * 100 : 0;
    }
    limit_status status() const {
      return {name_of(code), limit, current, utilization()};
    }
  };
  enum reading_index { daily_loss, position_size, total_position, drawdown };
  std::array<reading, 4> readings() const;
  size_t trades_since(int64_t since_us) const;

  risk_limits limits_;
  // Persisted.
  std::map<std::string, position> positions_;
  std::map<std::string, double> marks_;
  double realized_ = 0;
  double day_start_equity_ = 0;
  double peak_equity_ = 0;
  std::string day_;
  std::deque<int64_t> trades_; // microseconds since the epoch, the last hour
  uint64_t fills_ = 0;
  // risk.escalation, or ALERT at warning_percent and HALT at 100 when none is configured.
  std::vector<escalation_step> steps_;
  // Not persisted: the steps each limit has reached and the limits that breached this trading
  // day (a restart reports them once more).
  std::map<reject_code, size_t> reached_;
  std::set<reject_code> breached_;
};

} // namespace brokedancer
