#include <string>

#include <catch2/catch.hpp>

#include "messages/correlation.hpp"

using namespace brokedancer;

TEST_CASE("correlation ids are 16 hex digits and do not repeat") {
  auto a = new_correlation_id();
  auto b = new_correlation_id();
  CHECK(a.size() == 16);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a != b);
}
