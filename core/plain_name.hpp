#pragma once

// Names that become Redis keys and fields, log fields and file names (a stream, a consumer
// group, a symbol): printable ASCII without spaces keeps them readable everywhere and leaves no
// room for a control byte.

#include <cstddef>
#include <string>

namespace brokedancer {

// Why `text` is not a plain name of at most `max_bytes` ("" when it is); `what` starts the
// sentence ("a stream's name").
std::string check_plain_name(const char* what, const std::string& text, size_t max_bytes);

} // namespace brokedancer
