/*
 * Writing the qcow2 layouts beyond the common ones, judged by qemu-img:
 * refcounts of every width (refcount_bits 1 to 64), internal snapshots,
 * compressed clusters (zlib and zstd), lazy refcounts and the dirty bit,
 * extended L2 entries (subclusters), external data files (raw or not).
 * For each, images made by qemu-img (and qemu-io, 'qemu-img snapshot',
 * 'qemu-img convert -c') take seeded random traces through the library and
 * the same trace on a raw model (qcow2_write_support.h); 'qemu-img check'
 * must find them clean (no corruption, no leak) and 'qemu-img compare'
 * equal to the model.  Snapshots, read out by qemu-img before and after,
 * must not change by a byte.  And QEMU and the library take turns on one
 * image: qemu-io writes, the library writes over part of it, qemu-io reads
 * both back, the library reads what qemu-io wrote last.
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

/* qemu-io's commands before (a -c list), snapshot s1, the commands between
 * (or none), snapshot s2; both snapshots read out by qemu-img into s1.raw
 * and s2.raw, and the model made from the active state. */
static void take_snapshots(struct trace *t, const char *before, const char *between)
{
    RUN("qemu-io -f qcow2 %s img.qcow2 >/dev/null", before);
    RUN("qemu-img snapshot -c s1 img.qcow2");
    if (between)
        RUN("qemu-io -f qcow2 %s img.qcow2 >/dev/null", between);
    RUN("qemu-img snapshot -c s2 img.qcow2");
    dump_snapshot("s1", "s1.raw");
    dump_snapshot("s2", "s2.raw");
    model_from_qemu(t);
}

