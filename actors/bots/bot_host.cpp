#include "actors/bots/bot_host.hpp"

#include <cmath>
#include <functional>
#include <random>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/bots/quote_cache.hpp"
#include "actors/emergency/registration.hpp"
#include "actors/limiter/request_budget.hpp"
#include "actors/resilience/retry_policy.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/json_fields.hpp"
#include "core/json_text.hpp"
#include "messages/channels.hpp"
#include "messages/correlation.hpp"
#include "messages/errors.hpp"
#include "messages/market.hpp"
#include "messages/reserved_topics.hpp"

namespace brokedancer {

std::string bot_state_key(const std::string& bot_id) {
  return "bot:" + bot_id + ":state";
}

std::string bot_holdings_key(const std::string& bot_id) {
  return "bot:" + bot_id + ":holdings";
}

namespace {

using json = nlohmann::json;
using timer_atom = caf::atom_constant<caf::atom("bot_timer")>;
using load_atom = caf::atom_constant<caf::atom("bot_load")>;
// Runs what the host deferred to its next message (see `defer`).
using deferred_atom = caf::atom_constant<caf::atom("bot_defer")>;
// Sent to itself when its registration with the scope controller should be tried again.
using scopes_again_atom = caf::atom_constant<caf::atom("bot_scope")>;

constexpr auto request_timeout = std::chrono::seconds(30);
constexpr auto order_timeout = std::chrono::minutes(2);

using holding = bot_holding;

class host_context;

struct host_state {
  bot_config config;
  json params;
  std::shared_ptr<strategy> instance;
  std::shared_ptr<bot_record> record;
  bot_services services;
  std::string order_ids; // the prefix of this incarnation's client order ids
  // This incarnation's token on the locks it takes: random, so that no other bot (or a later
  // incarnation of this one) can extend or release them.
  std::string lock_token;
  logger log{"bot"};
  std::unique_ptr<host_context> context;

  level_tracker level;
  // What the scoped halts say of this bot (messages/halt_scope.hpp); nothing until the scope
  // controller has answered -- the risk monitor refuses what they cover meanwhile.
  bot_scope_view scopes;
  // A node may host thousands of bots, all registering at once: they retry slowly.
  emergency_registration registration{
      "bot cannot register with the emergency controller yet",
      {std::chrono::seconds(30), std::chrono::seconds(1), /*warn_at=*/1, /*warn_every=*/1}};
  bool loaded = false;
  int load_attempts = 0;
  bool fence_asked = false;
  bool fence_announced = false;
  bool started = false;
  bool ready_sent = false;
  json restored;
  int pending_subscriptions = 0;

