#include "messages/supervision.hpp"

namespace brokedancer {

std::string to_string(restart_policy policy) {
  switch (policy) {
    case restart_policy::permanent: return "permanent";
    case restart_policy::transient: return "transient";
    case restart_policy::temporary: return "temporary";
  }
  return "restart_policy(" + std::to_string(static_cast<int>(policy)) + ")";
}

bool from_string(const std::string& text, restart_policy& policy) {
  for (auto candidate :
       {restart_policy::permanent, restart_policy::transient, restart_policy::temporary}) {
    if (text == to_string(candidate)) {
      policy = candidate;
      return true;
    }
  }
  return false;
}

} // namespace brokedancer
