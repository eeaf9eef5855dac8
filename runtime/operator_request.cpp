#include "runtime/operator_request.hpp"

#include <nlohmann/json.hpp>

#include "core/json_text.hpp"
#include "core/plain_name.hpp"
#include "messages/control.hpp"
#include "messages/workflow.hpp"
#include "runtime/operator_auth.hpp"

namespace brokedancer {

std::string parse_change_request(std::string_view body, std::string_view command,
                                 change_request& out) {
  auto parsed = parse_json_within(body);
  if (!parsed.is_object())
    return "the body must be a JSON object such as {\"reason\": \"...\"}";
  // A field this command does not take is refused, not ignored: {"symbol": "X"} sent to resume
  // would otherwise lower the whole node.
  for (const auto& [key, value] : parsed.items()) {
    bool known = key == "reason" || (key == "level" && command == "resume")
                 || (key == "scope" && command != "shutdown" && command != "flatten")
                 || (key == "symbol" && command == "flatten");
    if (!known)
      return "\"" + key.substr(0, 32) + "\" is not a field of " + std::string{command}
             + "; see the operator API in the README";
  }
  auto r = parsed.find("reason");
  if (r == parsed.end() || !r->is_string() || r->get_ref<const std::string&>().empty())
    return "\"reason\" must be a non-empty string: every level change is recorded with its "
           "reason";
  auto reason = r->get<std::string>();
  if (auto why = reason_problem(reason); !why.empty())
    return "\"reason\": " + why;
  auto level = command == "shutdown"      ? emergency_level::shutdown
               : command == "reduce-only" ? emergency_level::reduce_only
                                          : emergency_level::halt;
  if (command == "resume") {
    level = emergency_level::normal;
    if (auto l = parsed.find("level"); l != parsed.end()) {
      if (!l->is_string() || !from_string(l->get<std::string>(), level)
          || level >= emergency_level::halt)
        return "\"level\" must be \"NORMAL\", \"ALERT\" or \"REDUCE_ONLY\"";
    }
  }
  out.scoped = false;
  if (auto sc = parsed.find("scope"); sc != parsed.end() && command != "flatten") {
    if (command == "shutdown")
      return "a shutdown is the node's; scopes are halted, made reduce-only or resumed";
    if (!sc->is_object() || !sc->contains("kind") || !(*sc)["kind"].is_string()
        || !from_string((*sc)["kind"].get<std::string>(), out.kind) || !sc->contains("name")
        || !(*sc)["name"].is_string())
      return "\"scope\" must be {\"kind\": \"bot\"|\"strategy\"|\"symbol\"|\"endpoint\", "
             "\"name\": \"...\"}";
    out.scope_name = (*sc)["name"].get<std::string>();
    if (command == "resume" && level != emergency_level::normal
        && level != emergency_level::reduce_only)
      return "a scope is resumed to \"NORMAL\" (lifted) or \"REDUCE_ONLY\"";
    if (auto why = scope_name_problem(out.kind, out.scope_name); !why.empty())
      return "\"scope\": " + why;
    out.scoped = true;
  }
  out.reason = std::move(reason);
  out.level = level;
  return {};
}

std::string parse_flatten_request(std::string_view body, flatten_request& out) {
  auto parsed = parse_json_within(body);
  if (!parsed.is_object())
    return "the body must be a JSON object such as {\"reason\": \"...\", \"symbol\": \"BTC-USD\"}";
  // Anything else (a "bot", a "scope") is refused, not ignored: ignored, it would widen the
  // flatten to every position.
  for (const auto& [key, value] : parsed.items())
    if (key != "reason" && key != "symbol")
      return "a flatten takes \"reason\" and \"symbol\" only, not \"" + key.substr(0, 32) + "\"";
  change_request change;
  if (auto why = parse_change_request(body, "flatten", change); !why.empty())
    return why;
  out.reason = std::move(change.reason);
  out.symbol.clear();
  if (auto s = parsed.find("symbol"); s != parsed.end()) {
    if (!s->is_string())
      return "\"symbol\" must be a string: the symbol whose positions are closed";
    out.symbol = s->get<std::string>();
    if (auto why = check_plain_name("a symbol", out.symbol, 64); !why.empty())
      return "\"symbol\": " + why;
  }
  return {};
}

namespace {

// A required string field of `body`; why not, or empty.
std::string string_field(const nlohmann::json& body, const char* name, std::string& out) {
  auto f = body.find(name);
  if (f == body.end() || !f->is_string() || f->get_ref<const std::string&>().empty())
    return std::string{"\""} + name + "\" must be a non-empty string";
  out = f->get<std::string>();
  return {};
}

} // namespace

namespace {

constexpr size_t max_event_patterns = 16;
constexpr size_t max_event_pattern_bytes = 128;

// `text` with %XX decoded; false when an escape is cut short or not hexadecimal.
bool percent_decoded(std::string_view text, std::string& out) {
  out.clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size())
      return false;
    int high = hex_digit_value(text[i + 1]);
    int low = hex_digit_value(text[i + 2]);
    if (high < 0 || low < 0)
      return false;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return true;
}

// Calls `take` with each key and value of a query (KEY=VALUE pairs split at '&') until it
// says why one is not acceptable; that, or empty.
template <class Take>
std::string each_query_pair(std::string_view query, Take take) {
  while (!query.empty()) {
    auto end = query.find('&');
    auto pair = query.substr(0, end);
    query = end == std::string_view::npos ? std::string_view{} : query.substr(end + 1);
    auto eq = pair.find('=');
    auto value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (auto why = take(pair.substr(0, eq), value); !why.empty())
      return why;
  }
  return {};
}

} // namespace

