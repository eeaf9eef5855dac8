#include "order_load.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actor_system.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;

struct order_report {
  std::mutex mutex;
  std::condition_variable finished;
  int bots_left = 0;
  int failures = 0;
  clock::time_point first_submit = clock::time_point::max();
  clock::time_point last_result = clock::time_point::min();
  std::vector<double> latencies_us;
};

} // namespace

struct order_board {
  std::mutex mutex;
  std::shared_ptr<order_report> report;
  int orders_each = 0;
};

namespace {

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

} // namespace

environment order_load_settings(const run_context& context, environment extra) {
  environment env{{"BROKEDANCER_LOG_LEVEL", "warn"},
                  {"BROKEDANCER_BOTS_COUNT", "0"},
                  {"BROKEDANCER_MARKET_SYMBOLS", ""},
                  // Limits that pass every order of the load: the checks still run.
                  {"BROKEDANCER_RISK_MAX_TRADES_PER_HOUR", "0"},
                  {"BROKEDANCER_RISK_MAX_DAILY_LOSS", "0"},
                  {"BROKEDANCER_RISK_MAX_DRAWDOWN_PERCENT", "0"},
                  {"BROKEDANCER_RISK_MAX_POSITION_SIZE", "1000000"},
                  {"BROKEDANCER_RISK_MAX_TOTAL_POSITION", "1000000"}};
  for (auto& [name, value] : extra)
    env[name] = std::move(value);
  return runtime_environment(context, std::move(env));
}

std::shared_ptr<order_board> make_order_board() {
  return std::make_shared<order_board>();
}

std::unique_ptr<runtime> start_order_node(const environment& settings,
                                          std::shared_ptr<order_board> board, bool count_orders) {
  runtime_options options;
  options.count_orders = count_orders;
  options.strategies["order_load"] = [board](const nlohmann::json&) {
    std::lock_guard<std::mutex> guard{board->mutex};
    return std::make_unique<order_load>(board->report, board->orders_each);
  };
  auto node = std::make_unique<runtime>(load_config(embedded_default_config(), settings),
                                        std::move(options));
  await_risk_monitor(node->system(), node->risk_monitor());
  return node;
}

void await_risk_monitor(caf::actor_system& sys, const risk_monitor_actor& risk) {
  caf::scoped_actor self{sys};
  for (bool ready = false; !ready;) {
    self->request(risk, std::chrono::seconds(5), status_atom::value)
        .receive(
            [&](const risk_status& s) {
              ready = s.loaded && s.reconciled && s.level == emergency_level::normal;
            },
            [](const caf::error&) {});
    if (!ready)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void spawn_bots(caf::actor_system& sys, const bot_supervisor_actor& supervisor,
                const std::vector<bot_config>& bots) {
  caf::scoped_actor self{sys};
  for (const auto& bot : bots)
    self->request(supervisor, std::chrono::seconds(30), spawn_bot_atom::value, bot)
        .receive([](bool) {},
                 [&](const caf::error& err) {
                   throw std::runtime_error("bot " + bot.id + " did not start: " + sys.render(err));
                 });
}

order_figures run_order_load(runtime& node, order_board& board, const std::string& prefix, int bots,
                             int orders_each) {
  auto report = std::make_shared<order_report>();
  report->bots_left = bots;
  {
    std::lock_guard<std::mutex> guard{board.mutex};
    board.report = report;
    board.orders_each = orders_each;
  }
  std::vector<bot_config> configs;
  for (int i = 0; i < bots; ++i)
    configs.push_back({prefix + "-" + std::to_string(i), "order_load", "{}"});
  spawn_bots(node.system(), node.bots(), configs);
  std::unique_lock<std::mutex> guard{report->mutex};
  if (!report->finished.wait_for(guard, std::chrono::minutes(5),
                                 [&] { return report->bots_left == 0; }))
    throw std::runtime_error("the order load did not finish within 5 minutes");
  if (report->failures > 0)
    throw std::runtime_error(std::to_string(report->failures) + " orders were not filled");
  auto seconds = std::chrono::duration<double>(report->last_result - report->first_submit).count();
  return {bots * orders_each / seconds, percentile(report->latencies_us, 50),
          percentile(report->latencies_us, 99)};
}

void record_orders(samples& out, const std::string& name, const order_figures& figures) {
  out[name + "_orders"] = figures.orders_per_s;
  out[name + "_p50_us"] = figures.p50_us;
  out[name + "_p99_us"] = figures.p99_us;
}

} // namespace brokedancer::bench
