/* A C consumer of the installed libpixel.so, found with pkg-config. */
#include <pixel/pixel.h>
#include <stdio.h>

int main(void) {
  char buf[512];
  size_t len = 0;
  pixel_param params[1];
  params[0].key = "userid";
  params[0].value = "aws_user";
  if (pixel_url_build("https://d111111abcdef8.cloudfront.net", params, 1, 0, buf, sizeof buf,
                      &len) != PIXEL_OK) {
    return 1;
  }
  printf("%s %s\n", pixel_version(), buf);
  return 0;
}
