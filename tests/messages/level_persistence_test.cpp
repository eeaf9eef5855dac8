// The emergency level as the state store keeps it, and the level a starting node comes back at:
// plain code, no actor system. The store is outside input (anyone with access to Redis may have
// written anything), and a level that cannot be read must fail safe.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "messages/emergency.hpp"

using namespace brokedancer;

namespace {

constexpr int64_t at = 1764547200123456;

level_change stored_change(emergency_level level, uint64_t sequence, std::string node,
                           change_source source = change_source::operator_request,
                           std::string reason = "because") {
  level_change c;
  c.level = level;
  c.reason = std::move(reason);
  c.source = source;
  c.node = std::move(node);
  c.at_us = at;
  c.sequence = sequence;
  return c;
}

level_change decoded(const std::string& json) {
  level_change change;
  std::string why;
  REQUIRE(decode_level_change(json, change, why));
  return change;
}

// Why `json` is not a level change; empty when it is one.
std::string problem_of(const std::string& json) {
  level_change change;
  std::string why;
  if (decode_level_change(json, change, why))
    return {};
  CHECK_FALSE(why.empty());
  return why;
}

// A store's answer to the keys a starting node reads: "emergency:level:<node>" for each node's
// record, and "emergency:level" (from before nodes had keys of their own), as the controller
// asks for them.
struct store_view {
  std::vector<std::string> keys;
  std::vector<maybe_value> values;

  store_view& with(std::string key, std::string json) {
    keys.push_back(std::move(key));
    values.push_back({true, std::move(json)});
    return *this;
  }

  store_view& with(const std::string& node, const level_change& change) {
    return with("emergency:level:" + node, encode_level_change(change));
  }

  stored_levels read_by(const std::string& node) const {
    auto all_keys = keys;
    auto all_values = values;
    all_keys.push_back("emergency:level");
    all_values.push_back({});
    return merge_stored_levels(all_keys, all_values, "emergency:level:" + node, "emergency:level",
                               node, at + 1);
  }
};

// The level `node` comes back at from `store`, starting from nothing.
level_change restarted(const std::string& node, const store_view& store) {
  return restore_level(level_change{}, store.read_by(node), std::nullopt, false, node, at + 2)
      .current;
}

} // namespace

// -- the stored format ----------------------------------------------------------------------------

TEST_CASE("a level change written to the store reads back unchanged", "[emergency][persistence]") {
  auto change = stored_change(emergency_level::halt, 42, "node-a", change_source::risk_monitor,
                              "daily loss 5,200 USD over the 5,000 USD limit");
  change.previous = emergency_level::alert;
  change.based_on_sequence = 41;
  change.based_on_level = emergency_level::alert;
  change.based_on_node = "node-b";
  change.local_only = true;
  change.cleared = {{40, emergency_level::shutdown, "node-c"}, {7, emergency_level::halt, ""}};
  auto again = decoded(encode_level_change(change));
  CHECK(again.level == change.level);
  CHECK(again.previous == change.previous);
  CHECK(again.reason == change.reason);
  CHECK(again.source == change.source);
  CHECK(again.node == change.node);
  CHECK(again.at_us == change.at_us);
  CHECK(again.sequence == change.sequence);
  CHECK(again.based_on_sequence == change.based_on_sequence);
  CHECK(again.based_on_level == change.based_on_level);
  CHECK(again.based_on_node == change.based_on_node);
  CHECK(again.local_only == change.local_only);
  CHECK(again.cleared == change.cleared);
  // Not persisted: a provisional level is never written.
  CHECK_FALSE(again.provisional);
}

