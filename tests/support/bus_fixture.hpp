#pragma once

// What the event bus's tests share: the backends the contract suite runs against, subscriber
// actors that record what they receive, and a fixture with one supervised bus.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include <catch2/catch.hpp>

#include "messages/correlation.hpp"
#include "messages/event_bus.hpp"
#include "runtime/infrastructure.hpp"
#include "support/redis_server.hpp"
#include "support/requests.hpp"
#include "support/supervised_child.hpp"

namespace brokedancer::testing {

using namespace std::chrono_literals;

struct memory_bus_backend {
  static environment settings() {
    return {{"BROKEDANCER_BUS_BACKEND", "memory"}};
  }
};

// The suite's shared Redis, with channels of the test case's own: cases running in parallel
// never see each other's events.
struct redis_bus_backend {
  static environment settings() {
    return {{"BROKEDANCER_BUS_BACKEND", "redis"},
            {"BROKEDANCER_REDIS_URL", shared_redis_url()},
            {"BROKEDANCER_BUS_CHANNEL_PREFIX", "test:" + new_correlation_id() + ":"}};
  }
};

// What one subscriber actor has received, readable from the test thread.
struct inbox {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<event> events;

  void add(const event& ev) {
    std::lock_guard<std::mutex> guard{mutex};
    events.push_back(ev);
    changed.notify_all();
  }
  // Waits until at least `n` events have arrived; returns how many did.
  size_t await(size_t n, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> guard{mutex};
    changed.wait_for(guard, timeout, [&] { return events.size() >= n; });
    return events.size();
  }
  size_t size() {
    std::lock_guard<std::mutex> guard{mutex};
    return events.size();
  }
};

using throw_atom = caf::atom_constant<caf::atom("throw")>;

inline caf::behavior collector(caf::event_based_actor*, std::shared_ptr<inbox> box) {
  return {[box](const event& ev) {
    box->add(ev);
  }};
}

// Takes `delay` over every event, on a thread of its own so the scheduler is not stalled.
inline caf::behavior slow_collector(caf::event_based_actor*, std::shared_ptr<inbox> box,
                                    std::chrono::microseconds delay) {
  return {[box, delay](const event& ev) {
    std::this_thread::sleep_for(delay);
    box->add(ev);
  }};
}

inline caf::behavior thrower(caf::event_based_actor*) {
  return {[](const event&) {
    throw std::runtime_error("subscriber bug");
  }};
}

struct bus_fixture : supervised_child {
  event_bus_actor bus;

  explicit bus_fixture(environment settings)
    : supervised_child(with_node_name(std::move(settings)), event_bus_child),
      bus(caf::actor_cast<event_bus_actor>(handle)) {
    REQUIRE(await_connected());
  }

  // The Redis backend connects in the background and refuses everything until it has.
  bool await_connected(std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
      if (auto s = call<bus_stats>(status_atom::value); s && s->connected)
        return true;
      std::this_thread::sleep_for(10ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
  }

  static environment with_node_name(environment settings) {
    settings.emplace("BROKEDANCER_RUNTIME_NODE_NAME", "node-t");
    return settings;
  }

  template <class T, class... Ts>
  caf::expected<T> call(Ts&&... xs) {
    return brokedancer::testing::call<T>(*sys, bus, std::forward<Ts>(xs)...);
  }

  uint64_t subscribe(const std::string& pattern, const caf::actor& subscriber) {
    auto id = call<uint64_t>(subscribe_atom::value, pattern, subscriber);
    REQUIRE(id);
    return *id;
  }

  caf::expected<uint64_t> publish(const std::string& topic, const std::string& json,
                                  const std::string& correlation = "") {
    return call<uint64_t>(publish_atom::value, topic, json, correlation);
  }

  std::pair<caf::actor, std::shared_ptr<inbox>> make_collector() {
    auto box = std::make_shared<inbox>();
    return {sys->spawn(collector, box), box};
  }

  bus_stats stats() {
    auto s = call<bus_stats>(status_atom::value);
    REQUIRE(s);
    return *s;
  }
};

} // namespace brokedancer::testing
