#pragma once

// The simulated exchange as its own process (`brokedancer exchange`): the ledger of
// actors/market/exchange_ledger.hpp behind an HTTP/JSON API, so that a trading node killed at
// any moment has something outside it that remembers what it sent. Orders fill at their limit
// price (no market data is read here); the ledger lives as long as the process, and with a
// ledger file across its restarts too.
//
//   GET  /health                      {"status":"ok","orders":N,"fills":N}
//   POST /orders                      an order (see exchange_ledger): filled, expired, rejected;
//                                     the same client_order_id again gets the first answer
//   POST /orders/cancel               {"client_order_id"} -> cancelled | not_open
//   POST /orders/status               {"client_order_ids":[...<=1000], "seal":bool} -> {"orders"}
//   GET  /orders/<client_order_id>    one order, or 404
//   POST /fences                      {"bot_id","fence"}: a bot's new owner, before it trades
//   GET  /fills?account=A&after=SEQ&limit=N   the account's fills after SEQ (N <= 10000)
//
// No credential is asked: it is a simulator for tests and demos, and listens on loopback unless
// told otherwise. Every request is bounded (http_server's limits) and validated.

#include <cstdint>
#include <memory>
#include <string>

namespace brokedancer {

struct exchange_server_options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  double fee_rate = 0.001;
  // Every order and cancel is appended to this file (JSON lines) before it is answered, and the
  // file is read back at start; empty: the ledger lives in memory only.
  std::string ledger_file;
  bool fsync = false; // fdatasync after every append: survives a power cut, not only a crash
  // A connection holds a thread while it is open (runtime/http_server.hpp): enough for every
  // node's adapter connections (http endpoint concurrency, 4 each by default) at once.
  size_t threads = 64;
};

class exchange_server {
public:
  // Reads the ledger file and starts serving; throws std::runtime_error saying what is wrong
  // (an address that cannot be bound, a ledger file that cannot be read or is not a ledger).
  explicit exchange_server(exchange_server_options options);
  ~exchange_server();

  exchange_server(const exchange_server&) = delete;
  exchange_server& operator=(const exchange_server&) = delete;

  uint16_t port() const;
  size_t orders() const;
  uint64_t fills() const;
  // Records read back from the ledger file at start.
  size_t replayed() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace brokedancer
