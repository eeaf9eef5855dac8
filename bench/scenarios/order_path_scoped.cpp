// order-path-scoped: what scoped halts cost the order path. The order-path load (64 bots, one
// order in flight each, through risk monitor, breaker and simulated exchange) on two nodes in
// one run: one without scopes (the same-run baseline), one with 100 scopes in force -- 25 each
// of bots, strategies, symbols and endpoints, none covering the load, so that every order is
// looked up against all four kinds and still fills.

#include <chrono>
#include <stdexcept>
#include <string>

#include <caf/scoped_actor.hpp>

#include "harness.hpp"
#include "order_load.hpp"

namespace brokedancer::bench {

namespace {

constexpr int bots = 64;
constexpr int orders_each = 1500;
constexpr int scopes_in_force = 100;

void raise_scopes(runtime& node) {
  caf::scoped_actor self{node.system()};
  const scope_kind kinds[] = {scope_kind::bot, scope_kind::strategy, scope_kind::symbol,
                              scope_kind::endpoint};
  for (int i = 0; i < scopes_in_force; ++i) {
    auto kind = kinds[i % 4];
    auto level = i % 2 == 0 ? emergency_level::halt : emergency_level::reduce_only;
    self->request(node.scopes(), std::chrono::seconds(10), raise_scope_atom::value, kind,
                  "elsewhere-" + std::to_string(i), level, std::string{"benchmark"},
                  change_source::operator_request)
        .receive([](scope_reply&) {},
                 [](caf::error&) { throw std::runtime_error("cannot raise a scope"); });
  }
  bool seen = false;
  self->request(node.scopes(), std::chrono::seconds(10), status_atom::value)
      .receive([&](scope_status& s) { seen = s.in_force.size() == scopes_in_force; },
               [](caf::error&) {});
  if (!seen)
    throw std::runtime_error("the scopes are not in force");
}

samples run_once(const run_context& context) {
  auto board = make_order_board();
  samples out;
  {
    auto node = start_order_node(order_load_settings(context), board);
    record_orders(out, "no_scopes", run_order_load(*node, *board, "plain", bots, orders_each));
  }
  {
    auto node = start_order_node(order_load_settings(context), board);
    raise_scopes(*node);
    record_orders(out, "scopes_100", run_order_load(*node, *board, "scoped", bots, orders_each));
  }
  return out;
}

const bool registered = register_scenario({
    "order-path-scoped",
    "the order-path load with 100 scoped halts in force (none covering it), beside a node "
    "without scopes in the same run",
    {
        {"scopes_100_orders", "orders/s", "100 scopes in force, 64 bots", true, "no_scopes_orders"},
        {"scopes_100_p50_us", "us", "median, submit to result", false, "no_scopes_p50_us"},
        {"scopes_100_p99_us", "us", "99th percentile", false, "no_scopes_p99_us"},
        {"no_scopes_orders", "orders/s", "no scopes, 64 bots", true, ""},
        {"no_scopes_p50_us", "us", "median", false, ""},
        {"no_scopes_p99_us", "us", "99th percentile", false, ""},
    },
    run_once,
});

} // namespace

} // namespace brokedancer::bench
