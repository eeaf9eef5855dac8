#pragma once

// One endpoint's circuit breaker, in front of the endpoint's adapter actor: every call gets a
// deadline, failed calls are retried with backoff and jitter while that helps, and while the
// endpoint is failing calls are refused at once with breaker_open instead of piling up on it.
// The decisions are breaker_machine's; this actor adds time (the actor clock), the retries,
// and tells everyone about transitions (log, and breaker.state_changed on the bus).
//
// What counts as a failure: an error from the adapter (unreachable, overloaded, gone), a missed
// deadline, a 5xx or 429 answer, and a call slower than slow_call. A 4xx answer is the
// endpoint working as it should (it refused the request) and counts as a success.

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/fwd.hpp>

#include "actors/resilience/breaker_machine.hpp"
#include "actors/resilience/retry_policy.hpp"
#include "messages/emergency.hpp"
#include "messages/event_bus.hpp"
#include "messages/resilience.hpp"

namespace brokedancer {

struct circuit_breaker_options {
  std::string endpoint; // its name, in logs, stats and events
  breaker_settings breaker;
  retry_settings retry;
  std::chrono::milliseconds timeout{30000}; // a call's deadline unless it asks for another
  uint64_t seed = 0;                        // for the jitter; 0: from std::random_device
  event_bus_actor bus;                      // where transitions are published; may be empty
  emergency_actor emergency; // registered with: no retries from HALT up; may be empty
};

breaker_actor spawn_circuit_breaker(caf::actor_system& sys, endpoint_actor endpoint,
                                    circuit_breaker_options options);

} // namespace brokedancer
