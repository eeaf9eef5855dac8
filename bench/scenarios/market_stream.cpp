// stream-redis: the market-data stream on Redis Streams (its own redis-server, no persistence),
// through the supervisor's stable handle as the market and the bots reach it.
//
//   ingest:  one publisher, batches of 64 ticks, one batch in flight -- 64 XADDs a round trip;
//            baseline: raw hiredis on one connection, the same XADD (same fields) pipelined 64
//            deep.
//   latency: one actor publishes a tick and waits until its live subscription hands it the tick,
//            then publishes the next; baseline: raw hiredis, one connection blocked in
//            XREAD BLOCK on the stream while another XADDs -- from before the XADD to the
//            XREAD's answer.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <hiredis/hiredis.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actor_system.hpp"
#include "actors/stream/stream_codec.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/unix_time.hpp"
#include "harness.hpp"
#include "messages/market.hpp"
#include "messages/market_stream.hpp"
#include "raw_redis.hpp"
#include "runtime/infrastructure.hpp"
#include "support/redis_server.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;

constexpr int batch_size = 64;

market_tick sample_tick(int i) {
  return {i % 2 == 0 ? "BTC-USD" : "ETH-USD", 100.0 + i % 100 * 0.01, 99.99, 100.01, 0, now_us()};
}

std::vector<market_tick> sample_batch() {
  std::vector<market_tick> batch;
  for (int i = 0; i < batch_size; ++i)
    batch.push_back(sample_tick(i));
  return batch;
}

struct done_signal {
  std::mutex mutex;
  std::condition_variable finished;
  bool done = false;
  int errors = 0;
  std::vector<double> latencies_us;
};

// ---- ingest

struct publisher_state {
  market_stream_actor stream;
  std::string name;
  std::vector<market_tick> batch;
  int batches_left = 0;
  std::shared_ptr<done_signal> report;
};

void publish_next(caf::stateful_actor<publisher_state>* self) {
  auto& st = self->state;
  if (st.batches_left-- == 0) {
    std::lock_guard<std::mutex> guard{st.report->mutex};
    st.report->done = true;
    st.report->finished.notify_all();
    self->quit();
    return;
  }
  auto started = clock::now();
  self->request(st.stream, std::chrono::seconds(30), stream_publish_atom::value, st.name, st.batch)
      .then(
          [self, started](const std::vector<std::string>&) {
            self->state.report->latencies_us.push_back(
                std::chrono::duration<double, std::micro>(clock::now() - started).count());
            publish_next(self);
          },
          [self](caf::error&) {
            ++self->state.report->errors;
            publish_next(self);
          });
}

caf::behavior publisher(caf::stateful_actor<publisher_state>* self, market_stream_actor stream,
                        std::string name, int batches, std::shared_ptr<done_signal> report) {
  auto& st = self->state;
  st.stream = std::move(stream);
  st.name = std::move(name);
  st.batch = sample_batch();
  st.batches_left = batches;
  st.report = std::move(report);
  publish_next(self);
  return {[](int) {
  }};
}

// ---- latency: publish one, wait for it to come back live, publish the next

struct echo_state {
  market_stream_actor stream;
  std::string name;
  int left = 0;
  clock::time_point sent;
  std::shared_ptr<done_signal> report;
};

void send_one(caf::stateful_actor<echo_state>* self) {
  auto& st = self->state;
  st.sent = clock::now();
  self->request(st.stream, std::chrono::seconds(30), stream_publish_atom::value, st.name,
                sample_tick(st.left))
      .then([](const std::string&) {}, [self](caf::error&) { ++self->state.report->errors; });
}

