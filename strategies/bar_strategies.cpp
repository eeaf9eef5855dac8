#include "strategies/bar_strategies.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "strategies/strategy_params.hpp"

namespace brokedancer::strategies {

namespace {

using json = nlohmann::json;

struct bar_settings {
  std::string symbol;
  double quantity = 1;
  uint32_t lookback = 5;
  double threshold_percent = 0.2;
  double max_position = 5;
  timeframe frame = timeframe::s1;
  bool follow_signals = false;
};

bar_settings read_settings(const json& params) {
  bar_settings s;
  s.symbol = required_symbol(params);
  s.quantity = positive(params, "quantity", 1);
  auto lookback = positive(params, "lookback", 5);
  if (lookback < 2 || lookback > 1000)
    throw std::invalid_argument("lookback must be 2 to 1000 bars");
  s.lookback = static_cast<uint32_t>(lookback);
  s.threshold_percent = positive(params, "threshold_percent", 0.2);
  s.max_position = positive(params, "max_position", 5 * s.quantity);
  auto frame = params.find("timeframe");
  if (frame != params.end()
      && (!frame->is_string() || !from_string(frame->get<std::string>(), s.frame)))
    throw std::invalid_argument("timeframe must be one of 1s, 1m, 5m, 15m, 1h, 4h, 1d");
  auto follow = params.find("follow_signals");
  if (follow != params.end()) {
    if (!follow->is_boolean())
      throw std::invalid_argument("follow_signals must be true or false");
    s.follow_signals = follow->get<bool>();
  }
  return s;
}

class bar_trader final : public strategy {
public:
  explicit bar_trader(bar_settings settings) : settings_(std::move(settings)) {}

  void on_start(bot_context& ctx, const json&) override {
    if (settings_.follow_signals)
      ctx.subscribe_signals();
    ctx.after(std::chrono::milliseconds(duration_ms(settings_.frame)), "bars");
  }

  void on_timer(bot_context& ctx, const std::string& name) override {
    if (name != "bars")
      return;
    ctx.after(std::chrono::milliseconds(duration_ms(settings_.frame)), "bars");
    ctx.bars(settings_.symbol, settings_.frame, settings_.lookback + 1,
             [this, &ctx](std::optional<std::vector<ohlcv_bar>> bars) {
               if (bars)
                 on_bars(ctx, *bars);
             });
  }

  void on_signal(bot_context& ctx, const json& signal) override {
    // Checked as a TRADE_SIGNAL already (symbol, signal, confidence); bot_id is whatever the
    // sender wrote, so it is read as text or not at all.
    auto sender = signal.find("bot_id");
    if ((sender != signal.end() && sender->is_string() && sender->get<std::string>() == ctx.id())
        || signal["symbol"].get<std::string>() != settings_.symbol
        || signal["confidence"].get<double>() < 0.5)
      return;
    auto side = signal["signal"].get<std::string>();
    if (side == "BUY")
      trade(ctx, +1);
    else if (side == "SELL")
      trade(ctx, -1);
  }

private:
  void on_bars(bot_context& ctx, const std::vector<ohlcv_bar>& bars) {
    if (bars.size() < settings_.lookback + 1)
      return;
    auto first = bars.front().close;
    auto change = (bars.back().close - first) / first * 100;
    if (std::abs(change) <= settings_.threshold_percent)
      return;
    auto confidence = std::min(1.0, std::abs(change) / (4 * settings_.threshold_percent));
    ctx.publish_signal(settings_.symbol, change > 0 ? "BUY" : "SELL", confidence,
                       {{"change_percent", change}, {"timeframe", to_string(settings_.frame)}});
    trade(ctx, change > 0 ? +1 : -1);
  }

  // One order at a time, priced at the touch from the quote cache.
  void trade(bot_context& ctx, int direction) {
    if (pricing_ || !ctx.open_orders().empty() || !ctx.trading_allowed())
      return;
    auto position = ctx.position(settings_.symbol);
    if ((direction > 0 && position + settings_.quantity > settings_.max_position + 1e-9)
        || (direction < 0 && position - settings_.quantity < -settings_.max_position - 1e-9))
      return;
    pricing_ = true;
    ctx.cached_quote(settings_.symbol, [this, &ctx, direction](std::optional<quote> q) {
      pricing_ = false;
      if (!q || !ctx.open_orders().empty() || !ctx.trading_allowed())
        return;
      if (direction > 0)
        ctx.submit(settings_.symbol, order_side::buy, settings_.quantity, q->ask);
      else
        ctx.submit(settings_.symbol, order_side::sell, settings_.quantity, q->bid);
    });
  }

  bar_settings settings_;
  bool pricing_ = false;
};

} // namespace

void add_bar_strategies(strategy_catalog& catalog) {
  catalog["bar_breakout"] = [](const json& params) {
    return std::make_unique<bar_trader>(read_settings(params));
  };
}

} // namespace brokedancer::strategies
