/*
 * Writing qcow2 images, judged by qemu-img.  Each trace test makes an image
 * with 'qemu-img create' (version 2 or 3, clusters of 512 bytes to 2 MiB,
 * with or without a qcow2 backing file holding a pattern written by
 * qemu-io), applies a seeded random trace of writes, zeroing, discards and
 * flushes through the public API, and applies the same trace to a raw model
 * in memory.  Then 'qemu-img check' must find the image clean and 'qemu-img
 * compare' must find it identical to the model written out as a raw file.
 * Failures name the layout and the seed; GLUVIRT_QCOW2_WRITE_SEED=N runs
 * that seed alone (the trace machinery: qcow2_write_support.h).
 *
 * Also: the layouts a writable open refuses (ENOTSUP, read-only still
 * works), writers racing into the same empty clusters, a refcount table that
 * must grow, and a hostile image whose L2 entry points at metadata (the
 * write is refused and the image marked corrupt).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include <gluvirt/gluvirt.h>

#include "qcow2_write_support.h"

TestSuite(qcow2_write, .init = make_test_dir, .fini = remove_test_dir, .timeout = 300);

/* ------------------------------------------------------------ layouts */

static void check_layout(int version, uint64_t cluster, int backing)
{
    const struct layout l = {version, cluster, backing, NULL};

    check_traces(&l, 3, cluster >= (1u << 20) ? 60 : 150);
}

#define LAYOUT_TEST(version, cluster, backing, name)                                          \
    Test(qcow2_write, name) { check_layout(version, cluster, backing); }

LAYOUT_TEST(2, 512, 0, v2_512)
LAYOUT_TEST(2, 512, 1, v2_512_backing)
LAYOUT_TEST(2, 4096, 0, v2_4k)
LAYOUT_TEST(2, 4096, 1, v2_4k_backing)
LAYOUT_TEST(2, 65536, 0, v2_64k)
LAYOUT_TEST(2, 65536, 1, v2_64k_backing)
LAYOUT_TEST(2, 2u << 20, 0, v2_2m)
LAYOUT_TEST(2, 2u << 20, 1, v2_2m_backing)
LAYOUT_TEST(3, 512, 0, v3_512)
LAYOUT_TEST(3, 512, 1, v3_512_backing)
LAYOUT_TEST(3, 4096, 0, v3_4k)
LAYOUT_TEST(3, 4096, 1, v3_4k_backing)
LAYOUT_TEST(3, 65536, 0, v3_64k)
LAYOUT_TEST(3, 65536, 1, v3_64k_backing)
LAYOUT_TEST(3, 2u << 20, 0, v3_2m)
LAYOUT_TEST(3, 2u << 20, 1, v3_2m_backing)

/* Clusters qemu-io allocated, zeroed (kept allocated, and unmapped) and
 * discarded before the trace: in-place writes, and entries of every kind
 * replaced and freed. */
static void check_prefilled(int version)
{
    const struct layout l = {version, 65536, 0, NULL};
    struct trace t;

    trace_begin(&t, &l, 11);
    RUN("qemu-io -f qcow2 -c 'write -P 0x33 0 1M' -c 'write -z 256k 128k' "
        "-c 'write -z -u 640k 64k' -c 'discard 512k 64k' img.qcow2 >/dev/null");
    memset(t.model, 0x33, 1u << 20);
    memset(t.model + (256u << 10), 0, 128u << 10);
    memset(t.model + (640u << 10), 0, 64u << 10);
    memset(t.model + (512u << 10), 0, 64u << 10);
    run_trace(&t, 150);
    trace_judge(&t);
    trace_end(&t);
}

Test(qcow2_write, v2_over_qemu_io_data) { check_prefilled(2); }
Test(qcow2_write, v3_over_qemu_io_data) { check_prefilled(3); }

/* 512-byte clusters: a refcount table of one cluster counts 8 MiB of file;
 * writing more moves the table, and discarded space is reused. */
