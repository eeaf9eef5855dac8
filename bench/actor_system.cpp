#include "actor_system.hpp"

#include <caf/actor_system_config.hpp>

#include "messages/registry.hpp"

namespace brokedancer::bench {

void configure(caf::actor_system_config& cfg, const run_context& context) {
  register_message_types(cfg);
  if (context.scheduler_threads > 0)
    cfg.set("scheduler.max-threads", context.scheduler_threads);
  if (!context.scheduler_policy.empty())
    cfg.set("scheduler.policy", caf::atom_from_string(context.scheduler_policy));
}

} // namespace brokedancer::bench
