#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/logging.hpp"
#include "core/secret_masker.hpp"

using namespace brokedancer;
using Catch::Matchers::Contains;

namespace {

struct temp_log {
  std::string path;
  temp_log() {
    char name[] = "/tmp/brokedancer-log-XXXXXX";
    int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    close(fd);
    path = name;
  }
  ~temp_log() {
    std::remove(path.c_str());
  }
  std::vector<std::string> lines() const {
    std::ifstream in(path);
    std::vector<std::string> result;
    for (std::string line; std::getline(in, line);)
      result.push_back(line);
    return result;
  }
};

} // namespace

TEST_CASE("json logs are one object per line with timestamp, level, logger, message and fields") {
  temp_log file;
  configure_logging({log_format::json, log_level::debug, file.path});
  logger log{"orders"};
  std::string id = "5f0c2a9e1b7d4c38";
  log.info("order accepted", {{"correlation_id", id}, {"symbol", "BTC-USD"}, {"qty", 3}});
  log.debug("detail");
  log.trace("below the level, not written");
  log.flush();
  auto lines = file.lines();
  REQUIRE(lines.size() == 2);
  auto first = nlohmann::json::parse(lines[0]);
  CHECK(first["level"] == "info");
  CHECK(first["logger"] == "orders");
  CHECK(first["message"] == "order accepted");
  CHECK(first["fields"]["correlation_id"] == id);
  CHECK(first["fields"]["qty"] == 3);
  auto ts = first["ts"].get<std::string>();
  CHECK(ts.size() == 27);
  CHECK(ts.back() == 'Z');
  CHECK(nlohmann::json::parse(lines[1])["fields"].empty());
}

TEST_CASE("secrets are masked in every format, in messages and in fields") {
  log_masker().add_secret("hunter2-registered");
  for (auto format : {log_format::json, log_format::console}) {
    temp_log file;
    configure_logging({format, log_level::info, file.path});
    logger log{"auth"};
    log.warn("login with hunter2-registered failed for redis://:urlpass@h:1/0",
             {{"password", "fieldpass"},
              {"note", "key hunter2-registered"},
              {"header", "Authorization: Bearer tok3n"}});
    log.flush();
    auto lines = file.lines();
    REQUIRE(lines.size() == 1);
    INFO(lines[0]);
    for (auto secret : {"hunter2-registered", "urlpass", "fieldpass", "tok3n"})
      CHECK_THAT(lines[0], !Contains(secret));
    CHECK_THAT(lines[0], Contains("***"));
  }
}

TEST_CASE("console logs are readable lines with the fields as key=value") {
  temp_log file;
  configure_logging({log_format::console, log_level::info, file.path});
  logger{"bus"}.info("subscriber removed", {{"subscriber", "bot-7"}, {"reason", "down now"}});
  logger{"bus"}.flush();
  auto lines = file.lines();
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0],
             Contains("info    [bus] subscriber removed reason=\"down now\" subscriber=bot-7"));
}

TEST_CASE("a log file that cannot be opened is reported, not ignored") {
  // spdlog creates missing directories, so make one impossible: its parent is a plain file.
  temp_log not_a_directory;
  auto path = not_a_directory.path + "/x.log";
  CHECK_THROWS_WITH(configure_logging({log_format::json, log_level::info, path}),
                    Contains("cannot open log file " + path));
}
