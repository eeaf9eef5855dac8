// tick-to-order: 100 bots (public bot API), each trading a symbol of its own, and market ticks
// published on the bus at 1,000 a second, round robin over the symbols (10 a second each); a
// bot sends an order on every tick of its symbol. Measured: from a tick's publication to its
// order reaching the exchange, p50/p99 over the ticks after a warm-up. The publisher records
// each tick's time by the tick's sequence number (carried in the quote); the endpoint records
// each order's arrival, then hands it to a real simulated exchange (no latency, no market:
// fills at the order's price). State store and bus on memory, the defaults. The risk monitor
// reads every tick too (market.*, for its marks), as in a node.
//
// The node is the runtime's infrastructure, from the runtime's own child specs (state store,
// bus, emergency controller, risk monitor, bot supervisor), with one stand-in: the breaker
// registry offers a real circuit breaker in front of the timing endpoint. (The runtime's
// registry starts its simulated exchange itself, where nothing could time an arrival.)
//
// Hops of the path, each a message into an actor's mailbox (a stable handle hands a message to
// its child's mailbox on the sender's thread: it is no hop of its own):
//   1 publisher -> the bus                       4 the risk monitor -> the breaker
//   2 the bus -> the bot host                    5 the breaker -> the endpoint
//   3 the bot host -> the risk monitor
// Baseline in the same run: a raw CAF chain of 5 actors, the same ticks (topic, quote, sequence)
// sent into the first at the same rate, each actor forwarding them as it got them and the last
// recording the arrival.

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actor_system.hpp"
#include "actors/market/simulated_exchange.hpp"
#include "actors/resilience/circuit_breaker.hpp"
#include "core/unix_time.hpp"
#include "harness.hpp"
#include "messages/market.hpp"
#include "order_load.hpp"
#include "runtime/infrastructure.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;

constexpr int bots = 100;
constexpr auto tick_interval = std::chrono::microseconds(1000); // 1,000 ticks a second
constexpr uint64_t ticks = 3000;
// Left out of the figures: the first half second, while caches and the scheduler warm up.
constexpr uint64_t warm_up_ticks = 500;
constexpr int chain_hops = 5;

// What the publisher, the bots and the endpoint record. The publication times are the
// publisher's alone until it has published the last tick.
struct tick_log {
  std::vector<clock::time_point> published = std::vector<clock::time_point>(ticks + 1);
  // When each tick reached its bot's strategy: splits the path at the bot.
  std::vector<clock::time_point> reached_bot = std::vector<clock::time_point>(ticks + 1);
  std::mutex mutex;
  std::condition_variable changed;
  std::unordered_map<std::string, uint64_t> tick_of_order; // client order id -> tick
  std::vector<std::pair<std::string, clock::time_point>> orders_arrived;
  std::vector<std::pair<uint64_t, clock::time_point>> ticks_arrived; // the raw chain's
  // Orders answered, or held back by the bot host; and those of them not filled.
  uint64_t answered = 0;
  uint64_t failures = 0;
};

std::string symbol_of(uint64_t bot) {
  return "T" + std::to_string(bot);
}

// The tick of sequence `n`, a quote of its symbol as the simulated market encodes it.
std::pair<std::string, std::string> tick(uint64_t n) {
  quote q;
  q.symbol = symbol_of(n % bots);
  q.bid = 99.95;
  q.ask = 100.05;
  q.last = 100;
  q.sequence = n;
  q.at_us = now_us();
  return {"market." + q.symbol, encode_quote(q)};
}

// Sends an order on every tick of its symbol, buying at the ask and selling at the bid in turn.
class tick_trader final : public strategy {
public:
  tick_trader(std::shared_ptr<tick_log> log, std::string symbol)
    : log_(std::move(log)), symbol_(std::move(symbol)) {}

  void on_start(bot_context& ctx, const nlohmann::json&) override {
    ctx.subscribe("market." + symbol_);
  }

