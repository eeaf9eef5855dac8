// The memory backend's streams as plain code, on a clock the test holds: the answers below are
// worked out by hand from Redis Streams' rules as actors/stream/stream_table.hpp states them.

#include <set>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "actors/stream/stream_table.hpp"

using namespace brokedancer;

namespace {

const std::string market = "market:data";

market_tick trade(double price, std::string symbol = "BTC-USD") {
  market_tick tick;
  tick.symbol = std::move(symbol);
  tick.price = price;
  tick.volume = 1;
  tick.at_us = 1'751'000'000'000'000;
  return tick;
}

stream_settings unbounded() {
  stream_settings settings;
  settings.max_length = 0;
  settings.max_age_ms = 0;
  settings.dead_letter_after = 0;
  return settings;
}

std::vector<std::string> ids_of(const std::vector<stream_entry>& entries) {
  std::vector<std::string> ids;
  for (const auto& e : entries)
    ids.push_back(e.id);
  return ids;
}

std::vector<std::string> ids_of(const std::vector<pending_entry>& entries) {
  std::vector<std::string> ids;
  for (const auto& e : entries)
    ids.push_back(e.id);
  return ids;
}

std::vector<std::string> read_range(const stream_table& table, const std::string& from,
                                    const std::string& to, uint32_t count = 100) {
  std::vector<stream_entry> out;
  REQUIRE(table.range(market, from, to, count, out));
  return ids_of(out);
}

using ids = std::vector<std::string>;

} // namespace

TEST_CASE("ids grow within a millisecond and keep growing when the clock goes back", "[stream]") {
  stream_table table;
  CHECK(table.append(market, trade(1), unbounded(), 1000) == "1000-0");
  CHECK(table.append(market, trade(2), unbounded(), 1000) == "1000-1");
  // The clock went back a second: the last millisecond is kept and the sequence counts on.
  CHECK(table.append(market, trade(3), unbounded(), 0) == "1000-2");
  CHECK(table.append(market, trade(4), unbounded(), 1001) == "1001-0");
  CHECK(table.last_id(market) == stream_table::id_type{1001, 0});
  CHECK(table.first_id(market) == stream_table::id_type{1000, 0});
  CHECK(table.length(market) == 4);
  // Another stream counts on its own.
  CHECK(table.append("other", trade(5), unbounded(), 1001) == "1001-0");
  CHECK(table.streams() == 2);
}

TEST_CASE("a range reads between ids with - and + for the ends and a bare millisecond covering "
          "all of it",
          "[stream]") {
  stream_table table;
  for (int64_t now : {1000, 1000, 2000, 2000, 3000})
    table.append(market, trade(static_cast<double>(now)), unbounded(), now);
  CHECK(read_range(table, "-", "+") == ids{"1000-0", "1000-1", "2000-0", "2000-1", "3000-0"});
  CHECK(read_range(table, "2000", "2000") == ids{"2000-0", "2000-1"});
  CHECK(read_range(table, "1000-1", "2000-0") == ids{"1000-1", "2000-0"});
  CHECK(read_range(table, "2500", "+") == ids{"3000-0"});
  CHECK(read_range(table, "-", "1000") == ids{"1000-0", "1000-1"});
  // A count stops the read early, the oldest first.
  CHECK(read_range(table, "-", "+", 2) == ids{"1000-0", "1000-1"});
  // Bounds the wrong way round read nothing, and are not an error.
  CHECK(read_range(table, "3000", "1000").empty());
  CHECK(read_range(table, "+", "-").empty());

  std::vector<stream_entry> out;
  REQUIRE(table.range(market, "2000-1", "2000-1", 10, out));
  REQUIRE(out.size() == 1);
  CHECK(out[0].tick.price == 2000);
  CHECK(out[0].tick.symbol == "BTC-USD");
}

TEST_CASE("a range with a bound that is not an id reads nothing and says so", "[stream]") {
  stream_table table;
  table.append(market, trade(1), unbounded(), 1000);
  std::vector<stream_entry> out;
  REQUIRE(table.range(market, "-", "+", 10, out));
  REQUIRE(out.size() == 1);
  // What an earlier read left in `out` is not mistaken for this one's answer.
  CHECK_FALSE(table.range(market, "yesterday", "+", 10, out));
  CHECK(out.empty());
  CHECK_FALSE(table.range(market, "-", "$", 10, out));
  CHECK(out.empty());
  // A stream that does not exist is an empty one.
  CHECK(table.range("missing", "-", "+", 10, out));
  CHECK(out.empty());
}

