#include "runtime/infrastructure.hpp"

#include <caf/actor_cast.hpp>

#include <stdexcept>

#include "actors/bot_supervisor.hpp"
#include "actors/breaker_registry.hpp"
#include "actors/emergency_controller.hpp"
#include "actors/memory_bus.hpp"
#include "actors/memory_store.hpp"
#include "actors/node_control.hpp"
#include "actors/redis_bus.hpp"
#include "actors/redis_store.hpp"
#include "actors/risk_monitor.hpp"
#include "actors/simulated_market.hpp"

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

std::vector<endpoint_spec> endpoint_specs(const runtime_config& config) {
  std::vector<endpoint_spec> specs;
  for (const auto& e : config.endpoints) {
    using std::chrono::milliseconds;
    endpoint_spec spec;
    spec.name = e.name;
    spec.type = e.type == "http" ? endpoint_spec::adapter::http : endpoint_spec::adapter::simulated;
    auto& b = spec.breaker;
    b.endpoint = e.name;
    b.timeout = milliseconds(e.timeout_ms);
    b.breaker.failure_threshold = e.failure_threshold;
    b.breaker.failure_rate_threshold = e.failure_rate_threshold;
    b.breaker.window_size = e.window_size;
    b.breaker.minimum_calls = e.minimum_calls;
    b.breaker.slow_call = milliseconds(e.slow_call_ms);
    b.breaker.recovery_timeout = milliseconds(e.recovery_timeout_ms);
    b.breaker.half_open_calls = e.half_open_calls;
    b.breaker.success_threshold = e.success_threshold;
    b.retry.max_attempts = e.retry_max_attempts;
    b.retry.initial_backoff = milliseconds(e.retry_initial_backoff_ms);
    b.retry.max_backoff = milliseconds(e.retry_max_backoff_ms);
    auto& sim = spec.simulated;
    sim.name = e.name;
    sim.seed = e.seed;
    sim.latency = milliseconds(e.latency_ms);
    sim.latency_jitter = milliseconds(e.latency_jitter_ms);
    sim.error_rate = e.error_rate;
    sim.fee_rate = e.fee_rate;
    // Against the simulated market when there is one to read.
    sim.match_market = e.match_market && !config.market.symbols.empty();
    for (const auto& [from, to] : e.outages_s)
      sim.outages.push_back({milliseconds(static_cast<int64_t>(from * 1000)),
                             milliseconds(static_cast<int64_t>(to * 1000))});
    // The simulated endpoint is deterministic for its seed; so are the breaker's retry waits.
    if (spec.type == endpoint_spec::adapter::simulated)
      b.seed = e.seed;
    auto& http = spec.http;
    http.name = e.name;
    http.base_url = e.base_url;
    http.concurrency = e.concurrency;
    http.max_queue = e.max_queue;
    http.connect_timeout = milliseconds(e.connect_timeout_ms);
    specs.push_back(std::move(spec));
  }
  return specs;
}

child_spec emergency_child(const runtime_config& config,
                           std::function<void(const level_change&)> on_shutdown) {
  emergency_options options;
  options.node_name = config.runtime.node_name;
  options.shutdown_grace = std::chrono::milliseconds(config.emergency.shutdown_grace_ms);
  options.on_shutdown = std::move(on_shutdown);
  // The registered bots outlive an incarnation; the level outlives the process (the store).
  auto data = make_emergency_data();
  child_spec spec;
  spec.name = "emergency";
  spec.policy = restart_policy::permanent;
  spec.start_with_siblings = [data, options](caf::actor_system& sys,
                                             const std::map<std::string, caf::actor>& siblings) {
    auto sibling = [&](const char* name) {
      auto found = siblings.find(name);
      return found == siblings.end() ? caf::actor{} : found->second;
    };
    auto store = caf::actor_cast<state_store_actor>(sibling("state_store"));
    if (!store)
      throw std::runtime_error("the emergency controller needs the state store");
    return caf::actor_cast<caf::actor>(spawn_emergency_controller(
        sys, data, options, store, caf::actor_cast<event_bus_actor>(sibling("event_bus")),
        sibling("risk_monitor")));
  };
  return spec;
}

child_spec risk_monitor_child(const runtime_config& config) {
  risk_options options;
  const auto& r = config.risk;
  options.max_daily_loss = r.max_daily_loss;
  options.max_position_size = r.max_position_size;
  options.max_total_position = r.max_total_position;
  options.max_order_notional = r.max_order_notional;
  options.max_trades_per_hour = r.max_trades_per_hour;
  options.max_drawdown_percent = r.max_drawdown_percent;
  options.warning_percent = r.warning_percent;
  options.auto_halt = r.auto_halt;
  options.starting_equity = r.starting_equity;
  options.daily_reset_minute_utc = r.daily_reset_minute_utc;
  options.endpoint = r.endpoint;
  child_spec spec;
  spec.name = "risk_monitor";
  spec.policy = restart_policy::permanent;
  spec.start_with_siblings = [options](caf::actor_system& sys,
                                       const std::map<std::string, caf::actor>& siblings) {
    auto sibling = [&](const char* name) {
      auto found = siblings.find(name);
      if (found == siblings.end())
        throw std::runtime_error(std::string{"the risk monitor needs the "} + name);
      return found->second;
    };
    return caf::actor_cast<caf::actor>(
        spawn_risk_monitor(sys, options, caf::actor_cast<state_store_actor>(sibling("state_store")),
                           caf::actor_cast<event_bus_actor>(sibling("event_bus")),
                           caf::actor_cast<emergency_actor>(sibling("emergency")),
                           caf::actor_cast<breaker_registry_actor>(sibling("breakers"))));
  };
  return spec;
}

