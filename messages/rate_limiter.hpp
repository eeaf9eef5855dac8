#pragma once

// The rate limiter's contract: every backend (memory, Redis) answers the same decision for the
// same sequence of requests, and every client (the breakers, the bots) speaks only this.
//
// A decision is made for a name (a budget: "endpoint:exchange", "bot:a-bot-1:orders", or a
// strategy's own) under a limit given with the request, so a caller can change its limit
// without anyone's help. Two algorithms:
//  - sliding_window: at most `limit` requests in any `window_ms` (a log of the admitted
//    requests, exact; one entry per request, hence the lower bound on `limit`);
//  - token_bucket: a bucket of `limit` tokens refilled at `limit` per `window_ms` (the tokens
//    left and when they were counted, per name: bursts of `limit` pass and the long-run rate
//    is held).
// The Redis backend decides in one script on the Redis server's clock, so every node sharing a
// Redis shares the budget and agrees on time.
//
// Errors (caf::error with errc): invalid_argument (empty or oversized name, a limit of 0 or
// above the algorithm's bound, a window outside 1 ms .. 1 day, a cost of 0, above the limit or
// above max_rate_cost),
// store_unavailable (Redis cannot be reached: no decision was made).

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"

namespace brokedancer {

enum class rate_algorithm : uint8_t { sliding_window, token_bucket };

std::string to_string(rate_algorithm algorithm);
bool from_string(const std::string& text, rate_algorithm& algorithm);

constexpr bool is_valid(rate_algorithm algorithm) {
  return algorithm <= rate_algorithm::token_bucket;
}

struct rate_limit {
  rate_algorithm algorithm = rate_algorithm::sliding_window;
  uint32_t limit = 0;    // requests per window (token_bucket: also the largest burst)
  int64_t window_ms = 0; // 1 .. max_rate_window_ms
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rate_limit& x) {
  return f(caf::meta::type_name("rate_limit"), x.algorithm, x.limit, x.window_ms);
}

struct rate_decision {
  bool allowed = false;
  uint32_t remaining = 0;     // requests of cost 1 that would pass right after this one
  int64_t retry_after_ms = 0; // refused: wait this long and the same request passes; else 0
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rate_decision& x) {
  return f(caf::meta::type_name("rate_decision"), x.allowed, x.remaining, x.retry_after_ms);
}

struct limiter_status {
  std::string backend;    // "memory" or "redis"
  bool available = false; // false while the Redis backend is disconnected
  uint64_t decisions = 0; // requests answered with a decision
  uint64_t refused = 0;   // of those, not allowed
  uint64_t failures = 0;  // requests answered with store_unavailable
  uint64_t names = 0;     // memory: names with live state; redis: not counted (0)
  std::string last_error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, limiter_status& x) {
  return f(caf::meta::type_name("limiter_status"), x.backend, x.available, x.decisions, x.refused,
           x.failures, x.names, x.last_error);
}

// Bounds of a request. A sliding window keeps one entry per admitted request in its window.
constexpr uint32_t max_sliding_window_limit = 100000;
constexpr uint32_t max_token_bucket_limit = 1000000000;
constexpr int64_t max_rate_window_ms = 24 * 3600 * 1000;
constexpr size_t max_rate_name_bytes = 256;
// The most one request may take at once: a sliding window adds one entry per unit, in one
// script on Redis, which every other client of that Redis waits for.
constexpr uint32_t max_rate_cost = 1000;

// Why a request cannot be decided (empty when it can): what is wrong and the bound.
std::string check_rate_request(const std::string& name, const rate_limit& limit, uint32_t cost);

using take_atom = caf::atom_constant<caf::atom("rate_take")>;

using rate_limiter_actor = caf::typed_actor<
    // (name, limit, cost): takes `cost` requests from the name's budget when they fit, and says
    // so; a refused request takes nothing.
    caf::replies_to<take_atom, std::string, rate_limit, uint32_t>::with<rate_decision>,
    caf::replies_to<status_atom>::with<limiter_status>>;

} // namespace brokedancer
