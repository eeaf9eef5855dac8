#include "actors/limiter/limiter_scripts.hpp"

#include <algorithm>
#include <cstdio>

#include <openssl/evp.h>

#include "actors/limiter/rate_table.hpp"

namespace brokedancer::limiter_scripts {

namespace {

// What both scripts begin with: the server's clock in microseconds, and the request.
const char* const preamble = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
)lua";

} // namespace

// ZREMRANGEBYSCORE takes out what left the window (scores at or before now - window, as in
// decide_sliding_window); members are the sequence's numbers, unique whatever the clock does.
// ZADD goes in slices: Lua's unpack() has a stack of some 8000 values.
const std::string sliding_window = std::string{preamble} + R"lua(
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count + cost > limit then
  local index = count + cost - limit - 1
  local oldest = redis.call('ZRANGE', KEYS[1], index, index, 'WITHSCORES')
  local remaining = limit - count
  if remaining < 0 then remaining = 0 end
  return {0, remaining, tonumber(oldest[2]) + window - now}
end
local last = redis.call('INCRBY', KEYS[2], cost)
local first = last - cost + 1
local slice = {}
for n = first, last do
  slice[#slice + 1] = now
  slice[#slice + 1] = n
  if #slice >= 2000 or n == last then
    redis.call('ZADD', KEYS[1], unpack(slice))
    slice = {}
  end
end
local ttl = math.ceil(window / 1000) + 1
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return {1, limit - count - cost, 0}
)lua";

// As decide_token_bucket: a hash of the tokens left (t) and the time they were counted (l, in
// us, a whole number: exact in a double). Tokens are kept, not a time since the epoch plus
// fractions of an interval, which a double holds only to a quarter of a microsecond there.
// Written with 17 digits (Lua's tostring keeps 14).
const std::string token_bucket = std::string{preamble} + R"lua(
local state = redis.call('HMGET', KEYS[1], 't', 'l')
local tokens = tonumber(state[1])
local last = tonumber(state[2])
-- A bucket that is not one (missing, or written by someone else as nan or inf) starts full.
local function bad(x) return x == nil or x ~= x or x == math.huge or x == -math.huge end
if bad(tokens) or bad(last) then
  tokens = limit
  last = now
end
if now > last then
  tokens = tokens + (now - last) * limit / window
  last = now
end
if tokens > limit then tokens = limit end
if tokens < 0 then tokens = 0 end
if tokens + 1e-9 < cost then
  return {0, math.floor(tokens + 1e-9), math.ceil((cost - tokens) * window / limit)}
end
tokens = tokens - cost
if tokens < 0 then tokens = 0 end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'l', string.format('%.17g', last))
redis.call('PEXPIRE', KEYS[1], math.ceil((limit - tokens) * window / limit / 1000) + 1)
return {1, math.floor(tokens + 1e-9), 0}
)lua";

std::string sha1_hex(const std::string& script) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(script.data(), script.size(), digest, &size, EVP_sha1(), nullptr);
  std::string hex;
  char byte[3];
  for (unsigned int i = 0; i < size; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

std::optional<rate_decision> read_decision(const redis_reply& reply, uint32_t limit) {
  using kind = redis_reply::kind;
  const auto& e = reply.elements;
  if (reply.type != kind::array || e.size() != 3 || e[0].type != kind::integer
      || e[1].type != kind::integer || e[2].type != kind::integer)
    return std::nullopt;
  rate_decision decision;
  decision.allowed = e[0].integer == 1;
  decision.remaining = static_cast<uint32_t>(std::clamp<int64_t>(e[1].integer, 0, limit));
  if (!decision.allowed) {
    // A refusal always has a wait: none means state the scripts did not write (a score of
    // +inf comes back as the lowest integer), and a caller would ask again every millisecond.
    if (e[2].integer <= 0)
      return std::nullopt;
    decision.retry_after_ms =
        ceil_ms(static_cast<double>(std::min<int64_t>(e[2].integer, max_rate_window_ms * 1000)));
  }
  return decision;
}

} // namespace brokedancer::limiter_scripts
