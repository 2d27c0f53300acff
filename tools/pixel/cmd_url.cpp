// pixel url, pixel img.
// SPDX-License-Identifier: MIT
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "pixel/html.hpp"
#include "pixel/url.hpp"

namespace pixel::cli {
namespace {

struct url_args {
  std::string endpoint;
  std::string endpoint_from;
  bool no_event_id = false;
  bool no_timestamp = false;
  bool allow_http = false;
  std::string sign_key;  // KID:FILE
  long long ttl_s = default_signature_lifetime.count();
  std::vector<std::string> params;
};

void add_url_options(CLI::App& cmd, url_args& a) {
  CLI::Option* ep =
      cmd.add_option("--endpoint", a.endpoint, "Pixel endpoint, https://host[:port][/path]");
  cmd.add_option("--endpoint-from", a.endpoint_from,
                 "Endpoint from a cdk outputs file (PixelUrl; deploy/README.md)")
      ->excludes(ep);
  cmd.add_flag("--no-event-id", a.no_event_id, "Leave out the eid parameter");
  cmd.add_flag("--no-timestamp", a.no_timestamp, "Leave out the ts parameter");
  cmd.add_flag("--allow-http", a.allow_http, "Allow http:// to a non-loopback host");
  CLI::Option* sign = cmd.add_option(
      "--sign-key", a.sign_key,
      "Sign the URL (kid, exp, sig) with the key in FILE (base64), named KID: KID:FILE");
  cmd.add_option("--ttl", a.ttl_s, "Seconds a signed URL stays valid (default 30 days)")
      ->check(CLI::Range(1LL, 10LL * 365 * 24 * 3600))
      ->needs(sign);
  cmd.add_option("params", a.params,
                 "KEY=VALUE parameters, in order (use -- before a key starting with '-')");
}

// Builds the URL, or prints the error and returns an empty result.
result<std::string> build(const url_args& a) {
  std::string endpoint = a.endpoint;
  if (!a.endpoint_from.empty()) {
    auto from = endpoint_from_outputs(a.endpoint_from);
    if (!from) return from.error();
    endpoint = std::move(*from);
  }
  const auto kv = parse_key_values(a.params);
  std::vector<param> params;
  params.reserve(kv.size());
  for (const auto& [k, v] : kv) params.push_back({k, v});
  url_options options;
  options.event_id = !a.no_event_id;
  options.timestamp = !a.no_timestamp;
  if (!a.sign_key.empty()) {
    auto key = read_key_spec("--sign-key", a.sign_key);
    if (!key) return key.error();
    auto signer = make_url_signer(key->id, key->secret, std::chrono::seconds(a.ttl_s));
    if (!signer) return signer.error();
    options.signer = std::move(*signer);
  }
  endpoint_options ep_options;
  ep_options.allow_http = a.allow_http;
  return build_url(endpoint, params, options, ep_options);
}

void print_line(const std::string& s) {
  std::string line = s;
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

void add_url_commands(CLI::App& app, context& ctx) {
  auto args = std::make_shared<url_args>();
  CLI::App* url = app.add_subcommand("url", "Print a pixel URL");
  add_url_options(*url, *args);
  url->callback([args, url, &ctx] {
    if (url->get_option("--endpoint")->count() == 0 &&
        url->get_option("--endpoint-from")->count() == 0) {
      throw CLI::RequiredError("--endpoint or --endpoint-from");
    }
    auto u = build(*args);
    if (!u) {
      ctx.exit_code = fail(explain(u.error()));
      return;
    }
    print_line(*u);
  });

  auto img_args = std::make_shared<url_args>();
  auto style = std::make_shared<std::string>("email");
  auto given_url = std::make_shared<std::string>();
  CLI::App* img = app.add_subcommand("img", "Print an <img> tag for a pixel URL");
  add_url_options(*img, *img_args);
  img->add_option("--style", *style, "email or page")->check(CLI::IsMember({"email", "page"}));
  CLI::Option* url_opt = img->add_option("--url", *given_url, "Use this URL as the src");
  url_opt->excludes(img->get_option("--endpoint"));
  url_opt->excludes(img->get_option("--endpoint-from"));
  url_opt->excludes(img->get_option("params"));
  url_opt->excludes(img->get_option("--no-event-id"));
  url_opt->excludes(img->get_option("--no-timestamp"));
  url_opt->excludes(img->get_option("--allow-http"));
  url_opt->excludes(img->get_option("--sign-key"));
  img->callback([img_args, style, given_url, url_opt, img, &ctx] {
    if (url_opt->count() == 0 && img->get_option("--endpoint")->count() == 0 &&
        img->get_option("--endpoint-from")->count() == 0) {
      throw CLI::RequiredError("--endpoint, --endpoint-from or --url");
    }
    std::string src;
    if (url_opt->count() > 0) {
      src = *given_url;
    } else {
      auto u = build(*img_args);
      if (!u) {
        ctx.exit_code = fail(explain(u.error()));
        return;
      }
      src = std::move(*u);
    }
    auto tag = img_tag(src, *style == "page" ? img_style::page : img_style::email);
    if (!tag) {
      ctx.exit_code = fail(tag.error().message());
      return;
    }
    print_line(*tag);
  });
}

}  // namespace pixel::cli
