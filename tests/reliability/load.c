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
 * end each image is read back whole through another client.  The resident
 * set size is sampled every second: after the warm-up it must stay flat
 * (no growth beyond RSS_GROWTH_LIMIT_MIB), which a leak per request would
 * break within a minute.
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
#define RSS_GROWTH_LIMIT_MIB 160

static const char *const volumes[IMAGES] = {"rep3", "vmstore", "rep3", "vmstore"};
static const char *const names[IMAGES] = {"load-0.raw", "load-1.raw", "load-2.raw", "load-3.raw"};

int main(int argc, char **argv)
{
    const char *env = getenv("GLUVIRT_LOAD_SECONDS");
    double seconds = argc > 1 ? atof(argv[1]) : env ? atof(env) : 60;
    uint64_t seed = rel_seed();
    static struct rel_worker workers[THREADS];
    static struct rel_lane lanes[THREADS][IMAGES];
    gluvirt_image *images[IMAGES] = {NULL};
    unsigned char *models[IMAGES] = {NULL};
    char *uris[IMAGES] = {NULL};
    gluvirt_pool *pool;
    atomic_int stop = 0;
    long rss_start, rss_warm = -1, rss_peak, rss_end = -1, rss;
    uint64_t reads = 0, writes = 0, flushes = 0, verified = 0, written = 0, final_verified = 0;
    double started, elapsed, worst = 0;
    int failed;

    /* A gluster server that goes away under a write raises SIGPIPE on
     * whichever thread writes its socket; hosts of gfapi ignore it. */
    signal(SIGPIPE, SIG_IGN);

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (seconds <= 0) {
        fprintf(stderr, "usage: load [SECONDS]\n");
        return 2;
    }
    rel_note("load: %d threads x %d images x depth %d for %.0f s, seed %" PRIu64, THREADS,
             IMAGES, DEPTH, seconds, seed);
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
        /* Touched now, so that the model's pages do not count as growth
         * (a plain memset after malloc would become a calloc). */
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
    }

    rss_start = rss_peak = rel_rss_kib();
    started = rel_now();
    if (rel_workers_start(workers, THREADS) != 0)
        abort();
    /* The first quarter (at most 15 s) warms gfapi's pools and caches up. */
    for (int tick = 1; (elapsed = rel_now() - started) < seconds; tick++) {
        int any_failed = 0;

        rel_sleep(started + tick - rel_now());
        rss = rel_rss_kib();
        if (rss > rss_peak)
            rss_peak = rss;
        if (rss_warm < 0 && rel_now() - started >= (seconds / 4 < 15 ? seconds / 4 : 15))
            rss_warm = rss;
        if (tick % 10 == 0)
            rel_note("load: %.0f s, RSS %ld MiB", rel_now() - started, rss / 1024);
        for (int t = 0; t < THREADS; t++)
            any_failed |= workers[t].failure[0] != '\0';
        if (any_failed)
            break;
    }
    rss_end = rel_rss_kib();
    failed = rel_workers_stop(workers, THREADS);
    elapsed = rel_now() - started;
    for (int t = 0; t < THREADS; t++) {
        struct rel_worker *w = &workers[t];

        if (w->failure[0])
            rel_check(0, "load", "thread %d: %s", t, w->failure);
        reads += w->reads;
        writes += w->writes;
        flushes += w->flushes;
        verified += w->bytes_verified;
        written += w->bytes_written;
        if (w->max_latency > worst)
            worst = w->max_latency;
    }
    rel_check(failed == 0, "load: no error reached the caller", "%" PRIu64 " reads, %" PRIu64
              " writes, %" PRIu64 " flushes in %.1f s (%.0f requests/s), slowest %.3f s",
              reads, writes, flushes, elapsed, (double)(reads + writes + flushes) / elapsed, worst);

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

    rel_check(rss_warm < 0 || rss_end - rss_warm <= RSS_GROWTH_LIMIT_MIB * 1024L,
              "load: RSS flat after the warm-up",
              "%ld MiB after the warm-up, %ld MiB at the end (limit +%d MiB)", rss_warm / 1024,
              rss_end / 1024, RSS_GROWTH_LIMIT_MIB);
    rel_figure("load_requests", "%" PRIu64 " (%" PRIu64 " reads, %" PRIu64 " writes, %" PRIu64
               " flushes; %.0f/s)", reads + writes + flushes, reads, writes, flushes,
               (double)(reads + writes + flushes) / elapsed);
    rel_figure("load_bytes_written", "%" PRIu64, written);
    rel_figure("bytes_verified", "%" PRIu64 " (%" PRIu64 " by reads under load, %" PRIu64
               " read back at the end)", verified + final_verified, verified, final_verified);
    rel_figure("load_rss_mib", "start %ld, after warm-up %ld, peak %ld, end %ld (models %u)",
               rss_start / 1024, rss_warm / 1024, rss_peak / 1024, rss_end / 1024,
               IMAGES * (IMAGE_SIZE >> 20));
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
