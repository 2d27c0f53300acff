// Memory for the command-line tool's big tables (event ids, messages): a hash for ids, and
// allocations of megabytes on huge pages where Linux allows.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_TOOLS_BIG_MEMORY_HPP
#define PIXEL_TOOLS_BIG_MEMORY_HPP

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace pixel::cli {

// 64-bit FNV-1a over 8-byte words, then a final avalanche (murmur3's fmix64): fast for
// 26-byte ids, every bit of the string mixed into every bit of the hash.
struct id_hash {
  std::uint64_t operator()(std::string_view s) const noexcept {
    std::uint64_t h = 0xcbf29ce484222325ULL ^ s.size();
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      h = (h ^ w) * 0x100000001b3ULL;
      h ^= h >> 29;
    }
    for (; i < s.size(); ++i) h = (h ^ static_cast<unsigned char>(s[i])) * 0x100000001b3ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
  }
};

// Zeroed memory of `bytes`, released by release_big(p, bytes). On Linux, 2 MiB and more
// are mapped on 2 MiB boundaries and offered to the kernel as huge pages (madvise): one
// page fault per 2 MiB instead of 512, where faults on fresh memory were a tenth of the
// time of `pixel logs --stats` and `pixel opens`. Other sizes and systems: calloc.
inline constexpr std::size_t huge_page = std::size_t{2} << 20;

inline void* allocate_big(std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (bytes >= huge_page) {
    const std::size_t length = (bytes + huge_page - 1) / huge_page * huge_page;
    void* p = ::mmap(nullptr, length + huge_page, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    // Keep the 2 MiB-aligned part; give back the slack before and after it.
    const auto base = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t at = (base + huge_page - 1) / huge_page * huge_page;
    if (at > base) ::munmap(p, at - base);
    if (const std::size_t tail = huge_page - (at - base); tail > 0) {
      ::munmap(reinterpret_cast<void*>(at + length), tail);
    }
    void* data = reinterpret_cast<void*>(at);
    ::madvise(data, length, MADV_HUGEPAGE);  // a hint: without huge pages, small ones
    return data;
  }
#endif
  void* p = std::calloc(bytes == 0 ? 1 : bytes, 1);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

inline void release_big(void* p, std::size_t bytes) noexcept {
  if (p == nullptr) return;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (bytes >= huge_page) {
    ::munmap(p, (bytes + huge_page - 1) / huge_page * huge_page);
    return;
  }
#else
  (void)bytes;
#endif
  std::free(p);
}

// Owned zeroed memory from allocate_big.
class zeroed_memory {
 public:
  zeroed_memory() = default;
  explicit zeroed_memory(std::size_t bytes)
      : data_(static_cast<char*>(allocate_big(bytes))), bytes_(bytes) {}
  zeroed_memory(zeroed_memory&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  zeroed_memory& operator=(zeroed_memory&& o) noexcept {
    if (this != &o) {
      release_big(data_, bytes_);
      data_ = std::exchange(o.data_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  zeroed_memory(const zeroed_memory&) = delete;
  zeroed_memory& operator=(const zeroed_memory&) = delete;
  ~zeroed_memory() { release_big(data_, bytes_); }

  char* data() const noexcept { return data_; }

 private:
  char* data_ = nullptr;
  std::size_t bytes_ = 0;
};

// A std::allocator for containers that grow to megabytes (std::vector<T, big_allocator<T>>).
template <class T>
struct big_allocator {
  using value_type = T;
  big_allocator() = default;
  template <class U>
  big_allocator(const big_allocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor)
  T* allocate(std::size_t n) { return static_cast<T*>(allocate_big(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { release_big(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const big_allocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const big_allocator<U>&) const noexcept {
    return false;
  }
};

}  // namespace pixel::cli

#endif  // PIXEL_TOOLS_BIG_MEMORY_HPP
