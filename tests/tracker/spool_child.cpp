// A process that holds a spool, for the tests that need a second process:
//   spool_child hold DIR   opens the spool, prints "locked", and keeps it until killed.
// SPDX-License-Identifier: MIT
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "tracker/spool.hpp"

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "hold") == 0) {
    pixel::detail::spool_config config;
    config.dir = argv[2];
    pixel::detail::spool_recovery found;
    auto s = pixel::detail::spool::open(config, found);
    if (!s) {
      std::fprintf(stderr, "spool_child: %s\n", s.error().message().c_str());
      return 1;
    }
    std::printf("locked\n");
    std::fflush(stdout);
    for (;;) ::pause();
  }
  std::fprintf(stderr, "usage: spool_child hold DIR\n");
  return 2;
}
