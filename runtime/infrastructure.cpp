#include "runtime/infrastructure.hpp"

#include "core/json_text.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "actors/api/event_relay.hpp"
#include "actors/bots/bot_supervisor.hpp"
#include "actors/bus/memory_bus.hpp"
#include "actors/bus/redis_bus.hpp"
#include "actors/channels/redis_channels.hpp"
#include "actors/channels/system_watch.hpp"
#include "actors/data/bar_service.hpp"
#include "actors/emergency/emergency_controller.hpp"
#include "actors/emergency/scope_controller.hpp"
#include "actors/limiter/memory_limiter.hpp"
#include "actors/limiter/redis_limiter.hpp"
#include "actors/market/simulated_market.hpp"
#include "actors/market/stream_replayer.hpp"
#include "actors/node/cluster_node.hpp"
#include "actors/node/node_control.hpp"
#include "actors/resilience/breaker_registry.hpp"
#include "actors/risk/risk_monitor.hpp"
#include "actors/series/memory_series.hpp"
#include "actors/series/redis_series.hpp"
#include "actors/store/memory_store.hpp"
#include "actors/store/redis_store.hpp"
#include "actors/stream/memory_stream.hpp"
#include "actors/stream/redis_stream.hpp"
#include "actors/workflow/workflow_executor.hpp"

