#include "actors/memory_bus.hpp"

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/subscription_table.hpp"
#include "actors/supervisor.hpp"
#include "messages/errors.hpp"
#include "runtime/logging.hpp"

namespace brokedancer {

struct memory_bus_data {
  subscription_table table;
  uint64_t next_sequence = 1;
  uint64_t published = 0;
  uint64_t delivered = 0;
  uint64_t dropped = 0;
};

std::shared_ptr<memory_bus_data> make_memory_bus_data() {
  return std::make_shared<memory_bus_data>();
}

namespace {

struct memory_bus_state {
  std::shared_ptr<memory_bus_data> data;
  bus_options options;
  // Every ack_every-th event to a subscription goes as a request. CAF answers it when the
  // subscriber's handler returns, and a subscriber processes one sender's messages in order,
  // so that answer acknowledges every earlier event too: the backlog is known without any
  // code in the subscriber, at the cost of one reply per ack_every events.
  uint64_t ack_every = 64;
  logger log{"event_bus"};
};

using bus_pointer = event_bus_actor::stateful_pointer<memory_bus_state>;

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

caf::error check_event(const bus_options& options, const std::string& topic,
                       const std::string& json) {
  if (topic.empty())
    return make_error(errc::invalid_argument, "the topic is empty");
  if (topic.size() > options.max_topic_bytes)
    return make_error(errc::invalid_argument, "a topic of " + std::to_string(topic.size())
                                                  + " bytes is over the limit of "
                                                  + std::to_string(options.max_topic_bytes));
  if (json.size() > options.max_payload_bytes)
    return make_error(errc::value_too_large,
                      "a payload of " + std::to_string(json.size()) + " bytes is over the limit of "
                          + std::to_string(options.max_payload_bytes) + " (bus.max_payload_bytes)");
  if (!nlohmann::json::accept(json))
    return make_error(errc::invalid_json, "the payload on " + topic + " is not valid JSON");
  return {};
}

void deliver(bus_pointer self, subscription& sub, const caf::message& shared) {
  auto& st = self->state;
  if (sub.backlog() >= st.options.max_backlog) {
    ++sub.dropped;
    ++st.data->dropped;
    return;
  }
  ++sub.delivered;
  ++st.data->delivered;
  if (sub.delivered % st.ack_every != 0) {
    caf::anon_send(sub.subscriber, shared);
    return;
  }
  auto id = sub.id;
  auto upto = sub.delivered;
  auto acknowledge = [self, id, upto] {
    if (auto* acked = self->state.data->table.find(id))
      acked->acknowledged = std::max(acked->acknowledged, upto);
  };
  // A subscriber's event handler returns nothing, so the answer is an empty message; one that
  // returns something answers with it, which CAF reports as an unexpected response -- still
  // proof that the event was processed. Any other error means the subscriber is gone, and its
  // down message removes it.
  self->request(sub.subscriber, caf::infinite, shared)
      .then([acknowledge] { acknowledge(); },
            [acknowledge](caf::error& err) {
              if (err == caf::sec::unexpected_response)
                acknowledge();
            });
}

uint64_t publish(bus_pointer self, std::string topic, std::string json,
                 correlation_id correlation) {
  auto& st = self->state;
  event ev;
  ev.sequence = st.data->next_sequence++;
  ev.published_at_us = now_us();
  ev.source_node = st.options.node_name;
  ev.topic = std::move(topic);
  ev.json = std::move(json);
  ev.correlation = std::move(correlation);
  ++st.data->published;
  auto sequence = ev.sequence;
  // One message for all subscribers: CAF shares it copy-on-write.
  auto shared = caf::make_message(std::move(ev));
  const auto& published_topic = shared.get_as<event>(0).topic;
  st.data->table.for_each_match(published_topic,
                                [&](subscription& sub) { deliver(self, sub, shared); });
  return sequence;
}

event_bus_actor::behavior_type memory_bus(bus_pointer self, std::shared_ptr<memory_bus_data> data,
                                          bus_options options) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.data = std::move(data);
  st.options = std::move(options);
  // Taking over from a crashed incarnation: watch every subscriber again, and forget the
  // acknowledgements it was waiting for (they were addressed to it) rather than hold those
  // subscribers at a backlog that can no longer drain.
  std::vector<caf::actor> watched;
  st.data->table.for_each([&](const subscription& sub) { watched.push_back(sub.subscriber); });
  for (auto& subscriber : watched)
    self->monitor(subscriber);
  st.data->table.for_each_mutable([](subscription& sub) { sub.acknowledged = sub.delivered; });
  st.options.max_backlog = std::max<size_t>(st.options.max_backlog, 2);
  st.ack_every = std::clamp<uint64_t>(st.options.max_backlog / 4, 1, 64);
  self->set_down_handler([self](caf::down_msg& down) {
    auto removed = self->state.data->table.remove_subscriber(down.source);
    if (removed > 0)
      self->state.log.info(
          "subscriber gone; its subscriptions were removed",
          {{"subscriptions", removed}, {"reason", self->system().render(down.reason)}});
  });
  return {
      [self](publish_atom, std::string& topic, std::string& json,
             correlation_id& correlation) -> caf::result<uint64_t> {
        if (auto err = check_event(self->state.options, topic, json))
          return err;
        return publish(self, std::move(topic), std::move(json), std::move(correlation));
      },
      [self](publish_batch_atom, std::vector<event_draft>& drafts) -> caf::result<uint64_t> {
        // All or nothing: a bad event refuses the whole batch before any is published.
        for (const auto& draft : drafts)
          if (auto err = check_event(self->state.options, draft.topic, draft.json))
            return err;
        auto first = self->state.data->next_sequence;
        for (auto& draft : drafts)
          publish(self, std::move(draft.topic), std::move(draft.json),
                  std::move(draft.correlation));
        return first;
      },
      [self](subscribe_atom, std::string& pattern,
             caf::actor& subscriber) -> caf::result<uint64_t> {
        if (pattern.empty())
          return make_error(errc::invalid_argument, "the topic or pattern is empty");
        if (!subscriber)
          return make_error(errc::invalid_argument, "no subscriber given");
        auto& table = self->state.data->table;
        if (!table.has_subscriber(subscriber.address()))
          self->monitor(subscriber);
        return table.add(std::move(pattern), std::move(subscriber));
      },
      [self](unsubscribe_atom, uint64_t id) {
        auto& table = self->state.data->table;
        auto* sub = table.find(id);
        if (!sub)
          return false;
        auto subscriber = sub->subscriber;
        table.remove(id);
        if (!table.has_subscriber(subscriber.address()))
          self->demonitor(subscriber);
        return true;
      },
      [self](status_atom) {
        const auto& current = self->state;
        bus_stats stats;
        stats.backend = "memory";
        stats.published = current.data->published;
        stats.delivered = current.data->delivered;
        stats.dropped = current.data->dropped;
        current.data->table.for_each([&](const subscription& sub) {
          stats.subscriptions.push_back(
              {sub.id, sub.pattern, sub.delivered, sub.dropped, sub.backlog()});
        });
        std::sort(stats.subscriptions.begin(), stats.subscriptions.end(),
                  [](const auto& a, const auto& b) { return a.id < b.id; });
        return stats;
      },
  };
}

} // namespace

event_bus_actor spawn_memory_bus(caf::actor_system& sys, std::shared_ptr<memory_bus_data> data,
                                 bus_options options) {
  return sys.spawn(memory_bus, std::move(data), std::move(options));
}

} // namespace brokedancer
