#pragma once

// The Redis rate limiter's two decisions, each one Lua script run atomically on the Redis
// server and timed by its clock (TIME), so that every node sharing the server agrees. They do
// the arithmetic of actors/limiter/rate_table.cpp, step for step.
//
// Both take the limit, the window in microseconds and the cost as arguments and answer
// {allowed (0/1), remaining, retry_after_us}.

#include <optional>
#include <string>

#include "actors/redis/redis_protocol.hpp"
#include "messages/rate_limiter.hpp"

namespace brokedancer::limiter_scripts {

// KEYS: the log (a sorted set: score = admission time in us, members unique by a sequence),
// the sequence counter.
extern const std::string sliding_window;
// KEYS: the bucket (a hash: the tokens left, and when they were counted).
extern const std::string token_bucket;

// The SHA1 of a script, as EVALSHA names it (40 lowercase hex digits).
std::string sha1_hex(const std::string& script);

// The decision in a script's reply, or nullopt when the reply is not one (a server that is not
// Redis, or a key of another type: the caller answers with the reply's error).
std::optional<rate_decision> read_decision(const redis_reply& reply, uint32_t limit);

} // namespace brokedancer::limiter_scripts
