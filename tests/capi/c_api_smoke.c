/* The C header compiled as C99 (-std=c99 -Wall -Wextra -Wpedantic -Werror), calling every
 * function of the C API. Driven by capi_c_test.cpp, which supplies a live loopback
 * endpoint and checks what arrived there.
 * SPDX-License-Identifier: MIT */
#include "c_api_smoke.h"

#include <stdio.h>
#include <string.h>

#include "pixel/pixel.h"

#define CHECK(cond)                                                                           \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      snprintf(report->failure, sizeof report->failure, "%s:%d: %s (%s)", __FILE__, __LINE__, \
               #cond, pixel_last_error());                                                    \
      return 1;                                                                               \
    }                                                                                         \
  } while (0)

static void on_result(const pixel_event_result* result, void* user) {
  smoke_report* report = (smoke_report*)user;
  /* Runs on the worker thread; the driver reads the counters only after free. */
  if (result->outcome == PIXEL_OUTCOME_DELIVERED && result->http_status == 200 &&
      strlen(result->event_id) == 26 && result->message != NULL) {
    report->callbacks_delivered++;
  } else {
    report->callbacks_other++;
  }
}

static void on_log(const char* message, void* user) {
  smoke_report* report = (smoke_report*)user;
  /* The endpoint never goes down here: any line is unexpected. */
  (void)message;
  report->callbacks_other++;
}

/* A setter takes the value; pixel_tracker_new refuses it with `status`, naming `name`. */
#define CHECK_REFUSED_AT_NEW(set_call, status, name)                      \
  do {                                                                    \
    pixel_options* o = pixel_options_new();                               \
    pixel_tracker* refused = NULL;                                        \
    CHECK(o != NULL);                                                     \
    CHECK(pixel_options_set_endpoint(o, endpoint) == PIXEL_OK);           \
    CHECK((set_call) == PIXEL_OK);                                        \
    CHECK(pixel_tracker_new(o, &refused) == (status) && refused == NULL); \
    CHECK(strstr(pixel_last_error(), (name)) != NULL);                    \
    pixel_options_free(o);                                                \
  } while (0)

