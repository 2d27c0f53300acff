// What an attempt gave: the one struct the transport fills (transport/transport.hpp, in a
// completion beside the event) and the delivery policy judges (policy/policy.hpp). Plain
// data in the library's own terms: no libcurl types.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_TRACKER_ATTEMPT_HPP
#define PIXEL_SRC_TRACKER_ATTEMPT_HPP

#include <string>

#include "pixel/tracker.hpp"
#include "tracker/clock.hpp"

namespace pixel::detail {

struct attempt_result {
  transport_error error = transport_error::none;  // none: a response (see status)
  long status = 0;                                // HTTP status; 0 without a response
  std::string location;                           // a redirect's target, absolute; "" when none
  std::string retry_after;                        // the Retry-After header's value; "" when none
  std::string error_text;  // the transport's words for `error`, for the message
  // The request never reached the endpoint's application: it could not be sent on a
  // connection the server had already closed (an HTTP/2 GOAWAY, a keep-alive timeout).
  bool unprocessed = false;
  // The endpoint is set up wrong in a way waiting cannot cure: an https:// endpoint that
  // answered the TLS handshake with something else (plain HTTP). Final, and not an outage.
  bool misconfigured = false;
  steady_clock::duration latency{0};  // from the attempt's start to its end
};

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_ATTEMPT_HPP
