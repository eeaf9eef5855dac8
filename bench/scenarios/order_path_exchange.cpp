// order-path-exchange: what the production path of issue 16 costs, in one run.
//
//  - The order path with 64 bots (one order in flight each) on Redis -- state store and bus --
//    through the in-process simulated exchange with the order journal off, with it on, and
//    through `brokedancer exchange` over HTTP (journal on), beside the same load on memory.
//    The journal costs one append per order before it leaves, and its outcome rides on the
//    write of the book that the fill waits for anyway.
//  - Reconciliation: a node started with 1,000 journaled orders that have no outcome (500
//    filled at the exchange, 500 it never saw) against the same node started with an empty
//    journal: the time from start to ready (book read, journal reconciled), each.
//
// The bench starts its own redis-server (no persistence) and `brokedancer exchange` process.

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <caf/scoped_actor.hpp>
#include <httplib.h>

#include "actors/risk/journal_entries.hpp"
#include "harness.hpp"
#include "order_load.hpp"
#include "support/child_process.hpp"
#include "support/redis_server.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;

constexpr int many_bots = 64;
constexpr int orders_each = 800;
constexpr int unfinished_orders = 1000;

struct exchange_process {
  std::unique_ptr<testing::child_process> process;
  uint16_t port = 0;

  exchange_process() {
    process = std::make_unique<testing::child_process>(
        BROKEDANCER_CLI_PATH, std::vector<std::string>{"exchange", "--listen", "127.0.0.1:0"},
        std::map<std::string, std::string>{{"BROKEDANCER_LOG_LEVEL", "warn"}});
    auto line = process->read_line(std::chrono::seconds(10));
    if (!line || line->rfind(':') == std::string::npos)
      throw std::runtime_error("brokedancer exchange did not start");
    port = static_cast<uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port);
  }
};

environment redis_settings(const testing::redis_server& server, const std::string& prefix) {
  return {{"BROKEDANCER_STATE_BACKEND", "redis"},
          {"BROKEDANCER_BUS_BACKEND", "redis"},
          {"BROKEDANCER_REDIS_URL", server.url()},
          {"BROKEDANCER_STATE_KEY_PREFIX", prefix},
          {"BROKEDANCER_BUS_CHANNEL_PREFIX", prefix + "events:"}};
}

environment with(environment base, const environment& extra) {
  for (const auto& [k, v] : extra)
    base[k] = v;
  return base;
}

void measure(samples& out, const std::string& name, const environment& settings) {
  auto board = make_order_board();
  auto node = start_order_node(settings, board);
  record_orders(out, name, run_order_load(*node, *board, name, many_bots, orders_each));
}

// Seconds from the start of a runtime to its risk monitor being ready for orders.
double start_to_ready_ms(const environment& settings) {
  auto started = clock::now();
  auto node = start_order_node(settings, make_order_board());
  auto took = std::chrono::duration<double, std::milli>(clock::now() - started).count();
  return took;
}

// 1,000 orders journaled by a node that then "died": half of them reached the exchange.
void leave_unfinished_orders(const environment& settings, const exchange_process& exchange,
                             const std::string& node_name) {
  auto node = start_order_node(settings, make_order_board());
  httplib::Client client{"127.0.0.1", exchange.port};
  std::vector<std::string> entries;
  for (int i = 0; i < unfinished_orders; ++i) {
    order o;
    o.bot_id = "bench-bot";
    o.symbol = "BTC-USD";
    o.side = i % 2 == 0 ? order_side::buy : order_side::sell;
    o.quantity = 1;
    o.price = 100;
    o.client_order_id = node_name + "-unfinished-" + std::to_string(i);
    entries.push_back(order_entry(o, 0));
    if (i % 2 == 0) {
      nlohmann::json body{{"client_order_id", o.client_order_id},
                          {"account", node_name},
                          {"bot_id", o.bot_id},
                          {"symbol", o.symbol},
                          {"side", to_string(o.side)},
                          {"quantity", o.quantity},
                          {"price", o.price}};
      auto answer = client.Post("/orders", body.dump(), "application/json");
      if (!answer || answer->status != 200)
        throw std::runtime_error("the exchange did not take an order");
    }
  }
  caf::scoped_actor self{node->system()};
  bool written = false;
  self->request(node->state_store(), std::chrono::seconds(30), append_log_atom::value,
                "node:" + node_name + ":journal", entries)
      .receive([&](std::vector<std::string>&) { written = true; }, [](caf::error&) {});
  if (!written)
    throw std::runtime_error("the journal entries could not be written");
}

