#include "runtime/actor_system_config.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/timespan.hpp>

#include "messages/registry.hpp"
#include "runtime/config.hpp"
#include "runtime/openssl_error_queue.hpp"

namespace brokedancer {

size_t scheduler_threads(int configured) {
  if (configured > 0)
    return static_cast<size_t>(configured);
  return std::max(1u, std::thread::hardware_concurrency());
}

void configure_scheduler(caf::actor_system_config& cfg, int threads, const std::string& policy) {
  cfg.set("scheduler.max-threads", scheduler_threads(threads));
  if (!policy.empty())
    cfg.set("scheduler.policy", caf::atom_from_string(policy));
  // A send from an actor queues the receiver on the sender's own worker; another worker runs
  // it only by stealing. An idle worker past its first spins sleeps 50 us between looks at its
  // queue, and by CAF's default steals only at every 5th look: a request/reply chain across
  // actors (a bot's order passes six) then waits up to 250 us per hop for the second core.
  // Stealing at every look costs an idle worker nothing more (it still sleeps between looks)
  // and took the order path from 90 K to 113 K orders/s on 2 cores.
  cfg.set("work-stealing.moderate-steal-interval", size_t{1});
}

bool needs_middleman(const runtime_config& config) {
  return config.node.control_port != 0 || config.node.clustered() || config.state.backend == "redis"
         || config.bus.backend == "redis";
}

void configure_actor_system(caf::actor_system_config& cfg, const runtime_config& config) {
  register_message_types(cfg);
  // The network layer only when something needs it: it starts threads of its own.
  if (needs_middleman(config))
    cfg.load<caf::io::middleman>();
  if (config.node.clustered() && config.node.tls()) {
    // Node-to-node traffic through CAF's OpenSSL module: with a certificate, its key and the
    // authorities, each side shows its certificate and checks the other's (TLS 1.2).
    // CAF's OpenSSL module trips over errors other sessions leave in OpenSSL's error queue;
    // this links in what empties it first (runtime/openssl_error_queue.cpp).
    link_openssl_error_queue_clearing();
    cfg.load<caf::openssl::manager>();
    cfg.openssl_certificate = config.node.tls_certificate;
    cfg.openssl_key = config.node.tls_key;
    cfg.openssl_cafile = config.node.tls_ca;
    cfg.openssl_passphrase = config.node.tls_passphrase;
  }
  if (config.node.clustered()) {
    // Without heartbeats CAF never notices a peer that hangs with its socket open; with them,
    // a connection silent for the timeout is dropped (and its actors reported down). Every
    // node of a cluster must use the same values: a node that does not send heartbeats is
    // dropped by one that expects them.
    cfg.set("middleman.heartbeat-interval",
            caf::timespan{std::chrono::milliseconds(config.node.heartbeat_interval_ms)});
    cfg.set("middleman.connection-timeout",
            caf::timespan{std::chrono::milliseconds(config.node.connection_timeout_ms)});
  }
  configure_scheduler(cfg, config.runtime.scheduler_threads, config.runtime.scheduler_policy);
}

} // namespace brokedancer
