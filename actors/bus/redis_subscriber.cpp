#include "actors/bus/redis_subscriber.hpp"

#include <atomic>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <random>
#include <set>
#include <system_error>
#include <utility>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <caf/after.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/local_actor.hpp>
#include <caf/send.hpp>

#include "actors/redis/redis_context.hpp"
#include "core/logging.hpp"

namespace brokedancer {

struct redis_subscriber::wakeup {
  int fd;
  // Messages the owner has taken (redis_subscriber::taken): with those sent, the intake's
  // backlog, which the loop keeps under max_in_flight by pausing its reads.
  std::atomic<uint64_t> taken{0};

  wakeup() : fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd < 0)
      throw std::system_error(errno, std::generic_category(), "eventfd for the Redis subscriber");
  }
  ~wakeup() {
    ::close(fd);
  }
  wakeup(const wakeup&) = delete;
  wakeup& operator=(const wakeup&) = delete;

  void poke() const {
    uint64_t one = 1;
    // EAGAIN means the counter is already nonzero: the reader will wake anyway.
    [[maybe_unused]] auto written = ::write(fd, &one, sizeof one);
  }
  void drain() const {
    uint64_t count = 0;
    [[maybe_unused]] auto got = ::read(fd, &count, sizeof count);
  }
};

namespace {

using clock = std::chrono::steady_clock;

// With no traffic for this long the connection is checked with a PING; a connection that a
// network fault left half-open would otherwise lose every event without a sign.
constexpr auto ping_interval = std::chrono::seconds(2);
// How often the mailbox is looked at when nothing pokes (an exit message does not).
constexpr int idle_poll_ms = 100;
// Messages handed to the owner and not yet taken, beyond which the loop stops reading the socket
// (and does not take the quiet for a dead connection). Redis then holds what follows, and past
// its client-output-buffer-limit for pub/sub drops the connection, which is reconnected once the
// owner caught up: pub/sub may lose messages, this process's memory does not grow without bound.
constexpr uint64_t max_in_flight = 20000;
// Names per SUBSCRIBE command when resubscribing many at once.
constexpr size_t names_per_command = 512;

using name_set = std::set<std::string>;

class subscriber_loop {
public:
  subscriber_loop(caf::blocking_actor* self, redis_connection_options options, caf::actor owner,
                  std::shared_ptr<redis_subscriber::wakeup> wake,
                  const std::vector<pubsub_change>& initial)
    : self_(self), options_(options), owner_(std::move(owner)), wake_(std::move(wake)),
      conn_(std::move(options)), random_(std::random_device{}()) {
    for (const auto& change : initial)
      (change.pattern ? patterns_ : channels_).insert(change.name);
  }

  void run() {
    while (running_) {
      if (!conn_.connected()) {
        if (connect())
          continue;
        announce(false);
        wait_before_reconnecting();
        continue;
      }
      serve_once();
    }
  }

private:
  bool connect() {
    // Pub/sub channels are not per database: no SELECT.
    if (!conn_.connect(false))
      return false;
    awaiting_.clear();
    for (const auto& name : channels_)
      awaiting_.emplace(false, name);
    for (const auto& name : patterns_)
      awaiting_.emplace(true, name);
    if (!send_all("SUBSCRIBE", channels_) || !send_all("PSUBSCRIBE", patterns_))
      return false;
    last_traffic_ = clock::now();
    ping_sent_.reset();
    if (awaiting_.empty())
      announce(true);
    return true;
  }

  bool send_all(const char* command, const name_set& names) {
    std::vector<std::string> args{command};
    for (const auto& name : names) {
      args.push_back(name);
      if (args.size() > names_per_command) {
        if (!conn_.send(args))
          return false;
        args.resize(1);
      }
    }
    return args.size() == 1 || conn_.send(args);
  }

  void wait_before_reconnecting() {
    auto wake = clock::now() + reconnect_delay(options_, failed_attempts_++, random_);
    // On the mailbox, not in sleep: changes and an exit message are taken meanwhile.
    while (running_ && clock::now() < wake) {
      self_->receive(
          [&](pubsub_change& request) { apply(request); }, on_exit(),
          caf::after(std::chrono::duration_cast<std::chrono::milliseconds>(wake - clock::now())) >>
              [] {});
    }
    wake_->drain();
  }

  void serve_once() {
    bool paused = sent_ - wake_->taken.load() >= max_in_flight;
    if (paused && !pause_reported_) {
      pause_reported_ = true;
      log_.warn("the event bus is behind; reading from Redis pauses until it catches up",
                {{"in_flight", sent_ - wake_->taken.load()}});
    }
    pause_reported_ = paused;
    pollfd fds[2] = {{conn_.fd(), static_cast<short>(paused ? 0 : POLLIN), 0},
                     {wake_->fd, POLLIN, 0}};
    auto ready = ::poll(fds, 2, idle_poll_ms);
    if (ready < 0 && errno != EINTR) {
      conn_.fail("poll on the Redis connection failed: " + std::string(std::strerror(errno)));
      announce(false);
      return;
    }
    // The mailbox every pass, not only when poked: an exit message pokes nobody, and a busy
    // socket would otherwise keep a dead owner's connection alive.
    if ((fds[1].revents & POLLIN) != 0)
      wake_->drain();
    take_mailbox();
    if (!running_ || !conn_.connected())
      return;
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
      read_replies();
    // Paused, the replies (a PONG too) wait unread in the socket: the pause is not silence.
    if (paused) {
      last_traffic_ = clock::now();
      ping_sent_.reset();
    }
    check_health();
    if (!conn_.connected())
      announce(false);
  }

