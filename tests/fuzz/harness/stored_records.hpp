#pragma once

// Records read back from storage, where anyone with access to Redis or the file may have
// written anything: the persisted emergency level (decode_level_change) and the operators'
// credentials file (parse_credentials). Both parsers get every input. What they accept is
// written back with their own encoder and read again unchanged.

#include <string>
#include <vector>

#include "actors/emergency/emergency_controller.hpp"
#include "messages/halt_scope.hpp"
#include "runtime/operator_auth.hpp"
#include "tests/fuzz/harness/support.hpp"

namespace brokedancer::fuzz {

inline bool same(const level_change& a, const level_change& b) {
  if (a.cleared.size() != b.cleared.size())
    return false;
  for (size_t i = 0; i < a.cleared.size(); ++i)
    if (a.cleared[i].sequence != b.cleared[i].sequence || a.cleared[i].level != b.cleared[i].level
        || a.cleared[i].node != b.cleared[i].node)
      return false;
  return a.level == b.level && a.previous == b.previous && a.reason == b.reason
         && a.source == b.source && a.node == b.node && a.at_us == b.at_us
         && a.sequence == b.sequence && a.based_on_sequence == b.based_on_sequence
         && a.based_on_level == b.based_on_level && a.based_on_node == b.based_on_node
         && a.local_only == b.local_only;
}

inline void level_change_record(const std::string& text) {
  level_change change;
  std::string why;
  if (!decode_level_change(text, change, why)) {
    expect(!why.empty(), "a refused level change says why");
    return;
  }
  level_change again;
  expect(decode_level_change(encode_level_change(change), again, why) && same(again, change),
         "an accepted level change re-encodes to the same change");
}

// A node's stored scope table: refused with why, or scopes of valid kinds, plain names and
// levels a scope may hold, that read back from encode_scopes as they are.
inline void scope_table_record(const std::string& text) {
  std::vector<halt_scope> scopes;
  std::string why;
  if (!decode_scopes(text, scopes, why)) {
    expect(!why.empty(), "a refused scope table says why");
    return;
  }
  expect(scopes.size() <= max_scopes_kept, "an accepted scope table is bounded");
  for (const auto& s : scopes)
    expect(scope_name_problem(s.kind, s.name).empty() && s.change.level <= emergency_level::halt,
           "an accepted scope has a kind, a plain name and a level a scope may hold");
  std::vector<halt_scope> again;
  expect(decode_scopes(encode_scopes(scopes), again, why) && same_scopes(again, scopes),
         "an accepted scope table re-encodes to the same scopes");
}

inline void credentials_file(std::string_view text) {
  std::vector<operator_credential> credentials;
  std::string why;
  if (!parse_credentials(text, credentials, why)) {
    expect(!why.empty(), "a refused credentials file says why");
    return;
  }
  std::string lines;
  for (const auto& c : credentials)
    lines += credential_line(c) + "\n";
  std::vector<operator_credential> again;
  expect(parse_credentials(lines, again, why) && again.size() == credentials.size(),
         "accepted credentials read back from credential_line()");
  for (size_t i = 0; i < again.size(); ++i)
    expect(again[i].name == credentials[i].name && again[i].role == credentials[i].role
               && again[i].digest == credentials[i].digest,
           "accepted credentials read back the same from credential_line()");
}

inline void stored_records(std::string_view input) {
  level_change_record(std::string(input));
  scope_table_record(std::string(input));
  credentials_file(input);
}

} // namespace brokedancer::fuzz
