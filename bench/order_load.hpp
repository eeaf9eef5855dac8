#pragma once

// What the order scenarios share (order-path, order-path-redis, tick-to-order): a node whose
// risk limits pass every order of a load (the checks still run), the waits before a load may
// start, and bots written against the public bot API that each keep one order in flight until
// they have sent their share.

#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/bots/bot.hpp"
#include "harness.hpp"
#include "messages/bot.hpp"
#include "messages/risk.hpp"
#include "runtime/config.hpp"
#include "runtime/runtime.hpp"

namespace brokedancer::bench {

struct order_figures {
  double orders_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
};

// Where the "order_load" bots of the load running now report; one load at a time.
struct order_board;

// Settings for a node under an order load: no configured bots, no market, and limits that pass
// every order (the checks still run). `extra` is added over them.
environment order_load_settings(const run_context& context, environment extra = {});

// A runtime under `settings` with the strategy "order_load" (reporting to `board`), once its
// risk monitor is ready for orders.
std::unique_ptr<runtime> start_order_node(const environment& settings,
                                          std::shared_ptr<order_board> board,
                                          bool count_orders = true);

std::shared_ptr<order_board> make_order_board();

// Blocks until the risk monitor has read its book and heard that the level is normal.
void await_risk_monitor(caf::actor_system& sys, const risk_monitor_actor& risk);

// Spawns `bots` through the bot supervisor, waiting for each to be up (subscribed); throws
// std::runtime_error naming the first that does not start.
void spawn_bots(caf::actor_system& sys, const bot_supervisor_actor& supervisor,
                const std::vector<bot_config>& bots);

// `bots` new order_load bots ("<prefix>-<n>") on `node`, each keeping one order in flight until
// it has sent `orders_each`, alternating buy and sell so that the book stays flat. Orders/s
// from the first submit to the last result; p50/p99 from submit to result. Throws when an
// order is not filled.
order_figures run_order_load(runtime& node, order_board& board, const std::string& prefix, int bots,
                             int orders_each);

// The figures as samples: <name>_orders, <name>_p50_us, <name>_p99_us.
void record_orders(samples& out, const std::string& name, const order_figures& figures);

} // namespace brokedancer::bench
