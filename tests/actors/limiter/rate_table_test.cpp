// The rate limiter's decisions as plain code, on a clock the test holds: the answers below are
// worked out by hand from the definitions in actors/limiter/rate_table.hpp.

#include <cmath>

#include <catch2/catch.hpp>

#include "actors/limiter/rate_table.hpp"
#include "support/rate_limits.hpp"

using namespace brokedancer;
using testing::bucket;
using testing::sliding;

namespace {

constexpr int64_t ms = 1000; // in microseconds

} // namespace

TEST_CASE("a sliding window admits its limit within any window and tells how long the next "
          "must wait",
          "[limiter]") {
  std::deque<int64_t> log;
  auto limit = sliding(3, 1000);
  CHECK(decide_sliding_window(log, limit, 1, 0).remaining == 2);
  CHECK(decide_sliding_window(log, limit, 1, 100 * ms).remaining == 1);
  auto third = decide_sliding_window(log, limit, 1, 200 * ms);
  CHECK(third.allowed);
  CHECK(third.remaining == 0);
  // The fourth waits until the first (at 0) leaves the window, at 1000 ms.
  auto fourth = decide_sliding_window(log, limit, 1, 300 * ms);
  CHECK_FALSE(fourth.allowed);
  CHECK(fourth.remaining == 0);
  CHECK(fourth.retry_after_ms == 700);
  CHECK(log.size() == 3); // a refused request takes nothing
  // One microsecond early: still refused, and told to wait the rest (rounded up).
  auto early = decide_sliding_window(log, limit, 1, 1000 * ms - 1);
  CHECK_FALSE(early.allowed);
  CHECK(early.retry_after_ms == 1);
  auto on_time = decide_sliding_window(log, limit, 1, 1000 * ms);
  CHECK(on_time.allowed);
  CHECK(on_time.remaining == 0);
}

TEST_CASE("a sliding window weighs a request's cost, waiting for as many to leave as it needs",
          "[limiter]") {
  std::deque<int64_t> log;
  auto limit = sliding(5, 1000);
  CHECK(decide_sliding_window(log, limit, 2, 0).remaining == 3);
  CHECK(decide_sliding_window(log, limit, 1, 400 * ms).remaining == 2);
  // 3 in the window, 4 asked: 2 must leave first; the second of them left at 0 too.
  auto big = decide_sliding_window(log, limit, 4, 500 * ms);
  CHECK_FALSE(big.allowed);
  CHECK(big.remaining == 2);
  CHECK(big.retry_after_ms == 500);
  auto later = decide_sliding_window(log, limit, 4, 1000 * ms);
  CHECK(later.allowed);
  CHECK(later.remaining == 0);
}

TEST_CASE("a token bucket lets a burst of its limit through, then one request per interval",
          "[limiter]") {
  token_bucket_state b;
  auto limit = bucket(4, 1000); // a token every 250 ms
  for (uint32_t left : {3u, 2u, 1u, 0u}) {
    auto d = decide_token_bucket(b, limit, 1, 10 * 1000 * ms);
    CHECK(d.allowed);
    CHECK(d.remaining == left);
  }
  auto refused = decide_token_bucket(b, limit, 1, 10000 * ms);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after_ms == 250);
  auto next = decide_token_bucket(b, limit, 1, 10250 * ms);
  CHECK(next.allowed);
  CHECK(next.remaining == 0);
  // 750 ms later three tokens have come back; one is taken.
  auto refilled = decide_token_bucket(b, limit, 1, 11000 * ms);
  CHECK(refilled.allowed);
  CHECK(refilled.remaining == 2);
  // A cost of 3 needs three tokens: two are there, the third comes at 11250 ms.
  auto costly = decide_token_bucket(b, limit, 3, 11000 * ms);
  CHECK_FALSE(costly.allowed);
  CHECK(costly.remaining == 2);
  CHECK(costly.retry_after_ms == 250);
}

TEST_CASE("a token bucket whose interval is not a whole number of microseconds still admits "
          "exactly its limit",
          "[limiter]") {
  token_bucket_state b;
  auto limit = bucket(3, 1000); // 333333.33 us apart
  CHECK(decide_token_bucket(b, limit, 1, 5000 * ms).remaining == 2);
  CHECK(decide_token_bucket(b, limit, 1, 5000 * ms).remaining == 1);
  CHECK(decide_token_bucket(b, limit, 1, 5000 * ms).remaining == 0);
  auto fourth = decide_token_bucket(b, limit, 1, 5000 * ms);
  CHECK_FALSE(fourth.allowed);
  CHECK(fourth.retry_after_ms == 334);
  // After a whole window the bucket is full again.
  CHECK(decide_token_bucket(b, limit, 1, 6000 * ms).remaining == 2);
}

