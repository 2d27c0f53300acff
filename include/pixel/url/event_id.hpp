// pixel: event ids (ULID-style) and their per-thread generator. Header-only, part of
// <pixel/url.hpp>. SPDX-License-Identifier: MIT
#ifndef PIXEL_URL_EVENT_ID_HPP
#define PIXEL_URL_EVENT_ID_HPP

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define PIXEL_HAS_PTHREAD_ATFORK 1
#endif

namespace pixel {

// ---------------------------------------------------------------------------------------
// Event ids: ULID-style, 26 Crockford base32 characters, 48-bit millisecond time then 80
// random bits. Time-ordered, URL-safe (all unreserved), unique across threads and processes.

class event_id {
 public:
  static constexpr std::size_t length = 26;

  event_id() noexcept { chars_.fill('0'); }

  // A new id from the calling thread's generator (seeded from the OS; reseeded after fork).
  static event_id generate() noexcept;
  // The id for a given time and 80 random bits (hi holds the top 16).
  static event_id from_parts(std::uint64_t unix_ms, std::uint16_t rand_hi,
                             std::uint64_t rand_lo) noexcept {
    static constexpr char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    std::uint64_t hi = ((unix_ms & 0xFFFFFFFFFFFFULL) << 16) | rand_hi;
    std::uint64_t lo = rand_lo;
    event_id id;
    for (std::size_t i = length; i-- > 0;) {
      id.chars_[i] = alphabet[lo & 31];
      lo = (lo >> 5) | (hi << 59);
      hi >>= 5;
    }
    return id;
  }

  // An id read back from its text (a spool, a log); false when `text` is not 26 characters
  // of the id alphabet.
  static bool parse(std::string_view text, event_id& out) noexcept {
    if (text.size() != length) return false;
    event_id id;
    for (std::size_t i = 0; i < length; ++i) {
      const char c = text[i];
      const bool digit = c >= '0' && c <= '9';
      const bool letter = c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U';
      if (!digit && !letter) return false;
      id.chars_[i] = c;
    }
    out = id;
    return true;
  }

  std::string_view view() const noexcept { return {chars_.data(), length}; }
  std::string str() const { return std::string(view()); }
  friend bool operator==(const event_id& a, const event_id& b) noexcept {
    return a.chars_ == b.chars_;
  }
  friend bool operator!=(const event_id& a, const event_id& b) noexcept { return !(a == b); }

 private:
  std::array<char, length> chars_;
};

namespace detail {
// xoshiro256** seeded from std::random_device; one per thread.
class id_generator {
 public:
  id_generator() noexcept { seed(); }
  std::uint64_t next() noexcept {
    if (generation_ != fork_generation().load(std::memory_order_relaxed)) seed();
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  static std::atomic<unsigned>& fork_generation() noexcept {
    static std::atomic<unsigned> generation{0};
    return generation;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

  void seed() noexcept {
#if defined(PIXEL_HAS_PTHREAD_ATFORK)
    // A forked child copies this thread's state: bump the generation there so it reseeds.
    static const int registered = pthread_atfork(
        nullptr, nullptr, [] { fork_generation().fetch_add(1, std::memory_order_relaxed); });
    (void)registered;
#endif
    generation_ = fork_generation().load(std::memory_order_relaxed);
    std::uint64_t entropy[4] = {0, 0, 0, 0};
    try {
      std::random_device rd;
      for (auto& e : entropy) e = (std::uint64_t{rd()} << 32) ^ rd();
    } catch (...) {
      // No OS entropy source: fall back to time and addresses (still distinct per thread).
    }
    std::uint64_t mix = static_cast<std::uint64_t>(
        std::chrono::high_resolution_clock::now().time_since_epoch().count());
    mix ^= reinterpret_cast<std::uintptr_t>(this);
    for (auto& e : entropy) {
      // splitmix64 over the entropy, so a weak source still spreads over all bits.
      mix += 0x9E3779B97F4A7C15ULL ^ e;
      std::uint64_t z = mix;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      e = z ^ (z >> 31);
    }
    for (int i = 0; i < 4; ++i) s_[i] = entropy[i];
    if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;
  }

  std::uint64_t s_[4];
  unsigned generation_ = 0;
};

inline std::uint64_t unix_millis() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}
}  // namespace detail

inline event_id event_id::generate() noexcept {
  thread_local detail::id_generator gen;
  const std::uint64_t a = gen.next();
  const std::uint64_t b = gen.next();
  return from_parts(detail::unix_millis(), static_cast<std::uint16_t>(a >> 48), b);
}

}  // namespace pixel

#endif  // PIXEL_URL_EVENT_ID_HPP
