#pragma once

// The memory backend's logs, with Redis stream semantics: ids "<ms>-<seq>" that only grow
// (the time passed in, never going back even when the clock does), reads after an id, and
// trimming of entries older than an id.

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "messages/state_store.hpp"

namespace brokedancer {

// An entry id as its two numbers; false when the text is not "<ms>-<seq>" ("" and "0" are 0-0).
bool parse_log_id(const std::string& text, std::pair<uint64_t, uint64_t>& id);

class log_table {
public:
  std::string append(const std::string& log, std::string json, int64_t now_ms);
  std::vector<log_entry> read(const std::string& log, const std::string& after,
                              uint32_t count) const;
  uint64_t trim(const std::string& log, const std::string& min_id);
  void clear();

private:
  struct stored {
    std::pair<uint64_t, uint64_t> id;
    log_entry entry;
  };
  struct one_log {
    std::pair<uint64_t, uint64_t> last{0, 0};
    std::deque<stored> entries;
  };
  std::unordered_map<std::string, one_log> logs_;
};

} // namespace brokedancer
