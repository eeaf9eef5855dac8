#pragma once

// Glob matching with Redis's rules (KEYS, SCAN MATCH, PSUBSCRIBE), so that the memory backends
// answer a pattern exactly as Redis would:
//   *        any run of characters, including none
//   ?        any one character
//   [abc]    one of a, b, c;  [^abc] any other;  [a-z] a range (reversed ranges are swapped)
//   \x       the character x itself, outside and inside brackets
// An unclosed [ takes the rest of the pattern as its set, as Redis does.

#include <string>
#include <string_view>

namespace brokedancer {

bool glob_match(std::string_view pattern, std::string_view text);

// `text` with every glob metacharacter escaped, so that it matches only itself.
std::string glob_escape(std::string_view text);

} // namespace brokedancer
