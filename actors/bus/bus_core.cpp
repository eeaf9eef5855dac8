#include "actors/bus/bus_core.hpp"

#include <chrono>

#include <caf/actor_system.hpp>

#include "core/json_check.hpp"
#include "core/logging.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

std::shared_ptr<bus_data> make_bus_data() {
  return std::make_shared<bus_data>();
}

caf::error check_event(const bus_options& options, const std::string& topic,
                       const std::string& json) {
  if (topic.empty())
    return make_error(errc::invalid_argument, "the topic is empty");
  if (topic.size() > options.max_topic_bytes)
    return make_error(errc::invalid_argument,
                      "a topic of " + std::to_string(topic.size()) + " bytes is over the limit of "
                          + std::to_string(options.max_topic_bytes) + " (bus.max_topic_bytes)");
  if (json.size() > options.max_payload_bytes)
    return make_error(errc::value_too_large,
                      "a payload of " + std::to_string(json.size()) + " bytes is over the limit of "
                          + std::to_string(options.max_payload_bytes) + " (bus.max_payload_bytes)");
  if (auto problem = json_text_problem(json); !problem.empty())
    return make_error(errc::invalid_json, "the payload on " + topic + " " + problem);
  return {};
}

caf::error check_subscription(const std::string& pattern, const caf::actor& subscriber) {
  if (pattern.empty())
    return make_error(errc::invalid_argument, "the topic or pattern is empty");
  if (!subscriber)
    return make_error(errc::invalid_argument, "no subscriber given");
  return {};
}

event stamp(bus_data& data, const bus_options& options, std::string topic, std::string json,
            correlation_id correlation) {
  event ev;
  ev.sequence = data.next_sequence++;
  ev.published_at_us = now_us();
  ev.source_node = options.node_name;
  ev.topic = std::move(topic);
  ev.json = std::move(json);
  ev.correlation = std::move(correlation);
  return ev;
}

std::vector<subscription> forget_subscriber(bus_data& data, const caf::down_msg& down,
                                            caf::actor_system& sys) {
  auto removed = data.table.remove_subscriber(down.source);
  if (!removed.empty())
    logger{"event_bus"}.info(
        "subscriber gone; its subscriptions were removed",
        {{"subscriptions", removed.size()}, {"reason", sys.render(down.reason)}});
  return removed;
}

bus_stats snapshot(const bus_data& data, std::string backend) {
  bus_stats stats;
  stats.backend = std::move(backend);
  stats.published = data.published;
  stats.delivered = data.delivered;
  stats.dropped = data.dropped;
  stats.refused = data.refused;
  stats.received = data.received;
  stats.rejected = data.rejected;
  data.table.for_each([&](const subscription& sub) {
    stats.subscriptions.push_back({sub.id, sub.pattern, sub.delivered, sub.dropped, sub.backlog()});
  });
  std::sort(stats.subscriptions.begin(), stats.subscriptions.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  return stats;
}

} // namespace brokedancer
