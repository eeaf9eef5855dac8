#pragma once

// The circuit breaker's decisions, apart from any actor: when to open, when to let trial
// calls through, when to close again. Time comes in as an argument, so every transition can
// be tested exactly, without waiting.
//
//   CLOSED --(failure_threshold consecutive failures, or failure_rate_threshold % of the last
//             window_size outcomes once minimum_calls are in)--> OPEN
//   OPEN --(recovery_timeout passed)--> HALF_OPEN
//   HALF_OPEN --(success_threshold trial successes)--> CLOSED
//   HALF_OPEN --(any trial failure)--> OPEN
//   any --force_open--> FORCED_OPEN;  any --disable--> DISABLED;  any --force_close/reset--> CLOSED
//
// A slow call (slower than slow_call) is a failure for these decisions even when it succeeded.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "messages/resilience.hpp"

namespace brokedancer {

struct breaker_settings {
  uint32_t failure_threshold = 5;         // consecutive failures that open it; 0: not used
  double failure_rate_threshold = 50;     // percent of the window that opens it; 0: not used
  uint32_t window_size = 20;              // outcomes in the sliding window
  uint32_t minimum_calls = 10;            // outcomes needed before the rate is judged
  std::chrono::milliseconds slow_call{0}; // 0: no call counts as slow
  std::chrono::milliseconds recovery_timeout{5000};
  uint32_t half_open_calls = 3;   // trial calls in flight at once while HALF_OPEN
  uint32_t success_threshold = 2; // trial successes that close it
};

class breaker_machine {
public:
  using clock = std::chrono::steady_clock;

  struct transition {
    breaker_state from;
    breaker_state to;
    std::string reason;
  };

  // What try_acquire granted; hand it back to record() with the outcome.
  struct permit {
    bool allowed = false;
    uint64_t epoch = 0; // outcomes of calls let through in an earlier state decide nothing
    bool trial = false; // one of HALF_OPEN's trial calls
  };

  breaker_machine(breaker_settings settings, clock::time_point now);

  // Whether a call may go to the endpoint now. Refusals are counted as rejected.
  permit try_acquire(clock::time_point now);
  // What try_acquire would say now, changing nothing.
  bool would_admit(clock::time_point now) const;

  // The outcome of a call that try_acquire let through.
  void record(const permit& granted, bool success, bool slow, clock::time_point now,
              const std::string& failure);

  // A call let through ended with no outcome to judge it by (it was cancelled): a HALF_OPEN
  // trial's slot is given back, nothing else changes.
  void release(const permit& granted);

  // Moves OPEN to HALF_OPEN once the recovery timeout has passed (also done by try_acquire).
  void tick(clock::time_point now);

  void force_open(clock::time_point now, const std::string& reason);
  void force_close(clock::time_point now, const std::string& reason);
  void reset(clock::time_point now, const std::string& reason);
  void disable(clock::time_point now, const std::string& reason);

  breaker_state state() const {
    return state_;
  }
  // When OPEN: when HALF_OPEN may begin.
  clock::time_point open_until() const {
    return open_until_;
  }

  // The transitions since the last call, oldest first.
  std::vector<transition> take_transitions();

  // Counters and the window; the actor adds the endpoint's name, timeouts and retries.
  breaker_stats stats(clock::time_point now) const;

private:
  void move_to(breaker_state next, clock::time_point now, std::string reason);
  void clear_window();
  double failure_rate() const;

  breaker_settings settings_;
  breaker_state state_ = breaker_state::closed;
  clock::time_point since_;
  clock::time_point open_until_;
  uint64_t epoch_ = 1;
  // The sliding window: the last window_size outcomes, true for a failure.
  std::vector<bool> window_;
  size_t window_next_ = 0;
  uint32_t window_filled_ = 0;
  uint32_t window_failures_ = 0;
  uint32_t consecutive_failures_ = 0;
  uint32_t trials_in_flight_ = 0;
  uint32_t trial_successes_ = 0;
  breaker_stats stats_;
  std::vector<transition> transitions_;
};

} // namespace brokedancer
