// A second node for the event bus's two-process tests: a brokedancer runtime configured from
// the environment (BROKEDANCER_* variables, as `brokedancer run` takes them), with one actor
// that answers every event on `ping.<x>` by publishing its payload and correlation id on
// `pong.<x>`. Prints "ready" once subscribed; stops when its standard input closes, or on
// SIGINT/SIGTERM.

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "messages/errors.hpp"
#include "messages/event_bus.hpp"
#include "runtime/config.hpp"
#include "runtime/runtime.hpp"

using namespace brokedancer;

namespace {

caf::behavior echo(caf::event_based_actor* self, event_bus_actor bus) {
  return {[self, bus](const event& ev) {
    if (ev.topic.rfind("ping.", 0) != 0)
      return;
    self->request(bus, std::chrono::seconds(10), publish_atom::value, "pong." + ev.topic.substr(5),
                  ev.json, ev.correlation)
        .then([](uint64_t) {},
              [self](caf::error& err) {
                std::cerr << "bus-echo-peer: publishing a pong failed: "
                          << self->system().render(err) << std::endl;
              });
  }};
}

} // namespace

int main() {
  block_termination_signals();
  try {
    runtime node{load_config(embedded_default_config(), process_environment())};
    auto bus = node.event_bus();
    auto responder = node.system().spawn(echo, bus);
    caf::scoped_actor self{node.system()};
    // The bus refuses subscriptions until it has reached Redis.
    bool subscribed = false;
    for (int attempt = 0; attempt < 200 && !subscribed; ++attempt) {
      self->request(bus, std::chrono::seconds(5), subscribe_atom::value, std::string{"ping.*"},
                    responder)
          .receive(
              [&](uint64_t) { subscribed = true; },
              [&](caf::error&) { std::this_thread::sleep_for(std::chrono::milliseconds(50)); });
    }
    if (!subscribed) {
      std::cerr << "bus-echo-peer: could not subscribe to ping.*" << std::endl;
      return 1;
    }
    std::cout << "ready" << std::endl;
    std::thread([&node] {
      char ignored[256];
      while (std::fread(ignored, 1, sizeof ignored, stdin) > 0) {
      }
      node.stop();
    }).detach();
    auto result = node.run(std::nullopt, true);
    caf::anon_send_exit(responder, caf::exit_reason::user_shutdown);
    return result.exit_code;
  } catch (const std::exception& e) {
    std::cerr << "bus-echo-peer: " << e.what() << std::endl;
    return 1;
  }
}
