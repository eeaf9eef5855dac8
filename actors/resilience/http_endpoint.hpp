#pragma once

// An endpoint that is a REST API over HTTP(S), with cpp-httplib. httplib blocks, so the calls
// run on `concurrency` detached worker actors, each with its own keep-alive connection; the
// endpoint actor itself only queues and hands out work, and never blocks a scheduler thread.
//
// A request's operation is "<METHOD> <path>" (GET, POST, PUT, PATCH, DELETE), its JSON is the
// body. The risk monitor's operations are the exchange API's (what `brokedancer exchange`
// serves): submit_order is POST /orders, cancel_order POST /orders/cancel, order_status
// POST /orders/status, register_fence POST /fences. Every request carries these headers:
//   Content-Type: application/json (with a body), Accept: application/json,
//   Idempotency-Key and X-Client-Request-Id: the client request id (kept across retries, so a
//     server that honours either executes a retried order once),
//   X-Correlation-Id: the correlation id.
// The answer's status and body come back as they are (a body that is not JSON comes back as a
// JSON string); Retry-After in seconds is passed on. No answer -- refused, reset, timed out --
// is an error: endpoint_unreachable or endpoint_timeout.

#include <chrono>
#include <cstddef>
#include <string>

#include <caf/fwd.hpp>

#include "messages/resilience.hpp"

namespace brokedancer {

struct http_endpoint_settings {
  std::string name;
  std::string base_url; // http://host:port or https://host:port
  size_t concurrency = 4;
  size_t max_queue = 1000; // calls waiting for a worker; beyond it endpoint_overloaded
  std::chrono::milliseconds connect_timeout{2000};
};

endpoint_actor spawn_http_endpoint(caf::actor_system& sys, http_endpoint_settings settings);

} // namespace brokedancer
