#pragma once

#include <string_view>

namespace brokedancer {

std::string_view version();

// config/development.json as it was when this binary was built: the embedded default.
std::string_view embedded_default_config_text();

} // namespace brokedancer
