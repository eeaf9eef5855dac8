#pragma once

// Market-data stream entries as Redis Streams keeps them: one field per tick member, numbers as
// the shortest decimal text that reads back to the same double, so any Redis client can read
// them (XRANGE stream:market:data - + shows symbol, price, bid, ask, volume, at_us). Everything
// read back is checked like a tick a client publishes: the stream is a shared key that anyone
// with access to the Redis can write.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "actors/redis/redis_protocol.hpp"
#include "messages/market_stream.hpp"

namespace brokedancer::stream_codec {

// The Redis key of a stream.
std::string key_of(const std::string& prefix, const std::string& stream);

// XADD key [MAXLEN ~ n] * symbol .. price .. bid .. ask .. volume .. at_us ..
std::vector<std::string> xadd(const std::string& key, const market_tick& tick,
                              const stream_settings& settings);
// XTRIM key MINID ~ <now - max_age>, for a stream with an age bound (nullopt without).
std::optional<std::vector<std::string>>
trim_by_age(const std::string& key, const stream_settings& settings, int64_t now_ms);

// One entry [id, [field, value, ...]]; false when it is not a tick.
bool decode_entry(const redis_reply& reply, stream_entry& entry);
// What a reply of entries held: the ticks, and what was not one.
struct decoded_entries {
  std::vector<stream_entry> entries;
  uint64_t rejected = 0;                 // entries that are not ticks
  std::vector<std::string> rejected_ids; // of those, the ones with an id (to acknowledge)
  std::string last_id;                   // of the last entry, tick or not: where to read on
};

// An array of entries; those that are not ticks are skipped and counted. A nil reply is no
// entries. False when the reply is not an array at all.
bool decode_entries(const redis_reply& reply, decoded_entries& out);

// The claim, atomically: XPENDING IDLE, the entries delivered dead_letter_after times or more
// appended to the dead-letter stream (with origin_id and deliveries) and acknowledged, the
// others XCLAIMed. KEYS: the stream, its dead letters. ARGV: group, consumer, min_idle_ms,
// count, dead_letter_after, the dead letters' MAXLEN (0: none). Reply: {dead_lettered, entries}.
extern const std::string claim_script;

} // namespace brokedancer::stream_codec
