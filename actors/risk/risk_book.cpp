#include "actors/risk/risk_book.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <stdexcept>

#include "core/json_text.hpp"
#include "core/plain_name.hpp"

namespace brokedancer {

namespace {

using json = nlohmann::json;

constexpr int64_t hour_us = int64_t{3600} * 1000000;
constexpr char venue_separator = '@';

} // namespace

std::string money_text(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.2f", value);
  return text;
}

namespace {

// A quantity as reasons show it: a coin's fraction is not rounded away.
std::string quantity_text(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.10g", value);
  return text;
}

} // namespace

emergency_level level_of(escalation_action action) {
  switch (action) {
    case escalation_action::alert: return emergency_level::alert;
    case escalation_action::reduce_only: return emergency_level::reduce_only;
    case escalation_action::halt: return emergency_level::halt;
  }
  return emergency_level::halt;
}

bool reduces_position(double held, order_side side, double quantity) {
  if (held == 0 || !(quantity > 0) || !std::isfinite(quantity))
    return false;
  bool opposite = (held > 0) == (side == order_side::sell);
  // A hair over what is held (the book's float) still closes it, and is no flip.
  return opposite && quantity <= std::abs(held) * (1 + 1e-9);
}

std::string trading_day(int64_t at_us, int reset_minute_utc) {
  auto t = static_cast<std::time_t>(at_us / 1000000) - reset_minute_utc * 60;
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[16];
  std::strftime(text, sizeof text, "%Y-%m-%d", &utc);
  return text;
}

std::optional<rejection> malformed(const order& o) {
  if (o.symbol.empty() || o.client_order_id.empty() || !std::isfinite(o.quantity)
      || !std::isfinite(o.price) || o.quantity <= 0 || o.price <= 0)
    return rejection{reject_code::invalid_order, "invalid_order: needs a symbol, a client order "
                                                 "id, and a positive quantity and price"};
  // '@' parts a book symbol: a symbol "BTC@b" on the node's endpoint would share the book's
  // position with BTC on venue b.
  if (o.symbol.find(venue_separator) != std::string::npos
      || o.venue.find(venue_separator) != std::string::npos)
    return rejection{reject_code::invalid_order, "invalid_order: a symbol or a venue holds no '@'"};
  return std::nullopt;
}

std::string book_symbol(const order& o) {
  return o.venue.empty() ? o.symbol : o.symbol + venue_separator + o.venue;
}

std::string market_symbol(const std::string& book_symbol) {
  return book_symbol.substr(0, book_symbol.find(venue_separator));
}

std::string venue_of(const std::string& book_symbol) {
  auto at = book_symbol.find(venue_separator);
  return at == std::string::npos ? std::string{} : book_symbol.substr(at + 1);
}

risk_book::risk_book(risk_limits limits) : limits_(std::move(limits)), steps_(limits_.escalation) {
  if (steps_.empty())
    steps_ = {{std::min(limits_.warning_percent, 100.0), escalation_action::alert},
              {100, escalation_action::halt}};
}

// --- booking ---------------------------------------------------------------------------------

void risk_book::book_fill(const std::string& symbol, order_side side, double quantity, double price,
                          double fee) {
  if (!(quantity > 0) || !(price > 0) || !std::isfinite(quantity) || !std::isfinite(price))
    return;
  auto& p = positions_[symbol];
  realized_ += apply_fill(p, side, quantity, price);
  if (is_flat(p))
    positions_.erase(symbol);
  realized_ -= fee;
  marks_[market_symbol(symbol)] = price;
  ++fills_;
}

void risk_book::set_mark(const std::string& symbol, double price) {
  marks_[symbol] = price;
}

void risk_book::forget_mark(const std::string& symbol) {
  marks_.erase(symbol);
}

double risk_book::mark(const std::string& symbol, double fallback) const {
  auto found = marks_.find(market_symbol(symbol));
  return found == marks_.end() ? fallback : found->second;
}

bool risk_book::holds(const std::string& symbol) const {
  // A market symbol has no '@' (a topic market.BTC@b names none the book marks).
  if (symbol.find(venue_separator) != std::string::npos)
    return false;
  // The book symbols of `symbol` sort together: itself, then "<symbol>@<venue>"s.
  for (auto it = positions_.lower_bound(symbol);
       it != positions_.end() && it->first.compare(0, symbol.size(), symbol) == 0; ++it)
    if (it->first.size() == symbol.size() || it->first[symbol.size()] == venue_separator)
      return true;
  return false;
}

std::vector<position_status> risk_book::position_statuses() const {
  std::vector<position_status> out;
  for (const auto& [symbol, p] : positions_) {
    auto at = mark(symbol, p.average_price);
    out.push_back({symbol, p.quantity, p.average_price, at, p.quantity * (at - p.average_price)});
  }
  return out;
}

// --- figures ---------------------------------------------------------------------------------

double risk_book::unrealized_pnl() const {
  double total = 0;
  for (const auto& [symbol, p] : positions_)
    total += brokedancer::unrealized_pnl(p, mark(symbol, p.average_price));
  return total;
}

double risk_book::equity() const {
  return limits_.starting_equity + realized_ + unrealized_pnl();
}

double risk_book::exposure(const std::string& symbol) const {
  auto found = positions_.find(symbol);
  if (found == positions_.end())
    return 0;
  return std::abs(found->second.quantity) * mark(symbol, found->second.average_price);
}

double risk_book::total_exposure() const {
  double total = 0;
  for (const auto& [symbol, p] : positions_)
    total += exposure(symbol);
  return total;
}

// --- time ------------------------------------------------------------------------------------

void risk_book::start_afresh() {
  day_start_equity_ = limits_.starting_equity;
  peak_equity_ = limits_.starting_equity;
}

bool risk_book::roll_day(int64_t now_us) {
  auto today = trading_day(now_us, limits_.daily_reset_minute_utc);
  if (day_ == today)
    return false;
  day_ = today;
  day_start_equity_ = equity();
  reached_.clear();
  breached_.clear();
  return true;
}

// --- limits ----------------------------------------------------------------------------------

std::array<risk_book::reading, 4> risk_book::readings() const {
  auto eq = equity();
  auto loss = std::max(0.0, day_start_equity_ - eq);
  auto down = peak_equity_ > 0 ? std::max(0.0, (peak_equity_ - eq) / peak_equity_ * 100) : 0.0;
  double largest = 0;
  for (const auto& [symbol, p] : positions_)
    largest = std::max(largest, exposure(symbol));
  const auto& l = limits_;
  return {{{reject_code::max_daily_loss, l.max_daily_loss, loss},
           {reject_code::max_position_size, l.max_position_size, largest},
           {reject_code::max_total_position, l.max_total_position, total_exposure()},
           {reject_code::max_drawdown_percent, l.max_drawdown_percent, down}}};
}

size_t risk_book::trades_since(int64_t since_us) const {
  return static_cast<size_t>(
      std::count_if(trades_.begin(), trades_.end(), [&](int64_t t) { return t > since_us; }));
}

std::vector<limit_status> risk_book::limits(int64_t now_us) const {
  auto r = readings();
  const auto& l = limits_;
  return {r[daily_loss].status(),
          r[position_size].status(),
          r[total_position].status(),
          reading{reject_code::max_order_notional, l.max_order_notional, 0}.status(),
          reading{reject_code::max_trades_per_hour, static_cast<double>(l.max_trades_per_hour),
                  static_cast<double>(trades_since(now_us - hour_us))}
              .status(),
          r[drawdown].status()};
}

std::vector<limit_crossing> risk_book::evaluate() {
  peak_equity_ = std::max(peak_equity_, equity());
  std::vector<limit_crossing> crossed;
  for (const auto& r : readings()) {
    if (r.limit <= 0)
      continue;
    auto used = r.utilization();
    limit_crossing crossing{r.status(), false, emergency_level::normal};
    // The highest step reached: the levels between are passed on the way.
    size_t reached = 0;
    while (reached < steps_.size() && used >= steps_[reached].percent)
      ++reached;
    auto& before = reached_[r.code];
    if (reached > before) {
      before = reached;
      crossing.raise = level_of(steps_[reached - 1].action);
    }
    if (used >= 100)
      crossing.breached = breached_.insert(r.code).second;
    if (crossing.breached || crossing.raise != emergency_level::normal)
      crossed.push_back(std::move(crossing));
  }
  return crossed;
}

std::optional<rejection> risk_book::check(const order& o, int64_t now_us) {
  const auto& l = limits_;
  auto notional = o.quantity * o.price;
  if (l.max_order_notional > 0 && notional > l.max_order_notional)
    return rejection{reject_code::max_order_notional, "max_order_notional: " + money_text(notional)
                                                          + " over "
                                                          + money_text(l.max_order_notional)};
  while (!trades_.empty() && trades_.front() <= now_us - hour_us)
    trades_.pop_front();
  if (l.max_trades_per_hour > 0 && trades_.size() >= l.max_trades_per_hour)
    return rejection{reject_code::max_trades_per_hour,
                     "max_trades_per_hour: " + std::to_string(trades_.size())
                         + " orders in the last hour"};
  auto symbol = book_symbol(o);
  auto found = positions_.find(symbol);
  auto current = found == positions_.end() ? 0.0 : found->second.quantity;
  auto after = current + (o.side == order_side::buy ? o.quantity : -o.quantity);
  bool grows = std::abs(after) > std::abs(current);
  auto exposure_after = std::abs(after) * o.price;
  if (l.max_position_size > 0 && exposure_after > l.max_position_size && grows)
    return rejection{reject_code::max_position_size,
                     "max_position_size: " + money_text(exposure_after) + " in " + symbol + " over "
                         + money_text(l.max_position_size)};
  auto total_after = total_exposure() - exposure(symbol) + exposure_after;
  if (l.max_total_position > 0 && total_after > l.max_total_position && grows)
    return rejection{reject_code::max_total_position,
                     "max_total_position: " + money_text(total_after) + " over "
                         + money_text(l.max_total_position)};
  auto r = readings();
  for (const auto& reached : {r[daily_loss], r[drawdown]}) {
    if (reached.limit > 0 && reached.utilization() >= 100 && grows)
      return rejection{reached.code, std::string{name_of(reached.code)} + ": "
                                         + money_text(reached.current)
                                         + " has reached the limit of " + money_text(reached.limit)
                                         + "; only orders that reduce a position pass"};
  }
  return std::nullopt;
}

double risk_book::held(const std::string& book_symbol) const {
  auto found = positions_.find(book_symbol);
  return found == positions_.end() ? 0.0 : found->second.quantity;
}

std::optional<rejection> risk_book::check_reduce_only(const order& o, double pending_buys,
                                                      double pending_sells) const {
  auto symbol = book_symbol(o);
  auto quantity = held(symbol);
  // What is left to reduce once the reducing orders out have filled.
  if (quantity > 0)
    quantity = std::max(0.0, quantity - std::max(0.0, pending_sells));
  else if (quantity < 0)
    quantity = std::min(0.0, quantity + std::max(0.0, pending_buys));
  if (reduces_position(quantity, o.side, o.quantity))
    return std::nullopt;
  auto what = quantity == 0 ? std::string{"no position is left to reduce in "} + symbol
                            : "the position in " + symbol + " is " + quantity_text(quantity)
                                  + ", and " + to_string(o.side) + " " + quantity_text(o.quantity)
                                  + ((quantity > 0) == (o.side == order_side::buy) ? " grows it"
                                                                                   : " flips it");
  return rejection{reject_code::reduce_only, "reduce_only: the emergency level is REDUCE_ONLY and "
                                                 + what
                                                 + "; only orders that reduce a position pass"};
}

void risk_book::count_trade(int64_t now_us) {
  if (limits_.max_trades_per_hour > 0)
    trades_.push_back(now_us);
}

// --- the persisted form ----------------------------------------------------------------------

json risk_book::to_json() const {
  json j{{"version", 1},
         {"realized", realized_},
         {"day_start_equity", day_start_equity_},
         {"peak_equity", peak_equity_},
         {"day", day_},
         {"trades", trades_},
         {"fills", fills_}};
  j["positions"] = json::object();
  for (const auto& [symbol, p] : positions_)
    j["positions"][symbol] = {{"quantity", p.quantity}, {"average_price", p.average_price}};
  j["marks"] = marks_;
  return j;
}

bool risk_book::from_json(const std::string& text, std::string& why) {
  auto j = parse_json_within(text);
  try {
    if (j.is_discarded() || !j.is_object() || j.value("version", 0) != 1)
      throw std::invalid_argument("not a version 1 risk book");
    risk_book b{limits_};
    b.realized_ = j.at("realized").get<double>();
    b.day_start_equity_ = j.at("day_start_equity").get<double>();
    b.peak_equity_ = j.at("peak_equity").get<double>();
    b.day_ = j.at("day").get<std::string>();
    // Books written before fills were counted have none.
    if (auto fills = j.find("fills"); fills != j.end()) {
      if (!fills->is_number_unsigned())
        throw std::invalid_argument("the fill count is not a count");
      b.fills_ = fills->get<uint64_t>();
    }
    for (auto t : j.at("trades")) {
      // A float would be cast to int64_t, undefined beyond its range: times are integers.
      if (!t.is_number_integer())
        throw std::invalid_argument("a trade time is not an integer");
      b.trades_.push_back(t.get<int64_t>());
    }
    for (const auto& [symbol, p] : j.at("positions").items())
      b.positions_[symbol] = {p.at("quantity").get<double>(), p.at("average_price").get<double>()};
    for (const auto& [symbol, m] : j.at("marks").items())
      b.marks_[symbol] = m.get<double>();
    // What the store gives back is outside input as well.
    auto finite = [](double x) {
      return std::isfinite(x);
    };
    if (!finite(b.realized_) || !finite(b.day_start_equity_) || !finite(b.peak_equity_))
      throw std::invalid_argument("a total is not a finite number");
    for (const auto& [symbol, p] : b.positions_) {
      if (!finite(p.quantity) || !finite(p.average_price) || p.average_price < 0)
        throw std::invalid_argument("the position in " + symbol + " is not finite");
      // "<symbol>@<venue>": one '@', a symbol before it and a plain venue name after it (the
      // venue is where SHUTDOWN closes it, and is named in reasons).
      if (auto at = symbol.find(venue_separator);
          at != std::string::npos
          && (at == 0 || symbol.find(venue_separator, at + 1) != std::string::npos
              || !check_plain_name("a venue", symbol.substr(at + 1), 64).empty()))
        throw std::invalid_argument("a position's key is not <symbol>@<venue>");
    }
    for (auto it = b.marks_.begin(); it != b.marks_.end();)
      it = finite(it->second) && it->second > 0 ? std::next(it) : b.marks_.erase(it);
    b.reached_ = std::move(reached_);
    b.breached_ = std::move(breached_);
    *this = std::move(b);
    return true;
  } catch (const std::exception& e) {
    why = e.what();
    return false;
  }
}

} // namespace brokedancer
