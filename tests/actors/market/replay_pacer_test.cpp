// The pace of a recorded stream played back: plain code, time passed in.

#include <catch2/catch.hpp>

#include "actors/market/replay_pacer.hpp"

using namespace brokedancer;

namespace {

stream_entry entry(const std::string& id, int64_t at_us, double price) {
  return {id, {"BTC-USD", price, 0, 0, 0, at_us}};
}

std::vector<double> prices(const std::vector<market_tick>& ticks) {
  std::vector<double> out;
  for (const auto& t : ticks)
    out.push_back(t.price);
  return out;
}

} // namespace

TEST_CASE(
    "at the original pace a recorded tick is due as long after the first as it was recorded") {
  replay_pacer pacer{true};
  CHECK(pacer.next_from() == "-");
  CHECK(pacer.wants_more());
  pacer.reading();
  CHECK_FALSE(pacer.wants_more());
  pacer.add({entry("1000-0", 5000000, 1), entry("1000-1", 5000000, 2), entry("1100-0", 5100000, 3),
             entry("1350-0", 5350000, 4)});
  CHECK(pacer.next_from() == "1350-1");
  CHECK(prices(pacer.due(0, 100)) == std::vector<double>{1, 2});
  CHECK(pacer.next_due_us() == 100000);
  CHECK(pacer.due(99999, 100).empty());
  CHECK(prices(pacer.due(100000, 100)) == std::vector<double>{3});
  CHECK(prices(pacer.due(1000000, 100)) == std::vector<double>{4});
  // A short chunk is not the end (entries that are not ticks are left out of one): a read that
  // finds nothing is.
  CHECK_FALSE(pacer.done());
  CHECK(pacer.wants_more());
  pacer.reading();
  pacer.add({});
  CHECK(pacer.done());
  CHECK(pacer.replayed() == 4);
}

TEST_CASE("at the original pace the clock starts with the first tick played, not before") {
  replay_pacer pacer{true};
  pacer.reading();
  pacer.add({entry("1000-0", 5000000, 1), entry("1050-0", 5050000, 2)});
  // The recording came 700 ms after the market opened: its first tick is due now, the second
  // 50 ms later -- not both at once.
  CHECK(prices(pacer.due(700000, 100)) == std::vector<double>{1});
  CHECK(pacer.next_due_us() == 750000);
  CHECK(pacer.due(749999, 100).empty());
  CHECK(prices(pacer.due(750000, 100)) == std::vector<double>{2});
}

TEST_CASE("at the original pace late ticks are played one recorded moment at a time, each "
          "followed by its recorded gap") {
  replay_pacer pacer{true};
  pacer.reading();
  // Two symbols per moment, microseconds apart, moments 50 ms apart.
  pacer.add({entry("1000-0", 5000000, 1), entry("1000-1", 5000040, 2), entry("1050-0", 5050000, 3),
             entry("1050-1", 5050030, 4), entry("1100-0", 5100000, 5)});
  CHECK(prices(pacer.due(0, 100)) == std::vector<double>{1, 2});
  // A stall: at 400 ms every tick is overdue, yet only the next moment is played...
  CHECK(prices(pacer.due(400000, 100)) == std::vector<double>{3, 4});
  // ...and the clock moved on by its lateness: the one after is due 50 ms after it.
  CHECK(pacer.next_due_us() == 450000);
  CHECK(pacer.due(449999, 100).empty());
  CHECK(prices(pacer.due(450000, 100)) == std::vector<double>{5});
}

TEST_CASE("at the original pace a tick recorded out of order is played at once, on its own, "
          "and moves nothing") {
  replay_pacer pacer{true};
  pacer.reading();
  // Another client appended a tick stamped a second in the past between two moments.
  pacer.add(
      {entry("1000-0", 5000000, 1), entry("1000-1", 4000000, 2), entry("1050-0", 5050000, 3)});
  CHECK(prices(pacer.due(0, 100)) == std::vector<double>{1});
  CHECK(pacer.next_due_us() == 0);
  CHECK(prices(pacer.due(10, 100)) == std::vector<double>{2});
  // The next is due as recorded after the first: the stray stamp neither stalls nor rushes it.
  CHECK(pacer.next_due_us() == 50000);
  CHECK(pacer.due(49999, 100).empty());
  CHECK(prices(pacer.due(50000, 100)) == std::vector<double>{3});
}

