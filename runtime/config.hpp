#pragma once

// Loading and validating the runtime configuration: a JSON file (or the embedded default),
// then BROKEDANCER_<SECTION>_<KEY> environment overrides, checked against config_schema().

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/market/market_settings.hpp"
#include "actors/risk/risk_options.hpp"
#include "core/host_port.hpp"
#include "core/logging.hpp"
#include "core/redis_url.hpp"

namespace brokedancer {

// One thing wrong with a configuration, said so that a person can fix it:
// "config/production.json: $.redis.url: expected redis://[:password@]host:port/db, found ..."
struct config_problem {
  std::string where; // a file name, or "environment: BROKEDANCER_..."
  std::string path;  // a JSON path such as $.redis.url
  std::string message;

  std::string render() const;
};

class config_error : public std::runtime_error {
public:
  explicit config_error(std::vector<config_problem> problems);
  const std::vector<config_problem>& problems() const noexcept {
    return problems_;
  }

private:
  std::vector<config_problem> problems_;
};

struct config_source {
  std::string name; // shown in errors: the path, or "embedded development.json"
  std::string text;
};

// Limits on a configuration file: its size, and how deep its JSON may nest.
constexpr size_t max_config_bytes = 1 << 20;
constexpr int max_config_depth = 16;

config_source embedded_default_config();
// Throws config_error when the file cannot be read.
config_source read_config_file(const std::string& path);

using environment = std::map<std::string, std::string>;
// The BROKEDANCER_* variables of this process.
environment process_environment();

// Environment variables with this prefix belong to the test harness, not to the runtime.
constexpr std::string_view test_environment_prefix = "BROKEDANCER_TEST_";
// Names the config file when no --config is given.
constexpr std::string_view config_file_variable = "BROKEDANCER_CONFIG";
// An operator's token for the control commands: the client's, never a node setting.
constexpr std::string_view operator_token_variable = "BROKEDANCER_TOKEN";
// CAF's scheduling policy when the configuration names none (runtime/actor_system_config.cpp
// says why).
constexpr std::string_view default_scheduler_policy = "sharing";

struct runtime_config {
  struct runtime_section {
    std::string node_name;
    int scheduler_threads = 0;
    std::string scheduler_policy{default_scheduler_policy};
  } runtime;
  log_options log;
  struct supervisor_section {
    uint32_t max_restarts = 0;
    int64_t window_ms = 0;
  } supervisor;
  struct state_section {
    std::string backend;
    std::string key_prefix;
    size_t max_key_bytes = 0;
    size_t max_value_bytes = 0;
    int sweep_interval_ms = 0;
  } state;
  struct bus_section {
    std::string backend;
    std::string channel_prefix;
    size_t max_backlog = 0;
    size_t max_backlog_bytes = 0;
    size_t max_topic_bytes = 0;
    size_t max_payload_bytes = 0;
  } bus;
  struct limiter_section {
    std::string backend; // "auto" (the state store's), "memory" or "redis"
  } limiter;
  struct streams_section {
    std::string backend; // "auto" (the state store's), "memory" or "redis"
    uint64_t max_length = 0;
    int64_t max_age_ms = 0;
    uint32_t dead_letter_after = 0;
  } streams;
  struct timeseries_section {
    std::string backend; // "auto" (the state store's), "memory" or "redis"
    uint64_t max_points = 0;
    int64_t retention_ms = 0;
  } timeseries;
  struct bars_section {
    std::vector<std::string> timeframes; // empty: no bar service
  } bars;
  struct channels_section {
    std::string backend; // "auto" (the state store's), "memory" (the bus only) or "redis"
    std::string prefix;  // of the Redis channels: "" for trading:orders exactly
    int64_t heartbeat_ms = 0;
    int64_t check_ms = 0;
  } channels;
  struct workflows_section {
    std::vector<std::string> files; // definitions the node runs on their triggers; empty: none
    // Endpoints an http_request node may call; empty: none. Never risk.endpoint: an order
    // must go through the risk monitor.
    std::vector<std::string> http_endpoints;
    uint32_t max_running = 0;      // executions of one workflow at once
    uint32_t breaker_failures = 0; // failed executions in a row that open its breaker
    int64_t breaker_recovery_ms = 0;
    int64_t history_retention_ms = 0; // history entries older than this are dropped
  } workflows;
  // The risk monitor's own options (node_name and symbols are the runtime's to fill in).
  risk_options risk;
  struct emergency_section {
    int64_t shutdown_grace_ms = 0;
  } emergency;
  struct node_section {
    uint16_t control_port = 0; // 0: no operator API
    std::string control_host;
    std::string credentials_file;        // NAME ROLE SHA256 lines (runtime/operator_auth.hpp)
    std::string credentials;             // the same lines, ';'-separated: a secret, env only
    std::string control_tls_certificate; // HTTPS for the operator API, with control_tls_key
    std::string control_tls_key;
    bool insecure_plaintext = false; // plaintext peers, or an operator API off loopback
    std::optional<host_port> listen; // for peers
    std::vector<host_port> peers;
    int64_t heartbeat_interval_ms = 200;
    int64_t connection_timeout_ms = 1000;
    int64_t handshake_timeout_ms = 3000;
    size_t max_peer_connections = 64;
    uint32_t metrics_max_bot_labels = 50; // /metrics has per-bot series up to this many bots
    uint32_t max_event_streams = 4;       // /api/events clients (the dashboard is one) at once
    double isolation_halt_after_s = 0;    // without peers; 0: off
    double store_halt_after_s = 0;        // without the shared store; 0: off
    // TLS between nodes: all three paths, or none.
    std::string tls_certificate;
    std::string tls_key;
    std::string tls_ca;
    std::string tls_passphrase; // a secret: from the environment only

