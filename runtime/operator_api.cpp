#include "runtime/operator_api.hpp"

#include <atomic>
#include <mutex>
#include <optional>

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/api/event_relay.hpp"
#include "core/json_text.hpp"
#include "core/logging.hpp"
#include "core/unix_time.hpp"
#include "messages/errors.hpp"
#include "runtime/dashboard_page.hpp"
#include "runtime/http_server.hpp"
#include "runtime/metrics_exposition.hpp"
#include "runtime/operator_request.hpp"

namespace brokedancer {

namespace {

using json = nlohmann::json;

constexpr size_t max_request_bytes = 64 * 1024;
constexpr size_t max_token_bytes = 256;
constexpr auto status_timeout = std::chrono::seconds(10);
// A change returns once it is in force and every bot has acknowledged it. The control actor
// bounds that: up to 15 s for the persisted level to be read, 15 s for the controller, 60 s for
// the acknowledgements and 5 s for the count -- 95 s; a little more here, so that the node's own
// answer always comes first.
constexpr auto change_timeout = std::chrono::seconds(100);
// A flatten (a cancel-all) returns once every order's call has its answer: the control actor
// gives it 150 s (160 s), each call ending by its breaker's deadline; a little more here.
constexpr auto flatten_timeout = std::chrono::seconds(160);
constexpr auto cancel_all_timeout = std::chrono::seconds(170);
// What a scrape, a status frame or a readiness check waits for the node's answers: all asked
// at once, so this is the longest a scrape takes, not the sum.
constexpr auto observe_timeout = std::chrono::seconds(3);
// A stream's producer looks for the end of its connection (or the server's) this often.
constexpr auto stream_poll = std::chrono::milliseconds(250);
constexpr auto status_frame_every = std::chrono::seconds(1);
// A comment line now and then, so that proxies and clients see an idle stream is alive.
constexpr auto keepalive_every = std::chrono::seconds(15);
// /readyz needs no credential: anyone may ask it, so its answer is reused for this long rather
// than asking the node each time.
constexpr auto readiness_reuse = std::chrono::milliseconds(500);

json cluster_json(const cluster_status& c) {
  json members = json::array();
  for (const auto& m : c.members)
    members.push_back(
        {{"name", m.info.name},
         {"address", m.info.address},
         {"configured_address", m.configured_address},
         {"connected", m.connected},
         {"level", to_string(m.info.level.level)},
         {"sequence", m.info.level.sequence},
         {"isolated", m.info.isolated},
         {"bots", m.info.bots},
         {"last_heard_us", m.last_heard_us},
         {"last_heard_ms_ago", m.last_heard_us > 0 ? (now_us() - m.last_heard_us) / 1000 : -1},
         {"reconnects", m.reconnects},
         {"last_error", m.last_error}});
  return {{"address", c.self.address},
          {"store_shared", c.store_shared},
          {"store_reachable", c.store_reachable},
          {"out_of_contact_since_us", c.out_of_contact_since_us},
          {"members", members}};
}

// The executor's own document; null when the node runs no workflow (or the text is not JSON).
json workflows_json(const std::string& text) {
  if (text.empty())
    return nullptr;
  try {
    auto parsed = parse_json_within(text);
    return parsed.is_discarded() ? json(nullptr) : parsed;
  } catch (const std::exception&) {
    return nullptr;
  }
}

json flatten_json(const flatten_report& report) {
  auto closes = json::array();
  for (const auto& c : report.closes)
    closes.push_back({{"symbol", c.symbol},
                      {"side", to_string(c.side)},
                      {"quantity", c.quantity},
                      {"outcome", to_string(c.result.outcome)},
                      {"code", to_string(c.result.code)},
                      {"reason", c.result.reason},
                      {"filled_quantity", c.result.filled_quantity},
                      {"fill_price", c.result.fill_price}});
  auto left = json::array();
  for (const auto& p : report.left)
    left.push_back({{"symbol", p.symbol}, {"quantity", p.quantity}});
  return {{"closes", std::move(closes)}, {"left", std::move(left)}};
}

json status_json(const node_status& s) {
  json limits = json::array();
  for (const auto& l : s.emergency.limits)
    limits.push_back({{"name", l.name},
                      {"limit", l.limit},
                      {"current", l.current},
                      {"utilization", l.utilization}});
  json breakers = json::array();
  for (const auto& b : s.breakers)
    breakers.push_back({{"endpoint", b.endpoint},
                        {"state", to_string(b.state)},
                        {"calls", b.calls},
                        {"failures", b.failures},
                        {"rejected", b.rejected},
                        {"rate_limited", b.rate_limited},
                        {"budget_waits", b.budget_waits}});
  json audit = json::array();
  for (const auto& a : s.audit)
    audit.push_back(a);
  json owners = json::array();
  for (const auto& o : s.owners)
    owners.push_back({{"bot", o.id},
                      {"state", o.state},
                      {"owner", o.owner},
                      {"lease_age_ms", o.lease_age_ms},
                      {"fence", o.fence}});
  const auto& r = s.risk;
  json positions = json::array();
  for (const auto& p : r.positions)
    positions.push_back(
        {{"symbol", p.symbol}, {"quantity", p.quantity}, {"average_price", p.average_price}});
  json risk{{"loaded", r.loaded},
            {"fills", r.book_fills},
            {"realized_pnl", r.realized_pnl},
            {"unrealized_pnl", r.unrealized_pnl},
            {"equity", r.equity},
            {"positions", positions},
            {"flattens", r.flattens},
            {"positions_flattened", r.positions_flattened},
            {"journal",
             {{"reconciled", r.reconciled},
              {"open", r.journal_open},
              {"outcome_unknown", r.outcome_unknown},
              {"reconciled_orders", r.reconciled_orders},
              {"reconciled_fills", r.reconciled_fills},
              {"problem", r.reconcile_problem}}}};
  json scopes = json::array();
  for (const auto& scope : s.scopes.in_force)
    scopes.push_back(parse_json_within(scope_json(scope)));
  json services = json::array();
  for (const auto& h : s.services.services)
    services.push_back({{"name", h.name}, {"available", h.available}, {"error", h.error}});
  const auto& c = s.emergency.current;
  return {{"node", s.node},
          {"level", to_string(c.level)},
          {"reason", c.reason},
          {"source", to_string(c.source)},
          {"since_us", c.at_us},
          {"sequence", c.sequence},
          {"trading_allowed", s.emergency.trading_allowed},
          // In force but not yet stored (the store is slow or down): retried until it is.
          {"persisted", s.emergency.persisted},
          {"restored", s.emergency.restored},
          {"bots_registered", s.emergency.bots_registered},
          {"bots_acknowledged", s.emergency.bots_acknowledged},
          {"bots",
           {{"total", s.bots.total},
            {"running", s.bots.running},
            {"stopped", s.bots.stopped},
            {"given_up", s.bots.given_up},
            {"orders", s.bots.orders},
            {"fills", s.bots.fills},
            {"pnl", s.bots.pnl}}},
          {"limits", limits},
          {"breakers", breakers},
          {"source_node", c.node},
          {"isolated", s.emergency.isolated},
          {"cluster", s.clustered ? cluster_json(s.cluster) : json(nullptr)},
          {"audit", audit},
          {"risk", risk},
          {"bot_owners", owners},
          {"services", services},
          {"workflows", workflows_json(s.workflows)},
          {"scopes", scopes},
          {"scopes_status",
           {{"restored", s.scopes.restored},
            {"persisted", s.scopes.persisted},
            {"bots_told", s.scopes.bots_told},
            {"bots_acknowledged", s.scopes.bots_acknowledged},
            {"acknowledged_ms", s.scopes.last_broadcast_us / 1000.0}}}};
}

// One row per bot for the dashboard's table.
json bot_rows(const std::vector<bot_stats>& bots) {
  json rows = json::array();
  for (const auto& b : bots)
    rows.push_back({{"id", b.id},
                    {"strategy", b.strategy},
                    {"state", b.state},
                    {"orders", b.orders},
                    {"fills", b.fills},
                    {"rejected", b.rejected},
                    {"restarts", b.restarts},
                    {"pnl", b.realized_pnl + b.unrealized_pnl - b.fees}});
  return rows;
}

json pnl_json(const pnl_point& p) {
  return {{"t_us", p.t_us},
          {"realized", p.realized},
          {"unrealized", p.unrealized},
          {"daily", p.daily},
          {"equity", p.equity}};
}

void answer(http_response& res, int status, const json& body) {
  res.status = status;
  res.body = dump_json(body, 2) + "\n";
}

void fail(http_response& res, int status, const std::string& why) {
  answer(res, status, {{"error", why}});
}

// The bearer token of a request, or empty.
std::string bearer_token(const http_request& req) {
  const auto* header = req.header("authorization");
  constexpr std::string_view scheme = "Bearer ";
  if (header == nullptr || header->size() <= scheme.size()
      || header->size() > scheme.size() + max_token_bytes
      || header->compare(0, scheme.size(), scheme) != 0)
    return {};
  return header->substr(scheme.size());
}

} // namespace

struct operator_api::impl {
  caf::actor_system& sys;
  node_control_actor control;
  operator_api_options options;
  std::mutex throttle_mutex;
  auth_throttle throttle;
  std::mutex readiness_mutex;       // held by the one look under way
  std::mutex readiness_cache_mutex; // guards the last answer and its time
  std::chrono::steady_clock::time_point readiness_at;
  std::optional<http_response> readiness;
  // Workers serving the observing side (/metrics, /api/events, /api/dashboard) now: at most
  // half of them, so that a viewer's streams and scrapes never leave a HALT without a worker.
  std::atomic<size_t> observing{0};
  logger log{"operator_api"};
  // Last: destroyed first, so that no worker is serving while the rest goes.
  std::unique_ptr<http_server> server;

