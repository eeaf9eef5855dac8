// Another node for the multi-process tests: a brokedancer runtime configured from the
// environment (BROKEDANCER_* variables, as `brokedancer run` takes them). It
// - answers every event on `ping.<x>` by publishing its payload and correlation id on
//   `pong.<x>` (the event bus's two-process test);
// - takes commands on standard input, one per line, answering each with one line:
//     halt <reason>   raises HALT and answers "level HALT persisted" once it is stored
//     status          answers "level <LEVEL> reason <reason>"
// Prints "ready" once subscribed and the emergency level is restored; stops when its standard
// input closes, or on SIGINT/SIGTERM.

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "messages/emergency.hpp"
#include "messages/errors.hpp"
#include "messages/event_bus.hpp"
#include "runtime/config.hpp"
#include "runtime/runtime.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;

namespace {

caf::behavior echo(caf::event_based_actor* self, event_bus_actor bus) {
  return {[self, bus](const event& ev) {
    if (ev.topic.rfind("ping.", 0) != 0)
      return;
    self->request(bus, std::chrono::seconds(10), publish_atom::value, "pong." + ev.topic.substr(5),
                  ev.json, ev.correlation)
        .then([](uint64_t) {},
              [self](caf::error& err) {
                std::cerr << "node-peer: publishing a pong failed: " << self->system().render(err)
                          << std::endl;
              });
  }};
}

emergency_status status_of(runtime& node) {
  caf::scoped_actor self{node.system()};
  emergency_status status;
  self->request(node.emergency(), 5s, status_atom::value)
      .receive([&](emergency_status& s) { status = std::move(s); }, [](caf::error&) {});
  return status;
}

void serve_commands(runtime& node) {
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.rfind("halt ", 0) == 0) {
      caf::scoped_actor self{node.system()};
      self->request(node.emergency(), 5s, raise_atom::value, emergency_level::halt, line.substr(5),
                    change_source::operator_request)
          .receive([](level_change&) {},
                   [&](caf::error& err) {
                     std::cerr << "node-peer: halt failed: " << node.system().render(err)
                               << std::endl;
                   });
      for (int i = 0; i < 500 && !status_of(node).persisted; ++i)
        std::this_thread::sleep_for(10ms);
      auto status = status_of(node);
      std::cout << "level " << to_string(status.current.level)
                << (status.persisted ? " persisted" : " not persisted") << std::endl;
    } else if (line == "status") {
      auto status = status_of(node);
      std::cout << "level " << to_string(status.current.level) << " reason "
                << status.current.reason << std::endl;
    } else {
      std::cout << "unknown command: " << line << std::endl;
    }
  }
  node.stop();
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
          .receive([&](uint64_t) { subscribed = true; },
                   [&](caf::error&) { std::this_thread::sleep_for(50ms); });
    }
    for (int i = 0; i < 500 && !status_of(node).restored; ++i)
      std::this_thread::sleep_for(10ms);
    if (!subscribed || !status_of(node).restored) {
      std::cerr << "node-peer: could not subscribe or restore the emergency level" << std::endl;
      return 1;
    }
    std::cout << "ready" << std::endl;
    std::thread([&node] { serve_commands(node); }).detach();
    auto result = node.run(std::nullopt, true);
    caf::anon_send_exit(responder, caf::exit_reason::user_shutdown);
    return result.exit_code;
  } catch (const std::exception& e) {
    std::cerr << "node-peer: " << e.what() << std::endl;
    return 1;
  }
}
