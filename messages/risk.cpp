#include "messages/risk.hpp"

#include <cmath>

namespace brokedancer {

std::string to_string(order_side side) {
  return side == order_side::buy ? "buy" : "sell";
}

bool sane_fill(double ordered_quantity, double filled_quantity, double fill_price, double fee) {
  return std::isfinite(ordered_quantity) && std::isfinite(filled_quantity)
         && std::isfinite(fill_price) && std::isfinite(fee) && filled_quantity > 0
         && filled_quantity <= ordered_quantity * (1 + 1e-9) && fill_price > 0
         && std::isfinite(filled_quantity * fill_price)
         && std::abs(fee) <= filled_quantity * fill_price;
}

} // namespace brokedancer
