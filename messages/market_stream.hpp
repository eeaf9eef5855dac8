#pragma once

// The market-data stream's contract: every backend (memory, Redis Streams) answers the same
// requests the same way, and every client (the simulated market, bots, tests, tools) speaks
// only this.
//
// A stream is an append-only sequence of ticks under a name ("market:data"), each with an id
// "<ms>-<seq>" that only grows. Three ways to read it:
//  - live: subscribe and be sent every tick appended from then on (stream_ticks messages), as
//    long as the subscriber lives -- nothing is kept for it while it is away;
//  - durable, in a consumer group: each entry goes to one consumer of the group, stays pending
//    until that consumer acknowledges it, and can be claimed by another consumer once it has
//    been idle long enough (its first consumer died mid-batch). An entry delivered
//    `dead_letter_after` times and still not acknowledged is not delivered again: a claim moves
//    its tick to the stream "<name>:dead" and acknowledges it (on Redis the dead letter also
//    carries the fields origin_id and deliveries, for the operator who reads it);
//  - replay: the entries between two ids (or two times), in order.
// Each stream is trimmed by length and/or age as configured (approximately on Redis: whole
// radix-tree nodes go at once, so a stream may hold somewhat more than its bound).
//
// On Redis a stream is the key <prefix>stream:<name>, each entry's fields symbol, price, bid,
// ask, volume, at_us as decimal text -- readable by any Redis client (the README's example).
//
// Errors (caf::error with errc): invalid_argument (a bad name, tick, id, count or batch -- the
// message says which and the bound), store_unavailable (Redis cannot be reached: nothing was
// done, or it is not known whether it was), not_found (a group that does not exist).

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"

