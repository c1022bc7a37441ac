/*
 * Load on the three-node pool, run by reliability.sh inside its network
 * namespace:
 *
 *   load [SECONDS]     (default 60, or GLUVIRT_LOAD_SECONDS)
 *
 * 8 threads drive 4 images (two on rep3, two on the sharded vmstore) through
 * the callback API, each thread keeping 32 requests in flight on each image
 * (1024 in all): 60 % reads, 40 % writes of 1 byte to 64 KiB, a flush now
 * and then.  Every read is compared with the model when it completes; at the
 * end each image is read back whole through another client.
 *
 * Memory: after a warm-up (a quarter of the run, at most 15 s, and at least
 * WARM_UP_REQUESTS requests) the rest runs in SEGMENTS parts; after each the workers pause until every request
 * has completed, and the heap in use (rel_heap_bytes: the allocator's own
 * count, in both builds) is taken at that quiet moment.  gfapi's pools and
 * caches (per-thread memory pools, iobufs, shard inodes) still grow through
 * the first part, by up to ~20 MiB, and then level off: measured from the
 * first quiet point to the last they moved by -5..+9 MiB.  Growth over that
 * window beyond HEAP_GROWTH_LIMIT fails, which a leak of a few hundred bytes
 * per request (plain build, 60 s) or a few KiB (ASan, 20 s; the line says
 * how many for the run) exceeds.  GLUVIRT_TEST_LEAK_PER_REQUEST=BYTES makes
 * every completion keep that many bytes, to show the check fails.  The
 * resident set size is printed, not judged (under AddressSanitizer it grows
 * with the quarantine and the shadow).
 *
 * Latency: p50, p99 and the maximum of each part are printed with the
 * slowest requests, and no request may be slower than rel_latency_bound
 * (the ping timeout plus a multiple of the part's median).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define THREADS 8
#define IMAGES 4
#define DEPTH 32
#define IMAGE_SIZE (64u << 20)
#define MAX_IO (64u << 10)
#define WRITE_PERCENT 40
/* Growth of the heap in use from the first quiet point after the warm-up
 * to the last, SEGMENTS - 1 segments later. */
#define HEAP_GROWTH_LIMIT (16 << 20)
#define SEGMENTS 3
/* gfapi's caches fill with requests, not with time: the warm-up lasts a
 * quarter of the run (at most 15 s) and at least this many requests (a
 * slow machine or a sanitizer build gets through fewer a second), but never
 * more than WARM_UP_MAX_SECONDS.  The measured part keeps its length. */
#define WARM_UP_REQUESTS 16000
#define WARM_UP_MAX_SECONDS 60

static const char *const volumes[IMAGES] = {"rep3", "vmstore", "rep3", "vmstore"};
static const char *const names[IMAGES] = {"load-0.raw", "load-1.raw", "load-2.raw", "load-3.raw"};

struct memory {
    long rss_kib;
    int64_t heap;
};

static struct memory memory_now(struct memory *peak)
{
    const char *source;
    struct memory m = {rel_rss_kib(), rel_heap_bytes(&source)};

    if (m.rss_kib > peak->rss_kib)
        peak->rss_kib = m.rss_kib;
    if (m.heap > peak->heap)
        peak->heap = m.heap;
    return m;
}

static double mib(int64_t bytes)
{
    return (double)bytes / (1 << 20);
}

static uint64_t requests_done(const struct rel_worker *workers)
{
    uint64_t n = 0;

    for (int t = 0; t < THREADS; t++)
        n += workers[t].reads + workers[t].writes + workers[t].flushes;
    return n;
}

/* Let the workers run until `until` (a rel_now() time) and, past it, until
 * min_requests have completed (but not past hard_until), or a failure;
 * memory is sampled every second.  Then pause them: every request in
 * flight completes.  Returns whether a worker failed. */
static int run_until(struct rel_worker *workers, double until, uint64_t min_requests,
                     double hard_until, double started, struct memory *peak)
{
    int failed = 0;

    for (double tick = rel_now() + 1;
         !failed && (tick < until || (requests_done(workers) < min_requests && tick < hard_until));
         tick += 1) {
        struct memory m;

        rel_sleep(tick - rel_now());
        m = memory_now(peak);
        if ((long)(tick - started + 0.5) % 10 == 0)
            rel_note("load: %.0f s, heap in use %.1f MiB, RSS %ld MiB", tick - started,
                     mib(m.heap), m.rss_kib / 1024);
        for (int t = 0; t < THREADS; t++)
            failed |= workers[t].failure[0] != '\0';
    }
    if (!failed && rel_now() < until)
        rel_sleep(until - rel_now());
    rel_workers_pause(workers, THREADS);
    for (int t = 0; t < THREADS; t++)
        failed |= workers[t].failure[0] != '\0';
    return failed;
}

