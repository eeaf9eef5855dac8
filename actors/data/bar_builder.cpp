#include "actors/data/bar_builder.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace brokedancer {

bar_builder::bar_builder(std::vector<timeframe> frames) : frames_(std::move(frames)) {
  if (frames_.empty())
    throw std::invalid_argument("a bar builder needs at least one timeframe");
  for (auto tf : frames_) {
    if (!is_valid(tf))
      throw std::invalid_argument("unknown timeframe " + std::to_string(static_cast<int>(tf)));
    steps_ms_.push_back(duration_ms(tf));
  }
}

bar_builder::symbol_id bar_builder::intern(const std::string& symbol) {
  auto [found, added] = ids_.emplace(symbol, static_cast<symbol_id>(names_.size()));
  if (added) {
    names_.push_back(symbol);
    slots_.resize(slots_.size() + frames_.size());
  }
  return found->second;
}

bool bar_builder::on_price(symbol_id symbol, double price, int64_t at_ms,
                           std::vector<ohlcv_bar>& closed) {
  return update(symbol, price, 0, at_ms, closed);
}

bool bar_builder::on_fill(symbol_id symbol, double price, double quantity, int64_t at_ms,
                          std::vector<ohlcv_bar>& closed) {
  if (!std::isfinite(quantity) || quantity < 0) {
    ++refused_;
    return false;
  }
  return update(symbol, price, quantity, at_ms, closed);
}

bool bar_builder::update(symbol_id symbol, double price, double quantity, int64_t at_ms,
                         std::vector<ohlcv_bar>& closed) {
  if (!(std::isfinite(price) && price > 0) || at_ms < 0 || symbol >= names_.size()) {
    ++refused_;
    return false;
  }
  // A volume that would make a bar's sum infinite (two trades of 1e308) is no trade of this
  // world, and a bar with it could never be stored.
  if (quantity > 0) {
    const auto* first = &slots_[static_cast<size_t>(symbol) * frames_.size()];
    for (size_t i = 0; i < frames_.size(); ++i)
      if (first[i].active && !std::isfinite(first[i].volume + quantity)) {
        ++refused_;
        return false;
      }
  }
  auto* s = &slots_[static_cast<size_t>(symbol) * frames_.size()];
  for (size_t i = 0; i < frames_.size(); ++i, ++s) {
    auto open_time = at_ms - at_ms % steps_ms_[i];
    if (s->active && open_time == s->open_time_ms) {
      s->high = std::max(s->high, price);
      s->low = std::min(s->low, price);
      s->close = price;
      s->volume += quantity;
      ++s->ticks;
      continue;
    }
    if ((s->active && open_time < s->open_time_ms) || open_time < s->closed_until_ms) {
      ++late_;
      continue;
    }
    auto closed_until = s->closed_until_ms;
    if (s->active) {
      closed.push_back(bar_of(symbol, i, *s));
      closed_until = s->open_time_ms + steps_ms_[i];
    }
    *s = slot{true, open_time, price, price, price, price, quantity, 1, closed_until};
  }
  return true;
}

void bar_builder::flush(int64_t now_ms, std::vector<ohlcv_bar>& closed) {
  for (size_t symbol = 0; symbol < names_.size(); ++symbol)
    for (size_t i = 0; i < frames_.size(); ++i) {
      auto& s = slots_[symbol * frames_.size() + i];
      if (s.active && s.open_time_ms + steps_ms_[i] <= now_ms) {
        closed.push_back(bar_of(static_cast<symbol_id>(symbol), i, s));
        s.active = false;
        s.closed_until_ms = s.open_time_ms + steps_ms_[i];
      }
    }
}

std::vector<ohlcv_bar> bar_builder::forming() const {
  std::vector<ohlcv_bar> bars;
  for (size_t symbol = 0; symbol < names_.size(); ++symbol)
    for (size_t i = 0; i < frames_.size(); ++i) {
      const auto& s = slots_[symbol * frames_.size() + i];
      if (s.active)
        bars.push_back(bar_of(static_cast<symbol_id>(symbol), i, s));
    }
  return bars;
}

ohlcv_bar bar_builder::bar_of(symbol_id symbol, size_t frame, const slot& s) const {
  return {names_[symbol], frames_[frame], s.open_time_ms, s.open, s.high,
          s.low,          s.close,        s.volume,       s.ticks};
}

} // namespace brokedancer
