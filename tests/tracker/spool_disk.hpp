// Test support for the spool tests: waiting on a condition, a small tmpfs the test mounts itself (a
// disk that fills up, or turns read-only), and a filler for it. The tests run as root.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_TESTS_SPOOL_DISK_HPP
#define PIXEL_TESTS_SPOOL_DISK_HPP

#include <sys/mount.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "spawn.hpp"

namespace pixel_test {
namespace fs = std::filesystem;

// Waits until `pred` holds, checking every millisecond, up to `timeout`; false if it never
// did.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// A tmpfs of `size` mounted on a fresh directory, for full and read-only disks.
class tmpfs_mount {
 public:
  explicit tmpfs_mount(const std::string& size) {
    const std::string opts = "size=" + size;
    if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, opts.c_str()) != 0) {
      throw std::runtime_error("mount tmpfs on " + dir_.path().string() + ": " +
                               std::strerror(errno) + " (the spool tests run as root)");
    }
  }
  ~tmpfs_mount() { ::umount2(dir_.path().c_str(), MNT_DETACH); }
  tmpfs_mount(const tmpfs_mount&) = delete;
  tmpfs_mount& operator=(const tmpfs_mount&) = delete;
  const fs::path& path() const { return dir_.path(); }
  void remount_read_only() {
    if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
      throw std::runtime_error(std::string("remount read-only: ") + std::strerror(errno));
    }
  }

 private:
  pixel_test::temp_dir dir_{"pixel-spool-mnt"};
};

// Fills the file system holding `path` until a write fails; returns the filler's path.
inline fs::path fill_disk(const fs::path& dir) {
  const fs::path filler = dir / "filler";
  FILE* f = std::fopen(filler.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot create filler");
  std::vector<char> block(4096, 'f');
  while (std::fwrite(block.data(), 1, block.size(), f) == block.size() && std::fflush(f) == 0) {
  }
  std::fclose(f);
  return filler;
}

}  // namespace pixel_test

#endif  // PIXEL_TESTS_SPOOL_DISK_HPP
