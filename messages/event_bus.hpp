#pragma once

// The event bus's contract: one interface for every backend. Topics are plain strings;
// subscribing with a glob pattern (Redis PSUBSCRIBE rules: *, ?, [abc], \ escapes) receives
// every topic it matches. Standard topics:
//
//   market.<symbol>          the top of the book at each tick (messages/market.hpp)
//   trading.signals          strategy signals
//   trading.orders           order submissions, results and cancellations
//   trading.positions        position and P&L updates
//   trading.alerts           risk warnings and limit breaches
//   trading.system           runtime lifecycle: start, stop, restarts, bots given up
//   emergency.level_changed  every emergency level change (also sent to bots directly)
//   breaker.state_changed    circuit breaker transitions
//   bot.<id>.*               a bot's own topics
//
// Subscribers receive `event` messages. Delivery is bounded: a subscription that has not
// processed bus.max_backlog events is skipped (the event is counted as dropped for it), so a
// slow subscriber costs memory only up to that bound and never delays the others.
//
// Errors: invalid_argument (empty or overlong topic, no subscriber), invalid_json,
// value_too_large (payload over bus.max_payload_bytes), and with Redis bus_unavailable: Redis
// cannot be reached, so the event was not published (or not confirmed) and the subscription
// not made. Nothing is buffered for later; the publisher decides what to do.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/correlation.hpp"

namespace brokedancer {

struct event {
  std::string topic;
  std::string json; // the payload, JSON text
  correlation_id correlation;
  int64_t published_at_us = 0; // microseconds since the Unix epoch, when the bus took it
  std::string source_node;     // runtime.node_name of the node it was published on
  uint64_t sequence = 0;       // per node, increasing in publication order
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event& x) {
  return f(caf::meta::type_name("event"), x.topic, x.json, x.correlation, x.published_at_us,
           x.source_node, x.sequence);
}

// One event of a publish_batch.
struct event_draft {
  std::string topic;
  std::string json;
  correlation_id correlation;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_draft& x) {
  return f(caf::meta::type_name("event_draft"), x.topic, x.json, x.correlation);
}

struct subscription_stats {
  uint64_t id = 0;
  std::string pattern;
  uint64_t delivered = 0; // sent to the subscriber
  uint64_t dropped = 0;   // skipped because its backlog was full
  uint64_t backlog = 0;   // sent and not yet known to be processed
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, subscription_stats& x) {
  return f(caf::meta::type_name("subscription_stats"), x.id, x.pattern, x.delivered, x.dropped,
           x.backlog);
}

struct bus_stats {
  std::string backend;
  bool connected = false;  // the backend is reachable and publish/subscribe are accepted
  uint64_t published = 0;  // events published (with Redis: confirmed by Redis)
  uint64_t delivered = 0;  // events sent to local subscribers
  uint64_t dropped = 0;    // events skipped for a subscriber whose backlog was full
  uint64_t refused = 0;    // publishes answered with bus_unavailable
  uint64_t received = 0;   // Redis: events that arrived from Redis for local subscribers
  uint64_t rejected = 0;   // Redis: messages on our channels that are not valid events
  uint64_t reconnects = 0; // Redis: connections re-established after a loss
  std::string last_error;  // Redis: why the backend was last unreachable
  std::vector<subscription_stats> subscriptions;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bus_stats& x) {
  return f(caf::meta::type_name("bus_stats"), x.backend, x.connected, x.published, x.delivered,
           x.dropped, x.refused, x.received, x.rejected, x.reconnects, x.last_error,
           x.subscriptions);
}

using publish_atom = caf::atom_constant<caf::atom("publish")>;
using publish_batch_atom = caf::atom_constant<caf::atom("pub_batch")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("unsub")>;

using event_bus_actor = caf::typed_actor<
    // Publishes one event; the reply is its sequence number.
    caf::replies_to<publish_atom, std::string, std::string, correlation_id>::with<uint64_t>,
    // Publishes several events in order; the reply is the first one's sequence number.
    caf::replies_to<publish_batch_atom, std::vector<event_draft>>::with<uint64_t>,
    // Subscribes `subscriber` to a topic, or to a glob pattern; the reply is the subscription id.
    caf::replies_to<subscribe_atom, std::string, caf::actor>::with<uint64_t>,
    // Ends a subscription; true when it existed.
    caf::replies_to<unsubscribe_atom, uint64_t>::with<bool>,
    caf::replies_to<status_atom>::with<bus_stats>>;

} // namespace brokedancer
