#include "messages/control.hpp"

#include <nlohmann/json.hpp>

namespace brokedancer {

void to_json(nlohmann::json& j, const audit_entry& e) {
  j = {{"at_us", e.at_us},     {"credential", e.credential}, {"role", e.role},
       {"address", e.address}, {"command", e.command},       {"reason", e.reason},
       {"outcome", e.outcome}};
}

} // namespace brokedancer