  void on_event(bot_context& ctx, const event& ev) override {
    auto reached = clock::now();
    quote q;
    std::string why;
    if (!decode_quote(ev.json, q, why) || q.sequence > ticks)
      return;
    buy_ = !buy_;
    auto id =
        ctx.submit(q.symbol, buy_ ? order_side::buy : order_side::sell, 1, buy_ ? q.ask : q.bid);
    std::lock_guard<std::mutex> guard{log_->mutex};
    log_->reached_bot[q.sequence] = reached;
    if (id.empty())
      answer(false);
    else
      log_->tick_of_order.emplace(std::move(id), q.sequence);
  }

  void on_order_result(bot_context&, const order&, const order_result& result) override {
    std::lock_guard<std::mutex> guard{log_->mutex};
    answer(result.outcome == order_outcome::filled);
  }

private:
  void answer(bool filled) {
    if (!filled)
      ++log_->failures;
    ++log_->answered;
    log_->changed.notify_all();
  }

  std::shared_ptr<tick_log> log_;
  std::string symbol_;
  bool buy_ = false;
};

// The exchange as the breaker sees it: records the arrival, then lets the exchange answer.
endpoint_actor::behavior_type timed_endpoint(endpoint_actor::pointer self, endpoint_actor exchange,
                                             std::shared_ptr<tick_log> log) {
  return {[self, exchange, log](call_atom, endpoint_request& request) {
    auto arrived = clock::now();
    {
      std::lock_guard<std::mutex> guard{log->mutex};
      log->orders_arrived.emplace_back(request.client_request_id, arrived);
    }
    return self->delegate(exchange, call_atom::value, std::move(request));
  }};
}

// A registry of one breaker, whatever the endpoint's name; the breaker and what is behind it
// are linked to it and stop with it.
breaker_registry_actor::behavior_type one_breaker_registry(breaker_registry_actor::pointer self,
                                                           breaker_actor breaker,
                                                           std::vector<caf::actor> behind) {
  self->link_to(breaker);
  for (const auto& actor : behind)
    self->link_to(actor);
  return {
      [self, breaker](call_atom, const std::string&, endpoint_request& request) {
        return self->delegate(breaker, call_atom::value, std::move(request));
      },
      [breaker](breaker_atom, const std::string&) { return breaker; },
      [self, breaker](force_open_atom op, const std::string&, std::string& reason) {
        return self->delegate(breaker, op, std::move(reason));
      },
      [self, breaker](force_close_atom op, const std::string&, std::string& reason) {
        return self->delegate(breaker, op, std::move(reason));
      },
      [self, breaker](reset_atom op, const std::string&, std::string& reason) {
        return self->delegate(breaker, op, std::move(reason));
      },
      [self, breaker](disable_atom op, const std::string&, std::string& reason) {
        return self->delegate(breaker, op, std::move(reason));
      },
      [](status_atom) { return std::vector<breaker_stats>{}; },
  };
}

// The sibling "breakers": as the runtime's registry wires a breaker (transitions on the bus,
// registered with the emergency controller), in front of the timing endpoint.
child_spec timed_breakers_child(std::shared_ptr<tick_log> log) {
  child_spec spec;
  spec.name = "breakers";
  spec.start_with_siblings = [log](caf::actor_system& sys,
                                   const std::map<std::string, caf::actor>& siblings) {
    auto exchange = caf::actor_cast<endpoint_actor>(spawn_simulated_exchange(sys, {}));
    auto endpoint = sys.spawn(timed_endpoint, exchange, log);
    circuit_breaker_options options;
    options.endpoint = "exchange";
    options.bus = caf::actor_cast<event_bus_actor>(siblings.at("event_bus"));
    options.emergency = caf::actor_cast<emergency_actor>(siblings.at("emergency"));
    auto breaker = spawn_circuit_breaker(sys, endpoint, options);
    return caf::actor_cast<caf::actor>(
        sys.spawn(one_breaker_registry, breaker,
                  std::vector<caf::actor>{caf::actor_cast<caf::actor>(endpoint),
                                          caf::actor_cast<caf::actor>(exchange)}));
  };
  return spec;
}