/* qemu-img's verdict on the active state, and both snapshots unchanged. */
static void judge_with_snapshots(struct trace *t, const char *under)
{
    trace_judge(t);
    assert_snapshots_unchanged(t->where, under);
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
    take_snapshots(&t, "-c 'write -P 0x41 0 1M' -c 'write -P 0x42 2M 512k' "
                       "-c 'write -z 1536k 256k'",
                   "-c 'write -P 0x43 512k 1M' -c 'discard 2M 128k' -c 'write -P 0x44 3M 64k'");
    cr_assert_neq(shell("cmp -s s1.raw s2.raw"), 0, "the snapshots do not differ");
    run_trace(&t, 150);
    judge_with_snapshots(&t, "under the trace");
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
Test(qcow2_write_layouts, snapshots_v3_512)
{
    check_snapshots(&(struct layout){3, 512, 0, NULL}, 4);
}

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

/* Four threads at once on an image with a snapshot: shared tables copied
 * by one while the others write in place, allocate and free. */
Test(qcow2_write_layouts, snapshots_parallel_traces)
{
    struct trace t;

    trace_begin(&t, &(struct layout){3, 4096, 1, NULL}, 7);
    take_snapshots(&t, "-c 'write -P 0x41 0 3M'", NULL);
    run_parallel_traces(&t, 100);
    judge_with_snapshots(&t, "under parallel traces");
    trace_end(&t);
}

/* ------------------------------------------------------------ compressed clusters */

/*
 * The model's first three quarters filled with bytes that compress (runs
 * and a counter), written out and turned by 'qemu-img convert -c' into the
 * image, compressed with zlib or zstd (over the backing file with -B: only
 * clusters that differ from it are stored).  Then a trace: partial writes
 * into compressed clusters inflate and merge them, whole ones replace them,
 * zeroing and discards free them; qemu-img judges as everywhere.
 */
static void check_compressed(const struct layout *l, const char *type, uint64_t seed)
{
    char options[192];
    struct trace t;

    trace_begin(&t, l, seed);
    for (uint64_t i = 0; i < t.size / 4 * 3; i++)
        t.model[i] = (i / 512) % 5 == 0 ? (unsigned char)(i * 7 / 4096) : (unsigned char)(i >> 14);
    write_file(t.model_path, t.model, (size_t)t.size);
    layout_options(l, options, sizeof options);
    shell("rm -f img.qcow2");
    RUN("qemu-img convert -q -c -f raw -O qcow2 -o %s,compression_type=%s %s model.raw "
        "img.qcow2", options, type, l->backing ? "-B base.qcow2 -F qcow2" : "");
    cr_assert_eq(shell("qemu-img check --output=json img.qcow2 | "
                       "grep -q '\"compressed-clusters\": [1-9]'"),
                 0, "%s: qemu-img made no compressed clusters", t.where);
    run_trace(&t, 150);
    trace_judge(&t);
    take_turns(t.where);
    trace_end(&t);
}

Test(qcow2_write_layouts, compressed_zlib_v3_64k)
{
    check_compressed(&(struct layout){3, 65536, 0, NULL}, "zlib", 1);
}

Test(qcow2_write_layouts, compressed_zstd_v3_64k)
{
    check_compressed(&(struct layout){3, 65536, 0, NULL}, "zstd", 2);
}

Test(qcow2_write_layouts, compressed_zlib_v2_4k_backing)
{
    check_compressed(&(struct layout){2, 4096, 1, NULL}, "zlib", 3);
}

Test(qcow2_write_layouts, compressed_zstd_v3_4k_backing)
{
    check_compressed(&(struct layout){3, 4096, 1, NULL}, "zstd", 4);
}

/* 512-byte clusters: compressed data packed several to a host cluster,
 * each holding a reference to it. */
Test(qcow2_write_layouts, compressed_zstd_512_refcount_bits_8)
{
    check_compressed(&(struct layout){3, 512, 0, "refcount_bits=8"}, "zstd", 5);
}

/* Compressed clusters under a snapshot: shared, so freeing one drops a
 * reference and the snapshot keeps reading them. */
Test(qcow2_write_layouts, compressed_under_snapshot)
{
    struct trace t;

    trace_begin(&t, &(struct layout){3, 65536, 0, NULL}, 6);
    take_snapshots(&t, "-c 'write -c -P 0x61 0 64k' -c 'write -c -P 0x62 64k 64k' "
                       "-c 'write -P 0x63 128k 64k'", "-c 'write -c -P 0x64 1M 64k'");
    run_trace(&t, 150);
    judge_with_snapshots(&t, "under the trace");
    trace_end(&t);
}

/* ------------------------------------------------------------ lazy refcounts and the dirty bit */

Test(qcow2_write_layouts, lazy_refcounts_v3_64k)
{
    check_traces(&(struct layout){3, 65536, 0, "lazy_refcounts=on"}, 2, 150);
    turns_on(&(struct layout){3, 65536, 0, "lazy_refcounts=on"});
}

Test(qcow2_write_layouts, lazy_refcounts_4k_backing_snapshot)
{
    struct trace t;

    trace_begin(&t, &(struct layout){3, 4096, 1, "lazy_refcounts=on"}, 3);
    take_snapshots(&t, "-c 'write -P 0x41 0 1M'", NULL);
    run_trace(&t, 150);
    judge_with_snapshots(&t, "under the trace");
    trace_end(&t);
}

/* The dirty bit: clear after the open, set (on disk) once the first write
 * is done, while the image is open; clear again after a clean close, with
 * 'qemu-img check' finding nothing to repair.  An image without
 * lazy_refcounts never gets it. */
static void check_dirty_bit(const char *options, int expect_dirty)
{
    char *path = test_path("img.qcow2");
    unsigned char data[4096];
    gluvirt_image *image;

    shell("rm -f img.qcow2");
    RUN("qemu-img create -q -f qcow2 -o %s img.qcow2 4M", options);
    cr_assert_not_null(image = open_qcow2(path, 1), "%s", gluvirt_errmsg());
    cr_assert_eq(peek_be(path, H_INCOMPAT, 8) & DIRTY_BIT, 0, "dirty before any write");
    memset(data, 0x5c, sizeof data);
    cr_assert_eq(gluvirt_image_pwrite(image, data, sizeof data, 12345), (ssize_t)sizeof data,
                 "%s", gluvirt_errmsg());
    cr_assert_eq((peek_be(path, H_INCOMPAT, 8) & DIRTY_BIT) != 0, expect_dirty,
                 "%s: the dirty bit is %s while the image is being written", options,
                 expect_dirty ? "clear" : "set");
    cr_assert_eq(gluvirt_image_info_int(image, GLUVIRT_INFO_DIRTY), expect_dirty);
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(peek_be(path, H_INCOMPAT, 8) & DIRTY_BIT, 0, "%s: still dirty after a clean "
                 "close", options);
    cr_assert_eq(shell("qemu-img check -q img.qcow2"), 0, "%s: 'qemu-img check' finds damage",
                 options);
    cr_assert_eq(shell("qemu-io -f qcow2 -c 'read -P 0x5c 12345 4096' img.qcow2 | grep -q "
                       "'Pattern verification failed'"), 1, "qemu-io does not read the write");
    free(path);
}

Test(qcow2_write_layouts, lazy_refcounts_dirty_bit_while_open)
{
    check_dirty_bit("lazy_refcounts=on", 1);
    check_dirty_bit("lazy_refcounts=off", 0);
}

/* An image QEMU left dirty (qemu-io's abort: a crash with lazy refcounts):
 * a writable open is refused and says how to repair; a read-only open works;
 * after 'qemu-img check -r all' the library writes it again. */
Test(qcow2_write_layouts, errors_dirty_image_refused_until_repaired)
{
    char *path = test_path("img.qcow2");
    unsigned char data[512];
    gluvirt_image *image;

    RUN("qemu-img create -q -f qcow2 -o lazy_refcounts=on img.qcow2 4M");
    shell("qemu-io -f qcow2 -c 'write -P 0x71 0 64k' -c abort img.qcow2 >/dev/null 2>&1");
    cr_assert_neq(peek_be(path, H_INCOMPAT, 8) & DIRTY_BIT, 0, "qemu-io left no dirty image");
    cr_assert_null(image = open_qcow2(path, 1), "a dirty image opened for writing");
    assert_error(EROFS, "qemu-img check -r all");
    assert_refused(path, EROFS, "dirty");
    cr_assert_not_null(image = open_qcow2(path, 0), "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_pread(image, data, sizeof data, 0), (ssize_t)sizeof data, "%s",
                 gluvirt_errmsg());
    gluvirt_image_close(image);
    RUN("qemu-img check -q -r all img.qcow2 >/dev/null 2>&1 || true");
    cr_assert_eq(peek_be(path, H_INCOMPAT, 8) & DIRTY_BIT, 0, "the repair left the bit set");
    write_through_library(path, 0x72, 4096, 8192);
    cr_assert_eq(shell("qemu-img check -q img.qcow2"), 0, "'qemu-img check' finds damage");
    free(path);
}

/* ------------------------------------------------------------ extended L2 entries */

Test(qcow2_write_layouts, extended_l2_64k)
{
    check_traces(&(struct layout){3, 65536, 0, "extended_l2=on"}, 2, 150);
    turns_on(&(struct layout){3, 65536, 0, "extended_l2=on"});
}

Test(qcow2_write_layouts, extended_l2_32k_backing)
{
    check_traces(&(struct layout){3, 32768, 1, "extended_l2=on"}, 2, 150);
    turns_on(&(struct layout){3, 32768, 1, "extended_l2=on"});
}

/*
 * Clusters qemu-io left partly allocated: subclusters written, zeroed
 * (bits of the zero bitmap), and left to the backing file, next to whole
 * ones; a trace then writes into them (the rest of each cluster kept as the
 * guest read it), zeroes and discards them.
 */
static void check_subclusters(const struct layout *l, uint64_t seed)
{
    struct trace t;

    trace_begin(&t, l, seed);
    RUN("qemu-io -f qcow2 -c 'write -P 0x33 0 256k' -c 'write -P 0x34 300k 2k' "
        "-c 'write -P 0x35 1M 4k' -c 'write -z 1032k 8k' -c 'write -z 2M 64k' "
        "-c 'write -P 0x36 2052k 1k' -c 'discard 64k 64k' img.qcow2 >/dev/null");
    model_from_qemu(&t);
    run_trace(&t, 150);
    trace_judge(&t);
    trace_end(&t);
}

Test(qcow2_write_layouts, extended_l2_subclusters_64k)
{
    check_subclusters(&(struct layout){3, 65536, 0, "extended_l2=on"}, 3);
}

Test(qcow2_write_layouts, extended_l2_subclusters_32k_backing)
{
    check_subclusters(&(struct layout){3, 32768, 1, "extended_l2=on"}, 4);
}

Test(qcow2_write_layouts, extended_l2_snapshots)
{
    check_snapshots(&(struct layout){3, 65536, 1, "extended_l2=on"}, 5);
}

Test(qcow2_write_layouts, extended_l2_compressed_zstd)
{
    check_compressed(&(struct layout){3, 65536, 0, "extended_l2=on"}, "zstd", 6);
}

/* ------------------------------------------------------------ external data files */

/*
 * An external data file (data.raw beside the image): traces judged by
 * qemu-img, and with data_file_raw the data file itself must equal the
 * model byte for byte (it is the disk), and keep the bit.
 */
static void check_data_file(const struct layout *l, int raw)
{
    const char *env = getenv("GLUVIRT_QCOW2_WRITE_SEED");
    uint64_t seed = env && *env ? strtoull(env, NULL, 10) : 1;
    struct trace t;

    shell("rm -f data.raw");
    trace_begin(&t, l, seed);
    run_trace(&t, 150);
    trace_judge(&t);
    if (raw) {
        cr_assert_eq(shell("cmp -s data.raw model.raw"), 0, "%s: the raw data file is not the "
                     "disk", t.where);
        cr_assert_eq(shell("qemu-img info img.qcow2 | grep -q 'data file raw: true'"), 0,
                     "%s: the image lost data_file_raw", t.where);
    }
    take_turns(t.where);
    trace_end(&t);
}

Test(qcow2_write_layouts, data_file_64k)
{
    check_data_file(&(struct layout){3, 65536, 0, "data_file=data.raw"}, 0);
}

Test(qcow2_write_layouts, data_file_4k_backing)
{
    check_data_file(&(struct layout){3, 4096, 1, "data_file=data.raw"}, 0);
}

Test(qcow2_write_layouts, data_file_raw_64k)
{
    check_data_file(&(struct layout){3, 65536, 0, "data_file=data.raw,data_file_raw=on"}, 1);
}

Test(qcow2_write_layouts, data_file_raw_32k_extended_l2)
{
    check_data_file(&(struct layout){3, 32768, 0,
                                     "data_file=data.raw,data_file_raw=on,extended_l2=on"}, 1);
}

/* Four threads at once on a raw data file: it must still be the disk. */
Test(qcow2_write_layouts, data_file_raw_parallel_traces)
{
    struct trace t;

    shell("rm -f data.raw");
    trace_begin(&t, &(struct layout){3, 65536, 0, "data_file=data.raw,data_file_raw=on"}, 8);
    run_parallel_traces(&t, 100);
    trace_judge(&t);
    cr_assert_eq(shell("cmp -s data.raw model.raw"), 0, "%s: the raw data file is not the disk",
                 t.where);
    trace_end(&t);
}

/* ------------------------------------------------------------ hostile images */

/*
 * A compressed L2 entry whose descriptor is rewritten to point where no
 * compressed data can be (past the end of the file, into the header): a
 * write into part of that cluster fails with EIO naming the compressed
 * cluster, and neither crashes nor changes the other clusters.
 */
static void check_bad_descriptor(uint64_t host, const char *fragment)
{
    char *path = test_path("img.qcow2");
    unsigned char buf[512];
    gluvirt_image *image;
    uint64_t l2, entry;

    shell("rm -f img.qcow2");
    RUN("qemu-img create -q -f qcow2 img.qcow2 1M");
    RUN("qemu-io -f qcow2 -c 'write -c -P 0x11 0 64k' -c 'write -P 0x22 64k 64k' img.qcow2 "
        ">/dev/null");
    l2 = peek_be(path, peek_be(path, H_L1_OFFSET, 8), 8) & OFFSET_MASK;
    entry = peek_be(path, l2, 8);
    cr_assert(entry & (1ull << 62), "qemu-io wrote no compressed cluster");
    /* 64 KiB clusters: the host offset takes the low 54 bits. */
    poke_be(path, l2, 8, (entry & ~((1ull << 54) - 1)) | host);

    cr_assert_not_null(image = open_qcow2(path, 1), "%s", gluvirt_errmsg());
    memset(buf, 0xee, sizeof buf);
    cr_assert_eq(gluvirt_image_pwrite(image, buf, sizeof buf, 1000), -1,
                 "a write merged into a damaged compressed cluster went through");
    assert_error(EIO, fragment);
    cr_assert_eq(gluvirt_image_pread(image, buf, sizeof buf, 65536), (ssize_t)sizeof buf, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(buf[0], 0x22);
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(peek_be(path, l2, 8), (entry & ~((1ull << 54) - 1)) | host,
                 "the damaged entry was replaced");
    free(path);
}

Test(qcow2_write_layouts, errors_compressed_descriptor_past_end_eio)
{
    check_bad_descriptor(1ull << 40, "past the end of the file");
}

Test(qcow2_write_layouts, errors_compressed_descriptor_in_header_eio)
{
    check_bad_descriptor(200, "header cluster");
}