samples run_once(const run_context& context) {
  static testing::redis_server server{testing::redis_server::persistence::none};
  static exchange_process exchange;
  static int repetition = 0;
  auto prefix = "bench-x" + std::to_string(++repetition) + ":";
  auto http = environment{{"BROKEDANCER_RESILIENCE_ENDPOINTS_EXCHANGE_TYPE", "http"},
                          {"BROKEDANCER_RESILIENCE_ENDPOINTS_EXCHANGE_BASE_URL", exchange.url()},
                          {"BROKEDANCER_RESILIENCE_ENDPOINTS_EXCHANGE_CONCURRENCY", "16"}};
  samples out;
  measure(out, "memory", order_load_settings(context));
  auto redis = redis_settings(server, prefix);
  measure(out, "redis_no_journal",
          order_load_settings(context, with(redis, {{"BROKEDANCER_RISK_JOURNAL", "false"},
                                                    {"BROKEDANCER_RUNTIME_NODE_NAME", "nj"}})));
  measure(out, "redis_journal",
          order_load_settings(context, with(redis, {{"BROKEDANCER_RUNTIME_NODE_NAME", "j"}})));
  measure(out, "redis_http",
          order_load_settings(context,
                              with(with(redis, http), {{"BROKEDANCER_RUNTIME_NODE_NAME", "h"}})));
  // Reconciliation: the same node's start with nothing to reconcile, then with 1,000 orders.
  auto node_name = "r" + std::to_string(repetition);
  auto reconciling = order_load_settings(
      context, with(with(redis, http), {{"BROKEDANCER_RUNTIME_NODE_NAME", node_name}}));
  out["start_empty_journal_ms"] = start_to_ready_ms(reconciling);
  leave_unfinished_orders(reconciling, exchange, node_name);
  out["start_1000_unfinished_ms"] = start_to_ready_ms(reconciling);
  return out;
}

const bool registered = register_scenario({
    "order-path-exchange",
    "the production path: the order journal's cost on Redis, orders through brokedancer exchange "
    "over HTTP, and reconciling 1,000 unfinished orders at start",
    {
        {"redis_journal_orders", "orders/s", "64 bots, Redis, in-process exchange, journal on",
         true, "redis_no_journal_orders"},
        {"redis_journal_p50_us", "us", "journal on, median, submit to result", false,
         "redis_no_journal_p50_us"},
        {"redis_journal_p99_us", "us", "journal on, 99th percentile", false,
         "redis_no_journal_p99_us"},
        {"redis_no_journal_orders", "orders/s", "the same, journal off", true, ""},
        {"redis_no_journal_p50_us", "us", "journal off, median", false, ""},
        {"redis_no_journal_p99_us", "us", "journal off, 99th percentile", false, ""},
        {"redis_http_orders", "orders/s", "64 bots, Redis, brokedancer exchange over HTTP", true,
         "redis_journal_orders"},
        {"redis_http_p50_us", "us", "over HTTP, median", false, "redis_journal_p50_us"},
        {"redis_http_p99_us", "us", "over HTTP, 99th percentile", false, "redis_journal_p99_us"},
        {"memory_orders", "orders/s", "64 bots, memory, in-process exchange, journal on", true, ""},
        {"memory_p50_us", "us", "memory, median", false, ""},
        {"memory_p99_us", "us", "memory, 99th percentile", false, ""},
        {"start_1000_unfinished_ms", "ms",
         "start to ready with 1,000 unfinished orders in the journal (500 filled at the exchange)",
         false, "start_empty_journal_ms"},
        {"start_empty_journal_ms", "ms", "start to ready with an empty journal", false, ""},
    },
    run_once,
});

} // namespace

} // namespace brokedancer::bench
