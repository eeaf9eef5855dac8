#pragma once

// The body of a level change sent to the operator API, read as the outside input it is.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "messages/emergency.hpp"
#include "messages/halt_scope.hpp"

namespace brokedancer {

struct change_request {
  std::string reason;
  emergency_level level = emergency_level::halt; // resume: NORMAL, ALERT or REDUCE_ONLY
  // {"scope": {"kind": "symbol", "name": "BTC-USD"}}: the change is that scope's, not the node's.
  bool scoped = false;
  scope_kind kind = scope_kind::symbol;
  std::string scope_name;
};

// An operator's request about the node's workflows.
struct workflow_request {
  std::string workflow_id;  // history, breaker, start
  std::string execution_id; // cancel, resume
  std::string action;       // breaker: force_open, force_close, reset
  std::string reason;       // all but history
  uint32_t limit = 20;      // history
};

// GET /api/events?topics=PATTERN[,PATTERN...]&status=0|1
struct events_request {
  std::vector<std::string> patterns{"*"}; // globs (Redis rules) over the bus's topics
  bool status = false; // a node.status frame at once and every second (the dashboard's)
};

// Why the query of /api/events is not acceptable, or empty. Patterns are 1 to 128 printable
// ASCII characters each (percent-encoding is decoded), at most 16 of them, split at ','.
std::string parse_events_query(std::string_view query, events_request& out);

// GET /v1/workflows/history?workflow_id=ID[&limit=N]: why the query is not acceptable, or
// empty. Ids are plain names (no percent-encoding needed or taken); N from 1 to 1000.
std::string parse_history_query(std::string_view query, workflow_request& out);

// The JSON body of POST /v1/workflows/breaker ({"workflow_id", "action", "reason"}),
// /v1/workflows/start ({"workflow_id", "reason"}), /v1/workflows/cancel or /v1/workflows/resume
// ({"execution_id", "reason"}), per `command`: why not, or empty.
std::string parse_workflow_body(std::string_view body, std::string_view command,
                                workflow_request& out);

// Reads `body` (JSON) for `command` (halt, reduce-only, shutdown, resume). Empty when it is
// acceptable: a non-empty reason of printable UTF-8 up to max_reason_bytes, for resume a level
// of NORMAL (the default), ALERT or REDUCE_ONLY, and optionally (not for shutdown) a scope: a
// kind (bot, strategy, symbol, endpoint) and a plain name. Otherwise why not, for the operator.
std::string parse_change_request(std::string_view body, std::string_view command,
                                 change_request& out);

// POST /v1/flatten {"reason": "...", "symbol": "BTC-USD"}: the symbol is optional (none: every
// position), a plain name when given. Why not, or empty.
struct flatten_request {
  std::string reason;
  std::string symbol;
};

std::string parse_flatten_request(std::string_view body, flatten_request& out);

} // namespace brokedancer
