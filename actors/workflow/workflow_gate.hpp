#pragma once

// Whether a triggered execution of one workflow may start, apart from any actor: the emergency
// level, the executions of the workflow still running, and the workflow's own circuit breaker
// (failed executions open it; while it is open a trigger fails fast instead of running nodes
// against a venue that keeps failing). Time comes in as an argument.

#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/resilience/breaker_machine.hpp"

namespace brokedancer {

enum class start_verdict {
  start,        // go: hand the permit back to ended()
  held,         // the level is HALT or higher: nothing starts until it is lowered
  busy,         // as many executions of it as allowed are still running: this trigger is skipped
  breaker_open, // its breaker is open: refused without running a node
};

const char* to_string(start_verdict verdict);

class workflow_gate {
public:
  using clock = breaker_machine::clock;

  struct admission {
    start_verdict verdict = start_verdict::held;
    breaker_machine::permit permit;
  };

  workflow_gate(uint32_t max_running, breaker_settings breaker, clock::time_point now);

  // Counts the trigger under its verdict; a `start` counts as running until ended().
  admission admit(bool trading_allowed, clock::time_point now);

  // An execution admitted with `permit` ended with `status` (completed, failed, halted,
  // cancelled). Only a completed or failed one is evidence about the workflow: a halted or
  // cancelled one (or one whose end is unknown: "lost") gives back its trial slot and decides
  // nothing.
  void ended(const breaker_machine::permit& permit, const std::string& status,
             const std::string& why, clock::time_point now);

  breaker_machine& breaker() {
    return breaker_;
  }

  uint32_t running() const {
    return running_;
  }

  // Counters and the breaker's state and stats (its `rejected`: the triggers it refused).
  nlohmann::json stats(clock::time_point now) const;

private:
  uint32_t max_running_;
  uint32_t running_ = 0;
  breaker_machine breaker_;
  uint64_t started_ = 0;
  uint64_t completed_ = 0;
  uint64_t failed_ = 0;
  uint64_t halted_ = 0;
  uint64_t cancelled_ = 0;
  uint64_t lost_ = 0; // started by an earlier incarnation of the executor, ended unseen
  uint64_t held_ = 0;
  uint64_t skipped_busy_ = 0;
  std::string last_status_;
};

} // namespace brokedancer
