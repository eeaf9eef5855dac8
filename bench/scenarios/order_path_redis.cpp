// order-path-redis: the load of order-path (bots through the risk monitor, the endpoint's
// circuit breaker and the simulated exchange) on a node whose state store and event bus are on
// Redis -- state.backend and bus.backend "redis", as a production node runs -- beside the same
// loads on a node on memory, in the same run. The bench starts its own redis-server, without
// persistence: the figure is the path's, not the disk's.
//
// Every fill is booked in Redis before it is answered: the risk monitor answers a filled order
// only once the store has acknowledged a write of the book that holds the fill
// (actors/risk/order_execution.cpp execute -> book_fill -> persist -> write_book in
// risk_monitor.cpp, whose reply runs the waiting answers). Writes are coalesced: one write
// answers every fill booked before it was sent. No event is published per order on this path,
// so the Redis bus carries the bots' subscriptions only.
//
// Loads: 64 bots with one order in flight each (orders/s, p50/p99 from submit to result), and
// one bot alone (p50/p99). Beside them, one raw hiredis SET round trip to the same server, for
// the target "1 bot p50 at most memory's p50 plus two raw Redis round trips".

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include <hiredis/hiredis.h>

#include "harness.hpp"
#include "order_load.hpp"
#include "support/redis_server.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;

constexpr int many_bots = 64;
constexpr int orders_each_of_many = 1500; // as order-path
constexpr int orders_of_one = 5000;

void measure_node(samples& out, const std::string& name, const environment& settings) {
  auto board = make_order_board();
  auto node = start_order_node(settings, board);
  record_orders(out, name + "_64",
                run_order_load(*node, *board, "many", many_bots, orders_each_of_many));
  record_orders(out, name + "_1", run_order_load(*node, *board, "one", 1, orders_of_one));
}

// One SET of a book-sized value at a time on a blocking hiredis connection: median round trip.
double raw_round_trip_p50_us(unsigned short port) {
  timeval timeout{5, 0};
  auto* ctx = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (!ctx || ctx->err)
    throw std::runtime_error("raw hiredis round trip: cannot connect");
  const std::string value(256, 'x');
  std::vector<double> times;
  for (int i = 0; i < 3000; ++i) {
    auto started = clock::now();
    auto* reply = redisCommand(ctx, "SET bench:raw %b", value.data(), value.size());
    if (!reply)
      throw std::runtime_error("raw hiredis round trip: connection lost");
    freeReplyObject(reply);
    times.push_back(std::chrono::duration<double, std::micro>(clock::now() - started).count());
  }
  redisFree(ctx);
  return percentile(times, 50);
}

samples run_once(const run_context& context) {
  static testing::redis_server server{testing::redis_server::persistence::none};
  // Fresh keys and channels each repetition: no book, level or bot state from an earlier one.
  static int repetition = 0;
  auto prefix = "bench" + std::to_string(++repetition) + ":";
  samples out;
  measure_node(out, "memory", order_load_settings(context));
  measure_node(
      out, "redis",
      order_load_settings(context, {{"BROKEDANCER_STATE_BACKEND", "redis"},
                                    {"BROKEDANCER_BUS_BACKEND", "redis"},
                                    {"BROKEDANCER_REDIS_URL", server.url()},
                                    {"BROKEDANCER_STATE_KEY_PREFIX", prefix},
                                    {"BROKEDANCER_BUS_CHANNEL_PREFIX", prefix + "events:"}}));
  out["raw_redis_round_trip_p50_us"] = raw_round_trip_p50_us(server.port());
  return out;
}

const bool registered = register_scenario({
    "order-path-redis",
    "the order path with state store and bus on Redis, 64 bots and 1 bot, beside the same loads "
    "on memory",
    {
        {"redis_64_orders", "orders/s", "bot -> risk monitor -> breaker -> exchange, book in Redis",
         true, "memory_64_orders"},
        {"redis_64_p50_us", "us", "64 bots, median, submit to result", false, "memory_64_p50_us"},
        {"redis_64_p99_us", "us", "64 bots, 99th percentile", false, "memory_64_p99_us"},
        {"redis_1_p50_us", "us", "1 bot, median, submit to result", false, "memory_1_p50_us"},
        {"redis_1_p99_us", "us", "1 bot, 99th percentile", false, "memory_1_p99_us"},
        {"memory_64_orders", "orders/s", "the same 64 bots, state and bus on memory", true, ""},
        {"memory_64_p50_us", "us", "memory, 64 bots, median", false, ""},
        {"memory_64_p99_us", "us", "memory, 64 bots, 99th percentile", false, ""},
        {"memory_1_p50_us", "us", "memory, 1 bot, median", false, ""},
        {"memory_1_p99_us", "us", "memory, 1 bot, 99th percentile", false, ""},
        {"raw_redis_round_trip_p50_us", "us", "raw hiredis: one SET round trip, median", false, ""},
    },
    run_once,
});

} // namespace

} // namespace brokedancer::bench