Test(qcow2_write, refcount_table_grows)
{
    const struct layout l = {3, 512, 0, NULL};
    struct trace t;
    gluvirt_image *image;
    unsigned char *data = malloc(1u << 20);
    uint64_t old_table;

    trace_begin(&t, &l, 7);
    free(t.model);
    t.size = 24ull << 20;
    cr_assert_not_null(t.model = calloc(1, (size_t)t.size));
    shell("rm -f img.qcow2");
    RUN("qemu-img create -q -f qcow2 -o cluster_size=512 img.qcow2 %" PRIu64, t.size);
    old_table = peek_be(t.image_path, H_REFTABLE_OFFSET, 8);
    cr_assert_not_null(image = open_qcow2(t.image_path, 1), "%s", gluvirt_errmsg());
    for (uint64_t at = 0; at < 16ull << 20; at += 1u << 20) {
        memset(data, (int)(at >> 20) + 1, 1u << 20);
        cr_assert_eq(gluvirt_image_pwrite(image, data, 1u << 20, at), 1 << 20, "%s",
                     gluvirt_errmsg());
        memcpy(t.model + at, data, 1u << 20);
    }
    cr_assert_eq(gluvirt_image_discard(image, 2u << 20, 6u << 20), 0, "%s", gluvirt_errmsg());
    memset(t.model + (2u << 20), 0, 6u << 20);
    memset(data, 0x77, 1u << 20);
    for (uint64_t at = 16ull << 20; at < 20ull << 20; at += 1u << 20) {
        cr_assert_eq(gluvirt_image_pwrite(image, data, 1u << 20, at), 1 << 20, "%s",
                     gluvirt_errmsg());
        memcpy(t.model + at, data, 1u << 20);
    }
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    cr_expect_neq(peek_be(t.image_path, H_REFTABLE_OFFSET, 8), old_table,
                  "the refcount table did not move");
    cr_expect_gt(peek_be(t.image_path, H_REFTABLE_CLUSTERS, 4), 1);
    /* 20 MiB written, 6 MiB of it discarded and then reused: the file stays
     * well below 20 MiB of data plus metadata. */
    {
        struct stat st;

        cr_assert_eq(stat(t.image_path, &st), 0);
        cr_expect_lt((uint64_t)st.st_size, 18ull << 20, "discarded clusters were not reused "
                     "(file of %lld bytes)", (long long)st.st_size);
    }
    trace_judge(&t);
    trace_end(&t);
    free(data);
}

/* Allocating writes count clusters ahead of need (one flush for many
 * allocations).  A check on the open image must not see those as leaks,
 * nor may a repair hand them out twice; a clean close gives them back, so
 * qemu-img finds no leak either.  512-byte clusters: each L2 table covers
 * 32 KiB, so a write into the next 64 KiB allocates a table past the
 * reserve, and the reserve lies inside the file where a check counts it. */
Test(qcow2_write, reserve_given_back_before_check_and_close)
{
    const struct layout l = {3, 512, 0, NULL};
    struct trace t;
    gluvirt_image *image;
    gluvirt_check_result *result = NULL;
    unsigned char data[4096];
    const unsigned flags[2] = {0, GLUVIRT_CHECK_REPAIR_ALL};

    trace_begin(&t, &l, 3);
    cr_assert_not_null(image = open_qcow2(t.image_path, 1), "%s", gluvirt_errmsg());
    for (unsigned round = 0; round < 2; round++) {
        for (uint64_t at = round << 17; at < (round + 1ull) << 17; at += 1u << 16) {
            memset(data, 0x31 + (int)(at >> 16), sizeof data);
            cr_assert_eq(gluvirt_image_pwrite(image, data, sizeof data, at),
                         (int64_t)sizeof data, "%s", gluvirt_errmsg());
            memcpy(t.model + at, data, sizeof data);
        }
        cr_assert_eq(gluvirt_image_check(image, flags[round], &result), 0, "%s",
                     gluvirt_errmsg());
        cr_expect_eq(gluvirt_check_result_value(result, GLUVIRT_CHECK_LEAKS), 0,
                     "round %u: the reserve read as leaks", round);
        cr_expect_eq(gluvirt_check_result_value(result, GLUVIRT_CHECK_LEAKS_FIXED), 0,
                     "round %u: the repair freed the reserve", round);
        cr_expect_eq(gluvirt_check_result_value(result, GLUVIRT_CHECK_CORRUPTIONS), 0);
        gluvirt_check_result_free(result);
    }
    /* Allocations after the repair come from counts that are right. */
    memset(data, 0x55, sizeof data);
    for (uint64_t at = 256u << 10; at < 512u << 10; at += sizeof data) {
        cr_assert_eq(gluvirt_image_pwrite(image, data, sizeof data, at), (int64_t)sizeof data,
                     "%s", gluvirt_errmsg());
        memcpy(t.model + at, data, sizeof data);
    }
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    trace_judge(&t);
    trace_end(&t);
}

