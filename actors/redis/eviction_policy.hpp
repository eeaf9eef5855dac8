#pragma once

// Whether a Redis may be trusted with keys that must stay: the emergency level, the books, the
// order journal and the leases. A Redis whose maxmemory-policy is allkeys-* (allkeys-lru, as the
// Python infrastructure's example redis.conf sets it) evicts any key once it reaches maxmemory --
// the kill switch could vanish and a halted node resume trading. Every connection of a node
// checks it after logging in (actors/redis/redis_context.hpp) and refuses such a Redis; the
// volatile-* policies evict only keys with a TTL (the leases, the rate limiter's budgets, cached
// quotes), which the fencing and the budgets' own bounds absorb, and are taken.

#include <string>

namespace brokedancer {

// The refusal (empty when the Redis may be used), from the text of INFO memory (or INFO).
std::string eviction_refusal(const std::string& info);

} // namespace brokedancer
