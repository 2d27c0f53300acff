// A consumer of the installed or vendored library: headers (all of them, through
// pixel/pixel.hpp), the compiled tracker, libcurl.
#include <pixel/pixel.hpp>

#include <cstdio>

int main() {
  auto url = pixel::build_url("https://d111111abcdef8.cloudfront.net", {{"userid", "aws_user"}});
  if (!url) return 1;
  auto tag = pixel::img_tag(*url);
  if (!tag) return 2;
  // The compiled part links and refuses a bad endpoint with a typed error.
  pixel::tracker_options options;
  options.endpoint = "ftp://nowhere";
  auto t = pixel::tracker::create(options);
  if (t || t.code() != pixel::errc::endpoint_scheme) return 3;
  std::printf("%s\n", tag->c_str());
  return 0;
}
