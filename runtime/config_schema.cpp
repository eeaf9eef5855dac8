#include "runtime/config_schema.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <type_traits>

#include "core/host_port.hpp"
#include "core/plain_name.hpp"
#include "core/redis_url.hpp"

namespace brokedancer {

namespace {

std::string check_redis_url(const std::string& value) {
  std::string problem;
  if (!parse_redis_url(value, problem))
    return problem;
  return {};
}

std::string check_node_name(const std::string& value) {
  if (!valid_node_name(value))
    return "expected at most 64 letters, digits, '-', '_' or '.' (empty: the host name)";
  return {};
}

setting make(std::string section, std::string key, setting_kind kind, nlohmann::json def,
             std::string help) {
  setting s;
  s.section = std::move(section);
  s.key = std::move(key);
  s.kind = kind;
  s.default_value = std::move(def);
  s.help = std::move(help);
  return s;
}

setting ranged(setting s, double min, double max) {
  s.min = min;
  s.max = max;
  return s;
}

setting one_of(setting s, std::vector<std::string> choices) {
  s.choices = std::move(choices);
  return s;
}

setting checked(setting s, std::string (*check)(const std::string&)) {
  s.check = check;
  return s;
}

setting url_with_credentials(setting s) {
  s.url_may_carry_password = true;
  return s;
}

setting secret(setting s) {
  s.secret = true;
  return s;
}

// -- binding a row to the field it fills ------------------------------------------------------
// A row names its field by a pointer to member; its kind follows from the field's type, so the
// two cannot disagree. Each value reaching assign() has passed problem_with() already.

void assign(std::string& out, const nlohmann::json& v) {
  out = v.get<std::string>();
}

void assign(bool& out, const nlohmann::json& v) {
  out = v.get<bool>();
}

void assign(double& out, const nlohmann::json& v) {
  out = v.get<double>();
}

void assign(std::chrono::milliseconds& out, const nlohmann::json& v) {
  out = std::chrono::milliseconds{v.get<int64_t>()};
}

template <class Integer, class = std::enable_if_t<std::is_integral_v<Integer>>>
void assign(Integer& out, const nlohmann::json& v) {
  out = v.get<Integer>();
}

void assign(std::vector<std::string>& out, const nlohmann::json& v) {
  out = split_setting_list(v.get<std::string>());
}

void assign(log_format& out, const nlohmann::json& v) {
  from_string(v.get<std::string>(), out);
}

void assign(log_level& out, const nlohmann::json& v) {
  from_string(v.get<std::string>(), out);
}

void assign(std::optional<host_port>& out, const nlohmann::json& v) {
  out.reset();
  host_port parsed;
  std::string why;
  if (auto text = v.get<std::string>(); !text.empty() && parse_host_port(text, parsed, why, true))
    out = parsed;
}

void assign(std::vector<host_port>& out, const nlohmann::json& v) {
  std::string why;
  out.clear();
  parse_host_port_list(v.get<std::string>(), out, why);
}

void assign(std::vector<std::pair<double, double>>& out, const nlohmann::json& v) {
  std::string problem;
  out = parse_outage_windows(v.get<std::string>(), problem);
}

template <class Field>
constexpr setting_kind kind_of() {
  if constexpr (std::is_same_v<Field, bool>)
    return setting_kind::boolean;
  else if constexpr (std::is_integral_v<Field> || std::is_same_v<Field, std::chrono::milliseconds>)
    return setting_kind::integer; // durations in whole milliseconds, their keys ending in _ms
  else if constexpr (std::is_floating_point_v<Field>)
    return setting_kind::number;
  else
    return setting_kind::string; // text, lists, addresses, names of levels
}

int64_t milliseconds_of_seconds(const nlohmann::json& v) {
  return std::llround(v.get<double>() * 1000.0);
}

// "09:30" -> 570; checked by check_time_of_day already.
int minute_of_day(const nlohmann::json& v) {
  auto text = v.get<std::string>();
  return std::stoi(text.substr(0, 2)) * 60 + std::stoi(text.substr(3, 2));
}

// The rows of one section of runtime_config.
template <class Section>
class section_rows {
public:
  section_rows(std::string name, Section runtime_config::*member)
    : name_(std::move(name)), member_(member) {
    // nop
  }

  // A setting that fills `field` (of the section, or of a base of it) with its value.
  template <class Field, class Owner>
  setting operator()(std::string key, Field Owner::*field, nlohmann::json def,
                     std::string help) const {
    static_assert(std::is_base_of_v<Owner, Section>, "the field must belong to the section");
    auto s = make(name_, std::move(key), kind_of<Field>(), std::move(def), std::move(help));
    s.fill = [member = member_, field](runtime_config& cfg, const nlohmann::json& v) {
      assign(cfg.*member.*field, v);
    };
    return s;
  }