  impl(caf::actor_system& system, node_control_actor handle, operator_api_options opts)
    : sys(system), control(std::move(handle)), options(std::move(opts)) {}

  void audit(const operator_identity& who, std::string command, std::string reason,
             std::string outcome) {
    audit_entry e;
    e.at_us = now_us();
    e.credential = who.name.empty() ? "-" : who.name;
    e.role = who.name.empty() ? "-" : to_string(who.role);
    e.address = who.address;
    e.command = std::move(command);
    e.reason = std::move(reason);
    e.outcome = std::move(outcome);
    caf::anon_send(control, audit_atom::value, std::move(e));
  }

  // Authenticates and authorises a request; answers it and returns nothing when it may not
  // go on.
  std::optional<operator_identity> admit(const http_request& req, http_response& res,
                                         const std::string& command, operator_action action) {
    operator_identity who;
    who.address = req.remote_address;
    auto now = auth_throttle::clock::now();
    // The credential first: a valid one is never refused, however many failures came from the
    // same address (on loopback every local process shares one). Failures only are throttled,
    // to bound what they cost (a digest, a log line, an audit entry).
    auto token = bearer_token(req);
    auto credential = token.empty() ? std::nullopt : options.credentials.authenticate(token);
    if (!credential) {
      {
        std::lock_guard<std::mutex> guard{throttle_mutex};
        if (auto wait = throttle.refused_for(who.address, now)) {
          res.headers.emplace_back("Retry-After", std::to_string(wait->count()));
          fail(res, 429,
               "too many failed attempts from " + who.address + "; try again in "
                   + std::to_string(wait->count()) + " s");
          return std::nullopt;
        }
        throttle.failed(who.address, now);
      }
      audit(who, command, {},
            token.empty() ? "unauthenticated: no credential"
                          : "unauthenticated: unknown credential");
      fail(res, 401,
           token.empty() ? "this node needs a credential: send Authorization: Bearer TOKEN "
                           "(brokedancer reads it from BROKEDANCER_TOKEN or --token-file)"
                         : "the credential is not known to this node");
      res.headers.emplace_back("WWW-Authenticate", "Bearer");
      return std::nullopt;
    }
    who.name = credential->name;
    who.role = credential->role;
    if (!permits(who.role, action)) {
      audit(who, command, {}, "forbidden");
      fail(res, 403,
           "the " + to_string(who.role) + " role may not " + command
               + (action == operator_action::lower ? "; a credential of the risk role may" : ""));
      return std::nullopt;
    }
    return who;
  }

