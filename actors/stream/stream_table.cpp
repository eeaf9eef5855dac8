#include "actors/stream/stream_table.hpp"

#include <algorithm>
#include <limits>

namespace brokedancer {

namespace {

using id_type = stream_table::id_type;

constexpr uint64_t max_seq = std::numeric_limits<uint64_t>::max();
constexpr id_type max_id{max_seq, max_seq};

// As Redis does: a clock that went back keeps the last millisecond and counts on; a sequence
// that would wrap moves on to the next millisecond instead.
id_type next_id(const id_type& last, int64_t now_ms) {
  auto ms = static_cast<uint64_t>(std::max<int64_t>(now_ms, 0));
  if (ms > last.first)
    return {ms, 0};
  if (last.second == max_seq)
    return {last.first + 1, 0};
  return {last.first, last.second + 1};
}

std::string format(const id_type& id) {
  return format_stream_id(id.first, id.second);
}

// "-" and "+" are the ends in either position, as in XRANGE ("+" as `from` reads nothing).
bool parse_end(const std::string& text, id_type& id) {
  if (text == "-")
    id = {0, 0};
  else if (text == "+")
    id = max_id;
  else
    return parse_stream_id(text, id.first, id.second);
  return true;
}

// A bare "<ms>" as the upper bound covers every entry of that millisecond.
bool parse_range_to(const std::string& text, id_type& id) {
  if (!parse_end(text, id))
    return false;
  if (text != "+" && text != "-" && text.find('-') == std::string::npos)
    id.second = max_seq;
  return true;
}

template <class Entries>
auto first_from(const Entries& entries, const id_type& id) {
  return std::lower_bound(entries.begin(), entries.end(), id,
                          [](const auto& s, const id_type& x) { return s.id < x; });
}

template <class Entries>
auto first_after(const Entries& entries, const id_type& id) {
  return std::upper_bound(entries.begin(), entries.end(), id,
                          [](const id_type& x, const auto& s) { return x < s.id; });
}

int64_t idle_since(int64_t delivered_at_ms, int64_t now_ms) {
  // A clock that went back since the delivery reads as "just delivered", as in XPENDING.
  return std::max<int64_t>(now_ms - delivered_at_ms, 0);
}

// XPENDING's IDLE filter: the oldest `count` ids idle for at least min_idle_ms. Collected
// first because a claim erases from the pending list while it works through them.
template <class Pending>
std::vector<id_type> idle_ids(const Pending& pending, int64_t min_idle_ms, uint32_t count,
                              int64_t now_ms) {
  std::vector<id_type> ids;
  for (auto i = pending.begin(); i != pending.end() && ids.size() < count; ++i)
    if (idle_since(i->second.delivered_at_ms, now_ms) >= min_idle_ms)
      ids.push_back(i->first);
  return ids;
}

} // namespace

std::string stream_table::append(const std::string& stream, const market_tick& tick,
                                 const stream_settings& settings, int64_t now_ms) {
  auto& s = streams_[stream];
  s.last = next_id(s.last, now_ms);
  s.entries.push_back({s.last, tick});
  trim(s, settings, now_ms);
  return format(s.last);
}

void stream_table::trim(one_stream& s, const stream_settings& settings, int64_t now_ms) {
  if (settings.max_length > 0)
    while (s.entries.size() > settings.max_length) {
      s.trimmed = s.entries.front().id;
      s.entries.pop_front();
    }
  if (settings.max_age_ms <= 0 || now_ms - settings.max_age_ms <= 0)
    return;
  auto oldest_kept = static_cast<uint64_t>(now_ms - settings.max_age_ms);
  // Pending lists keep ids of trimmed entries, as on Redis; a claim drops them.
  while (!s.entries.empty() && s.entries.front().id.first < oldest_kept) {
    s.trimmed = s.entries.front().id;
    s.entries.pop_front();
  }
}

const stream_table::stored* stream_table::find(const one_stream& s, const id_type& id) const {
  auto i = first_from(s.entries, id);
  return i != s.entries.end() && i->id == id ? &*i : nullptr;
}

bool stream_table::range(const std::string& stream, const std::string& from, const std::string& to,
                         uint32_t count, std::vector<stream_entry>& out) const {
  out.clear();
  id_type first;
  id_type last;
  if (!parse_end(from, first) || !parse_range_to(to, last))
    return false;
  auto s = streams_.find(stream);
  if (s == streams_.end())
    return true;
  auto& entries = s->second.entries;
  for (auto i = first_from(entries, first);
       i != entries.end() && i->id <= last && out.size() < count; ++i)
    out.push_back({format(i->id), i->tick});
  return true;
}

std::vector<stream_entry> stream_table::after(const std::string& stream, const id_type& after,
                                              uint32_t count) const {
  std::vector<stream_entry> found;
  auto s = streams_.find(stream);
  if (s == streams_.end())
    return found;
  auto& entries = s->second.entries;
  for (auto i = first_after(entries, after); i != entries.end() && found.size() < count; ++i)
    found.push_back({format(i->id), i->tick});
  return found;
}

stream_table::id_type stream_table::last_id(const std::string& stream) const {
  auto s = streams_.find(stream);
  return s == streams_.end() ? id_type{0, 0} : s->second.last;
}

stream_table::id_type stream_table::trimmed_through(const std::string& stream) const {
  auto s = streams_.find(stream);
  return s == streams_.end() ? id_type{0, 0} : s->second.trimmed;
}

stream_table::id_type stream_table::first_id(const std::string& stream) const {
  auto s = streams_.find(stream);
  if (s == streams_.end() || s->second.entries.empty())
    return {0, 0};
  return s->second.entries.front().id;
}

stream_table::create_outcome stream_table::create_group(const std::string& stream,
                                                        const std::string& group,
                                                        const std::string& start) {
  // The start is read before the stream is made, so a bad one leaves no empty stream behind
  // (as XGROUP CREATE ... MKSTREAM answers an error first).
  id_type start_id;
  if (start == "$")
    start_id = last_id(stream);
  else if (!parse_stream_id(start, start_id.first, start_id.second))
    return create_outcome::bad_start;
  auto& groups = streams_[stream].groups;
  if (groups.count(group) > 0)
    return create_outcome::exists;
  groups[group].last_delivered = start_id;
  return create_outcome::created;
}

bool stream_table::has_group(const std::string& stream, const std::string& group) const {
  auto s = streams_.find(stream);
  return s != streams_.end() && s->second.groups.count(group) > 0;
}

std::vector<stream_entry> stream_table::read_group(const std::string& stream,
                                                   const std::string& group,
                                                   const std::string& consumer, uint32_t count,
                                                   int64_t now_ms) {
  std::vector<stream_entry> read;
  auto s = streams_.find(stream);
  if (s == streams_.end() || s->second.groups.count(group) == 0)
    return read;
  auto& g = s->second.groups[group];
  auto& entries = s->second.entries;
  for (auto i = first_after(entries, g.last_delivered); i != entries.end(); ++i) {
    if (read.size() == count)
      break;
    g.last_delivered = i->id;
    g.pending[i->id] = delivery{consumer, now_ms, 1};
    read.push_back({format(i->id), i->tick});
  }
  return read;
}

uint32_t stream_table::ack(const std::string& stream, const std::string& group,
                           const std::vector<std::string>& ids) {
  auto s = streams_.find(stream);
  if (s == streams_.end() || s->second.groups.count(group) == 0)
    return 0;
  auto& pending = s->second.groups[group].pending;
  uint32_t acknowledged = 0;
  for (const auto& text : ids) {
    id_type id;
    if (parse_stream_id(text, id.first, id.second))
      acknowledged += static_cast<uint32_t>(pending.erase(id));
  }
  return acknowledged;
}

std::vector<pending_entry> stream_table::pending(const std::string& stream,
                                                 const std::string& group, uint32_t count,
                                                 int64_t now_ms) const {
  std::vector<pending_entry> found;
  auto s = streams_.find(stream);
  if (s == streams_.end())
    return found;
  auto g = s->second.groups.find(group);
  if (g == s->second.groups.end())
    return found;
  auto& pending = g->second.pending;
  for (auto i = pending.begin(); i != pending.end() && found.size() < count; ++i)
    found.push_back({format(i->first), i->second.consumer,
                     idle_since(i->second.delivered_at_ms, now_ms), i->second.deliveries});
  return found;
}

claim_result stream_table::claim(const std::string& stream, const std::string& group,
                                 const std::string& consumer, int64_t min_idle_ms, uint32_t count,
                                 const stream_settings& settings, int64_t now_ms) {
  claim_result result;
  auto s = streams_.find(stream);
  if (s == streams_.end() || s->second.groups.count(group) == 0)
    return result;
  // References, not the iterator: appending to the dead letters may rehash streams_, which
  // moves no element but invalidates iterators.
  auto& source = s->second;
  auto& pending = source.groups[group].pending;
  // Trimmed-away ids count towards `count` as they do in the Redis backend's XPENDING.
  for (const auto& id : idle_ids(pending, min_idle_ms, count, now_ms)) {
    auto p = pending.find(id);
    const stored* entry = find(source, id);
    if (entry == nullptr) {
      pending.erase(p);
    } else if (settings.dead_letter_after > 0
               && p->second.deliveries >= settings.dead_letter_after) {
      append(dead_letter_stream(stream), entry->tick, settings, now_ms);
      pending.erase(p);
      ++result.dead_lettered;
    } else {
      p->second = delivery{consumer, now_ms, p->second.deliveries + 1};
      result.entries.push_back({format(id), entry->tick});
    }
  }
  return result;
}

uint64_t stream_table::length(const std::string& stream) const {
  auto s = streams_.find(stream);
  return s == streams_.end() ? 0 : s->second.entries.size();
}

} // namespace brokedancer
