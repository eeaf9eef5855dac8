#pragma once

// The baseline of the Redis scenarios: raw hiredis on one connection, `depth` commands written
// back to back per round trip -- the ceiling for one connection running those commands.

#include <functional>

#include <hiredis/hiredis.h>

namespace brokedancer::bench {

struct raw_figures {
  double ops_per_s = 0;
  double p50_us = 0; // a command's latency is its round trip's
  double p99_us = 0;
};

// Runs `total_ops` commands against 127.0.0.1:`port`: append(ctx, n, i) appends command n, the
// i-th of its round trip; each reply must satisfy `accepted` (when given). Throws
// std::runtime_error when the connection fails or a reply is not accepted.
raw_figures raw_pipeline(unsigned short port, int depth, int total_ops,
                         const std::function<void(redisContext*, int n, int i)>& append,
                         const std::function<bool(const redisReply&)>& accepted = {});

} // namespace brokedancer::bench
