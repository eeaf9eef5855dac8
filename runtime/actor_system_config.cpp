#include "runtime/actor_system_config.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

#include "messages/registry.hpp"
#include "runtime/config.hpp"

namespace brokedancer {

void configure_actor_system(caf::actor_system_config& cfg, const runtime_config& config) {
  register_message_types(cfg);
  if (config.runtime.scheduler_threads > 0)
    cfg.set("scheduler.max-threads", static_cast<size_t>(config.runtime.scheduler_threads));
  cfg.set("scheduler.policy", caf::atom_from_string(config.runtime.scheduler_policy));
}

} // namespace brokedancer
