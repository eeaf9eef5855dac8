#include "raw_redis.hpp"

#include <chrono>
#include <stdexcept>
#include <vector>

#include "harness.hpp"

namespace brokedancer::bench {

raw_figures raw_pipeline(unsigned short port, int depth, int total_ops,
                         const std::function<void(redisContext*, int n, int i)>& append,
                         const std::function<bool(const redisReply&)>& accepted) {
  using clock = std::chrono::steady_clock;
  timeval timeout{5, 0};
  auto* ctx = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (!ctx || ctx->err)
    throw std::runtime_error("raw hiredis baseline: cannot connect");
  std::vector<double> latencies;
  latencies.reserve(static_cast<size_t>(total_ops));
  auto started = clock::now();
  for (int done = 0; done < total_ops; done += depth) {
    auto batch_start = clock::now();
    for (int i = 0; i < depth; ++i)
      append(ctx, done + i, i);
    for (int i = 0; i < depth; ++i) {
      void* reply = nullptr;
      if (redisGetReply(ctx, &reply) != REDIS_OK) {
        redisFree(ctx);
        throw std::runtime_error("raw hiredis baseline: connection lost");
      }
      bool ok = !accepted || accepted(*static_cast<redisReply*>(reply));
      freeReplyObject(reply);
      if (!ok) {
        redisFree(ctx);
        throw std::runtime_error("raw hiredis baseline: a reply was not the one expected");
      }
    }
    auto batch_us = std::chrono::duration<double, std::micro>(clock::now() - batch_start).count();
    latencies.insert(latencies.end(), static_cast<size_t>(depth), batch_us);
  }
  auto seconds = std::chrono::duration<double>(clock::now() - started).count();
  redisFree(ctx);
  return {total_ops / seconds, percentile(latencies, 50), percentile(latencies, 99)};
}

} // namespace brokedancer::bench
