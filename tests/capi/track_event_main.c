/* Tracks events through pixel_track_event against the endpoint in argv[1] and prints, one a
 * line, "tracked ID" for each id it returned and "result ID OUTCOME TRANSPORT_ERROR" for
 * each result callback. Driven by track_event_oracle.py, which runs the server.
 * SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pixel/pixel.h"

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_result(const pixel_event_result* r, void* user) {
  static const char* names[] = {"delivered", "failed", "expired", "dropped"};
  (void)user;
  pthread_mutex_lock(&out_lock);
  printf("result %s %s %s\n", r->event_id, names[r->outcome],
         pixel_transport_error_str(r->transport_error));
  pthread_mutex_unlock(&out_lock);
}

int main(int argc, char** argv) {
  pixel_options* opts;
  pixel_tracker* tracker = NULL;
  pixel_param params[2];
  pixel_event event = PIXEL_EVENT_INIT;
  char id[PIXEL_EVENT_ID_SIZE];
  char n[16];
  int i, count;
  if (argc != 3) {
    fprintf(stderr, "usage: %s ENDPOINT COUNT\n", argv[0]);
    return 2;
  }
  count = atoi(argv[2]);
  opts = pixel_options_new();
  if (opts == NULL || pixel_options_set_endpoint(opts, argv[1]) != PIXEL_OK ||
      pixel_options_set_result_callback(opts, on_result, NULL) != PIXEL_OK ||
      pixel_tracker_new(opts, &tracker) != PIXEL_OK) {
    fprintf(stderr, "setup: %s\n", pixel_last_error());
    return 1;
  }
  pixel_options_free(opts);
  params[0].key = "thirdpartyname";
  params[0].value = "example.com";
  params[1].key = "n";
  params[1].value = n;
  event.params = params;
  event.count = 2;
  for (i = 0; i < count; ++i) {
    snprintf(n, sizeof n, "%d", i);
    event.user_agent = (i % 2 == 0) ? NULL : "Mozilla/5.0 (track-event)";
    if (pixel_track_event(tracker, &event, id) != PIXEL_OK) {
      fprintf(stderr, "track: %s\n", pixel_last_error());
      return 1;
    }
    pthread_mutex_lock(&out_lock);
    printf("tracked %s\n", id);
    pthread_mutex_unlock(&out_lock);
  }
  if (pixel_tracker_flush(tracker, 60000) != PIXEL_OK) {
    fprintf(stderr, "flush: %s\n", pixel_last_error());
    return 1;
  }
  pixel_tracker_free(tracker);
  return 0;
}
