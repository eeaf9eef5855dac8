#pragma once

// What an operator sends a node: the body of a halt, shutdown or resume request, of a
// workflow breaker or cancel request and the query of a history request, and the text
// checks (core/json_text.hpp) every outside string goes through before it is logged or
// dumped. valid_utf8 must agree with nlohmann's own UTF-8 check (a strict dump throws exactly
// on invalid UTF-8), and dump_json must never throw.

#include <string>

#include <nlohmann/json.hpp>

#include "core/json_text.hpp"
#include "core/plain_name.hpp"
#include "messages/control.hpp"
#include "runtime/operator_request.hpp"
#include "tests/fuzz/harness/support.hpp"

namespace brokedancer::fuzz {

inline bool nlohmann_accepts_utf8(const std::string& text) {
  try {
    nlohmann::json(text).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

inline void text_checks(std::string_view input) {
  std::string text(input);
  bool utf8 = valid_utf8(input);
  expect(utf8 == nlohmann_accepts_utf8(text), "valid_utf8 agrees with nlohmann's UTF-8 check");
  auto dumped = dump_json(nlohmann::json(text));
  auto read_back = nlohmann::json::parse(dumped, nullptr, false);
  expect(read_back.is_string(), "dump_json of a string writes a JSON string");
  if (utf8)
    expect(read_back.get<std::string>() == text, "dump_json keeps valid UTF-8 as it is");
  if (printable_text(input)) {
    expect(utf8, "printable text is valid UTF-8");
    for (unsigned char c : text)
      expect(c == '\t' || (c >= 0x20 && c != 0x7F), "printable text holds no ASCII control");
  }
}

inline void operator_request(std::string_view input) {
  for (const char* command : {"halt", "reduce-only", "shutdown", "resume", "cancel-all"}) {
    change_request request;
    if (!parse_change_request(input, command, request).empty())
      continue;
    std::string_view cmd{command};
    expect(!request.reason.empty() && request.reason.size() <= max_reason_bytes
               && printable_text(request.reason),
           "an accepted request has a printable reason within the limit");
    expect(cmd == "resume"        ? request.level < emergency_level::halt
           : cmd == "reduce-only" ? request.level == emergency_level::reduce_only
           : cmd == "shutdown"    ? request.level == emergency_level::shutdown
                                  : request.level == emergency_level::halt,
           "an accepted request asks for a level its command may set");
    expect(!request.scoped
               || (cmd != "shutdown" && scope_name_problem(request.kind, request.scope_name).empty()
                   && (cmd != "resume" || request.level == emergency_level::normal
                       || request.level == emergency_level::reduce_only)),
           "an accepted scope has a kind and a plain name, and is resumed to NORMAL or "
           "REDUCE_ONLY only");
  }
  flatten_request flatten;
  if (parse_flatten_request(input, flatten).empty())
    expect(
        !flatten.reason.empty() && printable_text(flatten.reason)
            && (flatten.symbol.empty() || check_plain_name("a symbol", flatten.symbol, 64).empty()),
        "an accepted flatten has a printable reason and a plain symbol, if any");
  for (const char* command : {"breaker", "start", "cancel", "resume"}) {
    workflow_request request;
    if (!parse_workflow_body(input, command, request).empty())
      continue;
    expect(!request.reason.empty() && request.reason.size() <= max_reason_bytes
               && printable_text(request.reason),
           "an accepted workflow request has a printable reason within the limit");
    std::string_view name{command};
    expect(name == "cancel" || name == "resume"
               ? workflow_id_problem("", request.execution_id, max_execution_id_bytes).empty()
               : workflow_id_problem("", request.workflow_id).empty()
                     && (name == "start" || request.action == "force_open"
                         || request.action == "force_close" || request.action == "reset"),
           "an accepted workflow request names its target and a known action");
  }
  workflow_request query;
  if (parse_history_query(input, query).empty())
    expect(workflow_id_problem("a workflow id", query.workflow_id).empty() && query.limit >= 1
               && query.limit <= max_history_limit,
           "an accepted history query names a plain workflow id and a limit within bounds");
  text_checks(input);
}

} // namespace brokedancer::fuzz