supervision_tree start_node(caf::actor_system& sys, const runtime_config& config,
                            std::shared_ptr<tick_log> log) {
  strategy_catalog strategies;
  strategies["tick_trader"] = [log](const nlohmann::json& params) {
    return std::make_unique<tick_trader>(log, params.at("symbol").get<std::string>());
  };
  // In the runtime's start order.
  std::vector<child_spec> children{
      state_store_child(config),  event_bus_child(config),
      timed_breakers_child(log),  emergency_child(config, [](const level_change&) {}),
      risk_monitor_child(config), bot_supervisor_child(config, std::move(strategies), {})};
  auto tree = spawn_supervisor(sys, {}, std::move(children));
  await_risk_monitor(sys, caf::actor_cast<risk_monitor_actor>(tree.children.at("risk_monitor")));
  std::vector<bot_config> traders;
  for (int i = 0; i < bots; ++i)
    traders.push_back({"trader-" + std::to_string(i), "tick_trader",
                       nlohmann::json{{"symbol", symbol_of(static_cast<uint64_t>(i))}}.dump()});
  spawn_bots(sys, caf::actor_cast<bot_supervisor_actor>(tree.children.at("bots")), traders);
  return tree;
}

// Publishes every tick at its time on the calling thread; `send` sends one (topic, payload, n).
template <class Send>
void publish_ticks(tick_log& log, Send send) {
  auto start = clock::now();
  for (uint64_t n = 1; n <= ticks; ++n) {
    auto [topic, payload] = tick(n);
    std::this_thread::sleep_until(start + static_cast<int64_t>(n) * tick_interval);
    log.published[n] = clock::now();
    send(std::move(topic), std::move(payload), n);
  }
}

// Blocks until `done` holds (under the log's mutex), or throws after 30 seconds.
template <class Done>
void await(tick_log& log, const char* what, Done done) {
  std::unique_lock<std::mutex> guard{log.mutex};
  if (!log.changed.wait_for(guard, std::chrono::seconds(30), [&] { return done(); }))
    throw std::runtime_error(std::string{"tick-to-order: "} + what + " within 30 seconds");
}

std::vector<double>
micros(const std::vector<std::pair<clock::time_point, clock::time_point>>& spans) {
  std::vector<double> result;
  for (const auto& [from, to] : spans)
    result.push_back(std::chrono::duration<double, std::micro>(to - from).count());
  return result;
}

// Through the node, after the warm-up: publication -> exchange, split at the bot.
struct node_latencies {
  std::vector<double> total, to_bot, bot_to_exchange;
};

node_latencies node_latencies_us(tick_log& log) {
  std::vector<std::pair<clock::time_point, clock::time_point>> total, to_bot, onwards;
  for (const auto& [id, at] : log.orders_arrived) {
    auto n = log.tick_of_order.at(id);
    if (n <= warm_up_ticks)
      continue;
    total.emplace_back(log.published[n], at);
    to_bot.emplace_back(log.published[n], log.reached_bot[n]);
    onwards.emplace_back(log.reached_bot[n], at);
  }
  return {micros(total), micros(to_bot), micros(onwards)};
}

// Through the raw chain: microseconds from publication to arrival of every tick after the
// warm-up.
std::vector<double> latencies_us(tick_log& log) {
  std::vector<std::pair<clock::time_point, clock::time_point>> spans;
  for (const auto& [n, at] : log.ticks_arrived)
    if (n > warm_up_ticks)
      spans.emplace_back(log.published[n], at);
  return micros(spans);
}