TEST_CASE("at the original pace a stray stamp inside a moment is played on its own, and the "
          "moment's other ticks at their time") {
  replay_pacer pacer{true};
  pacer.reading();
  pacer.add({entry("1000-0", 5000000, 1), entry("1000-1", 4999800, 2), entry("1000-2", 5000500, 3),
             entry("1050-0", 5050000, 4)});
  CHECK(prices(pacer.due(0, 100)) == std::vector<double>{1});
  CHECK(prices(pacer.due(1, 100)) == std::vector<double>{2});
  CHECK(pacer.next_due_us() == 500);
  CHECK(prices(pacer.due(500, 100)) == std::vector<double>{3});
  CHECK(pacer.next_due_us() == 50000);
}

TEST_CASE("at the original pace a recording whose clock stepped back is paced again from the "
          "step, not played at once") {
  replay_pacer pacer{true};
  pacer.reading();
  pacer.add({entry("1000-0", 10000000, 1), entry("1100-0", 10100000, 2),
             entry("1200-0", 9200000, 3), entry("1300-0", 9300000, 4),
             entry("1400-0", 9400000, 5)});
  CHECK(prices(pacer.due(0, 100)) == std::vector<double>{1});
  CHECK(prices(pacer.due(100000, 100)) == std::vector<double>{2});
  CHECK(prices(pacer.due(100010, 100)) == std::vector<double>{3});
  CHECK(pacer.next_due_us() == 200010);
  CHECK(pacer.due(200009, 100).empty());
  CHECK(prices(pacer.due(200010, 100)) == std::vector<double>{4});
  CHECK(prices(pacer.due(300010, 100)) == std::vector<double>{5});
}

TEST_CASE("at the original pace a timer's small lateness does not move the clock") {
  replay_pacer pacer{true};
  pacer.reading();
  pacer.add(
      {entry("1000-0", 5000000, 1), entry("1050-0", 5050000, 2), entry("1100-0", 5100000, 3)});
  CHECK(prices(pacer.due(0, 100)) == std::vector<double>{1});
  CHECK(prices(pacer.due(50000 + replay_pacer::tolerated_lateness_us, 100))
        == std::vector<double>{2});
  CHECK(pacer.next_due_us() == 100000); // a long recording does not drift
}

TEST_CASE("as fast as possible every held tick is due at once, a bounded number at a time") {
  replay_pacer pacer{false};
  std::vector<stream_entry> chunk;
  for (size_t i = 0; i < replay_pacer::chunk; ++i)
    chunk.push_back(entry("1000-" + std::to_string(i), static_cast<int64_t>(i) * 1000000,
                          static_cast<double>(i)));
  pacer.reading();
  pacer.add(chunk);
  CHECK_FALSE(pacer.done()); // a full chunk: there may be more
  CHECK(pacer.next_due_us() == 0);
  CHECK(pacer.due(0, 600).size() == 600);
  CHECK(pacer.wants_more()); // 400 held, under the low water mark
  CHECK(pacer.next_from() == "1000-1000");
  CHECK(pacer.due(0, 1000).size() == 400);
  pacer.reading();
  pacer.add({});
  CHECK(pacer.done());
}

TEST_CASE("at the original pace a gap longer than a minute is played as a minute, whatever the "
          "stamp") {
  replay_pacer pacer{true};
  pacer.reading();
  constexpr int64_t year_9999_us = 253402300799LL * 1000000;
  pacer.add({entry("1000-0", 5000000, 1), entry("1001-0", year_9999_us, 2),
             entry("1002-0", year_9999_us + 100000, 3)});
  CHECK(prices(pacer.due(0, 100)) == std::vector<double>{1});
  // Asked while it waits, the far stamp is moved to a minute from now; the next after it keeps
  // its recorded gap.
  CHECK(pacer.due(10, 100).empty());
  CHECK(pacer.next_due_us() == 10 + replay_pacer::max_gap_us);
  CHECK(prices(pacer.due(10 + replay_pacer::max_gap_us, 100)) == std::vector<double>{2});
  CHECK(prices(pacer.due(10 + replay_pacer::max_gap_us + 100000, 100)) == std::vector<double>{3});
}
