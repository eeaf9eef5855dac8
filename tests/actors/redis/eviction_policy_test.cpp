// Which Redis a node takes, by its eviction policy: plain code, no Redis.

#include <catch2/catch.hpp>

#include "actors/redis/eviction_policy.hpp"

using namespace brokedancer;
using Catch::Matchers::Contains;

namespace {

std::string info_with(const std::string& policy) {
  return "# Memory\r\nused_memory:1015960\r\nmaxmemory:268435456\r\nmaxmemory_human:256.00M\r\n"
         "maxmemory_policy:"
         + policy + "\r\nallocator_frag_ratio:1.20\r\n";
}

} // namespace

TEST_CASE("a Redis that never evicts, or evicts only keys with a TTL, is taken") {
  CHECK(eviction_refusal(info_with("noeviction")).empty());
  CHECK(eviction_refusal(info_with("volatile-lru")).empty());
  CHECK(eviction_refusal(info_with("volatile-ttl")).empty());
}

TEST_CASE("a Redis that may evict any key is refused, with the policy and the fix") {
  for (const auto* policy : {"allkeys-lru", "allkeys-lfu", "allkeys-random"}) {
    auto why = eviction_refusal(info_with(policy));
    CHECK_THAT(why, Contains(std::string{"maxmemory-policy "} + policy));
    CHECK_THAT(why, Contains("noeviction"));
  }
}

TEST_CASE("a Redis that does not say its policy is refused rather than trusted") {
  CHECK_THAT(eviction_refusal("# Memory\r\nused_memory:1\r\n"), Contains("did not say"));
  // Only a field at the start of a line counts.
  CHECK_FALSE(eviction_refusal("x_maxmemory_policy:noeviction\r\n").empty());
}
