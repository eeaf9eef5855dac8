#pragma once

// Reading one field of a JSON object that came from outside (an exchange's answer, a journal
// entry read back, a request's body): the value when the field is there with the right type,
// else an empty default -- never an exception, whatever the document holds.

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace brokedancer {

inline std::string text_field(const nlohmann::json& j, const char* name) {
  if (!j.is_object())
    return {};
  auto found = j.find(name);
  return found != j.end() && found->is_string() ? found->get<std::string>() : std::string{};
}

// A number (integer or not); 0 when absent or not a number.
inline double number_field(const nlohmann::json& j, const char* name) {
  if (!j.is_object())
    return 0;
  auto found = j.find(name);
  return found != j.end() && found->is_number() ? found->get<double>() : 0.0;
}

// A count: an unsigned integer; 0 when absent, negative or not an integer.
inline uint64_t count_field(const nlohmann::json& j, const char* name) {
  if (!j.is_object())
    return 0;
  auto found = j.find(name);
  if (found == j.end())
    return 0;
  if (found->is_number_unsigned())
    return found->get<uint64_t>();
  // A document built in code holds a positive literal as a signed integer.
  if (found->is_number_integer() && found->get<int64_t>() > 0)
    return static_cast<uint64_t>(found->get<int64_t>());
  return 0;
}

} // namespace brokedancer
