#include "runtime/infrastructure.hpp"

#include <caf/actor_cast.hpp>

#include "actors/memory_store.hpp"
#include "actors/redis_store.hpp"

namespace brokedancer {

child_spec state_store_child(const runtime_config& config) {
  store_limits limits{config.state.max_key_bytes, config.state.max_value_bytes};
  if (config.state.backend == "redis") {
    redis_store_options options;
    options.connection.endpoint = config.redis.endpoint;
    options.connection.connect_timeout = std::chrono::milliseconds(config.redis.connect_timeout_ms);
    options.connection.command_timeout = std::chrono::milliseconds(config.redis.command_timeout_ms);
    options.connection.reconnect_initial =
        std::chrono::milliseconds(config.redis.reconnect_initial_ms);
    options.connection.reconnect_max = std::chrono::milliseconds(config.redis.reconnect_max_ms);
    options.connection.pipeline_max = static_cast<size_t>(config.redis.pipeline_max);
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

} // namespace brokedancer
