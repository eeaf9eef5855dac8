#pragma once

// Bus events on their way to the clients of an event stream (`/api/events`, the dashboard):
// one producer (the node's event relay) hands every frame to every client whose topic patterns
// match it, and each client's own thread takes them off at its pace.
//
// A client never slows the producer: publish() only appends to the clients' queues under a
// short lock. A client whose queue passes its bound (frames or bytes) has fallen behind: it is
// marked dropped, its queue is emptied and it receives nothing more -- its thread sees that and
// ends the stream. Memory per client is bounded by the queue's bounds.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace brokedancer {

struct fanout_limits {
  size_t max_clients = 8;
  size_t max_frames = 8192;           // queued for one client
  size_t max_bytes = 8 * 1024 * 1024; // queued for one client
};

struct fanout_counters {
  uint64_t published = 0;       // frames handed to publish()
  uint64_t delivered = 0;       // frames queued for a client (one per client)
  uint64_t clients_dropped = 0; // clients cut off for falling behind
  uint64_t clients_refused = 0; // attach() refused: max_clients were attached
  size_t clients = 0;           // attached now
};

class event_fanout {
  struct client_state;

public:
  // One client's end: detaches when destroyed.
  class client {
  public:
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // The frames queued so far, oldest first; waits up to `timeout` for one when there are
    // none. Empty when the wait ran out, or once the client was dropped.
    std::vector<std::string> take(std::chrono::milliseconds timeout);
    // True once the client fell behind and was cut off.
    bool dropped() const;

  private:
    friend class event_fanout;
    client(std::shared_ptr<event_fanout> owner, std::shared_ptr<client_state> state);
    std::shared_ptr<event_fanout> owner_;
    std::shared_ptr<client_state> state_;
  };

  explicit event_fanout(fanout_limits limits = {});

  // A new client for the topics matching any of `patterns` (globs, Redis rules); null when
  // max_clients are attached already.
  static std::unique_ptr<client> attach(const std::shared_ptr<event_fanout>& fanout,
                                        std::vector<std::string> patterns);

  // Queues `frame` for every client with a pattern matching `topic`.
  void publish(std::string_view topic, const std::string& frame);

  // Queues `frame` for one client only (a status frame made for it).
  static void send_to(client& to, std::string frame);

  fanout_counters counters() const;
  bool has_clients() const;
  // Whether a client would take a frame of `topic`: the producer makes none otherwise.
  bool wants(std::string_view topic) const;

private:
  void enqueue(client_state& c, const std::string& frame);
  void detach(const std::shared_ptr<client_state>& state);

  fanout_limits limits_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<client_state>> clients_;
  fanout_counters counters_;
};

} // namespace brokedancer
