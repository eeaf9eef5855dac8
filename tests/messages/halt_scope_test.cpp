// Scoped halts as plain code: how scopes settle between nodes (the level's rules, per scope),
// what each covers, the order path's lookup, and the stored form against hostile input.

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/json_text.hpp"
#include "messages/halt_scope.hpp"

using namespace brokedancer;
using Catch::Matchers::Contains;

namespace {

// A change of the scope (kind, name) made on `node` on top of what `table` holds of it.
halt_scope made(const scope_table& table, scope_kind kind, const std::string& name,
                emergency_level level, const std::string& node, int64_t at_us = 1) {
  const auto* here = find_scope(table, kind, name);
  return {kind, name,
          next_change(here ? here->change : level_change{}, level, "test",
                      change_source::operator_request, node, at_us)};
}

emergency_level level_of_scope(const scope_table& table, scope_kind kind, const std::string& name) {
  const auto* s = find_scope(table, kind, name);
  return s ? s->change.level : emergency_level::normal;
}

} // namespace

TEST_CASE("a scope raised on one node is taken by another, and its lift too", "[scope]") {
  scope_table a, b;
  auto halt = made(a, scope_kind::symbol, "BTC-USD", emergency_level::halt, "a");
  put_scope(a, halt);
  auto taken = merge_scopes(b, a.scopes);
  REQUIRE(taken.size() == 1);
  CHECK(level_of_scope(b, scope_kind::symbol, "BTC-USD") == emergency_level::halt);
  // Hearing it again changes nothing.
  CHECK(merge_scopes(b, a.scopes).empty());
  // Lifted on b (knowing the HALT): a takes the lift.
  put_scope(b, made(b, scope_kind::symbol, "BTC-USD", emergency_level::normal, "b"));
  CHECK(merge_scopes(a, b.scopes).size() == 1);
  CHECK(level_of_scope(a, scope_kind::symbol, "BTC-USD") == emergency_level::normal);
}

TEST_CASE("a lift made without knowing of a raise does not lift it, and a lifted raise heard late "
          "is not raised again",
          "[scope]") {
  scope_table a, b;
  // Both hold REDUCE_ONLY; then a raises HALT while b, not knowing, lifts the REDUCE_ONLY.
  put_scope(a, made(a, scope_kind::bot, "bot-3", emergency_level::reduce_only, "a"));
  merge_scopes(b, a.scopes);
  put_scope(a, made(a, scope_kind::bot, "bot-3", emergency_level::halt, "a"));
  put_scope(b, made(b, scope_kind::bot, "bot-3", emergency_level::normal, "b"));
  merge_scopes(a, b.scopes);
  merge_scopes(b, a.scopes);
  // The next gossip settles both on the same record.
  merge_scopes(a, b.scopes);
  CHECK(same_scopes(a.scopes, b.scopes));
  CHECK(level_of_scope(a, scope_kind::bot, "bot-3") == emergency_level::halt);
  CHECK(level_of_scope(b, scope_kind::bot, "bot-3") == emergency_level::halt);
  // Now lifted knowingly on a; b's stale HALT (a late gossip, a stored table) raises nothing.
  auto stale = b.scopes;
  put_scope(a, made(a, scope_kind::bot, "bot-3", emergency_level::normal, "a"));
  merge_scopes(b, a.scopes);
  CHECK(level_of_scope(b, scope_kind::bot, "bot-3") == emergency_level::normal);
  CHECK(merge_scopes(a, stale).empty());
  CHECK(merge_scopes(b, stale).empty());
  CHECK(level_of_scope(a, scope_kind::bot, "bot-3") == emergency_level::normal);
}

TEST_CASE("malformed scopes and too many in force are not taken from a peer", "[scope]") {
  scope_table table;
  auto bad_name = made(table, scope_kind::symbol, "BTC USD", emergency_level::halt, "a");
  auto bad_kind = made(table, scope_kind::symbol, "ETH", emergency_level::halt, "a");
  bad_kind.kind = static_cast<scope_kind>(9);
  auto shutdown = made(table, scope_kind::symbol, "SOL", emergency_level::shutdown, "a");
  CHECK(merge_scopes(table, {bad_name, bad_kind, shutdown}).empty());
  CHECK_FALSE(acceptable_from_peer(std::vector<halt_scope>{bad_name}));
  std::vector<halt_scope> many;
  for (size_t i = 0; i < max_scopes_in_force + 10; ++i)
    many.push_back(
        made(table, scope_kind::bot, "bot-" + std::to_string(i), emergency_level::halt, "a"));
  merge_scopes(table, many);
  CHECK(count_in_force(table) == max_scopes_in_force);
}

TEST_CASE("lifted scopes are dropped oldest first once the table is full, and those in force stay",
          "[scope]") {
  scope_table table;
  for (size_t i = 0; i < max_scopes_kept + 20; ++i) {
    auto name = "s" + std::to_string(i);
    put_scope(table, made(table, scope_kind::symbol, name, emergency_level::halt, "a",
                          static_cast<int64_t>(i)));
    put_scope(table, made(table, scope_kind::symbol, name, emergency_level::normal, "a",
                          static_cast<int64_t>(i)));
  }
  put_scope(table, made(table, scope_kind::strategy, "momentum", emergency_level::halt, "a", 0));
  CHECK(table.scopes.size() == max_scopes_kept);
  CHECK(find_scope(table, scope_kind::strategy, "momentum") != nullptr);
  CHECK(find_scope(table, scope_kind::symbol, "s0") == nullptr);
  CHECK(find_scope(table, scope_kind::symbol, "s" + std::to_string(max_scopes_kept + 19))
        != nullptr);
}

