#include "actors/channels/redis_channels.hpp"

#include <chrono>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/bus/redis_subscriber.hpp"
#include "actors/redis/answering_broker.hpp"
#include "actors/redis/redis_link.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/bounded_buffer.hpp"
#include "core/json_fields.hpp"
#include "core/json_text.hpp"
#include "core/logging.hpp"
#include "core/unix_time.hpp"

namespace brokedancer {

namespace {

using resubscribe_atom = caf::atom_constant<caf::atom("ch_resub")>;

constexpr uint8_t publish_tag = 0;
constexpr uint8_t subscribe_tag = 1;
// Messages on their way to Redis in one batch; more wait in the buffer.
constexpr size_t max_in_flight = 256;
constexpr auto resubscribe_retry = std::chrono::seconds(1);
// Signals taken from other clients per second at most: anyone who reaches the Redis can publish
// on trading:signals, and each one taken goes to every subscribed bot.
constexpr uint32_t max_signals_per_second = 100;

// A message for a channel, ready to go.
struct outgoing {
  std::string channel;
  std::string text;
};

struct redis_channels_state {
  redis_channels_options options;
  event_bus_actor bus;
  std::unique_ptr<bounded_buffer<outgoing>> waiting;
  size_t in_flight = 0;
  bool subscriber_ready = false;
  int64_t signal_second = 0; // the second the count below is of
  uint32_t signals_this_second = 0;
  channel_status stats;
  logger log{"channels"};
  // Last: destroyed first, answering every open request while the rest of the state exists.
  std::optional<redis_subscriber> subscriber;
  std::optional<redis_link> link;
};

using self_pointer = answering_broker<redis_channels_state>*;

std::string channel_name(const redis_channels_state& st, channel_type type) {
  return st.options.channel_prefix + channel_of(type);
}

// ---- out: bus -> Redis

// One batch in flight at a time, in order: a batch the link could not deliver goes back in
// front, whole, and is sent again once the link is back.
void send_waiting(self_pointer self) {
  auto& st = self->state;
  if (st.in_flight > 0 || st.waiting->empty() || !st.link->accepting())
    return;
  auto batch = st.waiting->take(max_in_flight);
  std::vector<std::vector<std::string>> commands;
  commands.reserve(batch.size());
  for (const auto& message : batch)
    commands.push_back({"PUBLISH", message.channel, message.text});
  st.in_flight = batch.size();
  st.link->send(std::move(commands),
                [self, batch = std::move(batch)](redis_result& result) mutable {
                  auto& s = self->state;
                  s.in_flight = 0;
                  if (!result.ok) {
                    s.waiting->put_back(std::move(batch));
                    return;
                  }
                  s.stats.published += batch.size();
                  send_waiting(self);
                });
}

void go_out(self_pointer self, channel_type type, nlohmann::json data, int64_t at_us) {
  auto& st = self->state;
  channel_message message{type, st.options.node_name, at_us, std::move(data)};
  if (message.data.is_object())
    message.data["origin"] = "brokedancer";
  st.waiting->push({channel_name(st, type), encode_channel_message(message)});
  send_waiting(self);
}

void on_event(self_pointer self, const event& ev) {
  auto& st = self->state;
  // Each node's bridge carries its own node's events; a signal that came in from Redis is not
  // sent back there.
  if (ev.source_node != st.options.node_name)
    return;
  auto data = parse_json_within(ev.json);
  if (data.is_discarded())
    return;
  if (ev.topic == "emergency.level_changed") {
    if (data.is_object()) {
      data["type"] = "SYSTEM_EVENT";
      data["event"] = "level_changed";
    }
    go_out(self, channel_type::system_event, std::move(data), ev.published_at_us);
    return;
  }
  auto from_channel = data.is_object() ? data.find("from_channel") : data.end();
  if (from_channel != data.end() && from_channel->is_boolean() && from_channel->get<bool>())
    return;
  if (auto type = type_of(ev.topic, data))
    go_out(self, *type, std::move(data), ev.published_at_us);
}

// ---- in: Redis -> bus

void signal_in(self_pointer self, const pubsub_message& message) {
  auto& st = self->state;
  channel_message decoded;
  std::string why;
  if (!decode_channel_message(message.payload, decoded, why)
      || decoded.type != channel_type::trade_signal) {
    ++st.stats.rejected;
    st.log.debug("a message on the signals channel was not taken",
                 {{"why", why.empty() ? "not a TRADE_SIGNAL" : why}});
    return;
  }
  bool from_a_node = text_field(decoded.data, "origin") == "brokedancer";
  if (decoded.source == st.options.node_name || (from_a_node && st.options.bus_shared))
    return; // it is on the bus already
  auto second = now_us() / 1000000;
  if (second != st.signal_second) {
    st.signal_second = second;
    st.signals_this_second = 0;
  }
  if (++st.signals_this_second > max_signals_per_second) {
    ++st.stats.rejected;
    return;
  }
  auto data = std::move(decoded.data);
  data["type"] = "TRADE_SIGNAL";
  data["source"] = decoded.source;
  data["from_channel"] = true;
  ++st.stats.signals_in;
  caf::anon_send(st.bus, publish_atom::value, std::string{"trading.signals"}, dump_json(data),
                 correlation_id{});
}

// ---- the actor

// Each topic on its own: one that failed is asked again without doubling the other.
void subscribe_to_bus(self_pointer self, const std::string& topic) {
  auto& st = self->state;
  self->request(st.bus, std::chrono::seconds(5), subscribe_atom::value, topic,
                caf::actor_cast<caf::actor>(self))
      .then([](uint64_t) {},
            [self, topic](caf::error& err) {
              self->state.log.warn("could not subscribe to the bus; trying again",
                                   {{"topic", topic}, {"error", self->system().render(err)}});
              self->delayed_send(self, resubscribe_retry, resubscribe_atom::value, topic);
            });
}

channel_status status(self_pointer self) {
  auto& st = self->state;
  auto stats = st.stats;
  stats.available = st.link->connected() && st.subscriber_ready;
  stats.buffered = st.waiting->size();
  stats.dropped = st.waiting->dropped();
  return stats;
}

void link_changed(self_pointer self, bool up, const std::string& error) {
  auto& st = self->state;
  if (up) {
    st.stats.last_error.clear();
    send_waiting(self);
  } else {
    st.stats.last_error = error;
    st.log.warn("Redis is unreachable; channel messages wait (bounded) until it is back",
                {{"error", error}});
  }
}

caf::behavior redis_channels(self_pointer self, redis_channels_options options,
                             event_bus_actor bus) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.options = std::move(options);
  st.bus = std::move(bus);
  st.waiting = std::make_unique<bounded_buffer<outgoing>>(st.options.max_buffered);
  // A TRADE_SIGNAL is small; a client that sends megabytes is not sending one.
  st.options.connection.max_reply_bytes = 1024 * 1024;
  redis_link::events events;
  events.changed = [self](bool up, const std::string& error) {
    link_changed(self, up, error);
  };
  st.link.emplace(self, publish_tag, st.options.connection, redis_link::mode::replies,
                  std::move(events));
  redis_subscriber::events incoming;
  incoming.readiness = [self](bool ready, const std::string& error) {
    self->state.subscriber_ready = ready;
    if (!ready)
      self->state.stats.last_error = error;
  };
  incoming.confirmed = [](bool, const std::string&) {
  };
  incoming.message = [self](pubsub_message& message) {
    signal_in(self, message);
  };
  st.subscriber.emplace(
      self, subscribe_tag, st.options.connection,
      std::vector<pubsub_change>{{true, false, channel_name(st, channel_type::trade_signal)}},
      std::move(incoming));
  st.link->start();
  st.subscriber->start();
  subscribe_to_bus(self, "trading.*");
  subscribe_to_bus(self, "emergency.level_changed");
  return {
      [self](const event& ev) { on_event(self, ev); },
      [self](resubscribe_atom, const std::string& topic) { subscribe_to_bus(self, topic); },
      [self](status_atom) { return status(self); },
      [self](caf::io::new_data_msg& msg) {
        auto& s = self->state;
        if (!s.link->handle(msg))
          s.subscriber->handle(msg);
      },
      [self](caf::io::connection_closed_msg& msg) {
        auto& s = self->state;
        if (!s.link->handle(msg))
          s.subscriber->handle(msg);
      },
      [self](redis_tick_atom, uint8_t tag) {
        auto& s = self->state;
        if (!s.link->handle_tick(tag))
          s.subscriber->handle_tick(tag);
      },
  };
}

} // namespace

channel_bridge_actor spawn_redis_channels(caf::actor_system& sys, redis_channels_options options,
                                          event_bus_actor bus) {
  if (!sys.has_middleman())
    throw std::logic_error("the Redis channels need CAF's middleman: load caf::io::middleman in "
                           "the actor system's config");
  return caf::actor_cast<channel_bridge_actor>(
      sys.middleman().spawn_broker(redis_channels, std::move(options), std::move(bus)));
}

} // namespace brokedancer
