#include "cli/control_command.hpp"

#include <cstdlib>
#include <fstream>
#include <iostream>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/host_port.hpp"
#include "core/json_text.hpp"
#include "core/plain_name.hpp"
#include "core/unix_time.hpp"
#include "messages/control.hpp"
#include "messages/halt_scope.hpp"
#include "messages/workflow.hpp"
#include "runtime/config.hpp"
#include "runtime/exit_codes.hpp"

namespace brokedancer {

namespace {

using json = nlohmann::json;

std::string text_of(const json& value) {
  if (value.is_string())
    return value.get<std::string>();
  if (value.is_null())
    return "-";
  return dump_json(value);
}

void print_status(const json& s) {
  std::cout << "node " << text_of(s["node"]) << ": " << text_of(s["level"])
            << (s.value("trading_allowed", false) ? " (trading)" : " (not trading)")
            << (s.value("persisted", true) ? "" : ", in force but not yet persisted") << '\n'
            << "  since sequence " << text_of(s["sequence"]) << " by " << text_of(s["source"])
            << ": " << (s.value("reason", "").empty() ? std::string{"-"} : text_of(s["reason"]))
            << '\n';
  const auto& bots = s["bots"];
  std::cout << "  bots: " << text_of(bots["running"]) << " running, " << text_of(bots["stopped"])
            << " stopped, " << text_of(bots["given_up"]) << " given up; "
            << text_of(s["bots_acknowledged"]) << " of " << text_of(s["bots_registered"])
            << " registered acknowledged the level\n"
            << "  orders " << text_of(bots["orders"]) << ", fills " << text_of(bots["fills"])
            << ", P&L " << text_of(bots["pnl"]) << '\n';
  if (s.contains("scopes") && s["scopes"].is_array())
    for (const auto& sc : s["scopes"])
      std::cout << "  scope " << text_of(sc["kind"]) << " " << text_of(sc["name"]) << ": "
                << text_of(sc["level"]) << " by " << text_of(sc["source"]) << " on "
                << text_of(sc["node"]) << ": " << text_of(sc["reason"]) << '\n';
  for (const auto& l : s["limits"])
    std::cout << "  limit " << text_of(l["name"]) << ": " << text_of(l["current"]) << " of "
              << text_of(l["limit"]) << " (" << text_of(l["utilization"]) << "%)\n";
  for (const auto& b : s["breakers"])
    std::cout << "  breaker " << text_of(b["endpoint"]) << ": " << text_of(b["state"]) << '\n';
  if (s.contains("risk") && s["risk"].is_object() && s["risk"]["journal"].is_object()) {
    const auto& r = s["risk"];
    const auto& j = r["journal"];
    std::cout << "  book: " << text_of(r["fills"]) << " fills, realized P&L "
              << text_of(r["realized_pnl"]) << ", " << r["positions"].size() << " positions\n"
              << "  order journal: "
              << (j.value("reconciled", false) ? "reconciled" : "RECONCILING") << ", "
              << text_of(j["open"]) << " open, " << text_of(j["outcome_unknown"])
              << " outcome unknown; reconciled " << text_of(j["reconciled_orders"])
              << " orders, booked " << text_of(j["reconciled_fills"]) << " missed fills";
    if (j.value("problem", "") != "")
      std::cout << "; the exchange cannot answer: " << text_of(j["problem"]);
    std::cout << '\n';
  }
  if (s.contains("bot_owners") && s["bot_owners"].is_array())
    for (const auto& o : s["bot_owners"]) {
      if (o.value("owner", "").empty())
        continue; // no leases: the node owns its bots alone
      std::cout << "  bot " << text_of(o["bot"]) << ": " << text_of(o["state"]) << ", owner "
                << text_of(o["owner"]) << ", lease age " << text_of(o["lease_age_ms"])
                << " ms, fence " << text_of(o["fence"]) << '\n';
    }
  if (s.contains("services") && s["services"].is_array())
    for (const auto& h : s["services"])
      if (!h.value("available", true))
        std::cout << "  service " << text_of(h["name"]) << " UNAVAILABLE: " << text_of(h["error"])
                  << '\n';
  if (s.value("isolated", false))
    std::cout << "  ISOLATED: the dead man's switch holds this node halted until contact is "
                 "back and an operator resumes\n";
  if (s["cluster"].is_object()) {
    const auto& c = s["cluster"];
    std::cout << "  cluster (this node listens on "
              << (c.value("address", "").empty() ? std::string{"-"} : text_of(c["address"]))
              << "):\n";
    for (const auto& m : c["members"]) {
      std::cout << "    " << (m.value("name", "").empty() ? std::string{"?"} : text_of(m["name"]))
                << " at " << text_of(m["address"]) << ": ";
      if (m.value("connected", false))
        std::cout << text_of(m["level"]) << ", " << text_of(m["bots"]) << " bots, heard "
                  << text_of(m["last_heard_ms_ago"]) << " ms ago"
                  << (m.value("isolated", false) ? ", isolated" : "");
      else
        std::cout << "NOT CONNECTED"
                  << (m.value("last_error", "").empty() ? std::string{}
                                                        : " (" + text_of(m["last_error"]) + ")");
      std::cout << '\n';
    }
    if (c.value("store_shared", false) && !c.value("store_reachable", true))
      std::cout << "    the shared state store is unreachable\n";
  }
  if (!s["audit"].empty()) {
    std::cout << "  recent operator actions:\n";
    for (const auto& a : s["audit"])
      std::cout << "    " << text_of(a["command"]) << " by " << text_of(a["credential"]) << " ("
                << text_of(a["role"]) << ") from " << text_of(a["address"]) << ": "
                << text_of(a["outcome"]) << '\n';
  }
}

// `text` as it is when a person may read it on one line (core/json_text's printable_text),
// else quoted with its controls escaped, so that a stored string cannot move the cursor,
// recolour the screen or reverse the line.
std::string for_terminal(const std::string& text) {
  return printable_text(text) ? text : escaped_name(text);
}

// One history entry on a line; an entry of another shape than the executions write is shown as
// such, not trusted.
std::string history_line(const json& e) {
  if (!e.is_object())
    return "(an entry that is not an object)";
  auto field = [&e](const char* name) {
    auto found = e.find(name);
    return for_terminal(found == e.end() ? std::string{"-"} : text_of(*found));
  };
  auto reason = field("reason");
  return field("ended_at") + "  " + field("execution_id") + "  " + field("status") + "  "
         + field("duration_ms") + " ms" + (reason.empty() || reason == "-" ? "" : "  " + reason);
}

// The token, or empty after saying why there is none.
std::string read_token(const control_command_options& options) {
  std::string token;
  if (!options.token_file.empty()) {
    std::ifstream in{options.token_file};
    if (!in) {
      std::cerr << "brokedancer: cannot read the token file \"" << options.token_file << "\"\n";
      return {};
    }
    std::getline(in, token);
  } else if (const char* value = std::getenv(std::string{operator_token_variable}.c_str());
             value != nullptr) {
    token = value;
  }
  while (!token.empty() && (token.back() == '\r' || token.back() == ' '))
    token.pop_back();
  if (token.empty())
    std::cerr << "brokedancer: " << options.command << " needs an operator credential: set "
              << operator_token_variable
              << " to your token or pass --token-file FILE (brokedancer credentials add made "
                 "the token)\n";
  return token;
}

int exit_code_for(int http_status) {
  switch (http_status) {
    case 400: return exit_code::input_invalid;
    case 401:
    case 429: return exit_code::not_authenticated;
    default: return exit_code::command_refused;
  }
}

} // namespace

namespace {

// The node's answer to one request: its JSON body, or the exit code for why there is none
// (said on the error output).
struct node_answer {
  int exit_code = exit_code::ok;
  json body;
};

node_answer ask_node(const control_command_options& options, const std::string& method,
                     const std::string& path, const std::string& body) {
  std::string node = options.node;
  bool https = false;
  constexpr std::string_view https_scheme = "https://";
  if (node.rfind(https_scheme, 0) == 0) {
    https = true;
    node = node.substr(https_scheme.size());
  }
  host_port address;
  std::string why;
  if (!parse_host_port(node, address, why)) {
    std::cerr << "brokedancer: --node must be HOST:PORT or https://HOST:PORT with a port from 1 "
                 "to 65535, not \""
              << options.node << "\"\n";
    return {exit_code::usage, nullptr};
  }
  if (!https && !is_loopback(address.host)) {
    std::cerr << "brokedancer: the token would cross the network in the clear: use "
                 "https://"
              << node << " (with --ca-file) for a node that is not on this host\n";
    return {exit_code::usage, nullptr};
  }
  auto token = read_token(options);
  if (token.empty())
    return {exit_code::not_authenticated, nullptr};
  if (https && options.ca_file.empty()) {
    std::cerr << "brokedancer: an https:// node needs --ca-file FILE, the authority that signed "
                 "its certificate\n";
    return {exit_code::usage, nullptr};
  }
  httplib::Client client{(https ? "https://" : "http://") + node};
  if (https) {
    client.set_ca_cert_path(options.ca_file.c_str());
    client.enable_server_certificate_verification(true);
  }
  client.set_connection_timeout(5, 0);
  // A change returns once every bot has acknowledged it, which the node bounds (the API at
  // 100 s, runtime/operator_api.cpp): longer here, so that its answer always comes first.
  // A level change waits up to 100 s for every bot, a cancel-all up to 170 s for every cancel.
  client.set_read_timeout(180, 0);
  client.set_write_timeout(5, 0);
  httplib::Headers headers{{"Authorization", "Bearer " + token}};
  auto result = method == "GET" ? client.Get(path.c_str(), headers)
                                : client.Post(path.c_str(), headers, body, "application/json");
  if (!result) {
    std::cerr << "brokedancer: no node answers at " << options.node << ": "
              << httplib::to_string(result.error())
              << " (is it running with node.control_port = " << address.port
              << (https ? ", and does --ca-file hold the authority of its certificate?" : "?")
              << ")\n";
    return {exit_code::node_unreachable, nullptr};
  }
  auto answer = parse_json_within(result->body);
  if (result->status != 200) {
    std::string error = answer.is_object() && answer.contains("error")
                            ? text_of(answer["error"])
                            : result->body.substr(0, 500);
    std::cerr << "brokedancer: the node refused " << options.command << " (HTTP " << result->status
              << "): " << error << '\n';
    return {exit_code_for(result->status), nullptr};
  }
  if (!answer.is_object() && !answer.is_array()) {
    std::cerr << "brokedancer: the node's answer is not JSON\n";
    return {exit_code::internal_error, nullptr};
  }
  return {exit_code::ok, std::move(answer)};
}

// The reason an action is recorded with; a usage error when there is none or it is unfit.
int check_reason(const control_command_options& options) {
  if (options.reason.empty()) {
    std::cerr << "brokedancer: " << options.command
              << " needs --reason TEXT: every such action is recorded with its reason\n";
    return exit_code::usage;
  }
  if (auto problem = reason_problem(options.reason); !problem.empty()) {
    std::cerr << "brokedancer: --reason: " << problem << '\n';
    return exit_code::input_invalid;
  }
  return exit_code::ok;
}

} // namespace

namespace {

// Each close of a flatten, and what is left; positions_left when anything is.
int print_flatten(const control_command_options& options, const json& body) {
  const auto& closes =
      body.contains("closes") && body["closes"].is_array() ? body["closes"] : json::array();
  const auto& left =
      body.contains("left") && body["left"].is_array() ? body["left"] : json::array();
  std::cout << "node " << options.node << ": " << closes.size() << " closing order"
            << (closes.size() == 1 ? "" : "s") << '\n';
  for (const auto& c : closes)
    std::cout << "  " << text_of(c["symbol"]) << ": " << text_of(c["side"]) << ' '
              << text_of(c["quantity"]) << " -> " << text_of(c["outcome"])
              << (text_of(c["code"]) == "none" ? "" : " (" + text_of(c["reason"]) + ")")
              << (text_of(c["outcome"]) == "filled" ? " at " + text_of(c["fill_price"]) : "")
              << '\n';
  if (left.empty()) {
    std::cout << "every position asked for is closed\n";
    return exit_code::ok;
  }
  std::cerr << "brokedancer: " << left.size() << " position" << (left.size() == 1 ? " is" : "s are")
            << " still open:";
  for (const auto& p : left)
    std::cerr << ' ' << text_of(p["symbol"]) << ' ' << text_of(p["quantity"]);
  std::cerr << "\n";
  return exit_code::positions_left;
}

} // namespace

// Each cancel of a cancel-all; cancels_failed when the exchange could not be asked for one.
int print_cancels(const control_command_options& options, const json& body) {
  const auto& cancels =
      body.contains("cancels") && body["cancels"].is_array() ? body["cancels"] : json::array();
  std::cout << "node " << options.node << ": " << text_of(body["bots"]) << " bots asked, "
            << cancels.size() << " working order" << (cancels.size() == 1 ? "" : "s") << '\n';
  size_t failed = 0;
  for (const auto& c : cancels) {
    auto outcome = text_of(c["outcome"]);
    failed += outcome != "cancelled" && outcome != "not_open" ? 1 : 0;
    std::cout << "  " << text_of(c["bot"]) << " " << text_of(c["client_order_id"]) << ": "
              << text_of(c["outcome"])
              << (text_of(c["code"]) == "none" ? "" : " (" + text_of(c["reason"]) + ")") << '\n';
  }
  if (failed == 0)
    return exit_code::ok;
  std::cerr << "brokedancer: " << failed << " cancel" << (failed == 1 ? "" : "s")
            << " did not end the order (see above); those orders may still execute\n";
  return exit_code::cancels_failed;
}

int control_command(const control_command_options& options) {
  emergency_level level = emergency_level::halt;
  if (options.command == "resume"
      && (!from_string(options.level, level) || level >= emergency_level::halt)) {
    std::cerr << "brokedancer: --level must be NORMAL, ALERT or REDUCE_ONLY, not \""
              << options.level << "\"\n";
    return exit_code::usage;
  }
  if (!options.scope_kind.empty()) {
    scope_kind kind{};
    if (!from_string(options.scope_kind, kind))
      return exit_code::usage;
    if (options.command == "cancel-all" && kind == scope_kind::endpoint) {
      std::cerr << "brokedancer: cancel-all takes --bot, --strategy or --symbol\n";
      return exit_code::usage;
    }
    if (auto problem = scope_name_problem(kind, options.scope_name); !problem.empty()) {
      std::cerr << "brokedancer: --" << options.scope_kind << ": " << problem << '\n';
      return exit_code::input_invalid;
    }
  }
  if (options.command == "flatten" && !options.symbol.empty())
    if (auto problem = check_plain_name("--symbol", options.symbol, 64); !problem.empty()) {
      std::cerr << "brokedancer: " << problem << '\n';
      return exit_code::input_invalid;
    }
  if (options.command != "status")
    if (int code = check_reason(options); code != exit_code::ok)
      return code;
  json change{{"reason", options.reason}};
  if (options.command == "resume")
    change["level"] = options.level;
  if (options.command == "flatten" && !options.symbol.empty())
    change["symbol"] = options.symbol;
  if (!options.scope_kind.empty())
    change["scope"] = {{"kind", options.scope_kind}, {"name", options.scope_name}};
  auto reply = options.command == "status"
                   ? ask_node(options, "GET", "/v1/status", {})
                   : ask_node(options, "POST", "/v1/" + options.command, dump_json(change));
  if (reply.exit_code != exit_code::ok)
    return reply.exit_code;
  auto& body = reply.body;
  if (options.command == "status") {
    if (options.json)
      std::cout << dump_json(body, 2) << '\n';
    else
      print_status(body);
    return exit_code::ok;
  }
  if (options.command == "flatten")
    return print_flatten(options, body);
  if (options.command == "cancel-all")
    return print_cancels(options, body);
  if (body.contains("scope") && body["scope"].is_object()) {
    std::cout << "node " << options.node << ": " << text_of(body["scope"]["kind"]) << " "
              << text_of(body["scope"]["name"]) << " is at " << text_of(body["level"])
              << " (sequence " << text_of(body["sequence"]) << "); " << text_of(body["bots"])
              << " bots it covers acknowledged within " << text_of(body["acknowledged_ms"])
              << " ms\n";
    return exit_code::ok;
  }
  std::cout << "node " << options.node << " is at " << text_of(body["level"]) << " (sequence "
            << text_of(body["sequence"]) << "); " << text_of(body["bots"])
            << " bots acknowledged within " << text_of(body["acknowledged_ms"]) << " ms\n";
  return exit_code::ok;
}

int workflow_operator_command(const workflow_operator_options& options) {
  const auto& node = options.node;
  if (node.command != "workflow history")
    if (int code = check_reason(node); code != exit_code::ok)
      return code;
  node_answer reply;
  if (node.command == "workflow history") {
    // Ids are plain names: the node refuses anything else, so nothing needs encoding.
    reply = ask_node(node, "GET",
                     "/v1/workflows/history?workflow_id=" + options.id
                         + "&limit=" + std::to_string(options.limit),
                     {});
  } else if (node.command == "workflow breaker") {
    reply = ask_node(node, "POST", "/v1/workflows/breaker",
                     dump_json(json{{"workflow_id", options.id},
                                    {"action", options.action},
                                    {"reason", node.reason}}));
  } else if (node.command == "workflow start") {
    reply = ask_node(node, "POST", "/v1/workflows/start",
                     dump_json(json{{"workflow_id", options.id}, {"reason", node.reason}}));
  } else {
    // cancel or resume: both name an execution.
    reply =
        ask_node(node, "POST", "/v1/workflows/" + node.command.substr(node.command.rfind(' ') + 1),
                 dump_json(json{{"execution_id", options.id}, {"reason", node.reason}}));
  }
  if (reply.exit_code != exit_code::ok)
    return reply.exit_code;
  auto& body = reply.body;
  if (node.json || node.command != "workflow history") {
    std::cout << dump_json(body, 2) << '\n';
    return exit_code::ok;
  }
  if (!body.is_array() || body.empty())
    std::cout << "no execution of " << options.id << " has ended yet\n";
  else
    for (const auto& e : body)
      std::cout << history_line(e) << '\n';
  return exit_code::ok;
}

} // namespace brokedancer
