#include "actors/redis/redis_link.hpp"

#include <algorithm>

#include <caf/io/broker.hpp>
#include <caf/io/receive_policy.hpp>
#include <caf/io/system_messages.hpp>

#include "actors/redis/redis_dialer.hpp"

namespace brokedancer {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Bytes taken from the socket per read.
constexpr size_t read_chunk = 64 * 1024;
// A connection that stayed up this long proved itself: when it drops, it is made again at once
// and the backoff starts over. One that drops sooner (Redis refused what we sent, say) counts
// as a failed attempt, so a connection that keeps breaking cannot spin.
constexpr auto proven_after = std::chrono::seconds(1);
// Pushes mode: the connection is checked with a PING this often; a connection that a network
// fault left half-open would otherwise lose every event without a sign.
constexpr auto ping_interval = std::chrono::seconds(2);
// Pushes mode: how many command timeouts a PONG may take while messages keep arriving ahead of
// it (a busy connection's PONG waits behind what Redis queued before it).
constexpr int busy_pong_timeouts = 5;
// Requests waiting for their turn (pipeline_max are in flight) or for the reconnection after a
// drop; more are refused at once. Those waiting time out with the command timeout once sent.
constexpr size_t backlog_max = 100000;

// PING's answer: +PONG, or ["pong", ""] on a connection that has subscribed to something.
bool is_pong(const redis_reply& reply) {
  if (reply.type == redis_reply::kind::status)
    return reply.text == "PONG";
  return reply.type == redis_reply::kind::array && reply.elements.size() == 2
         && reply.elements[0].type == redis_reply::kind::string && reply.elements[0].text == "pong";
}

// How long requests wait for a connection being made again.
milliseconds dial_limit(const redis_connection_options& options) {
  return options.connect_timeout + 2 * options.command_timeout + milliseconds(1000);
}

milliseconds tick_period(const redis_connection_options& options) {
  return std::clamp(options.command_timeout / 4, milliseconds(10), milliseconds(500));
}

redis_result failure(const std::string& error) {
  redis_result result;
  result.error = error;
  return result;
}

} // namespace

redis_link::redis_link(caf::io::broker* owner, uint8_t tag, redis_connection_options options,
                       mode m, events callbacks)
  : owner_(owner), tag_(tag), options_(std::move(options)), mode_(m), events_(std::move(callbacks)),
    random_(std::random_device{}()) {
  // nop
}

redis_link::~redis_link() {
  fail_open("stopped before Redis answered");
}

void redis_link::start() {
  if (phase_ != phase::idle)
    return;
  // What is asked before the first connection is up waits for it, as for an immediate redial
  // (and as long at most): a node's first reads at start would otherwise be refused for a
  // connection a few milliseconds away, and retried half a second later.
  waiting_for_redial_ = mode_ == mode::replies && hold_during_redial_;
  dial();
}

// ---- Sending ---------------------------------------------------------------------------------

void redis_link::send(std::vector<std::vector<std::string>> commands, completion done) {
  if (!accepting()) {
    auto refused = failure("not connected: " + last_error_);
    done(refused);
    return;
  }
  if (backlog_.size() >= backlog_max) {
    auto refused =
        failure("more than " + std::to_string(backlog_max) + " requests wait for Redis already");
    done(refused);
    return;
  }
  backlog_.push_back({std::move(commands), std::move(done)});
  pump();
}

void redis_link::send(const std::vector<std::string>& command) {
  if (!connected())
    return;
  append_command(owner_->wr_buf(handle_), command);
  owner_->flush(handle_);
}

// Writes what waits, up to pipeline_max commands in flight (always at least one request, however
// many commands it has). The multiplexer sends it all once the owner is done with its mailbox.
void redis_link::pump() {
  if (!connected() || backlog_.empty())
    return;
  auto now = clock::now();
  auto& out = owner_->wr_buf(handle_);
  bool wrote = false;
  while (!backlog_.empty()) {
    auto& next = backlog_.front();
    auto count = next.commands.size();
    if (count == 0) { // nothing to send or wait for
      auto done = std::move(next.done);
      backlog_.pop_front();
      redis_result result;
      result.ok = true;
      done(result);
      continue;
    }
    if (commands_in_flight_ > 0 && commands_in_flight_ + count > options_.pipeline_max)
      break;
    for (const auto& command : next.commands)
      append_command(out, command);
    in_flight entry;
    entry.done = std::move(next.done);
    entry.expected = count;
    entry.replies.reserve(count);
    entry.sent = now;
    backlog_.pop_front();
    commands_in_flight_ += count;
    in_flight_.push_back(std::move(entry));
    wrote = true;
  }
  if (wrote) {
    owner_->flush(handle_);
    arm_tick(tick_period(options_));
  }
}

// ---- Receiving -------------------------------------------------------------------------------

