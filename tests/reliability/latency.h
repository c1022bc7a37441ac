/*
 * Request latencies of the reliability programs (latency.c): a histogram
 * per worker and per kind of request, its percentiles, each worker's
 * slowest requests, the report of a phase and the bound no request may
 * exceed.  Included by support.h.
 */
#ifndef GLUVIRT_TESTS_RELIABILITY_LATENCY_H
#define GLUVIRT_TESTS_RELIABILITY_LATENCY_H

#include <stddef.h>
#include <stdint.h>

struct rel_worker;
struct rel_lane;

/* A histogram of request latencies: buckets an eighth of an octave wide
 * from 1 us to 2^32 us, so a percentile is known within 9 %. */
#define REL_LATENCY_BUCKETS 256

struct rel_latency {
    uint64_t count;
    double sum, max;
    uint64_t buckets[REL_LATENCY_BUCKETS];
};

void rel_latency_add(struct rel_latency *latency, double seconds);
void rel_latency_merge(struct rel_latency *into, const struct rel_latency *from);
/* The latency that fraction (0.5, 0.99) of the requests did not exceed
 * (the upper edge of its bucket, at most the maximum); 0 with no requests. */
double rel_latency_percentile(const struct rel_latency *latency, double fraction);

/*
 * rel_record_latency: count a request of kind op (enum rel_op) submitted at
 * started (rel_now()) and completed now in w's latencies, and keep it among
 * w's REL_SLOWEST_KEPT slowest when it is one of them.
 */
void rel_record_latency(struct rel_worker *w, double started, int op, size_t count,
                        uint64_t offset, const struct rel_lane *lane);

/*
 * rel_report_latency: merge the workers' latencies into *merged and, per
 * kind (read, write, flush), into by_op (all zeroed first), print "figure:
 * latency = NAME: p50 ..., p99 ..., max ...", a line per kind and the
 * slowest requests (kind, size, image, when) as notes, then clear the
 * workers' figures for the next phase.
 */
void rel_report_latency(const char *name, struct rel_worker *workers, int count,
                        struct rel_latency *merged, struct rel_latency by_op[3]);

/*
 * The bound on any one request of a phase without a hung server:
 * REL_LATENCY_PING_FACTOR ping timeouts plus REL_LATENCY_P50_FACTOR times
 * the phase's median for requests of its kind.  A replicated write makes three rounds to the bricks
 * (lock and pre-op, write, post-op), and a brick that stalls is given one
 * ping timeout per round before it is cut off (a killed one is noticed at
 * once); the rest is the queue, whose cost the median measures on this
 * machine, under this build, at this moment.  Measured on a loaded 2-core
 * machine, ping timeout 5 s: plain build p50 0.10-0.26 s, slowest 6-11.6 s
 * (writes to the sharded volume); ASan p50 0.4-4.2 s, slowest 7-11.5 s.
 */
#define REL_LATENCY_PING_FACTOR 3
#define REL_LATENCY_P50_FACTOR 10
double rel_latency_bound(const struct rel_latency *latency);

/* rel_report_latency, then a check that the slowest request of each kind
 * kept to rel_latency_bound of that kind's latencies (one ASan run under a
 * load average of 10: reads p50 0.24 s, writes p50 2.3 s, the slowest write
 * 19.6 s, above the 19.0 s the median of all requests gave). */
void rel_check_latency(const char *name, struct rel_worker *workers, int count);

#endif