TEST_CASE("the stored format is the one earlier builds wrote, byte for byte",
          "[emergency][persistence]") {
  // Written by the controller before the format moved to messages/ (commit 3aa23ca): levels
  // stored by a running cluster must still load, and a node must write what its peers read.
  const std::string earlier =
      R"({"at_us":1764547200123456,"based_on_level":"ALERT","based_on_node":"node-b",)"
      R"("based_on_sequence":41,"cleared":[[40,"SHUTDOWN","node-c"],[7,"HALT",""]],)"
      R"("level":"HALT","local_only":false,"node":"node-a","previous":"ALERT",)"
      R"("reason":"limit \"breach\"\né","sequence":42,"source":"risk_monitor"})";
  auto change = stored_change(emergency_level::halt, 42, "node-a", change_source::risk_monitor,
                              "limit \"breach\"\n\xc3\xa9");
  change.previous = emergency_level::alert;
  change.based_on_sequence = 41;
  change.based_on_level = emergency_level::alert;
  change.based_on_node = "node-b";
  change.cleared = {{40, emergency_level::shutdown, "node-c"}, {7, emergency_level::halt, ""}};
  CHECK(encode_level_change(change) == earlier);
  CHECK(encode_level_change(decoded(earlier)) == earlier);
}

TEST_CASE("a record written before nodes formed a cluster reads as based on nothing",
          "[emergency][persistence]") {
  auto change = decoded(R"({"level":"HALT","previous":"NORMAL","reason":"old","source":"operator",)"
                        R"("node":"","at_us":5,"sequence":3})");
  CHECK(change.level == emergency_level::halt);
  CHECK(change.sequence == 3);
  CHECK(change.based_on_sequence == 0);
  CHECK(change.based_on_node.empty());
  CHECK_FALSE(change.local_only);
  CHECK(change.cleared.empty());
}

TEST_CASE("a stored record with fields of the wrong type is unreadable",
          "[emergency][persistence]") {
  auto good =
      nlohmann::json::parse(encode_level_change(stored_change(emergency_level::halt, 9, "node-a")));
  auto with = [&](const char* key, nlohmann::json value) {
    auto j = good;
    j[key] = std::move(value);
    return j.dump();
  };
  auto without = [&](const char* key) {
    auto j = good;
    j.erase(key);
    return j.dump();
  };
  CHECK(problem_of(good.dump()).empty());
  for (const auto& json :
       {std::string{}, std::string{"null"}, std::string{"[]"}, std::string{"\"HALT\""},
        std::string{"{\"level\":\"HALT\""}, good.dump() + "x"})
    CHECK(problem_of(json) == "not a JSON object");
  for (const auto& json :
       {with("level", 2), with("previous", nullptr), with("source", 1), with("reason", 7),
        with("node", nlohmann::json::array()), without("level"), without("reason")})
    CHECK(problem_of(json)
          == "a level, previous level, source, reason or node is missing or not "
             "valid");
  for (const auto& json :
       {with("sequence", -1), with("sequence", 1.5), with("sequence", "9"), with("at_us", 1.5),
        with("at_us", "now"), without("sequence"), without("at_us")})
    CHECK(problem_of(json) == "the sequence or time is missing or not a number");
  for (const auto& json :
       {with("based_on_sequence", -3), with("based_on_level", "halt"), with("local_only", "false"),
        without("based_on_node"), without("local_only")})
    CHECK(problem_of(json) == "the change it was based on, or local_only, is not valid");
  CHECK(problem_of(with("cleared", "none")) == "cleared is not a list of at most 32 changes");
  CHECK(problem_of(with("cleared", std::vector<nlohmann::json>(33, {1, "HALT", "n"})))
        == "cleared is not a list of at most 32 changes");
  for (const auto& entry :
       {nlohmann::json{1, "HALT"}, nlohmann::json{-1, "HALT", "n"}, nlohmann::json{1, "PANIC", "n"},
        nlohmann::json{1, "HALT", 5}, nlohmann::json{{"sequence", 1}}})
    CHECK(problem_of(with("cleared", nlohmann::json::array({entry})))
          == "an entry of cleared is not [sequence, level, node]");
}

