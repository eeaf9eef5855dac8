#pragma once

// When a failed call to an endpoint is tried again, and after how long. Exponential backoff
// with full jitter: attempt n waits a uniformly random time in [0, min(max, initial * 2^(n-1))],
// which spreads the retries of many callers instead of sending them back together.

#include <chrono>
#include <cstdint>
#include <random>

#include <caf/error.hpp>

namespace brokedancer {

struct retry_settings {
  uint32_t max_attempts = 3; // the first call included; 1: never retry
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{2000};
};

// Errors worth another attempt: the endpoint could not be reached, did not answer in time, was
// busy, or its adapter restarted. Refusals (a bad request, an open breaker) are not.
bool retryable(const caf::error& err);

// Answers worth another attempt: 5xx and 429 (rate limited).
bool retryable_status(int32_t status);

// The wait before attempt number `failed_attempts` + 1.
std::chrono::milliseconds backoff(const retry_settings& settings, uint32_t failed_attempts,
                                  std::mt19937_64& random);

} // namespace brokedancer
