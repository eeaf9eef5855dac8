#pragma once

// A request budget an actor spends through the rate limiter (the breakers for an endpoint's
// requests, the bot hosts for a bot's orders). When the limiter cannot answer (Redis away: the
// Redis limiter fails a decision after at most 500 ms, and at once while it reconnects; the
// limiter restarting) the budget is kept by the actor itself on a table of its own, so that
// nothing waits on the limiter and the budget still holds on this node, and the switch is
// logged once each way. A budget the limiter calls invalid is refused, never kept locally.

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

#include <caf/error.hpp>

#include "actors/limiter/rate_table.hpp"
#include "core/logging.hpp"
#include "messages/errors.hpp"
#include "messages/rate_limiter.hpp"

namespace brokedancer {

struct request_budget {
  std::string name; // in the limiter: endpoint:<name>, bot:<id>:orders
  rate_limit limit;
  // Wait for the budget (within the call's deadline) rather than refuse at once.
  bool wait = true;
};

// The longest a Redis limiter waits for Redis before it fails a decision (its command timeout
// is capped to this): a Redis round trip is well under a millisecond; one that takes this long
// is not coming soon.
constexpr auto limiter_answer_timeout = std::chrono::milliseconds(500);

// The wait a refusal without a decision suggests: a window, kept within what a limit may say
// (a bad limit's 0 or negative window would have its caller ask again at once).
inline int64_t retry_within_bounds(int64_t window_ms) {
  return std::clamp<int64_t>(window_ms, 1, max_rate_window_ms);
}

class budget_keeper {
public:
  // `who` names the owner in the log lines (an endpoint, a bot).
  explicit budget_keeper(std::string who) : who_(std::move(who)) {}

  // Spends one request of `budget` (held by the actor's state: it is not copied per call):
  // then(decision) on the actor, from the limiter or, when it
  // cannot answer, from the keeper's own table -- at once (before spend returns) when there is
  // no limiter. No timeout of CAF's on the request (one costs a round through CAF's clock
  // thread per call): the limiter answers within limiter_answer_timeout, or is down, which
  // CAF answers at once.
  template <class Self, class Then>
  void spend(Self* self, const rate_limiter_actor& limiter, const request_budget& budget,
             const logger& log, Then then) {
    if (!limiter) {
      then(local(budget));
      return;
    }
    self->request(limiter, caf::infinite, take_atom::value, budget.name, budget.limit, uint32_t{1})
        .then(
            [this, &log, then](rate_decision& decision) mutable {
              shared_again(log);
              then(decision);
            },
            [this, self, &log, &budget, then](caf::error& err) mutable {
              if (is(err, errc::invalid_argument)) {
                log.warn("a request budget is not one the rate limiter can keep; refused",
                         {{"for", who_}, {"error", self->system().render(err)}});
                then(rate_decision{false, 0, retry_within_bounds(budget.limit.window_ms)});
                return;
              }
              went_local(log, self->system().render(err));
              then(local(budget));
            });
  }

  // Decisions made without the limiter.
  uint64_t local_decisions() const {
    return local_decisions_;
  }

private:
  rate_decision local(const request_budget& budget) {
    ++local_decisions_;
    if (!check_rate_request(budget.name, budget.limit, 1).empty())
      return rate_decision{false, 0, retry_within_bounds(budget.limit.window_ms)};
    auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
                   .count();
    // One name per keeper: its table never fills.
    if (auto decision = table_.take(budget.name, budget.limit, 1, now))
      return *decision;
    return rate_decision{false, 0, budget.limit.window_ms};
  }

  void went_local(const logger& log, const std::string& error) {
    if (local_)
      return;
    local_ = true;
    log.warn("the rate limiter cannot be asked; this node keeps the request budget on its own "
             "until it answers again",
             {{"for", who_}, {"error", error}});
  }

  void shared_again(const logger& log) {
    if (!local_)
      return;
    local_ = false;
    log.info("the rate limiter answers again; the shared request budget applies", {{"for", who_}});
  }

  std::string who_;
  rate_table table_{16, max_sliding_window_limit};
  bool local_ = false;
  uint64_t local_decisions_ = 0;
};

} // namespace brokedancer
