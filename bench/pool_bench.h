/* The pool benchmark's shared definitions: configuration, figures, and the
 * parts that pool_bench_parts.c measures and pool_bench.c runs and reports. */
#ifndef GLUVIRT_BENCH_POOL_BENCH_H
#define GLUVIRT_BENCH_POOL_BENCH_H

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <glusterfs/api/glfs.h>

#include "gluvirt/gluvirt.h"

#define BENCH_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

#define DEFAULT_HOST "127.1.1.1"
#define DEFAULT_VOLUME "gv0"
#define DEFAULT_IMAGES 100
#define DEFAULT_WARM_CYCLES 10000
#define DEFAULT_COLD_CYCLES 20
#define DEFAULT_BARE_CYCLES 3
#define IMAGE_FILE_SIZE 4096
/* A warm pool keeps its connection for the whole run. */
#define WARM_LINGER_MS 3600000
/* How long the reaper may take to hand a released connection to glfs_fini. */
#define REAPER_DEADLINE_NS (10 * 1000000000LL)
/* Threads that gfapi starts a little after glfs_init returns are counted too. */
#define SETTLE_MS 300
/* A part that takes longer than this is stuck (a deadlock is a finding too). */
#define PART_TIMEOUT_S 600

struct bench_config {
    const char *host;
    const char *volume;
    int port;
    unsigned images;
    unsigned warm_cycles;
    unsigned cold_cycles;
    unsigned bare_cycles;
};

struct sample_stats {
    double mean, p99, min, max; /* nanoseconds */
};

/* Everything a part measures, sent from its child to the parent as raw bytes;
 * each part fills its own fields and leaves the others NAN. */
struct figures {
    int ok;
    char error[768];
    char warnings[1536]; /* library behaviour that contradicts pool.h */
    char counters[256];  /* the pool's counters at the end of the part */

    struct sample_stats warm_connect, warm_release, warm_pair;

    struct sample_stats cold_connect, cold_release, cold_handoff, cold_last_free;
    struct sample_stats fresh_new, fresh_connect, fresh_release, fresh_free;

    struct sample_stats bare_init, bare_fini;

    double setup_ns;
    double threads_base, threads_after;
    double rss_base_kib, rss_after_kib;
    double clients;     /* distinct glfs_t behind the N images */
    double teardown_ns; /* close+release+pool_free, pool only */
};

int64_t now_ns(void);
void fail(struct figures *f, const char *fmt, ...) BENCH_PRINTF(2, 3);
long count_threads(void);
void part_warm(const struct bench_config *cfg, struct figures *f);
void part_cold(const struct bench_config *cfg, struct figures *f);
void part_fresh(const struct bench_config *cfg, struct figures *f);
void part_bare(const struct bench_config *cfg, struct figures *f);
void part_make_images(const struct bench_config *cfg, struct figures *f);
void part_remove_images(const struct bench_config *cfg, struct figures *f);
void part_images_pool(const struct bench_config *cfg, struct figures *f);
void part_images_bare(const struct bench_config *cfg, struct figures *f);

#endif
