// brokedancer-chaos: the kill -9 loop of the production path. A trading node on Redis sends its
// orders to `brokedancer exchange` (a process of its own, keeping its ledger in a file); the
// node is killed with SIGKILL at random moments while its bots trade, again and again. After
// each kill the node is started once without bots: it reconciles its order journal with the
// exchange, and its book must then equal the exchange's ledger for that node -- every fill
// booked once, none twice, the same position in every symbol, the same money. At the end a
// last run trades and stops gracefully (positions closed), and the realized P&L must be the
// ledger's to the cent.
//
//   brokedancer-chaos [--kills 20] [--seed 1] [--bots 8] [--min-ms 800] [--max-ms 3000]
//
// Prints what it compared after every kill and, at the end, "fills lost: N, fills duplicated:
// N". Exit code 0 only when both are 0 and every comparison held.

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <csignal>

#include <CLI/CLI.hpp>
#include <hiredis/hiredis.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "actors/risk/journal_entries.hpp"
#include "actors/risk/position.hpp"
#include "support/child_process.hpp"
#include "support/redis_server.hpp"

using namespace brokedancer;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct settings {
  int kills = 20;
  uint64_t seed = 1;
  int bots = 8;
  int min_ms = 800;
  int max_ms = 3000;
  std::string cli = BROKEDANCER_CLI_PATH;
  // The baseline: the nodes run without their order journal (what this loop is meant to catch).
  bool without_journal = false;
};

const std::string node_name = "chaos";

// What a book holds, or what the ledger says it should.
struct account {
  uint64_t fills = 0;
  std::map<std::string, position> positions;
  double realized = 0;
  // Realized P&L less the cost of what is held: what the account's cash did. Unlike the
  // realized P&L alone it does not depend on the order the fills were booked in.
  double cash() const {
    double held = 0;
    for (const auto& [symbol, p] : positions)
      held += p.quantity * p.average_price;
    return realized - held;
  }
};

std::optional<account> book_in_redis(const std::string& host, int port, const std::string& key) {
  auto* c = redisConnect(host.c_str(), port);
  if (c == nullptr || c->err) {
    if (c)
      redisFree(c);
    return std::nullopt;
  }
  auto* reply = static_cast<redisReply*>(redisCommand(c, "GET %s", key.c_str()));
  std::optional<account> found;
  if (reply && reply->type == REDIS_REPLY_STRING) {
    auto j = json::parse(std::string(reply->str, reply->len), nullptr, false);
    if (j.is_object()) {
      account a;
      a.fills = j.value("fills", uint64_t{0});
      a.realized = j.value("realized", 0.0);
      for (const auto& [symbol, p] : j["positions"].items())
        a.positions[symbol] = {p.value("quantity", 0.0), p.value("average_price", 0.0)};
      found = a;
    }
  } else if (reply && reply->type == REDIS_REPLY_NIL) {
    found = account{};
  }
  if (reply)
    freeReplyObject(reply);
  redisFree(c);
  return found;
}

// The journal's orders without an outcome (0 once a node has reconciled and written it down).
std::optional<size_t> open_in_journal(const std::string& host, int port, const std::string& key) {
  auto* c = redisConnect(host.c_str(), port);
  if (c == nullptr || c->err) {
    if (c)
      redisFree(c);
    return std::nullopt;
  }
  auto* reply = static_cast<redisReply*>(redisCommand(c, "XRANGE %s - +", key.c_str()));
  std::optional<size_t> open;
  if (reply && reply->type == REDIS_REPLY_ARRAY) {
    journal_replay replay;
    for (size_t i = 0; i < reply->elements; ++i) {
      auto* e = reply->element[i];
      if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
        continue;
      auto* fields = e->element[1];
      for (size_t f = 0; f + 1 < fields->elements; f += 2)
        replay.add({std::string(e->element[0]->str, e->element[0]->len),
                    std::string(fields->element[f + 1]->str, fields->element[f + 1]->len)});
    }
    open = replay.open_orders().size();
  }
  if (reply)
    freeReplyObject(reply);
  redisFree(c);
  return open;
}

// Every fill of the account, replayed in the ledger's order.
std::optional<account> ledger_of(httplib::Client& exchange) {
  account a;
  uint64_t after = 0;
  for (;;) {
    auto page = exchange.Get(
        ("/fills?account=" + node_name + "&after=" + std::to_string(after) + "&limit=10000")
            .c_str());
    if (!page || page->status != 200)
      return std::nullopt;
    auto body = json::parse(page->body, nullptr, false);
    if (!body.is_object() || !body["fills"].is_array())
      return std::nullopt;
    for (const auto& f : body["fills"]) {
      auto side = f.value("side", "") == "buy" ? order_side::buy : order_side::sell;
      a.realized += apply_fill(a.positions[f.value("symbol", "")], side,
                               f.value("filled_quantity", 0.0), f.value("fill_price", 0.0));
      a.realized -= f.value("fee", 0.0);
      ++a.fills;
    }
    if (body["fills"].size() < 10000)
      break;
    after = body.value("next", after);
  }
  for (auto i = a.positions.begin(); i != a.positions.end();)
    i = is_flat(i->second) ? a.positions.erase(i) : std::next(i);
  return a;
}

