#pragma once

// The market as a recording plays it back: the ticks of a market-data stream (a run recorded on
// Redis, say) published on the bus as quotes, as the simulated market publishes its own -- at
// their original pace or as fast as the bus takes them -- so that the bots, the risk monitor and
// the exchange see the recorded market again. The same recording and the same seed give the
// same run. It waits for start_atom like the simulated market, and stops at the recording's end
// (or market.max_ticks).

#include <chrono>
#include <string>

#include <caf/fwd.hpp>

#include "messages/event_bus.hpp"
#include "messages/market.hpp"
#include "messages/market_stream.hpp"
#include "messages/state_store.hpp"

namespace brokedancer {

struct stream_replayer_options {
  std::string stream;        // the recording
  bool original_pace = true; // else as fast as the bus takes the ticks
  uint64_t max_ticks = 0;    // 0: the whole recording
  int64_t quote_ttl_ms = 0;  // the quote cache, as the market keeps it (0: none)
  // Where the played-back ticks are appended, as the market appends its own (the bar service
  // reads it); empty, or the recording itself: nowhere.
  std::string stream_out;
};

market_actor spawn_stream_replayer(caf::actor_system& sys, stream_replayer_options options,
                                   market_stream_actor stream, event_bus_actor bus,
                                   state_store_actor store);

} // namespace brokedancer
