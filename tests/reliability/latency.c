/* Request latencies of the reliability programs: histograms, percentiles,
 * each worker's slowest requests, the report and the bound; see latency.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "support.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_plurals[] = {"reads", "writes", "flushes"};

/* 2^(k/8) for k = 0..7: the bucket edges within an octave. */
static const double eighths[8] = {1.0,
                                  1.0905077326652577,
                                  1.1892071150027210,
                                  1.2968395546510096,
                                  1.4142135623730951,
                                  1.5422108254079407,
                                  1.6817928305074290,
                                  1.8340080864093424};

/* Bucket 0 holds [0, 1 us); bucket 1 + 8 * octave + k holds
 * [2^octave * eighths[k], the next edge) microseconds. */
static int latency_bucket(double seconds)
{
    double us = seconds * 1e6, base;
    int octave, k = 7, bucket;

    if (!(us >= 1.0))
        return 0;
    if (us >= 9.2e18)
        return REL_LATENCY_BUCKETS - 1;
    octave = 63 - __builtin_clzll((unsigned long long)us);
    base = (double)(1ULL << octave);
    while (k > 0 && us < base * eighths[k])
        k--;
    bucket = 1 + 8 * octave + k;
    return bucket < REL_LATENCY_BUCKETS ? bucket : REL_LATENCY_BUCKETS - 1;
}

static double bucket_upper_edge(int bucket)
{
    int octave, k;

    if (bucket == 0)
        return 1e-6;
    octave = (bucket - 1) / 8;
    k = (bucket - 1) % 8;
    return (double)(1ULL << octave) * (k == 7 ? 2.0 : eighths[k + 1]) / 1e6;
}

void rel_latency_add(struct rel_latency *latency, double seconds)
{
    latency->buckets[latency_bucket(seconds)]++;
    latency->count++;
    latency->sum += seconds;
    if (seconds > latency->max)
        latency->max = seconds;
}

void rel_latency_merge(struct rel_latency *into, const struct rel_latency *from)
{
    for (int i = 0; i < REL_LATENCY_BUCKETS; i++)
        into->buckets[i] += from->buckets[i];
    into->count += from->count;
    into->sum += from->sum;
    if (from->max > into->max)
        into->max = from->max;
}

double rel_latency_percentile(const struct rel_latency *latency, double fraction)
{
    uint64_t wanted, seen = 0;

    if (latency->count == 0)
        return 0;
    wanted = (uint64_t)(fraction * (double)latency->count);
    if (wanted < 1)
        wanted = 1;
    for (int i = 0; i < REL_LATENCY_BUCKETS; i++) {
        seen += latency->buckets[i];
        if (seen >= wanted) {
            double edge = bucket_upper_edge(i);

            return edge < latency->max ? edge : latency->max;
        }
    }
    return latency->max;
}

void rel_record_latency(struct rel_worker *w, double started, int op, size_t count,
                        uint64_t offset, const struct rel_lane *lane)
{
    double took = rel_now() - started;
    int at = REL_SLOWEST_KEPT;

    if (took > w->max_latency)
        w->max_latency = took;
    rel_latency_add(&w->latency, took);
    rel_latency_add(&w->by_op[op], took);
    while (at > 0 && took > w->slowest[at - 1].took)
        at--;
    if (at == REL_SLOWEST_KEPT)
        return;
    memmove(&w->slowest[at + 1], &w->slowest[at],
            (REL_SLOWEST_KEPT - 1 - (size_t)at) * sizeof w->slowest[0]);
    w->slowest[at] = (struct rel_slow_request){took, started, w->api, op, count, offset,
                                               lane->name};
}
static int slower_first(const void *a, const void *b)
{
    double x = ((const struct rel_slow_request *)a)->took;
    double y = ((const struct rel_slow_request *)b)->took;

    return x < y ? 1 : x > y ? -1 : 0;
}

void rel_report_latency(const char *name, struct rel_worker *workers, int count,
                        struct rel_latency *merged, struct rel_latency by_op[3])
{
    struct rel_slow_request *all = calloc((size_t)count * REL_SLOWEST_KEPT, sizeof *all);
    size_t kept = 0;

    memset(merged, 0, sizeof *merged);
    memset(by_op, 0, 3 * sizeof *by_op);
    for (int i = 0; i < count; i++) {
        struct rel_worker *w = &workers[i];

        rel_latency_merge(merged, &w->latency);
        for (int op = 0; op < 3; op++)
            rel_latency_merge(&by_op[op], &w->by_op[op]);
        memset(w->by_op, 0, sizeof w->by_op);
        for (int k = 0; all && k < REL_SLOWEST_KEPT && w->slowest[k].took > 0; k++)
            all[kept++] = w->slowest[k];
        memset(&w->latency, 0, sizeof w->latency);
        memset(w->slowest, 0, sizeof w->slowest);
        w->max_latency = 0;
    }
    rel_figure("latency", "%s: p50 %.1f ms, p99 %.1f ms, max %.3f s, mean %.1f ms "
               "(%" PRIu64 " requests)", name, rel_latency_percentile(merged, 0.5) * 1e3,
               rel_latency_percentile(merged, 0.99) * 1e3, merged->max,
               merged->count ? merged->sum / (double)merged->count * 1e3 : 0.0, merged->count);
    for (int op = 0; op < 3; op++)
        if (by_op[op].count)
            rel_note("%s: %s: p50 %.1f ms, p99 %.1f ms, max %.3f s (%" PRIu64 ")", name,
                     op_plurals[op], rel_latency_percentile(&by_op[op], 0.5) * 1e3,
                     rel_latency_percentile(&by_op[op], 0.99) * 1e3, by_op[op].max,
                     by_op[op].count);
    if (all)
        qsort(all, kept, sizeof *all, slower_first);
    for (size_t i = 0; i < kept && i < REL_SLOWEST_KEPT; i++) {
        char when[32];

        rel_clock_text(all[i].submitted, when, sizeof when);
        rel_note("%s: slow request %zu: %.3f s, %s %s of %zu at %" PRIu64 " of %s, "
                 "submitted %s UTC",
                 name, i + 1, all[i].took, all[i].api == REL_AIO ? "callback" : "sync",
                 rel_op_names[all[i].op], all[i].count, all[i].offset,
                 all[i].lane ? all[i].lane : "the image", when);
    }
    free(all);
}

double rel_latency_bound(const struct rel_latency *latency)
{
    return REL_LATENCY_PING_FACTOR * rel_ping_timeout() +
           REL_LATENCY_P50_FACTOR * rel_latency_percentile(latency, 0.5);
}

void rel_check_latency(const char *name, struct rel_worker *workers, int count)
{
    struct rel_latency latency, by_op[3];
    char what[160];

    rel_report_latency(name, workers, count, &latency, by_op);
    /* Each kind against its own median: on a busy machine a write to the
     * sharded replica 3 volume waits for more round trips than a read, and
     * reads, the most numerous, would pull one median for all down. */
    for (int op = 0; op < 3; op++) {
        if (!by_op[op].count)
            continue;
        snprintf(what, sizeof what, "%s: no %s slower than the bound", name, rel_op_names[op]);
        rel_check(by_op[op].max <= rel_latency_bound(&by_op[op]), what,
                  "slowest %.3f s, bound %.3f s (%d x ping timeout %.1f s + %d x p50 %.1f ms)",
                  by_op[op].max, rel_latency_bound(&by_op[op]), REL_LATENCY_PING_FACTOR,
                  rel_ping_timeout(), REL_LATENCY_P50_FACTOR,
                  rel_latency_percentile(&by_op[op], 0.5) * 1e3);
    }
}