/* ------------------------------------------------------------ concurrency */

struct racer {
    gluvirt_image *image;
    unsigned index;
    uint64_t cluster;
    int failed;
};

/* Each thread writes its own 512-byte sector of the same empty clusters. */
static void *race(void *arg)
{
    struct racer *r = arg;
    unsigned char sector[512];

    memset(sector, (int)r->index + 1, sizeof sector);
    for (uint64_t c = 0; c < 32; c++)
        if (gluvirt_image_pwrite(r->image, sector, sizeof sector,
                                 c * r->cluster + r->index * 512) != 512)
            r->failed = 1;
    return NULL;
}

Test(qcow2_write, writers_race_into_empty_clusters)
{
    const struct layout l = {3, 65536, 1, NULL};
    struct racer racers[8];
    pthread_t threads[8];
    struct trace t;
    gluvirt_image *image;

    trace_begin(&t, &l, 0);
    cr_assert_not_null(image = open_qcow2(t.image_path, 1), "%s", gluvirt_errmsg());
    for (unsigned i = 0; i < 8; i++) {
        racers[i] = (struct racer){image, i, l.cluster, 0};
        cr_assert_eq(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
    }
    for (unsigned i = 0; i < 8; i++) {
        cr_assert_eq(pthread_join(threads[i], NULL), 0);
        cr_assert_eq(racers[i].failed, 0, "writer %u failed", i);
        for (uint64_t c = 0; c < 32; c++)
            memset(t.model + c * l.cluster + i * 512, (int)i + 1, 512);
    }
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    trace_judge(&t);
    trace_end(&t);
}

/* Threads each run a trace in their own part of the disk, at once. */
static void check_parallel_traces(int version, uint64_t cluster, int backing)
{
    const struct layout l = {version, cluster, backing, NULL};
    struct trace t;

    trace_begin(&t, &l, 21);
    run_parallel_traces(&t, 120);
    trace_judge(&t);
    trace_end(&t);
}

Test(qcow2_write, parallel_traces_v3_4k_backing) { check_parallel_traces(3, 4096, 1); }
Test(qcow2_write, parallel_traces_v2_64k) { check_parallel_traces(2, 65536, 0); }

/* ------------------------------------------------------------ refusals */

Test(qcow2_write, errors_refused_layouts_enotsup)
{
    static const struct {
        const char *create, *prepare, *fragment;
    } cases[] = {
        {"", "qemu-img bitmap --add img.qcow2 b0", "bitmaps"},
    };
    char *path = test_path("img.qcow2");

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        shell("rm -f img.qcow2 data.raw");
        RUN("qemu-img create -q -f qcow2 %s img.qcow2 1M", cases[i].create);
        if (cases[i].prepare)
            RUN("%s", cases[i].prepare);
        assert_refused(path, ENOTSUP, cases[i].fragment);
    }
    free(path);
}

