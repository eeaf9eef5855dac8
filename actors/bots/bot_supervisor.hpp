#pragma once

// The bot supervisor: spawns bots from bot_configs and the strategy catalog, restarts a bot
// that crashes (the new incarnation restores its saved state), and gives up on a bot that
// crashes more than max_restarts times within the window -- it is stopped, logged and reported
// on trading.system, and the other bots go on. Bots are monitored; when it stops, it stops them.
//
// With leases (on a shared store), a bot runs only on the node that holds its lease; see
// bot_supervisor_options. A bot whose lease is lost while it runs is stopped at once.
//
// At start it spawns the initial bots and, once all of them are ready (registered with the
// emergency controller, state read, subscriptions made) and the node can trade (the emergency
// controller has read the persisted level, the risk monitor its book), starts the market, so
// that every bot sees the first tick and may act on it. Its records (each bot's config and
// counters) live outside the incarnation: a restarted supervisor spawns the bots again, and they
// restore their state.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/bots/bot.hpp"
#include "actors/bots/bot_host.hpp"
#include "messages/bot.hpp"
#include "messages/market.hpp"

namespace brokedancer {

struct bot_supervisor_options {
  strategy_catalog strategies;
  std::vector<bot_config> initial_bots;
  uint32_t max_restarts = 3;
  std::chrono::milliseconds window{60000};
  // How long to wait for the initial bots before starting the market anyway.
  std::chrono::milliseconds start_timeout{30000};
  // Ownership across nodes sharing a store: each bot runs only while this node holds its lease
  // (bot:<id> in the store's leases), renewed every third of `lease`; 0: no leases (a node alone,
  // the memory backend). With `standby`, a bot another node owns waits and is taken over when
  // that lease expires; without, it is refused, saying who owns it.
  std::chrono::milliseconds lease{0};
  bool standby = false;
  std::string node_name;
};

struct bot_supervisor_data;
std::shared_ptr<bot_supervisor_data> make_bot_supervisor_data();

// `market` may be empty (no simulated market); `services.supervisor` is filled in.
bot_supervisor_actor spawn_bot_supervisor(caf::actor_system& sys,
                                          std::shared_ptr<bot_supervisor_data> data,
                                          bot_supervisor_options options, bot_services services,
                                          market_actor market);

// Checks a bot id: empty when fine, otherwise what is wrong.
std::string check_bot_id(const std::string& id);

} // namespace brokedancer
