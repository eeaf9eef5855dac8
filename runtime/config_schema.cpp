#include "runtime/config_schema.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "core/host_port.hpp"
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

std::string check_endpoint_name_setting(const std::string& value) {
  auto problem = check_endpoint_name(value);
  return problem.empty() ? problem : "expected an endpoint name of " + problem;
}

std::vector<setting> build_schema() {
  using k = setting_kind;
  return {
      checked(make("runtime", "node_name", k::string, "",
                   "name of this node in logs and the cluster; empty: the host name"),
              check_node_name),
      ranged(make("runtime", "scheduler_threads", k::integer, 0,
                  "CAF scheduler worker threads; 0: one per core"),
             0, 256),
      one_of(make("runtime", "scheduler_policy", k::string, "stealing", "CAF scheduling policy"),
             {"stealing", "sharing"}),

      one_of(make("log", "format", k::string, "console",
                  "json: one object per line; console: one readable line"),
             {"console", "json"}),
      one_of(make("log", "level", k::string, "info", "lowest level written"),
             {"trace", "debug", "info", "warn", "error", "critical", "off"}),
      make("log", "file", k::string, "", "file the log is appended to; empty: standard error"),

      ranged(make("supervisor", "max_restarts", k::integer, 5,
                  "restarts allowed within window_s before the supervisor escalates"),
             0, 10000),
      ranged(make("supervisor", "window_s", k::number, 10,
                  "length of the restart-intensity window in seconds"),
             0.001, 86400),

      one_of(make("state", "backend", k::string, "memory", "where the state store keeps data"),
             {"memory", "redis"}),
      checked(make("state", "key_prefix", k::string,
                   "brokedancer:", "prefix of every key in a shared Redis, one per deployment"),
              check_prefix),
      ranged(make("state", "max_key_bytes", k::integer, 1024, "longest key the store accepts"), 1,
             1 << 20),
      ranged(make("state", "max_value_bytes", k::integer, 4 << 20,
                  "largest value (JSON text) the store accepts"),
             1, 512 << 20),
      ranged(make("state", "sweep_interval_ms", k::integer, 1000,
                  "memory backend: how often expired keys are removed from memory"),
             10, 600000),

      one_of(make("bus", "backend", k::string, "memory", "how events travel"), {"memory", "redis"}),
      checked(make("bus", "channel_prefix", k::string, "brokedancer:events:",
                   "Redis backend: prefix of every channel, one per deployment (pub/sub ignores "
                   "the database number, so this is what keeps deployments apart)"),
              check_prefix),
      ranged(make("bus", "max_backlog", k::integer, 10000,
                  "events a subscriber may have outstanding; beyond it events are dropped and "
                  "counted for that subscriber. Keep it above the longest burst of publishes"),
             2, 10000000),
      ranged(make("bus", "max_backlog_bytes", k::integer, 64 << 20,
                  "bytes (topics and payloads) a subscriber may have outstanding; beyond it "
                  "events are dropped and counted, as for max_backlog"),
             1024, int64_t{1} << 34),
      ranged(make("bus", "max_topic_bytes", k::integer, 256, "longest topic accepted"), 1, 65536),
      ranged(make("bus", "max_payload_bytes", k::integer, 1 << 20,
                  "largest event payload (JSON text) accepted"),
             1, 64 << 20),

      ranged(make("risk", "max_daily_loss", k::number, 1000,
                  "loss since the trading day began (realized and unrealized) that halts; 0: off"),
             0, 1e15),
      ranged(make("risk", "max_position_size", k::number, 10000,
                  "largest position in one symbol, as notional at the mark; 0: off"),
             0, 1e15),
      ranged(make("risk", "max_total_position", k::number, 50000,
                  "largest sum of all positions' notional; 0: off"),
             0, 1e15),
      ranged(make("risk", "max_order_notional", k::number, 5000,
                  "largest single order (quantity x price); 0: off"),
             0, 1e15),
      ranged(make("risk", "max_trades_per_hour", k::integer, 1000,
                  "orders in any 60 minutes (a sliding window); 0: off"),
             0, 100000000),
      ranged(make("risk", "max_drawdown_percent", k::number, 10,
                  "fall of equity from its peak, in percent, that halts; 0: off"),
             0, 100),
      ranged(make("risk", "warning_percent", k::number, 80, "share of a limit that raises ALERT"),
             1, 100),
      make("risk", "auto_halt", k::boolean, true, "a breached limit raises HALT"),
      ranged(make("risk", "starting_equity", k::number, 100000,
                  "equity before any trade: the base of drawdown and daily loss"),
             0.01, 1e15),
      checked(make("risk", "daily_reset_utc", k::string, "00:00",
                   "when the trading day (and the daily loss) starts over, HH:MM in UTC"),
              check_time_of_day),
      ranged(make("risk", "max_mark_jump_percent", k::number, 20,
                  "a market price this far from the last mark is taken only once two more agree "
                  "with it (one fake price does not move equity); 0: off"),
             0, 1000),
      checked(make("risk", "endpoint", k::string, "exchange",
                   "the endpoint (resilience.endpoints) orders go to"),
              check_endpoint_name_setting),

      ranged(make("node", "control_port", k::integer, 0,
                  "TCP port of the operator API (HTTP/JSON; brokedancer status|halt|resume|"
                  "shutdown --node HOST:PORT); every request needs a credential; 0: off"),
             0, 65535),
      checked(make("node", "control_host", k::string, "127.0.0.1",
                   "address the operator API listens on; off loopback it needs "
                   "control_tls_certificate (or insecure_plaintext)"),
              check_host),
      make("node", "credentials_file", k::string, "",
           "file of the operator credentials (NAME ROLE SHA256 a line, written by brokedancer "
           "credentials add); the node keeps only the tokens' digests"),
      secret(make("node", "credentials", k::string, "",
                  "operator credentials given inline, the same lines as credentials_file "
                  "separated by ';'")),
      make("node", "control_tls_certificate", k::string, "",
           "PEM certificate (chain) of the operator API: with control_tls_key it serves HTTPS"),
      make("node", "control_tls_key", k::string, "", "PEM private key of control_tls_certificate"),
      make("node", "insecure_plaintext", k::boolean, false,
           "allow a cluster listener without mutual TLS and an operator API off loopback "
           "without TLS: for experiments on loopback only; logged loudly"),
      checked(make("node", "listen", k::string, "",
                   "HOST:PORT this node listens on for its peers; needs mutual TLS "
                   "(tls_certificate, tls_key, tls_ca) unless insecure_plaintext; empty: none"),
              check_listen),
      checked(make("node", "peers", k::string, "",
                   "the peers to join, HOST:PORT separated by commas; reconnected with backoff "
                   "whenever the connection is lost"),
              check_peers),
      ranged(make("node", "heartbeat_interval_ms", k::integer, 200,
                  "how often a node tells its peers it is alive (CAF middleman heartbeats and "
                  "the cluster's gossip); the same on every node of a cluster"),
             10, 60000),
      ranged(make("node", "connection_timeout_ms", k::integer, 1000,
                  "a peer silent this long is taken as gone, even if its socket is open (a hung "
                  "process); the same on every node, at least 3 heartbeats"),
             100, 600000),
      ranged(make("node", "handshake_timeout_ms", k::integer, 3000,
                  "a connection to the peer port that has not authenticated (mutual TLS, then "
                  "CAF's handshake) within this time is cut"),
             500, 60000),
      ranged(make("node", "max_peer_connections", k::integer, 64,
                  "connections the peer port keeps open; beyond it the newest that have not "
                  "authenticated yet are cut"),
             2, 100000),
      make("node", "tls_certificate", k::string, "",
           "PEM certificate (chain) this node shows its peers; with tls_key and tls_ca it turns "
           "on TLS between nodes (CAF's OpenSSL module: TLS 1.2, both sides verified)"),
      make("node", "tls_key", k::string, "", "PEM private key of tls_certificate"),
      make("node", "tls_ca", k::string, "",
           "PEM file of the certificate authorities a peer's certificate must be signed by"),
      secret(make("node", "tls_passphrase", k::string, "", "passphrase of an encrypted tls_key")),
      ranged(make("node", "isolation_halt_after", k::number, 10,
                  "seconds without any peer after which the node halts its own bots (dead man's "
                  "switch); 0: off"),
             0, 86400),
      ranged(make("node", "store_halt_after", k::number, 10,
                  "seconds without the shared Redis state store after which the node halts its "
                  "own bots, with peers or without (dead man's switch); 0: off"),
             0, 86400),

      checked(make("market", "symbols", k::string, "BTC-USD,ETH-USD",
                   "the simulated market's symbols, separated by commas; empty: no market"),
              check_symbol_list),
      ranged(make("market", "start_price", k::number, 100, "every symbol's first mid price"), 1e-6,
             1e12),
      ranged(make("market", "drift_percent", k::number, 0,
                  "mean change of the mid per tick, in percent (negative: a falling market)"),
             -10, 10),
      ranged(make("market", "volatility_percent", k::number, 0.1,
                  "standard deviation of the mid's change per tick, in percent"),
             0, 50),
      ranged(
          make("market", "spread_bps", k::number, 10, "ask minus bid, in basis points of the mid"),
          0, 10000),
      ranged(make("market", "tick_ms", k::integer, 100, "time between two ticks"), 1, 3600000),
      ranged(make("market", "seed", k::integer, 1,
                  "random seed of the price paths (--seed sets it, and every simulated "
                  "endpoint's)"),
             0, 9007199254740991.0),
      ranged(make("market", "max_ticks", k::integer, 0,
                  "the market stops moving after this many ticks; 0: never"),
             0, 9007199254740991.0),

      ranged(make("bots", "count", k::integer, 4, "bots spawned at start (--bots sets it)"), 0,
             1000000),
      checked(make("bots", "strategy", k::string, "mixed",
                   "strategy of the bots spawned at start: momentum, mean_reversion, mixed "
                   "(alternating the two), or a strategy an embedding program added"),
              check_strategy_name),
      checked(make("bots", "symbols", k::string, "",
                   "symbols the bots trade, dealt out in turn; empty: the market's symbols"),
              check_symbol_list),
      ranged(make("bots", "order_quantity", k::number, 1, "units per order"), 1e-9, 1e12),
      ranged(make("bots", "lookback_ticks", k::integer, 20,
                  "ticks over which the sample strategies measure the trend"),
             2, 10000),
      ranged(make("bots", "threshold_percent", k::number, 0.2,
                  "change over the lookback that makes the sample strategies trade"),
             1e-9, 100),
      ranged(make("bots", "max_position", k::number, 5,
                  "largest position, in units, a sample bot builds in its symbol"),
             1e-9, 1e12),
      ranged(make("bots", "max_restarts", k::integer, 3,
                  "crashes of one bot within restart_window_s before it is given up"),
             0, 10000),
      ranged(make("bots", "restart_window_s", k::number, 60,
                  "the window in which a bot's crashes are counted"),
             0.001, 86400),

      ranged(make("emergency", "shutdown_grace_ms", k::integer, 10000,
                  "after SHUTDOWN: how long bots get to cancel, flatten and acknowledge before "
                  "the process stops"),
             0, 600000),

      url_with_credentials(checked(make("redis", "url", k::string, "redis://127.0.0.1:6379/0",
                                        "redis://[:password@]host:port/db"),
                                   check_redis_url)),
      secret(make("redis", "password", k::string, "",
                  "Redis AUTH password; overrides one given in the URL")),
      ranged(make("redis", "connect_timeout_ms", k::integer, 1000,
                  "how long a connection attempt may take"),
             1, 600000),
      ranged(make("redis", "command_timeout_ms", k::integer, 1000,
                  "how long one command may take before the store reports it unavailable"),
             1, 600000),
      ranged(make("redis", "reconnect_initial_ms", k::integer, 100,
                  "first wait before reconnecting; doubles per failure, with jitter"),
             1, 60000),
      ranged(make("redis", "reconnect_max_ms", k::integer, 5000, "longest wait between reconnects"),
             1, 600000),
      ranged(make("redis", "pipeline_max", k::integer, 256,
                  "most commands sent in one round trip; concurrent requests share it"),
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
  using k = setting_kind;
  const std::string section = "resilience.endpoints.<name>";
  return {
      one_of(make(section, "type", k::string, "simulated",
                  "simulated: the simulated exchange; http: a REST API at base_url"),
             {"simulated", "http"}),
      ranged(make(section, "timeout_ms", k::integer, 30000,
                  "deadline of a call, retries included, unless the call sets its own"),
             1, 3600000),
      ranged(make(section, "failure_threshold", k::integer, 5,
                  "consecutive failures that open the breaker; 0: not used"),
             0, 1000000),
      ranged(make(section, "failure_rate_threshold", k::number, 50,
                  "percent of failures in the sliding window that opens the breaker; 0: not "
                  "used"),
             0, 100),
      ranged(make(section, "window_size", k::integer, 20, "calls in the sliding window"), 1,
             100000),
      ranged(make(section, "minimum_calls", k::integer, 10,
                  "calls in the window before the failure rate is judged"),
             1, 100000),
      ranged(make(section, "slow_call_ms", k::integer, 0,
                  "calls slower than this count as failures; 0: none"),
             0, 3600000),
      ranged(make(section, "recovery_timeout_ms", k::integer, 5000,
                  "how long an open breaker refuses calls before letting trial calls through"),
             1, 3600000),
      ranged(make(section, "half_open_calls", k::integer, 3,
                  "trial calls let through at once while half open"),
             1, 10000),
      ranged(make(section, "success_threshold", k::integer, 2,
                  "trial calls that must succeed to close the breaker again"),
             1, 10000),
      ranged(make(section, "retry_max_attempts", k::integer, 3,
                  "attempts per call, the first included; 1: no retries"),
             1, 100),
      ranged(make(section, "retry_initial_backoff_ms", k::integer, 100,
                  "ceiling of the first retry's random wait; doubles per attempt"),
             0, 600000),
      ranged(make(section, "retry_max_backoff_ms", k::integer, 2000,
                  "longest wait before a retry; a Retry-After beyond it ends the call"),
             0, 3600000),
      checked(make(section, "base_url", k::string, "",
                   "http: the API's root, http://host:port or https://host:port"),
              check_base_url),
      ranged(make(section, "concurrency", k::integer, 4, "http: calls in flight at once"), 1, 256),
      ranged(make(section, "max_queue", k::integer, 1000,
                  "http: calls waiting for a connection before more are refused"),
             1, 1000000),
      ranged(make(section, "connect_timeout_ms", k::integer, 2000,
                  "http: how long connecting may take"),
             1, 600000),
      ranged(make(section, "seed", k::integer, 1,
                  "simulated: random seed; the same seed and calls give the same run"),
             0, 9007199254740991.0),
      ranged(make(section, "latency_ms", k::integer, 0, "simulated: time to answer"), 0, 600000),
      ranged(make(section, "latency_jitter_ms", k::integer, 0,
                  "simulated: up to this much is added to each answer's latency"),
             0, 600000),
      ranged(make(section, "fee_rate", k::number, 0.001,
                  "simulated: share of a fill's notional charged as fee"),
             0, 1),
      ranged(make(section, "error_rate", k::number, 0,
                  "simulated: share of calls answered 503, from 0 to 1"),
             0, 1),
      make(section, "match_market", k::boolean, true,
           "simulated: match orders against the simulated market's top of the book (false: "
           "fill every order at its own limit price)"),
      checked(make(section, "outages", k::string, "",
                   "simulated: unreachable during these windows, seconds since start: "
                   "\"10-20,45.5-50\""),
              check_outages),
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

const std::vector<setting>& endpoint_schema() {
  static const std::vector<setting> schema = build_endpoint_schema();
  return schema;
}

const std::vector<setting>& config_schema() {
  static const std::vector<setting> schema = build_schema();
  return schema;
}

} // namespace brokedancer
