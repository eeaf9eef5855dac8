#include "core/glob.hpp"

#include <utility>

namespace brokedancer {

namespace {

// Matches one pattern token (everything but *) at `p` against `c`; sets `next` to the index
// after the token.
bool token_matches(std::string_view pattern, size_t p, char c, size_t& next) {
  auto n = pattern.size();
  switch (pattern[p]) {
    case '?': next = p + 1; return true;
    case '\\':
      if (p + 1 < n) {
        next = p + 2;
        return pattern[p + 1] == c;
      }
      next = p + 1;
      return c == '\\';
    case '[': {
      size_t i = p + 1;
      bool negate = i < n && pattern[i] == '^';
      if (negate)
        ++i;
      bool in_set = false;
      while (i < n && pattern[i] != ']') {
        if (pattern[i] == '\\' && i + 1 < n) {
          in_set |= pattern[i + 1] == c;
          i += 2;
        } else if (i + 2 < n && pattern[i + 1] == '-') {
          auto low = static_cast<unsigned char>(pattern[i]);
          auto high = static_cast<unsigned char>(pattern[i + 2]);
          if (low > high)
            std::swap(low, high);
          auto x = static_cast<unsigned char>(c);
          in_set |= low <= x && x <= high;
          i += 3;
        } else {
          in_set |= pattern[i] == c;
          ++i;
        }
      }
      next = i < n ? i + 1 : n;
      return negate ? !in_set : in_set;
    }
    default: next = p + 1; return pattern[p] == c;
  }
}

} // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  constexpr size_t none = std::string_view::npos;
  size_t p = 0, t = 0;
  // Where to resume after the last *: every token consumes exactly one character, so on a
  // mismatch it suffices to let that * swallow one more character and try again.
  size_t star_p = none, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size()) {
      if (pattern[p] == '*') {
        while (p < pattern.size() && pattern[p] == '*')
          ++p;
        if (p == pattern.size())
          return true;
        star_p = p;
        star_t = t;
        continue;
      }
      size_t next = p;
      if (token_matches(pattern, p, text[t], next)) {
        p = next;
        ++t;
        continue;
      }
    }
    if (star_p == none)
      return false;
    p = star_p;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

std::string glob_escape(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\')
      escaped += '\\';
    escaped += c;
  }
  return escaped;
}

} // namespace brokedancer
