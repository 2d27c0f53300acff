// The pixel command-line tool: shared pieces of the subcommands.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_TOOLS_CLI_HPP
#define PIXEL_TOOLS_CLI_HPP

#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "pixel/error.hpp"
#include "pixel/url/sign.hpp"

namespace pixel::log {
struct record;
}

namespace pixel::cli {

// Exit codes: 0 success, 1 invalid input or a failed operation, 2 usage error.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;

// Set by the subcommand that ran.
struct context {
  int exit_code = exit_ok;
};

// Prints "pixel: <message>" on one line of stderr and returns exit_failure.
int fail(std::string_view message);

// Hints name options of the subcommand that shows them, never the library's names:
// an error's message, with the option that lifts it where one does (an http:// endpoint:
// --allow-http; url, img and send have it).
std::string explain(const pixel::error& e);
// A --fields list refused in canonical order, with --fields-order as-given named when that
// order reads it (logs and reconcile have that option).
std::string explain_fields(const std::string& list, const pixel::error& e);

// KEY=VALUE arguments split at the first '='. Bytes are kept as given. An argument
// without '=' is a usage error (CLI::ValidationError).
std::vector<std::pair<std::string, std::string>> parse_key_values(
    const std::vector<std::string>& args);

// Arguments reach every subcommand byte for byte. CLI11 reads an argument that starts with
// '[' and ends with ']' as a list (split at commas, brackets dropped) whenever the option
// takes several values, as the KEY=VALUE and path positionals do. raw_arguments() gives
// such an argument a trailing NUL, which no argument from argv can carry, so CLI11 leaves
// it whole; keep_bytes() makes every option of `app` and its subcommands drop that NUL
// again before any check or conversion. Call keep_bytes() once every option is added.
std::vector<std::string> raw_arguments(int argc, const char* const* argv);  // for App::parse
void keep_bytes(CLI::App& app);

void add_url_commands(CLI::App& app, context& ctx);       // url, img
void add_edge_command(CLI::App& app, context& ctx);       // edge
void add_logs_command(CLI::App& app, context& ctx);       // logs
void add_send_command(CLI::App& app, context& ctx);       // send
void add_reconcile_command(CLI::App& app, context& ctx);  // reconcile
void add_opens_command(CLI::App& app, context& ctx);      // opens

// The PixelUrl output of the outputs file that `cdk deploy --outputs-file` writes
// (deploy/): errc::invalid_argument when the file is missing, not such a file, or has no
// (or more than one) PixelUrl.
result<std::string> endpoint_from_outputs(const std::string& path);
// The same file's outputs that configure a producer: the endpoint, and the records per
// second the log stream takes (StreamRecordsPerSecond), when the stack says.
struct deployed_outputs {
  std::string endpoint;
  std::optional<double> records_per_second;
};
result<deployed_outputs> outputs_of(const std::string& path);

// The weight of a record sampled at `sr` (the rate its producer kept it at, sr=<rate>,
// pixel/sampling.hpp): 1/rate for a decimal in (0, 1]; otherwise 1 with `bad` set, so a
// broken producer shows instead of skewing the estimates.
inline double sample_weight(std::string_view sr, bool& bad) {
  double rate = 0;
  const char* end = sr.data() + sr.size();
  const auto [p, ec] = std::from_chars(sr.data(), end, rate);
  bad = ec != std::errc() || p != end || !(rate > 0 && rate <= 1);
  return bad ? 1 : 1 / rate;
}
// Estimates are printed to 0.1: more digits would claim a precision sampling lacks.
inline double round_estimate(double v) {
  return std::round(v * 10) / 10;
}

// Signing keys named as KID:FILE, FILE holding the key in base64 (keys.cpp). A file that
// others may read gets a warning on stderr. Errors name `option` and the file, never the key.
struct named_key {
  std::string id;
  std::string secret;  // raw bytes
};
result<named_key> read_key_spec(const std::string& option, const std::string& spec);
// Several KID:FILE (a repeatable --verify-key): the keys a verifier accepts.
result<keyring> read_keyring(const std::string& option, const std::vector<std::string>& specs);
// --verify-key on a log record: what pixel::verify says of the hit, judged at the hit's own
// time (now when the record has none), for the path it asked for (/1x1.png when not logged).
signature_status hit_signature(const log::record& r, const keyring& keys);

}  // namespace pixel::cli

#endif  // PIXEL_TOOLS_CLI_HPP
