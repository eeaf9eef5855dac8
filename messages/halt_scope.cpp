#include "messages/halt_scope.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/json_text.hpp"
#include "core/plain_name.hpp"

namespace brokedancer {

namespace {

using json = nlohmann::json;

constexpr size_t max_scope_name_bytes = 64;

bool same_place(const halt_scope& s, scope_kind kind, const std::string& name) {
  return s.kind == kind && s.name == name;
}

// The lifted scope that goes first when the table is full: the oldest.
void drop_lifted_beyond_bound(scope_table& table) {
  while (table.scopes.size() > max_scopes_kept) {
    auto oldest = table.scopes.end();
    for (auto i = table.scopes.begin(); i != table.scopes.end(); ++i)
      if (!in_force(*i) && (oldest == table.scopes.end() || i->change.at_us < oldest->change.at_us))
        oldest = i;
    if (oldest == table.scopes.end())
      return; // all in force: put_scope's callers keep those at max_scopes_in_force
    table.scopes.erase(oldest);
  }
}

} // namespace

std::string to_string(scope_kind kind) {
  switch (kind) {
    case scope_kind::bot: return "bot";
    case scope_kind::strategy: return "strategy";
    case scope_kind::symbol: return "symbol";
    case scope_kind::endpoint: return "endpoint";
  }
  return "scope_kind(" + std::to_string(static_cast<int>(kind)) + ")";
}

bool from_string(const std::string& text, scope_kind& kind) {
  for (auto candidate :
       {scope_kind::bot, scope_kind::strategy, scope_kind::symbol, scope_kind::endpoint})
    if (text == to_string(candidate)) {
      kind = candidate;
      return true;
    }
  return false;
}

std::string scope_name_problem(scope_kind kind, const std::string& name) {
  if (!is_valid(kind))
    return "no such scope kind";
  auto what = "a " + to_string(kind) + " name";
  return check_plain_name(what.c_str(), name, max_scope_name_bytes);
}

bool in_force(const halt_scope& scope) {
  return scope.change.level > emergency_level::normal;
}

size_t count_in_force(const scope_table& table) {
  return static_cast<size_t>(std::count_if(table.scopes.begin(), table.scopes.end(),
                                           [](const halt_scope& s) { return in_force(s); }));
}

const halt_scope* find_scope(const scope_table& table, scope_kind kind, const std::string& name) {
  for (const auto& s : table.scopes)
    if (same_place(s, kind, name))
      return &s;
  return nullptr;
}

void put_scope(scope_table& table, halt_scope scope) {
  ++table.version;
  for (auto& s : table.scopes)
    if (same_place(s, scope.kind, scope.name)) {
      s = std::move(scope);
      drop_lifted_beyond_bound(table);
      return;
    }
  table.scopes.push_back(std::move(scope));
  drop_lifted_beyond_bound(table);
}

bool acceptable_from_peer(const std::vector<halt_scope>& scopes) {
  if (scopes.size() > max_scopes_kept)
    return false;
  return std::all_of(scopes.begin(), scopes.end(), [](const halt_scope& s) {
    return scope_name_problem(s.kind, s.name).empty() && acceptable_from_peer(s.change)
           && !s.change.local_only && !s.change.provisional
           && (s.change.level == emergency_level::normal
               || s.change.level == emergency_level::reduce_only
               || s.change.level == emergency_level::halt);
  });
}

std::vector<halt_scope> merge_scopes(scope_table& table, const std::vector<halt_scope>& theirs) {
  std::vector<halt_scope> taken;
  for (const auto& incoming : theirs) {
    if (!acceptable_from_peer(std::vector<halt_scope>{incoming}))
      continue;
    const auto* here = find_scope(table, incoming.kind, incoming.name);
    auto merged = merge_peer_change(here ? here->change : level_change{}, incoming.change);
    if (!merged)
      continue;
    bool newly_in_force = merged->level > emergency_level::normal && (!here || !in_force(*here));
    if (newly_in_force && count_in_force(table) >= max_scopes_in_force)
      continue;
    halt_scope scope{incoming.kind, incoming.name, std::move(*merged)};
    put_scope(table, scope);
    taken.push_back(std::move(scope));
  }
  return taken;
}

// -- coverage -----------------------------------------------------------------------------------

bot_scope_view view_for(const scope_table& table, const scope_subject& subject) {
  bot_scope_view view;
  view.version = table.version;
  for (const auto& s : table.scopes) {
    if (!in_force(s))
      continue;
    if (s.kind == scope_kind::symbol) {
      view.symbols.push_back({s.name, s.change.level});
      continue;
    }
    const auto& own = s.kind == scope_kind::bot        ? subject.bot_id
                      : s.kind == scope_kind::strategy ? subject.strategy
                                                       : subject.endpoint;
    if (own == s.name && s.change.level > view.level) {
      view.level = s.change.level;
      view.reason = to_string(s.kind) + " " + s.name + ": " + s.change.reason;
    }
  }
  std::sort(view.symbols.begin(), view.symbols.end(),
            [](const symbol_scope& a, const symbol_scope& b) { return a.symbol < b.symbol; });
  return view;
}

bool same_view(const bot_scope_view& a, const bot_scope_view& b) {
  if (a.level != b.level || a.reason != b.reason || a.symbols.size() != b.symbols.size())
    return false;
  for (size_t i = 0; i < a.symbols.size(); ++i)
    if (a.symbols[i].symbol != b.symbols[i].symbol || a.symbols[i].level != b.symbols[i].level)
      return false;
  return true;
}

emergency_level level_for(const bot_scope_view& view, const std::string& symbol) {
  auto level = view.level;
  for (const auto& s : view.symbols)
    if (s.symbol == symbol)
      level = std::max(level, s.level);
  return level;
}

void scope_index::rebuild(const scope_table& table) {
  in_force_.clear();
  for (auto& by_name : by_kind_)
    by_name.clear();
  for (const auto& s : table.scopes)
    if (in_force(s) && is_valid(s.kind)) {
      by_kind_[static_cast<size_t>(s.kind)][s.name] = in_force_.size();
      in_force_.push_back(s);
    }
}

const halt_scope* scope_index::covering(const std::string& bot_id, const std::string& strategy,
                                        const std::string& symbol,
                                        const std::string& endpoint) const {
  if (in_force_.empty())
    return nullptr;
  const halt_scope* highest = nullptr;
  auto consider = [&](scope_kind kind, const std::string& name) {
    if (name.empty())
      return;
    const auto& by_name = by_kind_[static_cast<size_t>(kind)];
    auto found = by_name.find(name);
    if (found == by_name.end())
      return;
    const auto& s = in_force_[found->second];
    if (!highest || s.change.level > highest->change.level)
      highest = &s;
  };
  consider(scope_kind::bot, bot_id);
  consider(scope_kind::strategy, strategy);
  consider(scope_kind::symbol, symbol);
  consider(scope_kind::endpoint, endpoint);
  return highest;
}

// -- persisted ----------------------------------------------------------------------------------

std::string encode_scopes(const std::vector<halt_scope>& scopes) {
  auto list = json::array();
  for (const auto& s : scopes)
    list.push_back({{"kind", to_string(s.kind)},
                    {"name", s.name},
                    {"change", parse_json_within(encode_level_change(s.change))}});
  return dump_json({{"version", 1}, {"scopes", std::move(list)}});
}

bool decode_scopes(const std::string& text, std::vector<halt_scope>& scopes, std::string& why) {
  scopes.clear();
  auto j = parse_json_within(text);
  if (!j.is_object() || !j.contains("scopes") || !j["scopes"].is_array() || !j.contains("version")
      || !j["version"].is_number_integer() || j["version"] != 1) {
    why = "not a scope table of version 1";
    return false;
  }
  if (j["scopes"].size() > max_scopes_kept) {
    why = "more than " + std::to_string(max_scopes_kept) + " scopes";
    return false;
  }
  for (const auto& item : j["scopes"]) {
    halt_scope s;
    if (!item.is_object() || !item.contains("kind") || !item["kind"].is_string()
        || !from_string(item["kind"].get<std::string>(), s.kind) || !item.contains("name")
        || !item["name"].is_string() || !item.contains("change") || !item["change"].is_object()) {
      why = "a scope is not {kind, name, change}";
      return false;
    }
    s.name = item["name"].get<std::string>();
    if (auto problem = scope_name_problem(s.kind, s.name); !problem.empty()) {
      why = problem;
      return false;
    }
    if (!decode_level_change(dump_json(item["change"]), s.change, why))
      return false;
    if (s.change.level != emergency_level::normal && s.change.level != emergency_level::reduce_only
        && s.change.level != emergency_level::halt) {
      why = "a scope's level is NORMAL, REDUCE_ONLY or HALT";
      return false;
    }
    scopes.push_back(std::move(s));
  }
  return true;
}

stored_scopes merge_stored_scopes(const std::vector<std::string>& keys,
                                  const std::vector<maybe_value>& values,
                                  const std::string& own_key) {
  stored_scopes out;
  std::vector<std::vector<halt_scope>> others;
  for (size_t i = 0; i < keys.size() && i < values.size(); ++i) {
    if (!values[i].found)
      continue;
    std::vector<halt_scope> scopes;
    std::string why;
    if (!decode_scopes(values[i].json, scopes, why)) {
      out.unreadable.push_back(keys[i] + ": " + why);
      continue;
    }
    if (keys[i] == own_key) {
      for (auto& s : scopes)
        put_scope(out.table, std::move(s));
    } else {
      others.push_back(std::move(scopes));
    }
  }
  for (const auto& theirs : others)
    merge_scopes(out.table, theirs);
  return out;
}

bool same_scopes(const std::vector<halt_scope>& a, const std::vector<halt_scope>& b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].kind != b[i].kind || a[i].name != b[i].name
        || !(key_of(a[i].change) == key_of(b[i].change)))
      return false;
  return true;
}

std::string scope_json(const halt_scope& s) {
  return dump_json({{"kind", to_string(s.kind)},
                    {"name", s.name},
                    {"level", to_string(s.change.level)},
                    {"previous", to_string(s.change.previous)},
                    {"reason", s.change.reason},
                    {"source", to_string(s.change.source)},
                    {"node", s.change.node},
                    {"at_us", s.change.at_us},
                    {"sequence", s.change.sequence}});
}

} // namespace brokedancer
