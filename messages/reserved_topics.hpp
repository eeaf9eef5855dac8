#pragma once

// The topics the infrastructure speaks on, that others act on: market data, level changes,
// breaker transitions, the standard trading channels and workflow events. A bot or a workflow
// does not publish there (an alert goes through its own call, which says who sent it).

#include <string_view>

namespace brokedancer {

inline bool is_reserved_topic(std::string_view topic) {
  for (std::string_view prefix :
       {"market.", "emergency.", "breaker.", "trading.", "workflow_events"})
    if (topic.compare(0, prefix.size(), prefix) == 0)
      return true;
  return false;
}

} // namespace brokedancer