  uint64_t next_order = 0;
  std::unordered_map<std::string, order> open;
  // Orders waiting for the order cap's answer: not sent yet, so a cancel ends them here.
  std::unordered_set<std::string> awaiting_budget;
  // Orders ending unsent (refused by the cap, or cancelled while they waited for it) whose
  // answer is deferred: a cancel of one must not reach the exchange.
  std::unordered_set<std::string> ending_unsent;
  std::optional<budget_keeper> order_budget;
  std::optional<request_budget> order_cap; // bot:<id>:orders, with services.order_budget
  // Callbacks to the strategy that would otherwise run inside one of its own calls (an order
  // refused at once by the order cap, a cancel of one still waiting for it): run from the
  // host's next message instead, one at a time as every callback.
  std::vector<std::function<void()>> deferred;
  std::unordered_map<std::string, holding> holdings;
};

using self_pointer = caf::stateful_actor<host_state>*;

// The counters the supervisor reads; every write holds the record's mutex.
template <class F>
void update_stats(host_state& st, F&& f) {
  std::lock_guard<std::mutex> guard{st.record->mutex};
  f(st.record->stats);
}

// The bot's open positions at the last prices it saw.
double unrealized(const host_state& st) {
  double sum = 0;
  for (const auto& [symbol, h] : st.holdings)
    sum += unrealized_pnl(h.held, h.mark);
  return sum;
}

// Whether the bot trades at all: the node's level and the scopes over the whole bot allow it.
bool bot_trades(const host_state& st) {
  return trading_allowed(st.level.level()) && trading_allowed(st.scopes.level);
}

void maybe_ready(self_pointer self) {
  auto& st = self->state;
  if (!st.started || st.ready_sent || st.pending_subscriptions > 0)
    return;
  st.ready_sent = true;
  update_stats(st, [&](bot_stats& s) { s.state = bot_trades(st) ? "running" : "halted"; });
  if (st.services.supervisor)
    self->send(st.services.supervisor, bot_ready_atom::value, st.config.id);
}

void on_order_answer(self_pointer self, const std::string& client_order_id, order_result& result);
void start_when_ready(self_pointer self);

void defer(self_pointer self, std::function<void()> fn) {
  self->state.deferred.push_back(std::move(fn));
  if (self->state.deferred.size() == 1)
    self->send(self, deferred_atom::value);
}

void run_deferred(self_pointer self) {
  auto due = std::move(self->state.deferred);
  self->state.deferred.clear();
  for (auto& fn : due)
    fn();
}

// An order that never left ends with `result`, from the host's next message.
void end_unsent(self_pointer self, order_result result) {
  self->state.ending_unsent.insert(result.client_order_id);
  defer(self, [self, result]() mutable {
    self->state.ending_unsent.erase(result.client_order_id);
    on_order_answer(self, result.client_order_id, result);
  });
}

void send_order(self_pointer self, const order& o) {
  auto id = o.client_order_id;
  // No timeout here (one costs a round through CAF's clock thread): the risk monitor answers
  // by the endpoint's deadline, and answers every order it holds if it stops.
  self->request(self->state.services.risk, caf::infinite, submit_order_atom::value, o)
      .then([self, id](order_result& result) { on_order_answer(self, id, result); },
            [self, id](caf::error& err) {
              order_result result{
                  id, order_outcome::failed, reject_code_of(err), self->system().render(err), 0, 0,
                  0};
              on_order_answer(self, id, result);
            });
}

// The bot's order cap first: an order beyond it is refused here, never sent.
void spend_order_budget(self_pointer self, const order& o) {
  auto& st = self->state;
  const auto& budget = *st.order_cap;
  st.order_budget->spend(
      self, st.services.limiter, budget, st.log, [self, o, &budget](const rate_decision& decision) {
        if (self->state.awaiting_budget.erase(o.client_order_id) == 0)
          return; // cancelled meanwhile
        if (decision.allowed) {
          send_order(self, o);
          return;
        }
        order_result result{
            o.client_order_id,
            order_outcome::rejected,
            reject_code::rate_limited,
            "rate_limited: the bot's order cap (" + std::to_string(budget.limit.limit) + " per "
                + std::to_string(budget.limit.window_ms) + " ms) is spent; the next order fits in "
                + std::to_string(decision.retry_after_ms) + " ms",
            0,
            0,
            0};
        end_unsent(self, std::move(result));
      });
}

// Asks the exchange (through the risk monitor) not to execute an order. `risk_off`: the kill
// switch's cancel (a HALT, a scope, a cancel-all), which the monitor never throttles; a
// strategy's own cancels may be.
void cancel_order(self_pointer self, const std::string& client_order_id, bool risk_off) {
  auto& st = self->state;
  if (st.ending_unsent.count(client_order_id) > 0)
    return; // never sent, and its answer is on its way
  if (st.awaiting_budget.erase(client_order_id) > 0) {
    end_unsent(self, {client_order_id, order_outcome::cancelled, reject_code::none,
                      "cancelled before it was sent", 0, 0, 0});
    return;
  }
  self->request(st.services.risk, order_timeout, cancel_order_atom::value, client_order_id,
                risk_off)
      .then(
          [self, client_order_id](order_result& result) {
            if (result.code == reject_code::throttled)
              self->state.log.warn(
                  "a cancel was throttled",
                  {{"bot", self->state.config.id}, {"client_order_id", client_order_id}});
          },
          [self, client_order_id](caf::error& err) {
            self->state.log.warn("a cancel could not be sent",
                                 {{"bot", self->state.config.id},
                                  {"client_order_id", client_order_id},
                                  {"error", self->system().render(err)}});
          });
}

class host_context final : public bot_context {
public:
  explicit host_context(self_pointer self) : self_(self) {}

  const std::string& id() const override {
    return self_->state.config.id;
  }

  const json& params() const override {
    return self_->state.params;
  }

  const logger& log() const override {
    return self_->state.log;
  }

  std::string submit(const std::string& symbol, order_side side, double quantity,
                     double limit_price) override {
    auto& st = self_->state;
    // A symbol's scope, or the bot's: refused here, never sent (the risk monitor would too).
    if (!brokedancer::trading_allowed(st.level.level())
        || level_for(st.scopes, symbol) >= emergency_level::halt) {
      update_stats(st, [](bot_stats& s) {
        ++s.rejected;
        ++s.rejections[to_string(reject_code::halted)];
      });
      return {};
    }
    if (!st.services.lease_token.empty() && !still_owned(st)) {
      update_stats(st, [](bot_stats& s) {
        ++s.rejected;
        ++s.rejections[to_string(reject_code::not_owner)];
      });
      return {};
    }
    order o;
    o.bot_id = st.config.id;
    o.symbol = symbol;
    o.side = side;
    o.quantity = quantity;
    o.price = limit_price;
    o.client_order_id = st.order_ids + std::to_string(++st.next_order);
    o.fence = st.services.fence;
    o.strategy = st.config.strategy;
    auto id = o.client_order_id;
    update_stats(st, [](bot_stats& s) { ++s.orders; });
    st.open.emplace(id, o);
    if (st.order_budget) {
      st.awaiting_budget.insert(id);
      spend_order_budget(self_, o);
    } else {
      send_order(self_, o);
    }
    return id;
  }

