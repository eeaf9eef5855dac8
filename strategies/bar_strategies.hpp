#pragma once

// A strategy that trades on bars and on other strategies' signals, written only against the
// public bot API (actors/bots/bot.hpp), as a user's own would be: what the trading data services
// look like from a strategy.
//
//  bar_breakout  every bar (timeframe, default 1s) it reads the last lookback + 1 bars of its
//                symbol from the time-series store; when the close moved more than
//                threshold_percent over them it publishes a TRADE_SIGNAL (BUY when it rose,
//                SELL when it fell; confidence grows with the move) and trades that way. With
//                follow_signals (default false: a signal may come from any client of a shared
//                Redis) it also trades on other bots' and clients' signals for its symbol with
//                a confidence of at least 0.5. It prices its orders
//                at the touch from the quote cache.
//
// Parameters: symbol (required), quantity (> 0, default 1), lookback (bars, 2 to 1000, default
// 5), threshold_percent (> 0, default 0.2), max_position (> 0, default 5 x quantity), timeframe
// ("1s" ... "1d", default "1s"), follow_signals (default false).

#include "actors/bots/bot.hpp"

namespace brokedancer::strategies {

// Adds "bar_breakout" to `catalog`.
void add_bar_strategies(strategy_catalog& catalog);

} // namespace brokedancer::strategies
