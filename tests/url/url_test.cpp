// SPDX-License-Identifier: MIT
#include "pixel/url.hpp"

#include <gtest/gtest.h>

namespace {

TEST(PercentEncode, UnreservedPassThrough) {
  EXPECT_EQ(pixel::percent_encode("AZaz09-._~"), "AZaz09-._~");
}

}  // namespace
