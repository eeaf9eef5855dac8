#include "cli/exchange_command.hpp"

#include <csignal>
#include <cstdlib>
#include <initializer_list>
#include <iostream>
#include <stdexcept>
#include <utility>

#include "core/host_port.hpp"
#include "core/logging.hpp"
#include "runtime/exchange_server.hpp"
#include "runtime/exit_codes.hpp"

namespace brokedancer {

int exchange_command(const exchange_command_options& options) {
  host_port address;
  std::string why;
  if (!parse_host_port(options.listen, address, why, true)) {
    std::cerr << "brokedancer exchange: --listen: " << why << '\n';
    return exit_code::usage;
  }
  exchange_server_options server;
  server.host = address.host;
  server.port = address.port;
  server.ledger_file = options.ledger_file;
  server.fsync = options.fsync;
  server.fee_rate = options.fee_rate;
  // The node's logging variables apply here too (no config file: an exchange has none).
  log_options logging;
  for (auto [variable, apply] :
       std::initializer_list<std::pair<const char*, bool (*)(const char*, log_options&)>>{
           {"BROKEDANCER_LOG_LEVEL",
            [](const char*v, log_options&o) {
              return from_string(v, o.level);
            }},
           {"BROKEDANCER_LOG_FORMAT", [](const char*v, log_options&o) {
              return from_string(v, o.format);
            }}}) {
    const char* value = std::getenv(variable);
    if (value != nullptr && !apply(value, logging)) {
      std::cerr << "brokedancer exchange: " << variable << ": not a valid value\n";
      return exit_code::usage;
    }
  }
  configure_logging(logging);
  logger log{"exchange"};
  try {
    exchange_server exchange{server};
    // The one line a script waits for: where to send orders.
    std::cout << "exchange listening on " << address.host << ':' << exchange.port() << std::endl;
    log.info("the simulated exchange is serving",
             {{"host", address.host},
              {"port", exchange.port()},
              {"ledger_file", options.ledger_file.empty() ? "(memory)" : options.ledger_file},
              {"orders_replayed", exchange.replayed()}});
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    int received = 0;
    sigwait(&signals, &received);
    log.info("stopping",
             {{"signal", received}, {"orders", exchange.orders()}, {"fills", exchange.fills()}});
    return exit_code::ok;
  } catch (const std::exception& ex) {
    std::cerr << "brokedancer exchange: " << ex.what() << '\n';
    return exit_code::startup_failed;
  }
}

} // namespace brokedancer