namespace brokedancer {

// One market update: a trade (volume > 0) or a quote (bid and ask), or both.
struct market_tick {
  std::string symbol;
  double price = 0;  // last trade, or the mid of a quote; > 0
  double bid = 0;    // 0 when the tick carries no quote
  double ask = 0;    // 0 when the tick carries no quote; bid <= ask when both are given
  double volume = 0; // traded quantity; 0 for a quote
  int64_t at_us = 0; // when the producer saw it, microseconds since the Unix epoch
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, market_tick& x) {
  return f(caf::meta::type_name("market_tick"), x.symbol, x.price, x.bid, x.ask, x.volume, x.at_us);
}

struct stream_entry {
  std::string id; // "<ms>-<seq>"
  market_tick tick;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stream_entry& x) {
  return f(caf::meta::type_name("stream_entry"), x.id, x.tick);
}

// An entry delivered to a consumer of a group and not yet acknowledged.
struct pending_entry {
  std::string id;
  std::string consumer;
  int64_t idle_ms = 0;     // since its last delivery
  uint32_t deliveries = 0; // how often it has been delivered (read or claimed)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pending_entry& x) {
  return f(caf::meta::type_name("pending_entry"), x.id, x.consumer, x.idle_ms, x.deliveries);
}

// What a claim came to: the entries now this consumer's, and how many went to the dead letters.
struct claim_result {
  std::vector<stream_entry> entries;
  uint32_t dead_lettered = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, claim_result& x) {
  return f(caf::meta::type_name("claim_result"), x.entries, x.dead_lettered);
}

// How a stream is kept; configured per stream (streams.<name>), the defaults otherwise.
struct stream_settings {
  uint64_t max_length = 100000;   // entries kept at most (0: no bound by length)
  int64_t max_age_ms = 0;         // entries older than this go (0: no bound by age)
  uint32_t dead_letter_after = 5; // deliveries before a claim moves an entry to "<name>:dead"
};

struct stream_status {
  std::string backend;    // "memory" or "redis"
  bool available = false; // false while the Redis backend is disconnected
  uint64_t published = 0; // ticks appended through this incarnation
  uint64_t delivered = 0; // ticks sent to live subscribers
  // Memory: live deliveries that went on past entries trimmed away before the subscriber got
  // them (it was too slow for the stream's bound). Redis: not counted (0).
  uint64_t lagged = 0;
  uint64_t failures = 0; // requests answered with store_unavailable
  uint64_t rejected = 0; // redis: entries read that were not ticks (written by someone else)
  uint64_t subscribers = 0;
  std::string last_error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stream_status& x) {
  return f(caf::meta::type_name("stream_status"), x.backend, x.available, x.published, x.delivered,
           x.lagged, x.failures, x.rejected, x.subscribers, x.last_error);
}

// Bounds of a request.
constexpr size_t max_stream_name_bytes = 200;
constexpr size_t max_stream_batch = 1000;   // ticks in one publish
constexpr uint32_t max_stream_read = 10000; // entries in one read, claim or replay
constexpr size_t max_tick_symbol_bytes = 64;
// The latest time a tick may carry: the end of the year 9999 (a bound for arithmetic on times,
// not a check of the clock: a consumer that times by ticks also bounds them by its own clock).
constexpr int64_t max_tick_time_us = 253402300799999999;
constexpr uint32_t max_live_batch = 512; // entries in one delivery to a live subscriber
constexpr uint32_t max_claim = 1000;     // entries taken in one claim

// Why a name, tick, batch or count cannot be taken (empty when it can).
std::string check_stream_name(const std::string& name);
std::string check_group_name(const std::string& name); // groups and consumers alike
std::string check_tick(const market_tick& tick);
std::string check_tick_batch(const std::vector<market_tick>& ticks);
std::string check_read_count(uint32_t count);

// An id as its two numbers; false unless the text is "<ms>-<seq>" or "<ms>" (seq 0).
bool parse_stream_id(const std::string& text, uint64_t& ms, uint64_t& seq);
std::string format_stream_id(uint64_t ms, uint64_t seq);

// The dead letters of a stream.
inline std::string dead_letter_stream(const std::string& name) {
  return name + ":dead";
}

using stream_publish_atom = caf::atom_constant<caf::atom("st_pub")>;
using stream_ticks_atom = caf::atom_constant<caf::atom("st_ticks")>;
using stream_sub_atom = caf::atom_constant<caf::atom("st_sub")>;
using stream_unsub_atom = caf::atom_constant<caf::atom("st_unsub")>;
using group_create_atom = caf::atom_constant<caf::atom("grp_new")>;
using group_read_atom = caf::atom_constant<caf::atom("grp_read")>;
using group_ack_atom = caf::atom_constant<caf::atom("grp_ack")>;
using group_pending_atom = caf::atom_constant<caf::atom("grp_pend")>;
using group_claim_atom = caf::atom_constant<caf::atom("grp_claim")>;
using replay_atom = caf::atom_constant<caf::atom("replay")>;

using market_stream_actor = caf::typed_actor<
    // (stream, tick) -> the entry's id.
    caf::replies_to<stream_publish_atom, std::string, market_tick>::with<std::string>,
    // (stream, ticks) -> their ids, in order: one round trip, all or nothing checked first.
    caf::replies_to<stream_publish_atom, std::string,
                    std::vector<market_tick>>::with<std::vector<std::string>>,
    // (stream, subscriber): from now on the subscriber is sent
    // (stream_ticks_atom, stream, std::vector<stream_entry>) until it unsubscribes or dies. Each
    // batch is a request: the next goes once the subscriber's handler has returned, so a slow
    // subscriber holds no more than one batch (max_live_batch) and reads on from the stream
    // where it left off -- unless the stream was trimmed past it meanwhile (status: lagged).
    caf::replies_to<stream_sub_atom, std::string, caf::actor>::with<bool>,
    caf::replies_to<stream_unsub_atom, std::string, caf::actor>::with<bool>,
    // (stream, group, start): creates the group reading after `start` ("$": only what comes
    // next; "0": everything kept); false when it exists already (left as it is).
    caf::replies_to<group_create_atom, std::string, std::string, std::string>::with<bool>,
    // (stream, group, consumer, count): up to `count` entries never delivered to the group,
    // now pending for this consumer.
    caf::replies_to<group_read_atom, std::string, std::string, std::string,
                    uint32_t>::with<std::vector<stream_entry>>,
    // (stream, group, ids) -> how many were pending and are acknowledged now.
    caf::replies_to<group_ack_atom, std::string, std::string,
                    std::vector<std::string>>::with<uint32_t>,
    // (stream, group, count) -> the oldest `count` pending entries.
    caf::replies_to<group_pending_atom, std::string, std::string,
                    uint32_t>::with<std::vector<pending_entry>>,
    // (stream, group, consumer, min_idle_ms, count): takes up to `count` pending entries idle
    // for at least min_idle_ms (oldest first) for this consumer, each delivered once more,
    // except those delivered dead_letter_after times already, which go to the dead letters.
    caf::replies_to<group_claim_atom, std::string, std::string, std::string, int64_t,
                    uint32_t>::with<claim_result>,
    // (stream, from, to, count): up to `count` entries with from <= id <= to ("-" and "+" for
    // the first and the last), in order. A time is the id "<ms>".
    caf::replies_to<replay_atom, std::string, std::string, std::string,
                    uint32_t>::with<std::vector<stream_entry>>,
    caf::replies_to<status_atom>::with<stream_status>>;

} // namespace brokedancer
