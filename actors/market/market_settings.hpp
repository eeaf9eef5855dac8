#pragma once

// What the simulated market is configured with: plain data, no CAF, held by the runtime's
// configuration as its `market` section (each schema row binds to a field here).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace brokedancer {

struct market_settings {
  std::vector<std::string> symbols;
  double start_price = 100;
  double drift_percent = 0;        // mean change of the mid per tick, in percent
  double volatility_percent = 0.1; // standard deviation of the change per tick, in percent
  double spread_bps = 10;          // ask - bid, in basis points of the mid
  std::chrono::milliseconds tick{100};
  uint64_t seed = 1;
  uint64_t max_ticks = 0; // the market stops moving after this many ticks; 0: never
  // The market-data stream its ticks are also appended to (market_stream_actor); empty: none.
  std::string stream;
  uint64_t stream_max_length = 0; // that stream's own bounds (0: the streams.* defaults)
  int64_t stream_max_age_ms = 0;
  // The latest quote per symbol in the state store (quote:<symbol>) lives this long; 0: no cache.
  int64_t quote_ttl_ms = 10000;
  // A recorded market-data stream to play back instead of the simulated paths; empty: none.
  std::string replay;
  std::string replay_pace = "original"; // or "fast"
};

} // namespace brokedancer
