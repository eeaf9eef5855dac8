#pragma once

// The simulated market: one price path per symbol, a geometric random walk with a drift and a
// volatility per tick, deterministic for a seed (each symbol draws from its own generator, so
// adding a symbol does not change the others' paths). Every tick_ms it publishes the top of
// the book of every symbol on market.<symbol> in one batch. The simulated exchange matches
// orders against these ticks; bots and the risk monitor read them too.
//
// It waits for start_atom before the first tick. Its paths live outside the incarnation: a
// restarted market goes on from the tick it had reached.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/market/market_settings.hpp"
#include "messages/event_bus.hpp"
#include "messages/market.hpp"
#include "messages/market_stream.hpp"
#include "messages/state_store.hpp"

namespace brokedancer {

struct market_data;
std::shared_ptr<market_data> make_market_data(const market_settings& settings);

// The next quote of one symbol's path: what the market publishes at each tick. Exposed for
// tests and for the benchmark, which drive paths without an actor.
class price_path {
public:
  price_path(const market_settings& settings, const std::string& symbol);
  quote next(int64_t at_us);

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

// Ticks also go to `stream` (settings.stream) when both are given: in batches, one in flight at
// a time, the rest held in a bounded buffer while the stream is away (market_status says how
// many were dropped). Each tick's quotes also go to the quote cache in `store`
// (settings.quote_ttl_ms), when one is given.
market_actor spawn_simulated_market(caf::actor_system& sys, std::shared_ptr<market_data> data,
                                    event_bus_actor bus, market_stream_actor stream = {},
                                    state_store_actor store = {});

} // namespace brokedancer
