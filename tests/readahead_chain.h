/*
 * Shared by the read-ahead tests (tests/unit/test_image_readahead.c on local
 * files, tests/gluster/test_image_readahead.c on the test volume): chains of
 * queue-depth-1 callback reads, each submitted from the callback of the one
 * before, checked byte for byte, and the step lists they read.
 */
#ifndef GLUVIRT_TESTS_READAHEAD_CHAIN_H
#define GLUVIRT_TESTS_READAHEAD_CHAIN_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include <gluvirt/gluvirt.h>

/* How long a chain may take before the test calls it a hang. */
#define CHAIN_WAIT_S 60

/* target (a URI, or a local path with pool NULL) in the given format and
 * completion mode. */
static gluvirt_image *chain_open(gluvirt_pool *pool, const char *target, gluvirt_format format,
                                 int writable, gluvirt_completion_mode mode)
{
    gluvirt_open_options *options = gluvirt_open_options_new();
    gluvirt_image *image;

    cr_assert_not_null(options);
    cr_assert_eq(gluvirt_open_options_set_format(options, format), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_open_options_set_writable(options, writable), 0, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(gluvirt_open_options_set_completion(options, mode), 0, "%s", gluvirt_errmsg());
    image = gluvirt_image_open(pool, target, options);
    gluvirt_open_options_free(options);
    cr_assert_not_null(image, "open %s: %s", target, gluvirt_errmsg());
    return image;
}

/* ------------------------------------------------------------ a chain of reads */

/* One read of a chain: each is submitted from the callback of the one
 * before, as qemu-img bench -d 1 does, so at most one is in flight. */
struct step {
    uint64_t offset;
    size_t length;
};

struct chain;

struct chain_request {
    struct chain *chain;
    int index;
};

struct chain {
    gluvirt_image *image;
    gluvirt_completion_mode mode;
    const struct step *steps;
    int count;
    unsigned char **buffers;
    struct chain_request *requests;
    int64_t *results;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int completed;
    int submit_errno; /* a submit failed: its errno */
};

static void chain_complete(void *user_data, int64_t result);

/* 0, or -1 with the chain's submit_errno set. */
static int chain_submit(struct chain *c, int index)
{
    const struct step *s = &c->steps[index];

    c->requests[index].chain = c;
    c->requests[index].index = index;
    if (gluvirt_image_aio_read(c->image, c->buffers[index], s->length, s->offset,
                               chain_complete, &c->requests[index], NULL) == 0)
        return 0;
    pthread_mutex_lock(&c->lock);
    c->submit_errno = gluvirt_errno() ? gluvirt_errno() : EIO;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return -1;
}

static void chain_complete(void *user_data, int64_t result)
{
    struct chain_request *r = user_data;
    struct chain *c = r->chain;

    c->results[r->index] = result;
    if (r->index + 1 < c->count)
        chain_submit(c, r->index + 1);
    pthread_mutex_lock(&c->lock);
    c->completed++;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

static int chain_finished(struct chain *c)
{
    int finished;

    pthread_mutex_lock(&c->lock);
    finished = c->completed == c->count || c->submit_errno;
    pthread_mutex_unlock(&c->lock);
    return finished;
}

/* Read every step in order at queue depth 1; then check each read returned
 * its whole length and exactly expected's bytes at its offset. */
static void run_chain(gluvirt_image *image, gluvirt_completion_mode mode,
                      const struct step *steps, int count, const unsigned char *expected)
{
    struct chain c = {.image = image, .mode = mode, .steps = steps, .count = count};
    struct timespec start;

    clock_gettime(CLOCK_MONOTONIC, &start);
    c.buffers = calloc((size_t)count, sizeof *c.buffers);
    c.requests = calloc((size_t)count, sizeof *c.requests);
    c.results = calloc((size_t)count, sizeof *c.results);
    cr_assert(c.buffers && c.requests && c.results);
    for (int i = 0; i < count; i++) {
        /* Filled with a byte the images never hold at that place by chance
         * everywhere, so a request that copies nothing shows. */
        cr_assert_not_null(c.buffers[i] = malloc(steps[i].length));
        memset(c.buffers[i], 0xa5, steps[i].length);
    }
    pthread_mutex_init(&c.lock, NULL);
    pthread_cond_init(&c.cond, NULL);
    cr_assert_eq(chain_submit(&c, 0), 0, "first read: %s", gluvirt_errmsg());
    for (;;) {
        struct timespec now;

        if (chain_finished(&c))
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        cr_assert_lt(now.tv_sec - start.tv_sec, CHAIN_WAIT_S, "the reads hang: %d of %d done",
                     c.completed, count);
        if (mode == GLUVIRT_COMPLETION_POLL) {
            struct pollfd p = {gluvirt_image_completion_fd(image), POLLIN, 0};

            cr_assert_geq(poll(&p, 1, 100), 0);
            cr_assert_geq(gluvirt_image_dispatch(image), 0, "%s", gluvirt_errmsg());
        } else {
            struct timespec ts = {0, 1000000};

            nanosleep(&ts, NULL);
        }
    }
    cr_assert_eq(c.submit_errno, 0, "a submit failed: %s", strerror(c.submit_errno));
    for (int i = 0; i < count; i++) {
        cr_assert_eq(c.results[i], (int64_t)steps[i].length,
                     "read %d at %" PRIu64 " (%zu bytes): result %" PRId64, i, steps[i].offset,
                     steps[i].length, c.results[i]);
        if (memcmp(c.buffers[i], expected + steps[i].offset, steps[i].length) != 0) {
            size_t at = 0;

            while (c.buffers[i][at] == expected[steps[i].offset + at])
                at++;
            cr_assert_fail("read %d at %" PRIu64 " (%zu bytes): wrong byte at %" PRIu64
                           ": 0x%02x, expected 0x%02x", i, steps[i].offset, steps[i].length,
                           steps[i].offset + at, c.buffers[i][at],
                           expected[steps[i].offset + at]);
        }
        free(c.buffers[i]);
    }
    free(c.buffers);
    free(c.requests);
    free(c.results);
    pthread_mutex_destroy(&c.lock);
    pthread_cond_destroy(&c.cond);
}

/* Steps reading [0, size) in pieces of length (the last one shorter). */
static struct step *sequential_steps(uint64_t start, uint64_t size, size_t length, int *count)
{
    int n = (int)((size - start + length - 1) / length), i;
    struct step *steps = calloc((size_t)n, sizeof *steps);

    cr_assert_not_null(steps);
    for (i = 0; i < n; i++) {
        steps[i].offset = start + (uint64_t)i * length;
        steps[i].length = steps[i].offset + length <= size ? length
                          : (size_t)(size - steps[i].offset);
    }
    *count = n;
    return steps;
}

/* Sequential pieces with other reads cut in: after every fifth piece, one
 * far away (sometimes exactly the range a read-ahead would hold next, but
 * shorter; sometimes a repeat of the piece before). */
static struct step *interleaved_steps(uint64_t size, size_t length, int *count)
{
    int pieces = (int)(size / length), n = 0;
    struct step *steps = calloc((size_t)pieces * 2, sizeof *steps);

    cr_assert_not_null(steps);
    for (int i = 0; i < pieces; i++) {
        steps[n++] = (struct step){(uint64_t)i * length, length};
        if (i % 5 == 4) {
            switch (i % 3) {
            case 0:
                steps[n++] = (struct step){(size / 2 + (uint64_t)i * 4096) % (size - length),
                                           length};
                break;
            case 1:
                steps[n++] = (struct step){(uint64_t)(i + 1) * length, length / 2};
                break;
            default:
                steps[n++] = (struct step){(uint64_t)i * length, length};
            }
        }
    }
    *count = n;
    return steps;
}

#endif
