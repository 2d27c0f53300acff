// A consumer of the header-only part (pixel::headers): URL and <img> tag, no library linked.
#include <pixel/html.hpp>
#include <pixel/url.hpp>

#include <cstdio>

int main() {
  pixel::url_options o;
  o.event_id = false;
  o.timestamp = false;
  auto url = pixel::build_url("https://d111111abcdef8.cloudfront.net", {{"userid", "aws_user"}}, o);
  if (!url) return 1;
  auto tag = pixel::img_tag(*url);
  if (!tag) return 2;
  std::printf("%s\n", tag->c_str());
  return 0;
}
