#pragma once

// What every event bus backend shares: the limits an event must meet, the subscriptions and
// counters that outlive one incarnation of the bus, and bounded delivery to a subscriber.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <caf/timespan.hpp>

#include "actors/bus/subscription_table.hpp"
#include "core/unix_time.hpp"
#include "messages/event_bus.hpp"

namespace brokedancer {

struct bus_options {
  std::string node_name;
  // Events a subscription may have outstanding before further ones are dropped for it.
  size_t max_backlog = 10000;
  // And the bytes (topics and payloads) it may have outstanding.
  size_t max_backlog_bytes = 64 << 20;
  size_t max_topic_bytes = 256;
  size_t max_payload_bytes = 1 << 20;
};

// The subscriptions and counters, owned outside any one incarnation: a bus that crashes and is
// restarted keeps delivering to everyone who had subscribed, and keeps counting.
struct bus_data {
  subscription_table table;
  uint64_t next_sequence = 1;
  uint64_t published = 0;
  uint64_t delivered = 0;
  uint64_t dropped = 0;
  uint64_t refused = 0;  // publishes answered with bus_unavailable
  uint64_t received = 0; // events that arrived from another transport (Redis)
  uint64_t rejected = 0; // messages from that transport that were not valid events
};

std::shared_ptr<bus_data> make_bus_data();

caf::error check_event(const bus_options& options, const std::string& topic,
                       const std::string& json);
caf::error check_subscription(const std::string& pattern, const caf::actor& subscriber);

// The event with this node's next sequence number, the time and the node's name.
event stamp(bus_data& data, const bus_options& options, std::string topic, std::string json,
            correlation_id correlation);

// The counters and subscriptions, for a status reply; the caller adds the backend's own.
bus_stats snapshot(const bus_data& data, std::string backend);

// A subscriber is gone (its down_msg): its subscriptions are removed and logged; the reply is
// what was removed, for a backend that must also let go of them elsewhere.
std::vector<subscription> forget_subscriber(bus_data& data, const caf::down_msg& down,
                                            caf::actor_system& sys);

// Delivery to the subscriptions of one bus incarnation. Every ack_every-th event to a
// subscription goes as a request. CAF answers it when the subscriber's handler returns, and a
// subscriber processes one sender's messages in order, so that answer acknowledges every
// earlier event too: the backlog is known without any code in the subscriber, at the cost of
// one reply per ack_every events.
class bus_delivery {
public:
  bus_delivery(std::shared_ptr<bus_data> data, size_t max_backlog, size_t max_backlog_bytes)
    : data_(std::move(data)), max_backlog_(std::max<size_t>(max_backlog, 2)),
      max_backlog_bytes_(std::max<size_t>(max_backlog_bytes, 1024)),
      ack_every_(std::clamp<uint64_t>(max_backlog_ / 4, 1, 64)) {}

  bus_data& data() {
    return *data_;
  }

  // Taking over from a crashed incarnation: watch every subscriber again, and forget the
  // acknowledgements the old one was waiting for (they were addressed to it) rather than hold
  // those subscribers at a backlog that can no longer drain.
  template <class Self>
  void adopt(Self* self) {
    std::vector<caf::actor> watched;
    data_->table.for_each([&](const subscription& sub) { watched.push_back(sub.subscriber); });
    for (auto& subscriber : watched)
      self->monitor(subscriber);
    data_->table.for_each_mutable([](subscription& sub) {
      sub.acknowledged = sub.delivered;
      sub.acknowledged_bytes = sub.asked_bytes = sub.delivered_bytes;
    });
  }

  // Sends `shared` (a message holding one event of `bytes` topic and payload) to `sub`, unless
  // its backlog is full in number or in bytes.
  template <class Self>
  void deliver(Self* self, subscription& sub, const caf::message& shared, size_t bytes) {
    auto& data = *data_;
    if (sub.backlog() >= max_backlog_ || sub.backlog_bytes() + bytes > max_backlog_bytes_) {
      ++sub.dropped;
      ++data.dropped;
      return;
    }
    ++sub.delivered;
    ++data.delivered;
    sub.delivered_bytes += bytes;
    // Asked for every ack_every-th event, and whenever a quarter of the byte bound went out
    // since the last ask: large events must not fill the bound before anything is asked.
    bool ask = sub.delivered % ack_every_ == 0
               || sub.delivered_bytes - sub.asked_bytes >= max_backlog_bytes_ / 4;
    if (!ask) {
      caf::anon_send(sub.subscriber, shared);
      return;
    }
    sub.asked_bytes = sub.delivered_bytes;
    auto acknowledge = [table = &data.table, id = sub.id, upto = sub.delivered,
                        upto_bytes = sub.delivered_bytes] {
      if (auto* acked = table->find(id)) {
        acked->acknowledged = std::max(acked->acknowledged, upto);
        acked->acknowledged_bytes = std::max(acked->acknowledged_bytes, upto_bytes);
      }
    };
    // A subscriber's event handler returns nothing, so the answer is an empty message; one
    // that returns something answers with it, which CAF reports as an unexpected response --
    // still proof that the event was processed. Any other error means the subscriber is gone,
    // and its down message removes it. (The handlers die with this incarnation, before the
    // data it shares with the next.)
    self->request(sub.subscriber, caf::infinite, shared)
        .then([acknowledge] { acknowledge(); },
              [acknowledge](caf::error& err) {
                if (err == caf::sec::unexpected_response)
                  acknowledge();
              });
  }

private:
  std::shared_ptr<bus_data> data_;
  size_t max_backlog_;
  size_t max_backlog_bytes_;
  uint64_t ack_every_;
};

} // namespace brokedancer