    bool tls() const {
      return !tls_certificate.empty();
    }

    // A node of a cluster: it listens for peers or joins some.
    bool clustered() const {
      return listen.has_value() || !peers.empty();
    }
  } node;
  market_settings market; // symbols empty: no simulated market
  struct bots_section {
    uint32_t count = 0;
    std::string id_prefix;
    std::string strategy;
    std::vector<std::string> symbols; // empty: the market's
    double order_quantity = 0;
    uint32_t lookback_ticks = 0;
    double threshold_percent = 0;
    double max_position = 0;
    uint32_t max_restarts = 0;
    int64_t restart_window_ms = 0;
    int64_t lease_ms = 0;
    bool standby = false;
    bool follow_signals = false;   // bar_breakout: trade on other bots' and clients' signals
    uint32_t order_rate_limit = 0; // orders per order_rate_window_ms and bot; 0: no cap
    int64_t order_rate_window_ms = 0;
  } bots;
  // resilience.endpoints: one per endpoint, every setting filled in (see endpoint_schema()).
  struct endpoint_section {
    std::string name;
    std::string type; // "simulated" or "http"
    int64_t timeout_ms = 0;
    uint32_t failure_threshold = 0;
    double failure_rate_threshold = 0;
    uint32_t window_size = 0;
    uint32_t minimum_calls = 0;
    int64_t slow_call_ms = 0;
    int64_t recovery_timeout_ms = 0;
    uint32_t half_open_calls = 0;
    uint32_t success_threshold = 0;
    uint32_t retry_max_attempts = 0;
    int64_t retry_initial_backoff_ms = 0;
    int64_t retry_max_backoff_ms = 0;
    std::string base_url;
    uint32_t concurrency = 0;
    uint32_t max_queue = 0;
    int64_t connect_timeout_ms = 0;
    uint64_t seed = 0;
    int64_t latency_ms = 0;
    int64_t latency_jitter_ms = 0;
    double error_rate = 0;
    double fee_rate = 0;
    bool match_market = true;
    double price_offset_bps = 0;
    double price_noise_bps = 0;
    std::vector<std::pair<double, double>> outages_s; // [from, to) seconds since start
    uint32_t rate_limit = 0;                          // requests per rate_window_ms; 0: no budget
    int64_t rate_window_ms = 0;
    std::string rate_algorithm; // sliding_window or token_bucket
    bool rate_wait = true;
  };
  std::vector<endpoint_section> endpoints;
  struct redis_section {
    redis_endpoint endpoint; // the URL parsed; a password from redis.password wins
    int connect_timeout_ms = 0;
    int command_timeout_ms = 0;
    int reconnect_initial_ms = 0;
    int reconnect_max_ms = 0;
    int pipeline_max = 0;
  } redis;

  std::string source;                 // where the file part came from
  std::vector<std::string> overrides; // environment variables that were applied
  nlohmann::json effective;           // every setting, defaults filled in; holds secrets

  // The effective configuration with every secret replaced by ***.
  nlohmann::json masked() const;
};

// Validates `source` and `env` against the schema. Throws config_error listing every problem.
// Registers the secrets it finds with log_masker() so that no log line can reveal them.
runtime_config load_config(const config_source& source, const environment& env);

// `path` when given, else the file $BROKEDANCER_CONFIG names, else the embedded default; with
// the environment's overrides. Throws config_error.
runtime_config load_selected_config(const std::string& path, const environment& env);

} // namespace brokedancer