TEST_CASE("a level or source that is no such thing is unreadable", "[emergency][persistence]") {
  auto good =
      nlohmann::json::parse(encode_level_change(stored_change(emergency_level::halt, 9, "node-a")));
  for (const auto* name : {"halt", "PANIC", "level(7)", "", "HALT "}) {
    auto j = good;
    j["level"] = name;
    CHECK_FALSE(problem_of(j.dump()).empty());
  }
  auto j = good;
  j["source"] = "source(6)";
  CHECK_FALSE(problem_of(j.dump()).empty());
  // A level byte that is none of the four (a corrupted message) is written as no level, and is
  // never read back as one.
  auto corrupt = stored_change(static_cast<emergency_level>(7), 9, "node-a");
  CHECK_FALSE(problem_of(encode_level_change(corrupt)).empty());
  corrupt = stored_change(emergency_level::halt, 9, "node-a", static_cast<change_source>(200));
  CHECK_FALSE(problem_of(encode_level_change(corrupt)).empty());
}

TEST_CASE("text that is not UTF-8 is stored as U+FFFD, and a record holding such bytes is "
          "unreadable",
          "[emergency][persistence]") {
  auto change = stored_change(emergency_level::halt, 9, "node-\xff",
                              change_source::operator_request, "bad \xc3\x28 bytes");
  auto json = encode_level_change(change);
  auto again = decoded(json);
  CHECK(again.reason == "bad \xef\xbf\xbd( bytes");
  CHECK(again.node == "node-\xef\xbf\xbd");
  // Raw bytes written by someone else: not JSON, so HALT.
  std::string raw = R"({"level":"NORMAL","previous":"NORMAL","reason":"x)"
                    "\xff"
                    R"(","source":"operator","node":"n","at_us":1,"sequence":1})";
  CHECK(problem_of(raw) == "not a JSON object");
  auto back = restarted("node-a", store_view{}.with("emergency:level:node-a", raw));
  CHECK(back.level == emergency_level::halt);
}

TEST_CASE("an overlong reason is read from the node's own record, but a peer's record beyond a "
          "peer change's bounds is not merged",
          "[emergency][persistence]") {
  // Failing safe: a HALT with a reason of a megabyte still halts.
  std::string megabyte(1 << 20, 'r');
  auto own =
      stored_change(emergency_level::halt, 4, "node-a", change_source::operator_request, megabyte);
  auto back = restarted("node-a", store_view{}.with("node-a", own));
  CHECK(back.level == emergency_level::halt);
  CHECK(back.reason.size() == megabyte.size());
  // Another node's record is taken as its change would be, and that is bounded (4096 bytes).
  auto mine = stored_change(emergency_level::normal, 4, "node-a");
  auto theirs = stored_change(emergency_level::halt, 5, "node-b", change_source::operator_request,
                              std::string(4097, 'r'));
  back = restarted("node-a", store_view{}.with("node-a", mine).with("node-b", theirs));
  CHECK(back.level == emergency_level::normal);
  theirs.reason.resize(4096);
  back = restarted("node-a", store_view{}.with("node-a", mine).with("node-b", theirs));
  CHECK(back.level == emergency_level::halt);
}

// -- the level a starting node comes back at ---------------------------------------------------

TEST_CASE("with nothing stored a node starts at the level it holds", "[emergency][restore]") {
  auto stored = store_view{}.read_by("node-a");
  CHECK_FALSE(stored.found);
  CHECK(stored.unreadable.empty());
  auto outcome = restore_level(level_change{}, stored, std::nullopt, false, "node-a", at);
  CHECK(outcome.current.level == emergency_level::normal);
  CHECK(outcome.current.sequence == 0);
  CHECK_FALSE(outcome.restored);
  CHECK_FALSE(outcome.deferred);
}

TEST_CASE("a node comes back at the level it stored, and its sequence goes on from there",
          "[emergency][restore]") {
  for (auto level : {emergency_level::normal, emergency_level::alert, emergency_level::halt}) {
    auto outcome = restore_level(
        level_change{},
        store_view{}.with("node-a", stored_change(level, 17, "node-a")).read_by("node-a"),
        std::nullopt, false, "node-a", at);
    CHECK(outcome.current.level == level);
    CHECK(outcome.current.sequence == 17);
    REQUIRE(outcome.restored);
    CHECK(outcome.restored->level == level);
    auto next = next_change(outcome.current, emergency_level::shutdown, "r",
                            change_source::operator_request, "node-a", at);
    CHECK(next.sequence == 18);
  }
}

