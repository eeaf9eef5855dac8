// caf-baseline: what raw CAF does on this machine, the yardstick for the bus and the store.
//   one_to_one    -- messages/s from one sender thread to one actor, beside the same number of
//                    items through a mutex-and-condition-variable queue between two threads;
//   fan_out_10k   -- time until 10,000 actors have each received one message sent in a loop,
//                    beside the same delivery through a CAF local group.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/group.hpp>
#include <caf/send.hpp>

#include "actor_system.hpp"
#include "harness.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;

constexpr int one_to_one_messages = 1'000'000;
constexpr int fan_out_actors = 10'000;

double seconds_since(clock::time_point start) {
  return std::chrono::duration<double>(clock::now() - start).count();
}

double caf_one_to_one(caf::actor_system& sys) {
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  auto counter = sys.spawn([done](caf::event_based_actor*) -> caf::behavior {
    auto seen = std::make_shared<int>(0);
    return {[done, seen](int) {
      if (++*seen == one_to_one_messages)
        done->set_value();
    }};
  });
  auto start = clock::now();
  for (int i = 0; i < one_to_one_messages; ++i)
    caf::anon_send(counter, i);
  finished.wait();
  auto elapsed = seconds_since(start);
  caf::anon_send_exit(counter, caf::exit_reason::user_shutdown);
  return one_to_one_messages / elapsed;
}

// The simplest hand-off a C++ programmer would write: a deque under a mutex, a condition
// variable, and a consumer that takes everything queued at once.
double thread_queue_one_to_one() {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<int> queue;
  auto start = clock::now();
  std::thread consumer{[&] {
    int seen = 0;
    std::deque<int> batch;
    while (seen < one_to_one_messages) {
      {
        std::unique_lock<std::mutex> guard{mutex};
        ready.wait(guard, [&] { return !queue.empty(); });
        batch.swap(queue);
      }
      seen += static_cast<int>(batch.size());
      batch.clear();
    }
  }};
  for (int i = 0; i < one_to_one_messages; ++i) {
    {
      std::lock_guard<std::mutex> guard{mutex};
      queue.push_back(i);
    }
    ready.notify_one();
  }
  consumer.join();
  return one_to_one_messages / seconds_since(start);
}

caf::behavior fan_out_receiver(caf::event_based_actor*, std::shared_ptr<std::atomic<int>> remaining,
                               std::shared_ptr<std::promise<void>> done) {
  return {[remaining, done](int) {
    if (--*remaining == 0)
      done->set_value();
  }};
}

double caf_fan_out(caf::actor_system& sys, bool through_group) {
  auto remaining = std::make_shared<std::atomic<int>>(fan_out_actors);
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  auto group = sys.groups().get_local("bench.fan_out");
  std::vector<caf::actor> receivers;
  receivers.reserve(fan_out_actors);
  for (int i = 0; i < fan_out_actors; ++i) {
    if (through_group)
      receivers.push_back(sys.spawn_in_groups({group}, fan_out_receiver, remaining, done));
    else
      receivers.push_back(sys.spawn(fan_out_receiver, remaining, done));
  }
  auto start = clock::now();
  if (through_group) {
    caf::anon_send(group, 1);
  } else {
    for (const auto& receiver : receivers)
      caf::anon_send(receiver, 1);
  }
  finished.wait();
  auto elapsed_ms = seconds_since(start) * 1000;
  // A group member is kept alive by its group: stop every receiver explicitly.
  for (const auto& receiver : receivers)
    caf::anon_send_exit(receiver, caf::exit_reason::user_shutdown);
  return elapsed_ms;
}

samples run_once(const run_context& context) {
  caf::actor_system_config cfg;
  configure(cfg, context);
  caf::actor_system sys{cfg};
  samples result;
  result["caf_one_to_one"] = caf_one_to_one(sys);
  result["thread_queue_one_to_one"] = thread_queue_one_to_one();
  result["caf_fan_out_10k_loop"] = caf_fan_out(sys, false);
  result["caf_fan_out_10k_group"] = caf_fan_out(sys, true);
  return result;
}

const bool registered = register_scenario({
    "caf-baseline",
    "raw CAF: 1->1 message throughput and 10,000-actor fan-out",
    {
        {"caf_one_to_one", "msg/s", "1M ints from the main thread to one actor", true,
         "thread_queue_one_to_one"},
        {"thread_queue_one_to_one", "msg/s", "1M ints through a mutex+condvar deque, 2 threads",
         true, ""},
        {"caf_fan_out_10k_loop", "ms", "one message to each of 10,000 actors, sent in a loop",
         false, "caf_fan_out_10k_group"},
        {"caf_fan_out_10k_group", "ms", "one message to 10,000 actors through a CAF local group",
         false, ""},
    },
    run_once,
});

} // namespace

} // namespace brokedancer::bench