child_spec breakers_child(const runtime_config& config) {
  child_spec spec;
  spec.name = "breakers";
  spec.policy = restart_policy::permanent;
  spec.start_with_siblings =
      [specs = endpoint_specs(config)](caf::actor_system& sys,
                                       const std::map<std::string, caf::actor>& siblings) {
        event_bus_actor bus;
        if (auto found = siblings.find("event_bus"); found != siblings.end())
          bus = caf::actor_cast<event_bus_actor>(found->second);
        emergency_actor emergency;
        if (auto found = siblings.find("emergency"); found != siblings.end())
          emergency = caf::actor_cast<emergency_actor>(found->second);
        return caf::actor_cast<caf::actor>(spawn_breaker_registry(sys, specs, bus, emergency));
      };
  return spec;
}

child_spec market_child(const runtime_config& config) {
  child_spec spec;
  if (config.market.symbols.empty())
    return spec;
  market_settings settings;
  settings.symbols = config.market.symbols;
  settings.start_price = config.market.start_price;
  settings.drift_percent = config.market.drift_percent;
  settings.volatility_percent = config.market.volatility_percent;
  settings.spread_bps = config.market.spread_bps;
  settings.tick = std::chrono::milliseconds(config.market.tick_ms);
  settings.seed = config.market.seed;
  settings.max_ticks = config.market.max_ticks;
  // The paths outlive an incarnation: a restarted market goes on from where it was.
  auto data = make_market_data(settings);
  spec.name = "market";
  spec.policy = restart_policy::permanent;
  spec.start_with_siblings = [data](caf::actor_system& sys,
                                    const std::map<std::string, caf::actor>& siblings) {
    auto bus = siblings.find("event_bus");
    if (bus == siblings.end())
      throw std::runtime_error("the market needs the event bus");
    return caf::actor_cast<caf::actor>(
        spawn_simulated_market(sys, data, caf::actor_cast<event_bus_actor>(bus->second)));
  };
  return spec;
}

child_spec control_child(const runtime_config& config) {
  child_spec spec;
  spec.name = "control";
  spec.policy = restart_policy::permanent;
  spec.start_with_siblings =
      [node = config.runtime.node_name](caf::actor_system& sys,
                                        const std::map<std::string, caf::actor>& siblings) {
        auto sibling = [&](const char* name) {
          auto found = siblings.find(name);
          return found == siblings.end() ? caf::actor{} : found->second;
        };
        node_control_services services;
        services.node_name = node;
        services.emergency = caf::actor_cast<emergency_actor>(sibling("emergency"));
        if (!services.emergency)
          throw std::runtime_error("operator control needs the emergency controller");
        services.bots = caf::actor_cast<bot_supervisor_actor>(sibling("bots"));
        services.breakers = caf::actor_cast<breaker_registry_actor>(sibling("breakers"));
        return caf::actor_cast<caf::actor>(spawn_node_control(sys, std::move(services)));
      };
  return spec;
}

std::vector<bot_config> configured_bots(const runtime_config& config) {
  const auto& b = config.bots;
  auto symbols = b.symbols.empty() ? config.market.symbols : b.symbols;
  std::vector<bot_config> bots;
  bots.reserve(b.count);
  for (uint32_t i = 0; i < b.count; ++i) {
    bot_config bot;
    bot.id = "bot-" + std::to_string(i + 1);
    bot.strategy = b.strategy != "mixed" ? b.strategy : i % 2 == 0 ? "momentum" : "mean_reversion";
    nlohmann::json params{{"quantity", b.order_quantity},
                          {"lookback", b.lookback_ticks},
                          {"threshold_percent", b.threshold_percent},
                          {"max_position", b.max_position}};
    // With "mixed", each symbol gets one bot of each strategy before the next symbol.
    if (!symbols.empty())
      params["symbol"] = symbols[(b.strategy == "mixed" ? i / 2 : i) % symbols.size()];
    bot.params = params.dump();
    bots.push_back(std::move(bot));
  }
  return bots;
}

child_spec bot_supervisor_child(const runtime_config& config, strategy_catalog strategies,
                                std::vector<bot_config> bots) {
  bot_supervisor_options options;
  options.strategies = std::move(strategies);
  options.initial_bots = std::move(bots);
  options.max_restarts = config.bots.max_restarts;
  options.window = std::chrono::milliseconds(config.bots.restart_window_ms);
  // The bots' configs and counters outlive an incarnation of their supervisor.
  auto data = make_bot_supervisor_data();
  child_spec spec;
  spec.name = "bots";
  spec.policy = restart_policy::permanent;
  spec.start_with_siblings = [data, options](caf::actor_system& sys,
                                             const std::map<std::string, caf::actor>& siblings) {
    auto sibling = [&](const char* name, bool required) {
      auto found = siblings.find(name);
      if (found == siblings.end() && required)
        throw std::runtime_error(std::string{"the bot supervisor needs the "} + name);
      return found == siblings.end() ? caf::actor{} : found->second;
    };
    bot_services services;
    services.store = caf::actor_cast<state_store_actor>(sibling("state_store", true));
    services.bus = caf::actor_cast<event_bus_actor>(sibling("event_bus", true));
    services.emergency = caf::actor_cast<emergency_actor>(sibling("emergency", true));
    services.risk = caf::actor_cast<risk_monitor_actor>(sibling("risk_monitor", true));
    return caf::actor_cast<caf::actor>(
        spawn_bot_supervisor(sys, data, options, std::move(services),
                             caf::actor_cast<market_actor>(sibling("market", false))));
  };
  return spec;
}

} // namespace brokedancer
