// halt-broadcast: from a level change until every bot has received and acknowledged it, for
// 1,000, 10,000 and 100,000 bots (p50/p99 over rounds, alternating HALT and resume), beside a
// raw CAF loop sending one message to each of the same number of actors.

#include <chrono>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actor_system.hpp"
#include "actors/emergency/emergency_controller.hpp"
#include "actors/store/memory_store.hpp"
#include "core/logging.hpp"
#include "countdown.hpp"
#include "harness.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;

// A bot that acknowledges every level change; also counts a plain int, for the baseline.
caf::behavior bench_bot(caf::event_based_actor* self, std::shared_ptr<countdown> l) {
  return {[self, l](const level_change& change) {
            self->send(caf::actor_cast<emergency_actor>(self->current_sender()),
                       emergency_ack_atom::value, change.sequence);
            l->count_down();
          },
          [l](int) {
            l->count_down();
          }};
}

void measure(caf::actor_system& sys, int bots, int rounds, samples& out) {
  auto l = std::make_shared<countdown>();
  store_limits limits{1024, 1 << 20};
  auto store =
      spawn_memory_store(sys, make_memory_store_data(), limits, std::chrono::milliseconds(1000));
  emergency_options options;
  options.node_name = "bench";
  auto controller = spawn_emergency_controller(sys, make_emergency_data(), options, store, {}, {});
  caf::scoped_actor self{sys};
  std::vector<caf::actor> spawned;
  spawned.reserve(static_cast<size_t>(bots));
  for (int i = 0; i < bots; ++i) {
    spawned.push_back(sys.spawn(bench_bot, l));
    self->request(controller, std::chrono::seconds(10), register_bot_atom::value, spawned.back())
        .receive([](level_change&) {},
                 [](caf::error&) { throw std::runtime_error("cannot register a bot"); });
  }
  // Restored (and the first broadcast, which tells the bots the level, out of the way).
  for (bool restored = false; !restored;)
    self->request(controller, std::chrono::seconds(10), status_atom::value)
        .receive([&](emergency_status& s) { restored = s.restored; }, [](caf::error&) {});
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::vector<double> broadcast_ms, raw_ms;
  for (int round = 0; round < rounds; ++round) {
    l->arm(bots);
    auto started = clock::now();
    if (round % 2 == 0)
      caf::anon_send(controller, raise_atom::value, emergency_level::halt, std::string{"benchmark"},
                     change_source::operator_request);
    else
      caf::anon_send(controller, resume_atom::value, emergency_level::normal,
                     std::string{"benchmark"}, change_source::operator_request);
    l->wait();
    broadcast_ms.push_back(
        std::chrono::duration<double, std::milli>(clock::now() - started).count());
    // Let the acknowledgements drain before the next round.
    std::this_thread::sleep_for(std::chrono::milliseconds(bots >= 100000 ? 200 : 20));
    l->arm(bots);
    started = clock::now();
    for (const auto& bot : spawned)
      caf::anon_send(bot, 1);
    l->wait();
    raw_ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - started).count());
  }
  auto name = std::to_string(bots);
  out["halt_" + name + "_p50_ms"] = percentile(broadcast_ms, 50);
  out["halt_" + name + "_p99_ms"] = percentile(broadcast_ms, 99);
  out["raw_" + name + "_p50_ms"] = percentile(raw_ms, 50);
  out["raw_" + name + "_p99_ms"] = percentile(raw_ms, 99);
  for (auto& bot : spawned)
    caf::anon_send_exit(bot, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(controller, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
}

samples run_once(const run_context& context) {
  configure_logging({log_format::console, log_level::error, ""});
  caf::actor_system_config cfg;
  configure(cfg, context);
  caf::actor_system sys{cfg};
  samples out;
  measure(sys, 1000, 20, out);
  measure(sys, 10000, 20, out);
  measure(sys, 100000, 3, out);
  return out;
}

std::vector<figure> halt_figures() {
  std::vector<figure> result;
  for (const std::string n : {"1000", "10000", "100000"}) {
    result.push_back({"halt_" + n + "_p50_ms", "ms",
                      "HALT/resume until all " + n + " bots acknowledged, median", false,
                      "raw_" + n + "_p50_ms"});
    result.push_back({"halt_" + n + "_p99_ms", "ms", "the same, 99th percentile", false,
                      "raw_" + n + "_p99_ms"});
  }
  for (const std::string n : {"1000", "10000", "100000"}) {
    result.push_back({"raw_" + n + "_p50_ms", "ms",
                      "raw CAF: one message to each of " + n + " actors, median", false, ""});
    result.push_back({"raw_" + n + "_p99_ms", "ms", "the same, 99th percentile", false, ""});
  }
  return result;
}

const bool registered = register_scenario({
    "halt-broadcast",
    "emergency level change until every bot acknowledged, beside a raw send loop",
    halt_figures(),
    run_once,
});

} // namespace

} // namespace brokedancer::bench
