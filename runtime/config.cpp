#include "runtime/config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "core/secret_masker.hpp"
#include "runtime/build_info.hpp"
#include "runtime/config_schema.hpp"

extern char** environ;

namespace brokedancer {

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "; did you mean \"level\"?" when a candidate is close enough to be a typo, else "".
std::string suggestion(const std::string& name, const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  size_t best_distance = std::max<size_t>(2, name.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    auto d = edit_distance(name, candidate);
    if (d < best_distance) {
      best = &candidate;
      best_distance = d;
    }
  }
  return best ? "; did you mean \"" + *best + "\"?" : std::string{};
}

std::string join(const std::vector<std::string>& items) {
  std::string result;
  for (const auto& item : items)
    result += (result.empty() ? "" : ", ") + item;
  return result;
}

std::string describe(const nlohmann::json& value) {
  auto text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 80)
    text = text.substr(0, 77) + "...";
  return text;
}

std::string format_limit(const setting& s, double value) {
  if (s.kind == setting_kind::integer)
    return std::to_string(static_cast<long long>(value));
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string expectation(const setting& s) {
  std::string text = "expected ";
  if (!s.choices.empty()) {
    text += "one of ";
    for (size_t i = 0; i < s.choices.size(); ++i)
      text += (i ? ", \"" : "\"") + s.choices[i] + "\"";
    return text;
  }
  text += to_string(s.kind);
  bool has_min = std::isfinite(s.min), has_max = std::isfinite(s.max);
  if (has_min && has_max)
    text += " from " + format_limit(s, s.min) + " to " + format_limit(s, s.max);
  else if (has_min)
    text += " of at least " + format_limit(s, s.min);
  else if (has_max)
    text += " of at most " + format_limit(s, s.max);
  return text;
}

// Checks one value against its setting; returns the problem message, or "" when valid.
std::string problem_with(const setting& s, const nlohmann::json& value) {
  auto found = s.secret ? std::string{"a value that is hidden here"} : describe(value);
  switch (s.kind) {
    case setting_kind::string: {
      if (!value.is_string())
        return expectation(s) + ", found " + found;
      const auto& text = value.get_ref<const std::string&>();
      if (!s.choices.empty()
          && std::find(s.choices.begin(), s.choices.end(), text) == s.choices.end())
        return expectation(s) + ", found " + found + suggestion(text, s.choices);
      if (s.check) {
        if (auto expected = s.check(text); !expected.empty())
          return expected + ", found " + found;
      }
      return {};
    }
    case setting_kind::integer:
      if (!value.is_number_integer())
        return expectation(s) + ", found " + found;
      if (value.is_number_unsigned()
              ? (value.get<uint64_t>() > s.max || value.get<uint64_t>() < s.min)
              : (value.get<int64_t>() < s.min || value.get<int64_t>() > s.max))
        return expectation(s) + ", found " + found;
      return {};
    case setting_kind::number:
      if (!value.is_number() || value.get<double>() < s.min || value.get<double>() > s.max)
        return expectation(s) + ", found " + found;
      return {};
    case setting_kind::boolean:
      if (!value.is_boolean())
        return expectation(s) + ", found " + found;
      return {};
  }
  return {};
}

// An environment variable is text; turn it into the JSON value its setting expects.
nlohmann::json parse_environment_value(const setting& s, const std::string& text) {
  switch (s.kind) {
    case setting_kind::string: return text;
    case setting_kind::integer: {
      int64_t value = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec == std::errc{} && end == text.data() + text.size() && !text.empty())
        return value;
      return text;
    }
    case setting_kind::number: {
      char* end = nullptr;
      errno = 0;
      double value = std::strtod(text.c_str(), &end);
      if (!text.empty() && errno == 0 && end == text.c_str() + text.size() && std::isfinite(value))
        return value;
      return text;
    }
    case setting_kind::boolean:
      if (text == "true" || text == "1" || text == "yes" || text == "on")
        return true;
      if (text == "false" || text == "0" || text == "no" || text == "off")
        return false;
      return text;
  }
  return text;
}

