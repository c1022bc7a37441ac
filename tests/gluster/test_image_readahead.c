/*
 * The sequential read-ahead of callback reads (lib/image_readahead.c) on the
 * real test volume gv2, where raw and qcow2 data reads go through gfapi's
 * asynchronous calls and so the read-ahead prefetches: chains of
 * queue-depth-1 reads (each submitted from the callback of the one before,
 * as qemu-img bench -d 1 does) of a qcow2 image and a raw image that
 * qemu-img converted from a local pattern file, checked byte for byte; other
 * reads cut in; closes right after sequential reads, with a prefetch on its
 * way; a writable image read after writes.
 *
 * Each test converts its own images (qemu-img, about 10 s of glfs_fini
 * each) and empties them at the end.  Run inside the cluster's network
 * namespace with the cluster's env lines in the environment; without the
 * volumes the tests skip, or fail when GLUVIRT_REQUIRE_GLUSTER=1.  To check
 * the close path for leaks and late callbacks, run it once under valgrind:
 *   valgrind --leak-check=full --suppressions=tests/valgrind.supp \
 *     tests/gluster/.libs/test_image_readahead --jobs 1 --filter readahead_gluster/close_with_prefetch_in_flight
 */
#include "test_image_aio_support.h"

#define CHAIN_WAIT_S 60
#define RA_IMAGE_SIZE (8u << 20)
#define RA_HOLE_START (3u << 20) /* zeros: qemu-img leaves the clusters out */
#define RA_HOLE_END (RA_HOLE_START + (512u << 10))

static unsigned char ra_byte(uint64_t offset)
{
    if (offset >= RA_HOLE_START && offset < RA_HOLE_END)
        return 0;
    return pattern_byte(offset) ^ 0x11;
}

TestSuite(readahead_gluster, .timeout = 240);

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

/* ------------------------------------------------------------ images */

struct ra_image {
    char *uri;
    unsigned char *bytes; /* what it holds */
};

/* Convert a local file of ra_byte to name (format "raw" or "qcow2") on gv2. */
static struct ra_image make_ra_image(const char *host, const char *name, const char *format)
{
    struct ra_image image = {image_uri(host, name), malloc(RA_IMAGE_SIZE)};
    char local[] = "/tmp/gluvirt-ra-gluster-XXXXXX", *command;
    int fd;

    cr_assert_not_null(image.bytes);
    for (uint64_t i = 0; i < RA_IMAGE_SIZE; i++)
        image.bytes[i] = ra_byte(i);
    cr_assert_geq(fd = mkstemp(local), 0, "%s", strerror(errno));
    cr_assert_eq(write(fd, image.bytes, RA_IMAGE_SIZE), (ssize_t)RA_IMAGE_SIZE);
    close(fd);
    cr_assert_neq(asprintf(&command, "qemu-img convert -q -f raw -O %s %s '%s' '%s' 2>/dev/null",
                           format, strcmp(format, "qcow2") == 0 ? "-o cluster_size=65536" : "",
                           local, image.uri), -1);
    cr_assert_eq(system(command), 0, "%s failed", command);
    unlink(local);
    free(command);
    return image;
}

/* Leave an empty file, in the background: glfs_fini takes seconds. */
static void drop_ra_image(struct ra_image *image)
{
    char *command;

    if (asprintf(&command, "(qemu-img create -q -f raw '%s' 0 >/dev/null 2>&1 &)",
                 image->uri) >= 0) {
        if (system(command) != 0)
            fprintf(stderr, "test_image_readahead: could not empty %s\n", image->uri);
        free(command);
    }
    free(image->uri);
    free(image->bytes);
}

