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
  // Sharing by default: all workers take jobs from one queue, and an idle worker blocks on a
  // condition variable that each new job signals. With work stealing an idle worker past its
  // first spins sleeps 50 us (plus the kernel's timer slack) between looks at its queue, so
  // whatever arrives from outside the scheduler -- a Redis reply read by the multiplexer, an
  // operator's HALT -- waits for a worker to wake up by itself. Same-run figures (release,
  // 2 cores, 3 runs, issue 15), stealing -> sharing: a Redis state request from one client,
  // p50 3.0x -> 1.4x a raw hiredis round trip; a Redis publish 2.9x -> 1.6x redis-benchmark;
  // HALT acknowledged by 100,000 bots 420 -> 56 ms; the order path 148 K -> 155 K orders/s
  // with p99 846 -> 622 us; the memory store with 64 clients 0.78x -> 0.95x the bare actor.
  // What it costs: one saturated event stream through the memory bus, 2.2 M -> 1.8 M events/s.
  cfg.set("scheduler.policy",
          caf::atom_from_string(policy.empty() ? std::string{default_scheduler_policy} : policy));
  // For those who choose stealing: a send from an actor queues the receiver on the sender's own
  // worker; another worker runs it only by stealing, by CAF's default only at every 5th look: a
  // request/reply chain across actors (a bot's order passes six) then waits up to 250 us per
  // hop for the second core. Stealing at every look costs an idle worker nothing more.
  cfg.set("work-stealing.moderate-steal-interval", size_t{1});
}

bool needs_middleman(const runtime_config& config) {
  return config.node.control_port != 0 || config.node.clustered() || config.state.backend == "redis"
         || config.bus.backend == "redis" || config.limiter.backend == "redis"
         || config.streams.backend == "redis" || config.timeseries.backend == "redis"
         || config.channels.backend == "redis";
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