const setting* find_setting(const std::string& section, const std::string& key) {
  for (const auto& s : config_schema())
    if (s.section == section && s.key == key)
      return &s;
  return nullptr;
}

std::vector<std::string> section_names() {
  std::vector<std::string> names;
  for (const auto& s : config_schema())
    if (std::find(names.begin(), names.end(), s.section) == names.end())
      names.push_back(s.section);
  return names;
}

std::vector<std::string> keys_of(const std::string& section) {
  std::vector<std::string> keys;
  for (const auto& s : config_schema())
    if (s.section == section)
      keys.push_back(s.key);
  return keys;
}

bool url_has_password(const std::string& url) {
  std::string problem;
  auto endpoint = parse_redis_url(url, problem);
  return endpoint && !endpoint->password.empty();
}

class loader {
public:
  explicit loader(std::string source_name) : source_name_(std::move(source_name)) {
    for (const auto& s : config_schema())
      effective_[s.section][s.key] = s.default_value;
    effective_["resilience"]["endpoints"] = nlohmann::json::object();
  }

  void apply_file(const std::string& text) {
    nlohmann::json root;
    // A configuration is a few sections deep; a file nested far deeper is a mistake or an
    // attack on the parser's memory.
    struct too_deep {};
    auto depth_limit = [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
      if (depth > max_config_depth)
        throw too_deep{};
      return true;
    };
    try {
      root = nlohmann::json::parse(text, depth_limit);
    } catch (const too_deep&) {
      fail(source_name_, "$",
           "is nested more than " + std::to_string(max_config_depth) + " levels deep");
      return;
    } catch (const nlohmann::json::parse_error& ex) {
      std::string what = ex.what();
      auto detail = what.find("parse error");
      fail(source_name_, "$",
           "is not valid JSON: " + what.substr(detail == std::string::npos ? 0 : detail));
      return;
    } catch (const nlohmann::json::exception& ex) {
      // A number no double holds (1e400) is out_of_range, not a parse error (found by fuzzing).
      std::string what = ex.what();
      auto detail = what.find("] ");
      fail(source_name_, "$",
           "is not usable JSON: " + what.substr(detail == std::string::npos ? 0 : detail + 2));
      return;
    }
    if (!root.is_object()) {
      fail(source_name_, "$", "expected an object of sections, found " + describe(root));
      return;
    }
    auto sections = section_names();
    sections.push_back("resilience");
    for (const auto& [section, body] : root.items()) {
      auto section_path = "$." + section;
      if (section == "resilience") {
        apply_resilience(body);
        continue;
      }
      if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
        fail(source_name_, section_path,
             "unknown section" + suggestion(section, sections) + " (sections: " + join(sections)
                 + ")");
        continue;
      }
      if (!body.is_object()) {
        fail(source_name_, section_path, "expected an object, found " + describe(body));
        continue;
      }
      for (const auto& [key, value] : body.items()) {
        const auto* s = find_setting(section, key);
        if (!s) {
          auto keys = keys_of(section);
          fail(source_name_, section_path + "." + key,
               "unknown key" + suggestion(key, keys) + " (keys of " + section_path + ": "
                   + join(keys) + ")");
          continue;
        }
        if (s->secret && !(value.is_string() && value.get_ref<const std::string&>().empty())) {
          fail(source_name_, s->json_path(),
               "secrets must not be kept in a config file; set " + s->environment_name()
                   + " in the environment instead");
          continue;
        }
        if (s->url_may_carry_password && value.is_string()
            && url_has_password(value.get_ref<const std::string&>())) {
          fail(source_name_, s->json_path(),
               "this URL holds a password, and secrets must not be kept in a config file; remove "
               "it and set "
                   + s->environment_name()
                   + " (or BROKEDANCER_REDIS_PASSWORD) in the "
                     "environment instead");
          continue;
        }
        set(*s, value, source_name_);
      }
    }
  }

  void apply_environment(const environment& env) {
    std::vector<std::string> known;
    for (const auto& s : config_schema())
      known.push_back(s.environment_name());
    for (const auto& [name, text] : env) {
      if (name.rfind("BROKEDANCER_", 0) != 0 || name == config_file_variable
          || name == operator_token_variable || name.rfind(test_environment_prefix, 0) == 0)
        continue;
      if (name.rfind(endpoint_variable_prefix, 0) == 0) {
        apply_endpoint_variable(name, text);
        continue;
      }
      const setting* match = nullptr;
      for (const auto& s : config_schema())
        if (s.environment_name() == name)
          match = &s;
      if (!match) {
        fail("environment", name, "no such setting" + suggestion(name, known));
        continue;
      }
      if (set(*match, parse_environment_value(*match, text), "environment: " + name))
        overrides_.push_back(name);
    }
  }

  runtime_config finish() {
    check_endpoints();
    check_heartbeats();
    check_tls();
    check_trust();
    if (!problems_.empty())
      throw config_error(std::move(problems_));
    runtime_config cfg;
    cfg.source = source_name_;
    cfg.overrides = std::move(overrides_);
    const auto& e = effective_;
    for (const auto& s : config_schema())
      s.fill(cfg, e[s.section][s.key]);
    if (cfg.runtime.node_name.empty()) {
      char host[256] = {};
      cfg.runtime.node_name = gethostname(host, sizeof(host) - 1) == 0 ? host : "node";
    }
    cfg.endpoints = endpoint_sections();
    log_masker().add_secret(cfg.redis.endpoint.password);
    for (const auto& s : config_schema())
      if (s.secret)
        log_masker().add_secret(e[s.section][s.key].get<std::string>());
    cfg.effective = std::move(effective_);
    return cfg;
  }

