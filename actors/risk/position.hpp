#pragma once

// One symbol's holding, booked at average cost. The risk book (the node's positions) and the
// bot host (each bot's own) book their fills with the same code, so that the two agree.

#include "messages/risk.hpp"

namespace brokedancer {

struct position {
  double quantity = 0; // signed: negative is short
  double average_price = 0;
};

// Books a fill of `quantity` (> 0) at `price` (> 0) into `p` and returns the P&L it realized.
//  - A fill that opens or adds to the position moves the average price.
//  - One against it realizes, on what it closes, (price - average) per unit long, the reverse
//    short; the rest keeps its average.
//  - One that goes through zero closes the whole position and opens the rest at `price`.
//  - A position left within 1e-12 of zero is flat: quantity and average 0. Books hold open
//    positions only: both callers drop a flat one.
// The P&L is before fees: a fill's fee is its caller's to book (the risk book takes it off its
// realized P&L, the equity being net; a bot's stats report fees apart, next to a realized P&L
// before them).
// A fill without a positive, finite quantity and price books nothing and realizes 0: one of
// quantity 0 on a flat position once made the average 0/0, NaN.
double apply_fill(position& p, order_side side, double quantity, double price);

// `p` marked at `mark`; 0 without a mark (mark <= 0, or not finite).
double unrealized_pnl(const position& p, double mark);

inline bool is_flat(const position& p) {
  return p.quantity == 0;
}

} // namespace brokedancer
