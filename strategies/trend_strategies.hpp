#pragma once

// The built-in trend strategies, written only against the public bot API (actors/bots/bot.hpp):
// what a user of brokedancer would write. `brokedancer run` spawns its bots from these.
//
//  momentum        buys when the price rose more than threshold_percent over the last
//                  lookback ticks, sells when it fell as much.
//  mean_reversion  the opposite: buys the dip, sells the rally.
//
// Parameters (a JSON object): symbol (required), quantity (> 0, default 1), lookback (ticks,
// 2 to 10000, default 20), threshold_percent (> 0, default 0.2), max_position (units, > 0,
// default 5 x quantity). Both trade with marketable limit orders at the touch, one order at a
// time, and save their price window every save_every ticks (default 10) so that a restarted
// bot picks up where it was.

#include "actors/bots/bot.hpp"

namespace brokedancer::strategies {

// Adds "momentum" and "mean_reversion" to `catalog`.
void add_trend_strategies(strategy_catalog& catalog);

} // namespace brokedancer::strategies