  void cancel(const std::string& client_order_id) override {
    cancel_order(self_, client_order_id, false);
  }

  std::vector<std::string> open_orders() const override {
    std::vector<std::string> ids;
    for (const auto& [id, o] : self_->state.open)
      ids.push_back(id);
    return ids;
  }

  double position(const std::string& symbol) const override {
    auto found = self_->state.holdings.find(symbol);
    return found == self_->state.holdings.end() ? 0.0 : found->second.held.quantity;
  }

  bool trading_allowed() const override {
    return bot_trades(self_->state);
  }

  emergency_level level() const override {
    return self_->state.level.level();
  }

  void subscribe(const std::string& topic_or_pattern) override {
    auto& st = self_->state;
    ++st.pending_subscriptions;
    auto self = self_;
    self_
        ->request(st.services.bus, request_timeout, subscribe_atom::value, topic_or_pattern,
                  caf::actor_cast<caf::actor>(self_))
        .then(
            [self](uint64_t) {
              --self->state.pending_subscriptions;
              maybe_ready(self);
            },
            [self, topic_or_pattern](caf::error& err) {
              // Without its events the bot would sit idle unnoticed: crash, and be restarted.
              self->quit(make_error(errc::bus_unavailable,
                                    "bot " + self->state.config.id + " could not subscribe to "
                                        + topic_or_pattern + ": " + self->system().render(err)));
            });
  }

  void subscribe_stream(const std::string& stream) override {
    auto& st = self_->state;
    auto self = self_;
    auto failed = [self, stream](const std::string& why) {
      // As for a topic: without its ticks the bot would sit idle unnoticed.
      self->quit(make_error(errc::subsystem_unavailable, "bot " + self->state.config.id
                                                             + " could not subscribe to stream "
                                                             + stream + ": " + why));
    };
    if (!st.services.stream) {
      failed("this node has no market-data stream");
      return;
    }
    ++st.pending_subscriptions;
    self_
        ->request(st.services.stream, request_timeout, stream_sub_atom::value, stream,
                  caf::actor_cast<caf::actor>(self_))
        .then(
            [self](bool) {
              --self->state.pending_subscriptions;
              maybe_ready(self);
            },
            [self, failed](caf::error& err) { failed(self->system().render(err)); });
  }

  void cached_quote(const std::string& symbol,
                    std::function<void(std::optional<quote>)> then) override {
    auto self = self_;
    self_
        ->request(self_->state.services.store, request_timeout, get_atom::value,
                  quote_cache_key(symbol))
        .then(
            [then, symbol](const maybe_value& found) {
              quote q;
              std::string why;
              // Anyone who can write the store can write this key: read it as outside input.
              if (found.found && decode_quote(found.json, q, why) && q.symbol == symbol)
                then(q);
              else
                then(std::nullopt);
            },
            [self, then, symbol](caf::error& err) {
              self->state.log.warn("the quote cache could not be read",
                                   {{"bot", self->state.config.id},
                                    {"symbol", symbol},
                                    {"error", self->system().render(err)}});
              then(std::nullopt);
            });
  }

  void bars(const std::string& symbol, timeframe frame, uint32_t n,
            std::function<void(std::optional<std::vector<ohlcv_bar>>)> then) override {
    auto& st = self_->state;
    auto self = self_;
    if (!st.services.series) {
      then(std::nullopt);
      return;
    }
    self_->request(st.services.series, request_timeout, bars_last_atom::value, symbol, frame, n)
        .then([then](std::vector<ohlcv_bar>& found) { then(std::move(found)); },
              [self, then, symbol](caf::error& err) {
                self->state.log.warn("bars could not be read",
                                     {{"bot", self->state.config.id},
                                      {"symbol", symbol},
                                      {"error", self->system().render(err)}});
                then(std::nullopt);
              });
  }

  bool publish_signal(const std::string& symbol, const std::string& signal, double confidence,
                      const json& extra) override {
    auto& st = self_->state;
    auto data = extra.is_object() ? extra : json::object();
    data.update(trade_signal(symbol, signal, confidence));
    data.erase("from_channel"); // the bridge's mark for signals from Redis: never a bot's
    data["type"] = "TRADE_SIGNAL";
    data["bot_id"] = st.config.id;
    data["strategy"] = st.config.strategy;
    if (auto problem = type_check(channel_type::trade_signal, data); !problem.empty()) {
      st.log.warn("a signal was not published", {{"bot", st.config.id}, {"why", problem}});
      return false;
    }
    auto self = self_;
    self_
        ->request(st.services.bus, request_timeout, publish_atom::value,
                  std::string{"trading.signals"}, dump_json(data), correlation_id{})
        .then([](uint64_t) {},
              [self](caf::error& err) {
                self->state.log.warn(
                    "a signal could not be published",
                    {{"bot", self->state.config.id}, {"error", self->system().render(err)}});
              });
    return true;
  }