  void serve_status(const http_request& req, http_response& res) {
    auto who = admit(req, res, "status", operator_action::status);
    if (!who)
      return;
    caf::scoped_actor self{sys};
    self->request(control, status_timeout, status_atom::value)
        .receive([&](node_status& s) { answer(res, 200, status_json(s)); },
                 [&](caf::error& err) { fail(res, 503, sys.render(err)); });
  }

  // The body of a change; answers and returns false when it is not acceptable.
  bool read_change(const http_request& req, http_response& res, const operator_identity& who,
                   const std::string& command, change_request& request) {
    if (auto why = parse_change_request(req.body, command, request); !why.empty()) {
      audit(who, command, {}, "refused: " + why);
      fail(res, 400, why);
      return false;
    }
    return true;
  }

  // A change of the node's level, or of a scope's (the body names one).
  template <class Atom>
  void serve_change(const http_request& req, http_response& res, Atom op,
                    const std::string& command, emergency_level level, operator_action action) {
    auto who = admit(req, res, command, action);
    if (!who)
      return;
    change_request request;
    request.level = level;
    if (!read_change(req, res, *who, command, request))
      return;
    caf::scoped_actor self{sys};
    auto on_reply = [&](control_reply& reply) {
      json body{{"node", options.node_name},
                {"level", to_string(reply.change.level)},
                {"sequence", reply.change.sequence},
                {"bots", reply.bots},
                {"acknowledged_ms", reply.acknowledged_us / 1000.0}};
      if (request.scoped)
        body["scope"] = {{"kind", to_string(request.kind)}, {"name", request.scope_name}};
      answer(res, 200, body);
    };
    auto on_error = [&](caf::error& err) {
      int status = err == caf::sec::request_timeout       ? 504
                   : is(err, errc::subsystem_unavailable) ? 503
                                                          : 409;
      fail(res, status, sys.render(err));
    };
    if (!request.scoped)
      self->request(control, change_timeout, op, request.level, request.reason, *who)
          .receive(on_reply, on_error);
    else if (action == operator_action::lower)
      self->request(control, change_timeout, lower_scope_atom::value, request.kind,
                    request.scope_name, request.level, request.reason, *who)
          .receive(on_reply, on_error);
    else
      self->request(control, change_timeout, raise_scope_atom::value, request.kind,
                    request.scope_name, request.level, request.reason, *who)
          .receive(on_reply, on_error);
  }

