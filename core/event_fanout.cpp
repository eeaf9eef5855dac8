#include "core/event_fanout.hpp"

#include <algorithm>

#include "core/glob.hpp"

namespace brokedancer {

struct event_fanout::client_state {
  std::vector<std::string> patterns;
  std::deque<std::string> queue;
  size_t queued_bytes = 0;
  bool dropped = false;
  std::condition_variable ready;
};

event_fanout::event_fanout(fanout_limits limits) : limits_(limits) {}

std::unique_ptr<event_fanout::client>
event_fanout::attach(const std::shared_ptr<event_fanout>& fanout,
                     std::vector<std::string> patterns) {
  auto state = std::make_shared<client_state>();
  state->patterns = std::move(patterns);
  {
    std::lock_guard<std::mutex> guard{fanout->mutex_};
    if (fanout->clients_.size() >= fanout->limits_.max_clients) {
      ++fanout->counters_.clients_refused;
      return nullptr;
    }
    fanout->clients_.push_back(state);
  }
  return std::unique_ptr<client>(new client(fanout, std::move(state)));
}

void event_fanout::enqueue(client_state& c, const std::string& frame) {
  if (c.dropped)
    return;
  if (c.queue.size() + 1 > limits_.max_frames
      || c.queued_bytes + frame.size() > limits_.max_bytes) {
    // Fallen behind: cut off rather than buffer without end or wait for it.
    c.dropped = true;
    c.queue.clear();
    c.queued_bytes = 0;
    ++counters_.clients_dropped;
    c.ready.notify_all();
    return;
  }
  c.queue.push_back(frame);
  c.queued_bytes += frame.size();
  ++counters_.delivered;
  c.ready.notify_all();
}

void event_fanout::publish(std::string_view topic, const std::string& frame) {
  std::lock_guard<std::mutex> guard{mutex_};
  ++counters_.published;
  for (auto& c : clients_)
    if (std::any_of(c->patterns.begin(), c->patterns.end(),
                    [&](const std::string& p) { return glob_match(p, topic); }))
      enqueue(*c, frame);
}

void event_fanout::send_to(client& to, std::string frame) {
  auto& fanout = *to.owner_;
  std::lock_guard<std::mutex> guard{fanout.mutex_};
  fanout.enqueue(*to.state_, frame);
}

fanout_counters event_fanout::counters() const {
  std::lock_guard<std::mutex> guard{mutex_};
  auto c = counters_;
  c.clients = clients_.size();
  return c;
}

bool event_fanout::has_clients() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return !clients_.empty();
}

bool event_fanout::wants(std::string_view topic) const {
  std::lock_guard<std::mutex> guard{mutex_};
  return std::any_of(clients_.begin(), clients_.end(), [&](const auto& c) {
    return !c->dropped
           && std::any_of(c->patterns.begin(), c->patterns.end(),
                          [&](const std::string& p) { return glob_match(p, topic); });
  });
}

void event_fanout::detach(const std::shared_ptr<client_state>& state) {
  std::lock_guard<std::mutex> guard{mutex_};
  clients_.erase(std::remove(clients_.begin(), clients_.end(), state), clients_.end());
}

event_fanout::client::client(std::shared_ptr<event_fanout> owner,
                             std::shared_ptr<client_state> state)
  : owner_(std::move(owner)), state_(std::move(state)) {}

event_fanout::client::~client() {
  owner_->detach(state_);
}

std::vector<std::string> event_fanout::client::take(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> guard{owner_->mutex_};
  auto& c = *state_;
  c.ready.wait_for(guard, timeout, [&c] { return !c.queue.empty() || c.dropped; });
  std::vector<std::string> frames;
  if (c.dropped)
    return frames;
  frames.reserve(c.queue.size());
  for (auto& f : c.queue)
    frames.push_back(std::move(f));
  c.queue.clear();
  c.queued_bytes = 0;
  return frames;
}

bool event_fanout::client::dropped() const {
  std::lock_guard<std::mutex> guard{owner_->mutex_};
  return state_->dropped;
}

} // namespace brokedancer
