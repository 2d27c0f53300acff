// Counting distinct strings (event ids) exactly, for `pixel logs --stats`.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_TOOLS_DISTINCT_HPP
#define PIXEL_TOOLS_DISTINCT_HPP

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "big_memory.hpp"

namespace pixel::cli {

// Counts distinct strings exactly, and sums a weight over the first occurrence of each.
//
// A flat open-addressing table (linear probing, at most 3/4 full) of 8-byte slots: a
// 24-bit tag of the string's hash and the 40-bit place of the string in an arena, where
// strings lie one after another behind their length. A probe compares tags; strings are
// compared only when the tags are equal (a repeated string, or one chance in 2^24 for
// another), so two strings are one only when they are equal, whatever their hashes.
//
// Most of the cost is the one cache miss on the slot of each new string. add() hashes the
// string and prefetches its slot, and looks it up `window` adds later (in the order they
// came), while the caller reads the next records. count() and weight() look up what is
// still pending first. Growing the table rehashes the strings from the arena, in arena
// order. `Hash` is injectable so tests can force collisions.
template <class Hash = id_hash>
class distinct_counter {
 public:
  static constexpr std::size_t window = 4;

  explicit distinct_counter(Hash hash = Hash()) : hash_(std::move(hash)) { resize(1 << 16); }

  // Counts `s`; `weight` is added to weight() when `s` was not seen before.
  void add(std::string_view s, double weight = 1) {
    if (pending_ == window) resolve_oldest();
    pending& p = ring_[(head_ + pending_) % window];
    p.hash = hash_(s);
    p.text.assign(s.data(), s.size());
    p.weight = weight;
    ++pending_;
    prefetch(&slots_[p.hash & mask_]);
  }

  // The number of distinct strings added.
  std::uint64_t count() {
    flush();
    return size_;
  }
  // The sum of the weights given with the first occurrence of each string, in the order
  // they were added.
  double weight() {
    flush();
    return weight_;
  }

 private:
  struct pending {
    std::uint64_t hash = 0;
    std::string text;
    double weight = 0;
  };

  static constexpr unsigned place_bits = 40;   // where in the arena: block << 21 | offset
  static constexpr unsigned offset_bits = 21;  // 2 MiB blocks (one huge page each)
  static constexpr std::size_t block_size = std::size_t{1} << offset_bits;

  // The slot's tag: the hash's top 24 bits (the index uses its low bits), never 0 so that
  // a slot of 0 is empty.
  static std::uint64_t tag_of(std::uint64_t h) noexcept {
    const std::uint64_t t = h >> place_bits;
    return t != 0 ? t : 1;
  }