  void take_mailbox() {
    bool more = true;
    while (running_ && more) {
      more = false;
      self_->receive(
          [&](pubsub_change& request) {
            apply(request);
            more = true;
          },
          on_exit(), caf::after(std::chrono::seconds(0)) >> [] {});
    }
  }

  void apply(const pubsub_change& request) {
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
      if (conn_.connected() && awaiting_.empty())
        announce(true);
    }
    if (conn_.connected())
      conn_.send({command, request.name});
  }

  void read_replies() {
    std::vector<redis_reply> replies;
    bool intact = conn_.receive(replies);
    std::vector<pubsub_message> batch;
    for (auto& reply : replies)
      handle(reply, batch);
    if (!batch.empty()) {
      sent_ += batch.size();
      self_->send(owner_, std::move(batch));
    }
    if (intact)
      last_traffic_ = clock::now();
  }

  void handle(redis_reply& reply, std::vector<pubsub_message>& batch) {
    ping_sent_.reset(); // any reply proves the connection alive
    if (reply.type == redis_reply::kind::error) {
      conn_.fail("Redis refused a subscription command: " + reply.text);
      return;
    }
    if (reply.type != redis_reply::kind::array || reply.elements.empty())
      return; // +PONG, answering a PING sent before there was any subscription
    auto& e = reply.elements;
    const auto& kind = e[0].text;
    if (kind == "message" && e.size() == 3) {
      batch.push_back({{}, std::move(e[1].text), std::move(e[2].text)});
    } else if (kind == "pmessage" && e.size() == 4) {
      batch.push_back({std::move(e[1].text), std::move(e[2].text), std::move(e[3].text)});
    } else if ((kind == "subscribe" || kind == "psubscribe") && e.size() == 3) {
      bool pattern = kind == "psubscribe";
      auto& name = e[1].text;
      self_->send(owner_, pubsub_confirmed_atom::value, pattern, name);
      if (awaiting_.erase({pattern, name}) > 0 && awaiting_.empty())
        announce(true);
    }
    // unsubscribe, punsubscribe and pong need nothing.
  }

  void check_health() {
    auto now = clock::now();
    if (ping_sent_) {
      if (now - *ping_sent_ > options_.command_timeout)
        conn_.fail("Redis did not answer a PING within "
                   + std::to_string(options_.command_timeout.count()) + " ms");
      return;
    }
    if (now - last_traffic_ >= ping_interval) {
      ping_sent_ = now;
      conn_.send({"PING"});
    }
  }

  void announce(bool ready) {
    if (ready && !conn_.connected())
      return;
    if (ready)
      failed_attempts_ = 0; // backoff starts over only once a connection proved itself
    if (announced_ == ready)
      return;
    announced_ = ready;
    self_->send(owner_, pubsub_state_atom::value, ready,
                ready ? std::string{} : conn_.last_error());
  }

  std::function<void(caf::exit_msg&)> on_exit() {
    return [this](caf::exit_msg& exit) {
      running_ = false;
      self_->fail_state(std::move(exit.reason));
    };
  }

  caf::blocking_actor* self_;
  redis_connection_options options_;
  caf::actor owner_;
  std::shared_ptr<redis_subscriber::wakeup> wake_;
  redis_context conn_;
  std::mt19937_64 random_;
  bool running_ = true;
  int failed_attempts_ = 0;
  name_set channels_;
  name_set patterns_;
  // Subscriptions Redis has yet to confirm since the last (re)connection: not ready before.
  std::set<std::pair<bool, std::string>> awaiting_;
  std::optional<bool> announced_;
  clock::time_point last_traffic_;
  std::optional<clock::time_point> ping_sent_;
  uint64_t sent_ = 0; // messages handed to the owner
  bool pause_reported_ = false;
  logger log_{"redis"};
};

void run_subscriber(caf::blocking_actor* self, redis_connection_options options, caf::actor owner,
                    std::shared_ptr<redis_subscriber::wakeup> wake,
                    std::vector<pubsub_change> initial) {
  subscriber_loop{self, std::move(options), std::move(owner), std::move(wake), initial}.run();
}

} // namespace

redis_subscriber redis_subscriber::spawn(caf::local_actor* owner, redis_connection_options options,
                                         std::vector<pubsub_change> initial) {
  redis_subscriber handle;
  handle.wakeup_ = std::make_shared<wakeup>();
  handle.actor_ = owner->spawn<caf::detached + caf::linked>(run_subscriber, std::move(options),
                                                            caf::actor_cast<caf::actor>(owner),
                                                            handle.wakeup_, std::move(initial));
  return handle;
}

void redis_subscriber::change(pubsub_change request) const {
  caf::anon_send(actor_, std::move(request));
  wakeup_->poke();
}

void redis_subscriber::taken(uint64_t count) const {
  if (!wakeup_)
    return;
  wakeup_->taken.fetch_add(count);
  wakeup_->poke();
}

void redis_subscriber::wake() const {
  if (wakeup_)
    wakeup_->poke();
}

} // namespace brokedancer