TEST_CASE("a subscriber reading after an id gets only what came next", "[stream]") {
  stream_table table;
  table.append(market, trade(1), unbounded(), 1000);
  table.append(market, trade(2), unbounded(), 1000);
  table.append(market, trade(3), unbounded(), 2000);
  CHECK(ids_of(table.after(market, {1000, 0}, 10)) == ids{"1000-1", "2000-0"});
  CHECK(ids_of(table.after(market, {0, 0}, 2)) == ids{"1000-0", "1000-1"});
  CHECK(table.after(market, {2000, 0}, 10).empty());
}

TEST_CASE("a group created at $ sees only later entries and one created at 0 sees everything",
          "[stream]") {
  stream_table table;
  table.append(market, trade(1), unbounded(), 1000);
  table.append(market, trade(2), unbounded(), 2000);
  CHECK(table.create_group(market, "late", "$") == stream_table::create_outcome::created);
  CHECK(table.create_group(market, "all", "0") == stream_table::create_outcome::created);
  table.append(market, trade(3), unbounded(), 3000);

  CHECK(ids_of(table.read_group(market, "late", "alice", 10, 3000)) == ids{"3000-0"});
  CHECK(ids_of(table.read_group(market, "all", "alice", 10, 3000))
        == ids{"1000-0", "2000-0", "3000-0"});
}

TEST_CASE("a group created at an id reads after it and creating it again leaves it as it is",
          "[stream]") {
  stream_table table;
  for (int64_t now : {1000, 2000, 3000})
    table.append(market, trade(1), unbounded(), now);
  REQUIRE(table.create_group(market, "g", "1000-0") == stream_table::create_outcome::created);
  CHECK(ids_of(table.read_group(market, "g", "alice", 1, 3000)) == ids{"2000-0"});
  CHECK(table.create_group(market, "g", "0") == stream_table::create_outcome::exists);
  // Still after 2000-0: the second create did not move the group back.
  CHECK(ids_of(table.read_group(market, "g", "alice", 10, 3000)) == ids{"3000-0"});
  CHECK(table.create_group(market, "h", "soon") == stream_table::create_outcome::bad_start);
  CHECK_FALSE(table.has_group(market, "h"));
}

TEST_CASE("creating a group on a missing stream creates the stream, unless the start is bad",
          "[stream]") {
  stream_table table;
  CHECK(table.create_group("fresh", "g", "soon") == stream_table::create_outcome::bad_start);
  CHECK(table.streams() == 0);
  CHECK(table.create_group("fresh", "g", "$") == stream_table::create_outcome::created);
  CHECK(table.streams() == 1);
  CHECK(table.has_group("fresh", "g"));
  CHECK_FALSE(table.has_group("fresh", "other"));
  CHECK(table.length("fresh") == 0);
  // "$" on an empty stream is 0-0: the first entry ever appended is new to the group.
  table.append("fresh", trade(1), unbounded(), 5000);
  CHECK(ids_of(table.read_group("fresh", "g", "alice", 10, 5000)) == ids{"5000-0"});
}

TEST_CASE("two consumers in one group never get the same entry", "[stream]") {
  stream_table table;
  REQUIRE(table.create_group(market, "g", "$") == stream_table::create_outcome::created);
  for (int64_t now = 1000; now < 1006; ++now)
    table.append(market, trade(static_cast<double>(now)), unbounded(), now);

  auto alice = ids_of(table.read_group(market, "g", "alice", 2, 2000));
  auto bob = ids_of(table.read_group(market, "g", "bob", 3, 2000));
  auto alice_again = ids_of(table.read_group(market, "g", "alice", 10, 2000));
  CHECK(alice == ids{"1000-0", "1001-0"});
  CHECK(bob == ids{"1002-0", "1003-0", "1004-0"});
  CHECK(alice_again == ids{"1005-0"});
  CHECK(table.read_group(market, "g", "bob", 10, 2000).empty());

  // Each entry pending once, for the consumer it went to.
  std::set<std::string> alices(alice.begin(), alice.end());
  alices.insert(alice_again.begin(), alice_again.end());
  auto pending = table.pending(market, "g", 100, 2000);
  REQUIRE(pending.size() == 6);
  for (const auto& p : pending)
    CHECK(p.consumer == (alices.count(p.id) > 0 ? "alice" : "bob"));
}

