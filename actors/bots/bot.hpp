#pragma once

// Writing a bot. A bot is a `strategy` -- plain C++, no CAF -- hosted by a bot actor that the
// bot supervisor spawns inside the runtime. The host gives the strategy a `bot_context`, its
// only way to the outside:
//
//  - orders go to the risk monitor, which checks them and passes them through the endpoint's
//    circuit breaker; there is no other way to an endpoint;
//  - events: subscribe to topics or glob patterns, publish;
//  - state: save() one JSON document that is handed back to on_start() after a restart, and
//    put()/get() more keys, all under bot:<id>: in the state store;
//  - distributed locks (lock/extend_lock/unlock, with a fencing token): the store's leases,
//    named lock:<name>, held by this bot incarnation;
//  - rate limits (take_budget): the rate limiter's budgets, shared across nodes on Redis;
//  - timers on the actor clock.
//
// The host, not the strategy, obeys the kill switch: it registers with the emergency
// controller, and from HALT up it refuses the strategy's new orders (submit() returns "") and
// cancels the orders still in flight; on SHUTDOWN it also stops the bot, after the risk monitor
// has closed the node's positions. A strategy hears of every change in on_level().
//
// Callbacks run one at a time on the bot's actor: a strategy needs no locks, and must not
// block. An exception thrown from a callback crashes the bot; the supervisor restarts it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/logging.hpp"
#include "messages/emergency.hpp"
#include "messages/event_bus.hpp"
#include "messages/market.hpp"
#include "messages/market_stream.hpp"
#include "messages/rate_limiter.hpp"
#include "messages/risk.hpp"
#include "messages/time_series.hpp"

namespace brokedancer {

class bot_context {
public:
  virtual ~bot_context() = default;

  virtual const std::string& id() const = 0;
  // The parameters from the bot's config (a JSON object).
  virtual const nlohmann::json& params() const = 0;
  virtual const logger& log() const = 0;

  // --- orders ---
  // Sends an immediate-or-cancel limit order through the risk monitor; its outcome arrives in
  // on_order_result. Returns the client order id, or "" when the order was held back because
  // trading is not allowed (HALT or above), which counts as a rejection with reason "halted".
  virtual std::string submit(const std::string& symbol, order_side side, double quantity,
                             double limit_price) = 0;
  // Asks the exchange not to execute an order still in flight; passes at every level.
  virtual void cancel(const std::string& client_order_id) = 0;
  virtual std::vector<std::string> open_orders() const = 0;
  // This bot's own position in a symbol, from its fills (signed: negative is short).
  virtual double position(const std::string& symbol) const = 0;
  virtual bool trading_allowed() const = 0;
  virtual emergency_level level() const = 0;

  // --- events ---
  // A topic or a glob pattern (market.*); events arrive in on_event.
  virtual void subscribe(const std::string& topic_or_pattern) = 0;
  // Not on the infrastructure's topics (market.*, emergency.*, breaker.*, trading.*): a bot
  // speaks on trading.signals only through publish_signal.
  virtual void publish(const std::string& topic, const nlohmann::json& payload) = 0;
  // A TRADE_SIGNAL on trading.signals (and, on Redis, the trading:signals channel for every
  // client): a symbol, BUY, SELL, HOLD or CLOSE, a confidence from 0 to 1, and `extra` fields
  // (a JSON object). False, with a warning in the log, when that is not a valid signal.
  virtual bool publish_signal(const std::string& symbol, const std::string& signal,
                              double confidence,
                              const nlohmann::json& extra = nlohmann::json::object()) = 0;
  // Every TRADE_SIGNAL from now on (other bots', other nodes' and other clients'), checked, in
  // on_signal.
  virtual void subscribe_signals() = 0;
  // An alert on trading.alerts: a PRICE_ALERT for the category "price", else a RISK_ALERT, with
  // the message and a severity (info, warning, critical).
  virtual void publish_alert(const std::string& category, const std::string& message,
                             const std::string& severity = "warning") = 0;
  // The quote a market tick carries (decode_quote of its payload), decoded once however many
  // read it while on_event runs; null when the payload is not a valid quote. Valid until the
  // next call or the end of on_event.
  virtual const quote* quote_of(const event& ev) = 0;
  // The live ticks of a market-data stream (market:data: the simulated market's) from now on,
  // in on_ticks, in order, a batch at a time: what comes while on_ticks runs waits in the
  // stream, not in the bot's mailbox.
  virtual void subscribe_stream(const std::string& stream) = 0;

