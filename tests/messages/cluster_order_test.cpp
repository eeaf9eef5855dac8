// How nodes settle on one emergency level when changes race: the highest level wins, a lower one
// is taken only when it was decided knowing the level it lowers, and every node ends with the
// same record.

#include <map>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "messages/emergency.hpp"

using namespace brokedancer;

namespace {

// One node's view of the level, as the emergency controller keeps it.
struct node_view {
  std::string name;
  level_change current;

  explicit node_view(std::string n) : name(std::move(n)) {
    current.node = name;
  }

  // A change made here: a raise, or an operator's resume.
  level_change change(emergency_level level) {
    current = next_change(current, level, name + " says " + to_string(level),
                          change_source::operator_request, name, 0);
    return current;
  }

  // A change heard from a peer; true when the level in force here changed.
  bool hear(const level_change& incoming) {
    auto merged = merge_peer_change(current, incoming);
    if (merged)
      current = std::move(*merged);
    return merged.has_value();
  }
};

// Every node tells every other its level until nothing changes (anti-entropy, as the cluster's
// heartbeats do).
void settle(std::vector<node_view*> nodes) {
  for (int round = 0; round < 20; ++round) {
    bool changed = false;
    for (auto* from : nodes)
      for (auto* to : nodes)
        if (from != to)
          changed |= to->hear(from->current);
    if (!changed)
      return;
  }
  FAIL("the nodes did not settle within 20 rounds");
}

void check_same_record(const std::vector<node_view*>& nodes) {
  for (auto* n : nodes) {
    CHECK(key_of(n->current) == key_of(nodes.front()->current));
    CHECK(n->current.reason == nodes.front()->current.reason);
  }
}

} // namespace

TEST_CASE("a change on one node reaches the others as the same record", "[emergency][cluster]") {
  node_view a{"a"}, b{"b"}, c{"c"};
  auto halt = a.change(emergency_level::halt);
  CHECK(b.hear(halt));
  CHECK(c.hear(halt));
  CHECK_FALSE(c.hear(halt)); // heard twice: nothing new
  check_same_record({&a, &b, &c});
  CHECK(b.current.level == emergency_level::halt);
  CHECK(b.current.node == "a");
}

TEST_CASE("two raises at once settle on the higher level", "[emergency][cluster]") {
  node_view a{"a"}, b{"b"};
  auto halt = a.change(emergency_level::halt);
  auto alert = b.change(emergency_level::alert);
  CHECK_FALSE(a.hear(alert));
  CHECK(b.hear(halt)); // restamped: acknowledgements are counted by sequence
  settle({&a, &b});
  check_same_record({&a, &b});
  CHECK(a.current.level == emergency_level::halt);
}

TEST_CASE("a resume that raced a HALT does not lift it, in whatever order they arrive",
          "[emergency][cluster]") {
  node_view a{"a"}, b{"b"}, c{"c"};
  b.change(emergency_level::alert);
  auto resume = b.change(emergency_level::normal); // b has not heard of a's HALT yet
  auto halt = a.change(emergency_level::halt);
  SECTION("the resume arrives first") {
    CHECK_FALSE(a.hear(resume));
    CHECK(c.hear(resume));
    CHECK(c.hear(halt));
  }
  SECTION("the HALT arrives first") {
    CHECK(c.hear(halt));
    CHECK_FALSE(c.hear(resume));
  }
  CHECK(b.hear(halt)); // restamped after b's own resume
  CHECK(b.current.level == emergency_level::halt);
  settle({&a, &b, &c});
  check_same_record({&a, &b, &c});
  CHECK(a.current.level == emergency_level::halt);
  CHECK(a.current.node == "a");
  CHECK(a.current.reason == "a says HALT");
}

TEST_CASE("a resume made knowing the HALT lifts it everywhere, even where the HALT comes late",
          "[emergency][cluster]") {
  node_view a{"a"}, b{"b"}, c{"c"};
  auto halt = a.change(emergency_level::halt);
  REQUIRE(b.hear(halt));
  auto resume = b.change(emergency_level::normal);
  CHECK(a.hear(resume));
  CHECK(c.hear(resume));     // c is behind: the resume knew more than c does
  CHECK_FALSE(c.hear(halt)); // the HALT it lifted, late: stays lifted
  settle({&a, &b, &c});
  check_same_record({&a, &b, &c});
  CHECK(c.current.level == emergency_level::normal);
}

