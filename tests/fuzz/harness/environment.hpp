#pragma once

// Environment overrides over the embedded default file. The input is records separated by NUL
// bytes (a value in a real environment cannot hold one). A record starting with '!' names its
// variable: !NAME=VALUE gives BROKEDANCER_<NAME>=VALUE (the seeds are written so: readable, and
// still valid when settings are added). Any other first byte picks a setting by its index
// (modulo their number) in config_schema(), then endpoint_schema(), so that most mutations
// keep a real variable (an unknown one costs an edit distance to every name, slowly):
// - a setting of config_schema(): BROKEDANCER_<SECTION>_<KEY>=rest of the record;
// - a setting of endpoint_schema(): the rest is NAME=VALUE, giving
//   BROKEDANCER_RESILIENCE_ENDPOINTS_<NAME>_<KEY>=VALUE (NAME missing: "exchange").

#include <string>

#include "core/json_text.hpp"
#include "core/redis_url.hpp"
#include "runtime/config.hpp"
#include "runtime/config_schema.hpp"
#include "tests/fuzz/harness/support.hpp"

namespace brokedancer::fuzz {

inline environment environment_from(std::string_view input) {
  const auto& settings = config_schema();
  const auto& endpoint_settings = endpoint_schema();
  environment env;
  while (!input.empty()) {
    auto fields = split_fields(input, 2);
    std::string record(fields[0]);
    input = fields[1];
    if (record.empty())
      continue;
    auto picked = record[0] != '!';
    auto pick = picked ? static_cast<unsigned char>(record[0])
                             % (settings.size() + endpoint_settings.size())
                       : 0;
    if (picked && pick < settings.size()) {
      env[settings[pick].environment_name()] = record.substr(1);
      continue;
    }
    auto rest = record.substr(1);
    auto equals = rest.find('=');
    auto name = equals == std::string::npos ? std::string{} : rest.substr(0, equals);
    auto value = equals == std::string::npos ? rest : rest.substr(equals + 1);
    if (picked)
      env[setting_for_endpoint(endpoint_settings[pick - settings.size()],
                               name.empty() ? "exchange" : name)
              .environment_name()] = value;
    else
      env["BROKEDANCER_" + name] = value;
  }
  return env;
}

// An accepted secret joins log_masker()'s list for the life of the process: harmless once at
// start-up, but across millions of inputs the list would grow without end and slow every later
// input. An endpoint variable with an invalid name makes such an input refused before any
// secret is registered (an unknown variable would too, but costs a "did you mean" search).
inline void refuse_if_secret(environment& env) {
  bool secret = false;
  for (const auto& s : config_schema()) {
    auto found = env.find(s.environment_name());
    if (s.secret && found != env.end() && !found->second.empty())
      secret = true;
  }
  std::string problem;
  if (auto url = env.find("BROKEDANCER_REDIS_URL"); url != env.end())
    if (auto endpoint = parse_redis_url(url->second, problem);
        endpoint && !endpoint->password.empty())
      secret = true;
  if (secret)
    env["BROKEDANCER_RESILIENCE_ENDPOINTS_-_TYPE"] = "simulated";
}

inline void environment_overrides(std::string_view input) {
  auto env = environment_from(input);
  refuse_if_secret(env);
  try {
    auto config = load_config(embedded_default_config(), env);
    dump_json(config.masked(), 2);
  } catch (const config_error& refused) {
    expect(!refused.problems().empty(), "a config_error names at least one problem");
  }
}

} // namespace brokedancer::fuzz
