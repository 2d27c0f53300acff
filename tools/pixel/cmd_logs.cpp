// pixel logs.
// SPDX-License-Identifier: MIT
#include "cli.hpp"

namespace pixel::cli {
void add_logs_command(CLI::App&, context&) {}
}  // namespace pixel::cli
