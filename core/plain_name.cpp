#include "core/plain_name.hpp"

namespace brokedancer {

std::string check_plain_name(const char* what, const std::string& text, size_t max_bytes) {
  if (text.empty())
    return std::string{what} + " must not be empty";
  if (text.size() > max_bytes)
    return std::string{what} + " has " + std::to_string(text.size()) + " bytes, more than "
           + std::to_string(max_bytes);
  for (unsigned char c : text)
    if (c <= ' ' || c >= 0x7f)
      return std::string{what} + " must be printable ASCII without spaces";
  return {};
}

} // namespace brokedancer
