#include "actors/risk/position.hpp"

#include <algorithm>
#include <cmath>

namespace brokedancer {

namespace {

// What is left of a position after a reducing fill: below this it is flat, not a 1e-16 short
// that no order could close.
constexpr double flat_below = 1e-12;

} // namespace

double apply_fill(position& p, order_side side, double quantity, double price) {
  if (!(quantity > 0) || !(price > 0) || !std::isfinite(quantity) || !std::isfinite(price))
    return 0;
  double signed_quantity = side == order_side::buy ? quantity : -quantity;
  bool same_direction = p.quantity == 0 || (p.quantity > 0) == (signed_quantity > 0);
  if (same_direction) {
    double total = p.quantity + signed_quantity;
    p.average_price = (p.average_price * std::abs(p.quantity) + price * quantity) / std::abs(total);
    p.quantity = total;
    return 0;
  }
  double closed = std::min(quantity, std::abs(p.quantity));
  double direction = p.quantity > 0 ? 1.0 : -1.0;
  double realized = closed * (price - p.average_price) * direction;
  double rest = p.quantity + signed_quantity;
  if (std::abs(rest) < flat_below) {
    p = position{};
  } else {
    if ((rest > 0) != (p.quantity > 0))
      p.average_price = price; // flipped: the remainder was opened at this price
    p.quantity = rest;
  }
  return realized;
}

double unrealized_pnl(const position& p, double mark) {
  if (!(mark > 0) || !std::isfinite(mark))
    return 0;
  return p.quantity * (mark - p.average_price);
}

} // namespace brokedancer
