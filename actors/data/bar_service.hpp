#pragma once

// The bar service: OHLCV bars of every symbol of the market-data stream, in every configured
// timeframe, built as the ticks arrive (actors/data/bar_builder.hpp) and written to the
// time-series store -- each bar when it closes, and the bars still forming once a second, so that
// a reader sees the current bar too (a bar written again replaces the first). A tick with volume
// is a trade and adds its volume.
//
// Bars are timed by the ticks (their at_us), not by this node's clock: a recorded stream
// replayed at any pace gives the same bars. Bars the store does not take (Redis away) wait in a
// bounded buffer, the oldest dropped and counted beyond it; nothing waits for the store.

#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "messages/bars.hpp"
#include "messages/market_stream.hpp"
#include "messages/time_series.hpp"

namespace brokedancer {

struct bar_service_options {
  std::string stream; // read live
  std::vector<timeframe> frames;
  size_t max_buffered_bars = 100000;
  // Symbols it builds bars for at most: anyone who writes the stream names symbols.
  size_t max_symbols = 10000;
};

bar_service_actor spawn_bar_service(caf::actor_system& sys, bar_service_options options,
                                    market_stream_actor stream, time_series_actor series);

} // namespace brokedancer
