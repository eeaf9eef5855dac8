// bus-memory: events through the memory event bus, beside raw CAF from the same run.
//   bus_N_subs        N subscribers (1, 10, 1000) on one topic; a publisher on the main thread
//                     publishes a stream of events: events/s until every subscriber has all of
//                     them.  Baselines: raw_event_one_to_one for 1 subscriber (the same
//                     event -- topic, payload -- sent as an `event` from the main thread to
//                     one actor, without the bus), raw_one_to_one (ints) for 10.
//   bus_latency       publish one event, wait until the subscriber has it, repeat: p50/p99 of
//                     publish -> deliver, measured at the publisher. Baseline: the same round
//                     with an int sent straight to the subscriber.
//   bus_fan_out_1000  one event to 1,000 subscribers: time until all have it (median of 20).
//                     Baseline: raw_fan_out_1000, one message to each of 1,000 actors in a loop.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "actor_system.hpp"
#include "actors/bus/memory_bus.hpp"
#include "core/logging.hpp"
#include "harness.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;

// The event of the stream figures, and of the raw baseline that sends it without the bus.
constexpr const char* stream_topic = "market.BTC";
constexpr const char* stream_payload = R"({"bid":101.25,"ask":101.5})";
constexpr int stream_events = 400000;

struct stream_report {
  std::mutex mutex;
  std::condition_variable finished;
  int subscribers_left = 0;
};

// Counts events until it has seen `expected` of them.
caf::behavior stream_subscriber(caf::stateful_actor<int>* self, int expected,
                                std::shared_ptr<stream_report> report) {
  self->state = 0;
  return {[=](const event&) {
    if (++self->state == expected) {
      std::lock_guard<std::mutex> guard{report->mutex};
      if (--report->subscribers_left == 0)
        report->finished.notify_all();
    }
  }};
}

event_bus_actor fresh_bus(caf::actor_system& sys) {
  bus_options options;
  options.node_name = "bench";
  // Above the longest burst below: the publisher sends a whole stream at once.
  options.max_backlog = 1 << 20;
  return spawn_memory_bus(sys, make_bus_data(), options);
}

// Events per second from a publisher on the main thread to every one of `subscribers`.
double stream(caf::actor_system& sys, int subscribers, int events) {
  auto bus = fresh_bus(sys);
  auto report = std::make_shared<stream_report>();
  report->subscribers_left = subscribers;
  std::vector<caf::actor> subs;
  caf::scoped_actor self{sys};
  for (int i = 0; i < subscribers; ++i) {
    subs.push_back(sys.spawn(stream_subscriber, events, report));
    self->request(bus, std::chrono::seconds(10), subscribe_atom::value, std::string{stream_topic},
                  subs.back())
        .receive([](uint64_t) {}, [](caf::error&) {});
  }
  const std::string topic = stream_topic, payload = stream_payload;
  auto started = clock::now();
  for (int i = 0; i < events; ++i)
    caf::anon_send(bus, publish_atom::value, topic, payload, correlation_id{});
  std::unique_lock<std::mutex> guard{report->mutex};
  report->finished.wait(guard, [&] { return report->subscribers_left == 0; });
  auto seconds = std::chrono::duration<double>(clock::now() - started).count();
  for (auto& s : subs)
    caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(bus, caf::exit_reason::user_shutdown);
  return events / seconds;
}

caf::behavior counting_receiver(caf::event_based_actor*, std::shared_ptr<std::atomic<int>> left,
                                std::shared_ptr<std::promise<void>>* done) {
  return {[left, done](const event&) {
            if (--*left == 0)
              (*done)->set_value();
          },
          [left, done](int) {
            if (--*left == 0)
              (*done)->set_value();
          }};
}

// Times (µs) of `trials` rounds: one message sent by `send_one` until all `receivers` have it.
template <class Send>
std::vector<double> rounds_us(std::shared_ptr<std::atomic<int>> left,
                              std::shared_ptr<std::promise<void>>& done, int receivers, int trials,
                              Send send_one) {
  std::vector<double> times;
  for (int trial = 0; trial < trials; ++trial) {
    done = std::make_shared<std::promise<void>>();
    auto finished = done->get_future();
    *left = receivers;
    auto started = clock::now();
    send_one();
    finished.wait();
    times.push_back(std::chrono::duration<double, std::micro>(clock::now() - started).count());
  }
  return times;
}

// Messages per second from the main thread to one actor; `make(i)` makes the i-th.
template <class Make>
double raw_one_to_one(caf::actor_system& sys, int count, Make make) {
  auto left = std::make_shared<std::atomic<int>>(count);
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  auto receiver = sys.spawn(counting_receiver, left, &done);
  auto started = clock::now();
  for (int i = 0; i < count; ++i)
    caf::anon_send(receiver, make(i));
  finished.wait();
  auto seconds = std::chrono::duration<double>(clock::now() - started).count();
  caf::anon_send_exit(receiver, caf::exit_reason::user_shutdown);
  return count / seconds;
}

