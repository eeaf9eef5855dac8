#pragma once

// A request answered from Redis by an actor that owns a redis_link: the commands go out on the
// link, their replies are turned into the answer by `read`, and every way it can fail is an
// error value -- store_unavailable while the link does not accept commands, when the connection
// broke before the replies came, or when Redis refused a command (unless the caller reads
// refusals itself).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/result.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/redis/redis_link.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

template <class T>
void deliver_expected(caf::typed_response_promise<T>& promise, caf::expected<T> answer) {
  if (answer)
    promise.deliver(std::move(*answer));
  else
    promise.deliver(std::move(answer.error()));
}

// Whether an error reply fails the request (refuse) or reaches `read` (pass: NOGROUP, BUSYGROUP
// and the like mean something to the caller).
enum class redis_refusals : uint8_t { refuse, pass };

// `failures` counts the requests answered with store_unavailable; it must outlive `link` (the
// link answers what is open when it is destroyed). `read`: (std::vector<redis_reply>&) ->
// caf::expected<T>.
template <class T, class Self, class Read>
caf::result<T> ask_redis(Self* self, redis_link& link, uint64_t& failures,
                         std::vector<std::vector<std::string>> commands, Read read,
                         redis_refusals refusals = redis_refusals::refuse) {
  auto promise = self->template make_response_promise<T>();
  if (!link.accepting()) {
    ++failures;
    promise.deliver(
        make_error(errc::store_unavailable, "Redis is not reachable: " + link.last_error()));
    return promise;
  }
  link.send(std::move(commands), [failures = &failures, promise, read = std::move(read),
                                  refusals](redis_result& result) mutable {
    if (!result.ok) {
      ++*failures;
      promise.deliver(make_error(errc::store_unavailable, result.error));
      return;
    }
    if (refusals == redis_refusals::refuse)
      for (auto& reply : result.replies)
        if (reply.type == redis_reply::kind::error) {
          promise.deliver(
              make_error(errc::store_unavailable, "Redis replied: " + reply_excerpt(reply.text)));
          return;
        }
    deliver_expected<T>(promise, read(result.replies));
  });
  return promise;
}

} // namespace brokedancer
