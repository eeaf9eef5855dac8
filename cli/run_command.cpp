#include "cli/run_command.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/series/series_codec.hpp"
#include "cli/runtime_start.hpp"
#include "core/host_port.hpp"
#include "core/json_fields.hpp"
#include "core/json_text.hpp"
#include "core/plain_name.hpp"
#include "core/secret_masker.hpp"
#include "messages/channels.hpp"
#include "messages/time_series.hpp"
#include "runtime/config.hpp"
#include "runtime/exit_codes.hpp"
#include "runtime/operator_auth.hpp"
#include "runtime/runtime.hpp"

namespace brokedancer {

namespace {

using json = nlohmann::json;
using clock = std::chrono::steady_clock;

// What happened during the run, as the bus told it: breaker transitions and level changes. On a
// Redis bus anyone who reaches Redis can publish on these topics, so the journal keeps the
// newest of each, and counts what it let go.
constexpr size_t journal_capacity = 1000;

struct journal {
  std::mutex mutex;
  json breaker_transitions = json::array();
  json emergency_changes = json::array();
  uint64_t forgotten = 0;
  // TRADE_SIGNALs on the bus: how many, by signal, and the newest few.
  uint64_t signals = 0;
  json signals_by_kind = json::object();
  json latest_signals = json::array();
  // This node's ORDER_UPDATEs on trading.orders: by venue (its endpoint's name for none), by
  // status.
  std::string node_name;
  std::vector<std::string> venues; // risk.endpoint, then risk.venues
  json orders_by_venue = json::object();

  void keep(json& list, json entry) {
    list.push_back(std::move(entry));
    if (list.size() > journal_capacity) {
      list.erase(list.begin());
      ++forgotten;
    }
  }
};

// An ORDER_UPDATE of this node's counted by its venue and status. On a Redis bus every node's
// updates arrive, and anyone may publish: only this node's count, with a status an update has
// and a venue the node sends to.
void count_order(journal& log, const event& ev, const json& update) {
  static const std::set<std::string> statuses{"FILLED", "EXPIRED", "REJECTED", "FAILED",
                                              "ACCEPTED"};
  auto status = text_field(update, "status");
  auto venue = text_field(update, "venue");
  if (venue.empty() && !log.venues.empty())
    venue = log.venues.front();
  if (ev.source_node != log.node_name || statuses.count(status) == 0
      || std::find(log.venues.begin(), log.venues.end(), venue) == log.venues.end())
    return;
  std::lock_guard<std::mutex> guard{log.mutex};
  auto& counts = log.orders_by_venue[venue];
  if (!counts.is_object())
    counts = json::object();
  counts[status] = counts.value(status, uint64_t{0}) + 1;
}

caf::behavior journal_keeper(caf::event_based_actor* self, std::shared_ptr<journal> log,
                             event_bus_actor bus) {
  for (const char* topic :
       {"breaker.state_changed", "emergency.level_changed", "trading.signals", "trading.orders"})
    self->request(bus, std::chrono::seconds(5), subscribe_atom::value, std::string{topic},
                  caf::actor_cast<caf::actor>(self))
        .then([](uint64_t) {}, [](caf::error&) {});
  return {
      [log](const event& ev) {
        if (ev.topic == "trading.signals") {
          // On a Redis bus any client may publish here: only a signal is counted (its kind one
          // of four), and nothing in it can stop the keeper. Checked before the lock, which the
          // status line takes too.
          auto body = checked_trade_signal(ev.json);
          if (body.is_discarded())
            return;
          std::lock_guard<std::mutex> guard{log->mutex};
          ++log->signals;
          auto kind = body.value("signal", std::string{"?"});
          log->signals_by_kind[kind] = log->signals_by_kind.value(kind, uint64_t{0}) + 1;
          log->latest_signals.push_back(std::move(body));
          if (log->latest_signals.size() > 5)
            log->latest_signals.erase(log->latest_signals.begin());
          return;
        }
        auto body = parse_json_within(ev.json);
        if (!body.is_object())
          return;
        if (ev.topic == "trading.orders") {
          count_order(*log, ev, body);
          return;
        }
        std::lock_guard<std::mutex> guard{log->mutex};
        if (ev.topic == "breaker.state_changed")
          log->keep(log->breaker_transitions, std::move(body));
        else
          log->keep(log->emergency_changes, std::move(body));
      },
  };
}

// One synchronous request from the run loop's thread, within `timeout`; nullopt when it fails
// or times out.
template <class T, class Handle, class... Ts>
std::optional<T> ask_within(std::chrono::seconds timeout, caf::actor_system& sys,
                            const Handle& dest, Ts&&... xs) {
  if (!dest)
    return std::nullopt;
  caf::scoped_actor self{sys};
  std::optional<T> result;
  self->request(dest, timeout, std::forward<Ts>(xs)...)
      .receive([&](T& value) { result = std::move(value); }, [](caf::error&) {});
  return result;
}

// For the status line and the small parts of the summary: quick, or not at all.
template <class T, class Handle, class... Ts>
std::optional<T> ask(caf::actor_system& sys, const Handle& dest, Ts&&... xs) {
  return ask_within<T>(std::chrono::seconds(2), sys, dest, std::forward<Ts>(xs)...);
}

std::string money(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%+.2f", value);
  return text;
}

class status_reporter {
public:
  status_reporter(runtime& node, bool terminal) : node_(node), terminal_(terminal) {}