Test(qcow2_write, truncate_as_qemu_resizes)
{
    char *path = test_path("img.qcow2");
    gluvirt_image *image;

    RUN("qemu-img create -q -f qcow2 -o cluster_size=4096 img.qcow2 1M");
    RUN("qemu-io -f qcow2 -c 'write -P 7 0 64k' img.qcow2 >/dev/null");
    cr_assert_not_null(image = open_qcow2(path, 1), "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_truncate(image, (8u << 20) + 1), -1);
    cr_assert_eq(gluvirt_errno(), EINVAL, "%s", gluvirt_errmsg());
    /* 8 MiB needs 4 L1 entries (2 MiB each): a new L1 table */
    cr_assert_eq(gluvirt_image_truncate(image, 8u << 20), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_size(image), 8 << 20);
    cr_assert_eq(gluvirt_image_close(image), 0);
    RUN("qemu-img check -q img.qcow2");
    RUN("qemu-img info img.qcow2 | grep -q '(8388608 bytes)'");
    RUN("qemu-io -f qcow2 -c 'read -P 7 0 64k' -c 'read -P 0 64k 8128k' img.qcow2 >out.txt && "
        "! grep -q 'Pattern verification failed' out.txt && "
        "grep -q 'read 8323072/8323072' out.txt");

    /* version 2 with a snapshot: refused as qemu-img refuses it */
    RUN("rm -f img.qcow2 && qemu-img create -q -f qcow2 -o compat=0.10 img.qcow2 1M && "
        "qemu-img snapshot -c s img.qcow2");
    cr_assert_not_null(image = open_qcow2(path, 1), "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_truncate(image, 2u << 20), -1);
    cr_assert_eq(gluvirt_errno(), ENOTSUP, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_size(image), 1 << 20);
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(path);
}

/* ------------------------------------------------------------ hostile images */

/* An L2 entry aimed at the image's own metadata: the write is refused, the
 * metadata stays as it was, the image is marked corrupt, reads go on. */
static void check_overlap(const char *header_field, uint64_t field, const char *named)
{
    char *path = test_path("img.qcow2");
    uint64_t l2, target;
    unsigned char *before, *after, buf[512];
    gluvirt_image *image;

    shell("rm -f img.qcow2");
    RUN("qemu-img create -q -f qcow2 img.qcow2 1M");
    RUN("qemu-io -f qcow2 -c 'write -P 0x11 0 128k' img.qcow2 >/dev/null");
    l2 = peek_be(path, peek_be(path, H_L1_OFFSET, 8), 8) & OFFSET_MASK;
    target = peek_be(path, field, 8);
    cr_assert_neq(l2, 0);
    poke_be(path, l2, 8, target | COPIED);
    before = read_range(path, target, 65536);

    cr_assert_not_null(image = open_qcow2(path, 1), "%s", gluvirt_errmsg());
    memset(buf, 0xee, sizeof buf);
    cr_assert_eq(gluvirt_image_pwrite(image, buf, sizeof buf, 100), -1,
                 "a write over the %s went through", header_field);
    cr_assert_eq(gluvirt_errno(), EIO, "%s", gluvirt_errmsg());
    cr_assert(strstr(gluvirt_errmsg(), named), "%s", gluvirt_errmsg());
    cr_assert(strstr(gluvirt_errmsg(), "corrupt"), "%s", gluvirt_errmsg());
    /* Later writes, even harmless ones, are refused too. */
    cr_assert_eq(gluvirt_image_pwrite(image, buf, sizeof buf, 65536), -1);
    cr_assert_eq(gluvirt_errno(), EIO, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_pread(image, buf, sizeof buf, 65536), (ssize_t)sizeof buf, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(buf[0], 0x11);
    gluvirt_image_close(image);

    after = read_range(path, target, 65536);
    cr_assert_eq(memcmp(before, after, 65536), 0, "the %s changed", header_field);
    cr_assert(peek_be(path, H_INCOMPAT, 8) & CORRUPT_BIT, "the corrupt bit is not set");
    cr_assert_eq(shell("qemu-img info img.qcow2 | grep -q 'corrupt: true'"), 0,
                 "qemu-img does not see the image as corrupt");
    assert_refused(path, EROFS, "corrupt");
    free(before);
    free(after);
    free(path);
}

Test(qcow2_write, errors_overlap_refcount_table_marks_corrupt)
{
    check_overlap("refcount table", H_REFTABLE_OFFSET, "refcount table");
}

Test(qcow2_write, errors_overlap_l1_table_marks_corrupt)
{
    check_overlap("L1 table", H_L1_OFFSET, "L1 table");
}
