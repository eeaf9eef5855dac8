#pragma once

#include <cstddef>
#include <string>

#include <caf/fwd.hpp>

namespace brokedancer {

struct runtime_config;

// Scheduler threads for a configured value: itself, or for 0 one thread per core. (CAF's own
// default, max(cores, 4), oversubscribes a small machine: on 2 cores it measured about half
// the request/reply throughput of 2 threads.)
size_t scheduler_threads(int configured);

// The scheduler: `threads` as scheduler_threads() reads it, the policy ("stealing" or "sharing";
// empty: default_scheduler_policy), and how idle work-stealing workers look for work.
void configure_scheduler(caf::actor_system_config& cfg, int threads, const std::string& policy);

// Applies the runtime configuration (scheduler) to a CAF configuration and registers every
// message type. Every actor_system in the process is configured through this.
void configure_actor_system(caf::actor_system_config& cfg, const runtime_config& config);

// Whether the node needs CAF's network layer (the middleman and its multiplexer thread): to
// listen, to join a cluster, or to talk to Redis, whose connections the multiplexer drives
// (actors/redis/redis_link.hpp).
bool needs_middleman(const runtime_config& config);

} // namespace brokedancer
