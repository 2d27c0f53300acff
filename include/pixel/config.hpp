// pixel: build configuration shared by the headers of the compiled library.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_CONFIG_HPP
#define PIXEL_CONFIG_HPP

// The compiled C++ library hides its symbols by default; its public API is marked with
// PIXEL_CXX_API so that it stays visible when libpixelcpp is built as a shared library.
// (Linux, and POSIX systems with the portable poller: README, "Platforms"; not Windows.)
#if defined(__GNUC__) || defined(__clang__)
#define PIXEL_CXX_API __attribute__((visibility("default")))
#else
#define PIXEL_CXX_API
#endif

#endif  // PIXEL_CONFIG_HPP
