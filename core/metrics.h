/*
 * metrics — counters and latency histograms of the requests, rendered in
 * the Prometheus text exposition format (version 0.0.4) by the `metrics`
 * method.  Plain counters updated on the loop thread; no locks.
 */
#ifndef LIU_METRICS_H
#define LIU_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define METRICS_MAX_METHODS 32

/* Counts one answered request of method `m` (index into the method table,
 * named by metrics_name()) with JSON-RPC `code` (0: success) after `us`
 * microseconds from arrival to reply. */
void metrics_observe(int m, int code, int64_t us);
/* Names method index m (called once per method at start). */
void metrics_name(int m, const char *name);

/* Writes the request families to `f`: liud_requests_total{method,outcome}
 * and liud_request_duration_seconds (histogram) per method. */
void metrics_write_requests(FILE *f);

#endif
