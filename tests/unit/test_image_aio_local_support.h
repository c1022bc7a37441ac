/* Shared by the test_image_aio_local suites: set-up, helpers and request records. */
#ifndef GLUVIRT_TESTS_TEST_IMAGE_AIO_LOCAL_SUPPORT_H
#define GLUVIRT_TESTS_TEST_IMAGE_AIO_LOCAL_SUPPORT_H

#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

/*
 * Callback I/O (gluvirt_image_aio_*) on the local-file backend, which has no
 * asynchronous calls of its own, so every request goes through the engine's
 * worker threads:
 *
 *   - closure lifetimes: complete once, release once and after it, for every
 *     kind of request; release alone, before the submit returns, when the
 *     submit fails;
 *   - results: byte counts (short at the end of the image), 0, -errno;
 *   - where callbacks run in THREAD and in POLL mode, and the completion fd;
 *   - the queue depth: EAGAIN in POLL mode, waiting in THREAD mode;
 *   - close with requests in flight, callbacks that submit, and a seeded
 *     eight-thread run checked against an in-memory model.
 *
 * Each test makes its temporary image in TMPDIR (default /tmp) and removes it.
 * Set GLUVIRT_TEST_SEED to replay a failing random run.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <gluvirt/gluvirt.h>

#define THREAD GLUVIRT_COMPLETION_THREAD
#define POLL GLUVIRT_COMPLETION_POLL

/* How long any wait for callbacks may take before the test calls it a hang. */
#define WAIT_MS 20000

/* ------------------------------------------------------------ temporary image */

static char image_path[PATH_MAX];

static void remove_image(void)
{
    if (image_path[0])
        unlink(image_path);
}

TestSuite(aio_local, .fini = remove_image, .timeout = 60);

/* The byte at offset of a freshly made image: a position-dependent value, so
 * a read that lands at the wrong offset shows. */
static unsigned char image_byte(uint64_t offset)
{
    return (unsigned char)((offset * 2654435761u) >> 11 ^ offset >> 9);
}