TEST_CASE("after a graceful stop a node comes back at the level in force before it",
          "[emergency][restore]") {
  for (auto before : {emergency_level::normal, emergency_level::alert, emergency_level::halt}) {
    auto stop =
        stored_change(emergency_level::shutdown, 8, "node-a", change_source::stop, "SIGTERM");
    stop.previous = before;
    stop.local_only = true;
    auto back = restarted("node-a", store_view{}.with("node-a", stop));
    CHECK(back.level == before);
    CHECK(back.previous == emergency_level::shutdown);
    CHECK(back.source == change_source::restore);
    CHECK(back.reason == "SIGTERM");
    CHECK_FALSE(back.local_only);
    CHECK(back.sequence == 8);
  }
}

TEST_CASE("after an emergency SHUTDOWN a node comes back HALTed, for an operator to resume",
          "[emergency][restore]") {
  auto shutdown = stored_change(emergency_level::shutdown, 8, "node-a",
                                change_source::operator_request, "exchange outage");
  shutdown.previous = emergency_level::normal;
  auto back = restarted("node-a", store_view{}.with("node-a", shutdown));
  CHECK(back.level == emergency_level::halt);
  CHECK(back.previous == emergency_level::shutdown);
  CHECK(back.source == change_source::restore);
  CHECK(back.reason == "the previous run ended in an emergency SHUTDOWN: exchange outage");
  // Another node's emergency SHUTDOWN, too.
  back = restarted("node-b", store_view{}.with("node-a", shutdown));
  CHECK(back.level == emergency_level::halt);
  CHECK_THAT(back.reason, Catch::Matchers::Contains("emergency SHUTDOWN: exchange outage"));
}

TEST_CASE("an unreadable record fails safe: HALT, after everything that could be read",
          "[emergency][restore]") {
  auto store = store_view{}
                   .with("node-a", stored_change(emergency_level::normal, 3, "node-a"))
                   .with("node-b", stored_change(emergency_level::alert, 11, "node-b"))
                   .with("emergency:level:node-c", R"({"level":"NOPE"})");
  auto stored = store.read_by("node-a");
  REQUIRE(stored.unreadable.size() == 1);
  CHECK(stored.unreadable.front().key == "emergency:level:node-c");
  CHECK(stored.unreadable.front().problem
        == "a level, previous level, source, reason or node is missing or not valid");
  auto back = restarted("node-a", store);
  CHECK(back.level == emergency_level::halt);
  CHECK(back.previous == emergency_level::alert);
  CHECK(back.sequence == 12);
  CHECK(back.source == change_source::restore);
  CHECK(back.node == "node-a");
  CHECK(back.reason
        == "the persisted level could not be read: emergency:level:node-c: a level, previous "
           "level, source, reason or node is missing or not valid");
  // With nothing readable at all: HALT, as the first change.
  back = restarted("node-a", store_view{}.with("emergency:level:node-a", "{"));
  CHECK(back.level == emergency_level::halt);
  CHECK(back.sequence == 1);
}

