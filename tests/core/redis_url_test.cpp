#include <catch2/catch.hpp>

#include "core/redis_url.hpp"

using namespace brokedancer;

TEST_CASE("redis URLs carry host, port, database and optional credentials") {
  std::string problem;
  auto plain = parse_redis_url("redis://10.1.2.3:6380/4", problem);
  REQUIRE(plain);
  CHECK(plain->host == "10.1.2.3");
  CHECK(plain->port == 6380);
  CHECK(plain->db == 4);
  CHECK(plain->password.empty());

  auto with_password = parse_redis_url("redis://:p@ss:w0rd@cache:6379/0", problem);
  REQUIRE(with_password);
  CHECK(with_password->password == "p@ss:w0rd");
  CHECK(with_password->host == "cache");

  auto with_user = parse_redis_url("redis://trader:pw@cache/1", problem);
  REQUIRE(with_user);
  CHECK(with_user->username == "trader");
  CHECK(with_user->port == 6379);
  CHECK(with_user->db == 1);

  auto bare = parse_redis_url("redis://localhost", problem);
  REQUIRE(bare);
  CHECK(bare->port == 6379);
  CHECK(bare->db == 0);
}

TEST_CASE("malformed redis URLs say what is wrong") {
  std::string problem;
  CHECK_FALSE(parse_redis_url("http://localhost:6379/0", problem));
  CHECK(problem.find("scheme") != std::string::npos);
  CHECK_FALSE(parse_redis_url("redis://:6379/0", problem));
  CHECK(problem.find("host") != std::string::npos);
  CHECK_FALSE(parse_redis_url("redis://h:0/0", problem));
  CHECK(problem.find("port") != std::string::npos);
  CHECK_FALSE(parse_redis_url("redis://h:6379/x", problem));
  CHECK(problem.find("database") != std::string::npos);
  CHECK_FALSE(parse_redis_url("redis://secretonly@h:6379/0", problem));
}
