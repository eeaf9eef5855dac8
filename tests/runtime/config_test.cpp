#include <cstdio>
#include <fstream>

#include <sstream>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "runtime/config.hpp"
#include "runtime/config_schema.hpp"

using namespace brokedancer;
using Catch::Matchers::Contains;

namespace {

config_source file(std::string text) {
  return {"config/test.json", std::move(text)};
}

// The rendered problems of a config that must be rejected.
std::string rejection(const config_source& source, const environment& env = {}) {
  try {
    load_config(source, env);
  } catch (const config_error& err) {
    return err.what();
  }
  FAIL("the configuration was accepted");
  return {};
}

} // namespace

TEST_CASE("the embedded default configuration is development.json with memory backends") {
  auto cfg = load_config(embedded_default_config(), {});
  CHECK(cfg.state.backend == "memory");
  CHECK(cfg.bus.backend == "memory");
  CHECK(cfg.log.format == log_format::console);
  CHECK(cfg.overrides.empty());
  CHECK_FALSE(cfg.runtime.node_name.empty());
}

TEST_CASE("every config file shipped in config/ is valid") {
  for (auto name : {"development", "staging", "production"}) {
    INFO(name);
    auto path = std::string(BROKEDANCER_SOURCE_DIR) + "/config/" + name + ".json";
    CHECK_NOTHROW(load_config(read_config_file(path), {}));
  }
  auto production = load_config(
      read_config_file(std::string(BROKEDANCER_SOURCE_DIR) + "/config/production.json"), {});
  CHECK(production.state.backend == "redis");
  CHECK(production.log.format == log_format::json);
}

TEST_CASE("settings missing from a file take the schema's defaults") {
  auto cfg = load_config(file(R"({"log": {"level": "debug"}})"), {});
  CHECK(cfg.log.level == log_level::debug);
  CHECK(cfg.supervisor.max_restarts == 5);
  CHECK(cfg.supervisor.window_ms == 10000);
  CHECK(cfg.redis.endpoint.host == "127.0.0.1");
  CHECK(cfg.redis.endpoint.port == 6379);
}

TEST_CASE("environment variables override the file, typed by the schema") {
  auto cfg = load_config(file(R"({"supervisor": {"max_restarts": 2}})"),
                         {{"BROKEDANCER_SUPERVISOR_MAX_RESTARTS", "7"},
                          {"BROKEDANCER_SUPERVISOR_WINDOW_S", "0.5"},
                          {"BROKEDANCER_STATE_KEY_PREFIX", "desk-a:"}});
  CHECK(cfg.supervisor.max_restarts == 7);
  CHECK(cfg.supervisor.window_ms == 500);
  CHECK(cfg.state.key_prefix == "desk-a:");
  CHECK(cfg.overrides.size() == 3);
}

TEST_CASE("an environment override of the wrong type names the variable and what it expected") {
  auto text = rejection(file("{}"), {{"BROKEDANCER_SUPERVISOR_MAX_RESTARTS", "many"}});
  CHECK_THAT(text, Contains("environment: BROKEDANCER_SUPERVISOR_MAX_RESTARTS"));
  CHECK_THAT(text, Contains("$.supervisor.max_restarts"));
  CHECK_THAT(text, Contains("expected an integer from 0 to 10000, found \"many\""));
}

TEST_CASE("a misspelt environment variable is rejected with a suggestion") {
  auto text = rejection(file("{}"), {{"BROKEDANCER_REDIS_ULR", "redis://h:1/0"}});
  CHECK_THAT(
      text,
      Contains("BROKEDANCER_REDIS_ULR: no such setting; did you mean \"BROKEDANCER_REDIS_URL\"?"));
}

TEST_CASE("variables of the test harness and the config-file selector are not settings") {
  CHECK_NOTHROW(load_config(file("{}"), {{"BROKEDANCER_TEST_REDIS_URL", "redis://h:1/0"},
                                         {"BROKEDANCER_CONFIG", "config/production.json"}}));
}

TEST_CASE("a misspelt key is rejected with the file, the JSON path and a suggestion") {
  auto text = rejection(file(R"({"log": {"levle": "info"}})"));
  CHECK_THAT(text, Contains("config/test.json: $.log.levle: unknown key; did you mean \"level\"?"));
}

TEST_CASE("an unknown section is rejected with a suggestion") {
  auto text = rejection(file(R"({"supervisr": {}})"));
  CHECK_THAT(
      text,
      Contains("config/test.json: $.supervisr: unknown section; did you mean \"supervisor\"?"));
}

