#pragma once

// The simulated exchange as an endpoint: it answers every call after a configurable latency,
// fails a configurable share of them, and is unreachable during outage windows -- all
// deterministic for a given seed and order of calls, so that breakers and retries have
// something real to do in tests and demos. It executes a request with a given client request
// id at most once: a retry of a call it already executed gets the first answer again.
//
// "submit_order" takes a body {"symbol","side","quantity","price","client_order_id"}. Orders
// are immediate-or-cancel limit orders:
//  - with match_market, against the top of the book the simulated market last published on
//    market.<symbol> (the exchange reads the same ticks as the bots): a buy at or above the ask
//    fills in full at the ask, a sell at or below the bid at the bid; otherwise
//    {"status":"expired","reason":"not_marketable: ..."}. No quote for the symbol yet:
//    {"status":"rejected","reason":"no_market_data: ..."};
//  - without it (tests, benchmarks), in full at the order's own price.
// A fill is {"status":"filled","filled_quantity","fill_price","fee"}, the fee being fee_rate of
// the notional; a malformed order gets 400.
// "cancel_order" with {"client_order_id"}: an order already executed is {"status":"not_open"}
// (nothing rests on this exchange); one not seen yet is {"status":"cancelled"} and refused if
// it arrives later (the cancel overtook it) -- what a cancel means for an order in flight.
// "order_status" with {"client_order_ids": [...], "seal": bool} answers {"orders": [...]}, each
// the order as the ledger holds it (actors/market/exchange_ledger.hpp) or "unknown"; with seal,
// an unknown order is cancelled in the same step, so that it can no longer fill.
// Orders carry "account" (the node) and "fence" (the bot's ownership fence); an order with a
// fence below one seen for its bot is rejected with reason not_owner.
// "quote" with {"symbol"} answers the venue's top of the book as encode_quote writes it (with
// match_market; 404 without a tick of the symbol yet).
// Other operations are accepted and answered with what was executed.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "messages/event_bus.hpp"
#include "messages/resilience.hpp"

namespace brokedancer {

struct outage_window {
  std::chrono::milliseconds from; // since the adapter started
  std::chrono::milliseconds to;
};

struct simulated_exchange_settings {
  std::string name = "exchange";
  uint64_t seed = 1;
  std::chrono::milliseconds latency{0};
  std::chrono::milliseconds latency_jitter{0}; // added: uniform in [0, jitter]
  double error_rate = 0;                       // share of calls answered 503
  std::vector<outage_window> outages;
  size_t remembered_requests = 100000; // client request ids kept for deduplication
  double fee_rate = 0.001;             // share of a fill's notional charged as fee
  bool match_market = false;           // match against market.<symbol> ticks from the bus
  // This venue's prices: each tick's bid, ask and last moved by price_offset_bps plus a uniform
  // draw in [-price_noise_bps, +price_noise_bps] (from the seed, apart from the calls' draws),
  // so that two simulated venues on one market quote apart. Orders match these prices.
  double price_offset_bps = 0;
  double price_noise_bps = 0;
};

// Begins an outage now, for the given milliseconds (0 ends one); answers true. For tests and
// demos: what a dying endpoint looks like.
using outage_atom = caf::atom_constant<caf::atom("outage")>;

using simulated_exchange_actor =
    endpoint_actor::extend<caf::replies_to<outage_atom, int64_t>::with<bool>,
                           // Market ticks from the bus, with match_market.
                           caf::reacts_to<event>>;

// With match_market, `bus` is where the ticks come from.
simulated_exchange_actor spawn_simulated_exchange(caf::actor_system& sys,
                                                  simulated_exchange_settings settings,
                                                  event_bus_actor bus = {});

} // namespace brokedancer