  // --- market data: the quote cache and the time-series store ---
  // The latest quote of a symbol as the quote cache holds it (quote:<symbol>, within its TTL):
  // then(quote) on the bot, or then(nullopt) when there is none or it could not be read.
  virtual void cached_quote(const std::string& symbol,
                            std::function<void(std::optional<quote>)> then) = 0;
  // The newest `n` bars of a symbol in a timeframe, oldest first (the last may still be forming):
  // then(bars) on the bot, or then(nullopt) when the store could not be read.
  virtual void bars(const std::string& symbol, timeframe frame, uint32_t n,
                    std::function<void(std::optional<std::vector<ohlcv_bar>>)> then) = 0;

  // --- state, under bot:<id>: ---
  // Persists the document on_start() receives after a restart (bot:<id>:state).
  virtual void save(const nlohmann::json& state) = 0;
  // Another key of this bot's, bot:<id>:<key>, with a TTL (0: none).
  virtual void put(const std::string& key, const nlohmann::json& value,
                   std::chrono::milliseconds ttl = std::chrono::milliseconds{0}) = 0;
  // Reads bot:<id>:<key>; `then` runs on the bot with the value, or nullopt when there is none
  // or the store could not be read.
  virtual void get(const std::string& key,
                   std::function<void(std::optional<nlohmann::json>)> then) = 0;

  // --- distributed locks: the state store's leases (on Redis, shared by every node) ---
  // Takes the lock `name` for `ttl`, or extends it when this bot holds it already:
  // then(acquired, fence). The fence grows with every new holder: hand it to whatever the lock
  // protects, so that a holder that lost the lock (paused past its TTL) can be told apart.
  virtual void lock(const std::string& name, std::chrono::milliseconds ttl,
                    std::function<void(bool acquired, uint64_t fence)> then) = 0;
  // Extends a lock this bot holds: then(still held).
  virtual void extend_lock(const std::string& name, std::chrono::milliseconds ttl,
                           std::function<void(bool held)> then) = 0;
  // Releases a lock this bot holds -- never another's: then(released).
  virtual void unlock(const std::string& name, std::function<void(bool released)> then) = 0;

  // --- rate limits: budgets in the rate limiter (on Redis, shared by every node) ---
  // Takes `cost` requests from the budget `name` (strategy:<name> in the limiter, apart from the
  // runtime's own budgets) under `limit`: then(decision) on the bot, with allowed, remaining and
  // retry_after_ms. A budget that cannot be asked (the limiter away, a bad limit) counts as
  // refused, with a warning in the log.
  virtual void take_budget(const std::string& name, const rate_limit& limit,
                           std::function<void(const rate_decision&)> then, uint32_t cost = 1) = 0;

  // --- time ---
  // on_timer(name) after `delay`, on the actor clock.
  virtual void after(std::chrono::milliseconds delay, const std::string& name) = 0;
};

class strategy {
public:
  virtual ~strategy() = default;

  // Once the bot is registered with the emergency controller and its saved state is read:
  // `restored` is what save() last stored, or null for a first start.
  virtual void on_start(bot_context& ctx, const nlohmann::json& restored) = 0;
  virtual void on_event(bot_context&, const event&) {}
  // A TRADE_SIGNAL's data: symbol, signal, confidence, and who sent it (bot_id, strategy,
  // source) with whatever extra fields it carries.
  virtual void on_signal(bot_context&, const nlohmann::json& /*signal*/) {}
  virtual void on_ticks(bot_context&, const std::string& /*stream*/,
                        const std::vector<stream_entry>&) {}
  virtual void on_order_result(bot_context&, const order&, const order_result&) {}
  virtual void on_timer(bot_context&, const std::string&) {}
  // After the host has acted on the change (from HALT up: new orders refused, open ones
  // cancelled).
  virtual void on_level(bot_context&, const level_change&) {}
};

// Makes a strategy from a bot's parameters; throws std::invalid_argument, saying what is
// wrong, for parameters it cannot run with.
using strategy_factory = std::function<std::unique_ptr<strategy>(const nlohmann::json& params)>;

// The strategies a runtime can spawn bots of, by name.
using strategy_catalog = std::map<std::string, strategy_factory>;

} // namespace brokedancer