private:
  static constexpr std::string_view endpoint_variable_prefix = "BROKEDANCER_RESILIENCE_ENDPOINTS_";

  void apply_resilience(const nlohmann::json& body) {
    if (!body.is_object()) {
      fail(source_name_, "$.resilience", "expected an object, found " + describe(body));
      return;
    }
    for (const auto& [key, endpoints] : body.items()) {
      if (key != "endpoints") {
        fail(source_name_, "$.resilience." + key,
             "unknown key" + suggestion(key, {"endpoints"}) + " (keys of $.resilience: endpoints)");
        continue;
      }
      if (!endpoints.is_object()) {
        fail(source_name_, "$.resilience.endpoints",
             "expected an object of endpoints by name, found " + describe(endpoints));
        continue;
      }
      for (const auto& [name, settings] : endpoints.items()) {
        auto path = "$.resilience.endpoints." + name;
        if (auto problem = check_endpoint_name(name); !problem.empty()) {
          fail(source_name_, path, "an endpoint name must be " + problem);
          continue;
        }
        if (!settings.is_object()) {
          fail(source_name_, path,
               "expected an object of endpoint settings, found " + describe(settings));
          continue;
        }
        declare_endpoint(name);
        for (const auto& [setting_key, value] : settings.items()) {
          const setting* s = find_endpoint_setting(setting_key);
          if (!s) {
            auto keys = endpoint_keys();
            fail(source_name_, path + "." + setting_key,
                 "unknown key" + suggestion(setting_key, keys)
                     + " (keys of an endpoint: " + join(keys) + ")");
            continue;
          }
          set(setting_for_endpoint(*s, name), value, source_name_);
        }
      }
    }
  }

  // BROKEDANCER_RESILIENCE_ENDPOINTS_<NAME>_<KEY>: the key is the longest known one that ends
  // the name, so that endpoint names may hold '_' too.
  void apply_endpoint_variable(const std::string& variable, const std::string& text) {
    auto rest = variable.substr(endpoint_variable_prefix.size());
    const setting* match = nullptr;
    std::string name;
    for (const auto& s : endpoint_schema()) {
      auto suffix = "_" + s.key;
      std::transform(suffix.begin(), suffix.end(), suffix.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      if (rest.size() > suffix.size()
          && rest.compare(rest.size() - suffix.size(), suffix.size(), suffix) == 0
          && (!match || s.key.size() > match->key.size())) {
        match = &s;
        name = rest.substr(0, rest.size() - suffix.size());
      }
    }
    if (!match) {
      fail("environment", variable,
           "no such endpoint setting: expected " + std::string{endpoint_variable_prefix}
               + "<NAME>_<KEY> with KEY one of " + join(endpoint_keys()));
      return;
    }
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (auto problem = check_endpoint_name(name); !problem.empty()) {
      fail("environment", variable, "an endpoint name must be " + problem);
      return;
    }
    declare_endpoint(name);
    auto s = setting_for_endpoint(*match, name);
    if (set(s, parse_environment_value(s, text), "environment: " + variable))
      overrides_.push_back(variable);
  }

  void declare_endpoint(const std::string& name) {
    auto& endpoint = effective_["resilience"]["endpoints"][name];
    if (!endpoint.is_object() || endpoint.empty())
      for (const auto& s : endpoint_schema())
        endpoint[s.key] = s.default_value;
  }

  static const setting* find_endpoint_setting(const std::string& key) {
    for (const auto& s : endpoint_schema())
      if (s.key == key)
        return &s;
    return nullptr;
  }

  static std::vector<std::string> endpoint_keys() {
    std::vector<std::string> keys;
    for (const auto& s : endpoint_schema())
      keys.push_back(s.key);
    return keys;
  }

  // Checks across one endpoint's settings, once every source has been applied.
  // TLS between nodes needs a certificate, its key and the authorities to check peers by.
  void check_tls() {
    const auto& node = effective_["node"];
    int given = 0;
    for (const char* key : {"tls_certificate", "tls_key", "tls_ca"})
      given += node[key].is_string() && !node[key].get<std::string>().empty() ? 1 : 0;
    if (given != 0 && given != 3)
      fail("configuration", "$.node",
           "TLS between nodes needs all of node.tls_certificate, node.tls_key and node.tls_ca "
           "(found "
               + std::to_string(given)
               + " of them); set the missing ones, or none to "
                 "turn TLS off");
  }

  // Nothing listens beyond loopback without TLS, and nothing answers operators without a
  // credential, unless the operator says so in so many words (node.insecure_plaintext).
  void check_trust() {
    const auto& node = effective_["node"];
    auto text = [&](const char* key) {
      return node[key].is_string() ? node[key].get<std::string>() : std::string{};
    };
    bool plaintext_ok =
        node["insecure_plaintext"].is_boolean() && node["insecure_plaintext"].get<bool>();
    if (!text("listen").empty() && text("tls_certificate").empty() && !plaintext_ok)
      fail("configuration", "$.node.listen",
           "a node that listens for peers needs mutual TLS: set node.tls_certificate, "
           "node.tls_key and node.tls_ca (make them with `brokedancer certs ca --dir DIR` and "
           "`brokedancer certs node NAME --dir DIR`), or set node.insecure_plaintext = true for "
           "an experiment on loopback");
    if (text("control_tls_certificate").empty() != text("control_tls_key").empty())
      fail("configuration", "$.node.control_tls_certificate",
           "HTTPS for the operator API needs both node.control_tls_certificate and "
           "node.control_tls_key");
    if (!node["control_port"].is_number_integer() || node["control_port"].get<int64_t>() == 0)
      return;
    if (text("credentials_file").empty() && text("credentials").empty())
      fail("configuration", "$.node.control_port",
           "the operator API needs credentials: make one with `brokedancer credentials add "
           "--name NAME --role risk --file FILE` and set node.credentials_file = FILE (or "
           "BROKEDANCER_NODE_CREDENTIALS), or set node.control_port = 0");
    auto host = text("control_host");
    if (!is_loopback(host) && text("control_tls_certificate").empty() && !plaintext_ok)
      fail("configuration", "$.node.control_host",
           "an operator API off loopback (\"" + host
               + "\") needs HTTPS: set node.control_tls_certificate and node.control_tls_key, "
                 "or listen on 127.0.0.1");
  }

  // With fewer than three heartbeats per timeout, one late heartbeat drops a healthy peer.
  void check_heartbeats() {
    const auto& node = effective_["node"];
    if (!node["heartbeat_interval_ms"].is_number_integer()
        || !node["connection_timeout_ms"].is_number_integer())
      return; // reported already
    auto heartbeat = node["heartbeat_interval_ms"].get<int64_t>();
    auto timeout = node["connection_timeout_ms"].get<int64_t>();
    if (timeout < 3 * heartbeat)
      fail("configuration", "$.node.connection_timeout_ms",
           "expected at least 3 heartbeats (3 x node.heartbeat_interval_ms = "
               + std::to_string(3 * heartbeat) + " ms), found " + std::to_string(timeout)
               + " ms; raise it or heartbeat more often");
  }

  // Whether two endpoint sections are http endpoints with the same base_url (case and a final
  // '/' aside): two names for one server.
  static bool same_server(const nlohmann::json& a, const nlohmann::json& b) {
    auto url = [](const nlohmann::json& e) {
      if (!e.is_object() || e.value("type", std::string{}) != "http")
        return std::string{};
      auto text = e.value("base_url", std::string{});
      while (!text.empty() && text.back() == '/')
        text.pop_back();
      std::transform(text.begin(), text.end(), text.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      return text;
    };
    auto left = url(a);
    return !left.empty() && left == url(b);
  }

  void check_endpoints() {
    auto risk_endpoint = effective_["risk"]["endpoint"].get<std::string>();
    const auto& endpoints = effective_["resilience"]["endpoints"];
    // A node with no endpoints at all trades nothing; one with endpoints must name a real one.
    if (!endpoints.empty() && !endpoints.contains(risk_endpoint))
      fail("configuration", "$.risk.endpoint",
           "orders go to \"" + risk_endpoint
               + "\", which is not among resilience.endpoints; declare it there");
    auto venues = split_setting_list(effective_["risk"]["venues"].get<std::string>());
    for (size_t i = 0; i < venues.size(); ++i) {
      const auto& name = venues[i];
      if (name == risk_endpoint
          || std::find(venues.begin(), venues.begin() + i, name) != venues.begin() + i)
        fail("configuration", "$.risk.venues",
             "\"" + name + "\" is named twice (risk.endpoint is a venue already); remove it");
      else if (!endpoints.contains(name))
        fail("configuration", "$.risk.venues",
             "\"" + name + "\" is not among resilience.endpoints; declare it there");
    }
    // Where orders go: risk.endpoint and the venues.
    std::vector<std::string> order_endpoints{risk_endpoint};
    order_endpoints.insert(order_endpoints.end(), venues.begin(), venues.end());
    // A workflow's http_request node calls only these: never an endpoint orders go to, where a
    // POST /orders would be an order past the risk monitor and the kill switch.
    for (const auto& name :
         split_setting_list(effective_["workflows"]["http_endpoints"].get<std::string>())) {
      if (!endpoints.contains(name)) {
        fail("configuration", "$.workflows.http_endpoints",
             "\"" + name + "\" is not among resilience.endpoints; declare it there");
        continue;
      }
      for (const auto& orders : order_endpoints) {
        if (name == orders) {
          fail("configuration", "$.workflows.http_endpoints",
               "\"" + name
                   + "\" is an endpoint orders go to (risk.endpoint or risk.venues): workflows "
                     "send orders with submit_order nodes, through the risk monitor; remove it "
                     "from the list");
          break;
        }
        if (endpoints.contains(orders) && same_server(endpoints[name], endpoints[orders])) {
          fail("configuration", "$.workflows.http_endpoints",
               "\"" + name + "\" reaches the same server as " + orders
                   + ", where orders go: another name for it is not allowed either; remove it "
                     "from the list");
          break;
        }
      }
    }
    // An http endpoint carries orders in the exchange API `brokedancer exchange` serves
    // (actors/resilience/http_endpoint.hpp).
    for (const auto& [name, e] : effective_["resilience"]["endpoints"].items()) {
      // Checked after the file and the environment: either may have set either setting.
      if (e["type"] == "http" && e["base_url"].get<std::string>().empty())
        fail("configuration", "$.resilience.endpoints." + name + ".base_url",
             "an http endpoint needs its base_url (http://host:port or https://host:port)");
      if (e["minimum_calls"].get<int64_t>() > e["window_size"].get<int64_t>())
        fail("configuration", "$.resilience.endpoints." + name + ".minimum_calls",
             "must not be larger than window_size, or the failure rate could never be judged");
      if (e["retry_initial_backoff_ms"].get<int64_t>() > e["retry_max_backoff_ms"].get<int64_t>())
        fail("configuration", "$.resilience.endpoints." + name + ".retry_initial_backoff_ms",
             "must not be larger than retry_max_backoff_ms");
    }
  }

  std::vector<runtime_config::endpoint_section> endpoint_sections() {
    std::vector<runtime_config::endpoint_section> result;
    for (const auto& [name, e] : effective_["resilience"]["endpoints"].items()) {
      runtime_config::endpoint_section x;
      x.name = name;
      for (const auto& s : endpoint_schema())
        s.fill_endpoint(x, e[s.key]);
      result.push_back(std::move(x));
    }
    return result;
  }

  bool set(const setting& s, const nlohmann::json& value, const std::string& where) {
    if (auto problem = problem_with(s, value); !problem.empty()) {
      fail(where, s.json_path(), problem);
      return false;
    }
    if (s.section.rfind("resilience.endpoints.", 0) == 0)
      effective_["resilience"]["endpoints"][s.section.substr(21)][s.key] = value;
    else
      effective_[s.section][s.key] = value;
    return true;
  }

  void fail(std::string where, std::string path, std::string message) {
    problems_.push_back({std::move(where), std::move(path), std::move(message)});
  }

  std::string source_name_;
  nlohmann::json effective_ = nlohmann::json::object();
  std::vector<std::string> overrides_;
  std::vector<config_problem> problems_;
};

} // namespace

