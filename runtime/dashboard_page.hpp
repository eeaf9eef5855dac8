#pragma once

// The dashboard page (runtime/dashboard/dashboard.html), compiled into the binary: the machines
// that run a node have no internet, so the page brings everything it uses (no CDN, no fonts).

#include <string>
#include <string_view>

namespace brokedancer {

std::string_view dashboard_page();

// The page's Content-Security-Policy: its one inline script allowed by its SHA-256, its style
// inline, connections to the node that served it only, no frames, no forms elsewhere.
const std::string& dashboard_content_security_policy();

} // namespace brokedancer