bool redis_link::handle(caf::io::new_data_msg& msg) {
  if (!connected() || msg.handle != handle_)
    return false;
  if (mode_ == mode::replies && in_flight_.empty()) {
    drop("Redis sent a reply to no command");
    return true;
  }
  if (!reader_->feed(msg.buf.data(), msg.buf.size())) {
    drop(reader_->error());
    return true;
  }
  unreplied_bytes_ += msg.buf.size();
  if (mode_ == mode::replies)
    read_replies();
  else
    read_pushes();
  if (connected() && unreplied_bytes_ > options_.max_reply_bytes)
    drop("Redis sent a reply longer than " + std::to_string(options_.max_reply_bytes)
         + " bytes, the most this node takes");
  return true;
}

// A reply came out of the reader: what it still holds belongs to the next one.
void redis_link::reply_taken() {
  unreplied_bytes_ = reader_->buffered();
}

void redis_link::read_replies() {
  while (connected()) {
    auto reply = reader_->next();
    if (!reply) {
      if (reader_->failed())
        drop(reader_->error());
      break;
    }
    if (in_flight_.empty()) {
      drop("Redis sent a reply to no command");
      break;
    }
    reply_taken();
    auto& front = in_flight_.front();
    front.replies.push_back(std::move(*reply));
    if (front.replies.size() < front.expected)
      continue;
    // Out of the queue before the completion runs: it may send more.
    auto done = std::move(front.done);
    redis_result result;
    result.ok = true;
    result.replies = std::move(front.replies);
    commands_in_flight_ -= front.expected;
    in_flight_.pop_front();
    done(result);
  }
  pump();
}

void redis_link::read_pushes() {
  std::vector<redis_reply> replies;
  while (auto reply = reader_->next()) {
    reply_taken();
    if (is_pong(*reply)) {
      ping_sent_.reset(); // the connection carries our commands and Redis's answers
    } else {
      traffic_since_ping_ = true;
      replies.push_back(std::move(*reply));
    }
  }
  bool broken = reader_->failed();
  if (!replies.empty() && events_.pushed)
    events_.pushed(replies);
  if (broken && connected())
    drop(reader_->error());
}

bool redis_link::handle(const caf::io::connection_closed_msg& msg) {
  if (!connected() || msg.handle != handle_)
    return false;
  handle_ = caf::io::connection_handle{}; // CAF has closed it already
  drop("lost the connection to Redis: it closed the connection");
  return true;
}

// ---- Time ------------------------------------------------------------------------------------

bool redis_link::handle_tick(uint8_t tag) {
  if (tag != tag_)
    return false;
  tick_due_.reset();
  if (phase_ == phase::dialing)
    check_dial();
  else if (phase_ == phase::waiting && clock::now() >= redial_at_)
    dial();
  else if (phase_ == phase::waiting)
    arm_tick(std::chrono::duration_cast<milliseconds>(redial_at_ - clock::now()) + milliseconds(1));
  else if (connected())
    check_health();
  return true;
}

void redis_link::check_health() {
  auto now = clock::now();
  auto timeout = options_.command_timeout;
  if (mode_ == mode::replies) {
    if (!in_flight_.empty() && now - in_flight_.front().sent > timeout) {
      drop("Redis did not answer within " + std::to_string(timeout.count()) + " ms");
      return;
    }
    if (!in_flight_.empty())
      arm_tick(tick_period(options_));
    return;
  }
  auto pong_timeout = traffic_since_ping_ ? busy_pong_timeouts * timeout : timeout;
  if (ping_sent_ && now - *ping_sent_ > pong_timeout) {
    drop("Redis did not answer a PING within " + std::to_string(pong_timeout.count()) + " ms");
    return;
  }
  // Pinged however busy the connection is: messages flowing in do not show that what we send
  // arrives (a subscription Redis never got would wait for its confirmation for ever), nor that
  // a reply that keeps coming will end.
  if (!ping_sent_ && now - last_ping_ >= ping_interval) {
    ping_sent_ = last_ping_ = now;
    traffic_since_ping_ = false;
    send(std::vector<std::string>{"PING"});
  }
  arm_tick(tick_period(options_));
}

// One tick at a time, unless a sooner one is wanted; a tick that finds nothing due does nothing.
void redis_link::arm_tick(milliseconds after) {
  auto due = clock::now() + after;
  if (tick_due_ && *tick_due_ <= due)
    return;
  tick_due_ = due;
  owner_->delayed_send(caf::actor_cast<caf::actor>(owner_), after, redis_tick_atom::value, tag_);
}

// ---- Connecting ------------------------------------------------------------------------------

