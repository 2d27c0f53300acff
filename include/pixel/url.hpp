// pixel: pixel URLs. Header-only, standard library only, C++17.
// SPDX-License-Identifier: MIT
//
//   auto ep = pixel::endpoint::parse("https://d111111abcdef8.cloudfront.net").value();
//   pixel::url_builder builder(ep);
//   std::string url;  // reuse it: once warm, building allocates nothing
//   auto id = builder.build_into({{"userid", "aws_user"}, {"thirdpartyname", "example.com"}}, url);
//   if (!id) std::fprintf(stderr, "%s\n", id.error().message().c_str());
//   // url == "https://d111111abcdef8.cloudfront.net/1x1.png?userid=aws_user&...&eid=01J...&ts=..."
//
// This header gathers the URL component's parts, one header per concern under pixel/url/:
// encoding, utf8, params, event_id, endpoint, builder and sign.
#ifndef PIXEL_URL_HPP
#define PIXEL_URL_HPP

#include "pixel/url/builder.hpp"
#include "pixel/url/encoding.hpp"
#include "pixel/url/endpoint.hpp"
#include "pixel/url/event_id.hpp"
#include "pixel/url/params.hpp"
#include "pixel/url/sign.hpp"
#include "pixel/url/utf8.hpp"

#endif  // PIXEL_URL_HPP
