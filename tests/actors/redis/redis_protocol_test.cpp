// RESP as the Redis connection writes and reads it, without a socket: commands are binary-safe,
// replies come out whole however the bytes are split, and bytes that are not RESP fail the
// reader for good.

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "actors/redis/redis_protocol.hpp"

using namespace brokedancer;

namespace {

std::string encoded(const std::vector<std::string>& command) {
  std::vector<char> out;
  append_command(out, command);
  return {out.begin(), out.end()};
}

std::vector<redis_reply> read_all(redis_reply_reader& reader) {
  std::vector<redis_reply> replies;
  while (auto reply = reader.next())
    replies.push_back(std::move(*reply));
  return replies;
}

} // namespace

TEST_CASE("commands are written as RESP arrays of binary-safe bulk strings", "[redis]") {
  CHECK(encoded({"GET", "k"}) == "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
  std::string binary{"a\0b\r\nc", 6};
  CHECK(encoded({"SET", binary, ""})
        == std::string{"*3\r\n$3\r\nSET\r\n$6\r\na\0b\r\nc\r\n$0\r\n\r\n", 31});
  std::vector<char> both;
  append_command(both, {"PING"});
  append_command(both, {"PING"});
  CHECK(std::string(both.begin(), both.end()) == "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n");
}

TEST_CASE("replies come out whole, in order, however the bytes are split", "[redis]") {
  const std::string bytes = "+OK\r\n:-42\r\n$5\r\nhe\r\no\r\n$-1\r\n-ERR wrong type\r\n"
                            "*2\r\n$7\r\nmessage\r\n*1\r\n:1\r\n";
  for (size_t piece : {size_t{1}, size_t{3}, size_t{7}, bytes.size()}) {
    redis_reply_reader reader;
    std::vector<redis_reply> replies;
    for (size_t at = 0; at < bytes.size(); at += piece) {
      REQUIRE(reader.feed(bytes.data() + at, std::min(piece, bytes.size() - at)));
      for (auto& reply : read_all(reader))
        replies.push_back(std::move(reply));
    }
    REQUIRE(replies.size() == 6);
    CHECK(replies[0].type == redis_reply::kind::status);
    CHECK(replies[0].text == "OK");
    CHECK(replies[1].type == redis_reply::kind::integer);
    CHECK(replies[1].integer == -42);
    CHECK(replies[2].type == redis_reply::kind::string);
    CHECK(replies[2].text == "he\r\no");
    CHECK(replies[3].type == redis_reply::kind::nil);
    CHECK(replies[4].type == redis_reply::kind::error);
    CHECK(replies[4].text == "ERR wrong type");
    REQUIRE(replies[5].type == redis_reply::kind::array);
    REQUIRE(replies[5].elements.size() == 2);
    CHECK(replies[5].elements[0].text == "message");
    CHECK(replies[5].elements[1].elements.at(0).integer == 1);
    CHECK_FALSE(reader.failed());
  }
}

TEST_CASE("bytes that are not RESP fail the reader, and it stays failed", "[redis]") {
  for (std::string garbage : {"%nonsense\r\n", "$abc\r\n", ":12x\r\n", "HTTP/1.1 200 OK\r\n"}) {
    redis_reply_reader reader;
    reader.feed(garbage.data(), garbage.size());
    CHECK_FALSE(reader.next());
    CHECK(reader.failed());
    CHECK_FALSE(reader.error().empty());
    std::string good = "+OK\r\n";
    CHECK_FALSE(reader.feed(good.data(), good.size()));
    CHECK_FALSE(reader.next());
  }
}

TEST_CASE("arrays nested deeper than the reader supports fail it instead of overflowing",
          "[redis]") {
  std::string deep;
  for (int i = 0; i < 64; ++i)
    deep += "*1\r\n";
  deep += ":1\r\n";
  redis_reply_reader reader;
  reader.feed(deep.data(), deep.size());
  CHECK_FALSE(reader.next());
  CHECK(reader.failed());
}
