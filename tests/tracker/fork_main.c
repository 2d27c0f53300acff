/* A tracker used across fork(), through the C API: the parent tracks from a thread of its
 * own while its main thread forks CHILDREN children; each child tracks PER_CHILD events on
 * the parent's tracker, flushes, checks its stats and exits. Prints, one a line,
 * "acked ID PID" for each id pixel_track_event returned and "result ID OUTCOME PID NOTICE"
 * for each result callback (NOTICE: 1 when the message says the event is kept in memory in
 * a forked child). fork_oracle.py runs the endpoint and checks that every acked id arrived
 * exactly once. With a SPOOL_DIR the tracker keeps a spool, which the children leave alone.
 * With PER_CHILD 0 a child only reads the stats (all zero: it tracked nothing), frees the
 * tracker without delivering anything of the parent's and exits: the mode for TSan, which
 * cannot start threads in the child of a multi-threaded process (GCC 12's runtime).
 * With --quiet-forks first, the parent tracks and flushes its events before it forks, so
 * only the library's threads exist at each fork, idle or held by its fork gate: the mode
 * for ASan, whose allocator (GCC 12's runtime) takes no locks around fork(), so a child
 * of a parent thread caught inside malloc would wait on that thread's lock for ever.
 * SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pixel/pixel.h"

static pixel_tracker* tracker = NULL;
static int parent_events = 0;

/* One line, with one write(2): stdio buffers would be copied into every child. */
static void say(const char* line) {
  size_t n = strlen(line);
  const char* p = line;
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w <= 0) return;
    p += w;
    n -= (size_t)w;
  }
}

static void on_result(const pixel_event_result* r, void* user) {
  static const char* names[] = {"delivered", "failed", "expired", "dropped"};
  char line[256];
  (void)user;
  snprintf(line, sizeof line, "result %s %s %ld %d\n", r->event_id, names[r->outcome],
           (long)getpid(), strstr(r->message, "forked child") != NULL);
  say(line);
}

static int track_one(const char* who, int n) {
  char id[PIXEL_EVENT_ID_SIZE];
  char value[16];
  char line[128];
  pixel_param params[2];
  pixel_event event;
  pixel_status st;
  snprintf(value, sizeof value, "%d", n);
  params[0].key = "who";
  params[0].value = who;
  params[1].key = "n";
  params[1].value = value;
  memset(&event, 0, sizeof event);
  event.size = sizeof event;
  event.params = params;
  event.count = 2;
  st = pixel_track_event(tracker, &event, id);
  if (st != PIXEL_OK) {
    fprintf(stderr, "%s %d: %s\n", who, n, pixel_last_error());
    return 0;
  }
  snprintf(line, sizeof line, "acked %s %ld\n", id, (long)getpid());
  say(line);
  return 1;
}

static void* parent_producer(void* arg) {
  int i;
  (void)arg;
  for (i = 0; i < parent_events; ++i) track_one("parent", i);
  return NULL;
}

static int child(int index, int count) {
  pixel_stats s;
  char who[32];
  int i, acked = 0;
  snprintf(who, sizeof who, "child%d", index);
  for (i = 0; i < count; ++i) acked += track_one(who, i);
  if (count > 0 && pixel_tracker_flush(tracker, 20000) != PIXEL_OK) {
    fprintf(stderr, "%s: flush: %s\n", who, pixel_last_error());
    return 3;
  }
  memset(&s, 0, sizeof s);
  s.size = sizeof s;
  if (pixel_tracker_stats(tracker, &s) != PIXEL_OK) return 4;
  /* The child starts empty: only its own events, all delivered. */
  if (acked != count || s.delivered != (uint64_t)count || s.queued != 0 || s.in_flight != 0 ||
      s.dropped != 0) {
    fprintf(stderr, "%s: acked %d, delivered %llu, queued %llu, dropped %llu\n", who, acked,
            (unsigned long long)s.delivered, (unsigned long long)s.queued,
            (unsigned long long)s.dropped);
    return 5;
  }
  pixel_tracker_free(tracker);
  return 0;
}

int main(int argc, char** argv) {
  pixel_options* opts;
  pthread_t producer;
  pixel_stats s;
  int children, per_child, i, failed = 0;
  pid_t* pids;
  int quiet = argc > 1 && strcmp(argv[1], "--quiet-forks") == 0;
  if (quiet) {
    argv[1] = argv[0];
    ++argv;
    --argc;
  }
  if (argc != 5 && argc != 6) {
    fprintf(stderr,
            "usage: %s [--quiet-forks] ENDPOINT CHILDREN PER_CHILD PARENT_EVENTS [SPOOL_DIR]\n",
            argv[0]);
    return 2;
  }
  children = atoi(argv[2]);
  per_child = atoi(argv[3]);
  parent_events = atoi(argv[4]);
  opts = pixel_options_new();
  if (opts == NULL || pixel_options_set_endpoint(opts, argv[1]) != PIXEL_OK ||
      pixel_options_set_result_callback(opts, on_result, NULL) != PIXEL_OK ||
      pixel_options_set_queue_capacity(opts, 100000) != PIXEL_OK ||
      (argc == 6 && (pixel_options_set_spool_dir(opts, argv[5]) != PIXEL_OK ||
                     pixel_options_set_durability(opts, PIXEL_DURABILITY_BATCHED) != PIXEL_OK)) ||
      pixel_tracker_new(opts, &tracker) != PIXEL_OK) {
    fprintf(stderr, "setup: %s\n", pixel_last_error());
    return 1;
  }
  pixel_options_free(opts);
  pids = calloc((size_t)children, sizeof *pids);
  /* Events in flight in the parent while it forks. */
  track_one("parent-first", 0);
  if (pids == NULL || pthread_create(&producer, NULL, parent_producer, NULL) != 0) return 1;
  if (quiet &&
      (pthread_join(producer, NULL) != 0 || pixel_tracker_flush(tracker, 20000) != PIXEL_OK)) {
    fprintf(stderr, "parent: before the forks: %s\n", pixel_last_error());
    return 3;
  }
  for (i = 0; i < children; ++i) {
    pids[i] = fork();
    if (pids[i] < 0) return 1;
    if (pids[i] == 0) _exit(child(i, per_child));
  }
  if (!quiet) pthread_join(producer, NULL);
  for (i = 0; i < children; ++i) {
    int status = 0;
    if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "child %d: status %d\n", i, status);
      failed = 1;
    }
  }
  free(pids);
  if (pixel_tracker_flush(tracker, 20000) != PIXEL_OK) {
    fprintf(stderr, "parent: flush: %s\n", pixel_last_error());
    return 3;
  }
  memset(&s, 0, sizeof s);
  s.size = sizeof s;
  if (pixel_tracker_stats(tracker, &s) != PIXEL_OK) return 4;
  /* The parent's own events only, each delivered once. */
  if (s.delivered != (uint64_t)parent_events + 1 || s.dropped != 0 || s.queued != 0) {
    fprintf(stderr, "parent: delivered %llu of %d\n", (unsigned long long)s.delivered,
            parent_events + 1);
    return 5;
  }
  pixel_tracker_free(tracker);
  return failed;
}
