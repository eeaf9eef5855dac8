#pragma once

// One infrastructure actor as the runtime runs it: an actor system configured from the
// embedded default plus `settings`, and a supervisor with that one child behind its stable
// handle. The contract suites build their fixtures on it.

#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>

#include "actors/supervision/supervisor.hpp"
#include "messages/registry.hpp"
#include "runtime/actor_system_config.hpp"
#include "runtime/config.hpp"

namespace brokedancer::testing {

struct supervised_child {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  supervision_tree tree;
  caf::actor handle;

  // `make` is one of the runtime's child factories (state_store_child, event_bus_child).
  supervised_child(environment settings, child_spec (*make)(const runtime_config&)) {
    settings.emplace("BROKEDANCER_LOG_LEVEL", "warn");
    auto config = load_config(embedded_default_config(), settings);
    configure_logging(config.log);
    register_message_types(cfg);
    if (needs_middleman(config))
      cfg.load<caf::io::middleman>();
    sys = std::make_unique<caf::actor_system>(cfg);
    supervisor_options options;
    options.max_restarts = 10;
    auto spec = make(config);
    auto name = spec.name;
    tree = spawn_supervisor(*sys, options, {std::move(spec)});
    handle = tree.children.at(name);
  }

  ~supervised_child() {
    caf::anon_send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
  }
};

} // namespace brokedancer::testing
