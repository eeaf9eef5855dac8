#include "actors/risk/risk_monitor.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/risk/monitor_state.hpp"
#include "actors/risk/order_execution.hpp"
#include "actors/risk/trading_updates.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/json_fields.hpp"
#include "core/json_text.hpp"
#include "core/unix_time.hpp"
#include "messages/errors.hpp"
#include "messages/market.hpp"

namespace brokedancer::monitor {

namespace {

using json = nlohmann::json;

// Microseconds on the steady clock: the throttles' windows do not move with the wall clock.
int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// How long a write of the book may take before it is given up and the book written again.
constexpr auto write_patience = std::chrono::seconds(5);

// How often the day is checked for a roll and the write in flight for being overdue. Fills wait
// for their write, so an overdue one must be noticed without waiting for the next fill.
constexpr auto housekeeping_interval = std::chrono::seconds(1);

// --- persistence -----------------------------------------------------------------------------

// Sends one write of the book as it is now, for everything waiting for the flush.
void write_book(self_pointer self) {
  auto& st = self->state;
  auto number = ++st.write_number;
  st.writes.push_back({number, std::chrono::steady_clock::now(), {}, {}});
  st.writes.back().then.swap(st.waiting_for_flush);
  st.writes.back().outcomes.swap(st.journal.outcomes);
  // The store applies writes in the order sent: this one ending covers every older one too.
  auto ended = [self, number](bool stored) {
    auto& writes = self->state.writes;
    std::vector<std::function<void()>> then;
    while (!writes.empty() && writes.front().number <= number) {
      for (auto& f : writes.front().then)
        then.push_back(std::move(f));
      if (stored || writes.front().number < number)
        outcomes_stored(self, writes.front().outcomes);
      else // the outcomes go with the next write, which holds the book as well
        for (auto& outcome : writes.front().outcomes)
          self->state.journal.outcomes.push_back(std::move(outcome));
      writes.pop_front();
    }
    for (auto& f : then) // after the bookkeeping: a callback may persist again
      f();
  };
  auto on_error = [self, ended](caf::error& err) {
    // What waits is answered all the same: a fill happened, whether or not it is written.
    auto& monitor = self->state;
    if (monitor.write_failures++ % 10 == 0)
      monitor.log.error(
          "could not persist the risk book; trying again every second",
          {{"error", self->system().render(err)}, {"failures", monitor.write_failures}});
    ended(false); // its outcomes wait for the next write, which the housekeeping makes
  };
  // No CAF timeout (a round through CAF's clock thread on every write): the housekeeping timer
  // gives up on a write the store has not answered within write_patience.
  if (!st.options.journal) {
    self->request(st.store, caf::infinite, set_atom::value, st.book_key,
                  dump_json(st.book.to_json()), int64_t{0})
        .then(
            [self, ended] {
              self->state.write_failures = 0;
              ended(true);
            },
            on_error);
    return;
  }
  // The book and the outcomes it has taken, in one transaction: a node killed at any moment
  // has a journal that agrees with its book.
  std::vector<std::string> entries;
  for (const auto& outcome : st.writes.back().outcomes)
    entries.push_back(outcome.entry);
  self->request(st.store, caf::infinite, commit_atom::value,
                std::vector<key_value>{{st.book_key, dump_json(st.book.to_json())}}, st.journal.key,
                std::move(entries))
      .then(
          [self, ended] {
            self->state.write_failures = 0;
            ended(true);
          },
          on_error);
}

} // namespace

void persist(self_pointer self, std::function<void()> then) {
  auto& st = self->state;
  if (then)
    st.waiting_for_flush.push_back(std::move(then));
  if (!st.flush_queued) {
    st.flush_queued = true;
    self->send(self, flush_atom::value);
  }
}

namespace {

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
  for (auto& w : st.writes) {
    for (auto& f : w.then)
      st.waiting_for_flush.push_back(std::move(f));
    // Written again with the next write; one that ends after all is journaled twice, which
    // the replay reads as once.
    for (auto& outcome : w.outcomes)
      st.journal.outcomes.push_back(std::move(outcome));
  }
  st.writes.clear();
  persist(self);
}

// --- limits ----------------------------------------------------------------------------------

// A new trading day: the daily loss is measured from here.
void roll_day(self_pointer self, int64_t now) {
  auto& st = self->state;
  if (!st.book.roll_day(now))
    return;
  st.log.info("a new trading day begins", {{"day", st.book.day()}, {"equity", st.book.equity()}});
  persist(self);
}

void alert(self_pointer self, const limit_status& limit, const std::string& action) {
  auto& st = self->state;
  auto payload =
      json{{"type", "RISK_ALERT"},       {"severity", action == "ALERT" ? "warning" : "critical"},
           {"limit", limit.name},        {"current", limit.current},
           {"limit_value", limit.limit}, {"utilization", limit.utilization},
           {"action", action},           {"at_us", now_us()}};
  if (st.bus)
    self->request(st.bus, std::chrono::seconds(5), publish_atom::value,
                  std::string{"trading.alerts"}, dump_json(payload), correlation_id{})
        .then([](uint64_t) {}, [](caf::error&) {});
}

} // namespace

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

