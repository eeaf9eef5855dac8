// bots-spawn: 100,000 idle bots spawned into a running runtime through the bot supervisor --
// each registered with the emergency controller and its saved state read before it counts as
// up -- beside 100,000 bare CAF actors spawned into the same actor system in the same run:
// spawns per second, seconds for all, and resident memory per bot.

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "actor_system.hpp"
#include "actors/bots/bot.hpp"
#include "harness.hpp"
#include "runtime/allocator.hpp"
#include "runtime/runtime.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;

constexpr int count = 100000;

// Resident memory of this process, in bytes.
double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

class idle final : public strategy {
public:
  void on_start(bot_context&, const nlohmann::json&) override {}
};

struct spawn_report {
  std::mutex mutex;
  std::condition_variable done;
  int left = count;
  int failures = 0;
};

// Asks for the bots with a window of requests in flight, counting the answers (each comes
// once its bot is up). A window, not all at once: CAF 0.17 keeps an actor's outstanding
// requests in a flat map, linear per answer, so 100,000 at once would measure that instead.
constexpr int window = 256;

void ask_next(caf::event_based_actor* self, bot_supervisor_actor bots,
              std::shared_ptr<spawn_report> report, std::shared_ptr<int> next) {
  if (*next == count)
    return;
  auto id = "idle-" + std::to_string((*next)++);
  self->request(bots, std::chrono::minutes(5), spawn_bot_atom::value, bot_config{id, "idle", "{}"})
      .then(
          [self, bots, report, next](bool) {
            {
              std::lock_guard<std::mutex> guard{report->mutex};
              if (--report->left == 0)
                report->done.notify_all();
            }
            ask_next(self, bots, report, next);
          },
          [self, bots, report, next](caf::error&) {
            {
              std::lock_guard<std::mutex> guard{report->mutex};
              ++report->failures;
              if (--report->left == 0)
                report->done.notify_all();
            }
            ask_next(self, bots, report, next);
          });
}

caf::behavior spawner(caf::event_based_actor* self, bot_supervisor_actor bots,
                      std::shared_ptr<spawn_report> report) {
  auto next = std::make_shared<int>(0);
  for (int i = 0; i < window; ++i)
    ask_next(self, bots, report, next);
  return {[](int) {
  }};
}

caf::behavior bare(caf::event_based_actor*) {
  return {[](int) {
  }};
}

samples run_once(const run_context& context) {
  environment env{{"BROKEDANCER_LOG_LEVEL", "warn"},
                  {"BROKEDANCER_BOTS_COUNT", "0"},
                  {"BROKEDANCER_MARKET_SYMBOLS", ""}};
  runtime_options options;
  options.strategies["idle"] = [](const nlohmann::json&) {
    return std::make_unique<idle>();
  };
  runtime node{load_config(embedded_default_config(), runtime_environment(context, env)),
               std::move(options)};
  samples out;
  // The baseline first, so that the bots' memory does not hide in pages it freed.
  {
    auto before = heap_bytes();
    auto started = clock::now();
    std::vector<caf::actor> actors;
    actors.reserve(count);
    for (int i = 0; i < count; ++i)
      actors.push_back(node.system().spawn(bare));
    auto seconds = std::chrono::duration<double>(clock::now() - started).count();
    out["bare_actors_per_s"] = count / seconds;
    out["bare_seconds"] = seconds;
    out["bare_bytes_each"] = (heap_bytes() - before) / count;
    for (auto& a : actors)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    actors.clear();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  auto heap_before = heap_bytes();
  auto resident_before = resident_bytes();
  auto report = std::make_shared<spawn_report>();
  auto started = clock::now();
  auto asker = node.system().spawn(spawner, node.bots(), report);
  {
    std::unique_lock<std::mutex> guard{report->mutex};
    if (!report->done.wait_for(guard, std::chrono::minutes(5), [&] { return report->left == 0; }))
      throw std::runtime_error("the bots were not up within 5 minutes");
    if (report->failures > 0)
      throw std::runtime_error(std::to_string(report->failures) + " bots did not start");
  }
  auto seconds = std::chrono::duration<double>(clock::now() - started).count();
  out["bots_per_s"] = count / seconds;
  out["bots_seconds"] = seconds;
  out["bots_bytes_each"] = (heap_bytes() - heap_before) / count;
  out["bots_resident_bytes_each"] = (resident_bytes() - resident_before) / count;
  caf::anon_send_exit(asker, caf::exit_reason::user_shutdown);
  return out;
}

const bool registered = register_scenario({
    "bots-spawn",
    "100,000 idle bots spawned through the bot supervisor, beside 100,000 bare CAF actors",
    {
        {"bots_per_s", "bots/s", "spawned, registered, state read", true, "bare_actors_per_s"},
        {"bots_seconds", "s", "all 100,000 up", false, "bare_seconds"},
        {"bots_bytes_each", "bytes", "heap per idle bot (its actor, host, record, registrations)",
         false, "bare_bytes_each"},
        {"bots_resident_bytes_each", "bytes", "resident memory per idle bot (allocator slack too)",
         false, ""},
        {"bare_actors_per_s", "actors/s", "bare CAF actors spawned", true, ""},
        {"bare_seconds", "s", "all 100,000 spawned", false, ""},
        {"bare_bytes_each", "bytes", "heap per bare actor", false, ""},
    },
    run_once,
});

} // namespace

} // namespace brokedancer::bench