  void report() {
    auto& sys = node_.system();
    auto level = ask<emergency_status>(sys, node_.emergency(), status_atom::value);
    auto bots = ask<bots_summary>(sys, node_.bots(), status_atom::value);
    auto breakers = ask<std::vector<breaker_stats>>(sys, node_.breakers(), status_atom::value);
    auto now = clock::now();
    double rate = 0;
    if (bots && last_at_) {
      auto seconds = std::chrono::duration<double>(now - *last_at_).count();
      if (seconds > 0)
        rate = static_cast<double>(bots->orders - last_orders_) / seconds;
    }
    if (bots) {
      last_orders_ = bots->orders;
      last_at_ = now;
    }
    size_t open = 0;
    if (breakers)
      for (const auto& b : *breakers)
        if (b.state == breaker_state::open || b.state == breaker_state::forced_open
            || b.state == breaker_state::half_open)
          ++open;
    std::ostringstream line;
    line << "level " << (level ? to_string(level->current.level) : std::string{"?"});
    if (bots)
      line << " | bots " << bots->running << "/" << bots->total << " | orders/s "
           << static_cast<uint64_t>(rate) << " | fills " << bots->fills << " | P&L "
           << money(bots->pnl);
    line << " | open breakers " << open;
    if (terminal_) {
      auto text = line.str();
      auto width = std::max(text.size(), last_width_);
      std::cerr << '\r' << text << std::string(width - text.size(), ' ') << std::flush;
      last_width_ = text.size();
    } else {
      log_.info("status", {{"line", line.str()}});
    }
  }