  // POST /v1/cancel-all: every cancel's answer, once all are in.
  void serve_cancel_all(const http_request& req, http_response& res) {
    auto who = admit(req, res, "cancel-all", operator_action::raise);
    if (!who)
      return;
    change_request request;
    if (!read_change(req, res, *who, "cancel-all", request))
      return;
    caf::scoped_actor self{sys};
    self->request(control, cancel_all_timeout, cancel_all_atom::value,
                  request.scoped ? request.kind : scope_kind::symbol,
                  request.scoped ? request.scope_name : std::string{}, request.reason, *who)
        .receive(
            [&](cancel_report& report) {
              auto cancels = json::array();
              for (const auto& c : report.cancels)
                cancels.push_back({{"bot", c.bot_id},
                                   {"client_order_id", c.result.client_order_id},
                                   {"outcome", to_string(c.result.outcome)},
                                   {"code", to_string(c.result.code)},
                                   {"reason", c.result.reason}});
              answer(res, 200, {{"bots", report.bots}, {"cancels", std::move(cancels)}});
            },
            [&](caf::error& err) {
              int status = err == caf::sec::request_timeout       ? 504
                           : is(err, errc::subsystem_unavailable) ? 503
                                                                  : 409;
              fail(res, status, sys.render(err));
            });
  }

  // POST /v1/flatten: every close and what is left, once all closing orders have an answer.
  void serve_flatten(const http_request& req, http_response& res) {
    auto who = admit(req, res, "flatten", operator_action::raise);
    if (!who)
      return;
    flatten_request request;
    if (auto why = parse_flatten_request(req.body, request); !why.empty()) {
      audit(*who, "flatten", {}, "refused: " + why);
      fail(res, 400, why);
      return;
    }
    caf::scoped_actor self{sys};
    self->request(control, flatten_timeout, flatten_atom::value, request.symbol, request.reason,
                  *who)
        .receive([&](flatten_report& report) { answer(res, 200, flatten_json(report)); },
                 [&](caf::error& err) {
                   int status = err == caf::sec::request_timeout       ? 504
                                : is(err, errc::subsystem_unavailable) ? 503
                                                                       : 409;
                   fail(res, status, sys.render(err));
                 });
  }