TEST_CASE("wrong types and out-of-range values say what was expected and what was found") {
  auto text = rejection(file(
      R"({"supervisor": {"max_restarts": "3", "window_s": 0}, "log": {"format": "jsno"},
        "runtime": {"scheduler_threads": 1.5}})"));
  CHECK_THAT(
      text,
      Contains("$.supervisor.max_restarts: expected an integer from 0 to 10000, found \"3\""));
  CHECK_THAT(text,
             Contains("$.supervisor.window_s: expected a number from 0.001 to 86400, found 0"));
  CHECK_THAT(text, Contains("$.log.format: expected one of \"console\", \"json\", found \"jsno\"; "
                            "did you mean \"json\"?"));
  CHECK_THAT(text,
             Contains("$.runtime.scheduler_threads: expected an integer from 0 to 256, found 1.5"));
}

TEST_CASE("every problem in a file is reported at once") {
  try {
    load_config(file(R"({"log": {"levle": 1, "format": 3}, "bus": []})"), {});
    FAIL("accepted");
  } catch (const config_error& err) {
    CHECK(err.problems().size() == 3);
  }
}

TEST_CASE("malformed JSON is rejected with its line and column") {
  auto text = rejection(file("{\n  \"log\": {\n"));
  CHECK_THAT(text, Contains("config/test.json: $: is not valid JSON"));
  CHECK_THAT(text, Contains("line 3"));
}

TEST_CASE("a config file that cannot be read is a config error naming the path") {
  try {
    read_config_file("/nonexistent/brokedancer.json");
    FAIL("read");
  } catch (const config_error& err) {
    CHECK_THAT(std::string(err.what()),
               Contains("/nonexistent/brokedancer.json: $: cannot be read"));
  }
}

TEST_CASE("a redis URL that is not redis://host:port/db is rejected") {
  auto text = rejection(file(R"({"redis": {"url": "localhost"}})"));
  CHECK_THAT(text, Contains("$.redis.url: expected redis://host:port/db"));
  CHECK_THAT(text, Contains("found \"localhost\""));
}

TEST_CASE("secrets are refused in config files and pointed to the environment") {
  auto text = rejection(file(R"({"redis": {"password": "hunter2"}})"));
  CHECK_THAT(text, Contains("$.redis.password: secrets must not be kept in a config file; set "
                            "BROKEDANCER_REDIS_PASSWORD"));
  CHECK_THAT(text, !Contains("hunter2"));

  auto url_text = rejection(file(R"({"redis": {"url": "redis://:hunter2@10.0.0.5:6379/0"}})"));
  CHECK_THAT(url_text, Contains("$.redis.url: this URL holds a password"));
  CHECK_THAT(url_text, !Contains("hunter2"));
}

TEST_CASE("a password from the environment is used but never shown") {
  auto cfg =
      load_config(file("{}"), {{"BROKEDANCER_REDIS_URL", "redis://:s3cret@127.0.0.1:6390/2"}});
  CHECK(cfg.redis.endpoint.password == "s3cret");
  CHECK(cfg.redis.endpoint.port == 6390);
  CHECK(cfg.redis.endpoint.db == 2);
  auto shown = cfg.masked().dump();
  CHECK_THAT(shown, !Contains("s3cret"));
  CHECK_THAT(shown, Contains("redis://:***@127.0.0.1:6390/2"));

  auto separate = load_config(file("{}"), {{"BROKEDANCER_REDIS_PASSWORD", "pa55word"}});
  CHECK(separate.redis.endpoint.password == "pa55word");
  CHECK_THAT(separate.masked().dump(), !Contains("pa55word"));
  CHECK(separate.masked()["redis"]["password"] == "***");
}

TEST_CASE("a rejected URL with a password does not reveal the password") {
  auto text = rejection(file("{}"), {{"BROKEDANCER_REDIS_URL", "redis://:t0ps3cret@host:99999/0"}});
  CHECK_THAT(text, Contains("the port must be a number from 1 to 65535"));
  CHECK_THAT(text, !Contains("t0ps3cret"));
}

TEST_CASE("every setting has an environment name of the form BROKEDANCER_SECTION_KEY") {
  for (const auto& s : config_schema()) {
    INFO(s.json_path());
    CHECK(s.environment_name().rfind("BROKEDANCER_", 0) == 0);
    CHECK_FALSE(s.help.empty());
  }
  auto url = std::find_if(config_schema().begin(), config_schema().end(),
                          [](const setting& s) { return s.json_path() == "$.redis.url"; });
  REQUIRE(url != config_schema().end());
  CHECK(url->environment_name() == "BROKEDANCER_REDIS_URL");
}

TEST_CASE("endpoints are declared by name, every setting filled in from the endpoint schema") {
  auto cfg =
      load_config(file(R"({"resilience": {"endpoints": {
             "exchange": {"type": "simulated", "latency_ms": 3, "outages": "1-2,5.5-6"},
             "binance": {"type": "http", "base_url": "https://api.binance.com",
                         "timeout_ms": 5000}}}})"),
                  {{"BROKEDANCER_RESILIENCE_ENDPOINTS_BINANCE_FAILURE_THRESHOLD", "7"},
                   {"BROKEDANCER_RESILIENCE_ENDPOINTS_KRAKEN_BASE_URL", "http://127.0.0.1:8080"},
                   {"BROKEDANCER_RESILIENCE_ENDPOINTS_KRAKEN_TYPE", "http"}});
  REQUIRE(cfg.endpoints.size() == 3);
  const auto& binance = cfg.endpoints[0];
  CHECK(binance.name == "binance");
  CHECK(binance.timeout_ms == 5000);
  CHECK(binance.failure_threshold == 7);
  CHECK(binance.recovery_timeout_ms == 5000); // the default
  const auto& exchange = cfg.endpoints[1];
  CHECK(exchange.latency_ms == 3);
  CHECK(exchange.outages_s == std::vector<std::pair<double, double>>{{1, 2}, {5.5, 6}});
  CHECK(cfg.endpoints[2].name == "kraken");
  CHECK(cfg.endpoints[2].base_url == "http://127.0.0.1:8080");
}

