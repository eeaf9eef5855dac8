#pragma once

// The body of a level change sent to the operator API, read as the outside input it is.

#include <string>
#include <string_view>

#include "messages/emergency.hpp"

namespace brokedancer {

struct change_request {
  std::string reason;
  emergency_level level = emergency_level::halt; // resume: NORMAL or ALERT
};

// Reads `body` (JSON) for `command` (halt, shutdown, resume). Empty when it is acceptable: a
// non-empty reason of printable UTF-8 up to max_reason_bytes, and for resume a level of NORMAL
// (the default) or ALERT. Otherwise why not, for the operator.
std::string parse_change_request(std::string_view body, std::string_view command,
                                 change_request& out);

} // namespace brokedancer