caf::behavior echo(caf::stateful_actor<echo_state>* self, market_stream_actor stream,
                   std::string name, int count, std::shared_ptr<done_signal> report) {
  auto& st = self->state;
  st.stream = std::move(stream);
  st.name = std::move(name);
  st.left = count;
  st.report = std::move(report);
  return {
      [self](start_atom) { send_one(self); },
      [self](stream_ticks_atom, const std::string&, const std::vector<stream_entry>&) {
        auto& s = self->state;
        s.report->latencies_us.push_back(
            std::chrono::duration<double, std::micro>(clock::now() - s.sent).count());
        if (--s.left > 0) {
          send_one(self);
          return;
        }
        std::lock_guard<std::mutex> guard{s.report->mutex};
        s.report->done = true;
        s.report->finished.notify_all();
      },
  };
}

void wait_for(done_signal& report) {
  std::unique_lock<std::mutex> guard{report.mutex};
  report.finished.wait(guard, [&] { return report.done; });
  if (report.errors > 0)
    throw std::runtime_error(std::to_string(report.errors) + " stream requests failed");
}

struct supervised_stream {
  supervision_tree tree;
  market_stream_actor stream;
  supervised_stream(caf::actor_system& sys, const runtime_config& config) {
    tree = spawn_supervisor(sys, {}, {market_stream_child(config)});
    stream = caf::actor_cast<market_stream_actor>(tree.children.at("market_stream"));
    caf::scoped_actor self{sys};
    for (bool up = false; !up;) {
      self->request(stream, std::chrono::seconds(5), status_atom::value)
          .receive([&](stream_status& s) { up = s.available; }, [](caf::error&) {});
      if (!up)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~supervised_stream() {
    caf::anon_send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
  }
};

int next_run() {
  static int run = 0;
  return ++run;
}

// The raw baseline's XADD, field for field the stream's own.
std::vector<std::string> raw_xadd(const std::string& key, int i) {
  return stream_codec::xadd(key, sample_tick(i), stream_settings{});
}

void append_argv(redisContext* c, const std::vector<std::string>& command) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& part : command) {
    argv.push_back(part.data());
    lengths.push_back(part.size());
  }
  redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data());
}

// Raw: XADD on one connection while another waits in XREAD BLOCK for it.
std::vector<double> raw_roundtrips(unsigned short port, const std::string& key, int count) {
  timeval timeout{5, 0};
  auto* writer = redisConnectWithTimeout("127.0.0.1", port, timeout);
  auto* reader = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (!writer || writer->err || !reader || reader->err)
    throw std::runtime_error("raw hiredis baseline: cannot connect");
  std::vector<double> latencies;
  std::string last = "$";
  for (int i = 0; i < count; ++i) {
    redisAppendCommand(reader, "XREAD BLOCK 5000 STREAMS %s %s", key.c_str(), last.c_str());
    int done = 0;
    while (!done)
      if (redisBufferWrite(reader, &done) != REDIS_OK)
        throw std::runtime_error("raw hiredis baseline: write failed");
    // Give the server a moment to block the reader before the XADD (as a live reader is).
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    auto started = clock::now();
    append_argv(writer, raw_xadd(key, i));
    void* reply = nullptr;
    if (redisGetReply(writer, &reply) != REDIS_OK || !reply)
      throw std::runtime_error("raw hiredis baseline: XADD failed");
    auto* added = static_cast<redisReply*>(reply);
    last = std::string{added->str, added->len};
    freeReplyObject(added);
    if (redisGetReply(reader, &reply) != REDIS_OK || !reply)
      throw std::runtime_error("raw hiredis baseline: XREAD failed");
    latencies.push_back(std::chrono::duration<double, std::micro>(clock::now() - started).count());
    freeReplyObject(reply);
  }
  redisFree(writer);
  redisFree(reader);
  return latencies;
}

