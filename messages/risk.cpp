#include "messages/risk.hpp"

namespace brokedancer {

std::string to_string(order_side side) {
  return side == order_side::buy ? "buy" : "sell";
}

} // namespace brokedancer
