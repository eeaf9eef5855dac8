#pragma once

// The Redis backend's leases, as Lua scripts: each decision is one atomic step on the server,
// timed by the server's clock (TIME), so every node sharing the Redis agrees on who holds what.
// A lease is a key lease:<name> with a PX expiry whose value is JSON {holder, token, fence,
// granted_ms}; lease-fence:<name> counts the grants (INCR, and never below the server's clock in
// milliseconds: it only grows, even across a lost counter). A value that is not
// such JSON (someone else wrote the key) is treated as held by nobody we know: never overwritten,
// never released.

#include <optional>
#include <string>

#include "actors/redis/redis_protocol.hpp"
#include "messages/state_store.hpp"

namespace brokedancer::lease_scripts {

// The holder's lease as a Lua table, or nil.
#define BROKEDANCER_LEASE_PRELUDE                                                                  \
  "local function now_ms() local t = redis.call('TIME') "                                          \
  "return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end "                          \
  "local function lease_of(value) if not value then return nil end "                               \
  "local ok, l = pcall(cjson.decode, value) "                                                      \
  "if ok and type(l) == 'table' and type(l.token) == 'string' then return l end return nil end "

// KEYS: lease, fence counter. ARGV: holder, token, ttl_ms.
// Reply: {held (1/0), value or "", pttl, now_ms}.
inline const char* acquire = BROKEDANCER_LEASE_PRELUDE
    "local cur = redis.call('GET', KEYS[1]) "
    "if cur then "
    "  local l = lease_of(cur) "
    "  if l and l.token == ARGV[2] then "
    "    redis.call('PEXPIRE', KEYS[1], ARGV[3]) "
    "    return {1, cur, tonumber(ARGV[3]), now_ms()} end "
    "  return {0, cur, redis.call('PTTL', KEYS[1]), now_ms()} end "
    "local fence = redis.call('INCR', KEYS[2]) "
    // Never below the server's clock in ms: a counter lost (a Redis without persistence
    // restarted, a clear) does not start again below fences an exchange has seen.
    "if fence < now_ms() then fence = now_ms() redis.call('SET', KEYS[2], fence) end "
    "local value = cjson.encode({holder = ARGV[1], token = ARGV[2], fence = fence, "
    "                            granted_ms = now_ms()}) "
    "redis.call('SET', KEYS[1], value, 'NX', 'PX', ARGV[3]) "
    "return {1, value, tonumber(ARGV[3]), now_ms()}";

// KEYS: lease. ARGV: token, ttl_ms. Reply: 1 when extended, 0 when not held by the token.
inline const char* renew = BROKEDANCER_LEASE_PRELUDE
    "local l = lease_of(redis.call('GET', KEYS[1])) "
    "if l and l.token == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end "
    "return 0";

// KEYS: lease. ARGV: token. Reply: 1 when released, 0 when not held by the token (compare and
// delete: never another's).
inline const char* release = BROKEDANCER_LEASE_PRELUDE
    "local l = lease_of(redis.call('GET', KEYS[1])) "
    "if l and l.token == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end "
    "return 0";

// KEYS: lease. Reply: {held (1/0), value or "", pttl, now_ms}.
inline const char* status =
    BROKEDANCER_LEASE_PRELUDE "local cur = redis.call('GET', KEYS[1]) "
                              "if not cur then return {0, '', 0, now_ms()} end "
                              "return {1, cur, redis.call('PTTL', KEYS[1]), now_ms()}";

// KEYS: key, lease. ARGV: value, ttl_ms (0: none), token. Writes only while the token holds
// the lease; otherwise the error LEASE_LOST.
inline const char* set_fenced = BROKEDANCER_LEASE_PRELUDE
    "local l = lease_of(redis.call('GET', KEYS[2])) "
    "if not (l and l.token == ARGV[3]) then "
    "  return redis.error_reply('LEASE_LOST the lease is not held by this writer') end "
    "if tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
    "else redis.call('SET', KEYS[1], ARGV[1]) end "
    "return redis.status_reply('OK')";

#undef BROKEDANCER_LEASE_PRELUDE

// The grant an acquire or status reply describes; nullopt when the reply is not one (a hostile
// or broken server). `with_token`: keep the token (only for the caller's own lease).
std::optional<lease_grant> read_grant(const redis_reply& reply, bool with_token);

} // namespace brokedancer::lease_scripts
