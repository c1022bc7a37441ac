/*
 * Workers of the reliability programs (worker.c): threads that drive
 * images through the public API, synchronously or by callbacks, and check
 * every byte they read against a model of what was written.  Included by
 * support.h, which says why the model is exact.
 */
#ifndef GLUVIRT_TESTS_RELIABILITY_WORKER_H
#define GLUVIRT_TESTS_RELIABILITY_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <gluvirt/gluvirt.h>

#include "latency.h"

/* A request that takes longer than this while nothing else of its worker
 * completes is called a hang (see hung() in worker.c).  It sits above the
 * latency bound a run reaches (rel_latency_bound: three ping timeouts plus
 * ten medians; on a starved 2-core machine a write to the sharded replica 3
 * volume once took 30.7 s and then completed correctly). */
#define REL_HANG_SECONDS 60.0

/* The kinds of request (the index of rel_worker.by_op) and their names. */
enum rel_op { REL_OP_READ, REL_OP_WRITE, REL_OP_FLUSH };
extern const char *const rel_op_names[3];

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

#endif
