#pragma once

// The standard trading channels: what the runtime says about orders, positions, risk and itself,
// and the signals strategies trade on, as typed JSON messages any client can read. Inside a node
// they travel on the bus (topic trading.<name>); the channel bridge (actors/channels) also
// publishes them on Redis pub/sub as trading:<name>, where `redis-cli SUBSCRIBE trading:orders`
// shows them, and takes TRADE_SIGNALs other clients publish on trading:signals.
//
//   channel            bus topic            message types
//   trading:signals    trading.signals      TRADE_SIGNAL
//   trading:orders     trading.orders       ORDER_UPDATE
//   trading:positions  trading.positions    POSITION_UPDATE
//   trading:alerts     trading.alerts       PRICE_ALERT, RISK_ALERT
//   trading:system     trading.system       SYSTEM_EVENT, HEARTBEAT
//
// Every message on a channel is one JSON object:
//   {"type": "ORDER_UPDATE", "channel": "trading:orders", "source": "<node>",
//    "timestamp": "2026-12-01T17:36:53.123456Z", "at_us": 1796146613123456, "data": {...}}
// The bus event's payload is the `data` object itself; the README lists each type's fields.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <nlohmann/json.hpp>

#include "messages/atoms.hpp"

namespace brokedancer {

enum class channel_type : uint8_t {
  trade_signal,
  order_update,
  position_update,
  price_alert,
  risk_alert,
  system_event,
  heartbeat,
};

// "TRADE_SIGNAL", "ORDER_UPDATE", ...
std::string to_string(channel_type type);
bool from_string(const std::string& text, channel_type& type);

// The channel a type goes on ("trading:orders") and its bus topic ("trading.orders").
std::string channel_of(channel_type type);
std::string topic_of(channel_type type);

// The type of a bus event's payload on a standard topic: its "type" field when it names one
// that belongs to the topic, else the topic's only type (orders, positions, signals); nullopt
// when it cannot be told (an alert or system event without a valid "type").
std::optional<channel_type> type_of(const std::string& topic, const nlohmann::json& data);

struct channel_message {
  channel_type type = channel_type::system_event;
  std::string source; // the node (or client) that published it
  int64_t at_us = 0;
  nlohmann::json data; // an object
};

// The wire form above.
std::string encode_channel_message(const channel_message& message);
// False, with `why`, unless `text` is such an object of a known type on the right channel with
// a data object that type_check() takes.
bool decode_channel_message(const std::string& text, channel_message& message, std::string& why);

// Why a message's data is not of its type (empty when it is). Only TRADE_SIGNAL is checked
// field by field (it is what the runtime takes from outside): a symbol, a signal of BUY, SELL,
// HOLD or CLOSE, a confidence between 0 and 1; every other type needs an object.
std::string type_check(channel_type type, const nlohmann::json& data);

// The data of a TRADE_SIGNAL from a bus event's text, or a discarded value when the text is not
// JSON (within the depth bound) or not a signal type_check() takes: the channel takes signals
// from any client.
nlohmann::json checked_trade_signal(std::string_view text);

// The data of a TRADE_SIGNAL.
nlohmann::json trade_signal(const std::string& symbol, const std::string& signal,
                            double confidence);

// ISO-8601 UTC with microseconds: 2026-12-01T17:36:53.123456Z.
std::string iso8601_utc(int64_t at_us);

// Whether one of the node's services can serve now, as the channel bridge last asked it.
struct service_health {
  std::string name; // state_store, event_bus, rate_limiter, market_stream, time_series, ...
  bool available = false;
  std::string error; // why not, when it says
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_health& x) {
  return f(caf::meta::type_name("service_health"), x.name, x.available, x.error);
}

// The system watch: each service's health, asked every second; a change is a SYSTEM_EVENT
// (service_unavailable / service_available) on trading.system, and every heartbeat_s a HEARTBEAT
// carries them all.
struct watch_status {
  uint64_t heartbeats = 0;
  std::vector<service_health> services;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, watch_status& x) {
  return f(caf::meta::type_name("watch_status"), x.heartbeats, x.services);
}

using system_watch_actor = caf::typed_actor<caf::replies_to<status_atom>::with<watch_status>>;

// The Redis channel bridge: the bus's trading.* events of this node out to the trading:*
// channels, and the TRADE_SIGNALs of other clients in.
struct channel_status {
  bool available = false;  // both its connections are up
  uint64_t published = 0;  // messages published on Redis channels
  uint64_t buffered = 0;   // waiting for Redis (while it is away)
  uint64_t dropped = 0;    // let go of by the bounded buffer while it was away
  uint64_t signals_in = 0; // TRADE_SIGNALs taken from other clients onto the bus
  uint64_t rejected = 0;   // messages from other clients that were not valid TRADE_SIGNALs
  std::string last_error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, channel_status& x) {
  return f(caf::meta::type_name("channel_status"), x.available, x.published, x.buffered, x.dropped,
           x.signals_in, x.rejected, x.last_error);
}

using channel_bridge_actor = caf::typed_actor<caf::replies_to<status_atom>::with<channel_status>>;

} // namespace brokedancer
