// SPDX-License-Identifier: MIT
#include "pixel/html.hpp"

#include <gtest/gtest.h>

namespace {

TEST(HtmlEscape, AllFive) { EXPECT_EQ(pixel::html_escape("&<>\"'"), "&amp;&lt;&gt;&quot;&#39;"); }

}  // namespace
