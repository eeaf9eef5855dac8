#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/json_check.hpp"
#include "core/json_text.hpp"

using namespace brokedancer;

namespace {

// Texts on both sides of every rule: nesting, numbers, escapes, UTF-8, whitespace, the end.
const std::vector<std::string> corpus = {"",
                                         " ",
                                         "0",
                                         "-0",
                                         "01",
                                         "-",
                                         "1.",
                                         ".5",
                                         "1.5",
                                         "1e5",
                                         "1E+5",
                                         "1e-5",
                                         "1e",
                                         "1e+",
                                         "-1.25e-3",
                                         "1e308",
                                         "1e309",
                                         "-1e309",
                                         "9e308",
                                         "0e999",
                                         "0.0001e310",
                                         std::string(309, '9'),
                                         std::string(310, '9'),
                                         "123456789012345678901234567890",
                                         "true",
                                         "false",
                                         "null",
                                         "tru",
                                         "nul",
                                         "True",
                                         "NaN",
                                         "Infinity",
                                         "\"\"",
                                         "\"a\"",
                                         "\"a",
                                         "\"\\\"\"",
                                         "\"\\/\\b\\f\\n\\r\\t\"",
                                         "\"\\x\"",
                                         "\"\\u00e9\"",
                                         "\"\\u00G9\"",
                                         "\"\\u00e\"",
                                         "\"\\ud83d\\ude00\"",
                                         "\"\\ud83d\"",
                                         "\"\\ud83dx\"",
                                         "\"\\ude00\"",
                                         "\"\\ud83d\\u0041\"",
                                         "\"\x01\"",
                                         "\"\t\"",
                                         "\"\x7f\"",
                                         "\"\xc3\xa9\"",
                                         "\"\xc0\xaf\"",
                                         "\"\xe0\x80\xaf\"",
                                         "\"\xed\xa0\x80\"",
                                         "\"\xf4\x90\x80\x80\"",
                                         "\"\xf0\x9f\x98\x80\"",
                                         "\"\xe2\x82\"",
                                         "\"\xff\"",
                                         "\xef\xbb\xbf{}",
                                         "\xef\xbb{}",
                                         "{}",
                                         "[]",
                                         "{ }",
                                         "[ ]",
                                         "[1,]",
                                         "[,1]",
                                         "[1 2]",
                                         "[1,2]",
                                         "{\"a\":1}",
                                         "{\"a\":1,}",
                                         "{\"a\" 1}",
                                         "{a:1}",
                                         "{\"a\":}",
                                         "{\"a\":1,\"b\":[true,{\"c\":null}]}",
                                         "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]",
                                         "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]",
                                         "{\"a\":{\"b\":{\"c\":[]}}}",
                                         "{}}",
                                         "[]]",
                                         "{]",
                                         "[}",
                                         " \r\n\t[1] \n",
                                         "[1] x",
                                         std::string("[1]\0", 4),
                                         std::string("1\0junk", 6),
                                         std::string("\"a\0\"", 4),
                                         "1 2",
                                         "{\"bid\":101.25,\"ask\":101.5}",
                                         "\"\xc3\xa9\\u0041\"",
                                         "[\"a\",\"b\"",
                                         "{\"a\":1",
                                         "// c\n1",
                                         "[1,\n2]\v"};

bool nlohmann_accepts(const std::string& text) {
  return nlohmann::json::accept(text);
}

// nlohmann takes a NUL byte for the end of the text ("1\0junk" is accepted); the check refuses
// NUL wherever it is, as text with one in it is not JSON.
bool should_accept(const std::string& text) {
  return text.find('\0') == std::string::npos && nlohmann_accepts(text);
}

} // namespace

TEST_CASE("the JSON check accepts exactly what nlohmann accepts, on a corpus of edge cases") {
  for (const auto& text : corpus) {
    INFO(text);
    CHECK(is_json_text(text) == should_accept(text));
  }
}

