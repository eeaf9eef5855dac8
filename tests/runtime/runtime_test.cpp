#include <atomic>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <catch2/catch.hpp>

#include "actors/supervision/supervisor.hpp"
#include "runtime/exit_codes.hpp"
#include "runtime/runtime.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;

namespace {

using crash_atom = caf::atom_constant<caf::atom("crash")>;

runtime_config test_config(uint32_t max_restarts) {
  return load_config(embedded_default_config(),
                     {{"BROKEDANCER_SUPERVISOR_MAX_RESTARTS", std::to_string(max_restarts)},
                      {"BROKEDANCER_LOG_LEVEL", "warn"}});
}

// Crashes on start-up after a short delay, for ever: the supervisor cannot keep it up.
child_spec crash_looping_child(std::shared_ptr<std::atomic<int>> starts) {
  return {"crasher", restart_policy::permanent, [starts](caf::actor_system& sys) {
            ++*starts;
            return caf::actor{sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
              self->delayed_send(self, 10ms, crash_atom::value);
              return {[](crash_atom) {
                throw std::runtime_error("cannot keep up");
              }};
            })};
          }};
}

} // namespace

TEST_CASE("a restart storm raises HALT, a second one SHUTDOWN, and the runtime stops with the "
          "escalation exit code") {
  auto starts = std::make_shared<std::atomic<int>>(0);
  runtime node{test_config(2), {crash_looping_child(starts)}};
  auto result = node.run(10s, false);
  CHECK(result.reason == stop_reason::emergency_shutdown);
  CHECK(result.exit_code == exit_code::escalated);
  CHECK(result.detail.find("restart storm: child crasher") != std::string::npos);
  // Two storms of max_restarts + 1 failures each: the first only raised HALT.
  CHECK(*starts >= 6);
}

TEST_CASE("the runtime returns when its duration has passed or stop() is called") {
  runtime node{test_config(5)};
  auto started = std::chrono::steady_clock::now();
  auto result = node.run(200ms, false);
  CHECK(result.reason == stop_reason::duration_elapsed);
  CHECK(result.exit_code == exit_code::ok);
  CHECK(std::chrono::steady_clock::now() - started >= 200ms);

  runtime other{test_config(5)};
  std::thread stopper{[&] {
    std::this_thread::sleep_for(50ms);
    other.stop();
  }};
  CHECK(other.run(std::nullopt, false).reason == stop_reason::requested);
  stopper.join();
}

TEST_CASE("a user's actor runs under the runtime's supervisor and is found by name") {
  auto starts = std::make_shared<std::atomic<int>>(0);
  child_spec idle{"idle", restart_policy::permanent, [starts](caf::actor_system& sys) {
                    ++*starts;
                    return caf::actor{sys.spawn([]() -> caf::behavior {
                      return {[](int x) {
                        return x + 1;
                      }};
                    })};
                  }};
  runtime node{test_config(5), {idle}};
  REQUIRE(node.child("idle"));
  CHECK_FALSE(node.child("missing"));
  caf::scoped_actor self{node.system()};
  int answer = 0;
  self->request(node.child("idle"), 5s, 41)
      .receive([&](int x) { answer = x; }, [&](caf::error&) {});
  CHECK(answer == 42);
  CHECK(*starts == 1);
}