int main(int argc, char **argv)
{
    const char *env = getenv("GLUVIRT_LOAD_SECONDS");
    const char *leak_text = getenv("GLUVIRT_TEST_LEAK_PER_REQUEST");
    const char *heap_source;
    double seconds = argc > 1 ? atof(argv[1]) : env ? atof(env) : 60;
    size_t leak = leak_text ? (size_t)strtoul(leak_text, NULL, 0) : 0;
    uint64_t seed = rel_seed();
    static struct rel_worker workers[THREADS];
    static struct rel_lane lanes[THREADS][IMAGES];
    gluvirt_image *images[IMAGES] = {NULL};
    unsigned char *models[IMAGES] = {NULL};
    char *uris[IMAGES] = {NULL};
    gluvirt_pool *pool;
    atomic_int stop = 0, pause = 0;
    struct memory start, warm = {-1, -1}, settled = {-1, -1}, end = {-1, -1}, peak;
    uint64_t reads = 0, writes = 0, flushes = 0, verified = 0, written = 0, final_verified = 0;
    uint64_t warm_requests = 0, settled_requests = 0, requests;
    double started, warm_up, elapsed, warm_elapsed = 0;
    int failed;

    /* A gluster server that goes away under a write raises SIGPIPE on
     * whichever thread writes its socket; hosts of gfapi ignore it. */
    signal(SIGPIPE, SIG_IGN);

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (seconds <= 0) {
        fprintf(stderr, "usage: load [SECONDS]\n");
        return 2;
    }
    warm_up = seconds / 4 < 15 ? seconds / 4 : 15;
    rel_note("load: %d threads x %d images x depth %d for %.0f s (%.0f s of warm-up), seed "
             "%" PRIu64, THREADS, IMAGES, DEPTH, seconds, warm_up, seed);
    if (leak)
        rel_note("load: GLUVIRT_TEST_LEAK_PER_REQUEST: every completion leaks %zu bytes; the "
                 "memory check must fail", leak);
    for (int i = 0; i < IMAGES; i++)
        if (rel_create_images(volumes[i], "127.1.1.1", &names[i], 1, IMAGE_SIZE) != 0)
            return 1;
    if (!(pool = rel_pool_new("load", 10000)))
        return 1;
    for (int i = 0; i < IMAGES; i++) {
        uris[i] = rel_uri("127.1.1.1", volumes[i], names[i]);
        images[i] = rel_open(pool, uris[i], 1, THREADS * DEPTH);
        if (!images[i]) {
            rel_check(0, "open", "%s: %s", uris[i], gluvirt_errmsg());
            return 1;
        }
        /* Touched now, so that the model's pages are in the resident set
         * from the start (a plain memset after malloc would become a
         * calloc). */
        if (!(models[i] = malloc(IMAGE_SIZE)))
            abort();
        explicit_bzero(models[i], IMAGE_SIZE);
    }
    for (int t = 0; t < THREADS; t++) {
        struct rel_worker *w = &workers[t];

        for (int i = 0; i < IMAGES; i++) {
            if (rel_lane_init(&lanes[t][i], images[i], models[i],
                              (uint64_t)t * (IMAGE_SIZE / THREADS), IMAGE_SIZE / THREADS, DEPTH,
                              MAX_IO) != 0)
                abort();
            lanes[t][i].name = uris[i];
            for (unsigned s = 0; s < DEPTH; s++)
                explicit_bzero(lanes[t][i].slots[s].buf, MAX_IO);
        }
        w->api = REL_AIO;
        w->lanes = lanes[t];
        w->lane_count = IMAGES;
        w->seed = seed * 31u + (uint64_t)t + 1;
        w->write_percent = WRITE_PERCENT;
        w->max_io = MAX_IO;
        w->stop = &stop;
        w->pause = &pause;
        w->leak_per_request = leak;
    }

    peak = start = memory_now(&(struct memory){0, 0});
    started = rel_now();
    if (rel_workers_start(workers, THREADS) != 0)
        abort();
    /* The warm-up fills gfapi's pools and caches.  It ends, as the run
     * does, with the workers paused and every request completed, on the
     * same threads (gfapi keeps a memory pool per thread), so the two
     * figures compare like with like. */
    failed = run_until(workers, started + warm_up, WARM_UP_REQUESTS, started + WARM_UP_MAX_SECONDS,
                       started, &peak);
    warm_elapsed = rel_now() - started;
    warm = memory_now(&peak);
    warm_requests = requests_done(workers);
    /* Reported, not judged: the warm-up creates the shards and fills gfapi's
     * caches, and under ASan its reads waited up to 20 s behind that (p50
     * 0.37 s) on an otherwise idle 2-core machine.  The steady state after
     * it is bounded below. */
    {
        struct rel_latency warm_latency, warm_by_op[3];

        rel_report_latency("load warm-up", workers, THREADS, &warm_latency, warm_by_op);
    }
    for (int k = 1; k <= SEGMENTS && !failed; k++) {
        struct memory quiet;

        rel_workers_resume(workers, THREADS);
        failed = run_until(workers, started + warm_elapsed + (seconds - warm_up) * k / SEGMENTS, 0,
                           0, started, &peak);
        quiet = memory_now(&peak);
        rel_note("load: quiet point %d of %d at %.1f s: heap in use %.2f MiB (%+.2f MiB), "
                 "%" PRIu64 " requests", k, SEGMENTS, rel_now() - started, mib(quiet.heap),
                 mib(quiet.heap - warm.heap), requests_done(workers));
        if (k == 1) {
            settled = quiet;
            settled_requests = requests_done(workers);
        }
        if (k == SEGMENTS)
            end = quiet;
    }
    if (!failed)
        rel_check_latency("load", workers, THREADS);
    failed = rel_workers_stop(workers, THREADS);
    for (int t = 0; t < THREADS; t++)
        if (workers[t].failure[0])
            rel_check(0, "load", "thread %d: %s", t, workers[t].failure);
    elapsed = rel_now() - started;
    for (int t = 0; t < THREADS; t++) {
        struct rel_worker *w = &workers[t];

        reads += w->reads;
        writes += w->writes;
        flushes += w->flushes;
        verified += w->bytes_verified;
        written += w->bytes_written;
    }
    requests = reads + writes + flushes;
    rel_check(failed == 0, "load: no error reached the caller", "%" PRIu64 " reads, %" PRIu64
              " writes, %" PRIu64 " flushes in %.1f s (%.0f requests/s)",
              reads, writes, flushes, elapsed, (double)requests / elapsed);

    for (int i = 0; i < IMAGES; i++) {
        char why[512] = "";
        int64_t got;

        rel_check(gluvirt_image_close(images[i]) == 0, "close (final flush)", "%s: %s", uris[i],
                  gluvirt_errmsg());
        got = rel_verify_image(uris[i], models[i], IMAGE_SIZE, why, sizeof why);
        rel_check(got == IMAGE_SIZE, "load: the image matches the model", "%s%s%s", uris[i],
                  got == IMAGE_SIZE ? "" : ": ", why);
        if (got > 0)
            final_verified += (uint64_t)got;
    }

    rel_heap_bytes(&heap_source);
    if (end.heap >= 0) {
        int64_t growth = end.heap - settled.heap;
        uint64_t after = requests - settled_requests;

        rel_check(growth <= HEAP_GROWTH_LIMIT, "load: heap in use flat after the warm-up",
                  "%.1f MiB at the first quiet point after it, %.1f MiB at the end: %+.2f MiB "
                  "over %" PRIu64 " requests (%+.1f bytes each; limit +%d MiB, which a leak of "
                  "%.0f bytes or more per request exceeds)",
                  mib(settled.heap), mib(end.heap), mib(growth), after,
                  after ? (double)growth / (double)after : 0.0, HEAP_GROWTH_LIMIT >> 20,
                  after ? (double)HEAP_GROWTH_LIMIT / (double)after : 0.0);
    }
    rel_figure("load_requests", "%" PRIu64 " (%" PRIu64 " reads, %" PRIu64 " writes, %" PRIu64
               " flushes; %.0f/s; %" PRIu64 " in the %.1f s of warm-up)", requests, reads,
               writes, flushes, (double)requests / elapsed, warm_requests, warm_elapsed);
    rel_figure("load_bytes_written", "%" PRIu64, written);
    rel_figure("bytes_verified", "%" PRIu64 " (%" PRIu64 " by reads under load, %" PRIu64
               " read back at the end)", verified + final_verified, verified, final_verified);
    rel_figure("load_heap_mib", "start %.1f, after warm-up %.1f, first quiet point %.1f, peak "
               "%.1f, end %.1f (%s)", mib(start.heap), mib(warm.heap), mib(settled.heap),
               mib(peak.heap), mib(end.heap), heap_source);
    rel_figure("load_rss_mib", "start %ld, after warm-up %ld, peak %ld, end %ld (models %u; "
               "printed, not judged)", start.rss_kib / 1024, warm.rss_kib / 1024,
               peak.rss_kib / 1024, end.rss_kib / 1024, IMAGES * (IMAGE_SIZE >> 20));
    rel_figure("load_seconds", "%.1f", elapsed);

    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < IMAGES; i++)
            rel_lane_destroy(&lanes[t][i]);
    for (int i = 0; i < IMAGES; i++) {
        free(models[i]);
        free(uris[i]);
    }
    gluvirt_pool_free(pool);
    return rel_failures() ? 1 : 0;
}
