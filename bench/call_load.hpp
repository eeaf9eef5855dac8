#pragma once

// Load for anything that answers endpoint calls: `clients` actors, each keeping one call in
// flight until it has made `calls_each`. Calls per second and per-call latency percentiles.

#include <caf/fwd.hpp>

#include "messages/resilience.hpp"

namespace brokedancer::bench {

struct call_figures {
  double calls_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
};

// Throws std::runtime_error when any call fails.
call_figures load_calls(caf::actor_system& sys, const caf::actor& target, int clients,
                        int calls_each, const endpoint_request& request);

} // namespace brokedancer::bench
