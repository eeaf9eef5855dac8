// A program of a user's own that embeds the brokedancer runtime: it builds a runtime from a
// config file (or the embedded default), adds a strategy of its own next to the samples,
// spawns one bot of it beside the configured ones, runs, and prints what its bots did.
//
//   embedded-runtime [CONFIG_FILE] [--seconds N]
//
// Exit codes are the runtime's (see the README): 0 after a graceful stop.

#include <cstdlib>
#include <iostream>
#include <string>

#include <caf/scoped_actor.hpp>

#include "messages/market.hpp"
#include "runtime/exit_codes.hpp"
#include "runtime/runtime.hpp"

namespace {

using namespace brokedancer;
using json = nlohmann::json;

// Buys `quantity` whenever the price is `dip_percent` below the highest price it has seen,
// once per dip, and remembers that high across restarts.
class dip_buyer final : public strategy {
public:
  explicit dip_buyer(const json& params)
    : symbol_(params.value("symbol", std::string{"BTC-USD"})),
      quantity_(params.value("quantity", 1.0)), dip_percent_(params.value("dip_percent", 0.5)) {
    if (!(quantity_ > 0) || !(dip_percent_ > 0))
      throw std::invalid_argument("quantity and dip_percent must be above 0");
  }

  void on_start(bot_context& ctx, const json& restored) override {
    if (restored.is_object())
      high_ = restored.value("high", 0.0);
    ctx.subscribe("market." + symbol_);
  }

  void on_event(bot_context& ctx, const event& ev) override {
    auto* q = ctx.quote_of(ev);
    if (!q)
      return;
    if (q->last > high_) {
      high_ = q->last;
      bought_this_dip_ = false;
      ctx.save({{"high", high_}});
      return;
    }
    bool dipped = q->last < high_ * (1 - dip_percent_ / 100);
    if (dipped && !bought_this_dip_ && ctx.trading_allowed()) {
      bought_this_dip_ = !ctx.submit(symbol_, order_side::buy, quantity_, q->ask).empty();
    }
  }

  void on_order_result(bot_context& ctx, const order& o, const order_result& result) override {
    ctx.log().info("dip buyer order", {{"bot", ctx.id()},
                                       {"order", o.client_order_id},
                                       {"outcome", to_string(result.outcome)},
                                       {"price", result.fill_price}});
  }

private:
  std::string symbol_;
  double quantity_;
  double dip_percent_;
  double high_ = 0;
  bool bought_this_dip_ = false;
};

} // namespace

int main(int argc, char** argv) {
  block_termination_signals(); // before any thread: run() takes SIGINT/SIGTERM itself
  std::string config_file;
  double seconds = 3;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc)
      seconds = std::atof(argv[++i]);
    else
      config_file = arg;
  }
  if (!(seconds > 0)) {
    std::cerr << "usage: embedded-runtime [CONFIG_FILE] [--seconds N], N > 0\n";
    return exit_code::usage;
  }
  try {
    auto config =
        load_config(config_file.empty() ? embedded_default_config() : read_config_file(config_file),
                    process_environment());
    runtime_options options;
    options.strategies["dip_buyer"] = [](const json& params) {
      return std::make_unique<dip_buyer>(params);
    };
    options.bots.push_back(
        {"my-dip-buyer", "dip_buyer", R"({"symbol":"BTC-USD","quantity":0.5,"dip_percent":0.2})"});
    runtime node{std::move(config), std::move(options)};
    // The bots' report, taken while they are still there.
    node.before_stop([&node](const run_result&) {
      caf::scoped_actor self{node.system()};
      self->request(node.bots(), std::chrono::seconds(5), bots_atom::value)
          .receive(
              [](const std::vector<bot_stats>& bots) {
                for (const auto& bot : bots)
                  std::cout << bot.id << " (" << bot.strategy << "): " << bot.state << ", "
                            << bot.orders << " orders, " << bot.fills << " fills, P&L "
                            << bot.realized_pnl + bot.unrealized_pnl - bot.fees << '\n';
              },
              [&node](const caf::error& err) {
                std::cerr << "no bot report: " << node.system().render(err) << '\n';
              });
    });
    auto result = node.run(std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)), true);
    return result.exit_code;
  } catch (const config_error& err) {
    for (const auto& problem : err.problems())
      std::cerr << "error: " << problem.render() << '\n';
    return exit_code::config_invalid;
  } catch (const std::exception& ex) {
    std::cerr << "embedded-runtime: " << ex.what() << '\n';
    return exit_code::startup_failed;
  }
}
