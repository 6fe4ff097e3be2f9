/* metrics — see metrics.h. */
#include "metrics.h"

#include <string.h>

/* Buckets in seconds: from 50 µs (a cached read) to 5 s (a big view). */
static const double bounds[] = { 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
				 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 };
#define NB (sizeof bounds / sizeof bounds[0])

/* Outcomes by JSON-RPC code: success and each error of docs/PROTOCOL.md. */
static const struct {
	int code;
	const char *name;
} outcomes[] = {
	{ 0, "ok" }, { -32700, "parse_error" }, { -32600, "invalid_request" },
	{ -32601, "unknown_method" }, { -32602, "invalid_params" }, { -32603, "internal" },
	{ -32001, "forbidden" }, { -32002, "not_found" }, { -32003, "conflict" },
	{ -32004, "refused" }, { -32005, "script_error" }, { -32006, "storage_full" },
	{ -32007, "over_limit" },
};
#define NO (sizeof outcomes / sizeof outcomes[0])

static struct {
	const char *name;
	uint64_t by_outcome[NO];
	uint64_t buckets[NB]; /* cumulative at render time, per-bucket here */
	uint64_t count;
	double sum;
} methods[METRICS_MAX_METHODS];

void metrics_name(int m, const char *name)
{
	if (m >= 0 && m < METRICS_MAX_METHODS)
		methods[m].name = name;
}

void metrics_observe(int m, int code, int64_t us)
{
	if (m < 0 || m >= METRICS_MAX_METHODS)
		return;
	size_t o;
	for (o = 0; o < NO && outcomes[o].code != code; o++)
		;
	if (o == NO)
		o = 5; /* anything else counts as internal */
	methods[m].by_outcome[o]++;
	double s = (double)us / 1e6;
	for (size_t b = 0; b < NB; b++)
		if (s <= bounds[b]) {
			methods[m].buckets[b]++;
			break;
		}
	methods[m].count++;
	methods[m].sum += s;
}

void metrics_write_requests(FILE *f)
{
	fputs("# HELP liud_requests_total Requests answered, by method and outcome.\n"
	      "# TYPE liud_requests_total counter\n", f);
	for (int m = 0; m < METRICS_MAX_METHODS; m++) {
		if (!methods[m].name)
			continue;
		for (size_t o = 0; o < NO; o++)
			if (methods[m].by_outcome[o] || o == 0)
				fprintf(f, "liud_requests_total{method=\"%s\",outcome=\"%s\"} %llu\n",
					methods[m].name, outcomes[o].name,
					(unsigned long long)methods[m].by_outcome[o]);
	}
	fputs("# HELP liud_request_duration_seconds Time from a request's arrival to its reply.\n"
	      "# TYPE liud_request_duration_seconds histogram\n", f);
	for (int m = 0; m < METRICS_MAX_METHODS; m++) {
		if (!methods[m].name)
			continue;
		uint64_t cum = 0;
		for (size_t b = 0; b < NB; b++) {
			cum += methods[m].buckets[b];
			fprintf(f, "liud_request_duration_seconds_bucket{method=\"%s\",le=\"%g\"} %llu\n",
				methods[m].name, bounds[b], (unsigned long long)cum);
		}
		fprintf(f, "liud_request_duration_seconds_bucket{method=\"%s\",le=\"+Inf\"} %llu\n",
			methods[m].name, (unsigned long long)methods[m].count);
		fprintf(f, "liud_request_duration_seconds_sum{method=\"%s\"} %.6f\n", methods[m].name,
			methods[m].sum);
		fprintf(f, "liud_request_duration_seconds_count{method=\"%s\"} %llu\n", methods[m].name,
			(unsigned long long)methods[m].count);
	}
}
