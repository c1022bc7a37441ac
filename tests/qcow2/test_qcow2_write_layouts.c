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

