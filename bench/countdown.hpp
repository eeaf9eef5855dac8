#pragma once

// What a scenario waits on while actors acknowledge: armed with a count, counted down from any
// thread, waited for by the scenario's thread (at most 60 s: a bot that never acknowledges ends
// the scenario with an error instead of hanging the run).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>

namespace brokedancer::bench {

class countdown {
public:
  void arm(int n) {
    left_ = n;
  }

  void count_down() {
    if (--left_ == 0) {
      std::lock_guard<std::mutex> guard{mutex_};
      done_.notify_all();
    }
  }

  void wait() {
    std::unique_lock<std::mutex> guard{mutex_};
    if (!done_.wait_for(guard, std::chrono::seconds(60), [&] { return left_.load() <= 0; }))
      throw std::runtime_error("not everyone acknowledged within 60 s");
  }

private:
  std::atomic<int> left_{0};
  std::mutex mutex_;
  std::condition_variable done_;
};

} // namespace brokedancer::bench
