// bus-redis: events through the Redis event bus, beside redis-benchmark PUBLISH from the same
// run, on a Redis of the benchmark's own (no persistence), with the bus's own envelope as the
// message so that Redis does the same work in both.
//   bus_publish_1       one publisher awaiting each confirmation: events/s and p50/p99.
//                       Baseline: redis-benchmark -c 1 -P 1 PUBLISH.
//   bus_publish_64      64 publishers, one publish in flight each: the bus pipelines them on
//                       its one connection. Baseline: redis-benchmark -c 1 -P 64 PUBLISH.
//   bus_batch_64        one publisher, publish_batch of 64 events, one batch in flight.
//                       Baseline: redis-benchmark -c 1 -P 64 PUBLISH.
//   bus_delivered_64    as bus_publish_64 on a topic a local subscriber holds: events/s until
//                       the subscriber has every one (the round trip through Redis and back).
// The publish figures use a topic nobody subscribes to, as redis-benchmark's channel is.

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actor_system.hpp"
#include "actors/bus/bus_envelope.hpp"
#include "actors/supervision/supervisor.hpp"
#include "harness.hpp"
#include "messages/event_bus.hpp"
#include "runtime/infrastructure.hpp"
#include "support/child_process.hpp"
#include "support/redis_server.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;

const std::string payload = R"({"bid":101.25,"ask":101.5})";
const std::string channel_prefix = "bench:";

struct publish_report {
  std::mutex mutex;
  std::condition_variable finished;
  int publishers_left = 0;
  int delivered = 0;
  int expected_deliveries = 0;
  std::vector<double> latencies_us;
  int errors = 0;
};

struct publisher_state {
  event_bus_actor bus;
  std::string topic;
  int events = 0;    // to publish in all
  int batch = 1;     // per request: 1 is publish, more is publish_batch
  int confirmed = 0; // events Redis confirmed
  std::vector<double> latencies;
  std::shared_ptr<publish_report> report;
};

using publisher_actor = caf::stateful_actor<publisher_state>;

void publish_next(publisher_actor* self);

void confirmed(publisher_actor* self, clock::time_point started, bool ok) {
  auto& st = self->state;
  st.latencies.push_back(std::chrono::duration<double, std::micro>(clock::now() - started).count());
  st.confirmed += st.batch;
  if (!ok) {
    std::lock_guard<std::mutex> guard{st.report->mutex};
    ++st.report->errors;
  }
  if (st.confirmed < st.events) {
    publish_next(self);
    return;
  }
  std::lock_guard<std::mutex> guard{st.report->mutex};
  auto& all = st.report->latencies_us;
  all.insert(all.end(), st.latencies.begin(), st.latencies.end());
  if (--st.report->publishers_left == 0)
    st.report->finished.notify_all();
  self->quit();
}

void publish_next(publisher_actor* self) {
  auto& st = self->state;
  auto started = clock::now();
  auto ok = [self, started](uint64_t) {
    confirmed(self, started, true);
  };
  auto failed = [self, started](caf::error&) {
    confirmed(self, started, false);
  };
  if (st.batch == 1) {
    self->request(st.bus, std::chrono::seconds(30), publish_atom::value, st.topic, payload,
                  correlation_id{})
        .then(ok, failed);
    return;
  }
  std::vector<event_draft> drafts(static_cast<size_t>(st.batch), {st.topic, payload, {}});
  self->request(st.bus, std::chrono::seconds(30), publish_batch_atom::value, std::move(drafts))
      .then(ok, failed);
}

caf::behavior publisher(publisher_actor* self, event_bus_actor bus, std::string topic, int events,
                        int batch, std::shared_ptr<publish_report> report) {
  auto& st = self->state;
  st.bus = std::move(bus);
  st.topic = std::move(topic);
  st.events = events;
  st.batch = batch;
  st.report = std::move(report);
  publish_next(self);
  return {[](int) {
  }};
}

