#include "actors/bus_envelope.hpp"

#include <nlohmann/json.hpp>

namespace brokedancer {

std::string encode_envelope(const event& ev) {
  nlohmann::json envelope{{"v", envelope_version},
                          {"topic", ev.topic},
                          {"source_node", ev.source_node},
                          {"sequence", ev.sequence},
                          {"published_at_us", ev.published_at_us},
                          {"correlation_id", ev.correlation},
                          {"payload", ev.json}};
  return envelope.dump();
}

namespace {

template <class Check>
bool field(const nlohmann::json& envelope, const char* name, Check check, std::string& why,
           const char* expected) {
  auto found = envelope.find(name);
  if (found == envelope.end()) {
    why = std::string{"the field \""} + name + "\" is missing";
    return false;
  }
  if (!check(*found)) {
    why = std::string{"the field \""} + name + "\" is not " + expected;
    return false;
  }
  return true;
}

} // namespace

std::optional<event> decode_envelope(const std::string& text, const std::string& topic,
                                     size_t max_payload_bytes, std::string& why) {
  auto envelope = nlohmann::json::parse(text, nullptr, false);
  if (envelope.is_discarded() || !envelope.is_object()) {
    why = "not a JSON object";
    return std::nullopt;
  }
  auto is_string = [](const nlohmann::json& j) {
    return j.is_string();
  };
  auto is_unsigned = [](const nlohmann::json& j) {
    return j.is_number_unsigned();
  };
  auto is_integer = [](const nlohmann::json& j) {
    return j.is_number_integer();
  };
  auto is_version = [](const nlohmann::json& j) {
    return j.is_number_integer() && j.get<int64_t>() == envelope_version;
  };
  if (!field(envelope, "v", is_version, why,
             ("envelope version " + std::to_string(envelope_version)).c_str())
      || !field(envelope, "topic", is_string, why, "a string")
      || !field(envelope, "source_node", is_string, why, "a string")
      || !field(envelope, "sequence", is_unsigned, why, "an unsigned integer")
      || !field(envelope, "published_at_us", is_integer, why, "an integer")
      || !field(envelope, "correlation_id", is_string, why, "a string")
      || !field(envelope, "payload", is_string, why, "a string holding JSON text"))
    return std::nullopt;
  event ev;
  ev.topic = envelope["topic"].get<std::string>();
  if (ev.topic != topic) {
    why = "it names the topic \"" + ev.topic + "\" but was published on \"" + topic + "\"";
    return std::nullopt;
  }
  ev.json = envelope["payload"].get<std::string>();
  if (ev.json.size() > max_payload_bytes) {
    why = "its payload of " + std::to_string(ev.json.size()) + " bytes is over the limit of "
          + std::to_string(max_payload_bytes) + " (bus.max_payload_bytes)";
    return std::nullopt;
  }
  if (!nlohmann::json::accept(ev.json)) {
    why = "its payload is not valid JSON";
    return std::nullopt;
  }
  ev.source_node = envelope["source_node"].get<std::string>();
  ev.sequence = envelope["sequence"].get<uint64_t>();
  ev.published_at_us = envelope["published_at_us"].get<int64_t>();
  ev.correlation = envelope["correlation_id"].get<std::string>();
  return ev;
}

} // namespace brokedancer