  void finish() {
    if (terminal_ && last_width_ > 0)
      std::cerr << '\n';
  }

private:
  runtime& node_;
  bool terminal_;
  logger log_{"status"};
  uint64_t last_orders_ = 0;
  std::optional<clock::time_point> last_at_;
  size_t last_width_ = 0;
};

std::string stop_text(stop_reason reason) {
  switch (reason) {
    case stop_reason::duration_elapsed: return "duration elapsed";
    case stop_reason::requested: return "stop requested";
    case stop_reason::signal: return "signal";
    case stop_reason::escalated: return "supervision escalated";
    case stop_reason::emergency_shutdown: return "emergency SHUTDOWN";
  }
  return "unknown";
}

json bot_json(const bot_stats& b) {
  return {{"id", b.id},
          {"strategy", b.strategy},
          {"state", b.state},
          {"restarts", b.restarts},
          {"last_error", b.last_error},
          {"orders", b.orders},
          {"fills", b.fills},
          {"expired", b.expired},
          {"rejected", b.rejected},
          {"failed", b.failed},
          {"rejections", b.rejections},
          {"realized_pnl", b.realized_pnl},
          {"unrealized_pnl", b.unrealized_pnl},
          {"fees", b.fees},
          {"pnl", b.realized_pnl + b.unrealized_pnl - b.fees}};
}

// The trading data services: the market's stream, the bars built from it, the signals on the
// bus, and each service's health.
json data_summary(runtime& node, const journal& events) {
  auto& sys = node.system();
  json data;
  if (auto s = ask<stream_status>(sys, node.market_stream(), status_atom::value))
    data["stream"] = {{"backend", s->backend},
                      {"available", s->available},
                      {"published", s->published},
                      {"delivered", s->delivered},
                      {"subscribers", s->subscribers}};
  if (auto m = ask<market_status>(sys, node.market(), status_atom::value))
    data["market_stream"] = {{"stream", m->stream},
                             {"published", m->stream_published},
                             {"buffered", m->stream_buffered},
                             {"dropped", m->stream_dropped}};
  auto bar_service = caf::actor_cast<bar_service_actor>(node.child("bar_service"));
  if (auto b = ask<bar_service_status>(sys, bar_service, status_atom::value)) {
    json latest = json::array();
    if (auto m = ask<market_status>(sys, node.market(), status_atom::value))
      for (const auto& q : m->quotes)
        if (auto bars = ask<std::vector<ohlcv_bar>>(sys, node.time_series(), bars_last_atom::value,
                                                    q.symbol, timeframe::s1, uint32_t{1});
            bars && !bars->empty()) {
          latest.push_back(series_codec::bar_json(bars->back()));
        }
    data["bars"] = {{"ticks", b->ticks},
                    {"written", b->bars_written},
                    {"dropped", b->bars_dropped},
                    {"late", b->late},
                    {"latest", latest}};
  }
  data["signals"] = {{"published", events.signals},
                     {"by_signal", events.signals_by_kind},
                     {"latest", events.latest_signals}};
  auto watch = caf::actor_cast<system_watch_actor>(node.child("system_watch"));
  if (auto w = ask<watch_status>(sys, watch, status_atom::value)) {
    json services = json::array();
    for (const auto& h : w->services)
      services.push_back({{"name", h.name}, {"available", h.available}, {"error", h.error}});
    data["services"] = services;
    data["heartbeats"] = w->heartbeats;
  }
  return data;
}

// Everything the summary says, gathered while the actors are still there.
json gather_summary(runtime& node, const run_result& result, const journal& events,
                    double seconds) {
  auto& sys = node.system();
  json summary;
  summary["stopped_because"] = stop_text(result.reason);
  summary["detail"] = log_masker().masked(result.detail);
  summary["exit_code"] = result.exit_code;
  summary["seconds"] = seconds;
  if (auto level = ask<emergency_status>(sys, node.emergency(), status_atom::value))
    summary["level"] = {{"level", to_string(level->current.level)},
                        {"reason", level->current.reason},
                        {"source", to_string(level->current.source)}};
  json totals{{"bots", 0},           {"orders", 0},
              {"fills", 0},          {"expired", 0},
              {"rejected", 0},       {"failed", 0},
              {"realized_pnl", 0.0}, {"unrealized_pnl", 0.0},
              {"fees", 0.0},         {"rejections", json::object()}};
  json bots = json::array();
  // Every bot's figures: with 100,000 bots, a large answer.
  if (auto all = ask_within<std::vector<bot_stats>>(std::chrono::seconds(60), sys, node.bots(),
                                                    bots_atom::value)) {
    for (const auto& b : *all) {
      bots.push_back(bot_json(b));
      totals["bots"] = totals["bots"].get<uint64_t>() + 1;
      for (const char* key : {"orders", "fills", "expired", "rejected", "failed"})
        totals[key] = totals[key].get<uint64_t>() + bots.back()[key].get<uint64_t>();
      for (const char* key : {"realized_pnl", "unrealized_pnl", "fees"})
        totals[key] = totals[key].get<double>() + bots.back()[key].get<double>();
      for (const auto& [reason, count] : b.rejections)
        totals["rejections"][reason] = totals["rejections"].value(reason, uint64_t{0}) + count;
    }
  }
  totals["pnl"] = totals["realized_pnl"].get<double>() + totals["unrealized_pnl"].get<double>()
                  - totals["fees"].get<double>();
  summary["totals"] = totals;
  summary["bots"] = bots;
  json breakers = json::array();
  if (auto all = ask<std::vector<breaker_stats>>(sys, node.breakers(), status_atom::value))
    for (const auto& b : *all)
      breakers.push_back({{"endpoint", b.endpoint},
                          {"state", to_string(b.state)},
                          {"calls", b.calls},
                          {"failures", b.failures},
                          {"rejected", b.rejected},
                          {"retries", b.retries},
                          {"transitions", b.transitions},
                          {"rate_limited", b.rate_limited},
                          {"budget_waits", b.budget_waits},
                          {"budget_local", b.budget_local}});
  summary["breakers"] = breakers;
  if (auto risk = ask<risk_status>(sys, node.risk_monitor(), status_atom::value))
    summary["risk"] = {
        {"open_positions", std::count_if(risk->positions.begin(), risk->positions.end(),
                                         [](const position_status& p) { return p.quantity != 0; })},
        {"realized_pnl", risk->realized_pnl},
        {"unrealized_pnl", risk->unrealized_pnl},
        {"daily_pnl", risk->daily_pnl},
        {"equity", risk->equity},
        {"orders_filled", risk->orders_filled},
        {"orders_rejected", risk->orders_rejected},
        {"orders_failed", risk->orders_failed},
        {"book_fills", risk->book_fills},
        {"flattens", risk->flattens},
        {"positions_flattened", risk->positions_flattened},
        {"journal_open", risk->journal_open},
        {"reconciled_orders", risk->reconciled_orders},
        {"reconciled_fills", risk->reconciled_fills}};
  summary["orders_by_venue"] = events.orders_by_venue;
  json workflows = json::array();
  if (auto text = ask<std::string>(sys, node.workflows(), status_atom::value)) {
    auto status = parse_json_within(*text);
    if (status.is_object() && status.contains("workflows") && status["workflows"].is_array())
      for (const auto& w : status["workflows"]) {
        json entry{{"workflow_id", text_field(w, "workflow_id")}};
        for (const char* key : {"started", "completed", "failed", "halted", "cancelled", "lost"})
          entry[key] = w.value(key, json(0));
        workflows.push_back(std::move(entry));
      }
  }
  summary["workflows"] = workflows;
  summary["data"] = data_summary(node, events);
  summary["breaker_transitions"] = events.breaker_transitions;
  summary["emergency_changes"] = events.emergency_changes;
  summary["journal_entries_forgotten"] = events.forgotten;
  return summary;
}

void print_text(const json& s, std::ostream& out) {
  const size_t shown = 50;
  out << "\nbrokedancer run: " << s["stopped_because"].get<std::string>();
  auto detail = s["detail"].get<std::string>();
  if (!detail.empty() && detail != s["stopped_because"].get<std::string>())
    out << " (" << detail << ")";
  out << ", after " << static_cast<int64_t>(s["seconds"].get<double>() * 10) / 10.0
      << " s, exit code " << s["exit_code"].get<int>() << '\n';
  if (s.contains("level"))
    out << "emergency level: " << s["level"]["level"].get<std::string>() << " ("
        << s["level"]["reason"].get<std::string>() << ")\n";
  out << "\nbots:\n";
  size_t listed = 0;
  for (const auto& b : s["bots"]) {
    if (listed++ == shown) {
      out << "  ... and " << s["bots"].size() - shown << " more (--json lists all)\n";
      break;
    }
    out << "  " << b["id"].get<std::string>() << " " << b["strategy"].get<std::string>() << " "
        << b["state"].get<std::string>() << ": orders " << b["orders"] << ", fills " << b["fills"]
        << ", expired " << b["expired"] << ", rejected " << b["rejected"] << ", failed "
        << b["failed"] << ", P&L " << money(b["pnl"].get<double>());
    if (b["restarts"].get<uint32_t>() > 0)
      out << ", restarts " << b["restarts"];
    out << '\n';
  }
  const auto& t = s["totals"];
  out << "total: " << t["bots"] << " bots, orders " << t["orders"] << ", fills " << t["fills"]
      << ", expired " << t["expired"] << ", rejected " << t["rejected"] << ", failed "
      << t["failed"] << ", P&L " << money(t["pnl"].get<double>()) << " (fees "
      << money(-t["fees"].get<double>()) << ")\n";
  if (!t["rejections"].empty()) {
    out << "rejections by reason:";
    for (const auto& [reason, count] : t["rejections"].items())
      out << ' ' << reason << '=' << count;
    out << '\n';
  }
  if (!s["orders_by_venue"].empty()) {
    out << "\norders by venue (trading.orders):\n";
    for (const auto& [venue, counts] : s["orders_by_venue"].items()) {
      out << "  " << venue << ":";
      for (const auto& [status, count] : counts.items())
        out << ' ' << status << '=' << count;
      out << '\n';
    }
  }
  if (s.contains("risk")) {
    const auto& r = s["risk"];
    out << "risk book: filled " << r["orders_filled"] << ", rejected " << r["orders_rejected"]
        << ", failed " << r["orders_failed"] << ", realized P&L "
        << money(r["realized_pnl"].get<double>()) << " (fees included), open positions "
        << r["open_positions"] << '\n';
    if (r["flattens"].get<uint64_t>() > 0)
      out << "flatten: " << r["flattens"] << " run" << (r["flattens"] == 1 ? "" : "s")
          << ", positions closed " << r["positions_flattened"] << '\n';
  }
  if (!s["workflows"].empty()) {
    out << "\nworkflows:\n";
    for (const auto& w : s["workflows"])
      out << "  " << w["workflow_id"].get<std::string>() << ": started " << w["started"]
          << ", completed " << w["completed"] << ", failed " << w["failed"] << ", halted "
          << w["halted"] << ", cancelled " << w["cancelled"] << ", lost " << w["lost"] << '\n';
  }
  out << "\nbreakers:\n";
  for (const auto& b : s["breakers"])
    out << "  " << b["endpoint"].get<std::string>() << ": " << b["state"].get<std::string>()
        << ", calls " << b["calls"] << ", failures " << b["failures"] << ", rejected "
        << b["rejected"] << ", rate limited " << b["rate_limited"] << ", transitions "
        << b["transitions"] << '\n';
  for (const auto& t_ : s["breaker_transitions"])
    out << "  " << t_.value("endpoint", std::string{}) << " " << t_.value("from", std::string{})
        << " -> " << t_.value("to", std::string{}) << ": " << t_.value("reason", std::string{})
        << '\n';
  if (s.contains("data")) {
    const auto& d = s["data"];
    out << "\ntrading data:\n";
    if (d.contains("market_stream") && !d["market_stream"]["stream"].get<std::string>().empty())
      out << "  stream " << d["market_stream"]["stream"].get<std::string>() << ": "
          << d["market_stream"]["published"] << " ticks appended, " << d["market_stream"]["dropped"]
          << " dropped while it was away\n";
    if (d.contains("bars")) {
      out << "  bars: " << d["bars"]["written"] << " written from " << d["bars"]["ticks"]
          << " ticks\n";
      for (const auto& b : d["bars"]["latest"])
        out << "    " << b["symbol"].get<std::string>() << " " << b["timeframe"].get<std::string>()
            << " O " << b["open"] << " H " << b["high"] << " L " << b["low"] << " C " << b["close"]
            << " (" << b["ticks"] << " ticks)\n";
    }
    out << "  signals: " << d["signals"]["published"];
    for (const auto& [kind, count] : d["signals"]["by_signal"].items())
      out << ' ' << kind << '=' << count;
    out << '\n';
    if (d.contains("services"))
      for (const auto& h : d["services"])
        if (!h["available"].get<bool>())
          out << "  service " << h["name"].get<std::string>()
              << " unavailable: " << h["error"].get<std::string>() << '\n';
  }
  out << "\nemergency changes:\n";
  if (s["emergency_changes"].empty())
    out << "  none\n";
  for (const auto& c : s["emergency_changes"])
    out << "  " << c.value("previous", std::string{}) << " -> " << c.value("level", std::string{})
        << " by " << c.value("source", std::string{}) << ": " << c.value("reason", std::string{})
        << '\n';
}

// A host as a URL holds it: an IPv6 address in brackets.
std::string bracketed_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// Where the dashboard's viewer credential is: in the address itself on a terminal (the fragment
// never reaches the server or its log); anywhere else standard error may end up in a log, so in
// a file only its owner can read.
std::string dashboard_credential_note(const std::string& token, std::string& saved_in) {
  if (token.empty())
    return " (it asks for a credential)";
  if (isatty(STDERR_FILENO) == 1)
    return "#token=" + token + "  (a viewer credential for this run only)";
  char dir[] = "/tmp/brokedancer-dashboard-XXXXXX";
  const char* unsaved = " (the viewer credential could not be saved; give the node one of yours)";
  if (mkdtemp(dir) == nullptr) // mode 0700
    return unsaved;
  auto path = std::string{dir} + "/token";
  int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return unsaved;
  auto line = token + "\n";
  bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  saved_in = path;
  if (!written)
    return unsaved;
  return " (the viewer credential for this run is in " + path
         + "; open the address with #token=TOKEN)";
}

} // namespace

int run_command(const run_command_options& options) {
  auto loaded = load_config_or_report(options.config_path);
  if (!loaded)
    return exit_code::config_invalid;
  auto& config = *loaded;
  // The command line has the last word.
  if (options.bots) {
    config.bots.count = *options.bots;
    config.effective["bots"]["count"] = *options.bots;
  }
  if (options.seed) {
    config.market.seed = *options.seed;
    config.effective["market"]["seed"] = *options.seed;
    for (auto& endpoint : config.endpoints)
      if (endpoint.type == "simulated") {
        endpoint.seed = *options.seed;
        config.effective["resilience"]["endpoints"][endpoint.name]["seed"] = *options.seed;
      }
  }
  if (options.listen) {
    host_port listen;
    std::string why;
    if (!parse_host_port(*options.listen, listen, why, true)) {
      std::cerr << "brokedancer: --listen: " << why << '\n';
      return exit_code::usage;
    }
    config.node.listen = listen;
    config.effective["node"]["listen"] = listen.text();
  }
  if (!options.join.empty()) {
    config.node.peers.clear();
    for (const auto& text : options.join) {
      std::vector<host_port> peers;
      std::string why;
      if (!parse_host_port_list(text, peers, why)) {
        std::cerr << "brokedancer: --join: " << why << '\n';
        return exit_code::usage;
      }
      config.node.peers.insert(config.node.peers.end(), peers.begin(), peers.end());
    }
    config.effective["node"]["peers"] = to_text(config.node.peers);
  }
  std::string viewer_token;
  if (options.dashboard && config.node.control_port == 0 && !is_loopback(config.node.control_host)
      && config.node.control_tls_certificate.empty() && !config.node.insecure_plaintext) {
    // The configuration was checked with the API off; --dashboard turns it on, so the rule
    // that an API off loopback needs HTTPS is checked here too.
    std::cerr << "brokedancer: --dashboard: an operator API off loopback (\""
              << config.node.control_host
              << "\") needs HTTPS: set node.control_tls_certificate and node.control_tls_key, or "
                 "node.control_host = 127.0.0.1\n";
    return exit_code::config_invalid;
  }
  if (options.dashboard) {
    // A credential of the viewer role for this run: it can watch, not halt, and it dies with
    // the process (only its digest is in the configuration).
    viewer_token = make_token();
    auto line = credential_line({"run-dashboard", operator_role::viewer, digest_of(viewer_token)});
    config.node.credentials += (config.node.credentials.empty() ? "" : ";") + line;
    if (config.node.control_port == 0)
      config.node.control_port = dashboard_port;
  }
  std::string token_file; // the viewer credential's, removed when the run ends
  auto api_address =
      config.node.control_port == 0
          ? std::string{}
          : std::string{config.node.control_tls_certificate.empty() ? "http" : "https"} + "://"
                + bracketed_host(config.node.control_host) + ":"
                + std::to_string(config.node.control_port) + "/";
  std::optional<runtime> node;
  if (int code = start_runtime(node, std::move(config), runtime_options{}); code != exit_code::ok)
    return code;
  // On standard error: standard output is the summary's (a script reads it with --json).
  if (!api_address.empty())
    std::cerr << "dashboard: " << api_address << dashboard_credential_note(viewer_token, token_file)
              << "\nmetrics:   " << api_address << "metrics (Authorization: Bearer TOKEN)\n"
              << std::flush;
  auto events = std::make_shared<journal>();
  events->node_name = node->config().runtime.node_name;
  events->venues = order_endpoints(node->config().risk);
  auto keeper = node->system().spawn(journal_keeper, events, node->event_bus());
  bool terminal = isatty(STDERR_FILENO) == 1;
  status_reporter status{*node, terminal};
  node->every(terminal ? std::chrono::milliseconds(250) : std::chrono::milliseconds(5000),
              [&status] { status.report(); });
  auto started = clock::now();
  json summary;
  node->before_stop([&](const run_result& result) {
    status.finish();
    auto seconds = std::chrono::duration<double>(clock::now() - started).count();
    // A copy of the journal, so that its keeper is not blocked while the others are asked.
    journal copy;
    {
      std::lock_guard<std::mutex> guard{events->mutex};
      copy.breaker_transitions = events->breaker_transitions;
      copy.emergency_changes = events->emergency_changes;
      copy.forgotten = events->forgotten;
      copy.signals = events->signals;
      copy.signals_by_kind = events->signals_by_kind;
      copy.latest_signals = events->latest_signals;
      copy.orders_by_venue = events->orders_by_venue;
    }
    summary = gather_summary(*node, result, copy, seconds);
  });
  std::optional<std::chrono::milliseconds> duration;
  if (options.duration_s)
    duration = std::chrono::milliseconds(static_cast<int64_t>(*options.duration_s * 1000.0));
  auto result = node->run(duration, true);
  caf::anon_send_exit(keeper, caf::exit_reason::user_shutdown);
  keeper = nullptr;
  node.reset();
  if (!token_file.empty()) {
    // The credential dies with the run: so does its file.
    ::unlink(token_file.c_str());
    ::rmdir(token_file.substr(0, token_file.rfind('/')).c_str());
  }
  if (options.json)
    std::cout << dump_json(summary, 2) << '\n';
  else
    print_text(summary, std::cout);
  if (result.reason == stop_reason::escalated)
    std::cerr << "brokedancer: stopped by escalation: " << log_masker().masked(result.detail)
              << '\n';
  return result.exit_code;
}

} // namespace brokedancer
