#pragma once

// The memory backend's market-data streams, with Redis Streams' semantics (what XADD, XRANGE,
// XGROUP CREATE, XREADGROUP >, XACK, XPENDING and XCLAIM do), as plain code with the time passed
// in: ids "<ms>-<seq>" that only grow (a clock that goes back keeps the last millisecond and
// counts on, as Redis does), consumer groups with a last-delivered id and a pending list per
// group, delivery counts, claims of idle entries, dead letters, and trimming by length and age.
// The contract (messages/market_stream.hpp) says what each request means; the same contract
// suite runs against this and against Redis.

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "messages/market_stream.hpp"

namespace brokedancer {

class stream_table {
public:
  using id_type = std::pair<uint64_t, uint64_t>;

  // Appends one tick (already checked) and trims the stream by `settings`; returns its id.
  std::string append(const std::string& stream, const market_tick& tick,
                     const stream_settings& settings, int64_t now_ms);

  // Entries with from <= id <= to, at most `count`, in order. `from`/`to` are ids, "<ms>" (seq
  // 0 for from, the last seq for to), "-" or "+"; false (nothing read) when one is not.
  bool range(const std::string& stream, const std::string& from, const std::string& to,
             uint32_t count, std::vector<stream_entry>& out) const;

  // Entries after `after` (an id), at most `count`: what a live subscriber has not seen yet.
  std::vector<stream_entry> after(const std::string& stream, const id_type& after,
                                  uint32_t count) const;
  // The id of the last entry ever appended (0-0 for a stream never written).
  id_type last_id(const std::string& stream) const;
  // The id of the oldest entry kept (0-0 when empty).
  id_type first_id(const std::string& stream) const;
  // The id of the newest entry trimmed away (0-0 when none): a subscriber whose last id is below
  // it missed entries.
  id_type trimmed_through(const std::string& stream) const;

  enum class create_outcome : uint8_t { created, exists, bad_start };
  // `start`: "$" (after the last entry), "0" (everything kept) or an id. Creates the stream if
  // it does not exist yet (as XGROUP CREATE ... MKSTREAM).
  create_outcome create_group(const std::string& stream, const std::string& group,
                              const std::string& start);
  bool has_group(const std::string& stream, const std::string& group) const;

  // New entries for the group (after its last-delivered id), at most `count`, now pending for
  // `consumer` with one delivery each at now_ms. The group must exist (has_group).
  std::vector<stream_entry> read_group(const std::string& stream, const std::string& group,
                                       const std::string& consumer, uint32_t count, int64_t now_ms);

  // Acknowledges the ids pending in the group; returns how many were pending. Ids that do not
  // parse count as not pending.
  uint32_t ack(const std::string& stream, const std::string& group,
               const std::vector<std::string>& ids);

  // The oldest `count` pending entries of the group, idle time as of now_ms.
  std::vector<pending_entry> pending(const std::string& stream, const std::string& group,
                                     uint32_t count, int64_t now_ms) const;

  // Takes up to `count` pending entries idle for at least min_idle_ms, oldest id first: one
  // delivered dead_letter_after times or more (and dead_letter_after > 0) is appended to the
  // stream dead_letter_stream(stream) (same tick) and acknowledged; the others become
  // `consumer`'s, delivered once more (count + 1, idle 0). A pending entry whose stream entry was
  // trimmed away is acknowledged and not returned (as XCLAIM drops it). The dead-letter stream
  // is trimmed by `settings` too.
  claim_result claim(const std::string& stream, const std::string& group,
                     const std::string& consumer, int64_t min_idle_ms, uint32_t count,
                     const stream_settings& settings, int64_t now_ms);

  // Entries kept in the stream (0 when it does not exist).
  uint64_t length(const std::string& stream) const;
  // Streams that exist.
  size_t streams() const {
    return streams_.size();
  }
  bool has(const std::string& stream) const {
    return streams_.count(stream) > 0;
  }

private:
  struct stored {
    id_type id;
    market_tick tick;
  };
  struct delivery {
    std::string consumer;
    int64_t delivered_at_ms = 0;
    uint32_t deliveries = 0;
  };
  struct group_state {
    id_type last_delivered{0, 0};
    std::map<id_type, delivery> pending; // by id: oldest first
  };
  struct one_stream {
    id_type last{0, 0};
    id_type trimmed{0, 0};
    std::deque<stored> entries;
    std::unordered_map<std::string, group_state> groups;
  };

  const stored* find(const one_stream& s, const id_type& id) const;
  void trim(one_stream& s, const stream_settings& settings, int64_t now_ms);

  std::unordered_map<std::string, one_stream> streams_;
};

} // namespace brokedancer
