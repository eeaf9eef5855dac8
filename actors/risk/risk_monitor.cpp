#include "actors/risk/risk_monitor.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <ctime>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/risk/mark_filter.hpp"
#include "actors/supervision/supervisor.hpp"
#include "messages/errors.hpp"
#include "core/json_text.hpp"
#include "core/logging.hpp"
#include "core/unix_time.hpp"

namespace brokedancer {

namespace {

using json = nlohmann::json;
using load_atom = caf::atom_constant<caf::atom("load")>;
using enroll_atom = caf::atom_constant<caf::atom("enroll")>;
using roll_atom = caf::atom_constant<caf::atom("roll")>;
using market_atom = caf::atom_constant<caf::atom("market")>;
using find_breaker_atom = caf::atom_constant<caf::atom("brk_find")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;

using monitor_impl =
    risk_monitor_actor::extend<caf::reacts_to<load_atom>, caf::reacts_to<enroll_atom>,
                               caf::reacts_to<roll_atom>, caf::reacts_to<market_atom>,
                               caf::reacts_to<find_breaker_atom>, caf::reacts_to<flush_atom>>;

constexpr auto retry_after = std::chrono::milliseconds(500);
constexpr int64_t hour_us = int64_t{3600} * 1000000;

std::string money(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.2f", value);
  return text;
}

struct position {
  double quantity = 0; // signed
  double average_price = 0;
};

// The book: what is persisted, and everything computed from it.
struct book {
  std::map<std::string, position> positions;
  std::map<std::string, double> marks;
  double realized = 0;
  double day_start_equity = 0;
  double peak_equity = 0;
  std::string day;
  std::deque<int64_t> trades; // microseconds since the epoch, the last hour

  double mark(const std::string& symbol, double fallback) const {
    auto found = marks.find(symbol);
    return found == marks.end() ? fallback : found->second;
  }
  double unrealized() const {
    double total = 0;
    for (const auto& [symbol, p] : positions)
      total += p.quantity * (mark(symbol, p.average_price) - p.average_price);
    return total;
  }
  double exposure(const std::string& symbol) const {
    auto found = positions.find(symbol);
    if (found == positions.end())
      return 0;
    return std::abs(found->second.quantity) * mark(symbol, found->second.average_price);
  }
  double total_exposure() const {
    double total = 0;
    for (const auto& [symbol, p] : positions)
      total += exposure(symbol);
    return total;
  }

  // Average-cost accounting: a fill that reduces a position realizes P&L on what it closes.
  void apply(const std::string& symbol, order_side side, double quantity, double price,
             double fee) {
    auto& p = positions[symbol];
    double signed_quantity = side == order_side::buy ? quantity : -quantity;
    bool same_direction = p.quantity == 0 || (p.quantity > 0) == (signed_quantity > 0);
    if (same_direction) {
      double total = p.quantity + signed_quantity;
      p.average_price =
          (p.average_price * std::abs(p.quantity) + price * quantity) / std::abs(total);
      p.quantity = total;
    } else {
      double closed = std::min(std::abs(signed_quantity), std::abs(p.quantity));
      double direction = p.quantity > 0 ? 1.0 : -1.0;
      realized += closed * (price - p.average_price) * direction;
      double rest = p.quantity + signed_quantity;
      if (std::abs(rest) < 1e-12) {
        positions.erase(symbol);
      } else {
        if ((rest > 0) != (p.quantity > 0))
          p.average_price = price; // flipped: the remainder was opened at this price
        p.quantity = rest;
      }
    }
    realized -= fee;
  }

  json to_json() const {
    json j{{"version", 1},
           {"realized", realized},
           {"day_start_equity", day_start_equity},
           {"peak_equity", peak_equity},
           {"day", day},
           {"trades", trades}};
    j["positions"] = json::object();
    for (const auto& [symbol, p] : positions)
      j["positions"][symbol] = {{"quantity", p.quantity}, {"average_price", p.average_price}};
    j["marks"] = marks;
    return j;
  }