namespace {

bool flattens_on(const risk_options& options, const std::string& limit) {
  const auto& names = options.flatten_on;
  return std::find(names.begin(), names.end(), limit) != names.end();
}

void flatten_on_breach(self_pointer self, const limit_status& limit, const std::string& reason) {
  auto& st = self->state;
  if (st.level.level() == emergency_level::shutdown)
    return; // SHUTDOWN closes every position itself
  if (st.flattening || !st.loaded || !st.journal.reconciled)
    st.log.warn("the breach's flatten waits for the flatten out, or the book to be reconciled",
                {{"limit", limit.name}});
  // One flatten of everything is due, whichever limits asked for it.
  st.breach_flatten_due = reason;
  run_due_flatten(self);
}

// A step of a limit's escalation reached, its breach, or both: said on trading.alerts, in the
// log, and raised (a HALT step only with auto_halt when no escalation is configured); a breach
// of a limit in risk.flatten_on closes every position.
void on_crossing(self_pointer self, const limit_crossing& crossing) {
  auto& st = self->state;
  const auto& limit = crossing.limit;
  auto raise = crossing.raise;
  if (raise == emergency_level::halt && st.options.escalation.empty() && !st.options.auto_halt)
    raise = emergency_level::normal;
  auto reason = crossing.breached
                    ? limit.name + ": " + money_text(limit.current) + " reached the limit of "
                          + money_text(limit.limit)
                    : limit.name + ": " + money_text(limit.utilization) + "% of the limit used";
  bool flatten = crossing.breached && flattens_on(st.options, limit.name);
  logger::fields fields{{"limit", limit.name},        {"current", limit.current},
                        {"limit_value", limit.limit}, {"utilization", limit.utilization},
                        {"raise", to_string(raise)},  {"flatten", flatten}};
  if (crossing.breached)
    st.log.critical("risk limit breached", std::move(fields));
  else
    st.log.warn("risk limit nearly reached", std::move(fields));
  auto action = raise == emergency_level::normal ? std::string{"none"} : to_string(raise);
  alert(self, limit, flatten ? action + "+FLATTEN" : action);
  if (raise != emergency_level::normal)
    raise_level(self, raise, reason);
  if (flatten)
    flatten_on_breach(self, limit, reason);
}

// After every fill and mark: each limit's escalation steps and breaches.
void evaluate(self_pointer self) {
  for (const auto& crossing : self->state.book.evaluate())
    on_crossing(self, crossing);
}

// invalid_order for an order to a venue the node does not send to.
std::optional<rejection> unknown_venue(const risk_options& options, const order& o) {
  const auto& venues = options.venues;
  if (o.venue.empty() || std::find(venues.begin(), venues.end(), o.venue) != venues.end())
    return std::nullopt;
  return rejection{reject_code::invalid_order,
                   "invalid_order: this node sends no orders to the venue "
                       + dump_json(json(o.venue.substr(0, 64))) + "; its venues are risk.endpoint ("
                       + options.endpoint + ") and risk.venues"};
}

// The pre-trade check; nothing when the order may go.
std::optional<rejection> check(self_pointer self, const order& o, int64_t now) {
  auto& st = self->state;
  if (auto problem = malformed(o))
    return problem;
  if (auto problem = unknown_venue(st.options, o))
    return problem;
  if (!st.level.known())
    return rejection{reject_code::level_unknown,
                     "level_unknown: the emergency level has not been heard yet"};
  if (!st.loaded)
    return rejection{reject_code::risk_state_loading,
                     "risk_state_loading: the risk book has not been read yet"};
  if (!st.journal.reconciled)
    return rejection{reject_code::reconciling,
                     "reconciling: the node is asking the exchange about orders it sent before "
                     "it restarted"};
  if (!trading_allowed(st.level.level()))
    return rejection{reject_code::halted,
                     "halted: the emergency level is " + to_string(st.level.level())};
  if (st.scopes && !st.scopes_known)
    return rejection{reject_code::level_unknown,
                     "level_unknown: the scoped halts have not been read yet"};
  roll_day(self, now);
  auto level = st.level.level();
  if (const auto* scope =
          st.scoped.covering(o.bot_id, o.strategy, o.symbol, endpoint_of(st, o.venue));
      scope && scope->change.level >= emergency_level::halt)
    return rejection{reject_code::halted, "halted: the " + to_string(scope->kind) + " "
                                              + scope->name + " is HALTed (" + scope->change.reason
                                              + ")"};
  else if (scope)
    level = std::max(level, scope->change.level);
  if (reduce_only(level)) {
    auto symbol = book_symbol(o);
    auto out = st.in_flight.find(symbol);
    auto pending = out == st.in_flight.end() ? std::pair<double, double>{} : out->second;
    // Orders whose outcome the endpoint did not tell may still fill: counted as out too.
    for (const auto& [id, unknown] : st.journal.unknown)
      if (book_symbol(unknown) == symbol)
        (unknown.side == order_side::buy ? pending.first : pending.second) += unknown.quantity;
    if (auto problem = st.book.check_reduce_only(o, pending.first, pending.second))
      return problem;
  }
  if (auto problem = st.book.check(o, now))
    return problem;
  // Last: only an order that would go out uses the throttle up.
  return st.throttle.admit_order(o.bot_id, steady_us());
}

order_result refuse(self_pointer self, const order& o, rejection why) {
  ++self->state.rejected;
  self->state.log.info("order rejected", {{"bot", o.bot_id},
                                          {"client_order_id", o.client_order_id},
                                          {"reason", why.reason},
                                          {"correlation_id", o.correlation}});
  return {o.client_order_id, order_outcome::rejected, why.code, std::move(why.reason), 0, 0, 0};
}

} // namespace

