#include "actors/redis/redis_connection.hpp"

#include <optional>
#include <random>

#include <caf/after.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/local_actor.hpp>

#include "actors/redis/redis_context.hpp"

namespace brokedancer {

namespace {

redis_job_result failed(uint64_t id, const std::string& error) {
  redis_job_result result;
  result.id = id;
  result.error = error;
  return result;
}

// The connection's life on its own thread: connect, serve batches, and while down, refuse jobs
// and wait to try again.
class connection_loop {
public:
  connection_loop(caf::blocking_actor* self, redis_connection_options options, caf::actor owner)
    : self_(self), options_(std::move(options)), owner_(std::move(owner)), conn_(options_) {
    // nop
  }

  void run() {
    while (running_) {
      if (!conn_.connected()) {
        if (!reconnect())
          wait_to_retry();
        continue;
      }
      auto batch = take_batch();
      if (!batch.empty())
        serve(std::move(batch));
    }
  }

private:
  // The owner hears of every change, once: it stops sending jobs while we are down.
  void announce(bool up) {
    if (announced_ == up)
      return;
    announced_ = up;
    self_->send(owner_, connection_state_atom::value, up, up ? std::string{} : conn_.last_error());
  }

  void on_exit(caf::exit_msg& exit) {
    running_ = false;
    self_->fail_state(std::move(exit.reason));
  }

  bool reconnect() {
    if (conn_.connect()) {
      failed_attempts_ = 0;
      announce(true);
      return true;
    }
    announce(false);
    return false;
  }

  void wait_to_retry() {
    using std::chrono::steady_clock;
    auto wake = steady_clock::now() + reconnect_delay(options_, failed_attempts_++, random_);
    // Wait on the mailbox, not in sleep: jobs that arrive meanwhile fail at once.
    while (running_ && steady_clock::now() < wake) {
      self_->receive([&](std::vector<redis_job>& jobs) { refuse(jobs); },
                     [&](caf::exit_msg& msg) { on_exit(msg); },
                     caf::after(std::chrono::duration_cast<std::chrono::milliseconds>(
                         wake - steady_clock::now()))
                         >> [] {});
    }
  }

  void refuse(const std::vector<redis_job>& jobs) {
    std::vector<redis_job_result> results;
    for (const auto& job : jobs)
      results.push_back(failed(job.id, "not connected: " + conn_.last_error()));
    self_->send(owner_, std::move(results));
  }

  // Waits for a batch; whatever else is already waiting rides in the same round trip.
  std::vector<redis_job> take_batch() {
    std::vector<redis_job> batch;
    size_t commands = 0;
    auto take = [&](std::vector<redis_job>& jobs) {
      for (auto& job : jobs) {
        commands += job.commands.size();
        batch.push_back(std::move(job));
      }
    };
    auto stop = [&](caf::exit_msg& msg) {
      on_exit(msg);
    };
    self_->receive(take, stop);
    bool more = true;
    while (running_ && more && commands < options_.pipeline_max) {
      more = false;
      self_->receive(
          [&](std::vector<redis_job>& jobs) {
            take(jobs);
            more = true;
          },
          stop, caf::after(std::chrono::seconds(0)) >> [] {});
    }
    return batch;
  }

  void serve(std::vector<redis_job> batch) {
    if (conn_.closed_by_peer()) {
      conn_.fail("Redis closed the connection");
      if (conn_.connect())
        failed_attempts_ = 0;
    }
    std::vector<redis_job> pipelined, scans;
    for (auto& job : batch)
      (job.type == redis_job::kind::pipeline ? pipelined : scans).push_back(std::move(job));
    std::vector<redis_job_result> results;
    results.reserve(batch.size());
    if (!pipelined.empty())
      conn_.run_pipeline(pipelined, results);
    for (const auto& job : scans)
      results.push_back(conn_.connected() ? conn_.run_scan(job)
                                          : failed(job.id, conn_.last_error()));
    self_->send(owner_, std::move(results));
    if (!conn_.connected())
      announce(false);
  }

  caf::blocking_actor* self_;
  redis_connection_options options_;
  caf::actor owner_;
  redis_context conn_;
  std::mt19937_64 random_{std::random_device{}()};
  bool running_ = true;
  int failed_attempts_ = 0;
  std::optional<bool> announced_;
};

void redis_connection(caf::blocking_actor* self, redis_connection_options options,
                      caf::actor owner) {
  connection_loop{self, std::move(options), std::move(owner)}.run();
}

} // namespace

caf::actor spawn_redis_connection(caf::local_actor* owner, redis_connection_options options) {
  return owner->spawn<caf::detached + caf::linked>(redis_connection, std::move(options),
                                                   caf::actor_cast<caf::actor>(owner));
}

} // namespace brokedancer