  // A setting whose value is converted on its way into the section: convert(section, value).
  template <class Convert>
  setting converted(std::string key, setting_kind kind, nlohmann::json def, std::string help,
                    Convert convert) const {
    auto s = make(name_, std::move(key), kind, std::move(def), std::move(help));
    s.fill = [member = member_, convert](runtime_config& cfg, const nlohmann::json& v) {
      convert(cfg.*member, v);
    };
    return s;
  }

private:
  std::string name_;
  Section runtime_config::*member_;
};

// The rows of an endpoint's section (resilience.endpoints.<name>).
class endpoint_rows_of {
public:
  template <class Field>
  setting operator()(std::string key, Field runtime_config::endpoint_section::*field,
                     nlohmann::json def, std::string help) const {
    auto s = make("resilience.endpoints.<name>", std::move(key), kind_of<Field>(), std::move(def),
                  std::move(help));
    s.fill_endpoint = [field](runtime_config::endpoint_section& section, const nlohmann::json& v) {
      assign(section.*field, v);
    };
    return s;
  }
};

std::string check_time_of_day(const std::string& value) {
  if (value.size() == 5 && std::isdigit(static_cast<unsigned char>(value[0]))
      && std::isdigit(static_cast<unsigned char>(value[1])) && value[2] == ':'
      && std::isdigit(static_cast<unsigned char>(value[3]))
      && std::isdigit(static_cast<unsigned char>(value[4]))) {
    auto hours = std::stoi(value.substr(0, 2));
    auto minutes = std::stoi(value.substr(3, 2));
    if (hours < 24 && minutes < 60)
      return {};
  }
  return "expected a time of day HH:MM (00:00 to 23:59, UTC)";
}

// A bot id is at most 64 letters, digits, '-', '_' or '.': the prefix leaves room for the number.
std::string check_bot_id_prefix(const std::string& value) {
  bool valid = value.size() <= 48 && std::all_of(value.begin(), value.end(), [](unsigned char c) {
                 return std::isalnum(c) || c == '-' || c == '_' || c == '.';
               });
  return valid ? std::string{}
               : "expected at most 48 letters, digits, '-', '_' or '.' (\"bot-\", \"a-bot-\")";
}

// "BTC-USD,ETH-USD": names of 1 to 32 letters, digits, '-', '_' or '.', separated by commas.
std::string check_symbol_list(const std::string& value) {
  size_t start = 0;
  while (start <= value.size() && !value.empty()) {
    auto end = value.find(',', start);
    auto item = value.substr(start, end == std::string::npos ? std::string::npos : end - start);
    bool valid = !item.empty() && item.size() <= 32
                 && std::all_of(item.begin(), item.end(), [](unsigned char c) {
                      return std::isalnum(c) || c == '-' || c == '_' || c == '.';
                    });
    if (!valid)
      return "expected symbols separated by commas, each 1 to 32 letters, digits, '-', '_' or "
             "'.' (\"BTC-USD,ETH-USD\")";
    if (end == std::string::npos)
      break;
    start = end + 1;
  }
  return {};
}

// An empty prefix would put this deployment's keys among everyone else's in a shared Redis:
// a FLUSH-like sweep of "*" or another deployment's keys named like ours.
std::string check_prefix(const std::string& value) {
  if (value.empty())
    return "must not be empty: it keeps this deployment's keys apart in a shared Redis "
           "(\"brokedancer:\", \"desk-a:\")";
  if (value.size() > 128 || value.find_first_of(" *?[]\r\n\t") != std::string::npos)
    return "expected at most 128 characters without spaces or glob characters (* ? [ ])";
  return {};
}

std::string check_host(const std::string& value) {
  return valid_host(value) ? std::string{} : "expected a host name or IP address (\"127.0.0.1\")";
}

std::string check_listen(const std::string& value) {
  host_port parsed;
  std::string why;
  return value.empty() || parse_host_port(value, parsed, why, true) ? std::string{}
                                                                    : why + " (empty: off)";
}

std::string check_peers(const std::string& value) {
  std::vector<host_port> parsed;
  std::string why;
  return parse_host_port_list(value, parsed, why)
             ? std::string{}
             : why + " (peers are HOST:PORT separated by commas)";
}

std::string check_strategy_name(const std::string& value) {
  auto valid = !value.empty() && value.size() <= 64
               && std::all_of(value.begin(), value.end(), [](unsigned char c) {
                    return std::islower(c) || std::isdigit(c) || c == '_';
                  });
  return valid ? std::string{}
               : "expected a strategy name: 1 to 64 lower-case letters, digits or '_' "
                 "(\"mixed\" alternates the sample strategies)";
}

// As messages/bars.hpp's from_string(timeframe), which this layer cannot use.
std::string check_timeframe_list(const std::string& value) {
  static const std::vector<std::string> known{"1s", "1m", "5m", "15m", "1h", "4h", "1d"};
  if (value.empty())
    return {};
  std::vector<std::string> seen;
  for (const auto& item : split_setting_list(value)) {
    if (std::find(known.begin(), known.end(), item) == known.end())
      return "expected timeframes of 1s, 1m, 5m, 15m, 1h, 4h, 1d separated by commas; \"" + item
             + "\" is none of them";
    if (std::find(seen.begin(), seen.end(), item) != seen.end())
      return "expected each timeframe once; \"" + item + "\" comes twice";
    seen.push_back(item);
  }
  return {};
}

std::string check_workflow_files(const std::string& value) {
  for (const auto& item : split_setting_list(value))
    if (item.empty())
      return "expected paths of workflow files separated by commas; one of them is empty";
  return {};
}

std::string check_endpoint_list(const std::string& value) {
  for (const auto& item : split_setting_list(value))
    if (auto why = check_endpoint_name(item); !why.empty())
      return "expected endpoint names separated by commas, each " + why;
  return {};
}

// risk.escalation ("ALERT:80,REDUCE_ONLY:100,HALT:150") as steps; why not, or empty.
std::string parse_escalation(const std::string& text, std::vector<escalation_step>& steps) {
  steps.clear();
  if (text.empty())
    return {};
  const std::pair<const char*, escalation_action> levels[] = {
      {"ALERT", escalation_action::alert},
      {"REDUCE_ONLY", escalation_action::reduce_only},
      {"HALT", escalation_action::halt}};
  for (const auto& item : split_setting_list(text)) {
    auto colon = item.find(':');
    auto name = item.substr(0, colon);
    auto level = std::find_if(std::begin(levels), std::end(levels),
                              [&](const auto& l) { return name == l.first; });
    if (colon == std::string::npos || level == std::end(levels))
      return "expected steps LEVEL:PERCENT separated by commas, LEVEL one of ALERT, REDUCE_ONLY "
             "or HALT (as in ALERT:80,REDUCE_ONLY:100,HALT:150)";
    auto number = item.substr(colon + 1);
    char* end = nullptr;
    double percent = number.empty() ? 0 : std::strtod(number.c_str(), &end);
    if (number.empty() || end != number.c_str() + number.size() || !std::isfinite(percent)
        || percent <= 0 || percent > 1000)
      return "the percent of a step is a number above 0 and at most 1000 (the share of the "
             "limit used)";
    if (!steps.empty() && (percent <= steps.back().percent || level->second <= steps.back().action))
      return "each step is at a higher percent and a higher level than the one before it";
    steps.push_back({percent, level->second});
  }
  return {};
}

std::string check_escalation(const std::string& value) {
  std::vector<escalation_step> steps;
  return parse_escalation(value, steps);
}

// The limits that a fill or a mark can breach: the ones risk.flatten_on may name.
std::string check_flatten_on(const std::string& value) {
  const char* names[] = {"max_daily_loss", "max_position_size", "max_total_position",
                         "max_drawdown_percent"};
  for (const auto& item : split_setting_list(value))
    if (std::find_if(std::begin(names), std::end(names),
                     [&](const char* name) { return item == name; })
        == std::end(names))
      return "expected limit names separated by commas, each one of max_daily_loss, "
             "max_position_size, max_total_position or max_drawdown_percent";
  return {};
}

std::string check_channel_prefix(const std::string& value) {
  if (value.empty())
    return {};
  auto problem = check_plain_name("a channel prefix", value, 64);
  return problem.empty() ? problem : "expected a channel prefix: " + problem;
}

std::string check_stream_setting(const std::string& value) {
  if (value.empty())
    return {};
  // As messages/market_stream.hpp's check_stream_name (200 bytes), which this layer cannot use.
  auto problem = check_plain_name("a stream's name", value, 200);
  return problem.empty() ? problem : "expected a stream name: " + problem;
}

std::string check_endpoint_name_setting(const std::string& value) {
  auto problem = check_endpoint_name(value);
  return problem.empty() ? problem : "expected an endpoint name of " + problem;
}

std::vector<setting> build_schema() {
  using R = runtime_config;
  const section_rows<R::runtime_section> runtime_rows{"runtime", &R::runtime};
  const section_rows<log_options> log_rows{"log", &R::log};
  const section_rows<R::supervisor_section> supervisor_rows{"supervisor", &R::supervisor};
  const section_rows<R::state_section> state_rows{"state", &R::state};
  const section_rows<R::bus_section> bus_rows{"bus", &R::bus};
  const section_rows<R::limiter_section> limiter_rows{"limiter", &R::limiter};
  const section_rows<R::streams_section> streams_rows{"streams", &R::streams};
  const section_rows<R::timeseries_section> timeseries_rows{"timeseries", &R::timeseries};
  const section_rows<R::bars_section> bars_rows{"bars", &R::bars};
  const section_rows<R::channels_section> channels_rows{"channels", &R::channels};
  const section_rows<R::workflows_section> workflows_rows{"workflows", &R::workflows};
  const section_rows<risk_options> risk_rows{"risk", &R::risk};
  const section_rows<R::node_section> node_rows{"node", &R::node};
  const section_rows<market_settings> market_rows{"market", &R::market};
  const section_rows<R::bots_section> bots_rows{"bots", &R::bots};
  const section_rows<R::emergency_section> emergency_rows{"emergency", &R::emergency};
  const section_rows<R::redis_section> redis_rows{"redis", &R::redis};
  return {
      checked(runtime_rows("node_name", &R::runtime_section::node_name, "",
                           "name of this node in logs and the cluster; empty: the host name"),
              check_node_name),
      ranged(runtime_rows("scheduler_threads", &R::runtime_section::scheduler_threads, 0,
                          "CAF scheduler worker threads; 0: one per core"),
             0, 256),
      one_of(runtime_rows("scheduler_policy", &R::runtime_section::scheduler_policy,
                          std::string{default_scheduler_policy},
                          "CAF scheduling policy: sharing (one queue, idle workers woken at once) "
                          "or stealing"),
             {"stealing", "sharing"}),

      one_of(log_rows("format", &log_options::format, "console",
                      "json: one object per line; console: one readable line"),
             {"console", "json"}),
      one_of(log_rows("level", &log_options::level, "info", "lowest level written"),
             {"trace", "debug", "info", "warn", "error", "critical", "off"}),
      log_rows("file", &log_options::file, "",
               "file the log is appended to; empty: standard error"),

      ranged(supervisor_rows("max_restarts", &R::supervisor_section::max_restarts, 5,
                             "restarts allowed within window_s before the supervisor escalates"),
             0, 10000),
      ranged(supervisor_rows.converted("window_s", setting_kind::number, 10,
                                       "length of the restart-intensity window in seconds",
                                       [](R::supervisor_section& s, const nlohmann::json& v) {
                                         s.window_ms = milliseconds_of_seconds(v);
                                       }),
             0.001, 86400),

      one_of(state_rows("backend", &R::state_section::backend, "memory",
                        "where the state store keeps data"),
             {"memory", "redis"}),
      checked(state_rows("key_prefix", &R::state_section::key_prefix, "brokedancer:",
                         "prefix of every key in a shared Redis, one per deployment"),
              check_prefix),
      ranged(state_rows("max_key_bytes", &R::state_section::max_key_bytes, 1024,
                        "longest key the store accepts"),
             1, 1 << 20),
      ranged(state_rows("max_value_bytes", &R::state_section::max_value_bytes, 4 << 20,
                        "largest value (JSON text) the store accepts"),
             1, 512 << 20),
      ranged(state_rows("sweep_interval_ms", &R::state_section::sweep_interval_ms, 1000,
                        "memory backend: how often expired keys are removed from memory"),
             10, 600000),

      one_of(bus_rows("backend", &R::bus_section::backend, "memory", "how events travel"),
             {"memory", "redis"}),
      checked(
          bus_rows("channel_prefix", &R::bus_section::channel_prefix, "brokedancer:events:",
                   "Redis backend: prefix of every channel, one per deployment (pub/sub ignores "
                   "the database number, so this is what keeps deployments apart)"),
          check_prefix),
      ranged(bus_rows("max_backlog", &R::bus_section::max_backlog, 10000,
                      "events a subscriber may have outstanding; beyond it events are dropped and "
                      "counted for that subscriber. Keep it above the longest burst of publishes"),
             2, 10000000),
      ranged(bus_rows("max_backlog_bytes", &R::bus_section::max_backlog_bytes, 64 << 20,
                      "bytes (topics and payloads) a subscriber may have outstanding; beyond it "
                      "events are dropped and counted, as for max_backlog"),
             1024, int64_t{1} << 34),
      ranged(bus_rows("max_topic_bytes", &R::bus_section::max_topic_bytes, 256,
                      "longest topic accepted"),
             1, 65536),
      ranged(bus_rows("max_payload_bytes", &R::bus_section::max_payload_bytes, 1 << 20,
                      "largest event payload (JSON text) accepted"),
             1, 64 << 20),

      one_of(limiter_rows("backend", &R::limiter_section::backend, "auto",
                          "where rate limiter budgets are kept: auto (the state store's backend: "
                          "on Redis every node shares each budget), memory or redis"),
             {"auto", "memory", "redis"}),

      one_of(streams_rows("backend", &R::streams_section::backend, "auto",
                          "where market-data streams are kept: auto (the state store's backend: "
                          "on Redis, Redis Streams every node and any Redis client can read), "
                          "memory or redis"),
             {"auto", "memory", "redis"}),
      ranged(streams_rows("max_length", &R::streams_section::max_length, 100000,
                          "entries a stream keeps at most (approximately on Redis); 0: no bound "
                          "by length"),
             0, 1e12),
      ranged(streams_rows.converted("max_age_s", setting_kind::number, 0,
                                    "entries older than this leave a stream; 0: no bound by age",
                                    [](R::streams_section& s, const nlohmann::json& v) {
                                      s.max_age_ms = milliseconds_of_seconds(v);
                                    }),
             0, 31536000),
      ranged(streams_rows("dead_letter_after", &R::streams_section::dead_letter_after, 5,
                          "deliveries to a consumer group after which an entry still not "
                          "acknowledged goes to <stream>:dead instead of being claimed again; "
                          "0: never"),
             0, 1000000),

      one_of(timeseries_rows("backend", &R::timeseries_section::backend, "auto",
                             "where time series and bars are kept: auto (the state store's "
                             "backend: on Redis, sorted sets every node shares), memory or redis"),
             {"auto", "memory", "redis"}),
      ranged(timeseries_rows("max_points", &R::timeseries_section::max_points, 100000,
                             "points (or bars) a series keeps at most, the newest; 0: no bound"),
             0, 1e9),
      ranged(timeseries_rows.converted("retention_s", setting_kind::number, 0,
                                       "points (or bars) older than this before a series' newest "
                                       "leave it; 0: no bound",
                                       [](R::timeseries_section& s, const nlohmann::json& v) {
                                         s.retention_ms = milliseconds_of_seconds(v);
                                       }),
             0, 315360000),
      checked(bars_rows("timeframes", &R::bars_section::timeframes, "1s,1m,5m,1h,1d",
                        "timeframes the bar service builds from the market's stream "
                        "(market.stream), separated by commas, of 1s, 1m, 5m, 15m, 1h, 4h, 1d; "
                        "empty: no bar service"),
              check_timeframe_list),

      one_of(
          channels_rows("backend", &R::channels_section::backend, "auto",
                        "where the standard trading channels go beyond the bus: auto (the state "
                        "store's backend), redis (also Redis pub/sub trading:orders, ... for any "
                        "client) or memory (the bus only)"),
          {"auto", "memory", "redis"}),
      checked(channels_rows("prefix", &R::channels_section::prefix, "",
                            "Redis backend: prefix of the channels' names; empty: trading:orders "
                            "and the others exactly, as other clients expect them"),
              check_channel_prefix),
      ranged(channels_rows.converted("heartbeat_s", setting_kind::number, 5,
                                     "time between two HEARTBEATs on trading.system",
                                     [](R::channels_section& s, const nlohmann::json& v) {
                                       s.heartbeat_ms = milliseconds_of_seconds(v);
                                     }),
             0.1, 3600),
      ranged(channels_rows.converted("check_s", setting_kind::number, 1,
                                     "how often every service is asked whether it can serve (a "
                                     "change is a SYSTEM_EVENT on trading.system)",
                                     [](R::channels_section& s, const nlohmann::json& v) {
                                       s.check_ms = milliseconds_of_seconds(v);
                                     }),
             0.1, 3600),

      checked(workflows_rows("files", &R::workflows_section::files, "",
                             "workflow definitions (JSON files, separated by commas) the node "
                             "runs on their triggers; a file with a problem stops the start"),
              check_workflow_files),
      checked(workflows_rows("http_endpoints", &R::workflows_section::http_endpoints, "",
                             "endpoints (resilience.endpoints, comma-separated) a workflow's "
                             "http_request node may call; never the one orders go to"),
              check_endpoint_list),
      ranged(workflows_rows("max_running", &R::workflows_section::max_running, 1,
                            "executions of one workflow at once; a trigger past it is skipped"),
             1, 1000),
      ranged(workflows_rows("breaker_failures", &R::workflows_section::breaker_failures, 5,
                            "failed executions of a workflow in a row that open its breaker "
                            "(its triggers are then refused until it recovers)"),
             1, 1000),
      ranged(workflows_rows.converted("breaker_recovery_s", setting_kind::number, 60,
                                      "time a workflow's open breaker waits before it lets a trial "
                                      "execution through",
                                      [](R::workflows_section& s, const nlohmann::json& v) {
                                        s.breaker_recovery_ms = milliseconds_of_seconds(v);
                                      }),
             0.1, 86400),
      ranged(workflows_rows.converted("history_retention_s", setting_kind::number, 604800,
                                      "how long the entries of a workflow's history are kept "
                                      "(trimmed at start and every hour)",
                                      [](R::workflows_section& s, const nlohmann::json& v) {
                                        s.history_retention_ms = milliseconds_of_seconds(v);
                                      }),
             60, 315360000),

      ranged(risk_rows(
                 "max_daily_loss", &risk_options::max_daily_loss, 1000,
                 "loss since the trading day began (realized and unrealized) that halts; 0: off"),
             0, 1e15),
      ranged(risk_rows("max_position_size", &risk_options::max_position_size, 10000,
                       "largest position in one symbol, as notional at the mark; 0: off"),
             0, 1e15),
      ranged(risk_rows("max_total_position", &risk_options::max_total_position, 50000,
                       "largest sum of all positions' notional; 0: off"),
             0, 1e15),
      ranged(risk_rows("max_order_notional", &risk_options::max_order_notional, 5000,
                       "largest single order (quantity x price); 0: off"),
             0, 1e15),
      ranged(risk_rows("max_trades_per_hour", &risk_options::max_trades_per_hour, 1000,
                       "orders in any 60 minutes (a sliding window); 0: off"),
             0, 100000000),
      ranged(risk_rows("max_drawdown_percent", &risk_options::max_drawdown_percent, 10,
                       "fall of equity from its peak, in percent, that halts; 0: off"),
             0, 100),
      ranged(risk_rows("warning_percent", &risk_options::warning_percent, 80,
                       "share of a limit that raises ALERT"),
             1, 100),
      risk_rows("auto_halt", &risk_options::auto_halt, true,
                "a breached limit raises HALT (when risk.escalation is not set)"),
      checked(risk_rows.converted(
                  "escalation", setting_kind::string, "",
                  "the levels a limit raises as it is used up, as LEVEL:PERCENT steps going up "
                  "(ALERT:80,REDUCE_ONLY:100,HALT:150); it applies to daily loss, position "
                  "size, total position and drawdown; empty: ALERT at warning_percent, HALT at "
                  "100 with auto_halt",
                  [](risk_options& s, const nlohmann::json& v) {
                    parse_escalation(v.get<std::string>(), s.escalation); // checked already
                  }),
              check_escalation),
      checked(risk_rows("flatten_on", &risk_options::flatten_on, "",
                        "limits (comma-separated: max_daily_loss, max_position_size, "
                        "max_total_position, max_drawdown_percent) whose breach also closes "
                        "every position of the node with reduce-only orders"),
              check_flatten_on),
      ranged(risk_rows("throttle_orders_per_bot", &risk_options::throttle_orders_per_bot, 0,
                       "orders one bot may submit in any throttle_window_s; beyond it an order "
                       "is refused with throttled (no breach, the level stays); 0: off"),
             0, 1000000),
      ranged(risk_rows("throttle_orders_per_node", &risk_options::throttle_orders_per_node, 0,
                       "orders all the node's bots together may submit in any "
                       "throttle_window_s; 0: off"),
             0, 10000000),
      ranged(risk_rows("throttle_cancels_per_node", &risk_options::throttle_cancels_per_node, 0,
                       "cancels the node may send in any throttle_window_s while trading is "
                       "NORMAL or ALERT (from REDUCE_ONLY up cancels always pass); 0: off"),
             0, 10000000),
      ranged(risk_rows.converted("throttle_window_s", setting_kind::number, 1,
                                 "the sliding window of the order and cancel throttles",
                                 [](risk_options& s, const nlohmann::json& v) {
                                   s.throttle_window_ms = milliseconds_of_seconds(v);
                                 }),
             0.001, 3600),
      ranged(risk_rows("starting_equity", &risk_options::starting_equity, 100000,
                       "equity before any trade: the base of drawdown and daily loss"),
             0.01, 1e15),
      checked(risk_rows.converted("daily_reset_utc", setting_kind::string, "00:00",
                                  "when the trading day (and the daily loss) starts over, HH:MM "
                                  "in UTC",
                                  [](risk_options& s, const nlohmann::json& v) {
                                    s.daily_reset_minute_utc = minute_of_day(v);
                                  }),
              check_time_of_day),
      ranged(
          risk_rows("max_mark_jump_percent", &risk_options::max_mark_jump_percent, 20,
                    "a market price this far from the last mark is taken only once two more agree "
                    "with it (one fake price does not move equity); 0: off"),
          0, 1000),
      checked(risk_rows("endpoint", &risk_options::endpoint, "exchange",
                        "the endpoint (resilience.endpoints) orders go to"),
              check_endpoint_name_setting),
      checked(risk_rows("venues", &risk_options::venues, "",
                        "other endpoints (resilience.endpoints, comma-separated) an order may "
                        "name as its venue; their positions are booked apart, per venue"),
              check_endpoint_list),
      risk_rows("journal", &risk_options::journal, true,
                "write every order to the node's order journal (node:<name>:journal) before it "
                "leaves, and reconcile unfinished ones with the exchange after a restart"),
      ranged(risk_rows.converted("reconcile_halt_after_s", setting_kind::number, 10,
                                 "how long a start waits for the exchange to answer for "
                                 "unfinished orders before it halts the node (it keeps asking)",
                                 [](risk_options& s, const nlohmann::json& v) {
                                   s.reconcile_halt_after_ms = milliseconds_of_seconds(v);
                                 }),
             0.001, 86400),

      ranged(node_rows("control_port", &R::node_section::control_port, 0,
                       "TCP port of the operator API (HTTP/JSON; brokedancer status|halt|resume|"
                       "shutdown --node HOST:PORT); every request needs a credential; 0: off"),
             0, 65535),
      checked(node_rows("control_host", &R::node_section::control_host, "127.0.0.1",
                        "address the operator API listens on; off loopback it needs "
                        "control_tls_certificate (or insecure_plaintext)"),
              check_host),
      ranged(node_rows("metrics_max_bot_labels", &R::node_section::metrics_max_bot_labels, 50,
                       "/metrics shows each bot's orders, fills and P&L as its own series while "
                       "the node runs at most this many bots, and none beyond (Prometheus pays "
                       "for every series); the totals are always there"),
             0, 1000),
      ranged(node_rows("max_event_streams", &R::node_section::max_event_streams, 4,
                       "clients of /api/events (each dashboard tab is one) served at once; each "
                       "holds one of the operator API's 16 workers"),
             1, 8),
      node_rows("credentials_file", &R::node_section::credentials_file, "",
                "file of the operator credentials (NAME ROLE SHA256 a line, written by brokedancer "
                "credentials add); the node keeps only the tokens' digests"),
      secret(node_rows("credentials", &R::node_section::credentials, "",
                       "operator credentials given inline, the same lines as credentials_file "
                       "separated by ';'")),
      node_rows(
          "control_tls_certificate", &R::node_section::control_tls_certificate, "",
          "PEM certificate (chain) of the operator API: with control_tls_key it serves HTTPS"),
      node_rows("control_tls_key", &R::node_section::control_tls_key, "",
                "PEM private key of control_tls_certificate"),
      node_rows("insecure_plaintext", &R::node_section::insecure_plaintext, false,
                "allow a cluster listener without mutual TLS and an operator API off loopback "
                "without TLS: for experiments on loopback only; logged loudly"),
      checked(
          node_rows("listen", &R::node_section::listen, "",
                    "HOST:PORT this node listens on for its peers; needs mutual TLS "
                    "(tls_certificate, tls_key, tls_ca) unless insecure_plaintext; empty: none"),
          check_listen),
      checked(
          node_rows("peers", &R::node_section::peers, "",
                    "the peers to join, HOST:PORT separated by commas; reconnected with backoff "
                    "whenever the connection is lost"),
          check_peers),
      ranged(node_rows("heartbeat_interval_ms", &R::node_section::heartbeat_interval_ms, 200,
                       "how often a node tells its peers it is alive (CAF middleman heartbeats and "
                       "the cluster's gossip); the same on every node of a cluster"),
             10, 60000),
      ranged(
          node_rows("connection_timeout_ms", &R::node_section::connection_timeout_ms, 1000,
                    "a peer silent this long is taken as gone, even if its socket is open (a hung "
                    "process); the same on every node, at least 3 heartbeats"),
          100, 600000),
      ranged(node_rows("handshake_timeout_ms", &R::node_section::handshake_timeout_ms, 3000,
                       "a connection to the peer port that has not authenticated (mutual TLS, then "
                       "CAF's handshake) within this time is cut"),
             500, 60000),
      ranged(node_rows("max_peer_connections", &R::node_section::max_peer_connections, 64,
                       "connections the peer port keeps open; beyond it the newest that have not "
                       "authenticated yet are cut"),
             2, 100000),
      node_rows(
          "tls_certificate", &R::node_section::tls_certificate, "",
          "PEM certificate (chain) this node shows its peers; with tls_key and tls_ca it turns "
          "on TLS between nodes (CAF's OpenSSL module: TLS 1.2, both sides verified)"),
      node_rows("tls_key", &R::node_section::tls_key, "", "PEM private key of tls_certificate"),
      node_rows("tls_ca", &R::node_section::tls_ca, "",
                "PEM file of the certificate authorities a peer's certificate must be signed by"),
      secret(node_rows("tls_passphrase", &R::node_section::tls_passphrase, "",
                       "passphrase of an encrypted tls_key")),
      ranged(
          node_rows("isolation_halt_after", &R::node_section::isolation_halt_after_s, 10,
                    "seconds without any peer after which the node halts its own bots (dead man's "
                    "switch); 0: off"),
          0, 86400),
      ranged(
          node_rows("store_halt_after", &R::node_section::store_halt_after_s, 10,
                    "seconds without the shared Redis state store after which the node halts its "
                    "own bots, with peers or without (dead man's switch); 0: off"),
          0, 86400),

      checked(market_rows("symbols", &market_settings::symbols, "BTC-USD,ETH-USD",
                          "the simulated market's symbols, separated by commas; empty: no market"),
              check_symbol_list),
      ranged(market_rows("start_price", &market_settings::start_price, 100,
                         "every symbol's first mid price"),
             1e-6, 1e12),
      ranged(
          market_rows("drift_percent", &market_settings::drift_percent, 0,
                      "mean change of the mid per tick, in percent (negative: a falling market)"),
          -10, 10),
      ranged(market_rows("volatility_percent", &market_settings::volatility_percent, 0.1,
                         "standard deviation of the mid's change per tick, in percent"),
             0, 50),
      ranged(market_rows("spread_bps", &market_settings::spread_bps, 10,
                         "ask minus bid, in basis points of the mid"),
             0, 10000),
      ranged(market_rows("tick_ms", &market_settings::tick, 100, "time between two ticks"), 1,
             3600000),
      ranged(market_rows("seed", &market_settings::seed, 1,
                         "random seed of the price paths (--seed sets it, and every simulated "
                         "endpoint's)"),
             0, 9007199254740991.0),
      ranged(market_rows("max_ticks", &market_settings::max_ticks, 0,
                         "the market stops moving after this many ticks; 0: never"),
             0, 9007199254740991.0),
      checked(market_rows("stream", &market_settings::stream, "market:data",
                          "the market-data stream every tick is also appended to (bots and any "
                          "Redis client can read it; on Redis the key stream:<name>); empty: "
                          "none"),
              check_stream_setting),
      ranged(market_rows.converted("quote_ttl_s", setting_kind::number, 10,
                                   "the latest quote of each symbol is kept in the state store "
                                   "(quote:<symbol>) this long after its tick; 0: no quote cache",
                                   [](market_settings& s, const nlohmann::json& v) {
                                     s.quote_ttl_ms = milliseconds_of_seconds(v);
                                   }),
             0, 86400),
      checked(market_rows("replay", &market_settings::replay, "",
                          "a recorded market-data stream (on Redis: a run's market:data) to play "
                          "back instead of the simulated price paths; empty: none"),
              check_stream_setting),
      one_of(market_rows("replay_pace", &market_settings::replay_pace, "original",
                         "original: each recorded tick as long after the first as it was "
                         "recorded; fast: as fast as the bus takes them"),
             {"original", "fast"}),
      ranged(market_rows("stream_max_length", &market_settings::stream_max_length, 0,
                         "entries the market's stream keeps at most; 0: streams.max_length"),
             0, 1e12),
      ranged(market_rows.converted("stream_max_age_s", setting_kind::number, 0,
                                   "entries older than this leave the market's stream; 0: "
                                   "streams.max_age_s",
                                   [](market_settings& s, const nlohmann::json& v) {
                                     s.stream_max_age_ms = milliseconds_of_seconds(v);
                                   }),
             0, 31536000),

      ranged(
          bots_rows("count", &R::bots_section::count, 4, "bots spawned at start (--bots sets it)"),
          0, 1000000),
      checked(bots_rows("id_prefix", &R::bots_section::id_prefix, "bot-",
                        "the configured bots are <id_prefix>1 .. <id_prefix><count>: a bot id is "
                        "one bot across every node sharing a store"),
              check_bot_id_prefix),
      checked(bots_rows("strategy", &R::bots_section::strategy, "mixed",
                        "strategy of the bots spawned at start: momentum, mean_reversion, mixed "
                        "(alternating the two), or a strategy an embedding program added"),
              check_strategy_name),
      checked(bots_rows("symbols", &R::bots_section::symbols, "",
                        "symbols the bots trade, dealt out in turn; empty: the market's symbols"),
              check_symbol_list),
      ranged(bots_rows("order_quantity", &R::bots_section::order_quantity, 1, "units per order"),
             1e-9, 1e12),
      ranged(bots_rows("lookback_ticks", &R::bots_section::lookback_ticks, 20,
                       "ticks over which the sample strategies measure the trend"),
             2, 10000),
      ranged(bots_rows("threshold_percent", &R::bots_section::threshold_percent, 0.2,
                       "change over the lookback that makes the sample strategies trade"),
             1e-9, 100),
      ranged(bots_rows("max_position", &R::bots_section::max_position, 5,
                       "largest position, in units, a sample bot builds in its symbol"),
             1e-9, 1e12),
      ranged(bots_rows("max_restarts", &R::bots_section::max_restarts, 3,
                       "crashes of one bot within restart_window_s before it is given up"),
             0, 10000),
      ranged(bots_rows.converted("restart_window_s", setting_kind::number, 60,
                                 "the window in which a bot's crashes are counted",
                                 [](R::bots_section& s, const nlohmann::json& v) {
                                   s.restart_window_ms = milliseconds_of_seconds(v);
                                 }),
             0.001, 86400),
      ranged(bots_rows.converted("lease_s", setting_kind::number, 10,
                                 "on the Redis backend, a node owns each of its bots through a "
                                 "lease of this length, renewed every third of it; another "
                                 "node can take a bot over once its lease has expired",
                                 [](R::bots_section& s, const nlohmann::json& v) {
                                   s.lease_ms = milliseconds_of_seconds(v);
                                 }),
             0.3, 3600),
      bots_rows("follow_signals", &R::bots_section::follow_signals, false,
                "bar_breakout bots also trade on other bots' and other clients' TRADE_SIGNALs for "
                "their symbol (a signal may come from any client of a shared Redis)"),
      bots_rows("standby", &R::bots_section::standby, false,
                "the configured bots are this node's only when no other node owns them: it "
                "waits, and takes a bot over when its owner's lease expires; false: a bot owned "
                "by another node is refused"),
      ranged(bots_rows("order_rate_limit", &R::bots_section::order_rate_limit, 0,
                       "orders a bot may send per order_rate_window_s (a sliding window, kept "
                       "by the rate limiter); beyond it an order is refused with rate_limited; "
                       "0: no cap"),
             0, 100000),
      ranged(bots_rows.converted("order_rate_window_s", setting_kind::number, 1,
                                 "the window of order_rate_limit",
                                 [](R::bots_section& s, const nlohmann::json& v) {
                                   s.order_rate_window_ms = milliseconds_of_seconds(v);
                                 }),
             0.001, 86400),

      ranged(emergency_rows(
                 "shutdown_grace_ms", &R::emergency_section::shutdown_grace_ms, 10000,
                 "after SHUTDOWN: how long bots get to cancel, flatten and acknowledge before "
                 "the process stops"),
             0, 600000),

      url_with_credentials(checked(
          redis_rows.converted("url", setting_kind::string, "redis://127.0.0.1:6379/0",
                               "redis://[:password@]host:port/db",
                               [](R::redis_section& s, const nlohmann::json& v) {
                                 std::string problem; // checked by check_redis_url already
                                 s.endpoint = *parse_redis_url(v.get<std::string>(), problem);
                               }),
          check_redis_url)),
      // After the URL: a password given here wins over one in the URL.
      secret(redis_rows.converted("password", setting_kind::string, "",
                                  "Redis AUTH password; overrides one given in the URL",
                                  [](R::redis_section& s, const nlohmann::json& v) {
                                    if (auto password = v.get<std::string>(); !password.empty())
                                      s.endpoint.password = password;
                                  })),
      ranged(redis_rows("connect_timeout_ms", &R::redis_section::connect_timeout_ms, 1000,
                        "how long a connection attempt may take"),
             1, 600000),
      ranged(redis_rows("command_timeout_ms", &R::redis_section::command_timeout_ms, 1000,
                        "how long one command may take before the store reports it unavailable"),
             1, 600000),
      ranged(redis_rows("reconnect_initial_ms", &R::redis_section::reconnect_initial_ms, 100,
                        "first wait before reconnecting; doubles per failure, with jitter"),
             10, 60000),
      // At least 10 ms: each attempt is a thread of its own (actors/redis/redis_dialer.hpp).
      ranged(redis_rows("reconnect_max_ms", &R::redis_section::reconnect_max_ms, 5000,
                        "longest wait between reconnects"),
             10, 600000),
      ranged(redis_rows("pipeline_max", &R::redis_section::pipeline_max, 256,
                        "most commands in flight (sent, not yet answered) on one connection"),
             1, 100000),
  };
}

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) {
    return c == '.' ? '_' : static_cast<char>(std::toupper(c));
  });
  return text;
}

} // namespace