TEST_CASE("a bot's view holds what covers it, and the index finds the highest scope of an order",
          "[scope]") {
  scope_table table;
  put_scope(table,
            made(table, scope_kind::strategy, "momentum", emergency_level::reduce_only, "a"));
  put_scope(table, made(table, scope_kind::bot, "bot-3", emergency_level::halt, "a"));
  put_scope(table, made(table, scope_kind::symbol, "BTC-USD", emergency_level::halt, "a"));
  put_scope(table, made(table, scope_kind::endpoint, "venue_b", emergency_level::halt, "a"));
  auto three = view_for(table, {"bot-3", "momentum", "exchange"});
  CHECK(three.level == emergency_level::halt);
  CHECK_THAT(three.reason, Contains("bot bot-3"));
  auto one = view_for(table, {"bot-1", "momentum", "exchange"});
  CHECK(one.level == emergency_level::reduce_only);
  REQUIRE(one.symbols.size() == 1);
  CHECK(level_for(one, "BTC-USD") == emergency_level::halt);
  CHECK(level_for(one, "ETH-USD") == emergency_level::reduce_only);
  auto other = view_for(table, {"bot-2", "mean_reversion", "exchange"});
  CHECK(other.level == emergency_level::normal);
  CHECK_FALSE(same_view(one, other));
  CHECK(same_view(one, view_for(table, {"bot-1", "momentum", "exchange"})));

  scope_index index;
  index.rebuild(table);
  CHECK(index.covering("bot-2", "mean_reversion", "ETH-USD", "exchange") == nullptr);
  auto* reduce = index.covering("bot-1", "momentum", "ETH-USD", "exchange");
  REQUIRE(reduce);
  CHECK(reduce->change.level == emergency_level::reduce_only);
  auto* symbol = index.covering("bot-1", "momentum", "BTC-USD", "exchange");
  REQUIRE(symbol);
  CHECK(symbol->kind == scope_kind::symbol);
  auto* venue = index.covering("wf", "", "ETH-USD", "venue_b");
  REQUIRE(venue);
  CHECK(venue->kind == scope_kind::endpoint);
  // Lifted: gone from the index.
  put_scope(table, made(table, scope_kind::symbol, "BTC-USD", emergency_level::normal, "a"));
  index.rebuild(table);
  CHECK(index.covering("bot-1", "momentum", "BTC-USD", "exchange")->kind == scope_kind::strategy);
}

TEST_CASE("the stored table reads back as written, and a hostile one is refused with why",
          "[scope]") {
  scope_table table;
  put_scope(table, made(table, scope_kind::symbol, "BTC-USD", emergency_level::halt, "a"));
  put_scope(table, made(table, scope_kind::bot, "bot-1", emergency_level::reduce_only, "a"));
  std::vector<halt_scope> back;
  std::string why;
  REQUIRE(decode_scopes(encode_scopes(table.scopes), back, why));
  CHECK(same_scopes(back, table.scopes));
  CHECK(back[0].change.reason == "test");
  for (const char* hostile :
       {"", "[]", "{\"version\": 2, \"scopes\": []}", "{\"version\": \"1\", \"scopes\": []}",
        "{\"version\": 1, \"scopes\": [{\"kind\": \"planet\", \"name\": \"x\", \"change\": {}}]}",
        "{\"version\": 1, \"scopes\": [{\"kind\": \"bot\", \"name\": \"a b\", \"change\": {}}]}",
        "{\"version\": 1, \"scopes\": [{\"kind\": \"bot\", \"name\": \"b\", \"change\": 7}]}",
        "{\"version\": 1, \"scopes\": [{\"kind\": \"bot\", \"name\": \"b\", \"change\": {}}]}"}) {
    INFO(hostile);
    CHECK_FALSE(decode_scopes(hostile, back, why));
    CHECK_FALSE(why.empty());
  }
}

TEST_CASE("stored tables merge: this node's own, then every other node's as a peer's", "[scope]") {
  scope_table a, b;
  put_scope(a, made(a, scope_kind::symbol, "BTC-USD", emergency_level::halt, "a"));
  put_scope(b, made(b, scope_kind::strategy, "momentum", emergency_level::reduce_only, "b"));
  auto stored = merge_stored_scopes(
      {"emergency:scopes:a", "emergency:scopes:b", "emergency:scopes:c"},
      {maybe_value{true, encode_scopes(a.scopes)}, maybe_value{true, encode_scopes(b.scopes)},
       maybe_value{true, "not json"}},
      "emergency:scopes:a");
  CHECK(level_of_scope(stored.table, scope_kind::symbol, "BTC-USD") == emergency_level::halt);
  CHECK(level_of_scope(stored.table, scope_kind::strategy, "momentum")
        == emergency_level::reduce_only);
  REQUIRE(stored.unreadable.size() == 1);
  CHECK_THAT(stored.unreadable[0], Contains("emergency:scopes:c"));
}
