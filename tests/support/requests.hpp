#pragma once

// Synchronous calls into actors from a test thread, and the bits every contract suite needs.

#include <chrono>
#include <thread>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "runtime/config.hpp"

namespace brokedancer::testing {

// The reply of type T to a request, or its error.
template <class T, class Handle, class... Ts>
caf::expected<T> call(caf::actor_system& sys, const Handle& dest, Ts&&... xs) {
  caf::scoped_actor self{sys};
  caf::expected<T> result{caf::error{}};
  self->request(dest, std::chrono::seconds(10), std::forward<Ts>(xs)...)
      .receive([&](T& value) { result = std::move(value); },
               [&](caf::error& err) { result = std::move(err); });
  return result;
}

// For requests whose reply only acknowledges: the error, empty on success.
template <class Handle, class... Ts>
caf::error ack(caf::actor_system& sys, const Handle& dest, Ts&&... xs) {
  caf::scoped_actor self{sys};
  caf::error result;
  self->request(dest, std::chrono::seconds(10), std::forward<Ts>(xs)...)
      .receive([] {}, [&](caf::error& err) { result = std::move(err); });
  return result;
}

// Polls `done` every 5 ms until it holds (true) or `timeout` passes (false): the sanitizers and a
// parallel run make every wait longer than it would be alone.
template <class Predicate>
bool eventually(Predicate done, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// The settings of a contract suite's `Backend` (a type with static settings()), plus `extra`.
template <class Backend>
environment with(environment extra = {}) {
  auto settings = Backend::settings();
  for (auto& [key, value] : extra)
    settings[key] = value;
  return settings;
}

} // namespace brokedancer::testing
