# Run as `cmake -DINPUT=file -DOUTPUT=file.cpp -DSYMBOL=name -P EmbedText.cmake`: writes a C++
# source defining `std::string_view brokedancer::SYMBOL()` that returns the input's bytes. Bytes,
# not a raw string literal: nothing the file holds can end the literal early.
file(READ "${INPUT}" content HEX)
string(LENGTH "${content}" hex_length)
math(EXPR byte_count "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${content}")
# A line per 64-byte row of the hex text, so that the file stays readable in an error message.
string(REGEX REPLACE "(0x0a,)" "\\1\n" bytes "${bytes}")
file(WRITE "${OUTPUT}.tmp"
"// Generated from ${INPUT} by cmake/EmbedText.cmake; do not edit.
#include <string_view>

namespace brokedancer {

namespace {
const unsigned char embedded[] = {
${bytes}
0};
} // namespace

std::string_view ${SYMBOL}() {
  return {reinterpret_cast<const char*>(embedded), ${byte_count}};
}

} // namespace brokedancer
")
# Only a changed text rebuilds what depends on it.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