std::map<std::string, std::string> node_environment(const settings& s,
                                                    const testing::redis_server& redis,
                                                    uint16_t exchange_port, int bots) {
  return {{"BROKEDANCER_RISK_JOURNAL", s.without_journal ? "false" : "true"},
          {"BROKEDANCER_STATE_BACKEND", "redis"},
          {"BROKEDANCER_REDIS_URL", redis.url()},
          {"BROKEDANCER_STATE_KEY_PREFIX", "chaos:"},
          {"BROKEDANCER_RUNTIME_NODE_NAME", node_name},
          {"BROKEDANCER_LOG_LEVEL", "error"},
          {"BROKEDANCER_LOG_FORMAT", "json"},
          {"BROKEDANCER_RESILIENCE_ENDPOINTS_EXCHANGE_TYPE", "http"},
          {"BROKEDANCER_RESILIENCE_ENDPOINTS_EXCHANGE_BASE_URL",
           "http://127.0.0.1:" + std::to_string(exchange_port)},
          {"BROKEDANCER_BOTS_COUNT", std::to_string(bots)},
          // A restarted node waits out its predecessor's bot leases (it may still be alive,
          // paused): short ones, so that each run trades soon after it starts.
          {"BROKEDANCER_BOTS_LEASE_S", "0.6"},
          // Trades often: a short lookback, a small threshold, fast ticks; limits out of the way.
          {"BROKEDANCER_MARKET_TICK_MS", "20"},
          {"BROKEDANCER_MARKET_VOLATILITY_PERCENT", "0.3"},
          {"BROKEDANCER_BOTS_LOOKBACK_TICKS", "3"},
          {"BROKEDANCER_BOTS_THRESHOLD_PERCENT", "0.05"},
          {"BROKEDANCER_RISK_MAX_DAILY_LOSS", "0"},
          {"BROKEDANCER_RISK_MAX_DRAWDOWN_PERCENT", "0"},
          {"BROKEDANCER_RISK_MAX_TRADES_PER_HOUR", "0"},
          {"BROKEDANCER_RISK_MAX_TOTAL_POSITION", "0"},
          {"BROKEDANCER_RISK_MAX_POSITION_SIZE", "0"}};
}

bool same(double a, double b, double tolerance) {
  return std::abs(a - b) <= tolerance;
}

struct verdict {
  bool ok = true;
  int64_t lost = 0;
  int64_t duplicated = 0;
  size_t in_flight = 0; // over every kill
};

// Compares the book with the ledger; prints one line.
verdict compare(int round, const account& book, const account& ledger, bool realized_too) {
  verdict v;
  auto diff = static_cast<int64_t>(ledger.fills) - static_cast<int64_t>(book.fills);
  v.lost = std::max<int64_t>(diff, 0);
  v.duplicated = std::max<int64_t>(-diff, 0);
  bool positions_match = true;
  std::map<std::string, bool> symbols;
  for (const auto& [s, p] : book.positions)
    symbols[s] = true;
  for (const auto& [s, p] : ledger.positions)
    symbols[s] = true;
  for (const auto& [s, unused] : symbols) {
    auto b = book.positions.count(s) ? book.positions.at(s).quantity : 0.0;
    auto l = ledger.positions.count(s) ? ledger.positions.at(s).quantity : 0.0;
    if (!same(b, l, 1e-9))
      positions_match = false;
  }
  bool cash_match = same(book.cash(), ledger.cash(), 0.005);
  bool realized_match = !realized_too || same(book.realized, ledger.realized, 0.005);
  v.ok = diff == 0 && positions_match && cash_match && realized_match;
  std::printf(
      "round %2d: book %llu fills, ledger %llu fills; positions %s; cash %.2f vs %.2f%s%s\n", round,
      static_cast<unsigned long long>(book.fills), static_cast<unsigned long long>(ledger.fills),
      positions_match ? "equal" : "DIFFER", book.cash(), ledger.cash(),
      realized_too
          ? (realized_match ? "; realized P&L equal to the cent" : "; realized P&L DIFFERS")
          : "",
      v.ok ? "" : "  <-- MISMATCH");
  std::fflush(stdout);
  return v;
}

// Starts a node without bots, waits until its journal has no open order (reconciled, and the
// outcomes written with the book), then kills it: the book in Redis is then the reconciled one.
bool reconcile_once(const settings& s, const testing::redis_server& redis, uint16_t exchange_port) {
  testing::child_process verifier{s.cli, {"run"}, node_environment(s, redis, exchange_port, 0)};
  auto deadline = std::chrono::steady_clock::now() + 30s;
  // Give it a moment to read its journal; then the journal must be empty of open orders.
  std::this_thread::sleep_for(300ms);
  while (std::chrono::steady_clock::now() < deadline) {
    auto open = open_in_journal("127.0.0.1", redis.port(), "chaos:node:" + node_name + ":journal");
    if (open && *open == 0) {
      std::this_thread::sleep_for(200ms);
      verifier.kill_now();
      return true;
    }
    std::this_thread::sleep_for(50ms);
  }
  verifier.kill_now();
  return false;
}

} // namespace

