// order-path: orders from bots through the risk monitor, the endpoint's circuit breaker and the
// simulated exchange (no latency, no errors, no market: every order fills at its own price),
// beside direct requests with the same order to a simulated exchange actor in the same run.
// 64 bots (written against the public bot API) each keep one order in flight: orders/s and
// p50/p99 from submit to result.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actor_system.hpp"
#include "actors/bots/bot.hpp"
#include "actors/market/simulated_exchange.hpp"
#include "call_load.hpp"
#include "harness.hpp"
#include "runtime/runtime.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;

constexpr int bots = 64;
constexpr int orders_each = 1500;

struct order_report {
  std::mutex mutex;
  std::condition_variable finished;
  int bots_left = bots;
  int failures = 0;
  clock::time_point first_submit = clock::time_point::max();
  clock::time_point last_result = clock::time_point::min();
  std::vector<double> latencies_us;
};

// Keeps one order in flight until it has sent `orders`, alternating buy and sell so that the
// book stays flat.
class order_load final : public strategy {
public:
  order_load(std::shared_ptr<order_report> report, int orders)
    : report_(std::move(report)), left_(orders) {
    latencies_.reserve(static_cast<size_t>(orders));
  }

  void on_start(bot_context& ctx, const nlohmann::json&) override {
    started_ = clock::now();
    next(ctx);
  }

  void on_order_result(bot_context& ctx, const order&, const order_result& result) override {
    latencies_.push_back(std::chrono::duration<double, std::micro>(clock::now() - sent_).count());
    if (result.outcome != order_outcome::filled)
      ++failures_;
    next(ctx);
  }

private:
  void next(bot_context& ctx) {
    if (left_-- == 0) {
      std::lock_guard<std::mutex> guard{report_->mutex};
      report_->first_submit = std::min(report_->first_submit, started_);
      report_->last_result = std::max(report_->last_result, clock::now());
      report_->failures += failures_;
      auto& all = report_->latencies_us;
      all.insert(all.end(), latencies_.begin(), latencies_.end());
      if (--report_->bots_left == 0)
        report_->finished.notify_all();
      return;
    }
    sent_ = clock::now();
    buy_ = !buy_;
    // Held back (the level forbids trading): a failure, and the next one.
    while (ctx.submit("BENCH", buy_ ? order_side::buy : order_side::sell, 1, 100).empty()) {
      ++failures_;
      if (left_-- == 0) {
        left_ = 0;
        return next(ctx);
      }
    }
  }

  std::shared_ptr<order_report> report_;
  int left_;
  int failures_ = 0;
  bool buy_ = false;
  clock::time_point started_;
  clock::time_point sent_;
  std::vector<double> latencies_;
};

samples run_once(const run_context& context) {
  environment env{{"BROKEDANCER_LOG_LEVEL", "warn"},
                  {"BROKEDANCER_BOTS_COUNT", "0"},
                  {"BROKEDANCER_MARKET_SYMBOLS", ""},
                  // Limits that pass every order of the load: the checks still run.
                  {"BROKEDANCER_RISK_MAX_TRADES_PER_HOUR", "0"},
                  {"BROKEDANCER_RISK_MAX_DAILY_LOSS", "0"},
                  {"BROKEDANCER_RISK_MAX_DRAWDOWN_PERCENT", "0"},
                  {"BROKEDANCER_RISK_MAX_POSITION_SIZE", "1000000"},
                  {"BROKEDANCER_RISK_MAX_TOTAL_POSITION", "1000000"}};
  auto report = std::make_shared<order_report>();
  runtime_options options;
  options.strategies["order_load"] = [report](const nlohmann::json&) {
    return std::make_unique<order_load>(report, orders_each);
  };
  runtime node{load_config(embedded_default_config(), runtime_environment(context, env)),
               std::move(options)};
  // The load starts once the risk monitor has read its book and heard the level.
  caf::scoped_actor self{node.system()};
  for (bool ready = false; !ready;) {
    self->request(node.risk_monitor(), std::chrono::seconds(5), status_atom::value)
        .receive(
            [&](const risk_status& s) { ready = s.loaded && s.level == emergency_level::normal; },
            [](const caf::error&) {});
    if (!ready)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (int i = 0; i < bots; ++i)
    self->request(node.bots(), std::chrono::seconds(30), spawn_bot_atom::value,
                  bot_config{"load-" + std::to_string(i), "order_load", "{}"})
        .receive([](bool) {},
                 [&](const caf::error& err) {
                   throw std::runtime_error("a load bot did not start: "
                                            + node.system().render(err));
                 });
  {
    std::unique_lock<std::mutex> guard{report->mutex};
    if (!report->finished.wait_for(guard, std::chrono::minutes(5),
                                   [&] { return report->bots_left == 0; }))
      throw std::runtime_error("the order load did not finish within 5 minutes");
    if (report->failures > 0)
      throw std::runtime_error(std::to_string(report->failures) + " orders were not filled");
  }
  samples out;
  auto seconds = std::chrono::duration<double>(report->last_result - report->first_submit).count();
  out["bots_64_orders"] = bots * orders_each / seconds;
  out["bots_64_p50_us"] = percentile(report->latencies_us, 50);
  out["bots_64_p99_us"] = percentile(report->latencies_us, 99);
  // The baseline: the same order straight to an exchange actor, from 64 plain actors.
  auto exchange = spawn_simulated_exchange(node.system(), {});
  endpoint_request request{"submit_order",
                           R"({"bot_id":"direct","symbol":"BENCH","side":"buy","quantity":1,)"
                           R"("price":100,"client_order_id":"direct"})",
                           "direct", 0, ""};
  auto direct =
      load_calls(node.system(), caf::actor_cast<caf::actor>(exchange), bots, orders_each, request);
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
