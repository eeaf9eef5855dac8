// A registered actor's view of the emergency level, whatever order the controller's answer to
// register_bot and its high-priority broadcasts arrive in.

#include <catch2/catch.hpp>

#include "messages/emergency.hpp"

using namespace brokedancer;

namespace {

level_change change(emergency_level level, uint64_t sequence, bool provisional = false) {
  level_change c;
  c.level = level;
  c.sequence = sequence;
  c.provisional = provisional;
  return c;
}

} // namespace

TEST_CASE("before hearing anything a tracker does not allow trading", "[emergency][tracker]") {
  level_tracker tracker;
  CHECK_FALSE(tracker.known());
  CHECK_FALSE(trading_allowed(tracker.level()));
}

TEST_CASE("a provisional HALT answered at registration loses to the level in force, whichever "
          "arrives first",
          "[emergency][tracker]") {
  SECTION("the broadcast overtakes the answer") {
    level_tracker tracker;
    CHECK(tracker.take(change(emergency_level::normal, 0)));
    CHECK_FALSE(tracker.take(change(emergency_level::halt, 0, true)));
    CHECK(tracker.level() == emergency_level::normal);
  }
  SECTION("the answer comes first") {
    level_tracker tracker;
    CHECK(tracker.take(change(emergency_level::halt, 0, true)));
    CHECK(tracker.level() == emergency_level::halt);
    CHECK(tracker.take(change(emergency_level::normal, 0)));
    CHECK(tracker.level() == emergency_level::normal);
  }
}

TEST_CASE("an older level never overwrites a newer one", "[emergency][tracker]") {
  level_tracker tracker;
  // A bot registers while an operator raises HALT: the broadcast of the HALT (sequence 4) may
  // overtake the answer to the registration, which still said NORMAL (sequence 3).
  CHECK(tracker.take(change(emergency_level::halt, 4)));
  CHECK_FALSE(tracker.take(change(emergency_level::normal, 3)));
  CHECK(tracker.level() == emergency_level::halt);
  CHECK(tracker.current().sequence == 4);
  // A resume is a newer change, and takes effect.
  CHECK(tracker.take(change(emergency_level::normal, 5)));
  CHECK(tracker.level() == emergency_level::normal);
  // The same change twice is taken once.
  CHECK_FALSE(tracker.take(change(emergency_level::normal, 5)));
}
