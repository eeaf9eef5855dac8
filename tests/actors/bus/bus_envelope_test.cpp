#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "actors/bus/bus_envelope.hpp"

using namespace brokedancer;

namespace {

event sample_event() {
  event ev;
  ev.topic = "trading.orders";
  ev.json = "{\"id\": 7,\n \"note\": \"quote \\\" and ünïcode\"}";
  ev.correlation = "c0ffee00c0ffee00";
  ev.published_at_us = 1795000000000000;
  ev.source_node = "node-a";
  ev.sequence = 42;
  return ev;
}

} // namespace

TEST_CASE("an envelope carries every field of an event and the payload byte for byte",
          "[bus][envelope]") {
  auto original = sample_event();
  std::string why;
  auto decoded = decode_envelope(encode_envelope(original), "trading.orders", 1 << 20, why);
  REQUIRE(decoded);
  CHECK(decoded->topic == original.topic);
  CHECK(decoded->json == original.json);
  CHECK(decoded->correlation == original.correlation);
  CHECK(decoded->published_at_us == original.published_at_us);
  CHECK(decoded->source_node == original.source_node);
  CHECK(decoded->sequence == original.sequence);
}

TEST_CASE("an envelope that is not a valid event says what is wrong", "[bus][envelope]") {
  auto good = nlohmann::json::parse(encode_envelope(sample_event()));
  auto rejects = [](const nlohmann::json& envelope, const std::string& expected,
                    const std::string& topic = "trading.orders", size_t limit = 1 << 20) {
    std::string why;
    auto decoded = decode_envelope(envelope.dump(), topic, limit, why);
    CHECK_FALSE(decoded);
    CHECK_THAT(why, Catch::Matchers::Contains(expected));
  };
  for (auto field :
       {"v", "topic", "source_node", "sequence", "published_at_us", "correlation_id", "payload"}) {
    auto missing = good;
    missing.erase(field);
    rejects(missing, std::string{"\""} + field + "\" is missing");
  }
  auto wrong = good;
  wrong["v"] = 2;
  rejects(wrong, "\"v\" is not envelope version 1");
  wrong = good;
  wrong["sequence"] = -1;
  rejects(wrong, "\"sequence\" is not an unsigned integer");
  wrong = good;
  wrong["payload"] = nlohmann::json::object();
  rejects(wrong, "\"payload\" is not a string");
  wrong = good;
  wrong["payload"] = "{oops";
  rejects(wrong, "not valid JSON");
  // Another Redis client's event nested past the bound never reaches a subscriber.
  wrong["payload"] = std::string(1000, '[') + std::string(1000, ']');
  rejects(wrong, "its payload nests containers deeper than 64 levels");
  rejects(good, "over the limit", "trading.orders", 8);
  rejects(good, "published on \"trading.other\"", "trading.other");
  std::string why;
  CHECK_FALSE(decode_envelope("[1,2]", "t", 100, why));
  CHECK(why == "not a JSON object");
  CHECK_FALSE(decode_envelope("{not json", "t", 100, why));
}
