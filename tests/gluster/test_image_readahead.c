/*
 * The sequential read-ahead of callback reads (lib/image/image_readahead.c) on the
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
#include "../readahead_chain.h"
#include "util/stats.h"

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

/* ------------------------------------------------------------ tests */

/* Reads up to this long are prefetched (lib/image/image_readahead.c). */
#define RA_MAX_PREFETCH (256u << 10)

/* The chain's reads were served from prefetches, not merely right: at queue
 * depth 1, a sequential read goes out with a prefetch of the next one, which
 * is then served from it, and so on in pairs; every prefetch but perhaps
 * the last one (the chain ends) is read.  Reads longer than the read-ahead
 * takes are never prefetched. */
static void expect_readahead(int count, size_t length, uint64_t prefetches_before,
                             uint64_t hits_before)
{
    uint64_t prefetches = glv_stat_get(GLV_STAT_READAHEAD_PREFETCHES) - prefetches_before;
    uint64_t hits = glv_stat_get(GLV_STAT_READAHEAD_HITS) - hits_before;

    cr_log_info("%d reads of %zu bytes: %" PRIu64 " prefetches, %" PRIu64 " hits", count, length,
                prefetches, hits);
    if (length > RA_MAX_PREFETCH) {
        cr_assert_eq(prefetches, 0, "%" PRIu64 " prefetches for reads of %zu bytes", prefetches,
                     length);
        return;
    }
    cr_assert_geq(prefetches, (uint64_t)(count / 3), "%" PRIu64 " prefetches for %d reads",
                  prefetches, count);
    cr_assert_geq(hits + 1, prefetches, "%" PRIu64 " of %" PRIu64 " prefetches were read", hits,
                  prefetches);
}

static void sequential_pass(gluvirt_pool *pool, const struct ra_image *ri, gluvirt_format format,
                            gluvirt_completion_mode mode, uint64_t start, size_t length)
{
    gluvirt_image *image = chain_open(pool, ri->uri, format, 0, mode);
    int count;
    struct step *steps = sequential_steps(start, RA_IMAGE_SIZE, length, &count);
    uint64_t prefetches = glv_stat_get(GLV_STAT_READAHEAD_PREFETCHES);
    uint64_t hits = glv_stat_get(GLV_STAT_READAHEAD_HITS);

    run_chain(image, mode, steps, count, ri->bytes);
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    expect_readahead(count, length, prefetches, hits);
    free(steps);
}

static void interleaved_pass(gluvirt_pool *pool, const struct ra_image *ri,
                             gluvirt_format format, gluvirt_completion_mode mode, size_t length)
{
    gluvirt_image *image = chain_open(pool, ri->uri, format, 0, mode);
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
        gluvirt_image *image = chain_open(pool, ri->uri, format, 0, mode);
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
    sequential_pass(pool, &ri, format, THREAD, 0, RA_MAX_PREFETCH); /* the longest it prefetches */
    sequential_pass(pool, &ri, format, THREAD, 0, 1u << 20);        /* longer: never */
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
    gluvirt_image *image = chain_open(pool, ri.uri, GLUVIRT_FORMAT_RAW, 1, THREAD);
    int count;
    struct step *steps = sequential_steps(0, RA_IMAGE_SIZE, 65536, &count);
    uint64_t prefetches = glv_stat_get(GLV_STAT_READAHEAD_PREFETCHES);

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
    /* A writable image has no read-ahead: what it prefetched could be stale. */
    cr_assert_eq(glv_stat_get(GLV_STAT_READAHEAD_PREFETCHES), prefetches);
    gluvirt_pool_free(pool);
    free(steps);
    drop_ra_image(&ri);
}