std::string parse_events_query(std::string_view query, events_request& out) {
  return each_query_pair(
      query, [&out](std::string_view key, std::string_view value) -> std::string {
        if (key == "status") {
          if (value != "0" && value != "1")
            return "status must be 0 or 1";
          out.status = value == "1";
        } else if (key == "topics") {
          std::string decoded;
          if (!percent_decoded(value, decoded))
            return "topics has a broken percent-escape";
          out.patterns.clear();
          size_t from = 0;
          for (;;) {
            auto comma = decoded.find(',', from);
            auto pattern = decoded.substr(from, comma == std::string::npos ? comma : comma - from);
            if (pattern.empty() || pattern.size() > max_event_pattern_bytes)
              return "each topic pattern must have 1 to " + std::to_string(max_event_pattern_bytes)
                     + " characters (topics=trading.*,emergency.level_changed)";
            for (unsigned char c : pattern)
              if (c < 0x21 || c > 0x7e)
                return "topic patterns are printable ASCII without spaces";
            if (out.patterns.size() == max_event_patterns)
              return "at most " + std::to_string(max_event_patterns) + " topic patterns";
            out.patterns.push_back(std::move(pattern));
            if (comma == std::string::npos)
              break;
            from = comma + 1;
          }
        } else {
          return std::string{"the query takes topics and status only"};
        }
        return std::string{};
      });
}

std::string parse_history_query(std::string_view query, workflow_request& out) {
  bool named = false;
  auto why =
      each_query_pair(query, [&](std::string_view key, std::string_view value) -> std::string {
        if (key == "workflow_id") {
          if (!workflow_id_problem("a workflow id", std::string{value}).empty())
            return std::string{"workflow_id must be a workflow's id: letters, digits, '_' and '-'"};
          out.workflow_id = std::string{value};
          named = true;
        } else if (key == "limit") {
          uint32_t limit = 0;
          bool digits = !value.empty() && value.size() <= 4;
          for (char c : value) {
            digits = digits && c >= '0' && c <= '9';
            limit = limit * 10 + static_cast<uint32_t>(c - '0');
          }
          if (!digits || limit == 0 || limit > max_history_limit)
            return "limit must be a whole number from 1 to " + std::to_string(max_history_limit);
          out.limit = limit;
        } else {
          return std::string{"the query takes workflow_id and limit only"};
        }
        return std::string{};
      });
  if (!why.empty())
    return why;
  return named ? std::string{} : "the query must name a workflow: ?workflow_id=ID";
}

std::string parse_workflow_body(std::string_view body, std::string_view command,
                                workflow_request& out) {
  auto parsed = parse_json_within(body);
  if (!parsed.is_object())
    return "the body must be a JSON object";
  std::string why;
  if (command == "breaker" || command == "start") {
    if (!(why = string_field(parsed, "workflow_id", out.workflow_id)).empty())
      return why;
    if (command == "breaker") {
      if (!(why = string_field(parsed, "action", out.action)).empty())
        return why;
      if (out.action != "force_open" && out.action != "force_close" && out.action != "reset")
        return "\"action\" must be \"force_open\", \"force_close\" or \"reset\"";
    }
    if (!(why = workflow_id_problem("\"workflow_id\"", out.workflow_id)).empty())
      return why;
  } else {
    if (!(why = string_field(parsed, "execution_id", out.execution_id)).empty())
      return why;
    if (!(why = workflow_id_problem("\"execution_id\"", out.execution_id, max_execution_id_bytes))
             .empty())
      return why;
  }
  if (!(why = string_field(parsed, "reason", out.reason)).empty())
    return why + ": every such action is recorded with its reason";
  if (auto problem = reason_problem(out.reason); !problem.empty())
    return "\"reason\": " + problem;
  return {};
}

} // namespace brokedancer