std::string_view to_string(setting_kind kind) {
  switch (kind) {
    case setting_kind::string: return "a string";
    case setting_kind::integer: return "an integer";
    case setting_kind::number: return "a number";
    case setting_kind::boolean: return "true or false";
  }
  return "a value";
}

std::string setting::environment_name() const {
  return "BROKEDANCER_" + upper(section) + "_" + upper(key);
}

std::string setting::json_path() const {
  return "$." + section + "." + key;
}

namespace {

std::string check_base_url(const std::string& value) {
  if (value.empty() || value.rfind("http://", 0) == 0 || value.rfind("https://", 0) == 0)
    return {};
  return "expected a URL starting with http:// or https:// (empty for a simulated endpoint)";
}

std::vector<setting> build_endpoint_schema() {
  using E = runtime_config::endpoint_section;
  const endpoint_rows_of endpoint_rows;
  return {
      one_of(endpoint_rows("type", &E::type, "simulated",
                           "simulated: the simulated exchange; http: a REST API at base_url"),
             {"simulated", "http"}),
      ranged(endpoint_rows("timeout_ms", &E::timeout_ms, 30000,
                           "deadline of a call, retries included, unless the call sets its own"),
             1, 3600000),
      ranged(endpoint_rows("failure_threshold", &E::failure_threshold, 5,
                           "consecutive failures that open the breaker; 0: not used"),
             0, 1000000),
      ranged(
          endpoint_rows("failure_rate_threshold", &E::failure_rate_threshold, 50,
                        "percent of failures in the sliding window that opens the breaker; 0: not "
                        "used"),
          0, 100),
      ranged(endpoint_rows("window_size", &E::window_size, 20, "calls in the sliding window"), 1,
             100000),
      ranged(endpoint_rows("minimum_calls", &E::minimum_calls, 10,
                           "calls in the window before the failure rate is judged"),
             1, 100000),
      ranged(endpoint_rows("slow_call_ms", &E::slow_call_ms, 0,
                           "calls slower than this count as failures; 0: none"),
             0, 3600000),
      ranged(endpoint_rows(
                 "recovery_timeout_ms", &E::recovery_timeout_ms, 5000,
                 "how long an open breaker refuses calls before letting trial calls through"),
             1, 3600000),
      ranged(endpoint_rows("half_open_calls", &E::half_open_calls, 3,
                           "trial calls let through at once while half open"),
             1, 10000),
      ranged(endpoint_rows("success_threshold", &E::success_threshold, 2,
                           "trial calls that must succeed to close the breaker again"),
             1, 10000),
      ranged(endpoint_rows("retry_max_attempts", &E::retry_max_attempts, 3,
                           "attempts per call, the first included; 1: no retries"),
             1, 100),
      ranged(endpoint_rows("retry_initial_backoff_ms", &E::retry_initial_backoff_ms, 100,
                           "ceiling of the first retry's random wait; doubles per attempt"),
             0, 600000),
      ranged(endpoint_rows("retry_max_backoff_ms", &E::retry_max_backoff_ms, 2000,
                           "longest wait before a retry; a Retry-After beyond it ends the call"),
             0, 3600000),
      checked(endpoint_rows("base_url", &E::base_url, "",
                            "http: the API's root, http://host:port or https://host:port"),
              check_base_url),
      ranged(endpoint_rows("concurrency", &E::concurrency, 4, "http: calls in flight at once"), 1,
             256),
      ranged(endpoint_rows("max_queue", &E::max_queue, 1000,
                           "http: calls waiting for a connection before more are refused"),
             1, 1000000),
      ranged(endpoint_rows("connect_timeout_ms", &E::connect_timeout_ms, 2000,
                           "http: how long connecting may take"),
             1, 600000),
      ranged(endpoint_rows("seed", &E::seed, 1,
                           "simulated: random seed; the same seed and calls give the same run"),
             0, 9007199254740991.0),
      ranged(endpoint_rows("latency_ms", &E::latency_ms, 0, "simulated: time to answer"), 0,
             600000),
      ranged(endpoint_rows("latency_jitter_ms", &E::latency_jitter_ms, 0,
                           "simulated: up to this much is added to each answer's latency"),
             0, 600000),
      ranged(endpoint_rows("fee_rate", &E::fee_rate, 0.001,
                           "simulated: share of a fill's notional charged as fee"),
             0, 1),
      ranged(endpoint_rows("error_rate", &E::error_rate, 0,
                           "simulated: share of calls answered 503, from 0 to 1"),
             0, 1),
      endpoint_rows(
          "match_market", &E::match_market, true,
          "simulated: match orders against the simulated market's top of the book (false: "
          "fill every order at its own limit price)"),
      ranged(endpoint_rows("price_offset_bps", &E::price_offset_bps, 0,
                           "simulated: this venue quotes the market's prices moved by this many "
                           "basis points (two venues quote apart, as real ones do)"),
             -300, 300),
      ranged(endpoint_rows("price_noise_bps", &E::price_noise_bps, 0,
                           "simulated: and by a draw of up to this many basis points either way "
                           "per tick (from the seed)"),
             0, 100),
      checked(endpoint_rows("outages", &E::outages_s, "",
                            "simulated: unreachable during these windows, seconds since start: "
                            "\"10-20,45.5-50\""),
              check_outages),
      ranged(endpoint_rows("rate_limit", &E::rate_limit, 0,
                           "the endpoint's request budget: requests per rate_window_ms (as its "
                           "API publishes it); every attempt spends one first; 0: none"),
             0, 100000),
      ranged(endpoint_rows("rate_window_ms", &E::rate_window_ms, 1000, "the window of rate_limit"),
             1, 86400000),
      one_of(endpoint_rows("rate_algorithm", &E::rate_algorithm, "sliding_window",
                           "sliding_window: at most rate_limit in any window; token_bucket: "
                           "bursts of rate_limit, refilled at rate_limit per window"),
             {"sliding_window", "token_bucket"}),
      endpoint_rows("rate_wait", &E::rate_wait, true,
                    "wait for the budget within the call's deadline; false: refuse at once "
                    "with rate_limited"),
  };
}

} // namespace

