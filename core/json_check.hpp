#pragma once

// Checking that text from outside is JSON, without building anything. Every event a bus takes
// and every value a store takes is checked once, where it enters. nlohmann::json::accept did it
// at half of the memory bus's cost per event (the bus with no check at all ran 1->1 at twice the
// rate): it converts every number with strtod and copies every token. This checker walks the
// bytes once and allocates only for nesting deeper than 15: 19 ns against accept's 174 ns for a
// 26-byte quote, 59 against 428 for 102 bytes (-O2, this project's 2-core machine). It accepts
// what nlohmann::json::accept accepts (a test compares them on a corpus and on random
// mutations): RFC 8259 with a leading UTF-8 byte order mark allowed, strict UTF-8 in strings,
// and no number that overflows a double -- save text with a NUL byte, which it refuses wherever
// the NUL is, where nlohmann takes the NUL for the end of the text and ignores what follows, and
// save containers nested deeper than max_json_depth, which it refuses too.

#include <string>
#include <string_view>

namespace brokedancer {

// How deep containers may nest in JSON from outside: every event, stored value, answer and
// request. nlohmann parses without recursion but copies and dumps a document recursively; one
// nested a hundred thousand levels deep (200 KB of brackets) overflows the stack of whoever
// copies it -- a strategy copying an event would take the node down. Nothing here needs more.
constexpr int max_json_depth = 64;

// True when `text` is one JSON value, with nothing but whitespace around it, whose containers
// nest at most max_json_depth deep.
bool is_json_text(std::string_view text);

// Empty when is_json_text(text); else what is wrong, to follow the text's name in a message
// ("is not valid JSON", "nests containers deeper than 64 levels").
std::string json_text_problem(std::string_view text);

} // namespace brokedancer