// Sent, not requested: nobody waits for the bus on the order path, and a bus that is away
// costs an order nothing (the channels say so in their own status).
void publish_update(self_pointer self, const char* topic, const json& data,
                    const correlation_id& correlation) {
  if (self->state.bus)
    caf::anon_send(self->state.bus, publish_atom::value, std::string{topic}, dump_json(data),
                   correlation);
}

namespace {

// An order's outcome on trading.orders.
void announce(self_pointer self, const order& o, const order_result& result) {
  publish_update(self, "trading.orders", order_update(o, result), o.correlation);
}

// A symbol's position in the book on trading.positions (quantity 0 once it is closed).
void announce_position(self_pointer self, const std::string& symbol,
                       const correlation_id& correlation) {
  auto& book = self->state.book;
  position_status position;
  position.symbol = symbol;
  for (auto& p : book.position_statuses())
    if (p.symbol == symbol)
      position = p;
  publish_update(self, "trading.positions", position_update(position, book.realized_pnl()),
                 correlation);
}

} // namespace

namespace {

int64_t micros_since(std::chrono::steady_clock::time_point from) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now()
                                                               - from)
      .count();
}

} // namespace

answer announced(self_pointer self, const order& o, answer inner) {
  // Timed on the steady clock: a step of the wall clock must not show as an order's latency.
  return [self, about = o, inner = std::move(inner),
          taken = std::chrono::steady_clock::now()](order_result& result) {
    if (self->state.metrics)
      self->state.metrics->record(result, micros_since(taken));
    announce(self, about, result);
    inner(result);
  };
}

namespace {

// A symbol the monitor marks: one it holds, or one the node trades.
bool tracked(const monitor_state& st, const std::string& symbol) {
  return st.book.holds(symbol) || st.symbols.count(symbol) > 0;
}

} // namespace

void book_fill(self_pointer self, const order& o, const order_result& result,
               std::function<void()> written) {
  auto& st = self->state;
  st.book.book_fill(book_symbol(o), o.side, result.filled_quantity, result.fill_price, result.fee);
  st.marks.forget(o.symbol);
  // A closed position's mark goes with it, unless the symbol is one the node trades anyway.
  if (!tracked(st, o.symbol))
    st.book.forget_mark(o.symbol);
  ++st.filled;
  // Every fill, whichever way it came (an answer, a reconciliation, SHUTDOWN's closing orders).
  announce_position(self, book_symbol(o), o.correlation);
  persist(self, std::move(written));
  evaluate(self);
}

