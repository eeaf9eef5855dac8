#pragma once

// Which market prices the risk book takes as marks. Prices arrive on `market.*` from anyone who
// can publish on the bus (on Redis: anyone who can reach it), and a mark moves equity, the
// drawdown's peak and the exposure limits. So:
//
// - only symbols the node trades are marked: one it holds a position in, or one of its
//   configured symbols -- 15,000 made-up symbols once pushed the persisted book past the
//   store's value limit;
// - a price must be finite and positive;
// - a price more than `max_jump_percent` away from the last mark is held back until
//   `confirmations` more prices agree with it (within the same band): one fake price does not
//   inflate the peak equity, and a market that really moved is followed a few ticks later.
//
// Plain code: no actor, no clock.

#include <cstddef>
#include <map>
#include <string>

namespace brokedancer {

class mark_filter {
public:
  struct settings {
    double max_jump_percent = 20; // 0: every finite positive price is taken
    int confirmations = 2;
  };

  enum class verdict { taken, held, refused };

  mark_filter() = default;
  explicit mark_filter(settings s) : settings_(s) {}

  // `last`: the symbol's mark now (0: none yet). `traded`: the node holds the symbol or has it
  // configured.
  verdict consider(const std::string& symbol, double price, double last, bool traded);

  // Forgets a symbol's held price (its position was closed, say).
  void forget(const std::string& symbol) {
    held_.erase(symbol);
  }

  size_t held() const {
    return held_.size();
  }

private:
  struct candidate {
    double price = 0;
    int seen = 0;
  };

  bool near(double a, double b) const;

  settings settings_;
  std::map<std::string, candidate> held_;
};

} // namespace brokedancer
