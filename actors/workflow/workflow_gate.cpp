#include "actors/workflow/workflow_gate.hpp"

#include <utility>

namespace brokedancer {

const char* to_string(start_verdict verdict) {
  switch (verdict) {
    case start_verdict::start: return "start";
    case start_verdict::held: return "held";
    case start_verdict::busy: return "busy";
    case start_verdict::breaker_open: return "breaker_open";
  }
  return "unknown";
}

workflow_gate::workflow_gate(uint32_t max_running, breaker_settings breaker, clock::time_point now)
  : max_running_(max_running == 0 ? 1 : max_running), breaker_(std::move(breaker), now) {
  // nop
}

workflow_gate::admission workflow_gate::admit(bool trading_allowed, clock::time_point now) {
  admission result;
  if (!trading_allowed) {
    ++held_;
    result.verdict = start_verdict::held;
    return result;
  }
  // Busy before the breaker: a skipped trigger must not take a HALF_OPEN trial slot.
  if (running_ >= max_running_) {
    ++skipped_busy_;
    result.verdict = start_verdict::busy;
    return result;
  }
  result.permit = breaker_.try_acquire(now);
  if (!result.permit.allowed) {
    result.verdict = start_verdict::breaker_open;
    return result;
  }
  ++running_;
  ++started_;
  result.verdict = start_verdict::start;
  return result;
}

void workflow_gate::ended(const breaker_machine::permit& permit, const std::string& status,
                          const std::string& why, clock::time_point now) {
  if (running_ > 0)
    --running_;
  last_status_ = status;
  if (status == "completed") {
    ++completed_;
    breaker_.record(permit, true, false, now, {});
  } else if (status == "halted" || status == "cancelled" || status == "lost") {
    ++(status == "halted" ? halted_ : status == "cancelled" ? cancelled_ : lost_);
    // Not the workflow's doing, nor evidence of its health; a trial's slot is given back.
    breaker_.release(permit);
  } else {
    ++failed_;
    breaker_.record(permit, false, false, now, why.empty() ? status : why);
  }
}

nlohmann::json workflow_gate::stats(clock::time_point now) const {
  auto b = breaker_.stats(now);
  return {{"running", running_},
          {"max_running", max_running_},
          {"started", started_},
          {"completed", completed_},
          {"failed", failed_},
          {"halted", halted_},
          {"cancelled", cancelled_},
          {"lost", lost_},
          {"held", held_},
          {"skipped_busy", skipped_busy_},
          {"last_status", last_status_},
          {"breaker",
           {{"state", to_string(breaker_.state())},
            {"in_state_ms", b.in_state_ms},
            {"calls", b.calls},
            {"successes", b.successes},
            {"failures", b.failures},
            {"rejected", b.rejected},
            {"transitions", b.transitions},
            {"failure_rate", b.failure_rate},
            {"last_failure", b.last_failure}}}};
}

} // namespace brokedancer
