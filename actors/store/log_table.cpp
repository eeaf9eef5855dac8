#include "actors/store/log_table.hpp"

#include <algorithm>
#include <charconv>

namespace brokedancer {

bool parse_log_id(const std::string& text, std::pair<uint64_t, uint64_t>& id) {
  if (text.empty() || text == "0") {
    id = {0, 0};
    return true;
  }
  auto dash = text.find('-');
  if (dash == std::string::npos)
    return false;
  const char* begin = text.data();
  const char* end = begin + text.size();
  auto ms = std::from_chars(begin, begin + dash, id.first);
  auto seq = std::from_chars(begin + dash + 1, end, id.second);
  return ms.ec == std::errc{} && ms.ptr == begin + dash && seq.ec == std::errc{} && seq.ptr == end
         && dash > 0 && dash + 1 < text.size();
}

std::string log_table::append(const std::string& log, std::string json, int64_t now_ms) {
  auto& l = logs_[log];
  auto ms = static_cast<uint64_t>(std::max<int64_t>(now_ms, 0));
  // As Redis does: a clock that went back keeps the last millisecond and counts on.
  l.last = ms > l.last.first ? std::pair<uint64_t, uint64_t>{ms, 0}
                             : std::pair<uint64_t, uint64_t>{l.last.first, l.last.second + 1};
  auto id = std::to_string(l.last.first) + "-" + std::to_string(l.last.second);
  l.entries.push_back({l.last, {id, std::move(json)}});
  return id;
}

std::vector<log_entry> log_table::read(const std::string& log, const std::string& after,
                                       uint32_t count) const {
  std::vector<log_entry> found;
  std::pair<uint64_t, uint64_t> from;
  auto l = logs_.find(log);
  if (l == logs_.end() || !parse_log_id(after, from))
    return found;
  auto& entries = l->second.entries;
  auto first = std::upper_bound(entries.begin(), entries.end(), from,
                                [](const auto& id, const stored& s) { return id < s.id; });
  for (auto i = first; i != entries.end() && found.size() < count; ++i)
    found.push_back(i->entry);
  return found;
}

uint64_t log_table::trim(const std::string& log, const std::string& min_id) {
  std::pair<uint64_t, uint64_t> min;
  auto l = logs_.find(log);
  if (l == logs_.end() || !parse_log_id(min_id, min))
    return 0;
  uint64_t removed = 0;
  auto& entries = l->second.entries;
  while (!entries.empty() && entries.front().id < min) {
    entries.pop_front();
    ++removed;
  }
  return removed;
}

void log_table::clear() {
  logs_.clear();
}

} // namespace brokedancer
