// The front door on its own, in one actor system: what it lets through, and when.

#include <chrono>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <catch2/catch.hpp>

#include "actors/node/front_door.hpp"
#include "messages/registry.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;

namespace {

struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;

  fixture() {
    register_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

bool strings_only(const caf::type_erased_tuple& content) {
  return content.match_elements<std::string>();
}

} // namespace

TEST_CASE_METHOD(fixture, "what reaches a front door before it is bound is delivered once it is") {
  auto front = make_front_door(*sys, "test", {}, strings_only);
  caf::anon_send(front, std::string{"early"});
  caf::anon_send(front, 42); // not what it takes: dropped, bound or not
  caf::scoped_actor self{*sys};
  bind_front_door(front, caf::actor_cast<caf::actor>(self));
  caf::anon_send(front, std::string{"late"});
  std::vector<std::string> got;
  for (int i = 0; i < 2; ++i)
    self->receive([&](const std::string& text) { got.push_back(text); },
                  caf::after(2s) >> [&] { got.push_back("(nothing)"); });
  CHECK(got == std::vector<std::string>{"early", "late"});
  bool more = false;
  self->receive([&](int) { more = true; }, caf::after(100ms) >> [] {});
  CHECK_FALSE(more);
  close_front_door(front);
}

TEST_CASE_METHOD(fixture, "a front door keeps at most 64 early messages") {
  auto front = make_front_door(*sys, "test", {}, strings_only);
  for (int i = 0; i < 100; ++i)
    caf::anon_send(front, std::to_string(i));
  caf::scoped_actor self{*sys};
  bind_front_door(front, caf::actor_cast<caf::actor>(self));
  int count = 0;
  bool done = false;
  while (!done)
    self->receive([&](const std::string&) { ++count; }, caf::after(300ms) >> [&] { done = true; });
  CHECK(count == 64);
  close_front_door(front);
}
