#include <atomic>
#include <chrono>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/system_messages.hpp>

#include <catch2/catch.hpp>

#include "actors/supervision/supervisor.hpp"
#include "messages/atoms.hpp"
#include "messages/errors.hpp"
#include "messages/registry.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;

namespace {

using ping_atom = caf::atom_constant<caf::atom("ping")>;
using crash_atom = caf::atom_constant<caf::atom("crash")>;
using finish_atom = caf::atom_constant<caf::atom("finish")>;

// A child that answers ping with how many incarnations have started, throws on crash and
// exits normally on finish.
caf::behavior test_child(caf::event_based_actor* self, int incarnation) {
  exit_with_exception_text(self);
  return {
      [=](ping_atom) { return incarnation; },
      [=](crash_atom) -> int { throw std::runtime_error("crash requested by the test"); },
      [=](finish_atom) { self->quit(); },
  };
}

child_spec counting_child(std::string name, restart_policy policy,
                          std::shared_ptr<std::atomic<int>> starts) {
  return {std::move(name), policy, [starts](caf::actor_system& sys) {
            return caf::actor{sys.spawn(test_child, ++*starts)};
          }};
}

struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<std::atomic<int>> starts = std::make_shared<std::atomic<int>>(0);

  fixture() {
    register_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  supervisor_options options(uint32_t max_restarts, std::chrono::milliseconds window = 10s) {
    supervisor_options o;
    o.name = "test";
    o.max_restarts = max_restarts;
    o.window = window;
    return o;
  }

  // The reply to ping through `handle`, or the error.
  caf::expected<int> ping(const caf::actor& handle) {
    caf::scoped_actor self{*sys};
    caf::expected<int> result{caf::error{}};
    self->request(handle, 5s, ping_atom::value)
        .receive([&](int n) { result = n; }, [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  supervisor_status status(const caf::actor& supervisor) {
    caf::scoped_actor self{*sys};
    supervisor_status result;
    self->request(supervisor, 5s, status_atom::value)
        .receive([&](supervisor_status& s) { result = std::move(s); },
                 [&](caf::error& err) { FAIL(sys->render(err)); });
    return result;
  }

  // Crashes the child behind `handle` and waits until the supervisor has dealt with it.
  void crash(const caf::actor& supervisor, const caf::actor& handle, uint32_t generation_after) {
    caf::anon_send(handle, crash_atom::value);
    await_generation(supervisor, generation_after);
  }

  void await_generation(const caf::actor& supervisor, uint32_t generation_after) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto s = status(supervisor);
      if (!s.children.empty() && s.children[0].generation >= generation_after
          && s.children[0].running)
        return;
      std::this_thread::sleep_for(5ms);
    }
    FAIL("the child was not restarted within 5 s");
  }

  // The exit reason of `actor`, once it has exited.
  caf::error exit_reason(const caf::actor& actor) {
    caf::scoped_actor self{*sys};
    self->monitor(actor);
    caf::error reason;
    self->receive([&](caf::down_msg& down) { reason = down.reason; },
                  caf::after(5s) >> [&] { FAIL("the actor did not exit within 5 s"); });
    return reason;
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "a crashed child is restarted and its stable handle reaches the new "
                          "incarnation") {
  auto tree = spawn_supervisor(*sys, options(3),
                               {counting_child("worker", restart_policy::permanent, starts)});
  auto handle = tree.children.at("worker");
  CHECK(ping(handle) == 1);
  crash(tree.supervisor, handle, 2);
  CHECK(ping(handle) == 2);
  auto s = status(tree.supervisor);
  REQUIRE(s.children.size() == 1);
  CHECK(s.children[0].restarts == 1);
  CHECK(s.children[0].last_exit_reason.find("crash requested by the test") != std::string::npos);
  CHECK(s.restarts_in_window == 1);
  caf::anon_send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "exceeding the restart intensity escalates and stops every child") {
  auto tree = spawn_supervisor(*sys, options(2),
                               {counting_child("worker", restart_policy::permanent, starts),
                                counting_child("bystander", restart_policy::permanent,
                                               std::make_shared<std::atomic<int>>(0))});
  auto handle = tree.children.at("worker");
  crash(tree.supervisor, handle, 2);
  crash(tree.supervisor, handle, 3);
  caf::anon_send(handle, crash_atom::value);
  auto reason = exit_reason(tree.supervisor);
  CHECK(is(reason, errc::restart_intensity_exceeded));
  CHECK(sys->render(reason).find("child worker failed 3 times") != std::string::npos);
  CHECK(*starts == 3);
  // The stable handles die with the supervisor (the exit travels over links, so a moment
  // later than the supervisor's own down message); from then on clients get an error.
  auto bystander = tree.children.at("bystander");
  CHECK(exit_reason(bystander) == exit_reason(tree.supervisor));
  CHECK_FALSE(ping(bystander));
}

TEST_CASE_METHOD(fixture, "restarts older than the window do not count towards the intensity") {
  auto tree = spawn_supervisor(*sys, options(1, 200ms),
                               {counting_child("worker", restart_policy::permanent, starts)});
  auto handle = tree.children.at("worker");
  crash(tree.supervisor, handle, 2);
  std::this_thread::sleep_for(300ms);
  crash(tree.supervisor, handle, 3);
  CHECK(ping(handle) == 3);
  caf::anon_send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "a transient child that finishes normally stays stopped and its "
                          "handle says so") {
  auto tree = spawn_supervisor(*sys, options(3),
                               {counting_child("job", restart_policy::transient, starts)});
  auto handle = tree.children.at("job");
  caf::anon_send(handle, finish_atom::value);
  // Until the supervisor has rebound the handle, a request may still meet the dead child and
  // fail with request_receiver_down; after that the handle itself answers.
  caf::expected<int> reply = ping(handle);
  for (int i = 0; i < 200 && (reply || !is(reply.error(), errc::subsystem_unavailable)); ++i) {
    std::this_thread::sleep_for(5ms);
    reply = ping(handle);
  }
  REQUIRE_FALSE(reply);
  CHECK(is(reply.error(), errc::subsystem_unavailable));
  CHECK(sys->render(reply.error()).find("job is not running") != std::string::npos);
  CHECK(*starts == 1);
  CHECK_FALSE(status(tree.supervisor).children[0].running);
  caf::anon_send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "a transient child that crashes is restarted") {
  auto tree = spawn_supervisor(*sys, options(3),
                               {counting_child("job", restart_policy::transient, starts)});
  crash(tree.supervisor, tree.children.at("job"), 2);
  CHECK(ping(tree.children.at("job")) == 2);
  caf::anon_send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "a temporary child is never restarted") {
  auto tree = spawn_supervisor(*sys, options(3),
                               {counting_child("once", restart_policy::temporary, starts)});
  caf::anon_send(tree.children.at("once"), crash_atom::value);
  std::this_thread::sleep_for(100ms);
  CHECK(*starts == 1);
  CHECK_FALSE(ping(tree.children.at("once")));
  caf::anon_send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "a permanent child is restarted even after a normal exit") {
  auto tree = spawn_supervisor(*sys, options(3),
                               {counting_child("always", restart_policy::permanent, starts)});
  caf::anon_send(tree.children.at("always"), finish_atom::value);
  await_generation(tree.supervisor, 2);
  CHECK(ping(tree.children.at("always")) == 2);
  CHECK(status(tree.supervisor).children[0].last_exit_reason == "normal");
  caf::anon_send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "a shutdown request stops the supervisor with its reason") {
  auto tree = spawn_supervisor(*sys, options(3),
                               {counting_child("worker", restart_policy::permanent, starts)});
  caf::anon_send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
  CHECK(exit_reason(tree.supervisor) == caf::exit_reason::user_shutdown);
  CHECK(*starts == 1);
}

TEST_CASE_METHOD(fixture, "a child that cannot start keeps the supervisor from starting") {
  child_spec broken{"broken", restart_policy::permanent, [](caf::actor_system&) -> caf::actor {
                      throw std::runtime_error("no port");
                    }};
  CHECK_THROWS(spawn_supervisor(*sys, options(3), {broken}));
}

TEST_CASE_METHOD(fixture,
                 "a stable handle is ended by its supervisor's exit and by nobody else's") {
  auto tree = spawn_supervisor(*sys, options(3),
                               {counting_child("worker", restart_policy::permanent, starts)});
  auto handle = tree.children.at("worker");
  // Every client shares the handle: a stray exit message, or a linked client that failed, must
  // not take the child away from the others.
  caf::anon_send_exit(handle, caf::exit_reason::kill);
  {
    auto client = sys->spawn([](caf::event_based_actor*) -> caf::behavior {
      return {[](int) {
      }};
    });
    // An exit message that names a client as its source, as one over a link would.
    handle->enqueue(caf::make_mailbox_element(
                        caf::actor_cast<caf::strong_actor_ptr>(client), caf::make_message_id(), {},
                        caf::exit_msg{client.address(), caf::exit_reason::kill}),
                    nullptr);
    caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
  }
  CHECK(ping(handle) == 1);
  caf::anon_send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
  CHECK(exit_reason(handle) == caf::exit_reason::user_shutdown);
}
