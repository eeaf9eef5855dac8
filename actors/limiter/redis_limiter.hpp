#pragma once

// The Redis rate limiter: each decision one EVALSHA of a script (actors/limiter/limiter_scripts)
// on the shared Redis, so that every node sharing it shares each name's budget, timed by the
// server's clock. Keys: <prefix>ratelimit:sw:<name> and ratelimit-seq:<name> (sliding window),
// <prefix>ratelimit:tb:<name> (token bucket); each expires once its budget is whole again.
// Like the Redis store it answers at once with store_unavailable while Redis is away -- and,
// unlike it, while the connection is being made again, and after at most 500 ms without an
// answer: the caller then decides without the shared budget (the breakers and bots keep one of
// their own), and a decision made late on Redis would spend the budget twice. Its connection is
// driven by CAF's multiplexer.

#include <string>

#include <caf/fwd.hpp>

#include "actors/redis/redis_connection.hpp"
#include "messages/rate_limiter.hpp"

namespace brokedancer {

struct redis_limiter_options {
  redis_connection_options connection;
  std::string key_prefix;
};

rate_limiter_actor spawn_redis_limiter(caf::actor_system& sys, redis_limiter_options options);

} // namespace brokedancer
