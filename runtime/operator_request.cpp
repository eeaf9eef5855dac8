#include "runtime/operator_request.hpp"

#include <nlohmann/json.hpp>

#include "core/json_text.hpp"
#include "messages/control.hpp"

namespace brokedancer {

std::string parse_change_request(std::string_view body, std::string_view command,
                                 change_request& out) {
  auto parsed = parse_json_within(body);
  if (!parsed.is_object())
    return "the body must be a JSON object such as {\"reason\": \"...\"}";
  auto r = parsed.find("reason");
  if (r == parsed.end() || !r->is_string() || r->get_ref<const std::string&>().empty())
    return "\"reason\" must be a non-empty string: every level change is recorded with its "
           "reason";
  auto reason = r->get<std::string>();
  if (auto why = reason_problem(reason); !why.empty())
    return "\"reason\": " + why;
  auto level = command == "shutdown" ? emergency_level::shutdown : emergency_level::halt;
  if (command == "resume") {
    level = emergency_level::normal;
    if (auto l = parsed.find("level"); l != parsed.end()) {
      if (!l->is_string() || !from_string(l->get<std::string>(), level)
          || (level != emergency_level::normal && level != emergency_level::alert))
        return "\"level\" must be \"NORMAL\" or \"ALERT\"";
    }
  }
  out.reason = std::move(reason);
  out.level = level;
  return {};
}

} // namespace brokedancer
