#include "actors/resilience/retry_policy.hpp"

#include <algorithm>

#include <caf/sec.hpp>

#include "messages/errors.hpp"

namespace brokedancer {

bool retryable(const caf::error& err) {
  return is(err, errc::endpoint_unreachable) || is(err, errc::endpoint_timeout)
         || is(err, errc::endpoint_overloaded) || err == caf::sec::request_timeout
         || err == caf::sec::request_receiver_down;
}

bool retryable_status(int32_t status) {
  return status == 429 || (status >= 500 && status <= 599);
}

std::chrono::milliseconds backoff(const retry_settings& settings, uint32_t failed_attempts,
                                  std::mt19937_64& random) {
  auto shift = std::min<uint32_t>(failed_attempts > 0 ? failed_attempts - 1 : 0, 30);
  auto ceiling =
      std::min<int64_t>(settings.initial_backoff.count() << shift, settings.max_backoff.count());
  std::uniform_int_distribution<int64_t> full_jitter(0, std::max<int64_t>(ceiling, 0));
  return std::chrono::milliseconds(full_jitter(random));
}

} // namespace brokedancer
