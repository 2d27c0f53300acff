// pixel: tracking-pixel SDK for CloudFront real-time logs.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_VERSION_HPP
#define PIXEL_VERSION_HPP

#define PIXEL_VERSION_MAJOR 0
#define PIXEL_VERSION_MINOR 1
#define PIXEL_VERSION_PATCH 0
#define PIXEL_VERSION_STRING "0.1.0"

#endif  // PIXEL_VERSION_HPP
