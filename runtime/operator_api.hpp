#pragma once

// The operator API: how `brokedancer status|halt|resume|shutdown` (or any HTTP client) reaches
// a running node. HTTP/JSON on node.control_host:node.control_port, over TLS when
// node.control_tls_certificate is set.
//
//   GET  /v1/status                              operator, risk
//   POST /v1/halt      {"reason": "..."}         operator, risk
//   POST /v1/shutdown  {"reason": "..."}         operator, risk
//   POST /v1/resume    {"reason": "...", "level": "NORMAL"|"ALERT"}   risk only
//   GET  /metrics                                any role: Prometheus text format 0.0.4
//   GET  /api/events?topics=P1,P2&status=1        any role: server-sent events, bus topics
//   GET  /api/dashboard                          any role: P&L over the run, latest alerts
//   GET  /                                       no credential: the dashboard page (it asks)
//   GET  /healthz, /readyz                       no credential: liveness and readiness
//
// Every request carries `Authorization: Bearer <token>`; the token's credential decides the
// role (runtime/operator_auth.hpp). Answers are JSON; an error is {"error": "..."} with 400 (bad
// input), 401 (no or wrong credential), 403 (the role may not), 404, 405 (wrong method), 409
// (the node refused), 429 (too many failed attempts from this address), 500, 503 (not ready or
// stopping) or 504 (timed out); before a request reaches this code, the transport refuses a
// malformed or oversized one with 400, 413, 414, 431, 501 or 505 (runtime/http_server.hpp).
//
// What an unauthenticated client can cost the node is bounded by the transport
// (runtime/http_server): a fixed pool of workers with a bounded queue, a deadline of a few
// seconds for a whole request (TLS handshake included), and limits on the head, the number of
// headers and the body. No CAF port is involved: nothing a client sends reaches an actor before
// its credential is checked.

#include <cstdint>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "core/event_fanout.hpp"
#include "messages/bot.hpp"
#include "messages/control.hpp"
#include "messages/event_bus.hpp"
#include "messages/market_stream.hpp"
#include "messages/observability.hpp"
#include "messages/order_metrics.hpp"
#include "messages/state_store.hpp"
#include "runtime/operator_auth.hpp"

namespace brokedancer {

// What the observing side (/metrics, /api/events, /api/dashboard, /readyz) reads; any of it may
// be missing (an embedded node without a relay, say): what it feeds is then left out.
struct operator_api_observers {
  std::shared_ptr<event_fanout> fanout; // the relay's clients
  std::shared_ptr<const order_metrics> orders;
  event_relay_actor relay;
  event_bus_actor bus;
  state_store_actor store;
  bot_supervisor_actor bots;
  market_stream_actor market_stream;
  uint32_t max_bot_labels = 50;
};

struct operator_api_options {
  std::string node_name;
  std::string host = "127.0.0.1";
  uint16_t port = 0; // 0: any free port (see operator_api::port)
  credential_set credentials;
  // Both or neither: HTTPS with this certificate chain and key.
  std::string tls_certificate;
  std::string tls_key;
  size_t threads = 16;
  size_t queued_connections = 64;
  operator_api_observers observers;
};

class operator_api {
public:
  // Binds and starts serving; throws std::runtime_error when the port cannot be bound or the
  // certificate cannot be loaded.
  operator_api(caf::actor_system& sys, node_control_actor control, operator_api_options options);
  ~operator_api(); // stops serving and waits for the requests in progress

  operator_api(const operator_api&) = delete;
  operator_api& operator=(const operator_api&) = delete;

  uint16_t port() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace brokedancer
