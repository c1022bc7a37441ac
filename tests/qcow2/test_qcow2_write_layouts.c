/*
 * Writing the qcow2 layouts beyond the common ones, judged by qemu-img:
 * refcounts of every width (refcount_bits 1 to 64).  For each, images made
 * by qemu-img take seeded random traces through the library and the same
 * trace on a raw model (qcow2_write_support.h); 'qemu-img check' must find
 * them clean and 'qemu-img compare' equal to the model.  And QEMU and the
 * library take turns on one image: qemu-io writes, the library writes over
 * part of it, qemu-io reads both back, the library reads what qemu-io wrote
 * last.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <gluvirt/gluvirt.h>

#include "qcow2_write_support.h"

TestSuite(qcow2_write_layouts, .init = make_test_dir, .fini = remove_test_dir, .timeout = 300);

/* ------------------------------------------------------------ QEMU and the library in turns */

static void write_through_library(const char *path, int fill, uint64_t offset, size_t length)
{
    gluvirt_image *image = open_qcow2(path, 1);
    unsigned char *data = malloc(length);

    cr_assert_not_null(image, "open %s for writing: %s", path, gluvirt_errmsg());
    cr_assert_not_null(data);
    memset(data, fill, length);
    cr_assert_eq(gluvirt_image_pwrite(image, data, length, offset), (ssize_t)length, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    free(data);
}

static void assert_reads(const char *path, int fill, uint64_t offset, size_t length)
{
    gluvirt_image *image = open_qcow2(path, 0);
    unsigned char *data = malloc(length);

    cr_assert_not_null(image, "open %s: %s", path, gluvirt_errmsg());
    cr_assert_not_null(data);
    cr_assert_eq(gluvirt_image_pread(image, data, length, offset), (ssize_t)length, "%s",
                 gluvirt_errmsg());
    for (size_t i = 0; i < length; i++)
        cr_assert_eq(data[i], fill, "byte %" PRIu64 " reads 0x%02x, qemu-io wrote 0x%02x",
                     offset + i, data[i], fill);
    gluvirt_image_close(image);
    free(data);
}

/*
 * On the image img.qcow2 as it is: qemu-io writes 0x11 over [0, 384k),
 * the library 0x22 over [128k, 320k) (in place, and into clusters qemu-io
 * left alone), qemu-io reads both patterns back, writes 0x33 over
 * [256k, 448k), and the library reads that; 'qemu-img check' stays clean.
 */
static void take_turns(const char *where)
{
    char *path = test_path("img.qcow2");

    RUN("qemu-io -f qcow2 -c 'write -P 0x11 0 384k' img.qcow2 >/dev/null");
    write_through_library(path, 0x22, 128u << 10, 192u << 10);
    cr_assert_eq(shell("qemu-io -f qcow2 -c 'read -P 0x11 0 128k' -c 'read -P 0x22 128k 192k' "
                       "-c 'read -P 0x11 320k 64k' img.qcow2 | grep -q 'Pattern verification "
                       "failed'"), 1, "%s: qemu-io does not read back what was written", where);
    RUN("qemu-io -f qcow2 -c 'write -P 0x33 256k 192k' img.qcow2 >/dev/null");
    assert_reads(path, 0x22, 128u << 10, 128u << 10);
    assert_reads(path, 0x33, 256u << 10, 192u << 10);
    cr_assert_eq(shell("qemu-img check -q img.qcow2"), 0, "%s: 'qemu-img check' finds the "
                 "image damaged (output above)", where);
    free(path);
}

static void turns_on(const struct layout *l)
{
    struct trace t;

    trace_begin(&t, l, 0);
    take_turns(t.where);
    trace_end(&t);
}

/* ------------------------------------------------------------ refcount widths */

static void check_refcount_bits(unsigned bits, uint64_t cluster, int backing)
{
    char options[32];
    struct layout l = {3, cluster, backing, options};

    snprintf(options, sizeof options, "refcount_bits=%u", bits);
    check_traces(&l, 2, 150);
    turns_on(&l);
    /* qemu-img still sees the width it made. */
    cr_assert_eq(shell("qemu-img info img.qcow2 | grep -q 'refcount bits: %u$'", bits), 0,
                 "the image no longer has %u-bit refcounts", bits);
}

Test(qcow2_write_layouts, refcount_bits_1) { check_refcount_bits(1, 65536, 0); }
Test(qcow2_write_layouts, refcount_bits_2_backing) { check_refcount_bits(2, 4096, 1); }
Test(qcow2_write_layouts, refcount_bits_4) { check_refcount_bits(4, 512, 0); }
Test(qcow2_write_layouts, refcount_bits_8_backing) { check_refcount_bits(8, 65536, 1); }
Test(qcow2_write_layouts, refcount_bits_32) { check_refcount_bits(32, 4096, 0); }
Test(qcow2_write_layouts, refcount_bits_64) { check_refcount_bits(64, 65536, 0); }

/* 64-bit counts in 512-byte clusters: a refcount block counts 64 clusters
 * and a one-cluster table 2 MiB of file, so filling a 4 MiB disk adds blocks
 * and grows the table; 1-bit counts in 512-byte clusters pack 4096 clusters
 * into a block. */
Test(qcow2_write_layouts, refcount_bits_64_table_grows)
{
    const struct layout l = {3, 512, 0, "refcount_bits=64"};
    struct trace t;
    uint64_t old_table;

    trace_begin(&t, &l, 5);
    old_table = peek_be(t.image_path, H_REFTABLE_OFFSET, 8);
    /* The whole disk first (4 MiB of data clusters), then a trace over it. */
    {
        gluvirt_image *image = open_qcow2(t.image_path, 1);
        const size_t chunk = 65536;

        cr_assert_not_null(image, "%s", gluvirt_errmsg());
        for (uint64_t at = 0; at < t.size; at += chunk) {
            fill_pattern(t.model + at, chunk, at, 3);
            cr_assert_eq(gluvirt_image_pwrite(image, t.model + at, chunk, at), (ssize_t)chunk,
                         "%s", gluvirt_errmsg());
        }
        cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    }
    run_trace(&t, 200);
    trace_judge(&t);
    cr_expect_neq(peek_be(t.image_path, H_REFTABLE_OFFSET, 8), old_table,
                  "%s: the refcount table did not move", t.where);
    trace_end(&t);
}

Test(qcow2_write_layouts, refcount_bits_1_small_clusters)
{
    const struct layout l = {3, 512, 1, "refcount_bits=1"};

    check_traces(&l, 2, 200);
}

/* ------------------------------------------------------------ internal snapshots */

/* Snapshot name of img.qcow2 as qemu-img reads it, into the raw file out. */
static void dump_snapshot(const char *name, const char *out)
{
    RUN("qemu-img convert -f qcow2 -O raw -l snapshot.name=%s img.qcow2 %s", name, out);
}

/* The model: the active state as qemu-img reads it. */
static void model_from_qemu(struct trace *t)
{
    char *path = test_path("active.raw");
    unsigned char *data;
    size_t size;

    RUN("qemu-img convert -f qcow2 -O raw img.qcow2 active.raw");
    data = read_file(path, &size);
    cr_assert_eq(size, t->size);
    memcpy(t->model, data, size);
    free(data);
    free(path);
}

static void assert_snapshots_unchanged(const char *where, const char *when)
{
    static const char *const names[] = {"s1", "s2"};

    for (size_t i = 0; i < 2; i++) {
        dump_snapshot(names[i], "after.raw");
        cr_assert_eq(shell("cmp -s %s.raw after.raw", names[i]), 0,
                     "%s: snapshot %s changed %s", where, names[i], when);
    }
}

/*
 * Two snapshots qemu-img takes between qemu-io's writes (clusters and whole
 * L2 tables shared by the active state and one or both snapshots, zeroed
 * and discarded ones), then a trace through the library: qemu-img must
 * find the image clean, the active state equal to the model, and each
 * snapshot, read by qemu-img, byte for byte what it was.  Then qemu-io and
 * the library take turns, and the snapshots still hold.
 */
static void check_snapshots(const struct layout *l, uint64_t seed)
{
    struct trace t;

    trace_begin(&t, l, seed);
    RUN("qemu-io -f qcow2 -c 'write -P 0x41 0 1M' -c 'write -P 0x42 2M 512k' "
        "-c 'write -z 1536k 256k' img.qcow2 >/dev/null");
    RUN("qemu-img snapshot -c s1 img.qcow2");
    RUN("qemu-io -f qcow2 -c 'write -P 0x43 512k 1M' -c 'discard 2M 128k' "
        "-c 'write -P 0x44 3M 64k' img.qcow2 >/dev/null");
    RUN("qemu-img snapshot -c s2 img.qcow2");
    dump_snapshot("s1", "s1.raw");
    dump_snapshot("s2", "s2.raw");
    cr_assert_neq(shell("cmp -s s1.raw s2.raw"), 0, "the snapshots do not differ");
    model_from_qemu(&t);
    run_trace(&t, 150);
    trace_judge(&t);
    assert_snapshots_unchanged(t.where, "under the trace");
    take_turns(t.where);
    assert_snapshots_unchanged(t.where, "when qemu-io and the library took turns");
    trace_end(&t);
}

Test(qcow2_write_layouts, snapshots_v3_64k)
{
    const struct layout l = {3, 65536, 0, NULL};

    check_snapshots(&l, 1);
    check_snapshots(&l, 2);
}

Test(qcow2_write_layouts, snapshots_v2_4k_backing)
{
    const struct layout l = {2, 4096, 1, NULL};

    check_snapshots(&l, 3);
}

/* 512-byte clusters: an L2 table covers 32 KiB, so a trace copies many
 * shared tables. */
Test(qcow2_write_layouts, snapshots_v3_512) { check_snapshots(&(struct layout){3, 512, 0, NULL}, 4); }

/* 2-bit refcounts: clusters in both snapshots and the active state are
 * counted 3, the most the width holds. */
Test(qcow2_write_layouts, snapshots_refcount_bits_2)
{
    check_snapshots(&(struct layout){3, 4096, 1, "refcount_bits=2"}, 5);
}

Test(qcow2_write_layouts, snapshots_refcount_bits_64)
{
    check_snapshots(&(struct layout){3, 65536, 0, "refcount_bits=64"}, 6);
}

