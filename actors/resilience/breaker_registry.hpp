#pragma once

// The registry of circuit breakers: one breaker, with its endpoint adapter behind it, per
// configured endpoint, spawned on first use. Calls name the endpoint; the registry passes them
// to its breaker (or hands out the breaker for callers that call it often). A breaker or
// adapter that dies takes its partner with it, and the next call starts both afresh, with an
// operator's FORCED_OPEN or DISABLED applied again. A handle from breaker_atom dies with its
// breaker: on request_receiver_down, ask the registry again. A simulated exchange that matches
// against the market is the exception: it is started with the registry, and again at once
// after it stops, so that it never misses the ticks.

#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/market/simulated_exchange.hpp"
#include "actors/resilience/circuit_breaker.hpp"
#include "actors/resilience/http_endpoint.hpp"
#include "messages/event_bus.hpp"
#include "messages/resilience.hpp"

namespace brokedancer {

struct endpoint_spec {
  enum class adapter { simulated, http };
  std::string name;
  adapter type = adapter::simulated;
  circuit_breaker_options breaker; // its bus is filled in by the registry
  simulated_exchange_settings simulated;
  http_endpoint_settings http;
};

// Breakers publish on `bus`, register with `emergency` and spend their endpoint's request
// budget through `limiter` (each may be empty).
breaker_registry_actor spawn_breaker_registry(caf::actor_system& sys,
                                              std::vector<endpoint_spec> endpoints,
                                              event_bus_actor bus, emergency_actor emergency = {},
                                              rate_limiter_actor limiter = {});

} // namespace brokedancer
