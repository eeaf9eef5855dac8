#pragma once

// Market data. The simulated market publishes one tick per symbol on market.<symbol> every
// market.tick_ms; the payload is a quote's JSON (see encode_quote). Bots, the risk monitor (for
// marks) and the simulated exchange (for matching) all read the same ticks from the bus.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"

namespace brokedancer {

// The top of the book for one symbol at one tick.
struct quote {
  std::string symbol;
  double bid = 0;
  double ask = 0;
  double last = 0;       // the mid price of this tick's path
  uint64_t sequence = 0; // the tick's number, from 1, per symbol
  int64_t at_us = 0;     // microseconds since the Unix epoch
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, quote& x) {
  return f(caf::meta::type_name("quote"), x.symbol, x.bid, x.ask, x.last, x.sequence, x.at_us);
}

// {"symbol","bid","ask","last","price","sequence","at_us"}; "price" repeats "last" for
// consumers that only want one number.
std::string encode_quote(const quote& q);

// The quote cache: the latest quote of each symbol in the state store, under this key, with a
// TTL (market.quote_ttl_s), as encode_quote writes it. The simulated market keeps it; bots read
// it (bot_context::cached_quote), and a restarted risk monitor marks its book from it before the
// first tick.
inline std::string quote_cache_key(const std::string& symbol) {
  return "quote:" + symbol;
}
// False, with `why`, unless `json` is an object with a symbol and 0 < bid <= ask and last > 0.
bool decode_quote(const std::string& json, quote& q, std::string& why);

struct market_status {
  bool running = false; // ticking (it waits for start_atom)
  uint64_t ticks = 0;   // per symbol, published so far
  uint64_t max_ticks = 0;
  std::vector<quote> quotes; // the latest, one per symbol
  // The market-data stream its ticks are appended to (market.stream; empty: none).
  std::string stream;
  bool stream_available = false; // its last append went through
  uint64_t stream_published = 0; // ticks appended
  uint64_t stream_buffered = 0;  // ticks waiting for the stream (while it is away)
  uint64_t stream_dropped = 0;   // ticks the bounded buffer let go of while it was away
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, market_status& x) {
  return f(caf::meta::type_name("market_status"), x.running, x.ticks, x.max_ticks, x.quotes,
           x.stream, x.stream_available, x.stream_published, x.stream_buffered, x.stream_dropped);
}

using start_atom = caf::atom_constant<caf::atom("start")>;

using market_actor = caf::typed_actor<
    // Starts the ticks (the bot supervisor sends it once the configured bots are up, so that
    // every bot sees the first tick); answers whether it is running. Idempotent.
    caf::replies_to<start_atom>::with<bool>, caf::replies_to<status_atom>::with<market_status>>;

} // namespace brokedancer