TEST_CASE("an ack counts only ids that were pending and a second ack counts nothing", "[stream]") {
  stream_table table;
  table.create_group(market, "g", "$");
  for (int64_t now : {1000, 2000, 3000, 4000})
    table.append(market, trade(1), unbounded(), now);
  REQUIRE(table.read_group(market, "g", "alice", 3, 5000).size() == 3);

  // 4000-0 was never delivered, "soon" is no id, 1000-0 is named twice.
  CHECK(table.ack(market, "g", {"1000-0", "2000-0", "4000-0", "soon", "1000-0"}) == 2);
  CHECK(table.ack(market, "g", {"1000-0", "2000-0"}) == 0);
  CHECK(ids_of(table.pending(market, "g", 10, 5000)) == ids{"3000-0"});
  CHECK(table.ack(market, "other", {"3000-0"}) == 0);
  CHECK(table.ack(market, "g", {"3000"}) == 1); // a bare millisecond is seq 0
  CHECK(table.pending(market, "g", 10, 5000).empty());
}

TEST_CASE("pending lists the oldest entries first with their consumer, deliveries and idle time",
          "[stream]") {
  stream_table table;
  table.create_group(market, "g", "$");
  for (int64_t now : {100, 200, 300})
    table.append(market, trade(1), unbounded(), now);
  table.read_group(market, "g", "alice", 2, 1000);
  table.read_group(market, "g", "bob", 1, 1500);

  auto pending = table.pending(market, "g", 10, 2000);
  REQUIRE(pending.size() == 3);
  CHECK(pending[0].id == "100-0");
  CHECK(pending[0].consumer == "alice");
  CHECK(pending[0].idle_ms == 1000);
  CHECK(pending[0].deliveries == 1);
  CHECK(pending[1].id == "200-0");
  CHECK(pending[1].consumer == "alice");
  CHECK(pending[2].id == "300-0");
  CHECK(pending[2].consumer == "bob");
  CHECK(pending[2].idle_ms == 500);
  CHECK(pending[2].deliveries == 1);

  CHECK(ids_of(table.pending(market, "g", 2, 2000)) == ids{"100-0", "200-0"});
  CHECK(table.pending(market, "missing", 10, 2000).empty());
}

TEST_CASE("entries a consumer left pending when it died are claimed by another once idle long "
          "enough and each is acknowledged once",
          "[stream]") {
  stream_table table;
  stream_settings settings;
  table.create_group(market, "g", "$");
  for (int64_t now : {100, 200, 300})
    table.append(market, trade(static_cast<double>(now)), settings, now);
  // Alice takes a batch of three, acknowledges the first, and dies.
  REQUIRE(table.read_group(market, "g", "alice", 3, 1000).size() == 3);
  REQUIRE(table.ack(market, "g", {"100-0"}) == 1);

  CHECK(table.claim(market, "g", "bob", 5000, 10, settings, 3000).entries.empty());
  CHECK(table.claim(market, "g", "bob", 5000, 10, settings, 5999).entries.empty());
  // At 6000 they have been idle 5000 ms; a count of 1 takes the oldest only.
  auto first = table.claim(market, "g", "bob", 5000, 1, settings, 6000);
  CHECK(ids_of(first.entries) == ids{"200-0"});
  auto rest = table.claim(market, "g", "bob", 5000, 10, settings, 6000);
  REQUIRE(ids_of(rest.entries) == ids{"300-0"});
  CHECK(rest.entries[0].tick.price == 300);
  CHECK(rest.dead_lettered == 0);

  auto pending = table.pending(market, "g", 10, 6000);
  REQUIRE(pending.size() == 2);
  for (const auto& p : pending) {
    CHECK(p.consumer == "bob");
    CHECK(p.deliveries == 2);
    CHECK(p.idle_ms == 0);
  }
  // Just claimed, they are not idle enough for a third consumer.
  CHECK(table.claim(market, "g", "carol", 5000, 10, settings, 6000).entries.empty());

  CHECK(table.ack(market, "g", {"200-0", "300-0"}) == 2);
  CHECK(table.ack(market, "g", {"200-0", "300-0"}) == 0);
  CHECK(table.pending(market, "g", 10, 6000).empty());
}