int main(int argc, char** argv) {
  settings s;
  CLI::App app{"The kill -9 loop: a trading node killed at random moments, reconciled with the "
               "exchange after each restart",
               "brokedancer-chaos"};
  app.add_option("--kills", s.kills, "how many times the trading node is killed")
      ->check(CLI::Range(1, 10000));
  app.add_option("--seed", s.seed, "seed of the kill times");
  app.add_option("--bots", s.bots, "bots of the trading node")->check(CLI::Range(1, 1000));
  app.add_option("--min-ms", s.min_ms, "shortest time a run trades before it is killed");
  app.add_option("--max-ms", s.max_ms, "longest time a run trades before it is killed");
  app.add_option("--cli", s.cli, "the brokedancer program");
  app.add_flag("--without-journal", s.without_journal,
               "run the nodes without their order journal: the baseline, which loses fills");
  CLI11_PARSE(app, argc, argv);
  std::signal(SIGPIPE, SIG_IGN);

  testing::redis_server redis{testing::redis_server::persistence::append_only_fsync_always};
  char dir[] = "/tmp/brokedancer-chaos-XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  auto ledger_file = std::string{dir} + "/ledger.jsonl";
  testing::child_process exchange{s.cli,
                                  {"exchange", "--listen", "127.0.0.1:0", "--ledger", ledger_file},
                                  {{"BROKEDANCER_LOG_LEVEL", "error"}}};
  auto first = exchange.read_line(10s);
  auto colon = first ? first->rfind(':') : std::string::npos;
  if (!first || colon == std::string::npos) {
    std::cerr << "brokedancer-chaos: the exchange did not start\n";
    return 1;
  }
  auto exchange_port = static_cast<uint16_t>(std::stoi(first->substr(colon + 1)));
  httplib::Client client{"127.0.0.1", exchange_port};
  client.set_read_timeout(10, 0);
  std::printf("exchange on port %u (ledger %s), Redis on port %u\n", exchange_port,
              ledger_file.c_str(), redis.port());

  std::mt19937_64 random{s.seed};
  std::uniform_int_distribution<int> pause{s.min_ms, std::max(s.min_ms, s.max_ms)};
  verdict total;
  auto book_key = "chaos:node:" + node_name + ":risk:state";
  for (int round = 1; round <= s.kills; ++round) {
    {
      testing::child_process trader{
          s.cli, {"run"}, node_environment(s, redis, exchange_port, s.bots)};
      std::this_thread::sleep_for(std::chrono::milliseconds(pause(random)));
      trader.kill_now();
    }
    auto in_flight =
        open_in_journal("127.0.0.1", redis.port(), "chaos:node:" + node_name + ":journal");
    std::printf("round %2d: killed; orders in flight at the kill (journaled, no outcome): %zu\n",
                round, in_flight ? *in_flight : size_t{0});
    total.in_flight += in_flight ? *in_flight : 0;
    if (!reconcile_once(s, redis, exchange_port)) {
      std::printf("round %2d: the node did not finish reconciling within 30 s\n", round);
      total.ok = false;
      continue;
    }
    auto book = book_in_redis("127.0.0.1", redis.port(), book_key);
    auto ledger = ledger_of(client);
    if (!book || !ledger) {
      std::printf("round %2d: could not read the book or the ledger\n", round);
      total.ok = false;
      continue;
    }
    auto v = compare(round, *book, *ledger, false);
    total.ok = total.ok && v.ok;
    total.lost = std::max(total.lost, v.lost);
    total.duplicated = std::max(total.duplicated, v.duplicated);
  }
  // A last run that ends as runs should: SIGINT, positions closed, realized P&L comparable.
  {
    testing::child_process last{
        s.cli, {"run", "--duration", "3"}, node_environment(s, redis, exchange_port, s.bots)};
    auto code = last.wait(60s);
    if (!code || *code != 0) {
      std::printf("the last run ended with %d\n", code ? *code : -1);
      total.ok = false;
    }
  }
  auto book = book_in_redis("127.0.0.1", redis.port(), book_key);
  auto ledger = ledger_of(client);
  if (book && ledger) {
    auto v = compare(s.kills + 1, *book, *ledger, true);
    total.ok = total.ok && v.ok;
    total.lost = std::max(total.lost, v.lost);
    total.duplicated = std::max(total.duplicated, v.duplicated);
  } else {
    total.ok = false;
  }
  if (!ledger || ledger->fills == 0) {
    std::printf("nothing was traded: the loop proves nothing\n");
    total.ok = false;
  }
  std::printf("fills lost: %lld, fills duplicated: %lld (%d kills with %zu orders in flight; "
              "ledger %llu fills)\n",
              static_cast<long long>(total.lost), static_cast<long long>(total.duplicated), s.kills,
              total.in_flight, ledger ? static_cast<unsigned long long>(ledger->fills) : 0ULL);
  std::printf(total.ok ? "the book equals the ledger after every restart\n"
                       : "MISMATCH: see the rounds above\n");
  return total.ok ? 0 : 1;
}