TEST_CASE("a node's dead man's switch stays its own", "[emergency][cluster]") {
  node_view a{"a"}, b{"b"};
  auto isolated = a.change(emergency_level::halt);
  isolated.local_only = true;
  a.current.local_only = true;
  CHECK_FALSE(b.hear(isolated));
  auto resume_elsewhere = b.change(emergency_level::alert);
  CHECK_FALSE(a.hear(resume_elsewhere)); // lower, and not knowing of a's HALT
  CHECK(a.current.level == emergency_level::halt);
  SECTION("an operator lifts it on the node; the cluster's level reaches it again") {
    a.change(emergency_level::normal);
    a.current.local_only = true;
    CHECK_FALSE(b.hear(a.current)); // b's ALERT is not lifted by it
    CHECK(a.hear(b.current));
    CHECK(a.current.level == emergency_level::alert);
  }
  SECTION("a higher level from the cluster still reaches it") {
    auto shutdown = b.change(emergency_level::shutdown);
    CHECK(a.hear(shutdown));
  }
}

TEST_CASE("a HALT lifted knowingly is not raised again when it is heard late, or read from a "
          "crashed node's record",
          "[emergency][cluster]") {
  node_view a{"a"}, b{"b"}, c{"c"};
  auto halt = a.change(emergency_level::halt);
  REQUIRE(b.hear(halt));
  REQUIRE(a.hear(b.change(emergency_level::normal)));
  auto alert = b.change(emergency_level::alert); // a raise after the resume
  REQUIRE(a.hear(alert));
  CHECK_FALSE(a.hear(halt)); // the stale HALT: cleared two changes ago
  // c, behind, hears them in the other order: the ALERT carries the clearing along.
  CHECK(c.hear(alert));
  CHECK_FALSE(c.hear(halt));
  CHECK(c.current.level == emergency_level::alert);
}

TEST_CASE("a side of a partition that resumed several times does not lift the other side's HALT",
          "[emergency][cluster]") {
  node_view a{"a"}, b{"b"};
  auto halt = a.change(emergency_level::halt);
  // Meanwhile, cut off from a, b raises and resumes twice: its sequence runs ahead.
  b.change(emergency_level::alert);
  b.change(emergency_level::normal);
  b.change(emergency_level::alert);
  auto resumed = b.change(emergency_level::normal);
  CHECK_FALSE(a.hear(resumed));
  CHECK(b.hear(halt)); // restamped after b's changes
  settle({&a, &b});
  check_same_record({&a, &b});
  CHECK(a.current.level == emergency_level::halt);
  CHECK(b.current.reason == "a says HALT");
}

TEST_CASE("a provisional change or one with a level off the wire is never taken from a peer",
          "[emergency][cluster]") {
  node_view a{"a"}, b{"b"};
  auto halt = a.change(emergency_level::halt);
  auto provisional = halt;
  provisional.provisional = true;
  CHECK_FALSE(b.hear(provisional));
  auto bogus = halt;
  bogus.level = static_cast<emergency_level>(9);
  CHECK_FALSE(b.hear(bogus));
}

TEST_CASE("random raises, resumes and partial deliveries always settle on one record",
          "[emergency][cluster]") {
  std::mt19937 random{20261123};
  for (int trial = 0; trial < 300; ++trial) {
    node_view a{"a"}, b{"b"}, c{"c"};
    std::vector<node_view*> nodes{&a, &b, &c};
    std::vector<level_change> in_flight;
    for (int step = 0; step < 12; ++step) {
      auto* n = nodes[random() % 3];
      if (random() % 2 == 0 && !in_flight.empty()) {
        // A change from the network arrives, out of order.
        auto i = random() % in_flight.size();
        n->hear(in_flight[i]);
        in_flight.erase(in_flight.begin() + static_cast<long>(i));
        continue;
      }
      auto level = static_cast<emergency_level>(random() % 4); // NORMAL .. HALT
      if (level > n->current.level || (level < n->current.level && random() % 2 == 0))
        in_flight.push_back(n->change(level));
    }
    for (auto& change : in_flight)
      nodes[random() % 3]->hear(change);
    settle(nodes);
    check_same_record(nodes);
  }
}

TEST_CASE("of two changes with the same sequence, a tracker keeps the later in the cluster's "
          "order",
          "[emergency][tracker][cluster]") {
  node_view a{"a"}, b{"b"};
  auto halt = a.change(emergency_level::halt);
  auto alert = b.change(emergency_level::alert);
  level_tracker tracker;
  CHECK(tracker.take(alert));
  CHECK(tracker.take(halt));
  CHECK_FALSE(tracker.take(alert));
  CHECK(tracker.level() == emergency_level::halt);
}
