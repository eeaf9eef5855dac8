#include "actors/bus/redis_bus.hpp"

#include <map>
#include <optional>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/bus/bus_envelope.hpp"
#include "actors/bus/redis_subscriber.hpp"
#include "actors/redis/answering_broker.hpp"
#include "actors/redis/redis_link.hpp"
#include "actors/supervision/owed_reply.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/glob.hpp"
#include "core/logging.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

namespace {

// The tags of the bus's two connections, in their ticks.
constexpr uint8_t publisher_tag = 0;
constexpr uint8_t subscriber_tag = 1;

// A channel (SUBSCRIBE) or pattern (PSUBSCRIBE) as Redis knows it.
using redis_name = std::pair<bool, std::string>; // (is a pattern, name with the prefix)

struct waiting_subscription {
  std::string pattern;
  caf::actor subscriber;
  // Answered bus_unavailable if the bus dies before Redis confirms.
  owed_reply<uint64_t> promise;
};

// The local subscriptions behind one Redis subscription.
struct redis_channel {
  size_t subscriptions = 0;
  bool confirmed = false; // Redis confirmed it on the current connection
  // Subscribe requests answered once Redis confirms: from then on nothing is missed.
  std::vector<waiting_subscription> waiting;
};

struct redis_bus_state {
  std::shared_ptr<bus_data> data;
  redis_bus_options options;
  std::string prefix_pattern; // the channel prefix, glob-escaped
  std::unique_ptr<bus_delivery> delivery;
  bool subscriber_ready = false;
  bool subscriber_was_ready = false; // every readiness after the first is a reconnection
  uint64_t reconnects = 0;
  std::string last_error = "not connected yet";
  uint64_t invalid_logged = 0;
  std::map<redis_name, redis_channel> channels;
  logger log{"event_bus"};
  // Last: destroyed first, the publisher answering every open publish. The bus is a broker, so
  // that both connections are driven by the multiplexer (actors/redis/redis_link.hpp): it is
  // dynamically typed, answers exactly the event_bus_actor interface and is handed out as one.
  std::optional<redis_subscriber> subscriber;
  std::optional<redis_link> publisher;
};

using self_pointer = answering_broker<redis_bus_state>*;

bool accepting(const redis_bus_state& st) {
  return st.publisher->accepting() && st.subscriber_ready;
}

caf::error unavailable(const redis_bus_state& st) {
  return make_error(errc::bus_unavailable, "Redis is not reachable (" + st.last_error
                                               + "); nothing was published or subscribed");
}

redis_name name_in_redis(const redis_bus_state& st, const std::string& pattern) {
  if (subscription_table::is_pattern(pattern))
    return {true, st.prefix_pattern + pattern};
  // The table files an exact topic with its escapes resolved; so does the channel.
  return {false, st.options.channel_prefix + subscription_table::literal_prefix(pattern)};
}

void release(self_pointer self, const redis_name& name) {
  auto& st = self->state;
  auto found = st.channels.find(name);
  if (found == st.channels.end())
    return;
  auto& channel = found->second;
  if (channel.subscriptions > 0)
    --channel.subscriptions;
  if (channel.subscriptions == 0 && channel.waiting.empty()) {
    st.channels.erase(found);
    st.subscriber->change({false, name.first, name.second});
  }
}

uint64_t add_subscription(self_pointer self, std::string pattern, caf::actor subscriber) {
  auto& table = self->state.data->table;
  if (!table.has_subscriber(subscriber.address()))
    self->monitor(subscriber);
  return table.add(std::move(pattern), std::move(subscriber));
}

// PUBLISHes the stamped events as one job; answers `rp` with the first one's sequence number.
void publish(self_pointer self, std::vector<event> events,
             caf::typed_response_promise<uint64_t> rp) {
  auto& st = self->state;
  std::vector<std::vector<std::string>> commands;
  commands.reserve(events.size());
  for (const auto& ev : events)
    commands.push_back({"PUBLISH", st.options.channel_prefix + ev.topic, encode_envelope(ev)});
  auto first = events.front().sequence;
  auto count = events.size();
  // Touches only what it holds: it may run while the state is being destroyed.
  auto done = [rp, first, count, data = st.data](redis_result& r) mutable {
    bool taken = r.ok;
    for (const auto& reply : r.replies)
      taken = taken && reply.type == redis_reply::kind::integer;
    if (taken) {
      data->published += count;
      rp.deliver(first);
      return;
    }
    data->refused += count;
    auto why = r.ok ? std::string{"Redis refused the PUBLISH"} : r.error;
    rp.deliver(make_error(errc::bus_unavailable,
                          why
                              + "; Redis did not confirm the event, which may or may not "
                                "have been delivered"));
  };
  st.publisher->send(std::move(commands), std::move(done));
}

void dispatch(self_pointer self, pubsub_message& message) {
  auto& st = self->state;
  auto& prefix = st.options.channel_prefix;
  if (message.channel.compare(0, prefix.size(), prefix) != 0)
    return; // not ours: a pattern can match beyond the prefix only if misconfigured
  auto topic = message.channel.substr(prefix.size());
  std::string why;
  auto ev = decode_envelope(message.payload, topic, st.options.bus.max_payload_bytes, why);
  if (!ev) {
    // Any Redis client can PUBLISH on our channels. Say so, but not for every message.
    if (st.invalid_logged++ % 1000 == 0)
      st.log.warn("a message on an event channel is not a valid event; it was not delivered",
                  {{"topic", topic}, {"problem", why}, {"rejected_so_far", st.invalid_logged}});
    ++st.data->rejected;
    return;
  }
  ++st.data->received;
  auto bytes = ev->topic.size() + ev->json.size();
  auto shared = caf::make_message(std::move(*ev));
  auto deliver = [&](subscription& sub) {
    st.delivery->deliver(self, sub, shared, bytes);
  };
  if (message.pattern.empty()) {
    st.data->table.for_each_exact(topic, deliver);
  } else if (message.pattern.compare(0, st.prefix_pattern.size(), st.prefix_pattern) == 0) {
    st.data->table.for_each_of_pattern(message.pattern.substr(st.prefix_pattern.size()), deliver);
  }
}

void subscriber_lost(self_pointer self, const std::string& error) {
  auto& st = self->state;
  st.subscriber_ready = false;
  st.last_error = error;
  st.log.warn("lost the Redis pub/sub connection; publish and subscribe fail with "
              "bus_unavailable until it is back",
              {{"error", error}});
  std::vector<redis_name> unused;
  for (auto& [name, channel] : st.channels) {
    channel.confirmed = false;
    for (auto& waiting : channel.waiting)
      waiting.promise.deliver(unavailable(st));
    channel.waiting.clear();
    if (channel.subscriptions == 0)
      unused.push_back(name);
  }
  for (const auto& name : unused) {
    st.channels.erase(name);
    st.subscriber->change({false, name.first, name.second});
  }
}

// ---- Requests --------------------------------------------------------------------------------

caf::result<uint64_t> publish_one(self_pointer self, std::string& topic, std::string& json,
                                  correlation_id& correlation) {
  auto& st = self->state;
  if (auto err = check_event(st.options.bus, topic, json))
    return err;
  if (!accepting(st)) {
    ++st.data->refused;
    return unavailable(st);
  }
  auto rp = self->make_response_promise<uint64_t>();
  std::vector<event> events;
  events.push_back(
      stamp(*st.data, st.options.bus, std::move(topic), std::move(json), std::move(correlation)));
  publish(self, std::move(events), rp);
  return rp;
}

caf::result<uint64_t> publish_batch(self_pointer self, std::vector<event_draft>& drafts) {
  auto& st = self->state;
  // All or nothing, as in the memory bus: one bad event refuses the batch.
  for (const auto& draft : drafts)
    if (auto err = check_event(st.options.bus, draft.topic, draft.json))
      return err;
  if (drafts.empty())
    return st.data->next_sequence;
  if (!accepting(st)) {
    st.data->refused += drafts.size();
    return unavailable(st);
  }
  std::vector<event> events;
  events.reserve(drafts.size());
  for (auto& draft : drafts)
    events.push_back(stamp(*st.data, st.options.bus, std::move(draft.topic), std::move(draft.json),
                           std::move(draft.correlation)));
  auto rp = self->make_response_promise<uint64_t>();
  publish(self, std::move(events), rp);
  return rp;
}

caf::result<uint64_t> subscribe(self_pointer self, std::string& pattern, caf::actor& subscriber) {
  auto& st = self->state;
  if (auto err = check_subscription(pattern, subscriber))
    return err;
  if (!accepting(st))
    return unavailable(st);
  auto name = name_in_redis(st, pattern);
  auto& channel = st.channels[name];
  if (channel.confirmed) {
    ++channel.subscriptions;
    return add_subscription(self, std::move(pattern), std::move(subscriber));
  }
  auto rp = self->make_response_promise<uint64_t>();
  channel.waiting.push_back({std::move(pattern), std::move(subscriber),
                             owed_reply<uint64_t>{rp, errc::bus_unavailable,
                                                  "the event bus stopped before Redis confirmed"}});
  if (channel.subscriptions == 0 && channel.waiting.size() == 1)
    st.subscriber->change({true, name.first, name.second});
  return rp;
}

bool unsubscribe(self_pointer self, uint64_t id) {
  auto& table = self->state.data->table;
  auto* sub = table.find(id);
  if (!sub)
    return false;
  auto subscriber = sub->subscriber;
  auto name = name_in_redis(self->state, sub->pattern);
  table.remove(id);
  if (!table.has_subscriber(subscriber.address()))
    self->demonitor(subscriber);
  release(self, name);
  return true;
}

bus_stats status(self_pointer self) {
  const auto& st = self->state;
  auto stats = snapshot(*st.data, "redis");
  stats.connected = accepting(st);
  stats.reconnects = st.reconnects;
  if (!stats.connected)
    stats.last_error = st.last_error;
  return stats;
}

// ---- The connections -------------------------------------------------------------------------

void publisher_changed(self_pointer self, bool up, const std::string& error) {
  auto& st = self->state;
  if (!up) {
    st.last_error = error;
    st.log.warn("lost the Redis connection for publishing; publish fails with "
                "bus_unavailable until it is back",
                {{"error", error}});
  }
}

void subscriber_changed(self_pointer self, bool ready, const std::string& error) {
  auto& st = self->state;
  if (!ready) {
    subscriber_lost(self, error);
    return;
  }
  st.subscriber_ready = true;
  if (st.subscriber_was_ready)
    ++st.reconnects;
  st.subscriber_was_ready = true;
  const auto& endpoint = st.options.connection.endpoint;
  st.log.info("subscribed through Redis", {{"host", endpoint.host},
                                           {"port", endpoint.port},
                                           {"channels", st.channels.size()},
                                           {"channel_prefix", st.options.channel_prefix}});
}

// Redis confirmed a subscription: the requests waiting for it are made and answered.
void confirmed(self_pointer self, bool pattern, const std::string& name) {
  auto& st = self->state;
  auto found = st.channels.find({pattern, name});
  if (found == st.channels.end())
    return;
  auto& channel = found->second;
  channel.confirmed = true;
  auto waiting = std::move(channel.waiting);
  channel.waiting.clear();
  for (auto& w : waiting) {
    ++channel.subscriptions;
    w.promise.deliver(add_subscription(self, std::move(w.pattern), std::move(w.subscriber)));
  }
}

// The multiplexer's news goes to whichever connection it is about.
void on_data(self_pointer self, caf::io::new_data_msg& msg) {
  auto& st = self->state;
  if (!st.publisher->handle(msg))
    st.subscriber->handle(msg);
}

void on_closed(self_pointer self, caf::io::connection_closed_msg& msg) {
  auto& st = self->state;
  if (!st.publisher->handle(msg))
    st.subscriber->handle(msg);
}

void on_tick(self_pointer self, uint8_t tag) {
  auto& st = self->state;
  if (!st.publisher->handle_tick(tag))
    st.subscriber->handle_tick(tag);
}

void start(self_pointer self, std::shared_ptr<bus_data> data, redis_bus_options options) {
  auto& fresh = self->state;
  fresh.data = std::move(data);
  fresh.options = std::move(options);
  fresh.prefix_pattern = glob_escape(fresh.options.channel_prefix);
  fresh.options.connection.max_reply_bytes =
      reply_cap(fresh.options.connection, fresh.options.bus.max_payload_bytes);
  fresh.delivery = std::make_unique<bus_delivery>(fresh.data, fresh.options.bus.max_backlog,
                                                  fresh.options.bus.max_backlog_bytes);
  fresh.delivery->adopt(self);
  redis_link::events publishing;
  publishing.changed = [self](bool up, const std::string& error) {
    publisher_changed(self, up, error);
  };
  fresh.publisher.emplace(self, publisher_tag, fresh.options.connection, redis_link::mode::replies,
                          std::move(publishing));
  // Nothing is held for later: an event published while the connection is being made again is
  // refused, as while Redis is away.
  fresh.publisher->refuse_while_redialing();
  // Taking over from a crashed incarnation: subscribe in Redis to what the table holds, from
  // the subscriber's first connection on.
  std::vector<pubsub_change> initial;
  fresh.data->table.for_each([&](const subscription& sub) {
    auto name = name_in_redis(fresh, sub.pattern);
    if (fresh.channels[name].subscriptions++ == 0)
      initial.push_back({true, name.first, name.second});
  });
  redis_subscriber::events subscribing;
  subscribing.readiness = [self](bool ready, const std::string& error) {
    subscriber_changed(self, ready, error);
  };
  subscribing.confirmed = [self](bool pattern, const std::string& name) {
    confirmed(self, pattern, name);
  };
  subscribing.message = [self](pubsub_message& message) {
    dispatch(self, message);
  };
  fresh.subscriber.emplace(self, subscriber_tag, fresh.options.connection, initial,
                           std::move(subscribing));
  fresh.publisher->start();
  fresh.subscriber->start();
  self->set_down_handler([self](caf::down_msg& down) {
    for (const auto& sub : forget_subscriber(*self->state.data, down, self->system()))
      release(self, name_in_redis(self->state, sub.pattern));
  });
}

// Whether Redis is reachable is tested in the three requests that need it, each after its own
// checks and with its own count of refusals: a second behaviour for the time Redis is away
// would repeat all handlers to save those three tests.
caf::behavior redis_bus(self_pointer self, std::shared_ptr<bus_data> data,
                        redis_bus_options options) {
  exit_with_exception_text(self);
  start(self, std::move(data), std::move(options));
  return {
      [self](publish_atom, std::string& topic, std::string& json, correlation_id& correlation) {
        return publish_one(self, topic, json, correlation);
      },
      [self](publish_batch_atom, std::vector<event_draft>& drafts) {
        return publish_batch(self, drafts);
      },
      [self](subscribe_atom, std::string& pattern, caf::actor& subscriber) {
        return subscribe(self, pattern, subscriber);
      },
      [self](unsubscribe_atom, uint64_t id) { return unsubscribe(self, id); },
      [self](status_atom) { return status(self); },
      [self](caf::io::new_data_msg& msg) { on_data(self, msg); },
      [self](caf::io::connection_closed_msg& msg) { on_closed(self, msg); },
      [self](redis_tick_atom, uint8_t tag) { on_tick(self, tag); },
  };
}

} // namespace

event_bus_actor spawn_redis_bus(caf::actor_system& sys, std::shared_ptr<bus_data> data,
                                redis_bus_options options) {
  if (!sys.has_middleman())
    throw std::logic_error("the Redis event bus needs CAF's middleman: load caf::io::middleman "
                           "in the actor system's config");
  return caf::actor_cast<event_bus_actor>(
      sys.middleman().spawn_broker(redis_bus, std::move(data), std::move(options)));
}

} // namespace brokedancer