  // GET /v1/workflows/history, POST /v1/workflows/breaker, start, cancel and resume.
  void serve_workflow(const http_request& req, http_response& res, const std::string& what) {
    // Authenticated first (any role); the role the action needs is checked once the request
    // says which it is, and again by the node's control.
    auto who = admit(req, res, "workflow " + what, operator_action::status);
    if (!who)
      return;
    workflow_request request;
    auto why = what == "history" ? parse_history_query(req.query, request)
                                 : parse_workflow_body(req.body, what, request);
    if (!why.empty()) {
      if (what != "history")
        audit(*who, "workflow " + what, {}, "refused: " + why);
      fail(res, 400, why);
      return;
    }
    auto command = "workflow " + what + " "
                   + (what == "breaker" ? request.action + " " + request.workflow_id
                      : what == "cancel" || what == "resume" ? request.execution_id
                                                             : request.workflow_id);
    // Closing or resetting a breaker lifts a safety, and a resume runs again what a crash
    // stopped before anybody looked at it: the risk role's decisions. Starting, cancelling
    // and opening a breaker are the operator's; a start still passes the level and the breaker.
    auto needs = what == "history" ? operator_action::status
                 : what == "cancel" || what == "start" || request.action == "force_open"
                     ? operator_action::raise
                     : operator_action::lower;
    if (!permits(who->role, needs)) {
      audit(*who, command, request.reason, "forbidden");
      fail(res, 403,
           "the " + to_string(who->role) + " role may not " + what
               + (needs == operator_action::lower ? " this way; a credential of the risk role may"
                                                  : ""));
      return;
    }
    caf::scoped_actor self{sys};
    auto on_answer = [&](std::string& text) {
      // A start's answer is the execution's id; the others are the executor's JSON.
      answer(res, 200,
             what == "start" ? json{{"execution_id", text}, {"status", "started"}}
                             : workflows_json(text));
    };
    auto on_error = [&](caf::error& err) {
      int status = err == caf::sec::request_timeout                                           ? 504
                   : is(err, errc::invalid_argument)                                          ? 400
                   : is(err, errc::not_found)                                                 ? 404
                   : is(err, errc::store_unavailable) || is(err, errc::subsystem_unavailable) ? 503
                                                                                              : 409;
      fail(res, status, sys.render(err));
    };
    if (what == "history")
      self->request(control, status_timeout, workflow_history_atom::value, request.workflow_id,
                    request.limit, *who)
          .receive(on_answer, on_error);
    else if (what == "breaker")
      self->request(control, status_timeout, workflow_breaker_atom::value, request.workflow_id,
                    request.action, request.reason, *who)
          .receive(on_answer, on_error);
    else if (what == "start")
      self->request(control, status_timeout, start_workflow_atom::value, request.workflow_id,
                    request.reason, *who)
          .receive(on_answer, on_error);
    else if (what == "resume")
      self->request(control, status_timeout, resume_execution_atom::value, request.execution_id,
                    request.reason, *who)
          .receive(on_answer, on_error);
    else
      self->request(control, status_timeout, cancel_execution_atom::value, request.execution_id,
                    request.reason, *who)
          .receive(on_answer, on_error);
  }

  // --- the observing side -------------------------------------------------------------------

  // A worker's share of the observing side, given back when the last copy goes.
  using observing_slot = std::shared_ptr<void>;

  // A slot, or nothing (and a 503) when half the workers observe already.
  observing_slot take_observing_slot(http_response& res) {
    auto limit = std::max<size_t>(1, options.threads / 2);
    if (observing.fetch_add(1) >= limit) {
      observing.fetch_sub(1);
      res.headers.emplace_back("Retry-After", "2");
      fail(res, 503,
           "too many metrics, event-stream and dashboard requests at once; the operator "
           "commands keep their workers: try again in a moment");
      return nullptr;
    }
    // Holds `this` (not owned): a null pointer would test false.
    return observing_slot(static_cast<void*>(this), [this](void*) { observing.fetch_sub(1); });
  }

