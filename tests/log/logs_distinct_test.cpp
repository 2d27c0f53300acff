// The distinct counter behind `pixel logs --stats`, against std::unordered_set: exact
// counts and first-occurrence weights across growth, with hashes that collide on purpose.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "distinct.hpp"

namespace {

using pixel::cli::distinct_counter;

// What the counter must say: the distinct count and the sum of the weights of first
// occurrences, added in the same order.
struct oracle {
  std::unordered_set<std::string> seen;
  double weight = 0;
  void add(const std::string& s, double w) {
    if (seen.insert(s).second) weight += w;
  }
};

template <class Hash>
void check(const std::vector<std::string>& input, Hash hash) {
  distinct_counter<Hash> c(hash);
  oracle o;
  for (std::size_t i = 0; i < input.size(); ++i) {
    const double w = 1.0 + static_cast<double>(i % 7) / 4;
    c.add(input[i], w);
    o.add(input[i], w);
    if (i % 9973 == 0) {  // asking in the middle resolves what is pending; adding goes on
      ASSERT_EQ(c.count(), o.seen.size()) << "after " << i + 1;
    }
  }
  EXPECT_EQ(c.count(), o.seen.size());
  EXPECT_EQ(c.weight(), o.weight);  // the same additions in the same order: equal bits
}

// ULID-like ids, each repeated a few times in a shuffled order: enough distinct ids that
// the table (65,536 slots at first) grows twice.
std::vector<std::string> ids_with_repeats(std::size_t distinct, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < distinct; ++i) {
    std::string id = "01J" + std::to_string(100000000 + i) + "ABCDEFGHJKMNP";
    for (std::uint32_t k = 0; k < 1 + rng() % 3; ++k) out.push_back(id);
  }
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

TEST(distinct_counter, counts_repeated_ids_exactly_across_growth) {
  check(ids_with_repeats(200000, 1), pixel::cli::id_hash());
}

TEST(distinct_counter, repeats_within_the_lookahead_window_count_once) {
  std::vector<std::string> in;
  for (int i = 0; i < 50; ++i) {
    in.insert(in.end(), {"a", "a", "b", "a", "c", "b", "a", "a", "a", "d"});
    in.push_back("x" + std::to_string(i));
  }
  check(in, pixel::cli::id_hash());
  distinct_counter<> c;
  c.add("a", 4);
  c.add("a", 100);
  EXPECT_EQ(c.count(), 1U);
  EXPECT_EQ(c.weight(), 4);
}

// Every string hashes to one value: one tag, one home slot, every probe compares strings.
struct one_hash {
  std::uint64_t operator()(std::string_view) const noexcept { return 0x123456789ABCDEF0ULL; }
};

// The same home slot, tags that differ: only the tags tell the strings apart.
struct same_slot_hash {
  std::uint64_t operator()(std::string_view s) const noexcept {
    return (pixel::cli::id_hash()(s) & ~((std::uint64_t{1} << 40) - 1)) | 5;
  }
};

// The same tag (the top 24 bits, and 0, which the counter must not take for empty), slots
// that differ.
struct same_tag_hash {
  std::uint64_t operator()(std::string_view s) const noexcept {
    return pixel::cli::id_hash()(s) & ((std::uint64_t{1} << 40) - 1);
  }
};

// Strings that share a hash value by construction: strings of one length share it.
struct length_hash {
  std::uint64_t operator()(std::string_view s) const noexcept {
    return s.size() * 0x9E3779B97F4A7C15ULL;
  }
};

TEST(distinct_counter, collisions_of_every_kind_are_told_apart_by_the_strings) {
  const std::vector<std::string> small = ids_with_repeats(3000, 2);
  check(small, one_hash());
  check(small, same_slot_hash());
  check(ids_with_repeats(120000, 3), same_tag_hash());  // and through growth
  // Equal lengths, strings differing in one byte anywhere; prefixes of one another.
  std::vector<std::string> in;
  for (int i = 0; i < 4000; ++i) {
    std::string s(26, 'A');
    s[static_cast<std::size_t>(i % 26)] = static_cast<char>('a' + i / 26 % 26);
    s[25] = static_cast<char>('0' + i / 676);
    in.push_back(s);
    in.push_back(s.substr(0, static_cast<std::size_t>(i % 27)));
    in.push_back(s);
  }
  check(in, length_hash());
}

TEST(distinct_counter, any_bytes_and_lengths) {
  std::vector<std::string> in = {"", "", std::string("a\0b", 3), std::string("a\0c", 3), "a"};
  in.push_back(std::string(127, 'x'));
  in.push_back(std::string(128, 'x'));  // its length takes two bytes in the arena
  in.push_back(std::string(128, 'x'));
  in.push_back(std::string(3 << 20, 'y'));  // longer than an arena block
  in.push_back(std::string(3 << 20, 'y'));
  std::string near(3 << 20, 'y');
  near.back() = 'z';
  in.push_back(near);
  check(in, length_hash());
  // Then enough others that the table grows with the long ones in the arena.
  for (int i = 0; i < 70000; ++i) in.push_back("after-" + std::to_string(i % 60000));
  in.push_back("");
  check(in, pixel::cli::id_hash());
}

}  // namespace
