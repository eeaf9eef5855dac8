#include "actors/resilience/breaker_machine.hpp"

#include <algorithm>
#include <cstdio>

#include "core/unix_time.hpp"

namespace brokedancer {

namespace {

std::string percent(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", value);
  return text;
}

} // namespace

breaker_machine::breaker_machine(breaker_settings settings, clock::time_point now)
  : settings_(settings), since_(now), open_until_(now) {
  settings_.window_size = std::max<uint32_t>(settings_.window_size, 1);
  settings_.half_open_calls = std::max<uint32_t>(settings_.half_open_calls, 1);
  settings_.success_threshold = std::max<uint32_t>(settings_.success_threshold, 1);
  window_.assign(settings_.window_size, false);
}

breaker_machine::permit breaker_machine::try_acquire(clock::time_point now) {
  tick(now);
  switch (state_) {
    case breaker_state::closed:
    case breaker_state::disabled: return {true, epoch_, false};
    case breaker_state::half_open:
      if (trials_in_flight_ < settings_.half_open_calls) {
        ++trials_in_flight_;
        return {true, epoch_, true};
      }
      break;
    case breaker_state::open:
    case breaker_state::forced_open: break;
  }
  ++stats_.rejected;
  return {};
}

bool breaker_machine::would_admit(clock::time_point now) const {
  switch (state_) {
    case breaker_state::closed:
    case breaker_state::disabled: return true;
    case breaker_state::half_open: return trials_in_flight_ < settings_.half_open_calls;
    case breaker_state::open: return now >= open_until_; // try_acquire's tick opens the trials
    case breaker_state::forced_open: return false;
  }
  return false;
}

void breaker_machine::release(const permit& granted) {
  if (granted.trial && granted.epoch == epoch_ && state_ == breaker_state::half_open
      && trials_in_flight_ > 0)
    --trials_in_flight_;
}

void breaker_machine::record(const permit& granted, bool success, bool slow, clock::time_point now,
                             const std::string& failure) {
  ++stats_.calls;
  bool failed = !success || slow;
  if (slow)
    ++stats_.slow_calls;
  if (failed) {
    ++stats_.failures;
    stats_.last_failure = failure.empty() ? std::string{"slow call"} : failure;
    stats_.last_failure_at_us = now_us();
  } else {
    ++stats_.successes;
  }
  if (granted.epoch != epoch_ || state_ == breaker_state::disabled)
    return; // let through before the last transition: it decides nothing now
  if (state_ == breaker_state::half_open) {
    if (granted.trial && trials_in_flight_ > 0)
      --trials_in_flight_;
    if (failed) {
      move_to(breaker_state::open, now, "a trial call failed: " + stats_.last_failure);
      return;
    }
    if (++trial_successes_ >= settings_.success_threshold)
      move_to(breaker_state::closed, now,
              std::to_string(trial_successes_) + " trial calls succeeded");
    return;
  }
  if (state_ != breaker_state::closed)
    return;
  // The window: drop the oldest outcome once it is full, add this one.
  if (window_filled_ == settings_.window_size) {
    if (window_[window_next_])
      --window_failures_;
  } else {
    ++window_filled_;
  }
  window_[window_next_] = failed;
  window_next_ = (window_next_ + 1) % settings_.window_size;
  if (failed)
    ++window_failures_;
  consecutive_failures_ = failed ? consecutive_failures_ + 1 : 0;
  if (settings_.failure_threshold > 0 && consecutive_failures_ >= settings_.failure_threshold) {
    move_to(breaker_state::open, now,
            std::to_string(consecutive_failures_)
                + " consecutive failures, the last: " + stats_.last_failure);
    return;
  }
  if (settings_.failure_rate_threshold > 0 && window_filled_ >= settings_.minimum_calls
      && failure_rate() >= settings_.failure_rate_threshold) {
    move_to(breaker_state::open, now,
            "failure rate " + percent(failure_rate()) + " of the last "
                + std::to_string(window_filled_) + " calls reached the threshold of "
                + percent(settings_.failure_rate_threshold));
  }
}

void breaker_machine::tick(clock::time_point now) {
  if (state_ == breaker_state::open && now >= open_until_)
    move_to(breaker_state::half_open, now,
            "recovery timeout of " + std::to_string(settings_.recovery_timeout.count())
                + " ms passed; letting trial calls through");
}

void breaker_machine::force_open(clock::time_point now, const std::string& reason) {
  move_to(breaker_state::forced_open, now, "forced open: " + reason);
}

void breaker_machine::force_close(clock::time_point now, const std::string& reason) {
  move_to(breaker_state::closed, now, "forced closed: " + reason);
}

void breaker_machine::reset(clock::time_point now, const std::string& reason) {
  // A fresh start: the counters too, so that stats describe the endpoint since the reset.
  stats_ = breaker_stats{};
  move_to(breaker_state::closed, now, "reset: " + reason);
}

void breaker_machine::disable(clock::time_point now, const std::string& reason) {
  move_to(breaker_state::disabled, now, "disabled: " + reason);
}

std::vector<breaker_machine::transition> breaker_machine::take_transitions() {
  auto result = std::move(transitions_);
  transitions_.clear();
  return result;
}

breaker_stats breaker_machine::stats(clock::time_point now) const {
  auto stats = stats_;
  stats.state = state_;
  stats.in_state_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - since_).count();
  stats.failure_rate = failure_rate();
  stats.window_calls = window_filled_;
  return stats;
}

void breaker_machine::move_to(breaker_state next, clock::time_point now, std::string reason) {
  auto previous = state_;
  state_ = next;
  since_ = now;
  ++epoch_;
  trials_in_flight_ = 0;
  trial_successes_ = 0;
  if (next == breaker_state::open)
    open_until_ = now + settings_.recovery_timeout;
  if (next == breaker_state::closed || next == breaker_state::half_open)
    clear_window();
  ++stats_.transitions;
  transitions_.push_back({previous, next, std::move(reason)});
}

void breaker_machine::clear_window() {
  std::fill(window_.begin(), window_.end(), false);
  window_next_ = 0;
  window_filled_ = 0;
  window_failures_ = 0;
  consecutive_failures_ = 0;
}

double breaker_machine::failure_rate() const {
  return window_filled_ == 0 ? 0.0 : 100.0 * window_failures_ / window_filled_;
}

} // namespace brokedancer
