// The buffer a producer keeps for a service that is away: plain code, no actor system.

#include <vector>

#include <catch2/catch.hpp>

#include "core/bounded_buffer.hpp"

using namespace brokedancer;

using numbers = std::vector<int>;

TEST_CASE(
    "a bounded buffer hands items out oldest first and takes unpublished ones back in front") {
  bounded_buffer<int> buffer{10};
  for (int p = 1; p <= 5; ++p)
    buffer.push(p);
  auto first = buffer.take(3);
  CHECK(first == numbers{1, 2, 3});
  buffer.push(6);
  buffer.put_back(first);
  CHECK(buffer.take(100) == numbers{1, 2, 3, 4, 5, 6});
  CHECK(buffer.empty());
  CHECK(buffer.dropped() == 0);
}

TEST_CASE("a full bounded buffer lets go of its oldest items and counts them") {
  bounded_buffer<int> buffer{3};
  for (int p = 1; p <= 5; ++p)
    buffer.push(p);
  CHECK(buffer.size() == 3);
  CHECK(buffer.dropped() == 2);
  auto taken = buffer.take(2);
  CHECK(taken == numbers{3, 4});
  buffer.push(6);
  buffer.push(7);
  // Put back in front of 5, 6, 7: five for three places, the two oldest go, and are counted.
  buffer.put_back(taken);
  CHECK(buffer.take(10) == numbers{5, 6, 7});
  CHECK(buffer.dropped() == 4);
}
