#pragma once

// The order throttles as plain code: how many orders one bot and the whole node may submit, and
// how many cancels the node may send, in any window of a given length (a sliding window of the
// times admitted). Time is passed in (microseconds on a clock that does not step back); no actor.
// A throttle protects the venue and the node from a bot gone wild: beyond it an order is refused
// with `throttled`, which is not a breach -- the level does not move.

#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>

#include "actors/risk/risk_book.hpp"

namespace brokedancer {

struct throttle_limits {
  uint32_t orders_per_bot = 0; // 0: no cap
  uint32_t orders_per_node = 0;
  uint32_t cancels_per_node = 0;
  int64_t window_us = 1000000;
};

class order_throttle {
public:
  explicit order_throttle(throttle_limits limits = {});

  // Whether an order of `bot_id` fits at `now_us`; counted against both caps when it does, and
  // against neither when it does not (a refused order does not use the node's room up).
  std::optional<rejection> admit_order(const std::string& bot_id, int64_t now_us);
  // Whether a cancel fits at `now_us`; counted when it does.
  std::optional<rejection> admit_cancel(int64_t now_us);

  // Bots whose window is kept (those that sent within a window, at least).
  size_t bots_tracked() const {
    return bots_.size();
  }

private:
  // The times admitted within the window, oldest first; at most the cap.
  class window {
  public:
    // Drops what fell out of the window before `now_us`; whether one more fits under `cap`.
    bool fits(int64_t now_us, int64_t length_us, uint32_t cap);
    void add(int64_t now_us) {
      times_.push_back(now_us);
    }
    // When the oldest time leaves the window: the next one fits then.
    int64_t frees_at(int64_t length_us) const {
      return times_.empty() ? 0 : times_.front() + length_us;
    }
    bool idle(int64_t now_us, int64_t length_us) const {
      return times_.empty() || times_.back() <= now_us - length_us;
    }

  private:
    std::deque<int64_t> times_;
  };

  rejection refusal(const char* what, uint32_t cap, const window& full, int64_t now_us) const;
  void forget_idle_bots(int64_t now_us);

  throttle_limits limits_;
  window node_orders_;
  window node_cancels_;
  std::unordered_map<std::string, window> bots_;
  int64_t last_sweep_us_ = std::numeric_limits<int64_t>::min() / 2;
};

} // namespace brokedancer
