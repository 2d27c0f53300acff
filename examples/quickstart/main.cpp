// Quick start: build a pixel URL and its <img> tag, then send events in the background.
//
//   quickstart https://d111111abcdef8.cloudfront.net     # your distribution
//   quickstart http://127.0.0.1:8080                     # or a local `pixel edge`
#include <pixel/html.hpp>
#include <pixel/tracker.hpp>

#include <chrono>
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s ENDPOINT\n", argv[0]);
    return 2;
  }

  // 1. A URL and a tag for an email or a page.
  auto url = pixel::build_url(
      argv[1], {{"userid", "aws_user"}, {"thirdpartyname", "example.hightrafficwebsite.com"}});
  if (!url) {
    std::fprintf(stderr, "quickstart: %s\n", url.error().message().c_str());
    return 1;
  }
  std::printf("url: %s\n", url->c_str());
  std::printf("tag: %s\n", pixel::img_tag(*url, pixel::img_style::email).value().c_str());

  // 2. Events in the background: track() returns at once, the worker thread delivers.
  pixel::tracker_options options;
  options.endpoint = argv[1];
  options.on_result = [](const pixel::event_result& r) {
    std::printf("event %.*s: %s after %u attempt(s), HTTP %ld\n",
                static_cast<int>(r.event_id.size()), r.event_id.data(),
                pixel::outcome_name(r.outcome), r.attempts, r.http_status);
  };
  auto tracker = pixel::tracker::create(std::move(options));
  if (!tracker) {
    std::fprintf(stderr, "quickstart: %s\n", tracker.error().message().c_str());
    return 1;
  }
  for (int i = 0; i < 3; ++i) {
    const std::string n = std::to_string(i);
    if (auto id = tracker->track({{"userid", "aws_user"}, {"action", "click"}, {"n", n}}); !id) {
      std::fprintf(stderr, "quickstart: %s\n", id.error().message().c_str());
    }
  }
  // Wait for the outcomes (shutdown at exit would also flush, up to its deadline).
  const bool all_done = tracker->flush(std::chrono::seconds(10));
  const auto s = tracker->stats();
  std::printf("delivered %llu, failed %llu, expired %llu, dropped %llu\n",
              static_cast<unsigned long long>(s.delivered),
              static_cast<unsigned long long>(s.failed), static_cast<unsigned long long>(s.expired),
              static_cast<unsigned long long>(s.dropped));
  return all_done && s.delivered == 3 ? 0 : 1;
}
