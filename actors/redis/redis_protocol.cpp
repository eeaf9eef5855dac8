#include "actors/redis/redis_protocol.hpp"

#include <cstdlib>
#include <new>

#include <hiredis/hiredis.h>

namespace brokedancer {

namespace {

redis_reply convert(const redisReply* r) {
  redis_reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = redis_reply::kind::string;
      out.text.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = redis_reply::kind::status;
      out.text.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = redis_reply::kind::error;
      out.text.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = redis_reply::kind::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = redis_reply::kind::array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i)
        out.elements.push_back(convert(r->element[i]));
      break;
    default: out.type = redis_reply::kind::nil;
  }
  return out;
}

} // namespace

void append_command(std::vector<char>& out, const std::vector<std::string>& command) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(command.size());
  lengths.reserve(command.size());
  for (const auto& arg : command) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* formatted = nullptr;
  auto size = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(),
                                     lengths.data());
  if (size < 0 || formatted == nullptr)
    throw std::bad_alloc();
  out.insert(out.end(), formatted, formatted + size);
  std::free(formatted);
}

std::string reply_excerpt(const std::string& text) {
  constexpr size_t most = 200;
  std::string out = text.substr(0, most);
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
      c = '?';
  if (text.size() > most)
    out += "...";
  return out;
}

redis_reply_reader::redis_reply_reader() : reader_(redisReaderCreate()) {
  if (reader_ == nullptr)
    throw std::bad_alloc();
}

redis_reply_reader::~redis_reply_reader() {
  redisReaderFree(reader_);
}

bool redis_reply_reader::feed(const char* bytes, size_t size) {
  if (failed())
    return false;
  if (redisReaderFeed(reader_, bytes, size) != REDIS_OK) {
    error_ = "cannot buffer a reply from Redis: " + std::string(reader_->errstr);
    return false;
  }
  return true;
}

size_t redis_reply_reader::buffered() const {
  return reader_->len - reader_->pos;
}

std::optional<redis_reply> redis_reply_reader::next() {
  if (failed())
    return std::nullopt;
  void* raw = nullptr;
  if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
    error_ = "unreadable reply from Redis: " + std::string(reader_->errstr);
    return std::nullopt;
  }
  if (raw == nullptr)
    return std::nullopt;
  auto reply = convert(static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  return reply;
}

} // namespace brokedancer
