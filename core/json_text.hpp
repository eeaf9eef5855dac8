#pragma once

// Text that came from outside (an operator's reason, a peer's name, a fill's symbol) may hold
// bytes that are not UTF-8. nlohmann::json::dump throws on them by default, which once made
// `brokedancer status --json` abort; every dump of such text goes through here instead.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/json_check.hpp"

namespace brokedancer {

// `value` as JSON text; invalid UTF-8 becomes U+FFFD instead of an exception.
inline std::string dump_json(const nlohmann::json& value, int indent = -1) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF).
bool valid_utf8(std::string_view text);

// True when `text` is valid UTF-8 without control characters other than tab (C0, DEL, C1), line
// or paragraph separators, or bidirectional controls: a reason or a name a person wrote, safe to
// show on one line of a log or a terminal.
bool printable_text(std::string_view text);

// `text` parsed, or a discarded value when it is not JSON or nests deeper than `max_depth`.
// nlohmann parses without recursion, but copies and dumps a document recursively: a document
// from outside nested a few hundred thousand levels deep (a megabyte of brackets) would overflow
// the stack of whoever copies it. Every text from outside is parsed with this.
nlohmann::json parse_json_within(std::string_view text, int max_depth = max_json_depth);

// Reasons travel to every bot, into the store and the log: a sentence, not a document.
constexpr size_t max_reason_text_bytes = 1024;

// Why `reason` cannot be an operator's reason for a level change, or empty when it can: not
// empty, at most max_reason_text_bytes, printable_text, and no operator token in it.
std::string reason_problem(std::string_view reason);

} // namespace brokedancer