static gluvirt_image *open_ra_image(gluvirt_pool *pool, const struct ra_image *ri,
                                    gluvirt_format format, int writable,
                                    gluvirt_completion_mode mode)
{
    gluvirt_open_options *options = gluvirt_open_options_new();
    gluvirt_image *image;

    cr_assert_not_null(options);
    cr_assert_eq(gluvirt_open_options_set_format(options, format), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_open_options_set_writable(options, writable), 0, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(gluvirt_open_options_set_completion(options, mode), 0, "%s", gluvirt_errmsg());
    image = gluvirt_image_open(pool, ri->uri, options);
    gluvirt_open_options_free(options);
    cr_assert_not_null(image, "open %s: %s", ri->uri, gluvirt_errmsg());
    return image;
}

/* ------------------------------------------------------------ tests */

static void sequential_pass(gluvirt_pool *pool, const struct ra_image *ri, gluvirt_format format,
                            gluvirt_completion_mode mode, uint64_t start, size_t length)
{
    gluvirt_image *image = open_ra_image(pool, ri, format, 0, mode);
    int count;
    struct step *steps = sequential_steps(start, RA_IMAGE_SIZE, length, &count);

    run_chain(image, mode, steps, count, ri->bytes);
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    free(steps);
}

static void interleaved_pass(gluvirt_pool *pool, const struct ra_image *ri,
                             gluvirt_format format, gluvirt_completion_mode mode, size_t length)
{
    gluvirt_image *image = open_ra_image(pool, ri, format, 0, mode);
    int count;
    struct step *steps = interleaved_steps(RA_IMAGE_SIZE, length, &count);

    run_chain(image, mode, steps, count, ri->bytes);
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    free(steps);
}

/* Three sequential reads, then close at once: the third read started a
 * prefetch that is most likely still on its way. */
static void close_rounds(gluvirt_pool *pool, const struct ra_image *ri, gluvirt_format format,
                         int rounds)
{
    for (int round = 0; round < rounds; round++) {
        gluvirt_completion_mode mode = round % 2 ? POLL : THREAD;
        gluvirt_image *image = open_ra_image(pool, ri, format, 0, mode);
        uint64_t start = (uint64_t)(round % 100) * 65536;
        int count;
        struct step *steps = sequential_steps(start, start + 3 * 65536, 65536, &count);

        run_chain(image, mode, steps, count, ri->bytes);
        cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
        free(steps);
    }
}

static void all_passes(const char *name, const char *format_name, gluvirt_format format)
{
    const char *host = require_gluster();
    gluvirt_pool *pool = make_pool();
    struct ra_image ri = make_ra_image(host, name, format_name);

    sequential_pass(pool, &ri, format, THREAD, 0, 65536);
    sequential_pass(pool, &ri, format, POLL, 0, 65536);
    sequential_pass(pool, &ri, format, THREAD, 5u << 20, 4096); /* across the hole's end */
    sequential_pass(pool, &ri, format, POLL, 0, 12345);         /* straddles clusters */
    sequential_pass(pool, &ri, format, THREAD, 0, 1u << 20);    /* the longest it prefetches */
    sequential_pass(pool, &ri, format, THREAD, 0, 3u << 19);    /* longer: never */
    interleaved_pass(pool, &ri, format, THREAD, 65536);
    interleaved_pass(pool, &ri, format, POLL, 32768);
    close_rounds(pool, &ri, format, 60);
    gluvirt_pool_free(pool);
    drop_ra_image(&ri);
}

Test(readahead_gluster, qcow2_made_by_qemu_img)
{
    all_passes("readahead.qcow2", "qcow2", GLUVIRT_FORMAT_QCOW2);
}

Test(readahead_gluster, raw)
{
    all_passes("readahead.raw", "raw", GLUVIRT_FORMAT_RAW);
}

/* Just the close path (for a run under valgrind). */
Test(readahead_gluster, close_with_prefetch_in_flight)
{
    const char *host = require_gluster();
    gluvirt_pool *pool = make_pool();
    struct ra_image ri = make_ra_image(host, "readahead-close.qcow2", "qcow2");

    close_rounds(pool, &ri, GLUVIRT_FORMAT_QCOW2, 100);
    gluvirt_pool_free(pool);
    drop_ra_image(&ri);
}

/* A writable raw image: sequential reads after writes see the new bytes. */
Test(readahead_gluster, writable_raw_reads_its_writes)
{
    const char *host = require_gluster();
    gluvirt_pool *pool = make_pool();
    struct ra_image ri = make_ra_image(host, "readahead-writable.raw", "raw");
    gluvirt_image *image = open_ra_image(pool, &ri, GLUVIRT_FORMAT_RAW, 1, THREAD);
    int count;
    struct step *steps = sequential_steps(0, RA_IMAGE_SIZE, 65536, &count);

    run_chain(image, THREAD, steps, count, ri.bytes);
    for (int round = 0; round < 3; round++) {
        uint64_t at = (uint64_t)round * 65536 * 7 + 65536; /* where a read-ahead would be */

        for (size_t i = 0; i < 3 * 65536; i++)
            ri.bytes[at + i] = (unsigned char)(round * 31 + i * 7 + 1);
        cr_assert_eq(gluvirt_image_pwrite(image, ri.bytes + at, 3 * 65536, at), 3 * 65536,
                     "%s", gluvirt_errmsg());
        run_chain(image, THREAD, steps, count, ri.bytes);
    }
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    gluvirt_pool_free(pool);
    free(steps);
    drop_ra_image(&ri);
}
