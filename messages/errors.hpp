#pragma once

// The project's error codes. They travel inside caf::error, so a node can tell a peer's
// "store unavailable" from its own, and the same code means the same thing everywhere.

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace brokedancer {

enum class errc : uint8_t {
  none = 0,
  // A supervised subsystem is not running (stopped for good, or between incarnations).
  subsystem_unavailable = 1,
  // A supervisor restarted its children more often than its intensity allows.
  restart_intensity_exceeded = 2,
  // A request carried a value outside what the receiver accepts.
  invalid_argument = 3,
  // The runtime is stopping and no longer takes this request.
  shutting_down = 4,
  // The state store's backend cannot be reached; the request was not carried out (or not
  // acknowledged), so the caller must treat it as not done.
  store_unavailable = 5,
  // A value that must be JSON is not.
  invalid_json = 6,
  // A key or value is larger than the configured limit (state.max_key_bytes / max_value_bytes).
  key_too_large = 7,
  value_too_large = 8,
  // increment on a value that is not a JSON integer.
  not_an_integer = 9,
  // increment would leave the range of a 64-bit signed integer.
  integer_overflow = 10,
  // The event bus's backend cannot be reached: the event was not published (or its publication
  // was not confirmed), the subscription was not made. Nothing is buffered for later.
  bus_unavailable = 11,
  // A circuit breaker refused the call without touching the endpoint: it is open (the
  // endpoint has been failing), forced open by an operator, or out of half-open trial calls.
  breaker_open = 12,
  // The call missed its deadline; whatever the endpoint answers later is discarded.
  endpoint_timeout = 13,
  // The endpoint could not be reached (connection refused or reset, DNS, TLS, an outage).
  endpoint_unreachable = 14,
  // No endpoint of that name is configured (resilience.endpoints).
  unknown_endpoint = 15,
  // The endpoint adapter has more calls waiting than it accepts (its queue is full).
  endpoint_overloaded = 16,
  // The emergency level is HALT or above: a new order was not sent to the endpoint.
  trading_halted = 17,
  // A write fenced by a lease that the writer no longer holds: another holder may write now.
  lease_lost = 18,
  // A request budget (an endpoint's published rate limit, a bot's order cap) is spent: the
  // request was not sent. Not a failure of the endpoint.
  rate_limited = 19,
  // A named thing the request refers to does not exist (a stream's consumer group).
  not_found = 20,
  // A well-formed request that the state of what it names does not allow now (an execution
  // that is not interrupted, or whose checkpoint cannot be trusted, asked to resume).
  refused = 21,
};

// The category under which caf::error carries an errc; 10 characters is CAF's atom limit.
constexpr caf::atom_value error_category = caf::atom("brokedancr");

std::string to_string(errc code);

caf::error make_error(errc code);
caf::error make_error(errc code, std::string context);

// True when `err` carries `code` in the project's category.
bool is(const caf::error& err, errc code);

} // namespace brokedancer
