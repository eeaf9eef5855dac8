#pragma once

// How an event travels through Redis: one JSON object per PUBLISH,
//
//   {"v":1,"topic":"trading.orders","source_node":"node-a","sequence":42,
//    "published_at_us":1795000000000000,"correlation_id":"c0ffee00c0ffee00",
//    "payload":"{\"id\": 7}"}
//
// The payload travels as a JSON string holding the publisher's JSON text, so that subscribers
// on every node receive exactly the text that was published, byte for byte. Anything may
// arrive on a channel (any Redis client can PUBLISH), so decoding checks every field.

#include <optional>
#include <string>

#include "messages/event_bus.hpp"

namespace brokedancer {

constexpr int envelope_version = 1;

std::string encode_envelope(const event& ev);

// The event in `text`, which arrived for `topic`; nullopt with `why` set when `text` is not a
// valid envelope for that topic, or its payload is over `max_payload_bytes` or not JSON.
std::optional<event> decode_envelope(const std::string& text, const std::string& topic,
                                     size_t max_payload_bytes, std::string& why);

} // namespace brokedancer
