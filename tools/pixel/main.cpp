// pixel: build pixel URLs and tags, send events, run a local edge, read its logs.
// SPDX-License-Identifier: MIT
#include <cstdio>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "cli.hpp"
#include "pixel/version.hpp"

namespace pixel::cli {

int fail(std::string_view message) {
  // fmt writes the message's bytes as they are (no NUL cut, no locale).
  fmt::print(stderr, "pixel: {}\n", message);
  return exit_failure;
}

std::vector<std::pair<std::string, std::string>> parse_key_values(
    const std::vector<std::string>& args) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(args.size());
  for (const auto& a : args) {
    const auto eq = a.find('=');
    if (eq == std::string::npos) {
      throw CLI::ValidationError("argument '" + a + "' is not KEY=VALUE");
    }
    out.emplace_back(a.substr(0, eq), a.substr(eq + 1));
  }
  return out;
}

namespace {
constexpr char kept_mark = '\0';

bool list_shaped(const std::string& a) {
  return a.size() >= 2 && a.front() == '[' && a.back() == ']';
}
}  // namespace

std::vector<std::string> raw_arguments(int argc, const char* const* argv) {
  std::vector<std::string> args;
  args.reserve(argc > 1 ? static_cast<std::size_t>(argc - 1) : 0);
  for (int i = argc - 1; i >= 1; --i) {  // CLI::App::parse takes them last first
    std::string a = argv[i];
    if (list_shaped(a)) a += kept_mark;
    args.push_back(std::move(a));
  }
  return args;
}

void keep_bytes(CLI::App& app) {
  for (CLI::Option* opt : app.get_options()) {
    // transform() runs before the option's other checks and conversions.
    opt->transform(CLI::Validator(
        [](std::string& value) {
          if (!value.empty() && value.back() == kept_mark) value.pop_back();
          return std::string{};
        },
        "", "keep-bytes"));
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) keep_bytes(*sub);
}

}  // namespace pixel::cli

int main(int argc, char** argv) {
  using namespace pixel::cli;
  CLI::App app{"pixel: tracking-pixel URLs, tags, delivery and logs", "pixel"};
  app.set_version_flag("--version", PIXEL_VERSION_STRING);
  app.require_subcommand(1);
  context ctx;
  add_url_commands(app, ctx);
  add_send_command(app, ctx);
  add_edge_command(app, ctx);
  add_logs_command(app, ctx);
  add_reconcile_command(app, ctx);
  add_opens_command(app, ctx);
  keep_bytes(app);
  try {
    auto args = raw_arguments(argc, argv);
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "pixel: {}\nRun with --help for more information.\n", e.what());
    return exit_usage;
  }
  return ctx.exit_code;
}