namespace {

// --- start-up --------------------------------------------------------------------------------

void on_scopes(self_pointer self, const scope_table& table) {
  auto& st = self->state;
  // The controller's own messages only (its answer and its broadcasts), the newest version.
  if (st.scopes_known && table.version < st.scopes_version)
    return;
  st.scopes_known = true;
  st.scopes_version = table.version;
  st.scoped.rebuild(table);
}

void register_with_controller(self_pointer self) {
  auto& st = self->state;
  st.registration.attempt(self, st.emergency, st.log,
                          [self](level_change& current) { self->state.level.take(current); });
}

// The scoped halts: the whole table now and every change of it; retried until the scope
// controller has read its stored tables.
void watch_scopes(self_pointer self) {
  auto& st = self->state;
  if (!st.scopes)
    return;
  self->request(st.scopes, std::chrono::seconds(5), watch_scopes_atom::value,
                caf::actor_cast<caf::actor>(self))
      .then(
          [self](scope_table& table) { on_scopes(self, table); },
          [self](caf::error&) { self->delayed_send(self, retry_after, watch_again_atom::value); });
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

// The one key every node wrote its book to before books were per node.
constexpr const char* shared_book_key = "risk:state";

void mark_from_cache(self_pointer self);

void on_loaded(self_pointer self, const maybe_value& stored) {
  auto& s = self->state;
  std::string why;
  if (stored.found && !s.book.from_json(stored.json, why)) {
    s.log.critical("the persisted risk book is unreadable; halting", {{"problem", why}});
    raise_level(self, emergency_level::halt, "the persisted risk book could not be read: " + why);
  }
  if (!stored.found || !why.empty())
    s.book.start_afresh();
  s.loaded = true;
  roll_day(self, now_us());
  s.log.info("risk book loaded", {{"key", s.book_key},
                                  {"day", s.book.day()},
                                  {"fills", s.book.fills()},
                                  {"positions", s.book.positions().size()},
                                  {"equity", s.book.equity()}});
  evaluate(self);
  refuse_unlisted_venues(self);
  reconcile(self);
  mark_from_cache(self);
}

// No book of this node's yet, but one under the key all nodes once shared: whose it is cannot be
// told, so it is not taken -- the node starts afresh, halted, and says what to do.
void refuse_shared_book(self_pointer self) {
  auto& st = self->state;
  auto reason = std::string{"a risk book under the shared key "} + shared_book_key
                + " (written before books were kept per node) was not taken: if it is this "
                  "node's, rename it to "
                + st.book_key
                + " (redis-cli RENAME, with the key prefix) and restart; if not, "
                  "delete it. Resume once settled.";
  st.log.critical("an old shared risk book was found; halting", {{"key", shared_book_key}});
  raise_level(self, emergency_level::halt, reason);
}

void load(self_pointer self) {
  auto& st = self->state;
  self->request(st.store, std::chrono::seconds(5), get_many_atom::value,
                std::vector<std::string>{st.book_key, shared_book_key})
      .then(
          [self](std::vector<maybe_value>& stored) {
            if (stored.size() != 2) {
              self->state.log.warn("the store answered the wrong number of values; retrying");
              self->delayed_send(self, retry_after, load_atom::value);
              return;
            }
            if (!stored[0].found && stored[1].found)
              refuse_shared_book(self);
            on_loaded(self, stored[0]);
          },
          [self](caf::error& err) {
            self->state.log.warn("cannot read the risk book yet; orders are refused until it "
                                 "is read",
                                 {{"error", self->system().render(err)}});
            self->delayed_send(self, retry_after, load_atom::value);
          });
}

// --- the standard channels ------------------------------------------------------------------

// --- handlers --------------------------------------------------------------------------------

caf::result<order_result> on_submit(self_pointer self, order o) {
  auto taken = std::chrono::steady_clock::now();
  auto now = now_us();
  if (o.venue == self->state.options.endpoint)
    o.venue.clear(); // the node's own endpoint, named: booked as an order without a venue
  if (auto refused = check(self, o, now)) {
    auto result = refuse(self, o, std::move(*refused));
    if (self->state.metrics)
      self->state.metrics->record(result, micros_since(taken));
    announce(self, o, result);
    return result;
  }
  self->state.book.count_trade(now);
  auto rp = self->make_response_promise<order_result>();
  auto done = announced(self, o, answer_later(self, rp));
  execute(self, std::move(o), std::move(done));
  return rp;
}

caf::result<order_result> on_cancel(self_pointer self, std::string client_order_id, bool risk_off) {
  if (client_order_id.empty())
    return order_result{"",
                        order_outcome::rejected,
                        reject_code::invalid_order,
                        "invalid_order: a cancel needs a client order id",
                        0,
                        0,
                        0};
  // Before the journal is read, where an order went is not known yet (a venue's order would be
  // cancelled at the node's own exchange, which never saw it): moments after a start.
  if (self->state.options.journal && !self->state.journal.read)
    return order_result{client_order_id,
                        order_outcome::failed,
                        reject_code::reconciling,
                        "reconciling: the order journal is being read; cancel again in a moment",
                        0,
                        0,
                        0};
  // The kill switch's cancels, and every cancel from REDUCE_ONLY up, take risk off: never
  // throttled.
  if (!risk_off && self->state.level.level() < emergency_level::reduce_only)
    if (auto throttled = self->state.throttle.admit_cancel(steady_us()))
      return order_result{client_order_id,
                          order_outcome::rejected,
                          throttled->code,
                          std::move(throttled->reason),
                          0,
                          0,
                          0};
  auto rp = self->make_response_promise<order_result>();
  cancel(self, client_order_id, answer_later(self, rp), risk_off);
  return rp;
}

caf::result<flatten_report> on_flatten(self_pointer self, const std::string& symbol,
                                       const std::string& reason) {
  auto& st = self->state;
  if (!st.loaded || !st.journal.reconciled)
    return make_error(errc::subsystem_unavailable,
                      "the risk book is still being read or reconciled; flatten again shortly");
  if (st.level.level() == emergency_level::shutdown)
    return make_error(errc::shutting_down, "SHUTDOWN closes every position itself");
  if (st.flattening)
    return make_error(errc::invalid_argument,
                      "a flatten is in progress; ask again once it has reported");
  if (reason.empty())
    return make_error(errc::invalid_argument, "a flatten needs a reason");
  st.log.warn("flatten requested",
              {{"symbol", symbol.empty() ? std::string{"*"} : symbol}, {"reason", reason}});
  auto rp = self->make_response_promise<flatten_report>();
  flatten_positions(self, symbol, reason,
                    [rp](flatten_report& report) mutable { rp.deliver(std::move(report)); });
  return rp;
}

void on_level_change(self_pointer self, const level_change& change) {
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
}

// The price a market event quotes: its price, its last, or the middle of bid and ask; 0 when
// it quotes none.
double market_price(const json& body) {
  auto number = [&](const char* name) {
    return number_field(body, name);
  };
  double price = number("price");
  if (price <= 0)
    price = number("last");
  if (price <= 0) {
    auto bid = number("bid");
    auto ask = number("ask");
    if (bid > 0 && ask > 0)
      price = (bid + ask) / 2;
  }
  return price;
}

// A market price for a symbol, through the mark filter.
void take_price(self_pointer self, const std::string& symbol, double price) {
  auto& st = self->state;
  auto verdict = st.marks.consider(symbol, price, st.book.mark(symbol, 0.0), tracked(st, symbol));
  if (verdict != mark_filter::verdict::taken) {
    // Said once in a hundred: a feed that keeps sending a fake price must not flood the channel.
    if (verdict == mark_filter::verdict::held && ++st.marks_held % 100 == 1) {
      st.log.warn("a market price far from the last mark is held until others confirm it",
                  {{"symbol", symbol}, {"price", price}, {"held_so_far", st.marks_held}});
      publish_update(self, "trading.alerts",
                     {{"type", "PRICE_ALERT"},
                      {"symbol", symbol},
                      {"price", price},
                      {"mark", st.book.mark(symbol, 0.0)},
                      {"severity", "warning"},
                      {"message", "a price far from the last mark, held until others confirm it"}},
                     correlation_id{});
    }
    return;
  }
  st.book.set_mark(symbol, price);
  if (st.loaded)
    evaluate(self);
}

void on_market(self_pointer self, const event& ev) {
  if (ev.topic.rfind("market.", 0) != 0)
    return;
  auto symbol = ev.topic.substr(7);
  auto& st = self->state;
  // A symbol the monitor does not mark is dropped before its payload is parsed: anyone may
  // publish on market.*. Only what the cache read marks is remembered (a set of every symbol
  // anyone publishes would grow without bound).
  if (!tracked(st, symbol))
    return;
  auto body = parse_json_within(ev.json);
  if (!body.is_object())
    return;
  st.marked_live.insert(symbol);
  take_price(self, symbol, market_price(body));
}

// After a restart the book is marked from the quote cache (quote:<symbol>, written by the market
// with a TTL: at most that old) rather than from the marks it saved, however old those are, or
// waiting for each symbol's next tick: equity, drawdown and exposure are current at once. A
// symbol a tick has marked meanwhile keeps that newer mark.
void mark_from_cache(self_pointer self) {
  auto& st = self->state;
  std::set<std::string> symbols = st.symbols;
  for (const auto& p : st.book.position_statuses())
    symbols.insert(market_symbol(p.symbol));
  if (symbols.empty())
    return;
  std::vector<std::string> names(symbols.begin(), symbols.end());
  std::vector<std::string> keys;
  for (const auto& symbol : names)
    keys.push_back(quote_cache_key(symbol));
  self->request(st.store, std::chrono::seconds(5), get_many_atom::value, std::move(keys))
      .then(
          [self, names](std::vector<maybe_value>& values) {
            for (size_t i = 0; i < values.size() && i < names.size(); ++i) {
              quote q;
              std::string why;
              // The key says whose quote it is: a value that says otherwise is not taken.
              if (values[i].found && decode_quote(values[i].json, q, why) && q.symbol == names[i]
                  && self->state.marked_live.count(names[i]) == 0)
                take_price(self, names[i], q.last);
            }
          },
          [](caf::error&) {}); // no cache: the next ticks mark the book
}

risk_status status_of(const monitor_state& st) {
  risk_status s;
  s.level = st.level.level();
  // What is read at start: the book, and the scoped halts (orders wait for both).
  s.loaded = st.loaded && (!st.scopes || st.scopes_known);
  s.equity = st.book.equity();
  s.peak_equity = st.book.peak_equity();
  s.realized_pnl = st.book.realized_pnl();
  s.unrealized_pnl = st.book.unrealized_pnl();
  s.daily_pnl = s.equity - st.book.day_start_equity();
  s.trading_day = st.book.day();
  s.positions = st.book.position_statuses();
  s.limits = st.book.limits(now_us());
  s.orders_filled = st.filled;
  s.orders_rejected = st.rejected;
  s.orders_failed = st.failed;
  s.book_fills = st.book.fills();
  s.reconciled = st.journal.reconciled;
  s.journal_open = st.journal.open.size();
  s.outcome_unknown = st.journal.unknown.size();
  s.reconciled_orders = st.journal.reconciled_orders;
  s.reconciled_fills = st.journal.reconciled_fills;
  s.reconcile_problem = st.journal.problem;
  s.flattens = st.flattens;
  s.positions_flattened = st.positions_flattened;
  return s;
}

void on_flush(self_pointer self) {
  self->state.flush_queued = false;
  write_book(self);
}

void on_housekeeping(self_pointer self) {
  if (self->state.loaded)
    roll_day(self, now_us());
  // Outcomes no write has carried yet (orders that ended without a fill, or a write that
  // failed): written now, once a second at most -- a store that refuses at once (Redis away) is
  // not asked again at mailbox speed.
  auto& st = self->state;
  if (!st.journal.outcomes.empty() && st.writes.empty() && !st.flush_queued)
    persist(self);
  give_up_overdue_writes(self);
  journal_housekeeping(self);
  self->delayed_send(self, housekeeping_interval, roll_atom::value);
}

monitor_impl::behavior_type risk_monitor(self_pointer self, risk_options options,
                                         state_store_actor store, event_bus_actor bus,
                                         emergency_actor emergency, breaker_registry_actor breakers,
                                         std::shared_ptr<order_metrics> metrics,
                                         scope_actor scopes) {
  exit_with_exception_text(self);
  auto& fresh = self->state;
  fresh.options = std::move(options);
  fresh.metrics = std::move(metrics);
  fresh.book_key = "node:" + fresh.options.node_name + ":risk:state";
  fresh.journal.key = "node:" + fresh.options.node_name + ":journal";
  fresh.journal.reconciled = !fresh.options.journal;
  fresh.book = risk_book{fresh.options};
  fresh.symbols.insert(fresh.options.symbols.begin(), fresh.options.symbols.end());
  fresh.marks = mark_filter{{fresh.options.max_mark_jump_percent, 2}};
  fresh.throttle = order_throttle{
      {fresh.options.throttle_orders_per_bot, fresh.options.throttle_orders_per_node,
       fresh.options.throttle_cancels_per_node, fresh.options.throttle_window_ms * 1000}};
  fresh.store = std::move(store);
  fresh.bus = std::move(bus);
  fresh.emergency = std::move(emergency);
  fresh.breakers = std::move(breakers);
  fresh.scopes = std::move(scopes);
  register_with_controller(self);
  watch_scopes(self);
  subscribe_market(self);
  load(self);
  find_breaker(self);
  self->set_down_handler([self](caf::down_msg& down) { on_down(self, down); });
  self->delayed_send(self, housekeeping_interval, roll_atom::value);
  return {
      [self](submit_order_atom, order& o) { return on_submit(self, std::move(o)); },
      [self](cancel_order_atom, std::string& id) { return on_cancel(self, std::move(id), false); },
      [self](cancel_order_atom, std::string& id, bool risk_off) {
        return on_cancel(self, std::move(id), risk_off);
      },
      [self](flatten_atom, const std::string& symbol, const std::string& reason) {
        return on_flatten(self, symbol, reason);
      },
      [self](announce_fence_atom, const std::string& bot, uint64_t fence) {
        auto rp = self->make_response_promise<bool>();
        announce_fence(self, bot, fence, [rp](bool taken) mutable { rp.deliver(taken); });
        return rp;
      },
      [self](const level_change& change) { on_level_change(self, change); },
      [self](const event& ev) { on_market(self, ev); },
      [self](limits_atom) { return self->state.book.limits(now_us()); },
      [self](status_atom) { return status_of(self->state); },
      [self](load_atom) { load(self); },
      [self](register_again_atom) { register_with_controller(self); },
      [self](market_atom) { subscribe_market(self); },
      [self](find_breaker_atom) { find_breaker(self); },
      [self](flush_atom) { on_flush(self); },
      [self](reconcile_atom) { reconcile(self); },
      [self](watch_again_atom) { watch_scopes(self); },
      [self](const scope_table& table) {
        // A local actor's only (the scope controller's): a peer speaks through the cluster.
        auto sender = self->current_sender();
        if (sender && sender->node() == self->node())
          on_scopes(self, table);
      },
      [self](roll_atom) { on_housekeeping(self); },
  };
}

} // namespace

void refuse_unlisted_venues(self_pointer self) {
  auto& st = self->state;
  // risk.endpoint too: a book written when it was a venue closes there all the same.
  auto listed = order_endpoints(st.options);
  std::set<std::string> unlisted;
  for (const auto& [symbol, p] : st.book.positions())
    if (auto venue = venue_of(symbol);
        !venue.empty() && std::find(listed.begin(), listed.end(), venue) == listed.end())
      unlisted.insert(venue); // a plain name of at most 64 bytes (risk_book::from_json)
  if (unlisted.empty())
    return;
  auto names = json::array();
  for (const auto& venue : unlisted)
    if (names.size() < 5)
      names.push_back(venue);
  st.log.critical("the risk book holds positions on venues risk.venues does not list; halting",
                  {{"venues", names}});
  raise_level(self, emergency_level::halt,
              "the risk book holds positions on venues risk.venues does not list ("
                  + dump_json(names)
                  + "): nothing here can close them. List the venues again, or settle the "
                    "positions with those exchanges; then resume");
}

} // namespace brokedancer::monitor

namespace brokedancer {

risk_monitor_actor spawn_risk_monitor(caf::actor_system& sys, risk_options options,
                                      state_store_actor store, event_bus_actor bus,
                                      emergency_actor emergency, breaker_registry_actor breakers,
                                      std::shared_ptr<order_metrics> metrics, scope_actor scopes) {
  return sys.spawn(monitor::risk_monitor, std::move(options), std::move(store), std::move(bus),
                   std::move(emergency), std::move(breakers), std::move(metrics),
                   std::move(scopes));
}

} // namespace brokedancer
