#include "actors/bus/bus_envelope.hpp"

#include <array>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "core/json_check.hpp"
#include "core/json_text.hpp"

namespace brokedancer {

namespace {

// One string as a JSON string literal, escaped by nlohmann.
void append_quoted(std::string& out, const std::string& text) {
  // Text that is not UTF-8 is written with U+FFFD in its place rather than throwing.
  out += dump_json(nlohmann::json(text));
}

} // namespace

std::string encode_envelope(const event& ev) {
  // Written field by field rather than through a json object: a publish pays for this on the
  // hot path, and building the object costs as much again as writing it.
  std::string out;
  out.reserve(128 + ev.topic.size() + ev.source_node.size() + ev.correlation.size()
              + ev.json.size() * 5 / 4);
  out += "{\"v\":";
  out += std::to_string(envelope_version);
  out += ",\"topic\":";
  append_quoted(out, ev.topic);
  out += ",\"source_node\":";
  append_quoted(out, ev.source_node);
  out += ",\"sequence\":";
  out += std::to_string(ev.sequence);
  out += ",\"published_at_us\":";
  out += std::to_string(ev.published_at_us);
  out += ",\"correlation_id\":";
  append_quoted(out, ev.correlation);
  out += ",\"payload\":";
  append_quoted(out, ev.json);
  out += '}';
  return out;
}

namespace {

// The envelope's fields, read straight from the text by nlohmann's SAX parser: no document is
// built, which halves the cost of every event a node receives.
enum class field_kind : uint8_t { missing, string, unsigned_integer, negative_integer, other };

struct field_value {
  field_kind kind = field_kind::missing;
  std::string text;
  uint64_t unsigned_value = 0;
  int64_t signed_value = 0;
};

enum field_index { v, topic_field, source_node, sequence, published_at_us, correlation, payload };
constexpr const char* field_names[] = {
    "v", "topic", "source_node", "sequence", "published_at_us", "correlation_id", "payload"};
constexpr size_t field_count = 7;

class envelope_reader {
public:
  using json = nlohmann::json;

  std::array<field_value, field_count> fields;
  bool is_object = false;

  bool null() {
    return scalar(field_kind::other);
  }
  bool boolean(bool) {
    return scalar(field_kind::other);
  }
  bool number_integer(json::number_integer_t x) {
    if (auto* f = take())
      *f = {x < 0 ? field_kind::negative_integer : field_kind::unsigned_integer,
            {},
            static_cast<uint64_t>(x),
            x};
    return depth_ > 0;
  }
  bool number_unsigned(json::number_unsigned_t x) {
    if (auto* f = take())
      *f = {field_kind::unsigned_integer, {}, x, static_cast<int64_t>(x)};
    return depth_ > 0;
  }
  bool number_float(json::number_float_t, const json::string_t&) {
    return scalar(field_kind::other);
  }
  bool string(json::string_t& x) {
    if (auto* f = take())
      *f = {field_kind::string, std::move(x), 0, 0};
    return depth_ > 0;
  }
  bool binary(json::binary_t&) {
    return scalar(field_kind::other);
  }
  bool start_object(std::size_t) {
    if (depth_ == 0)
      is_object = true;
    else
      scalar(field_kind::other);
    ++depth_;
    return true;
  }
  bool key(json::string_t& name) {
    current_ = nullptr;
    if (depth_ != 1)
      return true;
    for (size_t i = 0; i < field_count; ++i)
      if (name == field_names[i])
        current_ = &fields[i];
    return true;
  }
  bool end_object() {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) {
    if (depth_ == 0)
      return false; // not an object
    scalar(field_kind::other);
    ++depth_;
    return true;
  }
  bool end_array() {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    is_object = false;
    return false;
  }

private:
  // The field the next value at the top level belongs to, if it is one of ours.
  field_value* take() {
    auto* f = depth_ == 1 ? current_ : nullptr;
    current_ = nullptr;
    return f;
  }
  bool scalar(field_kind kind) {
    if (auto* f = take())
      *f = {kind, {}, 0, 0};
    return depth_ > 0;
  }

  int depth_ = 0;
  field_value* current_ = nullptr;
};

bool check(const field_value& f, size_t index, bool ok, const std::string& expected,
           std::string& why) {
  if (f.kind == field_kind::missing) {
    why = std::string{"the field \""} + field_names[index] + "\" is missing";
    return false;
  }
  if (!ok) {
    why = std::string{"the field \""} + field_names[index] + "\" is not " + expected;
    return false;
  }
  return true;
}

} // namespace

std::optional<event> decode_envelope(const std::string& text, const std::string& topic,
                                     size_t max_payload_bytes, std::string& why) {
  envelope_reader reader;
  if (!nlohmann::json::sax_parse(text, &reader) || !reader.is_object) {
    why = "not a JSON object";
    return std::nullopt;
  }
  auto& f = reader.fields;
  auto is_string = [&](size_t i) {
    return f[i].kind == field_kind::string;
  };
  auto is_integer = [&](size_t i) {
    return f[i].kind == field_kind::negative_integer
           || (f[i].kind == field_kind::unsigned_integer
               && f[i].unsigned_value <= static_cast<uint64_t>(INT64_MAX));
  };
  if (!check(f[v], v, is_integer(v) && f[v].signed_value == envelope_version,
             "envelope version " + std::to_string(envelope_version), why)
      || !check(f[topic_field], topic_field, is_string(topic_field), "a string", why)
      || !check(f[source_node], source_node, is_string(source_node), "a string", why)
      || !check(f[sequence], sequence, f[sequence].kind == field_kind::unsigned_integer,
                "an unsigned integer", why)
      || !check(f[published_at_us], published_at_us, is_integer(published_at_us), "an integer", why)
      || !check(f[correlation], correlation, is_string(correlation), "a string", why)
      || !check(f[payload], payload, is_string(payload), "a string holding JSON text", why))
    return std::nullopt;
  if (f[topic_field].text != topic) {
    why =
        "it names the topic \"" + f[topic_field].text + "\" but was published on \"" + topic + "\"";
    return std::nullopt;
  }
  if (f[payload].text.size() > max_payload_bytes) {
    why = "its payload of " + std::to_string(f[payload].text.size())
          + " bytes is over the limit of " + std::to_string(max_payload_bytes)
          + " (bus.max_payload_bytes)";
    return std::nullopt;
  }
  if (auto problem = json_text_problem(f[payload].text); !problem.empty()) {
    why = "its payload " + problem;
    return std::nullopt;
  }
  event ev;
  ev.topic = std::move(f[topic_field].text);
  ev.json = std::move(f[payload].text);
  ev.source_node = std::move(f[source_node].text);
  ev.sequence = f[sequence].unsigned_value;
  ev.published_at_us = f[published_at_us].signed_value;
  ev.correlation = std::move(f[correlation].text);
  return ev;
}

} // namespace brokedancer
