#pragma once

// The actor that hosts one bot's strategy (see actors/bots/bot.hpp for the strategy's side). It
// registers with the emergency controller, reads the bot's saved state, starts the strategy,
// and tells the supervisor it is ready once the strategy's subscriptions are in place. It
// books the bot's own fills (positions, P&L, fees) into the bot's record, which the supervisor
// reads and which outlives the bot's incarnations.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "actors/bots/bot.hpp"
#include "actors/risk/position.hpp"
#include "messages/bot.hpp"
#include "messages/emergency.hpp"
#include "messages/event_bus.hpp"
#include "messages/halt_scope.hpp"
#include "messages/market_stream.hpp"
#include "messages/rate_limiter.hpp"
#include "messages/risk.hpp"
#include "messages/state_store.hpp"
#include "messages/time_series.hpp"

namespace brokedancer {

// One of a bot's own open positions, booked from its fills at average cost with the risk book's
// code (actors/risk/position.hpp): a flat one is dropped. Fees are not in it: the bot's stats
// report them apart.
struct bot_holding {
  position held;
  double mark = 0; // the last price the bot saw
};

// Shared by a bot's incarnations and its supervisor; every access holds the mutex. A restarted
// bot goes on with the positions its last incarnation had booked.
struct bot_record {
  std::mutex mutex;
  bot_stats stats;
  std::unordered_map<std::string, bot_holding> holdings;
  // Whether the holdings were read from the store (bot:<id>:holdings) by an incarnation: the
  // first one on a node reads them, so a bot taken over from another node goes on from its
  // positions there.
  bool holdings_loaded = false;
  // With a lease: until when this node may be sure it still owns the bot (the last renewal,
  // less a margin). Past it the bot sends nothing, even before the supervisor hears it lost the
  // lease -- a node paused (SIGSTOP, a long GC-like stall) wakes up without trading.
  std::chrono::steady_clock::time_point owned_until = std::chrono::steady_clock::time_point::max();
};

struct bot_services {
  state_store_actor store;
  event_bus_actor bus;
  emergency_actor emergency;
  risk_monitor_actor risk;
  // The scoped halts (none: no scopes), and the endpoint the bot's orders go to (risk.endpoint),
  // which an endpoint's scope covers.
  scope_actor scopes;
  std::string endpoint;
  caf::actor supervisor; // hears (bot_ready_atom, id) once the bot is up
  // The bot's ownership lease (empty token: none, as on the memory backend): its state writes
  // are fenced by it, and its orders carry the fence.
  std::string lease_name;
  std::string lease_token;
  uint64_t fence = 0;
  // The bot's order cap (bot:<id>:orders in the limiter); none: no cap. A strategy's own budgets
  // (bot_context::take_budget) go to the same limiter.
  std::optional<rate_limit> order_budget;
  rate_limiter_actor limiter;
  // The market-data stream (bot_context::subscribe_stream); none: a subscription fails the bot.
  market_stream_actor stream;
  // The time-series store (bot_context::bars); none: every read answers nullopt.
  time_series_actor series;
};

using bot_ready_atom = caf::atom_constant<caf::atom("bot_ready")>;

// The key under which a bot's saved state lives.
std::string bot_state_key(const std::string& bot_id);
// The key under which a bot's own positions live (written after each of its fills).
std::string bot_holdings_key(const std::string& bot_id);

// `order_ids` prefixes the incarnation's client order ids ("<bot>-<run>-<incarnation>-"): an
// exchange executes an id at most once, so an id must never come back -- not after a restart of
// the bot, nor in the next run of the process.
caf::actor spawn_bot_host(caf::actor_system& sys, bot_config config,
                          std::shared_ptr<strategy> instance, nlohmann::json params,
                          std::shared_ptr<bot_record> record, bot_services services,
                          std::string order_ids);

} // namespace brokedancer
