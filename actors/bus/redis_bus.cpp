#include "actors/bus/redis_bus.hpp"

#include <map>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/bus/bus_envelope.hpp"
#include "actors/bus/redis_subscriber.hpp"
#include "actors/redis/redis_requests.hpp"
#include "actors/supervision/owed_reply.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/glob.hpp"
#include "core/logging.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

namespace {

using flush_atom = caf::atom_constant<caf::atom("flush")>;

using redis_bus_actor =
    event_bus_actor::extend<caf::reacts_to<flush_atom>,
                            caf::reacts_to<std::vector<redis_job_result>>,
                            caf::reacts_to<connection_state_atom, bool, std::string>,
                            caf::reacts_to<std::vector<pubsub_message>>,
                            caf::reacts_to<pubsub_state_atom, bool, std::string>,
                            caf::reacts_to<pubsub_confirmed_atom, bool, std::string>>;

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
  caf::actor publisher;
  redis_subscriber subscriber;
  bool publisher_up = false;
  bool subscriber_ready = false;
  bool subscriber_was_ready = false; // every readiness after the first is a reconnection
  uint64_t reconnects = 0;
  std::string last_error = "not connected yet";
  uint64_t invalid_logged = 0;
  std::map<redis_name, redis_channel> channels;
  logger log{"event_bus"};
  redis_requests requests; // destroyed first, answering every open publish

  ~redis_bus_state() {
    subscriber.wake();
  }
};

using self_pointer = redis_bus_actor::stateful_pointer<redis_bus_state>;

bool accepting(const redis_bus_state& st) {
  return st.publisher_up && st.subscriber_ready;
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
    st.subscriber.change({false, name.first, name.second});
  }
}

uint64_t add_subscription(self_pointer self, std::string pattern, caf::actor subscriber) {
  auto& table = self->state.data->table;
  if (!table.has_subscriber(subscriber.address()))
    self->monitor(subscriber);
  return table.add(std::move(pattern), std::move(subscriber));
}

void submit(self_pointer self, redis_job job, redis_requests::completion done) {
  if (self->state.requests.add(std::move(job), std::move(done)))
    self->send(self, flush_atom::value);
}

// PUBLISHes the stamped events as one job; answers `rp` with the first one's sequence number.
void publish(self_pointer self, std::vector<event> events,
             caf::typed_response_promise<uint64_t> rp) {
  auto& st = self->state;
  redis_job job;
  for (const auto& ev : events)
    job.commands.push_back({"PUBLISH", st.options.channel_prefix + ev.topic, encode_envelope(ev)});
  auto first = events.front().sequence;
  auto count = events.size();
  // Touches only what it holds: it may run while the state is being destroyed.
  submit(self, std::move(job), [rp, first, count, data = st.data](redis_job_result& r) mutable {
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
  });
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
    st.subscriber.change({false, name.first, name.second});
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
    st.subscriber.change({true, name.first, name.second});
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

void flush(self_pointer self) {
  // A typed actor may send() only to typed actors; the connection is dynamically typed.
  caf::anon_send(self->state.publisher, self->state.requests.take_batch());
}

void publisher_changed(self_pointer self, bool up, const std::string& error) {
  auto& st = self->state;
  st.publisher_up = up;
  if (!up) {
    st.last_error = error;
    st.log.warn("lost the Redis connection for publishing; publish fails with "
                "bus_unavailable until it is back",
                {{"error", error}});
  }
}

void received(self_pointer self, std::vector<pubsub_message>& messages) {
  for (auto& message : messages)
    dispatch(self, message);
  self->state.subscriber.taken(messages.size());
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

void start(self_pointer self, std::shared_ptr<bus_data> data, redis_bus_options options) {
  auto& fresh = self->state;
  fresh.data = std::move(data);
  fresh.options = std::move(options);
  fresh.prefix_pattern = glob_escape(fresh.options.channel_prefix);
  fresh.delivery = std::make_unique<bus_delivery>(fresh.data, fresh.options.bus.max_backlog,
                                                  fresh.options.bus.max_backlog_bytes);
  fresh.delivery->adopt(self);
  // Both connections are linked: if one dies, so does the bus, and the supervisor starts a
  // fresh bus with fresh connections.
  fresh.publisher = spawn_redis_connection(self, fresh.options.connection);
  // Taking over from a crashed incarnation: subscribe in Redis to what the table holds, from
  // the subscriber's first connection on.
  std::vector<pubsub_change> initial;
  fresh.data->table.for_each([&](const subscription& sub) {
    auto name = name_in_redis(fresh, sub.pattern);
    if (fresh.channels[name].subscriptions++ == 0)
      initial.push_back({true, name.first, name.second});
  });
  fresh.subscriber = redis_subscriber::spawn(self, fresh.options.connection, std::move(initial));
  self->set_down_handler([self](caf::down_msg& down) {
    for (const auto& sub : forget_subscriber(*self->state.data, down, self->system()))
      release(self, name_in_redis(self->state, sub.pattern));
  });
}

// Whether Redis is reachable is tested in the three requests that need it, each after its own
// checks and with its own count of refusals: a second behaviour for the time Redis is away
// would repeat all handlers to save those three tests.
redis_bus_actor::behavior_type redis_bus(self_pointer self, std::shared_ptr<bus_data> data,
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
      [self](flush_atom) { flush(self); },
      [self](std::vector<redis_job_result>& results) { self->state.requests.complete(results); },
      [self](connection_state_atom, bool up, std::string& error) {
        publisher_changed(self, up, error);
      },
      [self](std::vector<pubsub_message>& messages) { received(self, messages); },
      [self](pubsub_state_atom, bool ready, std::string& error) {
        subscriber_changed(self, ready, error);
      },
      [self](pubsub_confirmed_atom, bool pattern, std::string& name) {
        confirmed(self, pattern, name);
      },
  };
}

} // namespace

event_bus_actor spawn_redis_bus(caf::actor_system& sys, std::shared_ptr<bus_data> data,
                                redis_bus_options options) {
  return caf::actor_cast<event_bus_actor>(
      sys.spawn(redis_bus, std::move(data), std::move(options)));
}

} // namespace brokedancer
