/* A second process for the spool tests, on the C API only (libpixel.so):
 *
 *   spool_child hold DIR
 *       opens a tracker on the spool DIR, prints "locked" and keeps it until killed;
 *   spool_child track DIR ENDPOINT sync|batched THREADS PACE_US
 *       tracks events from THREADS threads until killed, printing "<eid> <monotonic us>"
 *       for each as soon as pixel_track_event returns PIXEL_OK (one write per line);
 *   spool_child drain DIR ENDPOINT
 *       opens the spool, flushes for up to 60 s and exits: 0 when every event found there
 *       got an outcome, printing "recovered N delivered N".
 *
 * Exit code 3 and the reason on stderr when pixel_tracker_new fails.
 * SPDX-License-Identifier: MIT */
#include <pixel/pixel.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pixel_tracker* tracker;
static long pace_us;

static void put_line(int fd, const char* line, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, line, len);
    if (n <= 0) return;
    line += n;
    len -= (size_t)n;
  }
}

static void* producer(void* arg) {
  const int thread = (int)(intptr_t)arg;
  char id[PIXEL_EVENT_ID_SIZE];
  char n[32];
  char line[128];
  unsigned long i;
  for (i = 0;; ++i) {
    pixel_param params[2];
    pixel_event event = PIXEL_EVENT_INIT;
    pixel_status st;
    snprintf(n, sizeof n, "%d-%lu", thread, i);
    params[0].key = "userid";
    params[0].value = "spool-kill";
    params[1].key = "n";
    params[1].value = n;
    event.params = params;
    event.count = 2;
    event.user_agent = NULL;
    st = pixel_track_event(tracker, &event, id);
    if (st == PIXEL_OK) {
      struct timespec ts;
      long long us;
      int len;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      us = (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
      len = snprintf(line, sizeof line, "%s %lld\n", id, us);
      put_line(1, line, (size_t)len);
    } else {
      int len =
          snprintf(line, sizeof line, "track: %s: %s\n", pixel_status_str(st), pixel_last_error());
      put_line(2, line, (size_t)len);
    }
    if (pace_us > 0) usleep((useconds_t)pace_us);
  }
  return NULL;
}

static pixel_options* options_for(const char* dir, const char* endpoint, pixel_durability level) {
  pixel_options* o = pixel_options_new();
  if (o == NULL) return NULL;
  if (pixel_options_set_endpoint(o, endpoint) != PIXEL_OK ||
      pixel_options_set_spool_dir(o, dir) != PIXEL_OK ||
      pixel_options_set_durability(o, level) != PIXEL_OK ||
      pixel_options_set_queue_capacity(o, 100000) != PIXEL_OK ||
      pixel_options_set_shutdown_timeout_ms(o, 100) != PIXEL_OK) {
    fprintf(stderr, "spool_child: options: %s\n", pixel_last_error());
    pixel_options_free(o);
    return NULL;
  }
  return o;
}

static int open_tracker(pixel_options* o) {
  pixel_status st;
  if (o == NULL) return 2;
  st = pixel_tracker_new(o, &tracker);
  pixel_options_free(o);
  if (st != PIXEL_OK) {
    fprintf(stderr, "spool_child: %s: %s\n", pixel_status_str(st), pixel_last_error());
    return 3;
  }
  return 0;
}

int main(int argc, char** argv) {
  int rc;
  if (argc == 3 && strcmp(argv[1], "hold") == 0) {
    if ((rc = open_tracker(
             options_for(argv[2], "http://127.0.0.1:9/1x1.png", PIXEL_DURABILITY_BATCHED))) != 0) {
      return rc;
    }
    put_line(1, "locked\n", 7);
    for (;;) pause();
  }
  if (argc == 7 && strcmp(argv[1], "track") == 0) {
    const pixel_durability level =
        strcmp(argv[4], "sync") == 0 ? PIXEL_DURABILITY_SYNC : PIXEL_DURABILITY_BATCHED;
    const int threads = atoi(argv[5]);
    int t;
    pace_us = atol(argv[6]);
    if ((rc = open_tracker(options_for(argv[2], argv[3], level))) != 0) return rc;
    for (t = 1; t < threads; ++t) {
      pthread_t th;
      if (pthread_create(&th, NULL, producer, (void*)(intptr_t)t) != 0) return 4;
    }
    producer((void*)(intptr_t)0);
    return 0;
  }
  if (argc == 4 && strcmp(argv[1], "drain") == 0) {
    pixel_stats before = PIXEL_STATS_INIT, after = PIXEL_STATS_INIT;
    pixel_status flushed;
    if ((rc = open_tracker(options_for(argv[2], argv[3], PIXEL_DURABILITY_SYNC))) != 0) return rc;
    pixel_tracker_stats(tracker, &before);
    flushed = pixel_tracker_flush(tracker, 60000);
    pixel_tracker_stats(tracker, &after);
    printf("recovered %llu delivered %llu\n",
           (unsigned long long)(before.queued + before.in_flight + before.delivered +
                                before.failed + before.expired + before.dropped),
           (unsigned long long)after.delivered);
    pixel_tracker_free(tracker);
    return flushed == PIXEL_OK ? 0 : 1;
  }
  fprintf(stderr,
          "usage: spool_child hold DIR | track DIR ENDPOINT sync|batched THREADS PACE_US | "
          "drain DIR ENDPOINT\n");
  return 2;
}
