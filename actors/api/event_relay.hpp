#pragma once

// The event relay: what the operator API shows of the bus. It subscribes to every topic on the
// node's bus and
// - hands each event, as a server-sent-events frame, to the stream clients whose patterns match
//   it (core/event_fanout: a client that falls behind is cut off; the relay never waits);
// - keeps the newest level changes, alerts and breaker transitions for a page that opens late;
// - samples the book's P&L every `sample_every` for the dashboard's chart over the run;
// - counts this node's level changes by source and its workflow runs' durations by outcome,
//   for /metrics.
// Whatever reaches it from the bus is outside input (on Redis, anyone who can publish): payloads
// are parsed only on the few low-rate topics it counts, and the counts' keys are bounded.

#include <chrono>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "core/event_fanout.hpp"
#include "messages/event_bus.hpp"
#include "messages/observability.hpp"
#include "messages/risk.hpp"

namespace brokedancer {

struct event_relay_options {
  std::string node_name;
  std::chrono::milliseconds sample_every{1000};
  size_t max_pnl_points = 3600; // past this, every other point is dropped: the whole run stays
  size_t max_recent = 50;
};

event_relay_actor spawn_event_relay(caf::actor_system& sys, event_relay_options options,
                                    std::shared_ptr<event_fanout> fanout, event_bus_actor bus,
                                    risk_monitor_actor risk);

// An event as a stream frame's JSON: topic, data (the payload), published_at_us, source_node,
// sequence and correlation_id, on one line. A payload that is not one JSON value is sent as a
// string.
std::string event_frame_json(const event& ev);

// A server-sent-events frame holding `json` (one line).
std::string sse_frame(const std::string& json, uint64_t id);

} // namespace brokedancer