  void subscribe_signals() override {
    subscribe("trading.signals");
  }

  void publish_alert(const std::string& category, const std::string& message,
                     const std::string& severity) override {
    auto& st = self_->state;
    json data{{"type", category == "price" ? "PRICE_ALERT" : "RISK_ALERT"},
              {"category", category},
              {"message", message},
              {"severity", severity},
              {"bot_id", st.config.id},
              {"strategy", st.config.strategy}};
    auto self = self_;
    self_
        ->request(st.services.bus, request_timeout, publish_atom::value,
                  std::string{"trading.alerts"}, dump_json(data), correlation_id{})
        .then([](uint64_t) {},
              [self](caf::error& err) {
                self->state.log.warn(
                    "an alert could not be published",
                    {{"bot", self->state.config.id}, {"error", self->system().render(err)}});
              });
  }

  void publish(const std::string& topic, const json& payload) override {
    auto self = self_;
    // What the infrastructure says on these topics, others act on: a bot does not speak there.
    if (is_reserved_topic(topic)) {
      self_->state.log.warn("a bot may not publish on the infrastructure's topics",
                            {{"bot", self_->state.config.id}, {"topic", topic}});
      return;
    }
    self_
        ->request(self_->state.services.bus, request_timeout, publish_atom::value, topic,
                  dump_json(payload), correlation_id{})
        .then([](uint64_t) {},
              [self, topic](caf::error& err) {
                self->state.log.warn("an event could not be published",
                                     {{"bot", self->state.config.id},
                                      {"topic", topic},
                                      {"error", self->system().render(err)}});
              });
  }

  void save(const json& state) override {
    put_key(bot_state_key(self_->state.config.id), state, 0);
  }

  void put(const std::string& key, const json& value, std::chrono::milliseconds ttl) override {
    put_key("bot:" + self_->state.config.id + ":" + key, value, ttl.count());
  }

  void get(const std::string& key, std::function<void(std::optional<json>)> then) override {
    self_
        ->request(self_->state.services.store, request_timeout, get_atom::value,
                  "bot:" + self_->state.config.id + ":" + key)
        .then(
            [then](maybe_value& value) {
              if (!value.found) {
                then(std::nullopt);
                return;
              }
              auto parsed = parse_json_within(value.json);
              then(parsed.is_discarded() ? std::nullopt : std::optional<json>{parsed});
            },
            [then](caf::error&) { then(std::nullopt); });
  }

  void lock(const std::string& name, std::chrono::milliseconds ttl,
            std::function<void(bool, uint64_t)> then) override {
    auto& st = self_->state;
    self_
        ->request(st.services.store, request_timeout, acquire_lease_atom::value, "lock:" + name,
                  st.config.id, st.lock_token, static_cast<int64_t>(ttl.count()))
        .then([then](lease_grant& grant) { then(grant.held, grant.held ? grant.fence : 0); },
              [then](caf::error&) { then(false, 0); });
  }

  void extend_lock(const std::string& name, std::chrono::milliseconds ttl,
                   std::function<void(bool)> then) override {
    auto& st = self_->state;
    self_
        ->request(st.services.store, request_timeout, renew_lease_atom::value, "lock:" + name,
                  st.lock_token, static_cast<int64_t>(ttl.count()))
        .then([then](bool held) { then(held); }, [then](caf::error&) { then(false); });
  }

  void unlock(const std::string& name, std::function<void(bool)> then) override {
    auto& st = self_->state;
    self_
        ->request(st.services.store, request_timeout, release_lease_atom::value, "lock:" + name,
                  st.lock_token)
        .then(
            [then](bool released) {
              if (then)
                then(released);
            },
            [then](caf::error&) {
              if (then)
                then(false);
            });
  }