  static bool from_json(const std::string& text, book& out, std::string& why) {
    auto j = json::parse(text, nullptr, false);
    try {
      if (j.is_discarded() || !j.is_object() || j.value("version", 0) != 1)
        throw std::invalid_argument("not a version 1 risk book");
      book b;
      b.realized = j.at("realized").get<double>();
      b.day_start_equity = j.at("day_start_equity").get<double>();
      b.peak_equity = j.at("peak_equity").get<double>();
      b.day = j.at("day").get<std::string>();
      for (auto t : j.at("trades"))
        b.trades.push_back(t.get<int64_t>());
      for (const auto& [symbol, p] : j.at("positions").items())
        b.positions[symbol] = {p.at("quantity").get<double>(), p.at("average_price").get<double>()};
      for (const auto& [symbol, m] : j.at("marks").items())
        b.marks[symbol] = m.get<double>();
      // What the store gives back is outside input as well.
      auto finite = [](double x) {
        return std::isfinite(x);
      };
      if (!finite(b.realized) || !finite(b.day_start_equity) || !finite(b.peak_equity))
        throw std::invalid_argument("a total is not a finite number");
      for (const auto& [symbol, p] : b.positions)
        if (!finite(p.quantity) || !finite(p.average_price) || p.average_price < 0)
          throw std::invalid_argument("the position in " + symbol + " is not finite");
      for (auto it = b.marks.begin(); it != b.marks.end();)
        it = finite(it->second) && it->second > 0 ? std::next(it) : b.marks.erase(it);
      out = std::move(b);
      return true;
    } catch (const std::exception& e) {
      why = e.what();
      return false;
    }
  }
};

// A write of the book in flight: when it was sent, and what waits for it to end.
struct book_write {
  uint64_t number;
  std::chrono::steady_clock::time_point sent;
  std::vector<std::function<void()>> then;
};

struct monitor_state {
  risk_options options;
  state_store_actor store;
  event_bus_actor bus;
  emergency_actor emergency;
  breaker_registry_actor breakers;
  breaker_actor breaker; // the endpoint's own breaker, once known: one hop fewer per order
  level_tracker level;
  bool loaded = false;
  book b;
  std::set<std::string> symbols; // options.symbols: marked even without a position
  mark_filter marks;
  uint64_t marks_held = 0;
  std::set<std::string> warned;   // limits that raised ALERT this trading day
  std::set<std::string> breached; // limits that raised HALT this trading day
  uint64_t filled = 0;
  uint64_t rejected = 0;
  uint64_t failed = 0;
  // Writes of the book. Changes made while the mailbox is worked through are written together
  // by one write, sent when the monitor reaches the flush message queued by the first of them.
  // Writes are pipelined: the store applies them in the order sent, and each holds the whole
  // book, so one that ends covers every change made before it was sent.
  bool flush_queued = false;
  std::vector<std::function<void()>> waiting_for_flush; // run once the next write has ended
  std::deque<book_write> writes;                        // in flight, oldest first
  uint64_t write_number = 0;
  // Orders and cancels waiting for the endpoint, so that none is left unanswered.
  std::unordered_map<uint64_t, caf::typed_response_promise<order_result>> pending;
  uint64_t next_pending = 0;
  logger log{"risk"};