namespace brokedancer {

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

bool uses_redis(const runtime_config& config) {
  for (const auto* backend :
       {&config.state.backend, &config.bus.backend, &config.limiter.backend,
        &config.streams.backend, &config.timeseries.backend, &config.channels.backend})
    if (*backend == "redis")
      return true;
  return false;
}

namespace {

using sibling_map = std::map<std::string, caf::actor>;

// A sibling's stable handle as `Handle`; empty when the tree has none of that name.
template <class Handle>
Handle optional_sibling(const sibling_map& siblings, const char* name) {
  auto found = siblings.find(name);
  return found == siblings.end() ? Handle{} : caf::actor_cast<Handle>(found->second);
}

// The same for a sibling `who` cannot do without: throws, naming both.
template <class Handle>
Handle required_sibling(const sibling_map& siblings, const char* name, const char* who) {
  auto handle = optional_sibling<Handle>(siblings, name);
  if (!handle)
    throw std::runtime_error(std::string{who} + " needs the " + name);
  return handle;
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
  options.max_backlog_bytes = config.bus.max_backlog_bytes;
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

child_spec rate_limiter_child(const runtime_config& config) {
  auto backend = config.limiter.backend == "auto" ? config.state.backend : config.limiter.backend;
  if (backend == "redis") {
    redis_limiter_options options;
    options.connection = connection_options(config);
    options.key_prefix = config.state.key_prefix;
    return {"rate_limiter", restart_policy::permanent, [options](caf::actor_system& sys) {
              return caf::actor_cast<caf::actor>(spawn_redis_limiter(sys, options));
            }};
  }
  auto data = make_memory_limiter_data();
  return {"rate_limiter", restart_policy::permanent, [data](caf::actor_system& sys) {
            return caf::actor_cast<caf::actor>(spawn_memory_limiter(sys, data));
          }};
}

namespace {

stream_options streams_of(const runtime_config& config) {
  stream_options options;
  options.defaults.max_length = config.streams.max_length;
  options.defaults.max_age_ms = config.streams.max_age_ms;
  options.defaults.dead_letter_after = config.streams.dead_letter_after;
  const auto& market = config.market;
  if (!market.stream.empty()) {
    auto own = options.defaults;
    if (market.stream_max_length > 0)
      own.max_length = market.stream_max_length;
    if (market.stream_max_age_ms > 0)
      own.max_age_ms = market.stream_max_age_ms;
    options.streams[market.stream] = own;
  }
  return options;
}

} // namespace

child_spec market_stream_child(const runtime_config& config) {
  auto backend = config.streams.backend == "auto" ? config.state.backend : config.streams.backend;
  if (backend == "redis") {
    redis_stream_options options;
    options.connection = connection_options(config);
    options.key_prefix = config.state.key_prefix;
    options.streams = streams_of(config);
    auto data = make_redis_stream_data();
    return {"market_stream", restart_policy::permanent, [data, options](caf::actor_system& sys) {
              return caf::actor_cast<caf::actor>(spawn_redis_stream(sys, data, options));
            }};
  }
  auto data = make_memory_stream_data();
  auto options = streams_of(config);
  return {"market_stream", restart_policy::permanent, [data, options](caf::actor_system& sys) {
            return caf::actor_cast<caf::actor>(spawn_memory_stream(sys, data, options));
          }};
}

child_spec time_series_child(const runtime_config& config) {
  series_settings settings{config.timeseries.max_points, config.timeseries.retention_ms};
  auto backend =
      config.timeseries.backend == "auto" ? config.state.backend : config.timeseries.backend;
  if (backend == "redis") {
    redis_series_options options;
    options.connection = connection_options(config);
    options.key_prefix = config.state.key_prefix;
    options.settings = settings;
    return {"time_series", restart_policy::permanent, [options](caf::actor_system& sys) {
              return caf::actor_cast<caf::actor>(spawn_redis_series(sys, options));
            }};
  }
  auto data = make_memory_series_data(settings);
  return {"time_series", restart_policy::permanent, [data](caf::actor_system& sys) {
            return caf::actor_cast<caf::actor>(spawn_memory_series(sys, data));
          }};
}

child_spec channels_child(const runtime_config& config) {
  child_spec spec;
  auto backend = config.channels.backend == "auto" ? config.state.backend : config.channels.backend;
  if (backend != "redis")
    return spec;
  redis_channels_options options;
  options.connection = connection_options(config);
  options.node_name = config.runtime.node_name;
  options.channel_prefix = config.channels.prefix;
  options.bus_shared = config.bus.backend == "redis";
  spec.name = "channels";
  spec.policy = restart_policy::permanent;
  spec.start_with_siblings = [options](caf::actor_system& sys, const sibling_map& siblings) {
    return caf::actor_cast<caf::actor>(spawn_redis_channels(
        sys, options, required_sibling<event_bus_actor>(siblings, "event_bus", "the channels")));
  };
  return spec;
}

namespace {

// What each service's status says about whether it can serve.
service_health health_of(const std::string& name, const store_status& s) {
  return {name, s.available, s.last_error};
}
service_health health_of(const std::string& name, const bus_stats& s) {
  return {name, s.connected, s.last_error};
}
service_health health_of(const std::string& name, const limiter_status& s) {
  return {name, s.available, s.last_error};
}
service_health health_of(const std::string& name, const stream_status& s) {
  return {name, s.available, s.last_error};
}
service_health health_of(const std::string& name, const series_status& s) {
  return {name, s.available, s.last_error};
}
service_health health_of(const std::string& name, const bar_service_status& s) {
  return {name, s.subscribed && s.last_error.empty(),
          s.subscribed ? s.last_error : "not reading the stream: " + s.last_error};
}
service_health health_of(const std::string& name, const channel_status& s) {
  return {name, s.available, s.last_error};
}
// The market itself runs on its own; what can fail is its stream, which holds ticks back.
service_health health_of(const std::string& name, const market_status& s) {
  bool holding = s.stream_buffered > 0 && !s.stream_available;
  return {name, !holding,
          holding ? std::to_string(s.stream_buffered) + " ticks wait for the stream" : ""};
}

template <class Status, class Handle>
service_probe probe(const std::string& name, Handle handle) {
  return {name,
          [handle, name](caf::event_based_actor* self, std::function<void(service_health)> done) {
            self->request(handle, std::chrono::seconds(1), status_atom::value)
                .then([name, done](Status& s) { done(health_of(name, s)); },
                      [self, name, done](caf::error& err) {
                        done(service_health{name, false, self->system().render(err)});
                      });
          }};
}

template <class Status, class Handle>
void add_probe(std::vector<service_probe>& probes, const sibling_map& siblings, const char* name) {
  if (auto handle = optional_sibling<Handle>(siblings, name))
    probes.push_back(probe<Status>(name, handle));
}

} // namespace

child_spec system_watch_child(const runtime_config& config) {
  system_watch_options options;
  options.node_name = config.runtime.node_name;
  options.heartbeat = std::chrono::milliseconds(config.channels.heartbeat_ms);
  options.check = std::chrono::milliseconds(config.channels.check_ms);
  child_spec spec;
  spec.name = "system_watch";
  spec.policy = restart_policy::permanent;
  spec.start_with_siblings = [options](caf::actor_system& sys, const sibling_map& siblings) {
    std::vector<service_probe> probes;
    add_probe<store_status, state_store_actor>(probes, siblings, "state_store");
    add_probe<bus_stats, event_bus_actor>(probes, siblings, "event_bus");
    add_probe<limiter_status, rate_limiter_actor>(probes, siblings, "rate_limiter");
    add_probe<stream_status, market_stream_actor>(probes, siblings, "market_stream");
    add_probe<series_status, time_series_actor>(probes, siblings, "time_series");
    add_probe<bar_service_status, bar_service_actor>(probes, siblings, "bar_service");
    add_probe<market_status, market_actor>(probes, siblings, "market");
    add_probe<channel_status, channel_bridge_actor>(probes, siblings, "channels");
    const char* who = "the system watch";
    return caf::actor_cast<caf::actor>(
        spawn_system_watch(sys, options, std::move(probes),
                           required_sibling<event_bus_actor>(siblings, "event_bus", who),
                           optional_sibling<emergency_actor>(siblings, "emergency")));
  };
  return spec;
}

child_spec bar_service_child(const runtime_config& config) {
  child_spec spec;
  if (config.bars.timeframes.empty() || config.market.stream.empty())
    return spec;
  bar_service_options options;
  options.stream = config.market.stream;
  for (const auto& name : config.bars.timeframes) {
    timeframe frame;
    if (from_string(name, frame)) // checked by the schema
      options.frames.push_back(frame);
  }
  spec.name = "bar_service";
  spec.policy = restart_policy::permanent;
  spec.start_with_siblings = [options](caf::actor_system& sys, const sibling_map& siblings) {
    const char* who = "the bar service";
    return caf::actor_cast<caf::actor>(spawn_bar_service(
        sys, options, required_sibling<market_stream_actor>(siblings, "market_stream", who),
        required_sibling<time_series_actor>(siblings, "time_series", who)));
  };
  return spec;
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
    if (e.rate_limit > 0) {
      request_budget budget;
      budget.name = "endpoint:" + e.name;
      from_string(e.rate_algorithm, budget.limit.algorithm);
      budget.limit.limit = e.rate_limit;
      budget.limit.window_ms = e.rate_window_ms;
      budget.wait = e.rate_wait;
      b.budget = std::move(budget);
    }
    auto& sim = spec.simulated;
    sim.name = e.name;
    sim.seed = e.seed;
    sim.latency = milliseconds(e.latency_ms);
    sim.latency_jitter = milliseconds(e.latency_jitter_ms);
    sim.error_rate = e.error_rate;
    sim.fee_rate = e.fee_rate;
    sim.price_offset_bps = e.price_offset_bps;
    sim.price_noise_bps = e.price_noise_bps;
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
  spec.start_with_siblings = [data, options](caf::actor_system& sys, const sibling_map& siblings) {
    return caf::actor_cast<caf::actor>(spawn_emergency_controller(
        sys, data, options,
        required_sibling<state_store_actor>(siblings, "state_store", "the emergency controller"),
        optional_sibling<event_bus_actor>(siblings, "event_bus"),
        optional_sibling<caf::actor>(siblings, "risk_monitor")));
  };
  return spec;
}

child_spec scope_child(const runtime_config& config) {
  scope_options options;
  options.node_name = config.runtime.node_name;
  // The table, the bots and the watchers outlive an incarnation; the table outlives the process.
  auto data = make_scope_data();
  child_spec spec;
  spec.name = "scopes";
  spec.policy = restart_policy::permanent;
  spec.start_with_siblings = [data, options](caf::actor_system& sys, const sibling_map& siblings) {
    return caf::actor_cast<caf::actor>(spawn_scope_controller(
        sys, data, options,
        required_sibling<state_store_actor>(siblings, "state_store", "the scope controller"),
        optional_sibling<event_bus_actor>(siblings, "event_bus"),
        optional_sibling<emergency_actor>(siblings, "emergency")));
  };
  return spec;
}

child_spec risk_monitor_child(const runtime_config& config,
                              std::shared_ptr<order_metrics> metrics) {
  risk_options options = config.risk;
  options.node_name = config.runtime.node_name;
  options.symbols = config.market.symbols;
  options.symbols.insert(options.symbols.end(), config.bots.symbols.begin(),
                         config.bots.symbols.end());
  child_spec spec;
  spec.name = "risk_monitor";
  spec.policy = restart_policy::permanent;
  spec.start_with_siblings = [options, metrics](caf::actor_system& sys,
                                                const sibling_map& siblings) {
    const char* who = "the risk monitor";
    return caf::actor_cast<caf::actor>(spawn_risk_monitor(
        sys, options, required_sibling<state_store_actor>(siblings, "state_store", who),
        required_sibling<event_bus_actor>(siblings, "event_bus", who),
        required_sibling<emergency_actor>(siblings, "emergency", who),
        required_sibling<breaker_registry_actor>(siblings, "breakers", who), metrics,
        optional_sibling<scope_actor>(siblings, "scopes")));
  };
  return spec;
}

child_spec event_relay_child(const runtime_config& config, std::shared_ptr<event_fanout> fanout) {
  event_relay_options options;
  options.node_name = config.runtime.node_name;
  child_spec spec;
  spec.name = "event_relay";
  spec.policy = restart_policy::permanent;
  spec.start_with_siblings = [options, fanout](caf::actor_system& sys,
                                               const sibling_map& siblings) {
    const char* who = "the event relay";
    return caf::actor_cast<caf::actor>(spawn_event_relay(
        sys, options, fanout, required_sibling<event_bus_actor>(siblings, "event_bus", who),
        optional_sibling<risk_monitor_actor>(siblings, "risk_monitor")));
  };
  return spec;
}

child_spec
workflow_executor_child(const runtime_config& config,
                        std::vector<std::shared_ptr<const workflow_definition>> workflows,
                        std::shared_ptr<const node_registry> nodes) {
  child_spec spec;
  if (workflows.empty())
    return spec;
  executor_options options;
  options.workflows = std::move(workflows);
  options.nodes = std::move(nodes);
  options.bounds = fitted_output_bounds(config.bus.max_payload_bytes, config.state.max_value_bytes);
  options.max_running = config.workflows.max_running;
  // A workflow's breaker counts failed executions in a row only: a rate over a window of
  // executions that may run once an hour would take days to say anything.
  options.breaker.failure_threshold = config.workflows.breaker_failures;
  options.breaker.failure_rate_threshold = 0;
  options.breaker.recovery_timeout =
      std::chrono::milliseconds{config.workflows.breaker_recovery_ms};
  options.breaker.half_open_calls = 1;
  options.breaker.success_threshold = 1;
  options.history_retention_ms = config.workflows.history_retention_ms;
  options.node_name = config.runtime.node_name;
  // Outlives each incarnation: a forced-open breaker stays open, max_running holds.
  options.memory = make_executor_memory();
  spec.name = "workflows";
  spec.policy = restart_policy::permanent;
  spec.start_with_siblings = [options, http_endpoints = config.workflows.http_endpoints,
                              venues = order_endpoints(config.risk)](caf::actor_system& sys,
                                                                     const sibling_map& siblings) {
    const char* who = "the workflow executor";
    auto running = options;
    running.services = {required_sibling<state_store_actor>(siblings, "state_store", who),
                        required_sibling<event_bus_actor>(siblings, "event_bus", who),
                        required_sibling<caf::actor>(siblings, "emergency", who),
                        required_sibling<risk_monitor_actor>(siblings, "risk_monitor", who),
                        optional_sibling<time_series_actor>(siblings, "time_series"),
                        required_sibling<breaker_registry_actor>(siblings, "breakers", who),
                        http_endpoints,
                        venues};
    return spawn_workflow_executor(sys, std::move(running));
  };
  return spec;
}

child_spec breakers_child(const runtime_config& config) {
  child_spec spec;
  spec.name = "breakers";
  spec.policy = restart_policy::permanent;
  spec.start_with_siblings = [specs = endpoint_specs(config)](caf::actor_system& sys,
                                                              const sibling_map& siblings) {
    return caf::actor_cast<caf::actor>(
        spawn_breaker_registry(sys, specs, optional_sibling<event_bus_actor>(siblings, "event_bus"),
                               optional_sibling<emergency_actor>(siblings, "emergency"),
                               optional_sibling<rate_limiter_actor>(siblings, "rate_limiter")));
  };
  return spec;
}

namespace {

// A recording played back in the market's place: the bots cannot tell it from the market.
child_spec replayer_child(const runtime_config& config) {
  stream_replayer_options options;
  options.stream = config.market.replay;
  options.original_pace = config.market.replay_pace != "fast";
  options.max_ticks = config.market.max_ticks;
  options.quote_ttl_ms = config.market.quote_ttl_ms;
  options.stream_out = config.market.stream;
  child_spec spec;
  spec.name = "market";
  spec.policy = restart_policy::permanent;
  spec.start_with_siblings = [options](caf::actor_system& sys, const sibling_map& siblings) {
    const char* who = "the market's playback";
    return caf::actor_cast<caf::actor>(spawn_stream_replayer(
        sys, options, required_sibling<market_stream_actor>(siblings, "market_stream", who),
        required_sibling<event_bus_actor>(siblings, "event_bus", who),
        optional_sibling<state_store_actor>(siblings, "state_store")));
  };
  return spec;
}

} // namespace

child_spec market_child(const runtime_config& config) {
  if (!config.market.replay.empty())
    return replayer_child(config);
  child_spec spec;
  if (config.market.symbols.empty())
    return spec;
  // The paths outlive an incarnation: a restarted market goes on from where it was.
  auto data = make_market_data(config.market);
  spec.name = "market";
  spec.policy = restart_policy::permanent;
  spec.start_with_siblings = [data](caf::actor_system& sys, const sibling_map& siblings) {
    return caf::actor_cast<caf::actor>(spawn_simulated_market(
        sys, data, required_sibling<event_bus_actor>(siblings, "event_bus", "the market"),
        optional_sibling<market_stream_actor>(siblings, "market_stream"),
        optional_sibling<state_store_actor>(siblings, "state_store")));
  };
  return spec;
}

child_spec control_child(const runtime_config& config) {
  child_spec spec;
  spec.name = "control";
  spec.policy = restart_policy::permanent;
  spec.start_with_siblings = [node = config.runtime.node_name, clustered = config.node.clustered()](
                                 caf::actor_system& sys, const sibling_map& siblings) {
    node_control_services services;
    services.node_name = node;
    services.emergency =
        required_sibling<emergency_actor>(siblings, "emergency", "operator control");
    services.bots = optional_sibling<bot_supervisor_actor>(siblings, "bots");
    services.breakers = optional_sibling<breaker_registry_actor>(siblings, "breakers");
    services.cluster = optional_sibling<cluster_actor>(siblings, "cluster");
    services.store = optional_sibling<state_store_actor>(siblings, "state_store");
    services.risk = optional_sibling<risk_monitor_actor>(siblings, "risk_monitor");
    services.scopes = optional_sibling<scope_actor>(siblings, "scopes");
    services.watch = optional_sibling<system_watch_actor>(siblings, "system_watch");
    services.workflows = optional_sibling<caf::actor>(siblings, "workflows");
    services.clustered = clustered;
    return caf::actor_cast<caf::actor>(spawn_node_control(sys, std::move(services)));
  };
  return spec;
}

child_spec cluster_child(const runtime_config& config, caf::actor front,
                         std::shared_ptr<const node_identity> identity) {
  cluster_options options;
  options.front = std::move(front);
  options.identity = std::move(identity);
  options.node_name = config.runtime.node_name;
  if (config.node.listen)
    options.listen_address = config.node.listen->text();
  // The same peer list may be given to every node: a node does not join itself.
  for (const auto& peer : config.node.peers) {
    bool itself = config.node.listen && peer.text() == config.node.listen->text();
    bool again = std::any_of(options.peers.begin(), options.peers.end(),
                             [&](const host_port& p) { return p.text() == peer.text(); });
    if (!itself && !again)
      options.peers.push_back(peer);
  }
  options.heartbeat = std::chrono::milliseconds(config.node.heartbeat_interval_ms);
  options.isolation_halt_after =
      std::chrono::milliseconds(std::llround(config.node.isolation_halt_after_s * 1000.0));
  options.store_halt_after =
      std::chrono::milliseconds(std::llround(config.node.store_halt_after_s * 1000.0));
  options.store_shared = config.state.backend == "redis";
  options.tls = config.node.tls();
  child_spec spec;
  spec.name = "cluster";
  spec.policy = restart_policy::permanent;
  spec.start_with_siblings = [options](caf::actor_system& sys, const sibling_map& siblings) {
    auto emergency = required_sibling<emergency_actor>(siblings, "emergency", "the cluster");
    auto store = required_sibling<state_store_actor>(siblings, "state_store", "the cluster");
    return caf::actor_cast<caf::actor>(spawn_cluster_node(
        sys, options, emergency, store, optional_sibling<scope_actor>(siblings, "scopes")));
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
    bot.id = b.id_prefix + std::to_string(i + 1);
    bot.strategy = b.strategy != "mixed" ? b.strategy : i % 2 == 0 ? "momentum" : "mean_reversion";
    nlohmann::json params{{"quantity", b.order_quantity},
                          {"lookback", b.lookback_ticks},
                          {"threshold_percent", b.threshold_percent},
                          {"max_position", b.max_position}};
    if (bot.strategy == "bar_breakout")
      params["follow_signals"] = b.follow_signals;
    // With "mixed", each symbol gets one bot of each strategy before the next symbol.
    if (!symbols.empty())
      params["symbol"] = symbols[(b.strategy == "mixed" ? i / 2 : i) % symbols.size()];
    bot.params = dump_json(params);
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
  // Leases only where nodes share the store: alone, a node owns its bots.
  if (config.state.backend == "redis")
    options.lease = std::chrono::milliseconds(config.bots.lease_ms);
  options.standby = config.bots.standby;
  options.node_name = config.runtime.node_name;
  // The bots' configs and counters outlive an incarnation of their supervisor.
  auto data = make_bot_supervisor_data();
  child_spec spec;
  spec.name = "bots";
  spec.policy = restart_policy::permanent;
  std::optional<rate_limit> order_budget;
  if (config.bots.order_rate_limit > 0)
    order_budget = rate_limit{rate_algorithm::sliding_window, config.bots.order_rate_limit,
                              config.bots.order_rate_window_ms};
  spec.start_with_siblings = [data, options, order_budget, endpoint = config.risk.endpoint](
                                 caf::actor_system& sys, const sibling_map& siblings) {
    const char* who = "the bot supervisor";
    bot_services services;
    services.order_budget = order_budget;
    services.limiter = optional_sibling<rate_limiter_actor>(siblings, "rate_limiter");
    services.stream = optional_sibling<market_stream_actor>(siblings, "market_stream");
    services.series = optional_sibling<time_series_actor>(siblings, "time_series");
    services.store = required_sibling<state_store_actor>(siblings, "state_store", who);
    services.bus = required_sibling<event_bus_actor>(siblings, "event_bus", who);
    services.emergency = required_sibling<emergency_actor>(siblings, "emergency", who);
    services.risk = required_sibling<risk_monitor_actor>(siblings, "risk_monitor", who);
    services.scopes = optional_sibling<scope_actor>(siblings, "scopes");
    services.endpoint = endpoint;
    return caf::actor_cast<caf::actor>(
        spawn_bot_supervisor(sys, data, options, std::move(services),
                             optional_sibling<market_actor>(siblings, "market")));
  };
  return spec;
}

} // namespace brokedancer