/* Make the test's image: size bytes of image_byte. */
static const char *make_image(uint64_t size)
{
    const char *tmp = getenv("TMPDIR");
    unsigned char chunk[65536];
    uint64_t done = 0;
    int fd;

    snprintf(image_path, sizeof image_path, "%s/gluvirt-aio-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    fd = mkstemp(image_path);
    cr_assert_geq(fd, 0, "mkstemp %s: %s", image_path, strerror(errno));
    while (done < size) {
        size_t n = size - done < sizeof chunk ? (size_t)(size - done) : sizeof chunk;

        for (size_t i = 0; i < n; i++)
            chunk[i] = image_byte(done + i);
        cr_assert_eq(pwrite(fd, chunk, n, (off_t)done), (ssize_t)n, "%s", strerror(errno));
        done += n;
    }
    close(fd);
    return image_path;
}

/* depth 0: the default queue depth. */
static gluvirt_image *open_image(const char *path, int writable, gluvirt_completion_mode mode,
                                 unsigned depth)
{
    gluvirt_open_options *options = gluvirt_open_options_new();
    gluvirt_image *image;

    cr_assert_not_null(options);
    cr_assert_eq(gluvirt_open_options_set_writable(options, writable), 0);
    cr_assert_eq(gluvirt_open_options_set_completion(options, mode), 0, "%s", gluvirt_errmsg());
    if (depth)
        cr_assert_eq(gluvirt_open_options_set_queue_depth(options, depth), 0, "%s",
                     gluvirt_errmsg());
    image = gluvirt_image_open(NULL, path, options);
    gluvirt_open_options_free(options);
    cr_assert_not_null(image, "open %s: %s", path, gluvirt_errmsg());
    return image;
}

static void assert_error(int expected, const char *fragment)
{
    cr_assert_eq(gluvirt_errno(), expected, "errno %d (%s), expected %d (%s); message: %s",
                 gluvirt_errno(), strerror(gluvirt_errno()), expected, strerror(expected),
                 gluvirt_errmsg());
    if (fragment)
        cr_assert(strstr(gluvirt_errmsg(), fragment) != NULL, "message '%s' lacks '%s'",
                  gluvirt_errmsg(), fragment);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------ request records */

/* Where a callback ran, seen from the thread that ran it: set around the
 * library calls that may run callbacks in POLL mode. */
enum context { CONTEXT_NONE, CONTEXT_DISPATCH, CONTEXT_CLOSE };
static __thread enum context current_context;

/* One global stamp per callback, to tell the order of complete and release. */
static atomic_long stamp;

/* What happened to one request.  Only the callbacks write it, so the test
 * reads it once release has run. */
struct record {
    atomic_int completes;
    atomic_int releases;
    long complete_stamp;
    long release_stamp;
    int64_t result;
    pthread_t complete_thread;
    pthread_t release_thread;
    enum context complete_context;
    enum context release_context;
};

static void record_complete(void *user_data, int64_t result)
{
    struct record *r = user_data;

    r->result = result;
    r->complete_thread = pthread_self();
    r->complete_context = current_context;
    r->complete_stamp = atomic_fetch_add(&stamp, 1) + 1;
    atomic_fetch_add(&r->completes, 1);
}

static void record_release(void *user_data)
{
    struct record *r = user_data;

    r->release_thread = pthread_self();
    r->release_context = current_context;
    r->release_stamp = atomic_fetch_add(&stamp, 1) + 1;
    atomic_fetch_add(&r->releases, 1);
}

static int dispatch(gluvirt_image *image)
{
    int ran;

    current_context = CONTEXT_DISPATCH;
    ran = gluvirt_image_dispatch(image);
    current_context = CONTEXT_NONE;
    return ran;
}

static int close_image(gluvirt_image *image)
{
    int rc;

    current_context = CONTEXT_CLOSE;
    rc = gluvirt_image_close(image);
    current_context = CONTEXT_NONE;
    return rc;
}

static int all_released(struct record *records, int count)
{
    for (int i = 0; i < count; i++)
        if (atomic_load(&records[i].releases) == 0)
            return 0;
    return 1;
}

/* Until every record has seen its release: in THREAD mode by waiting, in
 * POLL mode by polling the completion fd and dispatching. */
static void wait_released(gluvirt_image *image, gluvirt_completion_mode mode,
                          struct record *records, int count)
{
    int64_t deadline = now_ms() + WAIT_MS;

    while (!all_released(records, count)) {
        cr_assert_lt(now_ms(), deadline, "callbacks did not arrive within %d ms", WAIT_MS);
        if (mode == THREAD) {
            sleep_ms(1);
        } else {
            struct pollfd p = {gluvirt_image_completion_fd(image), POLLIN, 0};

            cr_assert_geq(p.fd, 0, "%s", gluvirt_errmsg());
            cr_assert_geq(poll(&p, 1, 100), 0, "%s", strerror(errno));
            cr_assert_geq(dispatch(image), 0, "%s", gluvirt_errmsg());
        }
    }
}

/* complete once, release once, in that order. */
static void assert_lifetime(const struct record *r, int index)
{
    cr_assert_eq(atomic_load(&r->completes), 1, "request %d: complete ran %d times", index,
                 atomic_load(&r->completes));
    cr_assert_eq(atomic_load(&r->releases), 1, "request %d: release ran %d times", index,
                 atomic_load(&r->releases));
    cr_assert_lt(r->complete_stamp, r->release_stamp,
                 "request %d: release ran before complete", index);
}

/* A submit that failed: release ran once before it returned, complete never. */
static void assert_refused(const struct record *r, const char *what)
{
    cr_assert_eq(atomic_load(&r->releases), 1, "%s: release ran %d times", what,
                 atomic_load(&r->releases));
    cr_assert_eq(atomic_load(&r->completes), 0, "%s: complete ran", what);
}

enum op { OP_READ, OP_WRITE, OP_FLUSH, OP_DISCARD, OP_ZEROES, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"read", "write", "flush", "discard",
                                               "write_zeroes"};

/* Submit one request of kind op; count is the length for discard and zeroes. */
static int submit(gluvirt_image *image, enum op op, void *buf, size_t count, uint64_t offset,
                  struct record *r)
{
    switch (op) {
    case OP_READ:
        return gluvirt_image_aio_read(image, buf, count, offset, record_complete, r,
                                      record_release);
    case OP_WRITE:
        return gluvirt_image_aio_write(image, buf, count, offset, record_complete, r,
                                       record_release);
    case OP_FLUSH:
        return gluvirt_image_aio_flush(image, record_complete, r, record_release);
    case OP_DISCARD:
        return gluvirt_image_aio_discard(image, offset, count, record_complete, r,
                                         record_release);
    default:
        return gluvirt_image_aio_write_zeroes(image, offset, count, record_complete, r,
                                              record_release);
    }
}


#endif
