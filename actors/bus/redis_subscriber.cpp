#include "actors/bus/redis_subscriber.hpp"

namespace brokedancer {

namespace {

// Names per SUBSCRIBE command when resubscribing many at once.
constexpr size_t names_per_command = 512;

redis_link::events link_events(redis_subscriber* subscriber,
                               void (redis_subscriber::*changed)(bool, const std::string&),
                               void (redis_subscriber::*received)(std::vector<redis_reply>&)) {
  redis_link::events events;
  events.changed = [=](bool up, const std::string& error) {
    (subscriber->*changed)(up, error);
  };
  events.pushed = [=](std::vector<redis_reply>& replies) {
    (subscriber->*received)(replies);
  };
  return events;
}

} // namespace

redis_subscriber::redis_subscriber(caf::io::broker* owner, uint8_t tag,
                                   redis_connection_options options,
                                   const std::vector<pubsub_change>& initial, events callbacks)
  : events_(std::move(callbacks)),
    link_(owner, tag, std::move(options), redis_link::mode::pushes,
          link_events(this, &redis_subscriber::connection_changed, &redis_subscriber::received)) {
  for (const auto& change : initial)
    (change.pattern ? patterns_ : channels_).insert(change.name);
}

void redis_subscriber::connection_changed(bool up, const std::string& error) {
  if (!up) {
    announce(false, error);
    return;
  }
  awaiting_.clear();
  for (const auto& name : channels_)
    awaiting_.emplace(false, name);
  for (const auto& name : patterns_)
    awaiting_.emplace(true, name);
  send_all("SUBSCRIBE", channels_);
  send_all("PSUBSCRIBE", patterns_);
  if (awaiting_.empty())
    announce(true);
}

void redis_subscriber::send_all(const char* command, const name_set& names) {
  std::vector<std::string> args{command};
  for (const auto& name : names) {
    args.push_back(name);
    if (args.size() > names_per_command) {
      link_.send(args);
      args.resize(1);
    }
  }
  if (args.size() > 1)
    link_.send(args);
}

void redis_subscriber::change(const pubsub_change& request) {
  auto& names = request.pattern ? patterns_ : channels_;
  const char* command = nullptr;
  if (request.subscribe) {
    if (!names.insert(request.name).second)
      return;
    command = request.pattern ? "PSUBSCRIBE" : "SUBSCRIBE";
    if (!announced_.value_or(false))
      awaiting_.emplace(request.pattern, request.name);
  } else {
    if (names.erase(request.name) == 0)
      return;
    command = request.pattern ? "PUNSUBSCRIBE" : "UNSUBSCRIBE";
    awaiting_.erase({request.pattern, request.name});
    if (link_.connected() && awaiting_.empty())
      announce(true);
  }
  // While down, nothing is sent: everything is subscribed again on the next connection.
  link_.send({command, request.name});
}

void redis_subscriber::received(std::vector<redis_reply>& replies) {
  for (auto& reply : replies) {
    if (!link_.connected())
      return; // a refused subscription dropped the connection: the rest is stale
    handle_reply(reply);
  }
}

void redis_subscriber::handle_reply(redis_reply& reply) {
  if (reply.type == redis_reply::kind::error) {
    link_.fail("Redis refused a subscription command: " + reply_excerpt(reply.text));
    return;
  }
  if (reply.type != redis_reply::kind::array || reply.elements.empty())
    return; // +PONG, answering a PING sent before there was any subscription
  auto& e = reply.elements;
  const auto& kind = e[0].text;
  if (kind == "message" && e.size() == 3) {
    pubsub_message message{{}, std::move(e[1].text), std::move(e[2].text)};
    events_.message(message);
  } else if (kind == "pmessage" && e.size() == 4) {
    pubsub_message message{std::move(e[1].text), std::move(e[2].text), std::move(e[3].text)};
    events_.message(message);
  } else if ((kind == "subscribe" || kind == "psubscribe") && e.size() == 3) {
    bool pattern = kind == "psubscribe";
    auto& name = e[1].text;
    events_.confirmed(pattern, name);
    if (awaiting_.erase({pattern, name}) > 0 && awaiting_.empty())
      announce(true);
  }
  // unsubscribe, punsubscribe and pong need nothing.
}

void redis_subscriber::announce(bool ready, const std::string& error) {
  if (ready && !link_.connected())
    return;
  if (announced_ == ready)
    return;
  announced_ = ready;
  events_.readiness(ready, error);
}

} // namespace brokedancer
