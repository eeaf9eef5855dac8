#pragma once

// Redis's wire protocol (RESP) as plain code, with hiredis doing the work: commands are
// formatted into a byte buffer and replies parsed from bytes as they arrive, in whatever pieces
// the socket gives them. No socket, no actor: the connection that owns the bytes decides when
// they are written and read (actors/redis/redis_link.hpp).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

struct redisReader;

namespace brokedancer {

struct redis_reply {
  enum class kind : uint8_t { nil, status, error, integer, string, array };
  kind type = kind::nil;
  int64_t integer = 0;
  std::string text; // status, error or string
  std::vector<redis_reply> elements;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, redis_reply& x) {
  return f(caf::meta::type_name("redis_reply"), x.type, x.integer, x.text, x.elements);
}

// Appends `command` (binary-safe arguments) to `out` in RESP.
void append_command(std::vector<char>& out, const std::vector<std::string>& command);

// Parses replies out of the bytes fed to it. A reply split across reads is kept until the rest
// arrives. After a protocol error (bytes that are not RESP) the reader stays failed: the
// connection cannot be trusted to be in step with its commands any more and must be dropped.
// Text a server sent (an error reply, say), fit for an error message or a log line: at most 200
// bytes, anything unprintable shown as '?'. A hostile server picks these bytes.
std::string reply_excerpt(const std::string& text);

class redis_reply_reader {
public:
  redis_reply_reader();
  ~redis_reply_reader();
  redis_reply_reader(const redis_reply_reader&) = delete;
  redis_reply_reader& operator=(const redis_reply_reader&) = delete;

  // False once the reader has failed.
  bool feed(const char* bytes, size_t size);

  // The next complete reply, or nullopt when none is complete yet (or the reader failed).
  std::optional<redis_reply> next();

  // Bytes fed and not yet part of a reply that next() returned.
  size_t buffered() const;

  bool failed() const {
    return !error_.empty();
  }

  // Why the reader failed; empty while it has not.
  const std::string& error() const {
    return error_;
  }

private:
  redisReader* reader_;
  std::string error_;
};

} // namespace brokedancer
