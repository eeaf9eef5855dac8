#include "actor_system.hpp"

#include <stdexcept>
#include <string>

#include <caf/actor_system_config.hpp>

#include "messages/registry.hpp"
#include "runtime/actor_system_config.hpp"
#include "runtime/allocator.hpp"

namespace brokedancer::bench {

void configure(caf::actor_system_config& cfg, const run_context& context) {
  register_message_types(cfg);
  // The runtime's rule, so that baselines and the store run on the same scheduler as a node.
  configure_scheduler(cfg, static_cast<int>(context.scheduler_threads), context.scheduler_policy);
}

environment runtime_environment(const run_context& context, environment settings) {
  if (context.scheduler_threads > 0)
    settings["BROKEDANCER_RUNTIME_SCHEDULER_THREADS"] = std::to_string(context.scheduler_threads);
  if (!context.scheduler_policy.empty())
    settings["BROKEDANCER_RUNTIME_SCHEDULER_POLICY"] = context.scheduler_policy;
  return settings;
}

double heap_bytes() {
  auto bytes = heap_in_use_bytes();
  if (!bytes)
    throw std::runtime_error(std::string{"the allocator ("} + allocator_name()
                             + ") does not report its heap in use");
  return static_cast<double>(*bytes);
}

} // namespace brokedancer::bench
