#pragma once

// The simulated exchange as an endpoint: it answers every call after a configurable latency,
// fails a configurable share of them, and is unreachable during outage windows -- all
// deterministic for a given seed and order of calls, so that breakers and retries have
// something real to do in tests and demos. It executes a request with a given client request
// id at most once: a retry of a call it already executed gets the first answer again.
//
// "submit_order" with a body {"symbol","side","quantity","price"} is filled in full at its
// price, less fee_rate of the notional: {"status":"filled","filled_quantity","fill_price","fee"}
// (a malformed order gets 400). Other operations are accepted and answered with what was
// executed. The order book and matching of the bots' issue build on this.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

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
};

// Begins an outage now, for the given milliseconds (0 ends one); answers true. For tests and
// demos: what a dying endpoint looks like.
using outage_atom = caf::atom_constant<caf::atom("outage")>;

using simulated_exchange_actor =
    endpoint_actor::extend<caf::replies_to<outage_atom, int64_t>::with<bool>>;

simulated_exchange_actor spawn_simulated_exchange(caf::actor_system& sys,
                                                  simulated_exchange_settings settings);

// "10-20,45.5-50": outage windows in seconds since start. Empty when `text` is empty; throws
// std::invalid_argument saying what is wrong otherwise.
std::vector<outage_window> parse_outages(const std::string& text);

} // namespace brokedancer