node_latencies through_node(caf::actor_system& sys, const runtime_config& config) {
  auto log = std::make_shared<tick_log>();
  auto tree = start_node(sys, config, log);
  auto bus = caf::actor_cast<event_bus_actor>(tree.children.at("event_bus"));
  publish_ticks(*log, [&](std::string topic, std::string payload, uint64_t) {
    caf::anon_send(bus, publish_atom::value, std::move(topic), std::move(payload),
                   correlation_id{});
  });
  await(*log, "not every tick's order was answered", [&] { return log->answered == ticks; });
  if (log->failures > 0)
    throw std::runtime_error("tick-to-order: " + std::to_string(log->failures)
                             + " orders were not filled");
  caf::scoped_actor self{sys};
  self->send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
  self->wait_for(tree.supervisor);
  std::lock_guard<std::mutex> guard{log->mutex};
  return node_latencies_us(*log);
}

// --- the raw chain ---------------------------------------------------------------------------

caf::behavior forwarder(caf::event_based_actor* self, caf::actor next) {
  return {[self, next](std::string& topic, std::string& payload, uint64_t n) {
    self->send(next, std::move(topic), std::move(payload), n);
  }};
}

caf::behavior arrival_recorder(caf::event_based_actor*, std::shared_ptr<tick_log> log) {
  return {[log](const std::string&, const std::string&, uint64_t n) {
    auto arrived = clock::now();
    std::lock_guard<std::mutex> guard{log->mutex};
    log->ticks_arrived.emplace_back(n, arrived);
    log->changed.notify_all();
  }};
}

std::vector<double> through_chain(caf::actor_system& sys) {
  auto log = std::make_shared<tick_log>();
  std::vector<caf::actor> chain{sys.spawn(arrival_recorder, log)};
  while (chain.size() < chain_hops)
    chain.push_back(sys.spawn(forwarder, chain.back()));
  auto head = chain.back();
  publish_ticks(*log, [&](std::string topic, std::string payload, uint64_t n) {
    caf::anon_send(head, std::move(topic), std::move(payload), n);
  });
  await(*log, "not every tick went through the raw chain",
        [&] { return log->ticks_arrived.size() == ticks; });
  for (const auto& hop : chain)
    caf::anon_send_exit(hop, caf::exit_reason::user_shutdown);
  std::lock_guard<std::mutex> guard{log->mutex};
  return latencies_us(*log);
}

samples run_once(const run_context& context) {
  auto config = load_config(embedded_default_config(), order_load_settings(context));
  configure_logging(config.log);
  caf::actor_system_config cfg;
  configure(cfg, context);
  caf::actor_system sys{cfg};
  samples out;
  auto node = through_node(sys, config);
  out["node_p50_us"] = percentile(node.total, 50);
  out["node_p99_us"] = percentile(node.total, 99);
  out["node_to_bot_p50_us"] = percentile(node.to_bot, 50);
  out["node_bot_to_exchange_p50_us"] = percentile(node.bot_to_exchange, 50);
  auto chain = through_chain(sys);
  out["raw_chain_p50_us"] = percentile(chain, 50);
  out["raw_chain_p99_us"] = percentile(chain, 99);
  return out;
}

const bool registered = register_scenario({
    "tick-to-order",
    "100 bots, 1,000 ticks/s on the bus, an order on each tick: publication to the exchange, "
    "beside a raw CAF chain of as many hops",
    {
        {"node_p50_us", "us", "tick published -> order at the exchange, median", false,
         "raw_chain_p50_us"},
        {"node_p99_us", "us", "tick published -> order at the exchange, 99th percentile", false,
         "raw_chain_p99_us"},
        {"node_to_bot_p50_us", "us",
         "of which tick published -> the bot's strategy has it (bus, bot host), median", false, ""},
        {"node_bot_to_exchange_p50_us", "us",
         "of which the strategy has it -> order at the exchange (risk, breaker), median", false,
         ""},
        {"raw_chain_p50_us", "us", "raw CAF: the tick through 5 forwarding actors, median", false,
         ""},
        {"raw_chain_p99_us", "us", "raw CAF: the same, 99th percentile", false, ""},
    },
    run_once,
});

} // namespace

} // namespace brokedancer::bench
