/*
 * Shared by the reliability programs (faults, load): reporting, the hook
 * that injects faults into the three-node pool, images made through gfapi,
 * and workers that drive images through the public API and check every
 * byte they read against a model of what was written.
 *
 * A model is exact because a worker owns a region of each image and never
 * has two requests in flight that overlap where one of them writes: a write
 * changes the model when it is submitted, a read is compared with the model
 * when it completes.
 */
#ifndef GLUVIRT_TESTS_RELIABILITY_SUPPORT_H
#define GLUVIRT_TESTS_RELIABILITY_SUPPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <gluvirt/gluvirt.h>

/* A request that takes longer than this while nothing else of its worker
 * completes is called a hang (see hung() in support.c).  It sits above the
 * latency bound a run reaches (rel_latency_bound: three ping timeouts plus
 * ten medians; on a starved 2-core machine a write to the sharded replica 3
 * volume once took 30.7 s and then completed correctly). */
#define REL_HANG_SECONDS 60.0

/* Ping timeout of the pool's volumes, in seconds (GLUVIRT3_PING_TIMEOUT,
 * which three-node.sh sets; 5 when unset). */
double rel_ping_timeout(void);

/* ------------------------------------------------------------ reporting */

/* "ok: what[: detail]" or "FAIL: ..." on stdout; counts failures. */
void rel_check(int ok, const char *what, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
/* "figure: name = value" lines, which the driver script collects. */
void rel_figure(const char *name, const char *format, ...) __attribute__((format(printf, 2, 3)));
/* "note: ..." progress lines. */
void rel_note(const char *format, ...) __attribute__((format(printf, 1, 2)));
int rel_failures(void);

double rel_now(void);
void rel_sleep(double seconds);
/* Resident set size of this process in KiB, or -1. */
long rel_rss_kib(void);

/*
 * rel_heap_bytes: bytes the program (gfapi included) has allocated and not
 * freed, by the allocator's own count: glibc's mallinfo2 (arena chunks in
 * use plus mmapped blocks), or under AddressSanitizer its allocator's count
 * (mallinfo means nothing there, and the resident set grows with the
 * quarantine and the shadow).  *source names the counter.
 */
int64_t rel_heap_bytes(const char **source);

/* "09:11:51.123" (UTC, as gluster's logs stamp their lines) for a time
 * taken with rel_now(). */
void rel_clock_text(double when, char *text, size_t size);

uint64_t rel_random(uint64_t *state);
/* The seed: GLUVIRT_TEST_SEED or a fixed default, printed by the caller. */
uint64_t rel_seed(void);

/* ------------------------------------------------------------ cluster */

/*
 * rel_hook: run the three-node tool (GLUVIRT3_TOOL, set by the driver) with
 * the given arguments, e.g. rel_hook("kill-brick %s %d", volume, 2).
 * Returns its exit status (0 on success).
 */
int rel_hook(const char *format, ...) __attribute__((format(printf, 1, 2)));

/*
 * rel_create_images: create (or empty) the named files on volume through a
 * gfapi client of their own and give each the size.  The library cannot
 * create files yet; qemu-img would cost 10 s of glfs_fini per image.  The
 * client is never finalised (its threads die with the process).
 */
int rel_create_images(const char *volume, const char *host, const char *const *names,
                      int count, uint64_t size);

/* "gluster://host/volume/name", to free(). */
char *rel_uri(const char *host, const char *volume, const char *name);

/* A pool whose gfapi log goes to GLUVIRT3_BASE/client-<tag>.log. */
gluvirt_pool *rel_pool_new(const char *tag, unsigned linger_ms);
gluvirt_image *rel_open(gluvirt_pool *pool, const char *uri, int writable, unsigned depth);

/*
 * rel_verify_image: read the whole image through a new pool (another gfapi
 * client, so nothing comes from the first one's caches) and compare it with
 * model.  Returns the bytes compared, or -1 with a reason in why.
 */
int64_t rel_verify_image(const char *uri, const unsigned char *model, uint64_t size,
                         char *why, size_t why_size);

/* ------------------------------------------------------------ latency */

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

/* ------------------------------------------------------------ workers */

enum rel_api { REL_SYNC, REL_AIO };

/* One of the slowest requests a worker saw, for the report. */
struct rel_slow_request {
    double took, submitted; /* rel_now() times */
    enum rel_api api;
    int op;
    size_t count;
    uint64_t offset;
    const char *lane;
};

#define REL_SLOWEST_KEPT 4

struct rel_worker;

/* One in-flight callback request of a lane. */
struct rel_slot {
    struct rel_worker *owner;
    struct rel_lane *lane;
    int busy;          /* submitted and not reaped (the worker's thread only) */
    int done;          /* released (under owner->lock) */
    int op;
    uint64_t offset;
    size_t count;
    int completes, releases;
    int64_t result;
    double submitted;
    unsigned char *buf;
};

/* One image as one worker drives it: a region and, for callbacks, slots. */
struct rel_lane {
    gluvirt_image *image;
    const char *name; /* for messages */
    unsigned char *model; /* the image's whole model; only the region is ours */
    uint64_t start, length;
    unsigned depth;
    struct rel_slot *slots;
};

struct rel_worker {
    /* set by the caller */
    enum rel_api api;
    struct rel_lane *lanes;
    int lane_count;
    uint64_t seed;
    int write_percent; /* 0: reads only */
    size_t max_io;
    atomic_int *stop;
    atomic_int *pause; /* optional: while nonzero, drain and wait */

    /* results */
    uint64_t reads, writes, flushes;
    uint64_t bytes_verified, bytes_written;
    double max_latency;
    double last_completion; /* rel_now() of the last request reaped */
    struct rel_latency latency, by_op[3]; /* all; reads, writes, flushes */
    struct rel_slow_request slowest[REL_SLOWEST_KEPT]; /* slowest first */
    char failure[512];

    /* Test of the test: every callback completion leaks a block of this
     * many bytes (load's memory check must then fail). */
    size_t leak_per_request;

    /* private */
    atomic_int paused;  /* drained, waiting for *pause to clear */
    atomic_int running; /* the thread has not left its loop */
    uint64_t state;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int finished; /* under lock: the count of released slots not reaped */
    unsigned char *sync_buf;
};

/* Lanes get their slots (depth each, bufs of max_io bytes) here. */
int rel_lane_init(struct rel_lane *lane, gluvirt_image *image, unsigned char *model,
                  uint64_t start, uint64_t length, unsigned depth, size_t max_io);
void rel_lane_destroy(struct rel_lane *lane);

/* Start workers; each runs until *stop becomes nonzero, then reaps every
 * request it has in flight. */
int rel_workers_start(struct rel_worker *workers, int count);
/* Set *stop, join; returns the number of workers that failed (their
 * failure strings say why). */
int rel_workers_stop(struct rel_worker *workers, int count);

/*
 * Pause the workers (each drains: every request it has in flight completes
 * and is checked) and wait until all have, or have stopped on a failure;
 * resume them.  Workers keep their threads meanwhile.
 */
void rel_workers_pause(struct rel_worker *workers, int count);
void rel_workers_resume(struct rel_worker *workers, int count);

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
