/* The shared machinery of aio_stress: reporting, clocks, the byte patterns,
 * request accounting, waiting for chains and the event loop of the pollable
 * completion mode; see aio_stress.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "aio_stress.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WAIT_S 120

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static int failures;

/* Request accounting: every submit call runs release once, every accepted
 * request runs complete once. */
static atomic_long submit_calls, accepted, completes, releases;

void failf(const char *format, ...)
{
    va_list args;

    pthread_mutex_lock(&report_lock);
    if (failures++ < 20) {
        printf("FAIL: ");
        va_start(args, format);
        vprintf(format, args);
        va_end(args);
        putchar('\n');
        fflush(stdout);
    }
    pthread_mutex_unlock(&report_lock);
}

int failure_count(void)
{
    int n;

    pthread_mutex_lock(&report_lock);
    n = failures;
    pthread_mutex_unlock(&report_lock);
    return n;
}

double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sleep_us(unsigned us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

unsigned char ro_byte(uint64_t at)
{
    if (at >= HOLE_START && at < HOLE_END)
        return 0;
    return (unsigned char)((at * 2654435761u) >> 11 ^ at >> 9 ^ 0xa5);
}

/* What generation gen of a write puts at at; consecutive generations differ
 * in every byte. */
unsigned char gen_byte(uint64_t at, unsigned gen)
{
    return (unsigned char)(at * 131u + gen * 29u + (at >> 11));
}

void fill_gen(unsigned char *buf, uint64_t offset, size_t length, unsigned gen)
{
    for (size_t i = 0; i < length; i++)
        buf[i] = gen_byte(offset + i, gen);
}

/* The first byte of buf that differs from what generation gen (0: zeros)
 * wrote there, or -1. */
int64_t first_gen_mismatch(const unsigned char *buf, uint64_t offset, size_t length,
                           unsigned gen)
{
    for (size_t i = 0; i < length; i++)
        if (buf[i] != (gen ? gen_byte(offset + i, gen) : 0))
            return (int64_t)i;
    return -1;
}

int64_t first_ro_mismatch(const unsigned char *buf, uint64_t offset, size_t length)
{
    for (size_t i = 0; i < length; i++)
        if (buf[i] != ro_byte(offset + i))
            return (int64_t)i;
    return -1;
}

/* ------------------------------------------------------------ requests */

static void count_release(void *user_data)
{
    (void)user_data;
    atomic_fetch_add(&releases, 1);
}

/* Every submit goes through here, so that the counts add up. */
int submit(gluvirt_image *image, enum op op, void *buf, size_t count, uint64_t offset,
           gluvirt_complete_fn complete, void *user_data)
{
    int rc;

    atomic_fetch_add(&submit_calls, 1);
    switch (op) {
    case OP_READ:
        rc = gluvirt_image_aio_read(image, buf, count, offset, complete, user_data,
                                    count_release);
        break;
    case OP_WRITE:
        rc = gluvirt_image_aio_write(image, buf, count, offset, complete, user_data,
                                     count_release);
        break;
    case OP_FLUSH:
        rc = gluvirt_image_aio_flush(image, complete, user_data, count_release);
        break;
    default:
        rc = gluvirt_image_aio_write_zeroes(image, offset, count, complete, user_data,
                                            count_release);
    }
    if (rc == 0)
        atomic_fetch_add(&accepted, 1);
    return rc;
}

void count_complete(void)
{
    atomic_fetch_add(&completes, 1);
}

/* After every image of a phase is closed, nothing may be pending. */
void check_accounting(const char *phase)
{
    long calls = atomic_load(&submit_calls), ok = atomic_load(&accepted);
    long done = atomic_load(&completes), freed = atomic_load(&releases);

    if (done != ok || freed != calls)
        failf("%s: %ld submit calls, %ld accepted: %ld complete and %ld release calls",
              phase, calls, ok, done, freed);
}

/* ------------------------------------------------------------ waiting */

void tally_init(struct tally *t, int running)
{
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->cond, NULL);
    t->running = running;
}

void tally_done(struct tally *t)
{
    pthread_mutex_lock(&t->lock);
    if (--t->running == 0)
        pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

/* A hang leaves requests in flight that nothing can clean up: stop here. */
void tally_wait(struct tally *t, const char *what)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_S;
    pthread_mutex_lock(&t->lock);
    while (t->running > 0)
        if (pthread_cond_timedwait(&t->cond, &t->lock, &until) == ETIMEDOUT) {
            printf("FAIL: %s: %d chains still running after %d s\n", what, t->running,
                   WAIT_S);
            fflush(stdout);
            _exit(3);
        }
    pthread_mutex_unlock(&t->lock);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->cond);
}

static void *loop_main(void *arg)
{
    struct loop *l = arg;
    int fd = gluvirt_image_completion_fd(l->image);

    if (fd < 0) {
        failf("gluvirt_image_completion_fd: %s", gluvirt_errmsg());
        return NULL;
    }
    while (!atomic_load(&l->stop)) {
        struct pollfd p = {fd, POLLIN, 0};

        if (poll(&p, 1, 20) < 0 && errno != EINTR)
            failf("poll on the completion fd: %s", strerror(errno));
        if (gluvirt_image_dispatch(l->image) < 0)
            failf("gluvirt_image_dispatch: %s", gluvirt_errmsg());
    }
    return NULL;
}

void loop_start(struct loop *l, gluvirt_image *image, gluvirt_completion_mode mode)
{
    l->image = mode == GLUVIRT_COMPLETION_POLL ? image : NULL;
    atomic_store(&l->stop, 0);
    if (l->image && pthread_create(&l->thread, NULL, loop_main, l) != 0) {
        fprintf(stderr, "aio_stress: pthread_create failed\n");
        exit(2);
    }
}

void loop_stop(struct loop *l)
{
    if (!l->image)
        return;
    atomic_store(&l->stop, 1);
    pthread_join(l->thread, NULL);
}
