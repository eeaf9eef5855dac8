#include "strategies/trend_strategies.hpp"

#include <deque>
#include <stdexcept>

#include "strategies/strategy_params.hpp"

#include "messages/market.hpp"

namespace brokedancer::strategies {

namespace {

using json = nlohmann::json;

struct trend_settings {
  std::string symbol;
  double quantity = 1;
  size_t lookback = 20;
  double threshold_percent = 0.2;
  double max_position = 5;
  size_t save_every = 10;
};

trend_settings read_settings(const json& params) {
  trend_settings s;
  s.symbol = required_symbol(params);
  s.quantity = positive(params, "quantity", 1);
  auto lookback = positive(params, "lookback", 20);
  if (lookback < 2 || lookback > 10000)
    throw std::invalid_argument("lookback must be 2 to 10000 ticks");
  s.lookback = static_cast<size_t>(lookback);
  s.threshold_percent = positive(params, "threshold_percent", 0.2);
  s.max_position = positive(params, "max_position", 5 * s.quantity);
  s.save_every = static_cast<size_t>(positive(params, "save_every", 10));
  return s;
}

// Trades on the change of the price over the last `lookback` ticks; `direction` +1 follows
// it (momentum), -1 leans against it (mean reversion).
class trend_trader final : public strategy {
public:
  trend_trader(trend_settings settings, int direction)
    : settings_(std::move(settings)), direction_(direction) {}

  void on_start(bot_context& ctx, const json& restored) override {
    if (restored.is_object() && restored.contains("prices") && restored["prices"].is_array())
      for (const auto& price : restored["prices"])
        if (price.is_number() && prices_.size() < settings_.lookback + 1)
          prices_.push_back(price.get<double>());
    ctx.subscribe("market." + settings_.symbol);
  }

  void on_event(bot_context& ctx, const event& ev) override {
    auto* q = ctx.quote_of(ev);
    if (!q || q->symbol != settings_.symbol)
      return;
    prices_.push_back(q->last);
    if (prices_.size() > settings_.lookback + 1)
      prices_.pop_front();
    if (++ticks_ % settings_.save_every == 0)
      ctx.save({{"prices", json(prices_)}});
    if (prices_.size() <= settings_.lookback || !ctx.open_orders().empty()
        || !ctx.trading_allowed())
      return;
    auto change = (prices_.back() - prices_.front()) / prices_.front() * 100;
    auto signal = change > settings_.threshold_percent    ? 1
                  : change < -settings_.threshold_percent ? -1
                                                          : 0;
    auto want = signal * direction_; // +1 buy, -1 sell
    auto position = ctx.position(settings_.symbol);
    if (want > 0 && position + settings_.quantity <= settings_.max_position + 1e-9)
      ctx.submit(settings_.symbol, order_side::buy, settings_.quantity, q->ask);
    else if (want < 0 && position - settings_.quantity >= -settings_.max_position - 1e-9)
      ctx.submit(settings_.symbol, order_side::sell, settings_.quantity, q->bid);
  }

private:
  trend_settings settings_;
  int direction_;
  std::deque<double> prices_;
  uint64_t ticks_ = 0;
};

} // namespace

void add_trend_strategies(strategy_catalog& catalog) {
  catalog["momentum"] = [](const json& params) {
    return std::make_unique<trend_trader>(read_settings(params), 1);
  };
  catalog["mean_reversion"] = [](const json& params) {
    return std::make_unique<trend_trader>(read_settings(params), -1);
  };
}

} // namespace brokedancer::strategies
