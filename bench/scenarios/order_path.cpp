// order-path: orders from bots through the risk monitor, the endpoint's circuit breaker and the
// simulated exchange (no latency, no errors, no market: every order fills at its own price),
// beside direct requests with the same order to a simulated exchange actor in the same run.
// 64 bots (written against the public bot API) each keep one order in flight: orders/s and
// p50/p99 from submit to result. The load itself is bench/order_load.hpp's.

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/market/simulated_exchange.hpp"
#include "call_load.hpp"
#include "harness.hpp"
#include "order_load.hpp"

namespace brokedancer::bench {

namespace {

constexpr int bots = 64;
constexpr int orders_each = 1500;

samples run_once(const run_context& context) {
  auto board = make_order_board();
  auto node = start_order_node(order_load_settings(context), board);
  samples out;
  record_orders(out, "bots_64", run_order_load(*node, *board, "load", bots, orders_each));
  // The baseline: the same order straight to an exchange actor, from 64 plain actors.
  auto exchange = spawn_simulated_exchange(node->system(), {});
  endpoint_request request{"submit_order",
                           R"({"bot_id":"direct","symbol":"BENCH","side":"buy","quantity":1,)"
                           R"("price":100,"client_order_id":"direct"})",
                           "direct", 0, ""};
  auto direct =
      load_calls(node->system(), caf::actor_cast<caf::actor>(exchange), bots, orders_each, request);
  out["direct_64_orders"] = direct.calls_per_s;
  out["direct_64_p50_us"] = direct.p50_us;
  out["direct_64_p99_us"] = direct.p99_us;
  caf::anon_send_exit(exchange, caf::exit_reason::user_shutdown);
  return out;
}

const bool registered = register_scenario({
    "order-path",
    "orders from 64 bots through risk monitor, breaker and simulated exchange, beside direct "
    "requests to an exchange actor",
    {
        {"bots_64_orders", "orders/s", "bot -> risk monitor -> breaker -> exchange, 64 bots", true,
         "direct_64_orders"},
        {"bots_64_p50_us", "us", "median, submit to result", false, "direct_64_p50_us"},
        {"bots_64_p99_us", "us", "99th percentile", false, "direct_64_p99_us"},
        {"direct_64_orders", "orders/s", "the same order straight to an exchange actor", true, ""},
        {"direct_64_p50_us", "us", "median", false, ""},
        {"direct_64_p99_us", "us", "99th percentile", false, ""},
    },
    run_once,
});

} // namespace

} // namespace brokedancer::bench