TEST_CASE("bad endpoint settings are rejected with their path and what was expected") {
  auto problems = rejection(file(R"({"resilience": {"endpoints": {
      "Bad-Name": {},
      "a": {"timeout_ms": 0, "latency_ms": -1, "outages": "10-inf", "retry_max_attemps": 2},
      "b": {"type": "http"},
      "c": {"minimum_calls": 50, "window_size": 20},
      "d": {"type": "ftp"}}}})"));
  CHECK_THAT(problems, Contains("$.resilience.endpoints.Bad-Name: an endpoint name must be 1 to "
                                "64 lower-case letters"));
  CHECK_THAT(problems, Contains("$.resilience.endpoints.a.timeout_ms: expected an integer from 1"));
  CHECK_THAT(problems, Contains("$.resilience.endpoints.a.latency_ms: expected an integer"));
  CHECK_THAT(problems, Contains("$.resilience.endpoints.a.outages: expected FROM-TO windows"));
  CHECK_THAT(problems, Contains("$.resilience.endpoints.a.retry_max_attemps: unknown key; did "
                                "you mean \"retry_max_attempts\"?"));
  CHECK_THAT(problems, Contains("$.resilience.endpoints.b.base_url: an http endpoint needs its "
                                "base_url"));
  CHECK_THAT(problems, Contains("$.resilience.endpoints.c.minimum_calls: must not be larger "
                                "than window_size"));
  CHECK_THAT(problems, Contains("$.resilience.endpoints.d.type: expected one of"));
  CHECK_THAT(rejection(embedded_default_config(),
                       {{"BROKEDANCER_RESILIENCE_ENDPOINTS_EXCHANGE_LATENCY", "3"}}),
             Contains("no such endpoint setting"));
}

TEST_CASE("a minimum holds for values from a file as much as from the environment") {
  CHECK_THAT(rejection(file(R"({"redis": {"reconnect_initial_ms": 0}})")),
             Contains("$.redis.reconnect_initial_ms: expected an integer from 10"));
}

TEST_CASE("a config file past the size limit is refused without being read whole") {
  char dir[] = "/tmp/brokedancer-config-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  auto path = std::string{dir} + "/huge.json";
  {
    std::ofstream out{path};
    out << "{\"log\": {\"level\": \"info\"}, \"x\": \"" << std::string(max_config_bytes, 'a')
        << "\"}";
  }
  try {
    read_config_file(path);
    FAIL("a file over the limit was read");
  } catch (const config_error& err) {
    CHECK_THAT(std::string{err.what()}, Contains("larger than 1024 KiB"));
  }
  std::remove(path.c_str());
  rmdir(dir);
}

TEST_CASE("a config nested deeper than the limit is refused") {
  std::string deep = R"({"log": )";
  for (int i = 0; i < 100; ++i)
    deep += "[";
  for (int i = 0; i < 100; ++i)
    deep += "]";
  deep += "}";
  CHECK_THAT(rejection(file(deep)), Contains("nested more than 16 levels"));
}

TEST_CASE("an empty Redis key or channel prefix is refused") {
  CHECK_THAT(rejection(file(R"({"state": {"key_prefix": ""}})")),
             Contains("$.state.key_prefix: must not be empty"));
  CHECK_THAT(rejection(embedded_default_config(), {{"BROKEDANCER_BUS_CHANNEL_PREFIX", ""}}),
             Contains("must not be empty"));
  CHECK_THAT(rejection(file(R"({"state": {"key_prefix": "a*"}})")), Contains("glob"));
}