caf::behavior delivery_counter(caf::event_based_actor*, std::shared_ptr<publish_report> report) {
  return {[report](const event&) {
    std::lock_guard<std::mutex> guard{report->mutex};
    if (++report->delivered == report->expected_deliveries)
      report->finished.notify_all();
  }};
}

struct throughput {
  double events_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
};

// `publishers` actors publish `events_each` events on `topic`, `batch` per request. With
// `subscriber_report`, also waits until the subscriber counting into it has them all.
throughput publish_load(caf::actor_system& sys, const event_bus_actor& bus,
                        const std::string& topic, int publishers, int events_each, int batch,
                        std::shared_ptr<publish_report> report) {
  report->publishers_left = publishers;
  auto started = clock::now();
  for (int i = 0; i < publishers; ++i)
    sys.spawn(publisher, bus, topic, events_each, batch, report);
  std::unique_lock<std::mutex> guard{report->mutex};
  report->finished.wait(guard, [&] {
    return report->publishers_left == 0 && report->delivered >= report->expected_deliveries;
  });
  auto seconds = std::chrono::duration<double>(clock::now() - started).count();
  if (report->errors > 0)
    throw std::runtime_error(std::to_string(report->errors) + " publishes failed");
  return {publishers * events_each / seconds, percentile(report->latencies_us, 50),
          percentile(report->latencies_us, 99)};
}

// redis-benchmark's PUBLISH figures: requests/s, and its p50/p99 in microseconds.
throughput redis_benchmark(unsigned short port, int pipeline, int requests,
                           const std::string& message) {
  testing::child_process tool{"/usr/bin/redis-benchmark",
                              {"-p", std::to_string(port), "-c", "1", "-P",
                               std::to_string(pipeline), "-n", std::to_string(requests), "--csv",
                               "PUBLISH", channel_prefix + "nobody", message},
                              {}};
  std::string last;
  while (auto line = tool.read_line(std::chrono::seconds(120)))
    last = *line;
  if (tool.wait(std::chrono::seconds(10)) != std::optional<int>{0} || last.empty())
    throw std::runtime_error("redis-benchmark failed");
  // "test","rps","avg","min","p50","p95","p99","max": the command (first field) holds commas
  // and quotes of its own, so the seven figures are taken from the end.
  std::vector<double> fields;
  auto end = last.size();
  for (int i = 0; i < 7; ++i) {
    auto comma = last.rfind(',', end - 1);
    auto field = last.substr(comma + 1, end - comma - 1);
    fields.insert(fields.begin(), std::stod(field.substr(1, field.size() - 2)));
    end = comma;
  }
  return {fields[0], fields[3] * 1000, fields[5] * 1000};
}

