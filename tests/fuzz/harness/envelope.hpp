#pragma once

// A bus envelope, as anything that can PUBLISH on a Redis channel may send it. An accepted one
// is an event for the channel's topic whose payload is JSON within the limit, and it survives
// encode_envelope and decode_envelope unchanged.

#include <string>

#include <nlohmann/json.hpp>

#include "actors/bus/bus_envelope.hpp"
#include "tests/fuzz/harness/support.hpp"

namespace brokedancer::fuzz {

constexpr const char* envelope_topic = "trading.orders";
// Small, so that short inputs reach both sides of the limit.
constexpr size_t envelope_max_payload = 256;

inline bool same(const event& a, const event& b) {
  return a.topic == b.topic && a.json == b.json && a.correlation == b.correlation
         && a.published_at_us == b.published_at_us && a.source_node == b.source_node
         && a.sequence == b.sequence;
}

inline void envelope(std::string_view input) {
  std::string why;
  auto ev = decode_envelope(std::string(input), envelope_topic, envelope_max_payload, why);
  if (!ev) {
    expect(!why.empty(), "a refused envelope says why");
    return;
  }
  expect(ev->topic == envelope_topic, "an accepted envelope is for the channel's topic");
  expect(ev->json.size() <= envelope_max_payload && nlohmann::json::accept(ev->json),
         "an accepted envelope's payload is JSON within the limit");
  auto again = decode_envelope(encode_envelope(*ev), envelope_topic, envelope_max_payload, why);
  expect(again && same(*again, *ev), "an accepted envelope re-encodes to the same event");
}

} // namespace brokedancer::fuzz
