#include "cli/exchange_command.hpp"

#include <csignal>
#include <iostream>
#include <iterator>
#include <stdexcept>

#include "core/host_port.hpp"
#include "core/logging.hpp"
#include "runtime/config.hpp"
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
  // The node's logging settings (BROKEDANCER_LOG_*), checked as a node checks them; an exchange
  // has no config file of its own, and the node's other settings are not its business (a shell
  // set up for a node must not keep the exchange from starting).
  auto logging_only = process_environment();
  for (auto i = logging_only.begin(); i != logging_only.end();)
    i = i->first.rfind("BROKEDANCER_LOG_", 0) == 0 ? std::next(i) : logging_only.erase(i);
  try {
    configure_logging(load_config(embedded_default_config(), logging_only).log);
  } catch (const config_error& err) {
    for (const auto& problem : err.problems())
      std::cerr << "error: " << problem.render() << '\n';
    return exit_code::config_invalid;
  }
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