samples run_once(const run_context& context) {
  // The bus logs each subscriber that goes away; a thousand lines per run would be noise.
  configure_logging({log_format::console, log_level::warn, ""});
  caf::actor_system_config cfg;
  configure(cfg, context);
  caf::actor_system sys{cfg};
  samples out;

  out["bus_1_sub_events"] = stream(sys, 1, stream_events);
  out["bus_10_subs_events"] = stream(sys, 10, 100000);
  out["bus_1000_subs_events"] = stream(sys, 1000, 1000);

  // Raw CAF 1->1, the same way the publisher above sends: from the main thread. Once with ints,
  // the cheapest message there is; once with the event the bus delivers, its topic and payload
  // strings copied into each message as a publish copies them.
  out["raw_one_to_one"] = raw_one_to_one(sys, 1000000, [](int i) { return i; });
  const std::string topic = stream_topic, payload = stream_payload;
  out["raw_event_one_to_one"] = raw_one_to_one(sys, stream_events, [&](int i) {
    return event{topic, payload, correlation_id{}, 0, "bench", static_cast<uint64_t>(i)};
  });

  // Fan-out to 1,000: through the bus, and raw.
  constexpr int receivers = 1000;
  auto left = std::make_shared<std::atomic<int>>(0);
  auto done = std::make_shared<std::promise<void>>();
  std::vector<caf::actor> actors;
  for (int i = 0; i < receivers; ++i)
    actors.push_back(sys.spawn(counting_receiver, left, &done));
  auto bus = fresh_bus(sys);
  {
    caf::scoped_actor self{sys};
    for (const auto& a : actors)
      self->request(bus, std::chrono::seconds(10), subscribe_atom::value, std::string{"fan"}, a)
          .receive([](uint64_t) {}, [](caf::error&) {});
  }
  out["bus_fan_out_1000_us"] = summarize(rounds_us(left, done, receivers, 20, [&] {
                                 caf::anon_send(bus, publish_atom::value, std::string{"fan"},
                                                std::string{"1"}, correlation_id{});
                               })).median;
  out["raw_fan_out_1000_us"] = summarize(rounds_us(left, done, receivers, 20, [&] {
                                 for (const auto& a : actors)
                                   caf::anon_send(a, 1);
                               })).median;
  // Publish -> deliver, one event at a time, to the first of them alone.
  {
    caf::scoped_actor self{sys};
    self->request(bus, std::chrono::seconds(10), subscribe_atom::value, std::string{"one"},
                  actors.front())
        .receive([](uint64_t) {}, [](caf::error&) {});
  }
  auto bus_rounds = rounds_us(left, done, 1, 2000, [&] {
    caf::anon_send(bus, publish_atom::value, std::string{"one"}, std::string{"1"},
                   correlation_id{});
  });
  auto raw_rounds = rounds_us(left, done, 1, 2000, [&] { caf::anon_send(actors.front(), 1); });
  out["bus_latency_p50_us"] = percentile(bus_rounds, 50);
  out["bus_latency_p99_us"] = percentile(bus_rounds, 99);
  out["raw_latency_p50_us"] = percentile(raw_rounds, 50);
  out["raw_latency_p99_us"] = percentile(raw_rounds, 99);
  for (const auto& a : actors)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(bus, caf::exit_reason::user_shutdown);
  return out;
}

const bool registered = register_scenario({
    "bus-memory",
    "memory event bus: 1, 10 and 1,000 subscribers, and fan-out to 1,000, beside raw CAF",
    {
        {"bus_1_sub_events", "events/s", "1 publisher -> 1 subscriber", true,
         "raw_event_one_to_one"},
        {"bus_10_subs_events", "events/s", "1 publisher -> 10 subscribers", true, "raw_one_to_one"},
        {"bus_1000_subs_events", "events/s", "1 publisher -> 1,000 subscribers", true, ""},
        {"bus_fan_out_1000_us", "us", "one event until all 1,000 subscribers have it", false,
         "raw_fan_out_1000_us"},
        {"bus_latency_p50_us", "us", "publish -> deliver, one at a time, median", false,
         "raw_latency_p50_us"},
        {"bus_latency_p99_us", "us", "publish -> deliver, 99th percentile", false,
         "raw_latency_p99_us"},
        {"raw_one_to_one", "msg/s", "raw CAF: 1M ints, main thread -> one actor", true, ""},
        {"raw_event_one_to_one", "msg/s",
         "raw CAF: the stream's event (same topic and payload), main thread -> one actor", true,
         ""},
        {"raw_fan_out_1000_us", "us", "raw CAF: one message to each of 1,000 actors", false, ""},
        {"raw_latency_p50_us", "us", "raw CAF: an int to one actor, one at a time, median", false,
         ""},
        {"raw_latency_p99_us", "us", "raw CAF: the same, 99th percentile", false, ""},
    },
    run_once,
});

} // namespace

} // namespace brokedancer::bench