TEST_CASE("another node's record is taken as its change would be", "[emergency][restore]") {
  auto mine = stored_change(emergency_level::normal, 3, "node-a");
  auto halt = stored_change(emergency_level::halt, 5, "node-b");
  auto back = restarted("node-a", store_view{}.with("node-a", mine).with("node-b", halt));
  CHECK(back.level == emergency_level::halt);
  CHECK(back.node == "node-b");
  CHECK(back.sequence == 5);
  // A resume there that knew of this node's HALT lifts it; one that did not, does not.
  auto my_halt = stored_change(emergency_level::halt, 6, "node-a");
  auto resume = stored_change(emergency_level::normal, 7, "node-b");
  CHECK(restarted("node-a", store_view{}.with("node-a", my_halt).with("node-b", resume)).level
        == emergency_level::halt);
  resume.based_on_sequence = 6;
  resume.based_on_level = emergency_level::halt;
  resume.based_on_node = "node-a";
  CHECK(restarted("node-a", store_view{}.with("node-a", my_halt).with("node-b", resume)).level
        == emergency_level::normal);
  // A node with no record of its own begins at the cluster's level...
  back = restarted("node-c", store_view{}.with("node-b", halt));
  CHECK(back.level == emergency_level::halt);
  // ...but not at another node's own level (its stop, its dead man's switch).
  auto isolated = stored_change(emergency_level::halt, 9, "node-b", change_source::node);
  isolated.local_only = true;
  CHECK_FALSE(store_view{}.with("node-b", isolated).read_by("node-c").found);
}

TEST_CASE("a record under the key from before nodes had keys of their own counts as the node's "
          "own",
          "[emergency][restore]") {
  auto legacy = stored_change(emergency_level::halt, 4, "");
  auto back =
      restarted("node-a", store_view{}.with("emergency:level", encode_level_change(legacy)));
  CHECK(back.level == emergency_level::halt);
  // Of two records of its own, the later in the cluster's order counts.
  auto own = stored_change(emergency_level::alert, 6, "node-a");
  back = restarted(
      "node-a",
      store_view{}.with("emergency:level", encode_level_change(legacy)).with("node-a", own));
  CHECK(back.level == emergency_level::alert);
  CHECK(back.sequence == 6);
}

TEST_CASE("a raise made while the level was read applies on top of it, a lower one does not",
          "[emergency][restore]") {
  auto stored = store_view{}
                    .with("node-a", stored_change(emergency_level::alert, 5, "node-a"))
                    .read_by("node-a");
  auto raise = next_change(level_change{}, emergency_level::halt, "operator, early",
                           change_source::operator_request, "node-a", at);
  auto outcome = restore_level(level_change{}, stored, raise, false, "node-a", at);
  REQUIRE(outcome.deferred);
  CHECK(outcome.current.level == emergency_level::halt);
  CHECK(outcome.current.previous == emergency_level::alert);
  CHECK(outcome.current.reason == "operator, early");
  CHECK(outcome.current.sequence == 6);
  CHECK(outcome.current.based_on_sequence == 5);
  CHECK(outcome.current.based_on_level == emergency_level::alert);
  REQUIRE(outcome.restored);
  CHECK(outcome.restored->level == emergency_level::alert);
  auto lower = next_change(level_change{}, emergency_level::alert, "near a limit",
                           change_source::risk_monitor, "node-a", at);
  auto over_halt =
      restore_level(level_change{},
                    store_view{}
                        .with("node-a", stored_change(emergency_level::halt, 5, "node-a"))
                        .read_by("node-a"),
                    lower, false, "node-a", at);
  CHECK_FALSE(over_halt.deferred);
  CHECK(over_halt.current.level == emergency_level::halt);
  CHECK(over_halt.current.sequence == 5);
}

TEST_CASE("contact lost while the level was read halts the node on its own",
          "[emergency][restore]") {
  auto stored = store_view{}
                    .with("node-a", stored_change(emergency_level::normal, 5, "node-a"))
                    .read_by("node-a");
  auto outcome = restore_level(level_change{}, stored, std::nullopt, true, "node-a", at);
  CHECK(outcome.current.level == emergency_level::halt);
  CHECK(outcome.current.local_only);
  CHECK(outcome.current.source == change_source::node);
  CHECK(outcome.current.sequence == 6);
  CHECK(outcome.current.reason == "isolated: contact was lost before the persisted level was read");
  // Already halted: nothing more.
  stored = store_view{}
               .with("node-a", stored_change(emergency_level::halt, 5, "node-a"))
               .read_by("node-a");
  outcome = restore_level(level_change{}, stored, std::nullopt, true, "node-a", at);
  CHECK(outcome.current.sequence == 5);
  CHECK_FALSE(outcome.current.local_only);
}
