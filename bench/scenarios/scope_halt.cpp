// scope-halt: a scoped HALT of one strategy among 10,000 bots (10 strategies of 1,000), from the
// raise until every bot it covers has acknowledged, beside a node-wide HALT of the same 10,000
// bots in the same run (p50/p99 over rounds; each HALT is lifted before the next round). The
// bots are bare actors registered with both controllers that acknowledge what they are told.

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actor_system.hpp"
#include "actors/emergency/emergency_controller.hpp"
#include "actors/emergency/scope_controller.hpp"
#include "actors/store/memory_store.hpp"
#include "core/logging.hpp"
#include "countdown.hpp"
#include "harness.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;

constexpr int bots = 10000;
constexpr int strategies = 10;
constexpr int rounds = 10;

caf::behavior scoped_bot(caf::event_based_actor* self, std::shared_ptr<countdown> c) {
  return {[self, c](const level_change& change) {
            self->send(caf::actor_cast<emergency_actor>(self->current_sender()),
                       emergency_ack_atom::value, change.sequence);
            c->count_down();
          },
          [self, c](const bot_scope_view& view) {
            self->send(caf::actor_cast<scope_actor>(self->current_sender()), scope_ack_atom::value,
                       view.version);
            c->count_down();
          }};
}

double ms_since(clock::time_point started) {
  return std::chrono::duration<double, std::milli>(clock::now() - started).count();
}

samples run_once(const run_context& context) {
  configure_logging({log_format::console, log_level::error, ""});
  caf::actor_system_config cfg;
  configure(cfg, context);
  caf::actor_system sys{cfg};
  auto c = std::make_shared<countdown>();
  store_limits limits{1024, 1 << 20};
  auto store =
      spawn_memory_store(sys, make_memory_store_data(), limits, std::chrono::milliseconds(1000));
  emergency_options options;
  options.node_name = "bench";
  auto emergency = spawn_emergency_controller(sys, make_emergency_data(), options, store, {}, {});
  scope_options scoped;
  scoped.node_name = "bench";
  auto scopes = spawn_scope_controller(sys, make_scope_data(), scoped, store, {}, emergency);
  caf::scoped_actor self{sys};
  for (bool restored = false; !restored;)
    self->request(scopes, std::chrono::seconds(10), status_atom::value)
        .receive([&](scope_status& s) { restored = s.restored; }, [](caf::error&) {});
  std::vector<caf::actor> spawned;
  spawned.reserve(bots);
  for (int i = 0; i < bots; ++i) {
    spawned.push_back(sys.spawn(scoped_bot, c));
    auto fail = [](caf::error&) {
      throw std::runtime_error("cannot register a bot");
    };
    self->request(emergency, std::chrono::seconds(10), register_bot_atom::value, spawned.back())
        .receive([](level_change&) {}, fail);
    scope_subject subject{"bot-" + std::to_string(i), "strategy-" + std::to_string(i % strategies),
                          "exchange"};
    self->request(scopes, std::chrono::seconds(10), register_scoped_atom::value, spawned.back(),
                  subject)
        .receive([](bot_scope_view&) {}, fail);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::vector<double> scoped_ms, node_ms;
  const int covered = bots / strategies;
  for (int round = 0; round < rounds; ++round) {
    c->arm(covered);
    auto started = clock::now();
    caf::anon_send(scopes, raise_scope_atom::value, scope_kind::strategy, std::string{"strategy-0"},
                   emergency_level::halt, std::string{"benchmark"},
                   change_source::operator_request);
    c->wait();
    scoped_ms.push_back(ms_since(started));
    c->arm(covered);
    self->request(scopes, std::chrono::seconds(10), lower_scope_atom::value, scope_kind::strategy,
                  std::string{"strategy-0"}, emergency_level::normal, std::string{"benchmark"},
                  change_source::operator_request)
        .receive([](scope_reply&) {},
                 [](caf::error&) { throw std::runtime_error("cannot lift the scope"); });
    c->wait();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    c->arm(bots);
    started = clock::now();
    caf::anon_send(emergency, raise_atom::value, emergency_level::halt, std::string{"benchmark"},
                   change_source::operator_request);
    c->wait();
    node_ms.push_back(ms_since(started));
    c->arm(bots);
    caf::anon_send(emergency, resume_atom::value, emergency_level::normal, std::string{"benchmark"},
                   change_source::operator_request);
    c->wait();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  samples out;
  out["scoped_halt_p50_ms"] = percentile(scoped_ms, 50);
  out["scoped_halt_p99_ms"] = percentile(scoped_ms, 99);
  out["node_halt_p50_ms"] = percentile(node_ms, 50);
  out["node_halt_p99_ms"] = percentile(node_ms, 99);
  for (auto& bot : spawned)
    caf::anon_send_exit(bot, caf::exit_reason::user_shutdown);
  for (auto actor : {caf::actor_cast<caf::actor>(scopes), caf::actor_cast<caf::actor>(emergency),
                     caf::actor_cast<caf::actor>(store)})
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  return out;
}

const bool registered = register_scenario({
    "scope-halt",
    "a strategy's scoped HALT (1,000 of 10,000 bots) until every covered bot acknowledged, "
    "beside a node-wide HALT of all 10,000 in the same run",
    {
        {"scoped_halt_p50_ms", "ms", "scoped HALT of 1,000 of 10,000 bots, median", false,
         "node_halt_p50_ms"},
        {"scoped_halt_p99_ms", "ms", "the same, 99th percentile", false, "node_halt_p99_ms"},
        {"node_halt_p50_ms", "ms", "node-wide HALT of all 10,000 bots, median", false, ""},
        {"node_halt_p99_ms", "ms", "the same, 99th percentile", false, ""},
    },
    run_once,
});

} // namespace

} // namespace brokedancer::bench