  // CAF 0.17 drops a promise destroyed unanswered: a bot would wait for its order forever.
  // The outcome is unknown -- the order may have reached the exchange -- and a retry with the
  // same client order id cannot execute it twice.
  ~monitor_state() {
    for (auto& [id, promise] : pending)
      promise.deliver(make_error(errc::subsystem_unavailable,
                                 "the risk monitor stopped before the outcome was known; the "
                                 "order may have been executed"));
  }
};

using self_pointer = monitor_impl::stateful_pointer<monitor_state>;

std::string trading_day(int reset_minute_utc) {
  auto t = std::time(nullptr) - reset_minute_utc * 60;
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[16];
  std::strftime(text, sizeof text, "%Y-%m-%d", &utc);
  return text;
}

double equity(const monitor_state& st) {
  return st.options.starting_equity + st.b.realized + st.b.unrealized();
}

// How long a write of the book may take before it is given up and the book written again.
constexpr auto write_patience = std::chrono::seconds(5);

// How often the day is checked for a roll and the write in flight for being overdue. Fills wait
// for their write, so an overdue one must be noticed without waiting for the next fill.
constexpr auto housekeeping_interval = std::chrono::seconds(1);

// Sends one write of the book as it is now, for everything waiting for the flush.
void write_book(self_pointer self) {
  auto& st = self->state;
  auto number = ++st.write_number;
  st.writes.push_back({number, std::chrono::steady_clock::now(), {}});
  st.writes.back().then.swap(st.waiting_for_flush);
  // The store applies writes in the order sent: this one ending covers every older one too.
  auto ended = [self, number] {
    auto& writes = self->state.writes;
    std::vector<std::function<void()>> then;
    while (!writes.empty() && writes.front().number <= number) {
      for (auto& f : writes.front().then)
        then.push_back(std::move(f));
      writes.pop_front();
    }
    for (auto& f : then) // after the bookkeeping: a callback may persist again
      f();
  };
  // No CAF timeout (a round through CAF's clock thread on every write): the housekeeping timer
  // gives up on a write the store has not answered within write_patience.
  self->request(st.store, caf::infinite, set_atom::value, st.options.state_key,
                dump_json(st.b.to_json()), int64_t{0})
      .then(ended, [self, ended](caf::error& err) {
        // What waits is answered all the same: a fill happened, whether or not it is written.
        self->state.log.error("could not persist the risk book; the next change tries again",
                              {{"error", self->system().render(err)}});
        ended();
      });
}

// Writes the book; `then` (if any) runs once a write that holds the book as it is now has ended.
void persist(self_pointer self, std::function<void()> then = nullptr) {
  auto& st = self->state;
  if (then)
    st.waiting_for_flush.push_back(std::move(then));
  if (!st.flush_queued) {
    st.flush_queued = true;
    self->send(self, flush_atom::value);
  }
}

// The store (which answers every request by its own timeout) has not answered the oldest
// write in time: whatever waits for any write in flight waits for a new one instead.
void give_up_overdue_writes(self_pointer self) {
  auto& st = self->state;
  if (st.writes.empty()
      || std::chrono::steady_clock::now() - st.writes.front().sent < write_patience)
    return;
  st.log.error(
      "the store did not answer a write of the risk book in time; writing it again",
      {{"waited_s", std::chrono::duration_cast<std::chrono::seconds>(write_patience).count()}});
  for (auto& w : st.writes)
    for (auto& f : w.then)
      st.waiting_for_flush.push_back(std::move(f));
  st.writes.clear();
  persist(self);
}

// A new trading day: the daily loss is measured from here.
void roll_day(self_pointer self) {
  auto& st = self->state;
  auto today = trading_day(st.options.daily_reset_minute_utc);
  if (st.b.day == today)
    return;
  st.b.day = today;
  st.b.day_start_equity = equity(st);
  st.warned.clear();
  st.breached.clear();
  st.log.info("a new trading day begins", {{"day", today}, {"equity", equity(st)}});
  persist(self);
}

// A limit that fills and marks can breach, as it stands. Plain numbers and a literal name: the
// order path reads these twice per order (before it and after its fill).
struct book_limit {
  const char* name;
  double limit;
  double current;

  double utilization() const {
    return limit > 0 ? current / limit * 100 : 0;
  }

