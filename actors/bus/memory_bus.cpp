#include "actors/bus/memory_bus.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/supervision/supervisor.hpp"
#include "core/logging.hpp"

namespace brokedancer {

namespace {

struct memory_bus_state {
  std::shared_ptr<bus_data> data;
  bus_options options;
  std::unique_ptr<bus_delivery> delivery;
  logger log{"event_bus"};
};

using bus_pointer = event_bus_actor::stateful_pointer<memory_bus_state>;

uint64_t publish(bus_pointer self, std::string topic, std::string json,
                 correlation_id correlation) {
  auto& st = self->state;
  auto ev = stamp(*st.data, st.options, std::move(topic), std::move(json), std::move(correlation));
  ++st.data->published;
  auto sequence = ev.sequence;
  // One message for all subscribers: CAF shares it copy-on-write.
  auto shared = caf::make_message(std::move(ev));
  const auto& published = shared.get_as<event>(0);
  auto bytes = published.topic.size() + published.json.size();
  st.data->table.for_each_match(
      published.topic, [&](subscription& sub) { st.delivery->deliver(self, sub, shared, bytes); });
  return sequence;
}

caf::result<uint64_t> publish_one(bus_pointer self, std::string& topic, std::string& json,
                                  correlation_id& correlation) {
  if (auto err = check_event(self->state.options, topic, json))
    return err;
  return publish(self, std::move(topic), std::move(json), std::move(correlation));
}

caf::result<uint64_t> publish_batch(bus_pointer self, std::vector<event_draft>& drafts) {
  // All or nothing: a bad event refuses the whole batch before any is published.
  for (const auto& draft : drafts)
    if (auto err = check_event(self->state.options, draft.topic, draft.json))
      return err;
  auto first = self->state.data->next_sequence;
  for (auto& draft : drafts)
    publish(self, std::move(draft.topic), std::move(draft.json), std::move(draft.correlation));
  return first;
}

caf::result<uint64_t> subscribe(bus_pointer self, std::string& pattern, caf::actor& subscriber) {
  if (auto err = check_subscription(pattern, subscriber))
    return err;
  auto& table = self->state.data->table;
  if (!table.has_subscriber(subscriber.address()))
    self->monitor(subscriber);
  return table.add(std::move(pattern), std::move(subscriber));
}

bool unsubscribe(bus_pointer self, uint64_t id) {
  auto& table = self->state.data->table;
  auto* sub = table.find(id);
  if (!sub)
    return false;
  auto subscriber = sub->subscriber;
  table.remove(id);
  if (!table.has_subscriber(subscriber.address()))
    self->demonitor(subscriber);
  return true;
}

bus_stats status(bus_pointer self) {
  auto stats = snapshot(*self->state.data, "memory");
  stats.connected = true;
  return stats;
}

event_bus_actor::behavior_type memory_bus(bus_pointer self, std::shared_ptr<bus_data> data,
                                          bus_options options) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.data = std::move(data);
  st.options = std::move(options);
  st.delivery =
      std::make_unique<bus_delivery>(st.data, st.options.max_backlog, st.options.max_backlog_bytes);
  st.delivery->adopt(self);
  self->set_down_handler(
      [self](caf::down_msg& down) { forget_subscriber(*self->state.data, down, self->system()); });
  return {
      [self](publish_atom, std::string& topic, std::string& json, correlation_id& correlation) {
        return publish_one(self, topic, json, correlation);
      },
      [self](publish_batch_atom, std::vector<event_draft>& drafts) {
        return publish_batch(self, drafts);
      },
      [self](subscribe_atom, std::string& pattern, caf::actor& subscriber) {
        return subscribe(self, pattern, subscriber);
      },
      [self](unsubscribe_atom, uint64_t id) { return unsubscribe(self, id); },
      [self](status_atom) { return status(self); },
  };
}

} // namespace

event_bus_actor spawn_memory_bus(caf::actor_system& sys, std::shared_ptr<bus_data> data,
                                 bus_options options) {
  return sys.spawn(memory_bus, std::move(data), std::move(options));
}

} // namespace brokedancer
