/* The C smoke test's entry point, shared by the C source and its C++ driver.
 * SPDX-License-Identifier: MIT */
#ifndef PIXEL_TESTS_C_API_SMOKE_H
#define PIXEL_TESTS_C_API_SMOKE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct smoke_report {
  uint64_t delivered;           /* stats.delivered after the flush */
  unsigned callbacks_delivered; /* result callbacks with a delivered outcome */
  unsigned callbacks_other;     /* any other callback */
  char event_id[27];            /* an id pixel_track_event returned */
  char failure[512];            /* the failed check, when pixel_c_smoke returns non-zero */
} smoke_report;

/* Runs every C API function against `endpoint` (a live loopback pixel URL). 0 on success. */
int pixel_c_smoke(const char* endpoint, smoke_report* report);

#ifdef __cplusplus
}
#endif

#endif
