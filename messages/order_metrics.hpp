#pragma once

// What the risk monitor counts of the orders that pass it, for `/metrics`: every result by its
// outcome and code, and the time from the order's arrival to its result. One object per node,
// made by the runtime and shared with the monitor (it outlives the monitor's restarts); written
// by the monitor alone with relaxed atomic increments -- a few nanoseconds on the order path --
// and read by the operator API's thread whenever it is scraped.

#include <array>
#include <atomic>
#include <cstdint>

#include "core/prometheus_text.hpp"
#include "messages/risk.hpp"

namespace brokedancer {

class order_metrics {
public:
  static constexpr size_t outcomes = static_cast<size_t>(order_outcome::accepted) + 1;
  static constexpr size_t codes = static_cast<size_t>(last_reject_code) + 1;

  // An order's result, `micros` after the monitor took it. Cancels are not orders: not counted.
  void record(const order_result& result, int64_t micros) {
    if (!is_valid(result.outcome) || !is_valid(result.code))
      return;
    results_[static_cast<size_t>(result.outcome)][static_cast<size_t>(result.code)].fetch_add(
        1, std::memory_order_relaxed);
    latency_.observe(micros);
    if (result.outcome == order_outcome::filled)
      fills_.fetch_add(1, std::memory_order_relaxed);
  }

  uint64_t results(order_outcome outcome, reject_code code) const {
    return results_[static_cast<size_t>(outcome)][static_cast<size_t>(code)].load(
        std::memory_order_relaxed);
  }

  uint64_t fills() const {
    return fills_.load(std::memory_order_relaxed);
  }

  latency_histogram::snapshot latency() const {
    return latency_.read();
  }

private:
  std::array<std::array<std::atomic<uint64_t>, codes>, outcomes> results_{};
  std::atomic<uint64_t> fills_{0};
  latency_histogram latency_;
};

} // namespace brokedancer