TEST_CASE("a token bucket keeps its burst exact at today's clock, whatever its interval",
          "[limiter]") {
  // Microseconds since the epoch in 2025: a double holds them only to 0.25 us, so a state
  // kept as a time moved on by 1000/7 ms per request lost the seventh of a burst of seven.
  const int64_t now = 1'751'000'000'123'456;
  for (uint32_t limit : {7u, 3u, 13u, 999u}) {
    token_bucket_state b;
    for (uint32_t left = limit; left-- > 0;) {
      auto d = decide_token_bucket(b, bucket(limit, 1000), 1, now);
      REQUIRE(d.allowed);
      CHECK(d.remaining == left);
    }
    auto refused = decide_token_bucket(b, bucket(limit, 1000), 1, now);
    CHECK_FALSE(refused.allowed);
    CHECK(refused.retry_after_ms == ceil_ms(std::ceil(1e6 / limit)));
    // One interval later exactly one more passes.
    auto next = now + static_cast<int64_t>(std::ceil(1e6 / limit));
    CHECK(decide_token_bucket(b, bucket(limit, 1000), 1, next).allowed);
    CHECK_FALSE(decide_token_bucket(b, bucket(limit, 1000), 1, next).allowed);
  }
}

TEST_CASE("requests a limiter cannot decide are refused with what is wrong", "[limiter]") {
  CHECK(check_rate_request("api", sliding(10, 1000), 1).empty());
  CHECK(check_rate_request("", sliding(10, 1000), 1) == "a rate limiter needs a name");
  CHECK_FALSE(check_rate_request(std::string(257, 'x'), sliding(10, 1000), 1).empty());
  CHECK(check_rate_request("api", sliding(0, 1000), 1).find("1 .. 100000") != std::string::npos);
  CHECK_FALSE(check_rate_request("api", sliding(100001, 1000), 1).empty());
  CHECK(check_rate_request("api", bucket(100001, 1000), 1).empty());
  CHECK(check_rate_request("api", sliding(10, -1), 1).find("window") != std::string::npos);
  CHECK_FALSE(check_rate_request("api", sliding(10, 0), 1).empty());
  CHECK_FALSE(check_rate_request("api", sliding(10, max_rate_window_ms + 1), 1).empty());
  CHECK(check_rate_request("api", sliding(10, 1000), 11).find("never pass") != std::string::npos);
  CHECK_FALSE(check_rate_request("api", sliding(10, 1000), 0).empty());
  auto unknown = sliding(10, 1000);
  unknown.algorithm = static_cast<rate_algorithm>(7);
  CHECK(check_rate_request("api", unknown, 1).find("unknown") != std::string::npos);
}

TEST_CASE("the table keeps budgets apart by name and algorithm, and within its bounds",
          "[limiter]") {
  rate_table table{2, 5};
  REQUIRE(table.take("a", sliding(1, 1000), 1, 0)->allowed);
  CHECK_FALSE(table.take("a", sliding(1, 1000), 1, 0)->allowed);
  CHECK(table.take("a", bucket(1, 1000), 1, 0)->allowed); // another budget
  // A third name is one too many while the first two hold state...
  CHECK_FALSE(table.take("b", sliding(1, 1000), 1, 500 * ms).has_value());
  // ...and fits once theirs has expired.
  auto later = table.take("b", sliding(1, 1000), 1, 1000 * ms);
  REQUIRE(later.has_value());
  CHECK(later->allowed);
  CHECK(table.names() == 1);
  // Sliding-window entries are bounded over all names.
  CHECK(table.take("c", sliding(10, 1000), 4, 1000 * ms)->allowed);
  CHECK_FALSE(table.take("c", sliding(10, 1000), 1, 1000 * ms).has_value());
}

TEST_CASE("a clock read that goes backwards counts as the latest one", "[limiter]") {
  rate_table table;
  REQUIRE(table.take("a", sliding(1, 1000), 1, 5000 * ms)->allowed);
  auto earlier = table.take("a", sliding(1, 1000), 1, 4000 * ms);
  CHECK_FALSE(earlier->allowed);
  CHECK(earlier->retry_after_ms == 1000);
}