std::string config_problem::render() const {
  // A found value may be a URL with a password in it. Values of secret settings are never
  // quoted in the first place (see problem_with).
  auto text = where + ": " + path + ": " + message;
  log_masker().apply_known_and_urls(text);
  return text;
}

namespace {

std::string render_all(const std::vector<config_problem>& problems) {
  std::string text;
  for (const auto& p : problems)
    text += (text.empty() ? "" : "\n") + p.render();
  return text;
}

} // namespace

config_error::config_error(std::vector<config_problem> problems)
  : std::runtime_error(render_all(problems)), problems_(std::move(problems)) {}

config_source embedded_default_config() {
  return {"embedded config/development.json", std::string(embedded_default_config_text())};
}

config_source read_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw config_error({{path, "$",
                         std::string("cannot be read: ") + std::strerror(errno)
                             + "; check the path given to --config"}});
  // Read at most one byte past the limit: a file given by mistake (a log, /dev/zero) is refused
  // without being read whole.
  std::string text(max_config_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > max_config_bytes)
    throw config_error({{path, "$",
                         "is larger than " + std::to_string(max_config_bytes / 1024)
                             + " KiB; a configuration is a few kilobytes: is this the right "
                               "file?"}});
  return {path, std::move(text)};
}

environment process_environment() {
  environment env;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view item(*entry);
    if (item.rfind("BROKEDANCER_", 0) != 0)
      continue;
    auto eq = item.find('=');
    if (eq != std::string_view::npos)
      env.emplace(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
  }
  return env;
}

nlohmann::json runtime_config::masked() const {
  auto result = effective;
  for (const auto& s : config_schema()) {
    auto& value = result[s.section][s.key];
    if (s.secret && value.is_string() && !value.get_ref<const std::string&>().empty())
      value = std::string{secret_masker::mask};
  }
  log_masker().apply(result);
  return result;
}

runtime_config load_config(const config_source& source, const environment& env) {
  loader l{source.name};
  l.apply_file(source.text);
  l.apply_environment(env);
  return l.finish();
}

runtime_config load_selected_config(const std::string& path, const environment& env) {
  if (!path.empty())
    return load_config(read_config_file(path), env);
  if (auto named = env.find(std::string(config_file_variable));
      named != env.end() && !named->second.empty())
    return load_config(read_config_file(named->second), env);
  return load_config(embedded_default_config(), env);
}

} // namespace brokedancer