TEST_CASE("an entry delivered dead_letter_after times goes to the dead letters with its tick "
          "and leaves pending",
          "[stream]") {
  stream_table table;
  stream_settings settings;
  settings.dead_letter_after = 2;
  table.create_group(market, "g", "$");
  table.append(market, trade(101.5, "ETH-USD"), settings, 100);
  table.append(market, trade(102.5), settings, 200);
  // 100-0 is delivered twice (read, then claimed), 200-0 once.
  REQUIRE(table.read_group(market, "g", "alice", 1, 1000).size() == 1);
  auto first = table.claim(market, "g", "bob", 0, 10, settings, 2000);
  REQUIRE(ids_of(first.entries) == ids{"100-0"});
  REQUIRE(table.read_group(market, "g", "alice", 1, 2000).size() == 1);

  auto claimed = table.claim(market, "g", "carol", 0, 10, settings, 3000);
  CHECK(claimed.dead_lettered == 1);
  CHECK(ids_of(claimed.entries) == ids{"200-0"});

  auto pending = table.pending(market, "g", 10, 3000);
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].id == "200-0");
  CHECK(pending[0].deliveries == 2);

  const auto dead = dead_letter_stream(market);
  CHECK(dead == "market:data:dead");
  REQUIRE(table.length(dead) == 1);
  std::vector<stream_entry> out;
  REQUIRE(table.range(dead, "-", "+", 10, out));
  REQUIRE(out.size() == 1);
  CHECK(out[0].id == "3000-0");
  CHECK(out[0].tick.symbol == "ETH-USD");
  CHECK(out[0].tick.price == 101.5);
  CHECK(out[0].tick.at_us == trade(0).at_us);
  // The stream itself keeps the entry; only the group is done with it.
  CHECK(table.length(market) == 2);
}

TEST_CASE("without a dead-letter bound an entry is claimed again however often it was "
          "delivered",
          "[stream]") {
  stream_table table;
  auto settings = unbounded();
  table.create_group(market, "g", "$");
  table.append(market, trade(1), settings, 100);
  table.read_group(market, "g", "alice", 1, 100);
  for (int64_t now = 200; now < 1200; now += 100)
    REQUIRE(table.claim(market, "g", "bob", 0, 10, settings, now).entries.size() == 1);
  auto pending = table.pending(market, "g", 10, 1200);
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].deliveries == 11);
  CHECK(table.length(dead_letter_stream(market)) == 0);
}

TEST_CASE("a stream keeps its newest max_length entries", "[stream]") {
  stream_table table;
  stream_settings settings;
  settings.max_length = 3;
  for (int64_t now = 1000; now < 1005; ++now)
    table.append(market, trade(1), settings, now);
  CHECK(table.length(market) == 3);
  CHECK(table.first_id(market) == stream_table::id_type{1002, 0});
  CHECK(table.last_id(market) == stream_table::id_type{1004, 0});
  CHECK(read_range(table, "-", "+") == ids{"1002-0", "1003-0", "1004-0"});
}

TEST_CASE("a stream drops entries older than max_age_ms as new ones arrive", "[stream]") {
  stream_table table;
  stream_settings settings;
  settings.max_length = 0;
  settings.max_age_ms = 1000;
  for (int64_t now : {1000, 1500, 2000})
    table.append(market, trade(1), settings, now);
  CHECK(table.length(market) == 3);
  // At 2600 anything before 1600 is too old.
  table.append(market, trade(1), settings, 2600);
  CHECK(read_range(table, "-", "+") == ids{"2000-0", "2600-0"});
  // An entry exactly max_age_ms old is kept; one millisecond more and it goes.
  table.append(market, trade(1), settings, 3000);
  CHECK(table.first_id(market) == stream_table::id_type{2000, 0});
  table.append(market, trade(1), settings, 3001);
  CHECK(table.first_id(market) == stream_table::id_type{2600, 0});
}

TEST_CASE("a claim drops a pending entry whose stream entry was trimmed away", "[stream]") {
  stream_table table;
  stream_settings settings;
  settings.max_length = 3;
  table.create_group(market, "g", "$");
  for (int64_t now : {100, 200, 300})
    table.append(market, trade(1), settings, now);
  REQUIRE(table.read_group(market, "g", "alice", 2, 1000).size() == 2);
  table.append(market, trade(1), settings, 400); // trims 100-0, still pending
  REQUIRE(ids_of(table.pending(market, "g", 10, 1000)) == ids{"100-0", "200-0"});

  auto claimed = table.claim(market, "g", "bob", 0, 10, settings, 2000);
  CHECK(ids_of(claimed.entries) == ids{"200-0"});
  CHECK(claimed.dead_lettered == 0);
  auto pending = table.pending(market, "g", 10, 2000);
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].id == "200-0");
  CHECK(pending[0].consumer == "bob");
  CHECK(table.streams() == 1); // nothing went to the dead letters
}