int pixel_c_smoke(const char* endpoint, smoke_report* report) {
  char buf[512];
  size_t len = 0;
  pixel_param params[2];
  pixel_options* opts;
  pixel_tracker* tracker = NULL;
  pixel_stats stats = PIXEL_STATS_INIT;
  pixel_event event = PIXEL_EVENT_INIT;
  char id[PIXEL_EVENT_ID_SIZE];
  unsigned i;

  params[0].key = "userid";
  params[0].value = "aws_user";
  params[1].key = "thirdpartyname";
  params[1].value = "example.com";

  CHECK(strcmp(pixel_version(), "0.1.0") == 0 || strlen(pixel_version()) >= 5);
  CHECK(strcmp(pixel_status_str(PIXEL_OK), "ok") == 0);
  CHECK(strcmp(pixel_status_str((pixel_status)1000), "unknown status") == 0);
  CHECK(PIXEL_ERR_INTERNAL == 10 && PIXEL_IMG_PAGE == 1 && PIXEL_URL_TIMESTAMP == 2u);
  CHECK(PIXEL_EVENT_ID_SIZE == 27 && PIXEL_TRANSPORT_OK == 0 && PIXEL_TRANSPORT_OTHER == 10);
  CHECK(strcmp(pixel_transport_error_str(PIXEL_TRANSPORT_OK), "none") == 0);
  CHECK(strcmp(pixel_transport_error_str(PIXEL_TRANSPORT_CERTIFICATE), "certificate") == 0);
  CHECK(strcmp(pixel_transport_error_str((pixel_transport_error)99), "unknown") == 0);

  /* URLs and tags, with the buffer protocol. */
  CHECK(pixel_url_build("https://d111111abcdef8.cloudfront.net", params, 2, 0, buf, sizeof buf,
                        &len) == PIXEL_OK);
  CHECK(strcmp(buf,
               "https://d111111abcdef8.cloudfront.net/1x1.png"
               "?userid=aws_user&thirdpartyname=example.com") == 0);
  CHECK(len == strlen(buf));
  CHECK(pixel_url_build("https://x.example", params, 2, 0, NULL, 0, &len) ==
        PIXEL_ERR_BUFFER_TOO_SMALL);
  CHECK(len == strlen("https://x.example/1x1.png?userid=aws_user&thirdpartyname=example.com"));
  CHECK(pixel_url_build(NULL, params, 2, 0, buf, sizeof buf, &len) == PIXEL_ERR_INVALID_ARGUMENT);
  CHECK(strlen(pixel_last_error()) > 0);
  CHECK(pixel_img_tag("https://x.example/1x1.png?a=1&b=2", PIXEL_IMG_EMAIL, buf, sizeof buf,
                      &len) == PIXEL_OK);
  CHECK(strstr(buf, "src=\"https://x.example/1x1.png?a=1&amp;b=2\"") != NULL);
  CHECK(pixel_img_tag("https://x.example/", (pixel_img_style)9, buf, sizeof buf, &len) ==
        PIXEL_ERR_INVALID_ARGUMENT);
  CHECK(pixel_img_tag("javascript:alert(1)", PIXEL_IMG_PAGE, buf, sizeof buf, &len) ==
        PIXEL_ERR_INVALID_ARGUMENT);

  /* Signed URLs (the vectors are checked in capi_sign_test.cpp). */
  {
    static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    pixel_options* so = pixel_options_new();
    CHECK(pixel_url_build_signed("https://x.example", params, 2, 0, "k1", key, sizeof key, 60, buf,
                                 sizeof buf, &len) == PIXEL_OK);
    CHECK(strstr(buf, "&kid=k1&exp=") != NULL && len == strlen(buf));
    CHECK(pixel_url_build_signed("https://x.example", params, 2, 0, "k1", key, 15, 60, buf,
                                 sizeof buf, &len) == PIXEL_ERR_INVALID_ARGUMENT);
    CHECK(so != NULL && pixel_options_set_signing_key(so, "k1", key, sizeof key) == PIXEL_OK);
    CHECK(pixel_options_set_signature_ttl_s(so, 3600) == PIXEL_OK);
    CHECK(pixel_options_set_signing_key(so, NULL, NULL, 0) == PIXEL_OK);
    pixel_options_free(so);
  }

  /* Options: setters check what C cannot (NULL, enums, flags, UTF-8); pixel_tracker_new
     checks the values, once, naming the option. */
  CHECK_REFUSED_AT_NEW(pixel_options_set_endpoint(o, "ftp://x"), PIXEL_ERR_INVALID_ENDPOINT,
                       "scheme");
  CHECK_REFUSED_AT_NEW(pixel_options_set_queue_capacity(o, 0), PIXEL_ERR_INVALID_ARGUMENT,
                       "queue_capacity");
  CHECK_REFUSED_AT_NEW(pixel_options_set_max_in_flight(o, 0), PIXEL_ERR_INVALID_ARGUMENT,
                       "max_in_flight");
  CHECK_REFUSED_AT_NEW(pixel_options_set_max_in_flight(o, 1025), PIXEL_ERR_INVALID_ARGUMENT,
                       "max_in_flight");
  CHECK_REFUSED_AT_NEW(pixel_options_set_min_in_flight(o, 0), PIXEL_ERR_INVALID_ARGUMENT,
                       "min_in_flight");
  CHECK_REFUSED_AT_NEW(pixel_options_set_worker_threads(o, 0), PIXEL_ERR_INVALID_ARGUMENT,
                       "worker_threads");
  CHECK_REFUSED_AT_NEW(pixel_options_set_worker_threads(o, 65), PIXEL_ERR_INVALID_ARGUMENT,
                       "worker_threads");
  CHECK_REFUSED_AT_NEW(pixel_options_set_connect_timeout_ms(o, 0), PIXEL_ERR_INVALID_ARGUMENT,
                       "connect_timeout");
  CHECK_REFUSED_AT_NEW(pixel_options_set_request_timeout_ms(o, 0), PIXEL_ERR_INVALID_ARGUMENT,
                       "request_timeout");
  CHECK_REFUSED_AT_NEW(pixel_options_set_max_attempts(o, 0), PIXEL_ERR_INVALID_ARGUMENT,
                       "max_attempts");
  CHECK_REFUSED_AT_NEW(pixel_options_set_max_age_ms(o, 0), PIXEL_ERR_INVALID_ARGUMENT, "max_age");
  CHECK_REFUSED_AT_NEW(pixel_options_set_probe_interval_ms(o, 0), PIXEL_ERR_INVALID_ARGUMENT,
                       "probe_interval");
  CHECK_REFUSED_AT_NEW(pixel_options_set_user_agent(o, "bad\nagent"), PIXEL_ERR_INVALID_ARGUMENT,
                       "user_agent");
  CHECK_REFUSED_AT_NEW(pixel_options_set_ca_file(o, "/nonexistent/ca.pem"),
                       PIXEL_ERR_INVALID_ARGUMENT, "ca_file");
  CHECK_REFUSED_AT_NEW(pixel_options_set_pseudonym_key(o, (const uint8_t*)"short", 5),
                       PIXEL_ERR_INVALID_ARGUMENT, "pseudonym_key");
  CHECK_REFUSED_AT_NEW(pixel_options_set_tracking_mode(o, PIXEL_TRACKING_PSEUDONYMOUS),
                       PIXEL_ERR_INVALID_ARGUMENT, "pseudonym_key");
  opts = pixel_options_new();
  CHECK(opts != NULL);
  CHECK(pixel_options_set_endpoint(opts, NULL) == PIXEL_ERR_INVALID_ARGUMENT);
  CHECK(pixel_options_set_endpoint(opts, endpoint) == PIXEL_OK);
  CHECK(pixel_options_set_queue_capacity(opts, 64) == PIXEL_OK);
  CHECK(pixel_options_set_overflow_policy(opts, (pixel_overflow_policy)7) ==
        PIXEL_ERR_INVALID_ARGUMENT);
  CHECK(pixel_options_set_overflow_policy(opts, PIXEL_OVERFLOW_BLOCK) == PIXEL_OK);
  CHECK(pixel_options_set_block_timeout_ms(opts, 0) == PIXEL_OK); /* 0: do not wait */
  CHECK(pixel_options_set_block_timeout_ms(opts, 30000) == PIXEL_OK);
  CHECK(pixel_options_set_allow_http(opts, 0) == PIXEL_OK);
  CHECK(pixel_options_set_max_in_flight(opts, 4) == PIXEL_OK);
  CHECK(pixel_options_set_min_in_flight(opts, 2) == PIXEL_OK);
  CHECK(pixel_options_set_worker_threads(opts, 1) == PIXEL_OK);
  CHECK(pixel_options_set_connect_timeout_ms(opts, 10000) == PIXEL_OK);
  CHECK(pixel_options_set_request_timeout_ms(opts, 30000) == PIXEL_OK);
  CHECK(pixel_options_set_max_attempts(opts, 5) == PIXEL_OK);
  CHECK(pixel_options_set_max_age_ms(opts, 120000) == PIXEL_OK);
  CHECK(pixel_options_set_shutdown_timeout_ms(opts, 10000) == PIXEL_OK);
  CHECK(pixel_options_set_user_agent(opts, "bad\xC3") == PIXEL_ERR_INVALID_UTF8);
  CHECK(pixel_options_set_user_agent(opts, "pixel-c-test/1") == PIXEL_OK);
  CHECK(pixel_options_set_proxy(opts, NULL) == PIXEL_ERR_INVALID_ARGUMENT);
  CHECK(pixel_options_set_proxy(opts, "") == PIXEL_OK);
  CHECK(pixel_options_set_backoff_base_ms(opts, 10) == PIXEL_OK);
  CHECK(pixel_options_set_backoff_max_ms(opts, 1000) == PIXEL_OK);
  CHECK(pixel_options_set_retry_after_cap_ms(opts, 5000) == PIXEL_OK);
  CHECK(pixel_options_set_outage_threshold(opts, 5) == PIXEL_OK);
  CHECK(pixel_options_set_probe_interval_ms(opts, 500) == PIXEL_OK);
  CHECK(pixel_options_set_ca_file(opts, NULL) == PIXEL_ERR_INVALID_ARGUMENT);
  CHECK(pixel_options_set_ca_file(opts, "") == PIXEL_OK);
  CHECK(pixel_options_set_url_flags(opts, 4u) == PIXEL_ERR_INVALID_ARGUMENT);
  CHECK(pixel_options_set_url_flags(opts, PIXEL_URL_EVENT_ID | PIXEL_URL_TIMESTAMP) == PIXEL_OK);
  CHECK(pixel_options_set_result_callback(opts, on_result, report) == PIXEL_OK);
  CHECK(pixel_options_set_log_callback(NULL, on_log, report) == PIXEL_ERR_INVALID_ARGUMENT);
  CHECK(pixel_options_set_log_callback(opts, on_log, report) == PIXEL_OK);
  /* Consent: the defaults, set explicitly (identified events go out as given). */
  CHECK(pixel_options_set_tracking_mode(opts, (pixel_tracking_mode)9) ==
        PIXEL_ERR_INVALID_ARGUMENT);
  CHECK(pixel_options_set_tracking_mode(opts, PIXEL_TRACKING_IDENTIFIED) == PIXEL_OK);
  CHECK(pixel_options_set_gpc_mode(opts, PIXEL_TRACKING_AGGREGATE) == PIXEL_OK);
  {
    const char* identity[] = {"userid", "email", "recipient"};
    CHECK(pixel_options_set_identity_params(opts, identity, 3) == PIXEL_OK);
  }
  CHECK(pixel_options_set_pseudonym_key(opts, (const uint8_t*)"0123456789abcdef", 16) == PIXEL_OK);

  /* The tracker: deliver, flush, count, shut down, refuse, free. */
  CHECK(pixel_tracker_new(NULL, &tracker) == PIXEL_ERR_INVALID_ARGUMENT && tracker == NULL);
  CHECK(pixel_tracker_new(opts, &tracker) == PIXEL_OK && tracker != NULL);
  pixel_options_free(opts); /* the tracker holds its own copy */
  pixel_options_free(NULL);

  for (i = 0; i < 10; ++i) CHECK(pixel_track(tracker, params, 2) == PIXEL_OK);
  CHECK(pixel_track_with_user_agent(tracker, params, 1, "Mozilla/5.0 (smoke)") == PIXEL_OK);
  event.params = params;
  event.count = 2;
  event.user_agent = NULL;
  CHECK(pixel_track_event(tracker, &event, id) == PIXEL_OK && strlen(id) == 26);
  memcpy(report->event_id, id, sizeof id);
  CHECK(pixel_track_event(tracker, &event, NULL) == PIXEL_OK);
  CHECK(pixel_track_event(tracker, NULL, id) == PIXEL_ERR_INVALID_ARGUMENT && id[0] == '\0');
  event.user_agent = "bad\r\nagent";
  CHECK(pixel_track_event(tracker, &event, id) == PIXEL_ERR_INVALID_ARGUMENT && id[0] == '\0');
  CHECK(pixel_track(tracker, NULL, 1) == PIXEL_ERR_INVALID_ARGUMENT);
  CHECK(pixel_tracker_flush(tracker, 60000) == PIXEL_OK);
  CHECK(pixel_tracker_stats(tracker, &stats) == PIXEL_OK);
  CHECK(stats.delivered == 13 && stats.queued == 0 && stats.in_flight == 0);
  CHECK(stats.failed == 0 && stats.expired == 0 && stats.dropped == 0);
  CHECK(stats.concurrency_limit >= 2 && stats.concurrency_limit <= 4);
  CHECK(pixel_tracker_stats(tracker, NULL) == PIXEL_ERR_INVALID_ARGUMENT);
  CHECK(pixel_tracker_shutdown(tracker, 5000) == PIXEL_OK);
  CHECK(pixel_tracker_shutdown(tracker, 5000) == PIXEL_OK);
  CHECK(pixel_track(tracker, params, 2) == PIXEL_ERR_SHUT_DOWN);
  pixel_tracker_free(tracker);
  pixel_tracker_free(NULL);

  report->delivered = stats.delivered;
  return 0;
}
