// pixel: everything in one include.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_PIXEL_HPP
#define PIXEL_PIXEL_HPP

#include "pixel/consent.hpp"
#include "pixel/error.hpp"
#include "pixel/html.hpp"
#include "pixel/log.hpp"
#include "pixel/opens.hpp"
#include "pixel/tracker.hpp"
#include "pixel/url.hpp"
#include "pixel/version.hpp"

#endif  // PIXEL_PIXEL_HPP
