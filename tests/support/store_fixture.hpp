#pragma once

// The state store's contract suites (keys, leases and logs) run against every backend: these
// are the backends, and the fixture that starts a store as the runtime does.

#include <chrono>
#include <random>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "messages/state_store.hpp"
#include "runtime/infrastructure.hpp"
#include "support/redis_server.hpp"
#include "support/requests.hpp"
#include "support/supervised_child.hpp"

namespace brokedancer::testing {

struct memory_backend {
  static environment settings() {
    return {{"BROKEDANCER_STATE_BACKEND", "memory"}};
  }
};

struct redis_backend {
  static environment settings() {
    // A prefix of its own, so that test cases running in parallel on one Redis never meet.
    std::random_device random;
    return {{"BROKEDANCER_STATE_BACKEND", "redis"},
            {"BROKEDANCER_REDIS_URL", shared_redis_url()},
            {"BROKEDANCER_STATE_KEY_PREFIX", "test:" + std::to_string(random()) + ":"}};
  }
};

struct store_fixture : supervised_child {
  state_store_actor store;

  explicit store_fixture(environment settings)
    : supervised_child(std::move(settings), state_store_child),
      store(caf::actor_cast<state_store_actor>(handle)) {
    await_available();
  }

  // The Redis backend connects in the background; wait until it says it is serving.
  void await_available(std::chrono::seconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto s = call<store_status>(status_atom::value);
      if (s && s->available)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("the store did not become available");
  }

  template <class T, class... Ts>
  caf::expected<T> call(Ts&&... xs) {
    return testing::call<T>(*sys, store, std::forward<Ts>(xs)...);
  }

  template <class... Ts>
  caf::error ack(Ts&&... xs) {
    return testing::ack(*sys, store, std::forward<Ts>(xs)...);
  }

  maybe_value get(const std::string& key) {
    auto v = call<maybe_value>(get_atom::value, key);
    REQUIRE(v);
    return *v;
  }
};

} // namespace brokedancer::testing