void redis_link::dial() {
  phase_ = phase::dialing;
  auto generation = ++generation_;
  auto dialer = spawn_redis_dialer(owner_, options_, mode_ == mode::replies);
  // The dialer's own timeouts bound the connect, AUTH and SELECT, but not the name lookup
  // (getaddrinfo can block for as long as the resolver likes). Requests held for this attempt
  // are failed at its deadline (check_dial); the attempt itself goes on, and a connection it
  // makes late is taken: a slow resolver must not keep Redis away for good.
  auto limit = dial_limit(options_);
  dial_deadline_ = clock::now() + limit;
  arm_tick(limit);
  owner_->request(dialer, caf::infinite, dial_atom::value)
      .then(
          [this, generation](dialed_socket& answer) {
            auto fd = answer.socket ? answer.socket->take() : -1;
            dialed(generation, fd, answer.error);
          },
          [this, generation](caf::error& err) {
            dialed(generation, -1,
                   "the connection attempt failed: " + owner_->system().render(err));
          });
}

// Requests held for the immediate redial wait no longer than its deadline. The attempt itself
// may go on to twice that (a late connection is taken); past it, it counts as failed and the
// next one follows after the backoff: a name lookup that never returns must not keep the link
// down for good (its thread is left to end by itself, and an answer it brings is stale).
void redis_link::check_dial() {
  auto now = clock::now();
  auto limit = dial_limit(options_);
  auto give_up_at = dial_deadline_ + limit;
  if (now >= dial_deadline_ && waiting_for_redial_) {
    waiting_for_redial_ = false;
    last_error_ = "Redis did not take a new connection within " + std::to_string(limit.count())
                  + " ms (name lookup, connect, AUTH, SELECT)";
    announce(false);
    fail_open(last_error_);
  }
  if (now >= give_up_at) {
    ++generation_; // the attempt's answer, if it ever comes, is stale
    dial_failed("a connection attempt to Redis took longer than "
                + std::to_string((2 * limit).count()) + " ms (name lookup, connect, AUTH, SELECT)");
    return;
  }
  auto next = now < dial_deadline_ ? dial_deadline_ : give_up_at;
  arm_tick(std::chrono::duration_cast<milliseconds>(next - now) + milliseconds(1));
}

void redis_link::dialed(uint64_t generation, int fd, const std::string& error) {
  if (generation != generation_ || phase_ != phase::dialing) {
    owned_socket stale{fd}; // closes it
    return;
  }
  if (fd < 0)
    dial_failed(error);
  else
    connection_made(fd);
}

void redis_link::connection_made(int fd) {
  handle_ = owner_->add_scribe(fd);
  owner_->configure_read(handle_, caf::io::receive_policy::at_most(read_chunk));
  reader_.emplace();
  phase_ = phase::connected;
  waiting_for_redial_ = false;
  connected_at_ = last_ping_ = clock::now();
  ping_sent_.reset();
  unreplied_bytes_ = 0;
  last_error_.clear();
  announce(true);
  pump();
  if (mode_ == mode::pushes)
    arm_tick(tick_period(options_));
}

void redis_link::dial_failed(std::string error) {
  last_error_ = error;
  phase_ = phase::waiting;
  waiting_for_redial_ = false;
  fail_open(error);
  announce(false);
  auto delay = reconnect_delay(options_, failed_attempts_++, random_);
  redial_at_ = clock::now() + delay;
  arm_tick(delay);
}

// The connection is gone: what was in flight may or may not have been done, and says so.
void redis_link::drop(std::string error) {
  if (handle_ != caf::io::connection_handle{})
    owner_->close(handle_);
  handle_ = caf::io::connection_handle{};
  reader_.reset();
  last_error_ = error;
  auto now = clock::now();
  bool proven = now - connected_at_ >= proven_after;
  auto open = std::move(in_flight_);
  in_flight_.clear();
  commands_in_flight_ = 0;
  if (proven) {
    failed_attempts_ = 0;
    waiting_for_redial_ = mode_ == mode::replies && hold_during_redial_;
    dial();
  } else {
    phase_ = phase::waiting;
    auto delay = reconnect_delay(options_, failed_attempts_++, random_);
    redial_at_ = now + delay;
    arm_tick(delay);
  }
  // While requests wait for the immediate reconnection, the owner has nothing to refuse yet:
  // it hears of the drop only if that attempt fails, and of the new connection either way.
  if (!accepting())
    announce(false);
  for (auto& entry : open) {
    auto result = failure(error);
    entry.done(result);
  }
  if (!accepting())
    fail_open(error);
}

// Fails every request in flight or waiting, each with `error`.
void redis_link::fail_open(const std::string& error) {
  auto open = std::move(in_flight_);
  auto waiting = std::move(backlog_);
  in_flight_.clear();
  backlog_.clear();
  commands_in_flight_ = 0;
  for (auto& entry : open) {
    auto result = failure(error);
    entry.done(result);
  }
  for (auto& entry : waiting) {
    auto result = failure(error);
    entry.done(result);
  }
}

// Every connection made is news (the owner counts reconnections); being down is told once.
void redis_link::announce(bool up) {
  if (!up && announced_ == false)
    return;
  announced_ = up;
  if (events_.changed)
    events_.changed(up, up ? std::string{} : last_error_);
}

} // namespace brokedancer
