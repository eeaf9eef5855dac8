#include "actors/redis/eviction_policy.hpp"

#include "actors/redis/redis_protocol.hpp"

namespace brokedancer {

std::string eviction_refusal(const std::string& info) {
  const std::string field = "maxmemory_policy:";
  auto at = info.find(field);
  // INFO lists fields one per line: the field must start one.
  while (at != std::string::npos && at > 0 && info[at - 1] != '\n')
    at = info.find(field, at + 1);
  if (at == std::string::npos)
    return "Redis did not say its maxmemory-policy (INFO memory has no maxmemory_policy): keys "
           "that must stay could be evicted. Allow INFO for this user, or use a Redis that says "
           "it";
  auto begin = at + field.size();
  auto end = info.find_first_of("\r\n", begin);
  auto policy = info.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  if (policy.rfind("allkeys-", 0) != 0)
    return {};
  return "Redis evicts any key once it reaches maxmemory (maxmemory-policy " + reply_excerpt(policy)
         + "): the emergency level, the books and the order journal could vanish with them. Set "
           "maxmemory-policy to noeviction (CONFIG SET maxmemory-policy noeviction, and in "
           "redis.conf), or use a Redis of its own for brokedancer";
}

} // namespace brokedancer
