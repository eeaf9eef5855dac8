#include "runtime/actor_system_config.hpp"

#include <algorithm>
#include <thread>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/io/middleman.hpp>

#include "messages/registry.hpp"
#include "runtime/config.hpp"

namespace brokedancer {

size_t scheduler_threads(int configured) {
  if (configured > 0)
    return static_cast<size_t>(configured);
  return std::max(1u, std::thread::hardware_concurrency());
}

void configure_actor_system(caf::actor_system_config& cfg, const runtime_config& config) {
  register_message_types(cfg);
  // The network layer only when something listens: it starts threads of its own.
  if (config.node.control_port != 0)
    cfg.load<caf::io::middleman>();
  cfg.set("scheduler.max-threads", scheduler_threads(config.runtime.scheduler_threads));
  cfg.set("scheduler.policy", caf::atom_from_string(config.runtime.scheduler_policy));
}

} // namespace brokedancer
