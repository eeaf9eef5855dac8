#include "runtime/infrastructure.hpp"

#include <caf/actor_cast.hpp>

#include "actors/memory_bus.hpp"
#include "actors/memory_store.hpp"
#include "actors/redis_bus.hpp"
#include "actors/redis_store.hpp"

namespace brokedancer {

namespace {

redis_connection_options connection_options(const runtime_config& config) {
  redis_connection_options options;
  options.endpoint = config.redis.endpoint;
  options.connect_timeout = std::chrono::milliseconds(config.redis.connect_timeout_ms);
  options.command_timeout = std::chrono::milliseconds(config.redis.command_timeout_ms);
  options.reconnect_initial = std::chrono::milliseconds(config.redis.reconnect_initial_ms);
  options.reconnect_max = std::chrono::milliseconds(config.redis.reconnect_max_ms);
  options.pipeline_max = static_cast<size_t>(config.redis.pipeline_max);
  return options;
}

} // namespace

child_spec state_store_child(const runtime_config& config) {
  store_limits limits{config.state.max_key_bytes, config.state.max_value_bytes};
  if (config.state.backend == "redis") {
    redis_store_options options;
    options.connection = connection_options(config);
    options.key_prefix = config.state.key_prefix;
    options.limits = limits;
    return {"state_store", restart_policy::permanent, [options](caf::actor_system& sys) {
              return caf::actor_cast<caf::actor>(spawn_redis_store(sys, options));
            }};
  }
  // Owned by this closure, and so by the supervisor: every incarnation gets the same data.
  auto data = make_memory_store_data();
  auto sweep = std::chrono::milliseconds(config.state.sweep_interval_ms);
  return {"state_store", restart_policy::permanent, [data, limits, sweep](caf::actor_system& sys) {
            return caf::actor_cast<caf::actor>(spawn_memory_store(sys, data, limits, sweep));
          }};
}

child_spec event_bus_child(const runtime_config& config) {
  bus_options options;
  options.node_name = config.runtime.node_name;
  options.max_backlog = config.bus.max_backlog;
  options.max_topic_bytes = config.bus.max_topic_bytes;
  options.max_payload_bytes = config.bus.max_payload_bytes;
  // Subscriptions outlive an incarnation, as the store's data does. Events in flight when the
  // bus crashes are lost: the bus is not a durable queue.
  auto data = make_bus_data();
  if (config.bus.backend == "redis") {
    redis_bus_options redis;
    redis.bus = options;
    redis.connection = connection_options(config);
    redis.channel_prefix = config.bus.channel_prefix;
    return {"event_bus", restart_policy::permanent, [data, redis](caf::actor_system& sys) {
              return caf::actor_cast<caf::actor>(spawn_redis_bus(sys, data, redis));
            }};
  }
  return {"event_bus", restart_policy::permanent, [data, options](caf::actor_system& sys) {
            return caf::actor_cast<caf::actor>(spawn_memory_bus(sys, data, options));
          }};
}

} // namespace brokedancer