  void take_budget(const std::string& name, const rate_limit& limit,
                   std::function<void(const rate_decision&)> then, uint32_t cost) override {
    auto self = self_;
    auto& st = self_->state;
    auto refused = [then, limit] {
      then(rate_decision{false, 0, retry_within_bounds(limit.window_ms)});
    };
    auto problem = st.services.limiter ? check_rate_request("strategy:" + name, limit, cost)
                                       : std::string{"no rate limiter"};
    if (!problem.empty()) {
      st.log.warn("a budget cannot be taken; counted as refused",
                  {{"bot", st.config.id}, {"budget", name}, {"error", problem}});
      defer(self, refused);
      return;
    }
    // No CAF timeout (a round through its clock thread): the limiter answers within
    // limiter_answer_timeout, or is down, which CAF answers at once.
    self_
        ->request(st.services.limiter, caf::infinite, take_atom::value, "strategy:" + name, limit,
                  cost)
        .then([then](rate_decision& decision) { then(decision); },
              [self, name, refused](caf::error& err) {
                self->state.log.warn("a budget could not be taken; counted as refused",
                                     {{"bot", self->state.config.id},
                                      {"budget", name},
                                      {"error", self->system().render(err)}});
                refused();
              });
  }

  void after(std::chrono::milliseconds delay, const std::string& name) override {
    self_->delayed_send(self_, delay, timer_atom::value, name);
  }

  const quote* quote_of(const event& ev) override {
    return quotes.of(ev);
  }

  quote_cache quotes; // the host begins and ends each event in it

  // Writes one of the bot's keys: fenced by its lease when it has one, so that a node that lost
  // the bot cannot write over the new owner's state.
  void put_key(std::string key, const json& value, int64_t ttl_ms) {
    auto self = self_;
    auto& services = self_->state.services;
    auto failed = [self, key](caf::error& err) {
      self->state.log.warn(
          "bot state could not be saved",
          {{"bot", self->state.config.id}, {"key", key}, {"error", self->system().render(err)}});
    };
    if (services.lease_token.empty())
      self_
          ->request(services.store, request_timeout, set_atom::value, key, dump_json(value), ttl_ms)
          .then([] {}, failed);
    else
      self_
          ->request(services.store, request_timeout, set_fenced_atom::value, key, dump_json(value),
                    ttl_ms, services.lease_name, services.lease_token)
          .then([] {}, failed);
  }

private:
  static bool still_owned(host_state& st) {
    std::lock_guard<std::mutex> guard{st.record->mutex};
    return std::chrono::steady_clock::now() < st.record->owned_until;
  }