  // GET /metrics: every source asked at once; one that does not answer in time is left out.
  void serve_metrics(const http_request& req, http_response& res) {
    if (!admit(req, res, "metrics", operator_action::status))
      return;
    auto slot = take_observing_slot(res);
    if (!slot)
      return;
    const auto& obs = options.observers;
    metrics_sources in;
    in.orders = obs.orders.get();
    in.max_bot_labels = obs.max_bot_labels;
    if (obs.fanout)
      in.streams = obs.fanout->counters();
    // Every question out first, then the answers: each handle waits for its own reply, so the
    // scrape waits for the slowest source, not for the sum of them.
    caf::scoped_actor self{sys};
    auto ask = [&self](const auto& dest, auto atom) {
      std::optional<decltype(self->request(dest, observe_timeout, atom))> handle;
      if (dest)
        handle.emplace(self->request(dest, observe_timeout, atom));
      return handle;
    };
    auto node = ask(control, status_atom::value);
    auto bots = ask(obs.bots, bots_atom::value);
    auto bus = ask(obs.bus, status_atom::value);
    auto store = ask(obs.store, status_atom::value);
    auto relay = ask(obs.relay, relay_counts_atom::value);
    auto stream = ask(obs.market_stream, status_atom::value);
    auto answer_into = [&in](auto& handle, auto& slot_of) {
      if (!handle)
        return;
      handle->receive(
          [&slot_of](std::decay_t<decltype(*slot_of)>& value) { slot_of = std::move(value); },
          [&in](caf::error&) { ++in.missing; });
    };
    answer_into(node, in.node);
    answer_into(bots, in.bots);
    answer_into(bus, in.bus);
    answer_into(store, in.store);
    answer_into(relay, in.relay);
    answer_into(stream, in.market_stream);
    in.now_us = now_us();
    res.status = 200;
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    res.body = render_metrics(in);
  }

  // The dashboard's frame: the status document with every bot's row and the P&L now.
  std::string status_frame() {
    caf::scoped_actor self{sys};
    std::optional<node_status> node;
    std::vector<bot_stats> bots;
    auto asked = self->request(control, observe_timeout, status_atom::value);
    if (options.observers.bots) {
      // Asked before the first answer is taken: the frame waits for the slower of the two.
      auto asked_bots = self->request(options.observers.bots, observe_timeout, bots_atom::value);
      asked.receive([&](node_status& s) { node = std::move(s); }, [](caf::error&) {});
      asked_bots.receive([&](std::vector<bot_stats>& all) { bots = std::move(all); },
                         [](caf::error&) {});
    } else {
      asked.receive([&](node_status& s) { node = std::move(s); }, [](caf::error&) {});
    }
    if (!node)
      return {};
    auto document = status_json(*node);
    document["bot_list"] = bot_rows(bots);
    const auto& r = node->risk;
    document["pnl_point"] =
        pnl_json({now_us(), r.realized_pnl, r.unrealized_pnl, r.daily_pnl, r.equity});
    json frame{{"topic", "node.status"},
               {"data", std::move(document)},
               {"published_at_us", now_us()},
               {"source_node", options.node_name},
               {"sequence", 0},
               {"correlation_id", ""}};
    return "data: " + dump_json(frame) + "\n\n";
  }

  // GET /api/events: the bus's events as server-sent events, for as long as the client reads.
  void serve_events(const http_request& req, http_response& res) {
    if (!admit(req, res, "events", operator_action::status))
      return;
    auto slot = take_observing_slot(res);
    if (!slot)
      return;
    events_request request;
    if (auto why = parse_events_query(req.query, request); !why.empty()) {
      fail(res, 400, why);
      return;
    }
    if (!options.observers.fanout) {
      fail(res, 503, "this node has no event stream");
      return;
    }
    std::shared_ptr<event_fanout::client> client =
        event_fanout::attach(options.observers.fanout, request.patterns);
    if (!client) {
      res.headers.emplace_back("Retry-After", "5");
      fail(res, 503,
           "too many event streams are open (node.max_event_streams); close one or try later");
      return;
    }
    res.content_type = "text/event-stream; charset=utf-8";
    res.headers.emplace_back("X-Accel-Buffering", "no");
    res.stream = [this, client, slot, with_status = request.status](http_stream& out) {
      stream_events(out, *client, with_status);
    };
  }

  void stream_events(http_stream& out, event_fanout::client& client, bool with_status) {
    using steady = std::chrono::steady_clock;
    if (!out.write(": brokedancer event stream\nretry: 2000\n\n"))
      return;
    auto next_status = steady::now();
    auto next_keepalive = steady::now() + keepalive_every;
    while (!out.ended()) {
      if (with_status && steady::now() >= next_status) {
        next_status = steady::now() + status_frame_every;
        auto frame = status_frame();
        if (!frame.empty() && !out.write(frame))
          return;
      }
      auto frames = client.take(stream_poll);
      if (client.dropped()) {
        // Said once, if the client still takes anything at all; then the stream ends.
        out.write(sse_frame(dump_json(json{{"topic", "stream.dropped"},
                                           {"data",
                                            {{"reason", "the client fell behind the node's "
                                                        "events; connect again"}}}}),
                            0));
        return;
      }
      std::string batch;
      for (auto& f : frames)
        batch += f;
      if (!batch.empty()) {
        if (!out.write(batch))
          return;
        next_keepalive = steady::now() + keepalive_every;
      } else if (steady::now() >= next_keepalive) {
        if (!out.write(": keep-alive\n\n"))
          return;
        next_keepalive = steady::now() + keepalive_every;
      }
    }
  }