TEST_CASE("orders may go to an http endpoint: it speaks the exchange API of brokedancer exchange") {
  auto config = load_config(file(R"({"risk": {"endpoint": "rest"},
    "resilience": {"endpoints": {"exchange": {"type": "simulated"},
                                 "rest": {"type": "http", "base_url": "http://127.0.0.1:1"}}}})"),
                            {});
  CHECK(config.risk.endpoint == "rest");
  CHECK_THAT(rejection(file(R"({"risk": {"endpoint": "nowhere"},
    "resilience": {"endpoints": {"exchange": {"type": "simulated"}}}})")),
             Contains("not among resilience.endpoints"));
}

TEST_CASE("orders may name other venues, each a declared endpoint, none a workflow may call") {
  const std::map<std::string, std::string> two_venues{
      {"BROKEDANCER_RESILIENCE_ENDPOINTS_VENUE_A_TYPE", "simulated"},
      {"BROKEDANCER_RESILIENCE_ENDPOINTS_VENUE_B_TYPE", "simulated"}};
  auto with = [&](std::map<std::string, std::string> more) {
    more.insert(two_venues.begin(), two_venues.end());
    return more;
  };
  auto config = load_config(embedded_default_config(),
                            with({{"BROKEDANCER_RISK_VENUES", "venue_a,venue_b"}}));
  CHECK(config.risk.venues == std::vector<std::string>{"venue_a", "venue_b"});
  CHECK(config.risk.endpoint == "exchange");
  CHECK_THAT(rejection(embedded_default_config(), with({{"BROKEDANCER_RISK_VENUES", "venue_c"}})),
             Contains("$.risk.venues")
                 && Contains("\"venue_c\" is not among resilience.endpoints"));
  CHECK_THAT(
      rejection(embedded_default_config(), with({{"BROKEDANCER_RISK_VENUES", "venue_a,venue_a"}})),
      Contains("$.risk.venues") && Contains("named twice"));
  CHECK_THAT(rejection(embedded_default_config(), with({{"BROKEDANCER_RISK_VENUES", "exchange"}})),
             Contains("$.risk.venues") && Contains("named twice"));
  // A venue takes orders: a workflow's http_request may not call it.
  CHECK_THAT(rejection(embedded_default_config(),
                       with({{"BROKEDANCER_RISK_VENUES", "venue_a"},
                             {"BROKEDANCER_WORKFLOWS_HTTP_ENDPOINTS", "venue_a"}})),
             Contains("$.workflows.http_endpoints") && Contains("an endpoint orders go to"));
}

TEST_CASE("a workflow's http_request may call only listed endpoints, never the orders' one") {
  auto config =
      load_config(embedded_default_config(),
                  {{"BROKEDANCER_RESILIENCE_ENDPOINTS_NOTIFIER_TYPE", "http"},
                   {"BROKEDANCER_RESILIENCE_ENDPOINTS_NOTIFIER_BASE_URL", "http://127.0.0.1:1"},
                   {"BROKEDANCER_WORKFLOWS_HTTP_ENDPOINTS", "notifier"}});
  CHECK(config.workflows.http_endpoints == std::vector<std::string>{"notifier"});
  CHECK_THAT(
      rejection(embedded_default_config(), {{"BROKEDANCER_WORKFLOWS_HTTP_ENDPOINTS", "exchange"}}),
      Contains("$.workflows.http_endpoints") && Contains("an endpoint orders go to"));
  CHECK_THAT(
      rejection(embedded_default_config(), {{"BROKEDANCER_WORKFLOWS_HTTP_ENDPOINTS", "nowhere"}}),
      Contains("not among resilience.endpoints"));
  // Another name for the server orders go to is refused too.
  CHECK_THAT(
      rejection(embedded_default_config(),
                {{"BROKEDANCER_RESILIENCE_ENDPOINTS_EXCHANGE_TYPE", "http"},
                 {"BROKEDANCER_RESILIENCE_ENDPOINTS_EXCHANGE_BASE_URL", "http://127.0.0.1:7300"},
                 {"BROKEDANCER_RESILIENCE_ENDPOINTS_ALIAS_TYPE", "http"},
                 {"BROKEDANCER_RESILIENCE_ENDPOINTS_ALIAS_BASE_URL", "http://127.0.0.1:7300/"},
                 {"BROKEDANCER_WORKFLOWS_HTTP_ENDPOINTS", "alias"}}),
      Contains("reaches the same server as exchange"));
  CHECK_THAT(
      rejection(embedded_default_config(), {{"BROKEDANCER_WORKFLOWS_HTTP_ENDPOINTS", "Bad Name"}}),
      Contains("endpoint names"));
}
