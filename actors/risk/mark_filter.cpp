#include "actors/risk/mark_filter.hpp"

#include <cmath>

namespace brokedancer {

bool mark_filter::near(double a, double b) const {
  return settings_.max_jump_percent <= 0
         || std::abs(a / b - 1.0) * 100.0 <= settings_.max_jump_percent;
}

mark_filter::verdict mark_filter::consider(const std::string& symbol, double price, double last,
                                           bool traded) {
  if (!traded || !std::isfinite(price) || price <= 0)
    return verdict::refused;
  if (!std::isfinite(last) || last <= 0 || near(price, last)) {
    held_.erase(symbol);
    return verdict::taken;
  }
  auto& c = held_[symbol];
  if (c.seen > 0 && near(price, c.price)) {
    ++c.seen;
  } else {
    c.price = price;
    c.seen = 1;
  }
  if (c.seen > settings_.confirmations) {
    held_.erase(symbol);
    return verdict::taken;
  }
  return verdict::held;
}

} // namespace brokedancer
