// --endpoint-from: the pixel URL from the outputs file of `cdk deploy --outputs-file`.
// SPDX-License-Identifier: MIT
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli.hpp"

namespace pixel::cli {

// The file is {"StackName": {"OutputKey": "value", ...}, ...}; the one stack that has a
// PixelUrl output gives the endpoint.
result<std::string> endpoint_from_outputs(const std::string& path) {
  auto o = outputs_of(path);
  if (!o) return o.error();
  return std::move(o->endpoint);
}

result<deployed_outputs> outputs_of(const std::string& path) {
  const std::string where = "--endpoint-from " + path + ": ";
  std::ifstream in(path, std::ios::binary);
  if (!in) return error(errc::invalid_argument, where + "cannot open the file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return error(errc::invalid_argument, where + "cannot read the file");
  const auto json = nlohmann::json::parse(text.str(), nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return error(errc::invalid_argument,
                 where + "not a cdk outputs file (expected a JSON object of stacks)");
  }
  std::string found, found_stack;
  std::optional<double> rate;
  for (const auto& [stack, outputs] : json.items()) {
    if (!outputs.is_object()) {
      return error(errc::invalid_argument,
                   where + "not a cdk outputs file (stack '" + stack + "' is not an object)");
    }
    const auto it = outputs.find("PixelUrl");
    if (it == outputs.end()) continue;
    if (!it->is_string() || it->get<std::string>().empty()) {
      return error(errc::invalid_argument, where + "PixelUrl of '" + stack + "' is not a string");
    }
    if (!found_stack.empty()) {
      return error(errc::invalid_argument, where + "PixelUrl in both '" + found_stack + "' and '" +
                                               stack + "': keep one stack in the file");
    }
    found = it->get<std::string>();
    found_stack = stack;
    // CloudFormation outputs are strings.
    if (const auto r = outputs.find("StreamRecordsPerSecond"); r != outputs.end()) {
      const std::string value = r->is_string() ? r->get<std::string>() : r->dump();
      char* end = nullptr;
      const double v = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !(v > 0) || !std::isfinite(v)) {
        return error(errc::invalid_argument,
                     where + "StreamRecordsPerSecond of '" + stack + "' is not a positive number");
      }
      rate = v;
    }
  }
  if (found_stack.empty()) {
    return error(errc::invalid_argument,
                 where + "no PixelUrl output in it (deploy with: npx cdk deploy --outputs-file " +
                     "outputs.json)");
  }
  return deployed_outputs{std::move(found), rate};
}

std::string explain(const pixel::error& e) {
  if (e == errc::endpoint_insecure) return e.message() + " (--allow-http)";
  return e.message();
}

}  // namespace pixel::cli
