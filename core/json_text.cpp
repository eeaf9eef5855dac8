#include "core/json_text.hpp"

#include <cctype>
#include <cstdint>

namespace brokedancer {

namespace {

// The code points of `text`, or false at the first malformed sequence.
template <class Each>
bool for_each_code_point(std::string_view text, Each each) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t length = 0;
    uint32_t code = 0;
    uint32_t smallest = 0;
    if (c < 0x80) {
      length = 1;
      code = c;
    } else if ((c & 0xE0) == 0xC0) {
      length = 2;
      code = c & 0x1F;
      smallest = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3;
      code = c & 0x0F;
      smallest = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4;
      code = c & 0x07;
      smallest = 0x10000;
    } else {
      return false; // a continuation byte first, or 0xF8..0xFF
    }
    if (text.size() - i < length)
      return false;
    for (size_t k = 1; k < length; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80)
        return false;
      code = (code << 6) | (next & 0x3F);
    }
    if (code < smallest || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
      return false;
    if (!each(code))
      return false;
    i += length;
  }
  return true;
}

// What must not be in a line a person reads: control characters (C0 but tab, DEL, C1), line
// and paragraph separators, and the bidirectional controls that make text read other than it is.
bool printable(uint32_t code) {
  if ((code < 0x20 && code != '\t') || (code >= 0x7F && code <= 0x9F))
    return false;
  if (code == 0x2028 || code == 0x2029 || (code >= 0x202A && code <= 0x202E)
      || (code >= 0x2066 && code <= 0x2069) || code == 0x200E || code == 0x200F)
    return false;
  return true;
}

} // namespace

bool valid_utf8(std::string_view text) {
  return for_each_code_point(text, [](uint32_t) { return true; });
}

bool printable_text(std::string_view text) {
  return for_each_code_point(text, printable);
}

std::string reason_problem(std::string_view reason) {
  if (reason.empty())
    return "a level change needs a reason: every change is recorded with its reason";
  if (reason.size() > max_reason_text_bytes)
    return "a reason is at most " + std::to_string(max_reason_text_bytes) + " bytes, not "
           + std::to_string(reason.size());
  if (!printable_text(reason))
    return "a reason must be printable UTF-8 on one line";
  // It is logged, persisted, sent to every bot and peer, and shown in every status.
  constexpr std::string_view token_prefix = "bd1_";
  for (auto at = reason.find(token_prefix); at != std::string_view::npos;
       at = reason.find(token_prefix, at + 1)) {
    size_t digits = 0;
    for (auto k = at + token_prefix.size(); k < reason.size(); ++k, ++digits)
      if (!std::isxdigit(static_cast<unsigned char>(reason[k])))
        break;
    if (digits >= 32)
      return "the reason holds what looks like an operator token; leave it out";
  }
  return {};
}

nlohmann::json parse_json_within(std::string_view text, int max_depth) {
  bool too_deep = false;
  auto parsed = nlohmann::json::parse(
      text,
      [&too_deep, max_depth](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
        if (depth > max_depth)
          too_deep = true;
        return !too_deep; // what is too deep is not kept, so never copied
      },
      false);
  return too_deep ? nlohmann::json(nlohmann::json::value_t::discarded) : parsed;
}

} // namespace brokedancer
