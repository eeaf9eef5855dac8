#pragma once

// One endpoint's circuit breaker, in front of the endpoint's adapter actor: every call gets a
// deadline, failed calls are retried with backoff and jitter while that helps, and while the
// endpoint is failing calls are refused at once with breaker_open instead of piling up on it.
// The decisions are breaker_machine's; this actor adds time (the actor clock), the retries,
// and tells everyone about transitions (log, and breaker.state_changed on the bus).
//
// With a request budget, every attempt first spends one request of it: one that does not fit
// waits for it (within the call's deadline) or, when that is too long or the budget says not to
// wait, the call ends with rate_limited before the endpoint would refuse it. Only a call that
// never made an attempt ends so: a retry that finds no budget ends with its last outcome.
//
// What counts as a failure: an error from the adapter (unreachable, overloaded, gone), a missed
// deadline, a 5xx or 429 answer, and a call slower than slow_call. A 4xx answer is the
// endpoint working as it should (it refused the request) and counts as a success.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <caf/fwd.hpp>

#include "actors/limiter/request_budget.hpp"
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
  // The endpoint's request budget (its published rate limit), spent before every attempt; none:
  // unlimited. Spent through `limiter` (shared by every node on Redis), or on the breaker's own
  // table while it cannot answer or when it is empty.
  std::optional<request_budget> budget;
  rate_limiter_actor limiter;
};

breaker_actor spawn_circuit_breaker(caf::actor_system& sys, endpoint_actor endpoint,
                                    circuit_breaker_options options);

} // namespace brokedancer