  // GET /api/dashboard: what a page that opens now has missed: the P&L over the run and the
  // newest level changes, alerts and breaker transitions.
  void serve_dashboard_data(const http_request& req, http_response& res) {
    if (!admit(req, res, "dashboard", operator_action::status))
      return;
    auto slot = take_observing_slot(res);
    if (!slot)
      return;
    if (!options.observers.relay) {
      fail(res, 503, "this node has no event relay");
      return;
    }
    caf::scoped_actor self{sys};
    self->request(options.observers.relay, observe_timeout, status_atom::value)
        .receive(
            [&](relay_snapshot& snapshot) {
              json pnl = json::array();
              for (const auto& p : snapshot.pnl)
                pnl.push_back(pnl_json(p));
              json recent = json::array();
              for (const auto& text : snapshot.recent) {
                auto frame = parse_json_within(text);
                if (!frame.is_discarded())
                  recent.push_back(std::move(frame));
              }
              answer(res, 200, {{"node", options.node_name}, {"pnl", pnl}, {"recent", recent}});
            },
            [&](caf::error& err) { fail(res, 503, sys.render(err)); });
  }

  // GET /healthz: the process serves requests. No credential: a process manager has none.
  static void serve_liveness(http_response& res) {
    answer(res, 200, {{"alive", true}});
  }

  // GET /readyz: ready to trade -- the level is known, the book is loaded (and the journal
  // reconciled), the store answers. No credential (a load balancer has none): it says only
  // that, and the answer is reused for readiness_reuse.
  http_response serve_readiness() {
    // One look at a time; whoever comes while it is under way gets the last answer (or, before
    // the first, a 503) instead of queueing workers behind it.
    std::unique_lock<std::mutex> guard{readiness_mutex, std::try_to_lock};
    if (!guard.owns_lock()) {
      std::lock_guard<std::mutex> cached{readiness_cache_mutex};
      if (readiness)
        return *readiness;
      http_response res;
      res.headers.emplace_back("Retry-After", "1");
      answer(res, 503,
             {{"ready", false},
              {"level_known", false},
              {"book_loaded", false},
              {"store_reachable", false}});
      return res;
    }
    {
      std::lock_guard<std::mutex> cached{readiness_cache_mutex};
      if (readiness && std::chrono::steady_clock::now() - readiness_at < readiness_reuse)
        return *readiness;
    }
    bool level_known = false;
    bool book_loaded = false;
    bool store_reachable = false;
    caf::scoped_actor self{sys};
    auto node = self->request(control, observe_timeout, status_atom::value);
    if (options.observers.store)
      self->request(options.observers.store, observe_timeout, status_atom::value)
          .receive([&](store_status& s) { store_reachable = s.available; }, [](caf::error&) {});
    node.receive(
        [&](node_status& s) {
          level_known = s.emergency.restored;
          book_loaded = s.risk.loaded && s.risk.reconciled;
        },
        [](caf::error&) {});
    bool ready = level_known && book_loaded && store_reachable;
    http_response res;
    answer(res, ready ? 200 : 503,
           {{"ready", ready},
            {"level_known", level_known},
            {"book_loaded", book_loaded},
            {"store_reachable", store_reachable}});
    std::lock_guard<std::mutex> cached{readiness_cache_mutex};
    readiness = res;
    readiness_at = std::chrono::steady_clock::now(); // after the look, however long it took
    return res;
  }

  static void serve_page(http_response& res) {
    res.status = 200;
    res.content_type = "text/html; charset=utf-8";
    res.body = std::string{dashboard_page()};
    // The page runs its own script only (by its hash), talks to this node only, and is never
    // framed: what an event's text may hold cannot run or leave.
    res.headers.emplace_back("Content-Security-Policy", dashboard_content_security_policy());
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    res.headers.emplace_back("X-Frame-Options", "DENY");
    res.headers.emplace_back("Referrer-Policy", "no-referrer");
  }

