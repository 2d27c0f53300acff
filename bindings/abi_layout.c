/* Prints the C ABI's struct layouts as the C compiler sees pixel.h, as JSON: each struct's
 * size and alignment, and each field's offset and size. Run at build time
 * (bindings/CMakeLists.txt); each binding's test compares its own declarations with it.
 * SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdio.h>

#include "pixel/pixel.h"

#define ALIGN_OF(type) \
  offsetof(            \
      struct {         \
        char c;        \
        type t;        \
      },               \
      t)
#define FIELD(type, member, last)                                         \
  printf("      \"%s\": [%zu, %zu]%s\n", #member, offsetof(type, member), \
         sizeof(((type*)0)->member), last ? "" : ",")
#define BEGIN(type, last_struct)                                                             \
  printf("    \"%s\": {\"size\": %zu, \"align\": %zu, \"fields\": {\n", #type, sizeof(type), \
         ALIGN_OF(type))
#define END(last) printf("    }}%s\n", last ? "" : ",")

int main(void) {
  printf("{\n  \"version\": \"%s\", \"version_num\": %d, \"abi\": %d,\n", PIXEL_VERSION_STRING,
         PIXEL_VERSION_NUM, PIXEL_ABI_VERSION);
  printf("  \"constants\": {\"PIXEL_EVENT_ID_SIZE\": %d},\n", PIXEL_EVENT_ID_SIZE);
  printf("  \"structs\": {\n");
  BEGIN(pixel_param, 0);
  FIELD(pixel_param, key, 0);
  FIELD(pixel_param, value, 1);
  END(0);
  BEGIN(pixel_stats, 0);
  FIELD(pixel_stats, size, 0);
  FIELD(pixel_stats, queued, 0);
  FIELD(pixel_stats, in_flight, 0);
  FIELD(pixel_stats, delivered, 0);
  FIELD(pixel_stats, retried, 0);
  FIELD(pixel_stats, failed, 0);
  FIELD(pixel_stats, expired, 0);
  FIELD(pixel_stats, dropped, 0);
  FIELD(pixel_stats, concurrency_limit, 0);
  FIELD(pixel_stats, suppressed, 0);
  FIELD(pixel_stats, mode_lowered, 0);
  FIELD(pixel_stats, sampled_out, 0);
  FIELD(pixel_stats, receipts_unwritten, 0);
  FIELD(pixel_stats, endpoint_down_since_ms, 0);
  FIELD(pixel_stats, last_failure, 1);
  END(0);
  BEGIN(pixel_event_result, 0);
  FIELD(pixel_event_result, size, 0);
  FIELD(pixel_event_result, event_id, 0);
  FIELD(pixel_event_result, outcome, 0);
  FIELD(pixel_event_result, attempts, 0);
  FIELD(pixel_event_result, http_status, 0);
  FIELD(pixel_event_result, transport_error, 0);
  FIELD(pixel_event_result, message, 1);
  END(0);
  BEGIN(pixel_event, 0);
  FIELD(pixel_event, size, 0);
  FIELD(pixel_event, params, 0);
  FIELD(pixel_event, count, 0);
  FIELD(pixel_event, user_agent, 0);
  FIELD(pixel_event, tracking_mode, 0);
  FIELD(pixel_event, gpc, 1);
  END(1);
  printf("  }\n}\n");
  return 0;
}
