#include "runtime/runtime.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/type_erased_tuple.hpp>

#include "actors/node/front_door.hpp"
#include "actors/redis/redis_context.hpp"
#include "actors/supervision/supervisor.hpp"
#include "messages/cluster.hpp"
#include "messages/control.hpp"
#include "messages/emergency.hpp"
#include "messages/errors.hpp"
#include "runtime/actor_system_config.hpp"
#include "runtime/allocator.hpp"
#include "runtime/build_info.hpp"
#include "runtime/exit_codes.hpp"
#include "runtime/infrastructure.hpp"
#include "runtime/listener_guard.hpp"
#include "runtime/operator_api.hpp"
#include "runtime/tls_files.hpp"
#include "runtime/workflow_files.hpp"
#include "strategies/bar_strategies.hpp"
#include "strategies/trend_strategies.hpp"

namespace brokedancer {

namespace {

sigset_t termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

} // namespace

void block_termination_signals() {
  auto set = termination_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

struct runtime::impl {
  runtime_config config;
  logger log{"runtime"};
  caf::actor_system_config caf_config;
  std::unique_ptr<caf::actor_system> system;
  supervision_tree tree;
  credential_set credentials;
  std::shared_ptr<const node_identity> identity; // with TLS between nodes
  caf::actor cluster_front;                      // what peers reach; published on node.listen
  std::unique_ptr<listener_guard> guard;         // bounds what strangers on that port cost
  // Stopped before the actor system: its request threads talk to the control actor.
  std::unique_ptr<operator_api> api;
  // Counted by the risk monitor, read by /metrics.
  std::shared_ptr<order_metrics> order_counts = std::make_shared<order_metrics>();
  // The event relay's stream clients (with the operator API only).
  std::shared_ptr<event_fanout> fanout;

  std::mutex mutex;
  std::condition_variable wake;
  bool stop_requested = false;
  std::optional<caf::error> supervisor_exit; // set once the root supervisor is gone
  std::optional<level_change> shutdown;      // set once an emergency SHUTDOWN has run its course
  int escalations = 0;                       // restart storms the emergency level answered

  std::chrono::milliseconds every_interval{0}; // run() calls every_fn this often
  std::function<void()> every_fn;
  std::function<void(const run_result&)> before_stop_fn;

  explicit impl(runtime_config cfg) : config(std::move(cfg)) {}

  // The operators' last actions reach the audit trail before the node goes; called once the API
  // is closed, so no more come. Bounded: a store that does not answer does not hold up the stop.
  void flush_audit() {
    if (!system || !tree.supervisor)
      return;
    auto control = tree.children.find("control");
    if (control == tree.children.end())
      return;
    caf::scoped_actor self{*system};
    self->request(caf::actor_cast<node_control_actor>(control->second), std::chrono::seconds(3),
                  flush_atom::value)
        .receive([](bool) {}, [](caf::error&) {});
  }

  // Stops everything, in the one order that is safe: what talks to actors from threads of its
  // own (the API, the guard), the front door, the tree, and last the actor system -- while the
  // mutex the supervisor's exit functor takes is still alive (impl's members go in reverse
  // order, the mutex before the system).
  void tear_down() {
    api.reset();
    guard.reset();
    if (cluster_front)
      close_front_door(cluster_front);
    cluster_front = nullptr;
    if (tree.supervisor)
      caf::anon_send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
    {
      // on_intensity_exceeded reads the tree from the supervisor's thread.
      std::lock_guard<std::mutex> lock{mutex};
      tree = {};
    }
    // ~actor_system waits for every actor; nothing of ours holds one past this point.
    system.reset();
  }
};

namespace {

// A Redis that may evict the kill switch's and the books' keys is refused before anything
// starts: the operator hears why at once, with the fix, rather than from a node that never
// trades. One that cannot be reached now is not refused -- the node starts and degrades, and
// every connection it makes later is checked the same way (actors/redis/redis_context.hpp).
void refuse_evicting_redis(const runtime_config& config) {
  if (!uses_redis(config))
    return;
  redis_context probe{connection_options(config)};
  if (!probe.connect(true) && probe.refused_for_eviction())
    throw std::runtime_error(probe.last_error());
}

// The bots the configuration asks for must be of strategies the program knows.
void check_strategies(const runtime_config& config, const strategy_catalog& strategies) {
  if (config.bots.count == 0)
    return;
  std::vector<std::string> needed;
  if (config.bots.strategy == "mixed")
    needed = {"momentum", "mean_reversion"};
  else
    needed = {config.bots.strategy};
  for (const auto& name : needed) {
    if (strategies.count(name) > 0)
      continue;
    std::string known;
    for (const auto& [known_name, factory] : strategies)
      known += (known.empty() ? "" : ", ") + known_name;
    throw config_error({{config.source, "$.bots.strategy",
                         "no strategy \"" + name + "\" in this program (known: "
                             + (known.empty() ? std::string{"none"} : known)
                             + "); set bots.strategy to one of them, or bots.count to 0"}});
  }
  if (config.market.symbols.empty() && config.bots.symbols.empty()
      && (config.bots.strategy == "mixed" || config.bots.strategy == "momentum"
          || config.bots.strategy == "mean_reversion"))
    throw config_error({{config.source, "$.bots.symbols",
                         "the sample strategies need a symbol: set market.symbols or "
                         "bots.symbols, or bots.count to 0"}});
}

// The operator credentials: node.credentials_file, then node.credentials (';'-separated).
credential_set load_credentials(const runtime_config& config) {
  std::vector<operator_credential> all;
  std::string why;
  const auto& file = config.node.credentials_file;
  if (!file.empty()) {
    std::ifstream in{file, std::ios::binary};
    if (!in)
      throw config_error({{"configuration", "$.node.credentials_file",
                           "cannot read \"" + file
                               + "\"; make it with `brokedancer credentials "
                                 "add --name NAME --role risk --file "
                               + file + "`"}});
    // A credentials file is a few lines; a large one is a mistake (or an attack on memory).
    constexpr std::streamsize max_bytes = 1 << 20;
    std::string text(static_cast<size_t>(max_bytes) + 1, '\0');
    in.read(text.data(), max_bytes + 1);
    text.resize(static_cast<size_t>(in.gcount()));
    if (text.size() > static_cast<size_t>(max_bytes))
      throw config_error({{file, "$", "a credentials file is at most 1 MiB"}});
    if (!parse_credentials(text, all, why))
      throw config_error({{file, "$", why}});
  }
  auto inline_lines = config.node.credentials;
  std::replace(inline_lines.begin(), inline_lines.end(), ';', '\n');
  if (!parse_credentials(inline_lines, all, why))
    throw config_error({{"environment: BROKEDANCER_NODE_CREDENTIALS", "$", why}});
  if (all.empty())
    throw config_error({{"configuration", "$.node.credentials_file",
                         "no operator credentials: add one with `brokedancer credentials add "
                         "--name NAME --role risk --file FILE`"}});
  return credential_set{std::move(all)};
}

} // namespace

runtime::runtime(runtime_config config, std::vector<child_spec> extra_children)
  : runtime(std::move(config), runtime_options{std::move(extra_children), {}, {}, {}}) {}

runtime::runtime(runtime_config config, runtime_options extras)
  : impl_(std::make_unique<impl>(std::move(config))) {
  auto& d = *impl_;
  // The built-in strategies, unless the program brings its own of the same name.
  auto strategies = std::move(extras.strategies);
  strategy_catalog built_in;
  strategies::add_trend_strategies(built_in);
  strategies::add_bar_strategies(built_in);
  for (auto& [name, factory] : built_in)
    strategies.emplace(name, std::move(factory));
  check_strategies(d.config, strategies);
  auto workflow_nodes =
      extras.workflow_nodes ? std::move(extras.workflow_nodes) : node_registry::with_builtins();
  auto workflows = load_configured_workflows(d.config, workflow_nodes->catalogue());
  configure_logging(d.config.log);
  if (d.config.node.control_port != 0)
    d.credentials = load_credentials(d.config);
  if (d.config.node.insecure_plaintext)
    d.log.critical("node.insecure_plaintext is on: peers may join without a certificate and "
                   "the operator API may be served without TLS; for experiments on loopback "
                   "only");
  if (d.config.node.clustered() && d.config.node.tls()) {
    const auto& n = d.config.node;
    if (auto why = check_tls_files(n.tls_certificate, n.tls_key, n.tls_ca, n.tls_passphrase);
        !why.empty())
      throw config_error({{"configuration", "$.node", why}});
    std::string why;
    d.identity = node_identity::load(n.tls_certificate, n.tls_key, n.tls_ca, n.tls_passphrase, why);
    if (!d.identity)
      throw config_error({{"configuration", "$.node.tls_certificate", why}});
    // Peers check that a node's name is the one its certificate names; so does the node itself.
    if (d.identity->name() != d.config.runtime.node_name)
      throw config_error(
          {{"configuration", "$.runtime.node_name",
            "this node is called \"" + d.config.runtime.node_name
                + "\" but its certificate (node.tls_certificate) names \"" + d.identity->name()
                + "\": peers would refuse it; set runtime.node_name to the certificate's name, "
                  "or make a certificate for this name with `brokedancer certs node "
                + d.config.runtime.node_name + " --dir DIR`"}});
  }
  refuse_evicting_redis(d.config);
  configure_actor_system(d.caf_config, d.config);
  d.system = std::make_unique<caf::actor_system>(d.caf_config);
  d.log.info("runtime starting", {{"version", std::string(version())},
                                  {"node", d.config.runtime.node_name},
                                  {"config", d.config.source},
                                  {"overrides", d.config.overrides},
                                  {"state_backend", d.config.state.backend},
                                  {"bus_backend", d.config.bus.backend}});
  // The infrastructure, in start order; the emergency controller last, after what it uses.
  std::vector<child_spec> children{state_store_child(d.config),  event_bus_child(d.config),
                                   rate_limiter_child(d.config), market_stream_child(d.config),
                                   time_series_child(d.config),  breakers_child(d.config)};
  children.push_back(emergency_child(d.config, [state = impl_.get()](const level_change& change) {
    std::lock_guard<std::mutex> guard{state->mutex};
    state->shutdown = change;
    state->wake.notify_all();
  }));
  children.push_back(scope_child(d.config));
  if (!extras.count_orders)
    d.order_counts.reset();
  children.push_back(risk_monitor_child(d.config, d.order_counts));
  if (auto market = market_child(d.config); !market.name.empty())
    children.push_back(std::move(market));
  if (auto bars = bar_service_child(d.config); !bars.name.empty())
    children.push_back(std::move(bars));
  if (auto channels = channels_child(d.config); !channels.name.empty())
    children.push_back(std::move(channels));
  children.push_back(system_watch_child(d.config));
  for (auto& child : extras.extra_children)
    children.push_back(std::move(child));
  if (d.config.node.clustered()) {
    d.cluster_front =
        make_front_door(*d.system, "cluster", d.system->message_types<cluster_actor>(),
                        [](const caf::type_erased_tuple& content) { return from_peer(content); });
    children.push_back(cluster_child(d.config, d.cluster_front, d.identity));
  } else if (d.config.state.backend == "redis" && d.config.node.store_halt_after_s > 0) {
    // A node on its own still has a dead man's switch for its shared store; the cluster actor
    // does that, with no peers and no port.
    children.push_back(cluster_child(d.config, caf::actor{}, nullptr));
  }
  // Last: the bots find every service up; the bot supervisor starts the market once they are.
  auto bots = configured_bots(d.config);
  for (auto& bot : extras.bots)
    bots.push_back(std::move(bot));
  children.push_back(bot_supervisor_child(d.config, std::move(strategies), std::move(bots)));
  // Like the bots, after every service they use.
  if (auto executor =
          workflow_executor_child(d.config, std::move(workflows), std::move(workflow_nodes));
      !executor.name.empty())
    children.push_back(std::move(executor));
  if (d.config.node.control_port != 0) {
    children.push_back(control_child(d.config));
    fanout_limits limits;
    limits.max_clients = d.config.node.max_event_streams;
    d.fanout = std::make_shared<event_fanout>(limits);
    children.push_back(event_relay_child(d.config, d.fanout));
  }
  supervisor_options options;
  options.name = "root";
  options.max_restarts = d.config.supervisor.max_restarts;
  options.window = std::chrono::milliseconds{d.config.supervisor.window_ms};
  // A restart storm raises HALT; another one, SHUTDOWN. Only when the emergency controller is
  // itself the child that cannot be kept up does the tree stop at once.
  options.on_intensity_exceeded = [state = impl_.get()](const escalation& what) {
    if (what.child == "emergency")
      return false;
    caf::actor controller;
    int count = 0;
    {
      std::lock_guard<std::mutex> guard{state->mutex};
      auto found = state->tree.children.find("emergency");
      if (found != state->tree.children.end())
        controller = found->second;
      count = ++state->escalations;
    }
    if (!controller)
      return false;
    auto level = count == 1 ? emergency_level::halt : emergency_level::shutdown;
    caf::anon_send(caf::actor_cast<emergency_actor>(controller), raise_atom::value, level,
                   "restart storm: child " + what.child + " failed "
                       + std::to_string(what.restarts_in_window) + " times within "
                       + std::to_string(what.window_ms) + " ms; last: " + what.last_exit_reason,
                   change_source::supervisor);
    return true;
  };
  auto tree = spawn_supervisor(*d.system, options, std::move(children));
  {
    std::lock_guard<std::mutex> guard{d.mutex};
    d.tree = std::move(tree);
  }
  // Peers reach the front door, never the supervised actor (actors/node/front_door.hpp); bound at
  // once, since the cluster actor is already saying hello as it.
  if (d.cluster_front)
    bind_front_door(d.cluster_front, d.tree.children.at("cluster"));
  // Runs in the supervisor's context as it terminates; only touches the mutex-guarded slot.
  d.tree.supervisor->attach_functor([state = impl_.get()](const caf::error& reason) {
    std::lock_guard<std::mutex> guard{state->mutex};
    state->supervisor_exit = reason;
    state->wake.notify_all();
  });
  // Publishes a child on host:port, or stops everything and throws.
  auto publish = [&d](const auto& child, const std::string& host, uint16_t port_wanted,
                      const std::string& what, const std::string& hint, bool tls = false) {
    auto port = tls ? caf::openssl::publish(child, port_wanted, host.c_str(), true)
                    : d.system->middleman().publish(child, port_wanted, host.c_str(), true);
    if (!port) {
      auto why = d.system->render(port.error());
      d.tear_down();
      throw std::runtime_error("cannot listen for " + what + " on " + host + ":"
                               + std::to_string(port_wanted) + ": " + why + " (" + hint + ")");
    }
    return *port;
  };
  if (d.config.node.control_port != 0) {
    operator_api_options api;
    api.node_name = d.config.runtime.node_name;
    api.host = d.config.node.control_host;
    api.port = d.config.node.control_port;
    api.credentials = d.credentials;
    api.tls_certificate = d.config.node.control_tls_certificate;
    api.tls_key = d.config.node.control_tls_key;
    auto& observers = api.observers;
    observers.fanout = d.fanout;
    observers.orders = d.order_counts;
    observers.max_bot_labels = d.config.node.metrics_max_bot_labels;
    auto sibling = [&d](const char* name) {
      auto found = d.tree.children.find(name);
      return found == d.tree.children.end() ? caf::actor{} : found->second;
    };
    observers.relay = caf::actor_cast<event_relay_actor>(sibling("event_relay"));
    observers.bus = caf::actor_cast<event_bus_actor>(sibling("event_bus"));
    observers.store = caf::actor_cast<state_store_actor>(sibling("state_store"));
    observers.bots = caf::actor_cast<bot_supervisor_actor>(sibling("bots"));
    observers.market_stream = caf::actor_cast<market_stream_actor>(sibling("market_stream"));
    try {
      d.api = std::make_unique<operator_api>(
          *d.system, caf::actor_cast<node_control_actor>(d.tree.children.at("control")),
          std::move(api));
    } catch (const std::exception& e) {
      d.tear_down();
      throw std::runtime_error(e.what());
    }
    d.log.info("operator API listening", {{"host", d.config.node.control_host},
                                          {"port", d.api->port()},
                                          {"tls", !d.config.node.control_tls_certificate.empty()},
                                          {"operators", d.credentials.size()}});
  }
  if (d.config.node.listen) {
    auto port = publish(caf::actor_cast<cluster_actor>(d.cluster_front), d.config.node.listen->host,
                        d.config.node.listen->port, "peers", "is another node using node.listen?",
                        d.config.node.tls());
    guard_settings limits;
    limits.handshake_timeout = std::chrono::milliseconds(d.config.node.handshake_timeout_ms);
    limits.max_connections = d.config.node.max_peer_connections;
    // What a peer has sent by the deadline: a mutual-TLS handshake alone is some 900 bytes
    // (hello, certificate, its signature), CAF's own handshake and first heartbeats follow; in
    // plaintext, CAF's handshake and heartbeats of 32 bytes.
    limits.handshake_bytes = d.config.node.tls() ? 512 : 64;
    // Past its handshake a peer heartbeats; CAF drops one silent for connection_timeout, the
    // guard whatever CAF does not count (a connection that never spoke BASP).
    limits.idle_timeout = std::chrono::milliseconds(2 * d.config.node.connection_timeout_ms
                                                    + d.config.node.handshake_timeout_ms);
    d.guard = std::make_unique<listener_guard>(port, limits);
    d.log.info("listening for peers", {{"host", d.config.node.listen->host},
                                       {"port", port},
                                       {"tls", d.config.node.tls()},
                                       {"handshake_timeout_ms", limits.handshake_timeout.count()},
                                       {"max_connections", limits.max_connections}});
  }
  if (d.config.node.clustered()) {
    d.log.info("joining the cluster", {{"peers", to_text(d.config.node.peers)}});
  }
  d.log.info("runtime started",
             {{"children", d.tree.children.size()}, {"allocator", allocator_name()}});
}

runtime::~runtime() {
  auto& d = *impl_;
  d.tear_down();
  d.log.info("runtime stopped");
  d.log.flush();
}

run_result runtime::run(std::optional<std::chrono::milliseconds> duration, bool watch_signals) {
  auto& d = *impl_;
  using clock = std::chrono::steady_clock;
  auto deadline = duration ? clock::now() + *duration : clock::time_point::max();
  auto signals = termination_signals();
  run_result result;
  // A graceful stop under way: why, and how long it may take before we stop regardless.
  std::optional<stop_reason> graceful;
  std::string graceful_detail;
  auto graceful_deadline = clock::time_point::max();
  auto next_every = clock::now();
  auto begin_graceful_stop = [&](stop_reason why, std::string detail) {
    graceful = why;
    graceful_detail = std::move(detail);
    // The controller ends a SHUTDOWN after its grace at the latest; this only guards against
    // a controller that cannot answer at all.
    graceful_deadline = clock::now()
                        + std::chrono::milliseconds(d.config.emergency.shutdown_grace_ms)
                        + std::chrono::seconds(5);
    d.log.info("runtime stopping gracefully: closing positions, then stopping",
               {{"reason", graceful_detail}});
    caf::anon_send(emergency(), raise_atom::value, emergency_level::shutdown,
                   "graceful stop: " + graceful_detail, change_source::stop);
  };
  for (;;) {
    std::function<void()> every_fn;
    {
      std::unique_lock<std::mutex> guard{d.mutex};
      // Signals are polled, so wait in short slices when watching for them.
      auto slice = clock::now() + std::chrono::milliseconds(watch_signals ? 50 : 1000);
      slice = std::min({slice, graceful ? graceful_deadline : deadline,
                        d.every_fn ? next_every : clock::time_point::max()});
      d.wake.wait_until(guard, slice,
                        [&] { return d.stop_requested || d.supervisor_exit || d.shutdown; });
      if (d.shutdown) {
        if (graceful && d.shutdown->source == change_source::stop) {
          result.reason = *graceful;
          result.detail = graceful_detail;
          result.exit_code = exit_code::ok;
          break;
        }
        result.reason = stop_reason::emergency_shutdown;
        result.detail = d.shutdown->reason;
        result.exit_code = d.shutdown->source == change_source::supervisor
                               ? exit_code::escalated
                               : exit_code::emergency_shutdown;
        break;
      }
      if (d.supervisor_exit) {
        auto& reason = *d.supervisor_exit;
        result.reason = stop_reason::escalated;
        result.detail = d.system->render(reason);
        result.exit_code = is(reason, errc::restart_intensity_exceeded) ? exit_code::escalated
                                                                        : exit_code::internal_error;
        break;
      }
      if (d.stop_requested) {
        result.reason = stop_reason::requested;
        break;
      }
      if (d.every_fn && clock::now() >= next_every) {
        every_fn = d.every_fn;
        next_every = clock::now() + d.every_interval;
      }
    }
    if (every_fn)
      every_fn();
    if (watch_signals) {
      timespec immediately{0, 0};
      if (int sig = sigtimedwait(&signals, nullptr, &immediately); sig > 0) {
        std::string name = sig == SIGINT ? "SIGINT" : "SIGTERM";
        if (graceful) {
          d.log.warn("second signal: stopping at once, positions may stay open",
                     {{"signal", name}});
          result.reason = stop_reason::signal;
          result.detail = name + " (twice)";
          result.exit_code = exit_code::ok;
          break;
        }
        begin_graceful_stop(stop_reason::signal, name);
      }
    }
    if (!graceful && clock::now() >= deadline)
      begin_graceful_stop(stop_reason::duration_elapsed, "duration elapsed");
    if (graceful && clock::now() >= graceful_deadline) {
      d.log.critical("the graceful stop did not complete in time; stopping anyway",
                     {{"reason", graceful_detail}});
      result.reason = *graceful;
      result.detail = graceful_detail + " (SHUTDOWN not confirmed)";
      result.exit_code = exit_code::internal_error;
      break;
    }
  }
  if (result.reason == stop_reason::escalated)
    d.log.critical("runtime stopping: the supervision tree escalated", {{"detail", result.detail}});
  else if (result.reason == stop_reason::emergency_shutdown)
    d.log.critical("runtime stopping: emergency SHUTDOWN", {{"reason", result.detail}});
  else
    d.log.info("runtime stopping",
               {{"reason", result.reason == stop_reason::requested ? std::string{"stop requested"}
                                                                   : result.detail}});
  std::function<void(const run_result&)> before_stop_fn;
  {
    std::lock_guard<std::mutex> guard{d.mutex};
    before_stop_fn = d.before_stop_fn;
  }
  if (before_stop_fn)
    before_stop_fn(result);
  // No operator action comes in any more; the last ones reach the audit trail before the tree
  // (the control actor, the store) goes.
  d.api.reset();
  d.flush_audit();
  if (d.tree.supervisor)
    caf::anon_send_exit(d.tree.supervisor, caf::exit_reason::user_shutdown);
  return result;
}

void runtime::stop() {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  impl_->stop_requested = true;
  impl_->wake.notify_all();
}

caf::actor_system& runtime::system() {
  return *impl_->system;
}

const runtime_config& runtime::config() const {
  return impl_->config;
}

state_store_actor runtime::state_store() const {
  return caf::actor_cast<state_store_actor>(child("state_store"));
}

event_bus_actor runtime::event_bus() const {
  return caf::actor_cast<event_bus_actor>(child("event_bus"));
}

breaker_registry_actor runtime::breakers() const {
  return caf::actor_cast<breaker_registry_actor>(child("breakers"));
}

rate_limiter_actor runtime::rate_limiter() const {
  return caf::actor_cast<rate_limiter_actor>(child("rate_limiter"));
}

market_stream_actor runtime::market_stream() const {
  return caf::actor_cast<market_stream_actor>(child("market_stream"));
}

time_series_actor runtime::time_series() const {
  return caf::actor_cast<time_series_actor>(child("time_series"));
}

workflow_services runtime::services_for_workflows() const {
  return {state_store(),
          event_bus(),
          caf::actor_cast<caf::actor>(emergency()),
          risk_monitor(),
          time_series(),
          breakers(),
          config().workflows.http_endpoints,
          order_endpoints(config().risk)};
}

risk_monitor_actor runtime::risk_monitor() const {
  return caf::actor_cast<risk_monitor_actor>(child("risk_monitor"));
}

caf::actor runtime::workflows() const {
  return child("workflows");
}

bot_supervisor_actor runtime::bots() const {
  return caf::actor_cast<bot_supervisor_actor>(child("bots"));
}

market_actor runtime::market() const {
  return caf::actor_cast<market_actor>(child("market"));
}

void runtime::before_stop(std::function<void(const run_result&)> fn) {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  impl_->before_stop_fn = std::move(fn);
}

void runtime::every(std::chrono::milliseconds interval, std::function<void()> fn) {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  impl_->every_interval = interval;
  impl_->every_fn = std::move(fn);
}

emergency_actor runtime::emergency() const {
  return caf::actor_cast<emergency_actor>(child("emergency"));
}

scope_actor runtime::scopes() const {
  return caf::actor_cast<scope_actor>(child("scopes"));
}

caf::actor runtime::child(const std::string& name) const {
  auto found = impl_->tree.children.find(name);
  return found == impl_->tree.children.end() ? caf::actor{} : found->second;
}

} // namespace brokedancer
