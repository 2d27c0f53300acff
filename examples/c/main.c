/* pixel from C: build a pixel URL and its <img> tag, then deliver events in the
 * background and report how each one ended.
 *
 *   pixel_example_c [ENDPOINT [EVENTS]]
 *
 * With EVENTS > 0 it tracks that many events to ENDPOINT, flushes, and exits 0 only if
 * every one was delivered. SPDX-License-Identifier: MIT */
#include <pixel/pixel.h>

#include <stdio.h>
#include <stdlib.h>

/* Counted on the tracker's worker thread; read after pixel_tracker_free has joined it. */
typedef struct outcomes {
  unsigned long delivered, other;
} outcomes;

static void on_result(const pixel_event_result* r, void* user) {
  outcomes* o = (outcomes*)user;
  if (r->outcome == PIXEL_OUTCOME_DELIVERED) {
    o->delivered++;
  } else {
    o->other++;
    fprintf(stderr, "event %s not delivered: %s\n", r->event_id, r->message);
  }
}

static int fail(const char* what, pixel_status st) {
  fprintf(stderr, "%s: %s (%s)\n", what, pixel_status_str(st), pixel_last_error());
  return 1;
}

int main(int argc, char** argv) {
  const char* endpoint = argc > 1 ? argv[1] : "https://d111111abcdef8.cloudfront.net";
  const long events = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
  pixel_param params[] = {{"userid", "aws_user"}, {"thirdpartyname", "example.com"}};
  char url[8193], tag[9000];
  size_t len = 0;
  pixel_status st;
  pixel_options* opts;
  pixel_tracker* tracker = NULL;
  pixel_stats stats = PIXEL_STATS_INIT;
  outcomes seen = {0, 0};
  long i;

  printf("libpixel %s\n", pixel_version());
  st = pixel_url_build(endpoint, params, 2, PIXEL_URL_EVENT_ID | PIXEL_URL_TIMESTAMP, url,
                       sizeof url, &len);
  if (st != PIXEL_OK) return fail("pixel_url_build", st);
  printf("url: %s\n", url);
  st = pixel_img_tag(url, PIXEL_IMG_EMAIL, tag, sizeof tag, &len);
  if (st != PIXEL_OK) return fail("pixel_img_tag", st);
  printf("tag: %s\n", tag);
  if (events <= 0) return 0;

  opts = pixel_options_new();
  if (opts == NULL) return fail("pixel_options_new", PIXEL_ERR_INTERNAL);
  if ((st = pixel_options_set_endpoint(opts, endpoint)) != PIXEL_OK ||
      (st = pixel_options_set_queue_capacity(opts, (size_t)events)) != PIXEL_OK ||
      (st = pixel_options_set_user_agent(opts, "pixel-example-c/1")) != PIXEL_OK ||
      (st = pixel_options_set_result_callback(opts, on_result, &seen)) != PIXEL_OK ||
      (st = pixel_tracker_new(opts, &tracker)) != PIXEL_OK) {
    pixel_options_free(opts);
    return fail("tracker setup", st);
  }
  pixel_options_free(opts); /* the tracker keeps its own copy */

  for (i = 0; i < events; ++i) {
    char n[24];
    pixel_param p[3];
    snprintf(n, sizeof n, "%ld", i);
    p[0] = params[0];
    p[1] = params[1];
    p[2].key = "n";
    p[2].value = n;
    st = pixel_track(tracker, p, 3); /* returns at once: delivery is in the background */
    if (st != PIXEL_OK) {
      pixel_tracker_free(tracker);
      return fail("pixel_track", st);
    }
  }
  if (pixel_tracker_flush(tracker, 60000) != PIXEL_OK) fprintf(stderr, "flush timed out\n");
  pixel_tracker_stats(tracker, &stats);
  pixel_tracker_free(tracker); /* shuts down; every callback has run when it returns */
  printf("delivered %llu, failed %llu, expired %llu, dropped %llu; callbacks %lu/%lu\n",
         (unsigned long long)stats.delivered, (unsigned long long)stats.failed,
         (unsigned long long)stats.expired, (unsigned long long)stats.dropped, seen.delivered,
         seen.other);
  return stats.delivered == (uint64_t)events && seen.delivered == (unsigned long)events ? 0 : 1;
}