  self_pointer self_;
};

// Books a fill into the bot's own holding of its symbol; returns the P&L it realized, before
// the fee.
double book_own_fill(host_state& st, const order& o, const order_result& result) {
  auto& h = st.holdings[o.symbol];
  double realized = apply_fill(h.held, o.side, result.filled_quantity, result.fill_price);
  h.mark = result.fill_price;
  auto booked = h;
  if (is_flat(booked.held))
    st.holdings.erase(o.symbol);
  std::lock_guard<std::mutex> guard{st.record->mutex};
  if (is_flat(booked.held))
    st.record->holdings.erase(o.symbol);
  else
    st.record->holdings[o.symbol] = booked;
  return realized;
}

void count_answer(host_state& st, const order_result& result, double realized) {
  auto open_pnl = unrealized(st);
  std::lock_guard<std::mutex> guard{st.record->mutex};
  auto& s = st.record->stats;
  switch (result.outcome) {
    case order_outcome::filled:
      ++s.fills;
      s.realized_pnl += realized;
      s.fees += result.fee;
      break;
    case order_outcome::expired: ++s.expired; break;
    case order_outcome::accepted:
      // Counted as before the outcomes were typed: a rejection without a code.
      ++s.rejected;
      ++s.rejections[""];
      break;
    case order_outcome::failed:
      ++s.failed;
      ++s.rejections[to_string(result.code)];
      break;
    default:
      ++s.rejected;
      ++s.rejections[to_string(result.code)];
      break;
  }
  s.unrealized_pnl = open_pnl;
}

// The bot's positions as it books them, for the node that takes the bot over.
json holdings_json(const host_state& st) {
  json holdings = json::object();
  for (const auto& [symbol, h] : st.holdings)
    holdings[symbol] = {
        {"quantity", h.held.quantity}, {"average_price", h.held.average_price}, {"mark", h.mark}};
  return holdings;
}

void save_holdings(self_pointer self) {
  self->state.context->put_key(bot_holdings_key(self->state.config.id), holdings_json(self->state),
                               0);
}

// The positions a bot saved on the node that owned it before; what is not a position is dropped.
void restore_holdings(host_state& st, const std::string& text) {
  auto stored = parse_json_within(text);
  if (!stored.is_object())
    return;
  for (const auto& [symbol, h] : stored.items()) {
    auto number = [&](const char* name) {
      return number_field(h, name);
    };
    bot_holding restored;
    restored.held.quantity = number("quantity");
    restored.held.average_price = number("average_price");
    restored.mark = number("mark");
    if (symbol.empty() || symbol.size() > 64 || !std::isfinite(restored.held.quantity)
        || restored.held.quantity == 0 || !std::isfinite(restored.held.average_price)
        || restored.held.average_price <= 0 || !std::isfinite(restored.mark))
      continue;
    st.holdings[symbol] = restored;
  }
  std::lock_guard<std::mutex> guard{st.record->mutex};
  st.record->holdings = st.holdings;
}

void on_order_answer(self_pointer self, const std::string& client_order_id, order_result& result) {
  auto& st = self->state;
  auto found = st.open.find(client_order_id);
  if (found == st.open.end())
    return; // every order is open until its one answer
  auto o = std::move(found->second);
  st.open.erase(found);
  if (!is_valid(result)) {
    // The risk monitor may be on another node, of another build: what it meant is unknown.
    st.log.warn("an order's result has an outcome or a code this build does not know",
                {{"bot", st.config.id}, {"client_order_id", client_order_id}});
    result = {client_order_id,
              order_outcome::failed,
              reject_code::call_failed,
              "the order's result could not be read; it may have been executed",
              0,
              0,
              0};
  }
  double realized = 0;
  if (result.outcome == order_outcome::filled) {
    realized = book_own_fill(st, o, result);
    save_holdings(self);
  }
  count_answer(st, result, realized);
  if (st.started)
    st.instance->on_order_result(*st.context, o, result);
}

void cancel_open_orders(self_pointer self) {
  auto& st = self->state;
  // By id, from a copy: cancelling may end an order (one still waiting for the order cap).
  for (const auto& id : st.context->open_orders())
    cancel_order(self, id, true);
}

// A bot that holds a lease tells the exchange its fence before it trades: orders of a node
// that lost the bot -- queued there when it paused -- are refused from then on, not only once
// this node's first order arrives. Started either way (an exchange that cannot be told now
// learns the fence from the first order).
void announce_fence(self_pointer self) {
  auto& st = self->state;
  st.fence_asked = true;
  self->request(st.services.risk, std::chrono::seconds(10), announce_fence_atom::value,
                st.config.id, st.services.fence)
      .then(
          [self](bool taken) {
            if (!taken)
              self->state.log.warn("the exchange did not take the bot's fence; its first order "
                                   "will tell it",
                                   {{"bot", self->state.config.id}});
            self->state.fence_announced = true;
            start_when_ready(self);
          },
          [self](caf::error& err) {
            self->state.log.warn(
                "the bot's fence could not be told to the exchange; its first "
                "order will tell it",
                {{"bot", self->state.config.id}, {"error", self->system().render(err)}});
            self->state.fence_announced = true;
            start_when_ready(self);
          });
}

void start_when_ready(self_pointer self) {
  auto& st = self->state;
  if (st.started || !st.registration.registered() || !st.loaded)
    return;
  if (!st.services.lease_token.empty() && !st.fence_announced) {
    if (!st.fence_asked)
      announce_fence(self);
    return;
  }
  st.started = true;
  st.instance->on_start(*st.context, st.restored);
  maybe_ready(self);
}

void on_registered(self_pointer self, level_change& current) {
  self->state.level.take(current);
  // Spawned or restarted while the node shuts down: nothing to do but stop.
  if (self->state.level.level() == emergency_level::shutdown) {
    self->quit();
    return;
  }
  start_when_ready(self);
}

// Working orders a scope now halts are cancelled: all of them when it covers the whole bot,
// those in a halted symbol otherwise.
void cancel_scoped_orders(self_pointer self) {
  auto& st = self->state;
  std::vector<std::string> halted;
  for (const auto& [id, o] : st.open)
    if (level_for(st.scopes, o.symbol) >= emergency_level::halt)
      halted.push_back(id);
  for (const auto& id : halted)
    cancel_order(self, id, true);
}

void on_scopes(self_pointer self, bot_scope_view& view) {
  auto& st = self->state;
  auto controller = caf::actor_cast<caf::actor>(self->current_sender());
  if (view.version >= st.scopes.version) {
    st.scopes = std::move(view);
    cancel_scoped_orders(self);
    if (st.ready_sent && st.level.level() != emergency_level::shutdown)
      update_stats(st,
                   [&](bot_stats& stats) { stats.state = bot_trades(st) ? "running" : "halted"; });
  }
  if (controller)
    self->send(caf::actor_cast<scope_actor>(controller), scope_ack_atom::value, st.scopes.version);
}

// A cancel-all: each working order (in `symbol`; empty: all) asked not to execute, answered with
// every cancel's outcome once all are in.
caf::result<std::vector<order_result>> on_cancel_open(self_pointer self,
                                                      const std::string& symbol) {
  auto& st = self->state;
  std::vector<std::string> ids;
  for (const auto& [id, o] : st.open)
    if ((symbol.empty() || o.symbol == symbol) && st.ending_unsent.count(id) == 0)
      ids.push_back(id);
  if (ids.empty())
    return std::vector<order_result>{};
  auto rp = self->make_response_promise<std::vector<order_result>>();
  auto results = std::make_shared<std::vector<order_result>>();
  auto left = std::make_shared<size_t>(ids.size());
  auto one = [rp, results, left](order_result result) mutable {
    results->push_back(std::move(result));
    if (--*left == 0)
      rp.deliver(std::move(*results));
  };
  for (const auto& id : ids) {
    if (st.awaiting_budget.count(id) > 0) {
      // Never sent: it ends here, cancelled.
      cancel_order(self, id, true);
      one({id, order_outcome::cancelled, reject_code::none, "cancelled before it was sent", 0, 0,
           0});
      continue;
    }
    self->request(st.services.risk, order_timeout, cancel_order_atom::value, id, true)
        .then([one](order_result& result) mutable { one(std::move(result)); },
              [self, one, id](caf::error& err) mutable {
                one({id, order_outcome::failed, reject_code_of(err), self->system().render(err), 0,
                     0, 0});
              });
  }
  return rp;
}

void register_scopes(self_pointer self) {
  auto& st = self->state;
  if (!st.services.scopes)
    return;
  self->request(st.services.scopes, request_timeout, register_scoped_atom::value,
                caf::actor_cast<caf::actor>(self),
                scope_subject{st.config.id, st.config.strategy, st.services.endpoint})
      .then(
          [self](bot_scope_view& view) {
            auto& now = self->state;
            if (view.version < now.scopes.version)
              return;
            now.scopes = std::move(view);
            // Registered late (a retry), the bot may have orders out in what is halted now.
            cancel_scoped_orders(self);
            if (now.ready_sent && now.level.level() != emergency_level::shutdown)
              update_stats(now, [&](bot_stats& stats) {
                stats.state = bot_trades(now) ? "running" : "halted";
              });
          },
          [self](caf::error&) {
            self->delayed_send(self, std::chrono::seconds(1), scopes_again_atom::value);
          });
}

void register_with_controller(self_pointer self) {
  auto& st = self->state;
  st.registration.attempt(self, st.services.emergency, st.log,
                          [self](level_change& current) { on_registered(self, current); },
                          {{"bot", st.config.id}});
}

void load(self_pointer self) {
  auto& st = self->state;
  std::vector<std::string> keys{bot_state_key(st.config.id), bot_holdings_key(st.config.id)};
  self->request(st.services.store, request_timeout, get_many_atom::value, keys)
      .then(
          [self](std::vector<maybe_value>& values) {
            auto& s = self->state;
            if (values.size() != 2) {
              self->quit(make_error(errc::store_unavailable, "the store answered "
                                                                 + std::to_string(values.size())
                                                                 + " values for 2 keys"));
              return;
            }
            bool first_here = false;
            {
              std::lock_guard<std::mutex> guard{s.record->mutex};
              first_here = !s.record->holdings_loaded;
              s.record->holdings_loaded = true;
            }
            if (first_here && values[1].found && s.holdings.empty())
              restore_holdings(s, values[1].json);
            auto& value = values[0];
            if (value.found) {
              s.restored = parse_json_within(value.json);
              if (s.restored.is_discarded()) {
                s.log.error("the bot's saved state cannot be read; starting afresh",
                            {{"bot", s.config.id}, {"problem", json_text_problem(value.json)}});
                s.restored = nullptr;
              }
            }
            s.loaded = true;
            start_when_ready(self);
          },
          [self](caf::error& err) {
            // Starting without its state could repeat what the bot did before, and crashing
            // would spend the bot's restarts on a store that is still connecting: it waits,
            // not trading, and asks again (up to 100 ms, doubling to 5 s; full jitter, so that
            // many bots waiting for the same store do not ask it all at once).
            auto& s = self->state;
            auto attempt = s.load_attempts++;
            if (attempt % 10 == 0)
              s.log.warn("the bot cannot read its state yet; it does not trade until it has",
                         {{"bot", s.config.id},
                          {"attempts", attempt + 1},
                          {"error", self->system().render(err)}});
            // One engine per thread: one per bot would cost the 2.5 KB of its state.
            thread_local std::mt19937_64 random{std::random_device{}()};
            const retry_settings waits{0, std::chrono::milliseconds(100), std::chrono::seconds(5)};
            self->delayed_send(self, backoff(waits, static_cast<uint32_t>(attempt) + 1, random),
                               load_atom::value);
          });
}

void mark(self_pointer self, const event& ev) {
  auto& st = self->state;
  if (st.holdings.empty() || ev.topic.rfind("market.", 0) != 0)
    return;
  auto found = st.holdings.find(ev.topic.substr(7));
  if (found == st.holdings.end())
    return;
  auto* q = st.context->quote_of(ev);
  if (!q)
    return;
  found->second.mark = q->last;
  auto open_pnl = unrealized(st);
  std::lock_guard<std::mutex> guard{st.record->mutex};
  st.record->holdings[found->first].mark = q->last;
  st.record->stats.unrealized_pnl = open_pnl;
}

// A signal reaches the strategy checked, or not at all: the channel takes them from any client.
void on_signal_event(self_pointer self, const event& ev) {
  auto& st = self->state;
  auto data = checked_trade_signal(ev.json);
  if (data.is_discarded())
    return;
  if (st.started)
    st.instance->on_signal(*st.context, data);
}

void on_event(self_pointer self, const event& ev) {
  auto& st = self->state;
  if (ev.topic == "trading.signals") {
    on_signal_event(self, ev);
    return;
  }
  st.context->quotes.begin(ev);
  mark(self, ev);
  if (st.started)
    st.instance->on_event(*st.context, ev);
  st.context->quotes.end();
}

// A request: the stream sends the next batch once this returns.
void on_ticks(self_pointer self, const std::string& stream,
              const std::vector<stream_entry>& entries) {
  auto& st = self->state;
  if (st.started)
    st.instance->on_ticks(*st.context, stream, entries);
}

void on_level_change(self_pointer self, const level_change& change) {
  auto& st = self->state;
  bool taken = st.level.take(change);
  auto controller = caf::actor_cast<caf::actor>(self->current_sender());
  if (taken) {
    auto level = st.level.level();
    if (!trading_allowed(level))
      cancel_open_orders(self);
    // Stopped before the acknowledgement goes: the controller confirms SHUTDOWN once every
    // bot has answered, and the summary read then must not catch one still "halted".
    if (level == emergency_level::shutdown)
      update_stats(st, [](bot_stats& stats) { stats.state = "stopped"; });
    else if (st.ready_sent)
      update_stats(st,
                   [&](bot_stats& stats) { stats.state = bot_trades(st) ? "running" : "halted"; });
    if (st.started)
      st.instance->on_level(*st.context, change);
  }
  if (controller)
    self->send(caf::actor_cast<emergency_actor>(controller), emergency_ack_atom::value,
               change.sequence);
  // SHUTDOWN is final: the risk monitor closes the node's positions, the bot stops. Its own
  // record of positions goes with them: a node that takes the bot over later must not think it
  // still holds what was closed here.
  if (st.level.level() == emergency_level::shutdown) {
    if (!st.holdings.empty()) {
      st.holdings.clear();
      {
        std::lock_guard<std::mutex> guard{st.record->mutex};
        st.record->holdings.clear();
      }
      save_holdings(self);
    }
    self->quit();
  }
}

void on_timer(self_pointer self, const std::string& name) {
  auto& st = self->state;
  if (st.started)
    st.instance->on_timer(*st.context, name);
}

caf::behavior bot_host(self_pointer self, bot_config config, std::shared_ptr<strategy> instance,
                       json params, std::shared_ptr<bot_record> record, bot_services services,
                       std::string order_ids) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.config = std::move(config);
  st.instance = std::move(instance);
  st.params = std::move(params);
  st.record = std::move(record);
  st.services = std::move(services);
  st.order_ids = std::move(order_ids);
  if (st.services.order_budget) {
    st.order_budget.emplace("bot " + st.config.id);
    st.order_cap =
        request_budget{"bot:" + st.config.id + ":orders", *st.services.order_budget, false};
  }
  {
    std::lock_guard<std::mutex> guard{st.record->mutex};
    st.holdings = st.record->holdings;
  }
  st.context = std::make_unique<host_context>(self);
  st.lock_token = random_token();
  register_with_controller(self);
  register_scopes(self);
  load(self);
  return {
      [self](const event& ev) { on_event(self, ev); },
      [self](stream_ticks_atom, const std::string& stream,
             const std::vector<stream_entry>& entries) { on_ticks(self, stream, entries); },
      [self](const level_change& change) { on_level_change(self, change); },
      [self](bot_scope_view& view) { on_scopes(self, view); },
      [self](scopes_again_atom) { register_scopes(self); },
      [self](cancel_open_atom, const std::string& symbol) { return on_cancel_open(self, symbol); },
      [self](timer_atom, const std::string& name) { on_timer(self, name); },
      [self](register_again_atom) { register_with_controller(self); },
      [self](load_atom) { load(self); },
      [self](deferred_atom) { run_deferred(self); },
  };
}

} // namespace

caf::actor spawn_bot_host(caf::actor_system& sys, bot_config config,
                          std::shared_ptr<strategy> instance, nlohmann::json params,
                          std::shared_ptr<bot_record> record, bot_services services,
                          std::string order_ids) {
  return sys.spawn(bot_host, std::move(config), std::move(instance), std::move(params),
                   std::move(record), std::move(services), std::move(order_ids));
}

} // namespace brokedancer
