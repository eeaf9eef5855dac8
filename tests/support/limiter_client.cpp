// One process's share of a Redis rate limiter, for the test that two processes sharing it never
// get more than its limit together:
//
//   limiter-client NAME LIMIT WINDOW_MS COUNT START_UNIX_MS
//
// configured like a node (BROKEDANCER_* environment: the Redis URL and key prefix), waits until
// START_UNIX_MS so that both processes ask at once, makes COUNT decisions of cost 1 on a
// sliding window, and prints "allowed N failed M". Exit 0, or 2 on bad arguments.

#include <chrono>
#include <iostream>
#include <string>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "core/unix_time.hpp"
#include "messages/rate_limiter.hpp"
#include "runtime/actor_system_config.hpp"
#include "runtime/config.hpp"
#include "runtime/infrastructure.hpp"

using namespace brokedancer;

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr << "usage: limiter-client NAME LIMIT WINDOW_MS COUNT START_UNIX_MS\n";
    return 2;
  }
  std::string name = argv[1];
  rate_limit limit{rate_algorithm::sliding_window, static_cast<uint32_t>(std::stoul(argv[2])),
                   std::stoll(argv[3])};
  auto count = std::stoi(argv[4]);
  auto start_ms = std::stoll(argv[5]);
  auto config = load_config(embedded_default_config(), process_environment());
  configure_logging(config.log);
  caf::actor_system_config cfg;
  configure_actor_system(cfg, config);
  caf::actor_system sys{cfg};
  auto limiter = caf::actor_cast<rate_limiter_actor>(rate_limiter_child(config).start(sys));
  caf::scoped_actor self{sys};
  // Connected before the start, so that both processes ask at the same time.
  for (int i = 0; i < 500; ++i) {
    bool available = false;
    self->request(limiter, std::chrono::seconds(5), status_atom::value)
        .receive([&](limiter_status& s) { available = s.available; }, [](caf::error&) {});
    if (available)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  while (now_us() / 1000 < start_ms)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  int allowed = 0;
  int failed = 0;
  for (int i = 0; i < count; ++i)
    self->request(limiter, std::chrono::seconds(5), take_atom::value, name, limit, uint32_t{1})
        .receive([&](rate_decision& d) { allowed += d.allowed ? 1 : 0; },
                 [&](caf::error&) { ++failed; });
  std::cout << "allowed " << allowed << " failed " << failed << std::endl;
  self->send_exit(limiter, caf::exit_reason::user_shutdown);
  return 0;
}
