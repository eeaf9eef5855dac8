#pragma once

// Calls to the outside world and the circuit breakers in front of them.
//
// An endpoint is a named adapter actor (a REST API over HTTP, the simulated exchange) that
// performs one endpoint_request and answers with an endpoint_response -- whatever the remote
// side said, a 4xx or 5xx included -- or with an error when it could not get an answer
// (endpoint_unreachable, endpoint_timeout). Nobody calls an endpoint directly: calls go through
// the endpoint's circuit breaker, which the breaker registry spawns on first use. The breaker
// adds the deadline, retries with backoff, and fails fast with breaker_open while the endpoint
// is known to be failing.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/correlation.hpp"
#include "messages/emergency.hpp"

namespace brokedancer {

struct endpoint_request {
  // What to do. For the HTTP adapter "<METHOD> <path>", e.g. "POST /api/v3/order"; for the
  // simulated exchange an operation name such as "submit_order".
  std::string operation;
  std::string json; // the request body, JSON text ("" for none)
  // Chosen by the caller and kept across retries: the endpoint executes a request with a
  // given id at most once (the simulated exchange deduplicates; the HTTP adapter sends it as
  // the Idempotency-Key and X-Client-Request-Id headers).
  std::string client_request_id;
  // How long the whole call may take, retries included; 0 for the endpoint's timeout_ms.
  int64_t timeout_ms = 0;
  correlation_id correlation;
  // Only closes exposure (the risk monitor's closing orders at SHUTDOWN): the one kind of
  // submit_order a breaker lets through, and retries, from HALT up.
  bool reduces_risk = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, endpoint_request& x) {
  return f(caf::meta::type_name("endpoint_request"), x.operation, x.json, x.client_request_id,
           x.timeout_ms, x.correlation, x.reduces_risk);
}

struct endpoint_response {
  int32_t status = 0; // HTTP status semantics: 2xx success, 4xx refused, 5xx failed
  std::string json;   // the response body, JSON text
  std::string client_request_id;
  // From a Retry-After header (429, 503): how long the endpoint asked us to wait; 0 if not.
  int64_t retry_after_ms = 0;
  uint32_t attempts = 0;  // filled in by the breaker: 1 when no retry was needed
  int64_t latency_us = 0; // filled in by the breaker: the whole call, retries included
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, endpoint_response& x) {
  return f(caf::meta::type_name("endpoint_response"), x.status, x.json, x.client_request_id,
           x.retry_after_ms, x.attempts, x.latency_us);
}

enum class breaker_state : uint8_t {
  closed,      // calls pass; outcomes are recorded
  open,        // calls are rejected at once with breaker_open until the recovery timeout
  half_open,   // a few trial calls pass; enough successes close it, one failure opens it
  forced_open, // an operator stopped all calls; only force_close or reset lifts it
  disabled,    // an operator let all calls pass; nothing is recorded or decided
};

std::string to_string(breaker_state state);

struct breaker_stats {
  std::string endpoint;
  breaker_state state = breaker_state::closed;
  int64_t in_state_ms = 0; // time since the last transition
  uint64_t calls = 0;      // calls that reached the endpoint (each attempt counts)
  uint64_t successes = 0;
  uint64_t failures = 0;   // errors, 5xx and 429 answers, timeouts, slow calls
  uint64_t slow_calls = 0; // calls slower than slow_call_ms (counted as failures too)
  uint64_t timeouts = 0;   // calls that missed their deadline
  uint64_t rejected = 0;   // calls refused with breaker_open without touching the endpoint
  uint64_t retries = 0;    // attempts after the first
  uint64_t transitions = 0;
  uint64_t rate_limited = 0; // calls refused with rate_limited: the endpoint's budget was spent
  uint64_t budget_waits = 0; // attempts that waited for the budget before going out
  uint64_t budget_local = 0; // budget decisions made without the rate limiter (it was away)
  double failure_rate = 0;   // percent, over the sliding window
  uint32_t window_calls = 0; // outcomes in the sliding window
  std::string last_failure;  // the error or status of the last failure
  int64_t last_failure_at_us = 0; // microseconds since the Unix epoch; 0 if none
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, breaker_stats& x) {
  return f(caf::meta::type_name("breaker_stats"), x.endpoint, x.state, x.in_state_ms, x.calls,
           x.successes, x.failures, x.slow_calls, x.timeouts, x.rejected, x.retries, x.transitions,
           x.rate_limited, x.budget_waits, x.budget_local, x.failure_rate, x.window_calls,
           x.last_failure, x.last_failure_at_us);
}

using call_atom = caf::atom_constant<caf::atom("call")>;
using force_open_atom = caf::atom_constant<caf::atom("force_open")>;
using force_close_atom = caf::atom_constant<caf::atom("force_clos")>;
using reset_atom = caf::atom_constant<caf::atom("reset")>;
using disable_atom = caf::atom_constant<caf::atom("disable")>;
using breaker_atom = caf::atom_constant<caf::atom("breaker")>;

// An endpoint adapter. Answers every request it takes, within its deadline or not at all
// (the breaker gives up at the deadline and discards what comes later).
using endpoint_actor =
    caf::typed_actor<caf::replies_to<call_atom, endpoint_request>::with<endpoint_response>>;

// One endpoint's circuit breaker. The operator requests answer with the stats after the change.
using breaker_actor =
    caf::typed_actor<caf::replies_to<call_atom, endpoint_request>::with<endpoint_response>,
                     caf::replies_to<force_open_atom, std::string>::with<breaker_stats>, // reason
                     caf::replies_to<force_close_atom, std::string>::with<breaker_stats>,
                     caf::replies_to<reset_atom, std::string>::with<breaker_stats>,
                     caf::replies_to<disable_atom, std::string>::with<breaker_stats>,
                     caf::replies_to<status_atom>::with<breaker_stats>,
                     // The emergency controller's broadcast: from HALT up, failed calls are not
                     // retried.
                     caf::reacts_to<level_change>>;

// The registry of breakers, one per configured endpoint, each spawned on first use.
using breaker_registry_actor = caf::typed_actor<
    // A call to the named endpoint, through its breaker.
    caf::replies_to<call_atom, std::string, endpoint_request>::with<endpoint_response>,
    // The named endpoint's breaker, for callers that call it often (one hop fewer).
    caf::replies_to<breaker_atom, std::string>::with<breaker_actor>,
    caf::replies_to<force_open_atom, std::string, std::string>::with<breaker_stats>,
    caf::replies_to<force_close_atom, std::string, std::string>::with<breaker_stats>,
    caf::replies_to<reset_atom, std::string, std::string>::with<breaker_stats>,
    caf::replies_to<disable_atom, std::string, std::string>::with<breaker_stats>,
    // Every breaker spawned so far.
    caf::replies_to<status_atom>::with<std::vector<breaker_stats>>>;

} // namespace brokedancer