  limit_status status() const {
    return {name, limit, current, utilization()};
  }
};

enum book_limit_index {
  daily_loss_limit,
  position_size_limit,
  total_position_limit,
  drawdown_limit
};

std::array<book_limit, 4> book_limits(const monitor_state& st) {
  auto eq = equity(st);
  auto daily_loss = std::max(0.0, st.b.day_start_equity - eq);
  auto drawdown =
      st.b.peak_equity > 0 ? std::max(0.0, (st.b.peak_equity - eq) / st.b.peak_equity * 100) : 0.0;
  double largest = 0;
  for (const auto& [symbol, p] : st.b.positions)
    largest = std::max(largest, st.b.exposure(symbol));
  const auto& o = st.options;
  return {{{"max_daily_loss", o.max_daily_loss, daily_loss},
           {"max_position_size", o.max_position_size, largest},
           {"max_total_position", o.max_total_position, st.b.total_exposure()},
           {"max_drawdown_percent", o.max_drawdown_percent, drawdown}}};
}

std::vector<limit_status> limits_of(const monitor_state& st) {
  auto book = book_limits(st);
  auto hour_ago = now_us() - hour_us;
  auto trades = std::count_if(st.b.trades.begin(), st.b.trades.end(),
                              [&](int64_t t) { return t > hour_ago; });
  const auto& o = st.options;
  return {book[daily_loss_limit].status(),
          book[position_size_limit].status(),
          book[total_position_limit].status(),
          book_limit{"max_order_notional", o.max_order_notional, 0}.status(),
          book_limit{"max_trades_per_hour", static_cast<double>(o.max_trades_per_hour),
                     static_cast<double>(trades)}
              .status(),
          book[drawdown_limit].status()};
}

void alert(self_pointer self, const limit_status& limit, const std::string& action) {
  auto& st = self->state;
  auto payload = json{{"limit", limit.name},        {"current", limit.current},
                      {"limit_value", limit.limit}, {"utilization", limit.utilization},
                      {"action", action},           {"at_us", now_us()}};
  auto text = dump_json(payload);
  if (st.bus)
    self->request(st.bus, std::chrono::seconds(5), publish_atom::value,
                  std::string{"trading.alerts"}, std::move(text), correlation_id{})
        .then([](uint64_t) {}, [](caf::error&) {});
}

void raise_level(self_pointer self, emergency_level level, const std::string& reason) {
  auto& st = self->state;
  self->request(st.emergency, std::chrono::seconds(5), raise_atom::value, level, reason,
                change_source::risk_monitor)
      .then([](level_change&) {},
            [self, reason](caf::error& err) {
              self->state.log.critical("could not raise the emergency level",
                                       {{"reason", reason}, {"error", self->system().render(err)}});
            });
}

// After every fill and mark: breaches halt (with auto_halt), warnings alert.
void evaluate(self_pointer self) {
  auto& st = self->state;
  st.b.peak_equity = std::max(st.b.peak_equity, equity(st));
  // The notional and the trade count are checked before each order instead.
  for (const auto& reading : book_limits(st)) {
    if (reading.limit <= 0 || reading.utilization() < std::min(st.options.warning_percent, 100.0))
      continue;
    auto limit = reading.status();
    if (limit.utilization >= 100) {
      if (!st.breached.insert(limit.name).second)
        continue;
      auto reason =
          limit.name + ": " + money(limit.current) + " reached the limit of " + money(limit.limit);
      st.log.critical("risk limit breached", {{"limit", limit.name},
                                              {"current", limit.current},
                                              {"limit_value", limit.limit},
                                              {"auto_halt", st.options.auto_halt}});
      alert(self, limit, st.options.auto_halt ? "HALT" : "none");
      if (st.options.auto_halt)
        raise_level(self, emergency_level::halt, reason);
    } else if (limit.utilization >= st.options.warning_percent) {
      if (!st.warned.insert(limit.name).second)
        continue;
      st.log.warn(
          "risk limit nearly reached",
          {{"limit", limit.name}, {"current", limit.current}, {"limit_value", limit.limit}});
      alert(self, limit, "ALERT");
      raise_level(self, emergency_level::alert,
                  limit.name + ": " + money(limit.utilization) + "% of the limit used");
    }
  }
}

order_result refuse(self_pointer self, const order& o, std::string reason) {
  ++self->state.rejected;
  self->state.log.info("order rejected", {{"bot", o.bot_id},
                                          {"client_order_id", o.client_order_id},
                                          {"reason", reason},
                                          {"correlation_id", o.correlation}});
  return {o.client_order_id, "rejected", std::move(reason), 0, 0, 0};
}

// The pre-trade check; empty when the order may go.
std::string check(self_pointer self, const order& o) {
  auto& st = self->state;
  const auto& lim = st.options;
  if (o.symbol.empty() || o.client_order_id.empty() || !std::isfinite(o.quantity)
      || !std::isfinite(o.price) || o.quantity <= 0 || o.price <= 0)
    return "invalid_order: needs a symbol, a client order id, and a positive quantity and price";
  if (!st.level.known())
    return "level_unknown: the emergency level has not been heard yet";
  if (!st.loaded)
    return "risk_state_loading: the risk book has not been read yet";
  if (!trading_allowed(st.level.level()))
    return "halted: the emergency level is " + to_string(st.level.level());
  roll_day(self);
  auto notional = o.quantity * o.price;
  if (lim.max_order_notional > 0 && notional > lim.max_order_notional)
    return "max_order_notional: " + money(notional) + " over " + money(lim.max_order_notional);
  auto hour_ago = now_us() - hour_us;
  while (!st.b.trades.empty() && st.b.trades.front() <= hour_ago)
    st.b.trades.pop_front();
  if (lim.max_trades_per_hour > 0 && st.b.trades.size() >= lim.max_trades_per_hour)
    return "max_trades_per_hour: " + std::to_string(st.b.trades.size())
           + " orders in the last hour";
  auto current = st.b.positions.count(o.symbol) ? st.b.positions.at(o.symbol).quantity : 0.0;
  auto after = current + (o.side == order_side::buy ? o.quantity : -o.quantity);
  auto exposure_after = std::abs(after) * o.price;
  if (lim.max_position_size > 0 && exposure_after > lim.max_position_size
      && std::abs(after) > std::abs(current))
    return "max_position_size: " + money(exposure_after) + " in " + o.symbol + " over "
           + money(lim.max_position_size);
  auto total_after = st.b.total_exposure() - st.b.exposure(o.symbol) + exposure_after;
  if (lim.max_total_position > 0 && total_after > lim.max_total_position
      && std::abs(after) > std::abs(current))
    return "max_total_position: " + money(total_after) + " over " + money(lim.max_total_position);
  auto book = book_limits(st);
  for (const auto& limit : {book[daily_loss_limit], book[drawdown_limit]}) {
    if (limit.limit > 0 && limit.utilization() >= 100 && std::abs(after) > std::abs(current))
      return std::string{limit.name} + ": " + money(limit.current) + " has reached the limit of "
             + money(limit.limit) + "; only orders that reduce a position pass";
  }
  return {};
}

// Books a fill; `written` runs once the book with it is in the store. A fill is answered only
// then: a monitor restarted right after it has answered still has the fill in its book.
void book_fill(self_pointer self, const order& o, const order_result& result,
               std::function<void()> written) {
  auto& st = self->state;
  st.b.apply(o.symbol, o.side, result.filled_quantity, result.fill_price, result.fee);
  st.b.marks[o.symbol] = result.fill_price;
  st.marks.forget(o.symbol);
  // A closed position's mark goes with it, unless the symbol is one the node trades anyway.
  if (st.b.positions.count(o.symbol) == 0 && st.symbols.count(o.symbol) == 0)
    st.b.marks.erase(o.symbol);
  ++st.filled;
  persist(self, std::move(written));
  evaluate(self);
}

void enroll(self_pointer self) {
  auto& st = self->state;
  self->request(st.emergency, std::chrono::seconds(5), register_bot_atom::value,
                caf::actor_cast<caf::actor>(self))
      .then([self](level_change& current) { self->state.level.take(current); },
            [self](caf::error& err) {
              self->state.log.warn("cannot register with the emergency controller yet; orders "
                                   "are refused until it answers",
                                   {{"error", self->system().render(err)}});
              self->delayed_send(self, retry_after, enroll_atom::value);
            });
}

void subscribe_market(self_pointer self) {
  auto& st = self->state;
  if (st.bus)
    self->request(st.bus, std::chrono::seconds(5), subscribe_atom::value, std::string{"market.*"},
                  caf::actor_cast<caf::actor>(self))
        .then([](uint64_t) {},
              [self](caf::error& err) {
                self->state.log.warn("cannot subscribe to market data yet; retrying",
                                     {{"error", self->system().render(err)}});
                self->delayed_send(self, retry_after, market_atom::value);
              });
}

void load(self_pointer self) {
  auto& st = self->state;
  self->request(st.store, std::chrono::seconds(5), get_atom::value, st.options.state_key)
      .then(
          [self](maybe_value& stored) {
            auto& s = self->state;
            std::string why;
            if (stored.found && !book::from_json(stored.json, s.b, why)) {
              s.log.critical("the persisted risk book is unreadable; halting", {{"problem", why}});
              raise_level(self, emergency_level::halt,
                          "the persisted risk book could not be read: " + why);
            }
            if (!stored.found || !why.empty()) {
              s.b.day_start_equity = s.options.starting_equity;
              s.b.peak_equity = s.options.starting_equity;
            }
            s.loaded = true;
            roll_day(self);
            s.log.info(
                "risk book loaded",
                {{"day", s.b.day}, {"positions", s.b.positions.size()}, {"equity", equity(s)}});
            evaluate(self);
          },
          [self](caf::error& err) {
            self->state.log.warn("cannot read the risk book yet; orders are refused until it "
                                 "is read",
                                 {{"error", self->system().render(err)}});
            self->delayed_send(self, retry_after, load_atom::value);
          });
}

double number_field(const json& j, const char* name) {
  auto found = j.find(name);
  return found != j.end() && found->is_number() ? found->get<double>() : 0.0;
}

std::string text_field(const json& j, const char* name) {
  if (!j.is_object())
    return {};
  auto found = j.find(name);
  return found != j.end() && found->is_string() ? found->get<std::string>() : std::string{};
}

// Keeps `rp` until the answer is known; the state answers it if the monitor stops first.
std::function<void(order_result&)> answer_later(self_pointer self,
                                                caf::typed_response_promise<order_result> rp) {
  auto id = ++self->state.next_pending;
  self->state.pending.emplace(id, std::move(rp));
  return [self, id](order_result& result) {
    auto found = self->state.pending.find(id);
    if (found == self->state.pending.end())
      return;
    found->second.deliver(result);
    self->state.pending.erase(found);
  };
}

// Asks the registry for the endpoint's breaker, and watches it: calls go straight to it from
// then on, and through the registry while it is not known (at start, after it stopped).
void find_breaker(self_pointer self) {
  auto& st = self->state;
  self->request(st.breakers, std::chrono::seconds(5), breaker_atom::value, st.options.endpoint)
      .then(
          [self](breaker_actor& found) {
            self->state.breaker = found;
            self->monitor(found);
          },
          [self](caf::error&) { self->delayed_send(self, retry_after, find_breaker_atom::value); });
}

// A call to the endpoint, through its breaker.
template <class OnResponse, class OnError>
void call_endpoint(self_pointer self, endpoint_request request, OnResponse on_response,
                   OnError on_error) {
  auto& st = self->state;
  // No timeout of our own on the direct call (a timeout costs a round through CAF's clock
  // thread): the breaker answers by the call's deadline, and answers every call it still
  // holds when it stops.
  if (st.breaker)
    self->request(st.breaker, caf::infinite, call_atom::value, std::move(request))
        .then(std::move(on_response), std::move(on_error));
  else
    self->request(st.breakers, std::chrono::minutes(2), call_atom::value, st.options.endpoint,
                  std::move(request))
        .then(std::move(on_response), std::move(on_error));
}

// Sends an order that has passed its checks through the endpoint's breaker and books the fill.
void execute(self_pointer self, order placed, std::function<void(order_result&)> on_result,
             bool reduces_risk = false) {
  endpoint_request request;
  request.operation = "submit_order";
  request.reduces_risk = reduces_risk;
  request.client_request_id = placed.client_order_id;
  request.correlation = placed.correlation;
  request.json = json{{"bot_id", placed.bot_id},        {"symbol", placed.symbol},
                      {"side", to_string(placed.side)}, {"quantity", placed.quantity},
                      {"price", placed.price},          {"client_order_id", placed.client_order_id}}
                     .dump(-1, ' ', false, json::error_handler_t::replace);
  // Shared by the two handlers rather than copied into each.
  auto pending = std::make_shared<std::pair<order, std::function<void(order_result&)>>>(
      std::move(placed), std::move(on_result));
  call_endpoint(
      self, std::move(request),
      [self, pending](endpoint_response& response) {
        auto& [o, done] = *pending;
        order_result result{o.client_order_id, "rejected", "", 0, 0, 0};
        auto body = json::parse(response.json, nullptr, false);
        auto status = text_field(body, "status");
        bool answered = response.status >= 200 && response.status < 300 && body.is_object();
        if (answered && (status == "expired" || status == "rejected")) {
          // The exchange took the order and did not fill it: not marketable, no market
          // data, cancelled before it arrived.
          auto why = text_field(body, "reason");
          if (why.empty())
            why = status;
          if (status == "expired") {
            result.outcome = "expired";
            result.reason = why;
          } else {
            ++self->state.rejected;
            result.reason = "exchange_rejected: " + why;
          }
        } else if (answered) {
          result.filled_quantity = number_field(body, "filled_quantity");
          result.fill_price = number_field(body, "fill_price");
          result.fee = number_field(body, "fee");
          bool sane = sane_fill(o.quantity, result.filled_quantity, result.fill_price, result.fee);
          result.outcome = sane ? "filled" : "accepted";
          if (sane) {
            book_fill(self, o, result, [pending, result]() mutable { pending->second(result); });
            return;
          }
        } else {
          ++self->state.rejected;
          result.reason = "exchange_rejected: status " + std::to_string(response.status);
        }
        done(result);
      },
      [self, pending](caf::error& err) {
        auto& [o, done] = *pending;
        ++self->state.failed;
        order_result result{o.client_order_id, "failed", self->system().render(err), 0, 0, 0};
        done(result);
      });
}

constexpr double flatten_slippage = 0.05;

// Asks the exchange to cancel an order; cancels pass at every level, HALT and SHUTDOWN included.
void cancel(self_pointer self, const std::string& client_order_id,
            std::function<void(order_result&)> done) {
  endpoint_request request;
  request.operation = "cancel_order";
  request.client_request_id = "cancel:" + client_order_id;
  request.json = json{{"client_order_id", client_order_id}}.dump(-1, ' ', false,
                                                                 json::error_handler_t::replace);
  call_endpoint(
      self, std::move(request),
      [client_order_id, done](endpoint_response& response) {
        order_result result{client_order_id, "failed", "", 0, 0, 0};
        auto body = json::parse(response.json, nullptr, false);
        auto status = text_field(body, "status");
        if (response.status >= 200 && response.status < 300
            && (status == "cancelled" || status == "not_open"))
          result.outcome = status;
        else
          result.reason = "exchange_rejected: status " + std::to_string(response.status);
        done(result);
      },
      [self, client_order_id, done](caf::error& err) {
        order_result result{client_order_id, "failed", self->system().render(err), 0, 0, 0};
        done(result);
      });
}

// Closes every position at its last mark; calls `finished` when every closing order has an
// answer (filled or not: what could not be closed is logged, loudly).
void flatten(self_pointer self, std::function<void()> finished, int round = 1) {
  auto& st = self->state;
  std::vector<order> closing;
  for (const auto& [symbol, p] : st.b.positions) {
    if (p.quantity == 0)
      continue;
    order o;
    o.bot_id = "runtime";
    o.symbol = symbol;
    o.side = p.quantity > 0 ? order_side::sell : order_side::buy;
    o.quantity = std::abs(p.quantity);
    // A marketable limit: through the top of the book by a margin, but never at any price.
    auto mark = st.b.mark(symbol, p.average_price);
    o.price =
        o.side == order_side::sell ? mark * (1 - flatten_slippage) : mark * (1 + flatten_slippage);
    o.client_order_id = "flatten-" + symbol + "-" + std::to_string(now_us());
    closing.push_back(std::move(o));
  }
  // Done when nothing is left open (orders answered meanwhile may have opened some, hence the
  // rounds), or after three rounds; either way the book is written before SHUTDOWN is
  // acknowledged, so the next start sees what was closed.
  constexpr int rounds = 3;
  if (closing.empty() || round > rounds) {
    if (!closing.empty())
      st.log.critical("SHUTDOWN: positions are still open", {{"positions", closing.size()}});
    persist(self, finished);
    return;
  }
  st.log.critical("SHUTDOWN: closing every position",
                  {{"positions", closing.size()}, {"round", round}});
  auto left = std::make_shared<size_t>(closing.size());
  for (auto& o : closing)
    execute(
        self, o,
        [self, left, finished, round, symbol = o.symbol](order_result& result) {
          if (result.outcome != "filled")
            self->state.log.critical("SHUTDOWN: a position could not be closed",
                                     {{"symbol", symbol}, {"reason", result.reason}});
          if (--*left == 0)
            flatten(self, finished, round + 1);
        },
        true);
}

monitor_impl::behavior_type risk_monitor(self_pointer self, risk_options options,
                                         state_store_actor store, event_bus_actor bus,
                                         emergency_actor emergency,
                                         breaker_registry_actor breakers) {
  exit_with_exception_text(self);
  auto& fresh = self->state;
  fresh.options = std::move(options);
  fresh.symbols.insert(fresh.options.symbols.begin(), fresh.options.symbols.end());
  fresh.marks = mark_filter{{fresh.options.max_mark_jump_percent, 2}};
  fresh.store = std::move(store);
  fresh.bus = std::move(bus);
  fresh.emergency = std::move(emergency);
  fresh.breakers = std::move(breakers);
  enroll(self);
  subscribe_market(self);
  load(self);
  find_breaker(self);
  self->set_down_handler([self](caf::down_msg& down) {
    auto& st = self->state;
    if (st.breaker && down.source == st.breaker.address()) {
      // The registry starts it again on the next call; until then calls go through it.
      st.breaker = nullptr;
      self->delayed_send(self, std::chrono::milliseconds(100), find_breaker_atom::value);
    }
  });
  self->delayed_send(self, housekeeping_interval, roll_atom::value);
  return {
      [self](submit_order_atom, order& o) -> caf::result<order_result> {
        if (auto reason = check(self, o); !reason.empty())
          return refuse(self, o, std::move(reason));
        // The window is kept only when it is enforced; then it holds at most the limit.
        if (self->state.options.max_trades_per_hour > 0)
          self->state.b.trades.push_back(now_us());
        auto rp = self->make_response_promise<order_result>();
        execute(self, std::move(o), answer_later(self, rp));
        return rp;
      },
      [self](cancel_order_atom, std::string& client_order_id) -> caf::result<order_result> {
        if (client_order_id.empty())
          return order_result{"", "rejected", "invalid_order: a cancel needs a client order id",
                              0,  0,          0};
        auto rp = self->make_response_promise<order_result>();
        cancel(self, client_order_id, answer_later(self, rp));
        return rp;
      },
      [self](const level_change& change) {
        bool taken = self->state.level.take(change);
        auto controller = caf::actor_cast<emergency_actor>(self->current_sender());
        auto acknowledge = [self, controller, sequence = change.sequence] {
          self->send(controller, emergency_ack_atom::value, sequence);
        };
        // SHUTDOWN: the runtime closes every position itself before the process stops; the
        // acknowledgement says it is done (or the controller's grace runs out first).
        if (taken && change.level == emergency_level::shutdown)
          flatten(self, acknowledge);
        else
          acknowledge();
      },
      [self](const event& ev) {
        if (ev.topic.rfind("market.", 0) != 0)
          return;
        auto body = json::parse(ev.json, nullptr, false);
        if (!body.is_object())
          return;
        double price = number_field(body, "price");
        if (price <= 0)
          price = number_field(body, "last");
        if (price <= 0) {
          auto bid = number_field(body, "bid");
          auto ask = number_field(body, "ask");
          if (bid > 0 && ask > 0)
            price = (bid + ask) / 2;
        }
        auto& st = self->state;
        auto symbol = ev.topic.substr(7);
        auto verdict =
            st.marks.consider(symbol, price, st.b.mark(symbol, 0.0),
                              st.b.positions.count(symbol) > 0 || st.symbols.count(symbol) > 0);
        if (verdict != mark_filter::verdict::taken) {
          if (verdict == mark_filter::verdict::held && ++st.marks_held % 100 == 1)
            st.log.warn("a market price far from the last mark is held until others confirm it",
                        {{"symbol", symbol}, {"price", price}, {"held_so_far", st.marks_held}});
          return;
        }
        st.b.marks[symbol] = price;
        if (st.loaded)
          evaluate(self);
      },
      [self](limits_atom) { return limits_of(self->state); },
      [self](status_atom) {
        auto& st = self->state;
        risk_status s;
        s.level = st.level.level();
        s.loaded = st.loaded;
        s.equity = equity(st);
        s.peak_equity = st.b.peak_equity;
        s.realized_pnl = st.b.realized;
        s.unrealized_pnl = st.b.unrealized();
        s.daily_pnl = s.equity - st.b.day_start_equity;
        s.trading_day = st.b.day;
        for (const auto& [symbol, p] : st.b.positions) {
          auto mark = st.b.mark(symbol, p.average_price);
          s.positions.push_back(
              {symbol, p.quantity, p.average_price, mark, p.quantity * (mark - p.average_price)});
        }
        s.limits = limits_of(st);
        s.orders_filled = st.filled;
        s.orders_rejected = st.rejected;
        s.orders_failed = st.failed;
        return s;
      },
      [self](load_atom) { load(self); },
      [self](enroll_atom) { enroll(self); },
      [self](market_atom) { subscribe_market(self); },
      [self](find_breaker_atom) { find_breaker(self); },
      [self](flush_atom) {
        self->state.flush_queued = false;
        write_book(self);
      },
      [self](roll_atom) {
        if (self->state.loaded)
          roll_day(self);
        give_up_overdue_writes(self);
        self->delayed_send(self, housekeeping_interval, roll_atom::value);
      },
  };
}

} // namespace

risk_monitor_actor spawn_risk_monitor(caf::actor_system& sys, risk_options options,
                                      state_store_actor store, event_bus_actor bus,
                                      emergency_actor emergency, breaker_registry_actor breakers) {
  return sys.spawn(risk_monitor, std::move(options), std::move(store), std::move(bus),
                   std::move(emergency), std::move(breakers));
}

} // namespace brokedancer
