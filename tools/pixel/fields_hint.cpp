// The --fields hint of the subcommands that read logs in a chosen order (logs, reconcile).
// SPDX-License-Identifier: MIT
#include "cli.hpp"
#include "pixel/log.hpp"

namespace pixel::cli {

std::string explain_fields(const std::string& list, const pixel::error& e) {
  std::string m = "--fields: " + e.message();
  if (log::parse_fields(list, log::field_order::as_given)) {
    m += "; to read it as text, list every field in record order with --fields-order as-given";
  }
  return m;
}

}  // namespace pixel::cli