  static void prefetch(const void* p) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p, 1, 3);
#else
    (void)p;
#endif
  }

  void flush() {
    while (pending_ > 0) resolve_oldest();
  }

  void resolve_oldest() {
    pending& p = ring_[head_];
    head_ = (head_ + 1) % window;
    --pending_;
    if ((size_ + 1) * 4 > capacity_ * 3) grow();
    const std::uint64_t tag = tag_of(p.hash);
    for (std::size_t i = p.hash & mask_;; i = (i + 1) & mask_) {
      const std::uint64_t v = slots_[i];
      if (v == 0) {
        slots_[i] = (tag << place_bits) | store(p.text);
        ++size_;
        weight_ += p.weight;
        return;
      }
      if ((v >> place_bits) == tag && text_at(v) == p.text) return;
    }
  }

  // Appends `s` behind its length (7 bits a byte, low first) to the arena; its place.
  // Blocks never move; a string longer than a block gets a block of its own.
  std::uint64_t store(std::string_view s) {
    const std::size_t need = s.size() + 10;
    if (blocks_.empty() || blocks_.back().used + need > blocks_.back().size) {
      if (blocks_.size() >> (place_bits - offset_bits) != 0) {
        throw std::length_error("distinct_counter: more than 1 TiB of strings");
      }
      const std::size_t size = std::max(block_size, need);
      blocks_.push_back({zeroed_memory(size), 0, size});
    }
    block& b = blocks_.back();
    const std::uint64_t place = (static_cast<std::uint64_t>(blocks_.size() - 1) << offset_bits) |
                                static_cast<std::uint64_t>(b.used);
    char* o = b.data.data() + b.used;
    std::uint64_t n = s.size();
    while (n >= 0x80) {
      *o++ = static_cast<char>(n | 0x80);
      n >>= 7;
    }
    *o++ = static_cast<char>(n);
    std::memcpy(o, s.data(), s.size());
    b.used = static_cast<std::size_t>(o - b.data.data()) + s.size();
    return place;
  }

  // The string at arena position `at` (bytes [at, ...) of a block): the string and where
  // the next one starts.
  static std::string_view read_at(const char* at, const char** next) noexcept {
    std::uint64_t n = 0;
    unsigned shift = 0;
    for (;; shift += 7) {
      const auto c = static_cast<unsigned char>(*at++);
      n |= static_cast<std::uint64_t>(c & 0x7F) << shift;
      if (c < 0x80) break;
    }
    *next = at + n;
    return std::string_view(at, static_cast<std::size_t>(n));
  }

  std::string_view text_at(std::uint64_t slot) const noexcept {
    const std::uint64_t place = slot & ((std::uint64_t{1} << place_bits) - 1);
    const block& b = blocks_[static_cast<std::size_t>(place >> offset_bits)];
    const char* next = nullptr;
    return read_at(b.data.data() + (place & (block_size - 1)), &next);
  }

  // A table of empty (zero) slots. The old table is not needed to grow: the arena has the
  // strings.
  void resize(std::size_t slots) {
    table_ = zeroed_memory();
    table_ = zeroed_memory(slots * sizeof(std::uint64_t));
    slots_ = reinterpret_cast<std::uint64_t*>(table_.data());
    capacity_ = slots;
    mask_ = slots - 1;
  }

  // Twice the slots; every string of the arena placed again, in arena order (the strings
  // are distinct: no comparisons), each slot prefetched a few strings ahead.
  void grow() {
    resize(capacity_ * 2);
    constexpr std::size_t ahead = 8;
    std::array<std::uint64_t, ahead> hashes{}, places{};
    std::size_t queued = 0;
    const auto place = [this](std::uint64_t h, std::uint64_t at) {
      std::size_t i = h & mask_;
      while (slots_[i] != 0) i = (i + 1) & mask_;
      slots_[i] = (tag_of(h) << place_bits) | at;
    };
    for (std::size_t k = 0; k < blocks_.size(); ++k) {
      const char* p = blocks_[k].data.data();
      const char* const end = p + blocks_[k].used;
      while (p < end) {
        const std::uint64_t at = (static_cast<std::uint64_t>(k) << offset_bits) |
                                 static_cast<std::uint64_t>(p - blocks_[k].data.data());
        const std::uint64_t h = hash_(read_at(p, &p));
        const std::size_t q = queued % ahead;
        if (queued >= ahead) place(hashes[q], places[q]);
        hashes[q] = h;
        places[q] = at;
        ++queued;
        prefetch(&slots_[h & mask_]);
      }
    }
    for (std::size_t j = queued > ahead ? queued - ahead : 0; j < queued; ++j) {
      place(hashes[j % ahead], places[j % ahead]);
    }
  }

  struct block {
    zeroed_memory data;
    std::size_t used;
    std::size_t size;
  };

  Hash hash_;
  zeroed_memory table_;
  std::uint64_t* slots_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t mask_ = 0;
  std::vector<block> blocks_;
  std::array<pending, window> ring_{};
  std::size_t head_ = 0, pending_ = 0;
  std::uint64_t size_ = 0;
  double weight_ = 0;
};

}  // namespace pixel::cli

#endif  // PIXEL_TOOLS_DISTINCT_HPP