TEST_CASE("the JSON check agrees with nlohmann on random mutations of valid documents") {
  std::mt19937 random{20261201};
  const std::string alphabet =
      std::string("{}[],:\"\\u0123456789abcdefABCDEF-+.eE tnrl\x7f\xc3\xa9\xed\xa0\xf0\x9f\x01")
      + '\0';
  std::vector<std::string> seeds;
  for (const auto& text : corpus)
    if (nlohmann_accepts(text))
      seeds.push_back(text);
  int disagreements = 0;
  for (int round = 0; round < 20000; ++round) {
    auto text = seeds[random() % seeds.size()];
    for (int edits = 1 + static_cast<int>(random() % 3); edits > 0; --edits) {
      auto at = text.empty() ? 0 : random() % (text.size() + 1);
      char c = alphabet[random() % alphabet.size()];
      switch (random() % 3) {
        case 0: text.insert(at, 1, c); break;
        case 1:
          if (at < text.size())
            text.erase(at, 1);
          break;
        default:
          if (at < text.size())
            text[at] = c;
      }
    }
    if (is_json_text(text) != should_accept(text)) {
      ++disagreements;
      UNSCOPED_INFO(text);
    }
  }
  CHECK(disagreements == 0);
}

namespace {

// `levels` arrays one inside the other, the innermost holding `inner`, e.g. [[[1]]].
std::string nested(int levels, const std::string& inner = "1") {
  return std::string(static_cast<size_t>(levels), '[') + inner
         + std::string(static_cast<size_t>(levels), ']');
}

} // namespace

TEST_CASE("the JSON check takes nesting up to the bound and refuses it past, without recursion") {
  CHECK(is_json_text(nested(max_json_depth)));
  CHECK(json_text_problem(nested(max_json_depth)).empty());
  CHECK(is_json_text(nested(max_json_depth - 1, R"({"a": 1})")));
  CHECK_FALSE(is_json_text(nested(max_json_depth + 1)));
  CHECK_FALSE(is_json_text(nested(max_json_depth, R"({"a": 1})")));
  CHECK(json_text_problem(nested(max_json_depth + 1))
        == "nests containers deeper than " + std::to_string(max_json_depth) + " levels");
  // A million levels, as a hostile peer would send: refused, and this thread's stack survives.
  std::string deep(1000000, '[');
  deep += std::string(1000000, ']');
  CHECK_FALSE(is_json_text(deep));
  CHECK_THAT(json_text_problem(deep), Catch::Matchers::Contains("deeper than"));
  CHECK(json_text_problem(deep.substr(1))
        == "nests containers deeper than " + std::to_string(max_json_depth) + " levels");
  CHECK(json_text_problem("{not json") == "is not valid JSON");
  CHECK(json_text_problem(nested(3).substr(1)) == "is not valid JSON");
}

TEST_CASE("the JSON check and the bounded parse draw the depth bound at the same place") {
  CHECK(parse_json_within(nested(max_json_depth)).is_array());
  CHECK(parse_json_within(nested(max_json_depth + 1)).is_discarded());
  CHECK(parse_json_within(nested(max_json_depth - 1, R"({"a": 1})")).is_array());
  CHECK(parse_json_within(nested(max_json_depth, R"({"a": 1})")).is_discarded());
  // An empty container one level past the bound holds nothing that deep: both take it.
  CHECK(is_json_text(nested(max_json_depth, "[]")));
  CHECK(parse_json_within(nested(max_json_depth, "[]")).is_array());
}

TEST_CASE("text from outside nested deeper than the bound is parsed as discarded, never built") {
  std::string deep(1000000, '[');
  deep += std::string(1000000, ']');
  CHECK(parse_json_within(deep).is_discarded());
  CHECK(parse_json_within(R"({"data": {"a": [1, 2, {"b": 3}]}})", 4)["data"]["a"][2]["b"] == 3);
  CHECK(parse_json_within(R"({"data": {"a": [1, 2, {"b": 3}]}})", 3).is_discarded());
  CHECK(parse_json_within("not json").is_discarded());
}