struct supervised_bus {
  supervision_tree tree;
  event_bus_actor bus;
  supervised_bus(caf::actor_system& sys, const std::string& url) {
    configure_logging({log_format::console, log_level::warn, ""});
    auto config =
        load_config(embedded_default_config(), {{"BROKEDANCER_BUS_BACKEND", "redis"},
                                                {"BROKEDANCER_REDIS_URL", url},
                                                {"BROKEDANCER_BUS_CHANNEL_PREFIX", channel_prefix},
                                                {"BROKEDANCER_BUS_MAX_BACKLOG", "1000000"},
                                                {"BROKEDANCER_LOG_LEVEL", "warn"}});
    tree = spawn_supervisor(sys, {}, {event_bus_child(config)});
    bus = caf::actor_cast<event_bus_actor>(tree.children.at("event_bus"));
    caf::scoped_actor self{sys};
    for (bool up = false; !up;) {
      self->request(bus, std::chrono::seconds(5), status_atom::value)
          .receive([&](bus_stats& st) { up = st.connected; }, [](caf::error&) {});
      if (!up)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~supervised_bus() {
    caf::anon_send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
  }
};

void record(samples& out, const std::string& name, const throughput& t) {
  out[name + "_events"] = t.events_per_s;
  out[name + "_p50_us"] = t.p50_us;
  out[name + "_p99_us"] = t.p99_us;
}

samples run_once(const run_context& context) {
  static testing::redis_server server{testing::redis_server::persistence::none};
  caf::actor_system_config cfg;
  configure(cfg, context);
  cfg.load<caf::io::middleman>(); // drives the bus's Redis connections
  caf::actor_system sys{cfg};
  samples out;
  {
    supervised_bus b{sys, server.url()};
    record(out, "bus_publish_1",
           publish_load(sys, b.bus, "nobody", 1, 5000, 1, std::make_shared<publish_report>()));
    record(out, "bus_publish_64",
           publish_load(sys, b.bus, "nobody", 64, 2000, 1, std::make_shared<publish_report>()));
    record(
        out, "bus_batch_64",
        publish_load(sys, b.bus, "nobody", 1, 64 * 2000, 64, std::make_shared<publish_report>()));
    auto report = std::make_shared<publish_report>();
    report->expected_deliveries = 64 * 1000;
    auto counter = sys.spawn(delivery_counter, report);
    caf::scoped_actor self{sys};
    self->request(b.bus, std::chrono::seconds(10), subscribe_atom::value, std::string{"market.BTC"},
                  counter)
        .receive([](uint64_t) {},
                 [](caf::error&) { throw std::runtime_error("cannot subscribe"); });
    record(out, "bus_delivered_64", publish_load(sys, b.bus, "market.BTC", 64, 1000, 1, report));
    caf::anon_send_exit(counter, caf::exit_reason::user_shutdown);
  }
  // The same message the bus sends: its envelope around the same payload.
  event sample;
  sample.topic = "nobody";
  sample.json = payload;
  sample.source_node = "bench";
  sample.sequence = 123456;
  sample.published_at_us = 1795000000000000;
  auto message = encode_envelope(sample);
  record(out, "redis_benchmark_P1", redis_benchmark(server.port(), 1, 5000, message));
  record(out, "redis_benchmark_P64", redis_benchmark(server.port(), 64, 64 * 2000, message));
  return out;
}

std::vector<figure> figures() {
  std::vector<figure> result;
  auto add = [&](const std::string& name, const std::string& what, const std::string& base) {
    result.push_back({name + "_events", "events/s", what, true, base + "_events"});
    result.push_back({name + "_p50_us", "us", what + ": median latency", false, base + "_p50_us"});
    result.push_back(
        {name + "_p99_us", "us", what + ": 99th percentile latency", false, base + "_p99_us"});
  };
  add("bus_publish_1", "1 publisher, each publish confirmed before the next", "redis_benchmark_P1");
  add("bus_publish_64", "64 publishers, one publish in flight each", "redis_benchmark_P64");
  add("bus_batch_64", "1 publisher, publish_batch of 64, one batch in flight",
      "redis_benchmark_P64");
  add("bus_delivered_64", "64 publishers to a local subscriber, until it has every event",
      "redis_benchmark_P64");
  for (const auto& [base, what] : std::map<std::string, std::string>{
           {"redis_benchmark_P1", "redis-benchmark -c 1 -P 1 PUBLISH"},
           {"redis_benchmark_P64", "redis-benchmark -c 1 -P 64 PUBLISH"}}) {
    result.push_back({base + "_events", "events/s", what, true, ""});
    result.push_back({base + "_p50_us", "us", what + ": median latency", false, ""});
    result.push_back({base + "_p99_us", "us", what + ": 99th percentile latency", false, ""});
  }
  return result;
}

const bool registered = register_scenario({
    "bus-redis",
    "Redis event bus: publish with 1 and 64 publishers, batches, delivery, beside "
    "redis-benchmark PUBLISH at the same pipelining",
    figures(),
    run_once,
});

} // namespace

} // namespace brokedancer::bench