samples run_redis(const run_context& context) {
  static testing::redis_server server{testing::redis_server::persistence::none};
  caf::actor_system_config cfg;
  configure(cfg, context);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  samples out;
  auto run = std::to_string(next_run());
  configure_logging({log_format::console, log_level::warn, ""});
  auto config = load_config(embedded_default_config(), {{"BROKEDANCER_STREAMS_BACKEND", "redis"},
                                                        {"BROKEDANCER_REDIS_URL", server.url()},
                                                        {"BROKEDANCER_STATE_KEY_PREFIX", "bench:"},
                                                        {"BROKEDANCER_LOG_LEVEL", "warn"}});
  constexpr int batches = 1500;
  constexpr int echoes = 2000;
  {
    supervised_stream s{sys, config};
    auto ingest = std::make_shared<done_signal>();
    auto started = clock::now();
    sys.spawn(publisher, s.stream, "ingest:" + run, batches, ingest);
    wait_for(*ingest);
    auto seconds = std::chrono::duration<double>(clock::now() - started).count();
    out["stream_ingest_ticks"] = batches * batch_size / seconds;
    out["stream_batch_p50_us"] = percentile(ingest->latencies_us, 50);

    auto latency = std::make_shared<done_signal>();
    auto name = "echo:" + run;
    auto actor = sys.spawn(echo, s.stream, name, echoes, latency);
    caf::scoped_actor self{sys};
    bool subscribed = false;
    self->request(s.stream, std::chrono::seconds(5), stream_sub_atom::value, name,
                  caf::actor_cast<caf::actor>(actor))
        .receive([&](bool) { subscribed = true; }, [](caf::error&) {});
    if (!subscribed)
      throw std::runtime_error("the echo could not subscribe");
    // The loop's next blocking read takes the new stream (at most its block time).
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    self->send(actor, start_atom::value);
    wait_for(*latency);
    out["stream_publish_to_consume_p50_us"] = percentile(latency->latencies_us, 50);
    out["stream_publish_to_consume_p99_us"] = percentile(latency->latencies_us, 99);
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  }
  auto key = "raw:" + run + ":stream";
  auto raw = raw_pipeline(
      server.port(), batch_size, batches * batch_size,
      [&](redisContext* c, int n, int) { append_argv(c, raw_xadd(key, n)); },
      [](const redisReply& r) { return r.type == REDIS_REPLY_STRING; });
  out["raw_xadd_depth_64_ticks"] = raw.ops_per_s;
  out["raw_xadd_depth_64_p50_us"] = raw.p50_us;
  auto roundtrips = raw_roundtrips(server.port(), "raw:" + run + ":echo", echoes);
  out["raw_xadd_xread_p50_us"] = percentile(roundtrips, 50);
  out["raw_xadd_xread_p99_us"] = percentile(roundtrips, 99);
  return out;
}

const bool redis_registered = register_scenario({
    "stream-redis",
    "market-data stream on Redis: ingest in batches of 64 beside raw pipelined XADD 64 deep; "
    "publish-to-live-consumer latency beside raw XADD -> XREAD BLOCK",
    {
        {"stream_ingest_ticks", "ticks/s", "ticks appended, batches of 64, one in flight", true,
         "raw_xadd_depth_64_ticks"},
        {"stream_batch_p50_us", "us", "median time to append a batch of 64", false,
         "raw_xadd_depth_64_p50_us"},
        {"stream_publish_to_consume_p50_us", "us",
         "median time from publishing a tick to a live subscriber handling it", false,
         "raw_xadd_xread_p50_us"},
        {"stream_publish_to_consume_p99_us", "us", "99th percentile of the same", false,
         "raw_xadd_xread_p99_us"},
        {"raw_xadd_depth_64_ticks", "ticks/s", "raw XADD pipelined 64 deep", true, ""},
        {"raw_xadd_depth_64_p50_us", "us", "raw: median round trip of 64 XADDs", false, ""},
        {"raw_xadd_xread_p50_us", "us", "raw: median XADD to XREAD BLOCK answer", false, ""},
        {"raw_xadd_xread_p99_us", "us", "raw: 99th percentile of the same", false, ""},
    },
    run_redis,
});

} // namespace

} // namespace brokedancer::bench