  http_response route(const http_request& req) {
    http_response res;
    auto get = [&](auto serve) {
      if (req.method == "GET")
        serve();
      else
        not_allowed(res, "GET");
    };
    if (req.path == "/metrics")
      get([&] { serve_metrics(req, res); });
    else if (req.path == "/api/events")
      get([&] { serve_events(req, res); });
    else if (req.path == "/api/dashboard")
      get([&] { serve_dashboard_data(req, res); });
    else if (req.path == "/healthz")
      get([&] { serve_liveness(res); });
    else if (req.path == "/readyz")
      get([&] { res = serve_readiness(); });
    else if (req.path == "/" || req.path == "/index.html")
      get([&] { serve_page(res); });
    else
      route_control(req, res);
    return res;
  }

  void route_control(const http_request& req, http_response& res) {
    auto post = [&](auto op, const char* command, emergency_level level, operator_action action) {
      if (req.method == "POST")
        serve_change(req, res, op, command, level, action);
      else
        not_allowed(res, "POST");
    };
    if (req.path == "/v1/status") {
      if (req.method == "GET")
        serve_status(req, res);
      else
        not_allowed(res, "GET");
    } else if (req.path == "/v1/halt") {
      post(raise_atom::value, "halt", emergency_level::halt, operator_action::raise);
    } else if (req.path == "/v1/reduce-only") {
      post(raise_atom::value, "reduce-only", emergency_level::reduce_only, operator_action::raise);
    } else if (req.path == "/v1/cancel-all") {
      if (req.method == "POST")
        serve_cancel_all(req, res);
      else
        not_allowed(res, "POST");
    } else if (req.path == "/v1/flatten") {
      if (req.method == "POST")
        serve_flatten(req, res);
      else
        not_allowed(res, "POST");
    } else if (req.path == "/v1/shutdown") {
      post(raise_atom::value, "shutdown", emergency_level::shutdown, operator_action::raise);
    } else if (req.path == "/v1/resume") {
      post(resume_atom::value, "resume", emergency_level::normal, operator_action::lower);
    } else if (req.path == "/v1/workflows/history") {
      if (req.method == "GET")
        serve_workflow(req, res, "history");
      else
        not_allowed(res, "GET");
    } else if (req.path == "/v1/workflows/breaker" || req.path == "/v1/workflows/cancel"
               || req.path == "/v1/workflows/start" || req.path == "/v1/workflows/resume") {
      if (req.method == "POST")
        serve_workflow(req, res, req.path.substr(req.path.rfind('/') + 1));
      else
        not_allowed(res, "POST");
    } else {
      fail(res, 404,
           "no such resource; see GET /v1/status, POST /v1/halt|reduce-only|resume|shutdown|"
           "flatten|cancel-all, GET "
           "/v1/workflows/history?workflow_id=ID, POST /v1/workflows/breaker|start|cancel|resume, "
           "GET /metrics, /api/events, /api/dashboard, /healthz, /readyz, /");
    }
  }

  static void not_allowed(http_response& res, const char* method) {
    res.headers.emplace_back("Allow", method);
    fail(res, 405, std::string{"this resource takes "} + method);
  }
};

operator_api::operator_api(caf::actor_system& sys, node_control_actor control,
                           operator_api_options options)
  : impl_(std::make_unique<impl>(sys, std::move(control), std::move(options))) {
  auto& d = *impl_;
  http_server_options http;
  http.host = d.options.host;
  http.port = d.options.port;
  http.tls_certificate = d.options.tls_certificate;
  http.tls_key = d.options.tls_key;
  http.limits.max_body_bytes = max_request_bytes;
  http.threads = d.options.threads;
  http.queued_connections = d.options.queued_connections;
  try {
    d.server =
        std::make_unique<http_server>(http, [&d](const http_request& req) { return d.route(req); });
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string{"the operator API "} + e.what()
                             + "; see node.control_host, node.control_port (is another node "
                               "using it?) and node.control_tls_certificate / _key");
  }
}

operator_api::~operator_api() = default; // the server stops and waits for its workers

uint16_t operator_api::port() const {
  return impl_->server->port();
}

} // namespace brokedancer