std::string check_outages(const std::string& value) {
  std::string problem;
  parse_outage_windows(value, problem);
  return problem;
}

std::vector<std::pair<double, double>> parse_outage_windows(const std::string& text,
                                                            std::string& problem) {
  std::vector<std::pair<double, double>> windows;
  const std::string expected =
      "expected FROM-TO windows in seconds since start, 0 <= FROM < TO, separated by commas "
      "(\"10-20,45.5-50\")";
  size_t start = 0;
  while (start < text.size()) {
    auto end = text.find(',', start);
    auto item = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    auto dash = item.find('-');
    char* from_end = nullptr;
    char* to_end = nullptr;
    double from = 0, to = 0;
    if (dash != std::string::npos && dash > 0 && dash + 1 < item.size()) {
      auto from_text = item.substr(0, dash);
      auto to_text = item.substr(dash + 1);
      from = std::strtod(from_text.c_str(), &from_end);
      to = std::strtod(to_text.c_str(), &to_end);
      if (*from_end == '\0' && *to_end == '\0' && std::isfinite(to) && from >= 0 && to > from
          && to <= 1e9) {
        windows.emplace_back(from, to);
        if (end == std::string::npos)
          break;
        start = end + 1;
        continue;
      }
    }
    problem = expected;
    return {};
  }
  return windows;
}

setting setting_for_endpoint(const setting& s, const std::string& name) {
  auto copy = s;
  copy.section = "resilience.endpoints." + name;
  return copy;
}

std::string check_endpoint_name(const std::string& name) {
  auto valid = !name.empty() && name.size() <= 64
               && std::all_of(name.begin(), name.end(), [](unsigned char c) {
                    return std::islower(c) || std::isdigit(c) || c == '_';
                  });
  return valid ? std::string{} : "1 to 64 lower-case letters, digits or '_'";
}

std::vector<std::string> split_setting_list(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (!text.empty()) {
    auto end = text.find(',', start);
    items.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos)
      break;
    start = end + 1;
  }
  return items;
}

const std::vector<setting>& endpoint_schema() {
  static const std::vector<setting> schema = build_endpoint_schema();
  return schema;
}

const std::vector<setting>& config_schema() {
  static const std::vector<setting> schema = build_schema();
  return schema;
}

} // namespace brokedancer
