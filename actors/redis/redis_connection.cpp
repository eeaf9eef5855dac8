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

void redis_connection(caf::blocking_actor* self, redis_connection_options options,
                      caf::actor owner) {
  redis_context conn{options};
  std::mt19937_64 random{std::random_device{}()};
  bool running = true;
  int failed_attempts = 0;
  // The owner hears of every change, once: it stops sending jobs while we are down.
  std::optional<bool> announced;
  auto announce = [&](bool up) {
    if (announced == up)
      return;
    announced = up;
    self->send(owner, connection_state_atom::value, up, up ? std::string{} : conn.last_error());
  };
  auto on_exit = [&](caf::exit_msg& exit) {
    running = false;
    self->fail_state(std::move(exit.reason));
  };
  while (running) {
    if (!conn.connected()) {
      if (conn.connect()) {
        failed_attempts = 0;
        announce(true);
        continue;
      }
      announce(false);
      auto wake =
          std::chrono::steady_clock::now() + reconnect_delay(options, failed_attempts++, random);
      // Wait on the mailbox, not in sleep: jobs that arrive meanwhile fail at once.
      while (running && std::chrono::steady_clock::now() < wake) {
        self->receive(
            [&](std::vector<redis_job>& jobs) {
              std::vector<redis_job_result> results;
              for (const auto& job : jobs)
                results.push_back(failed(job.id, "not connected: " + conn.last_error()));
              self->send(owner, std::move(results));
            },
            on_exit,
            caf::after(std::chrono::duration_cast<std::chrono::milliseconds>(
                wake - std::chrono::steady_clock::now()))
                >> [] {});
      }
      continue;
    }
    std::vector<redis_job> batch;
    size_t commands = 0;
    auto take = [&](std::vector<redis_job>& jobs) {
      for (auto& job : jobs) {
        commands += job.commands.size();
        batch.push_back(std::move(job));
      }
    };
    self->receive(take, on_exit);
    // Whatever else is already waiting rides in the same round trip.
    bool more = true;
    while (running && more && commands < options.pipeline_max) {
      more = false;
      self->receive(
          [&](std::vector<redis_job>& jobs) {
            take(jobs);
            more = true;
          },
          on_exit, caf::after(std::chrono::seconds(0)) >> [] {});
    }
    if (batch.empty())
      continue;
    if (conn.closed_by_peer()) {
      conn.fail("Redis closed the connection");
      if (conn.connect())
        failed_attempts = 0;
    }
    std::vector<redis_job> pipelined, scans;
    for (auto& job : batch)
      (job.type == redis_job::kind::pipeline ? pipelined : scans).push_back(std::move(job));
    std::vector<redis_job_result> results;
    results.reserve(batch.size());
    if (!pipelined.empty())
      conn.run_pipeline(pipelined, results);
    for (const auto& job : scans)
      results.push_back(conn.connected() ? conn.run_scan(job) : failed(job.id, conn.last_error()));
    self->send(owner, std::move(results));
    if (!conn.connected())
      announce(false);
  }
}

} // namespace

caf::actor spawn_redis_connection(caf::local_actor* owner, redis_connection_options options) {
  return owner->spawn<caf::detached + caf::linked>(redis_connection, std::move(options),
                                                   caf::actor_cast<caf::actor>(owner));
}

} // namespace brokedancer
