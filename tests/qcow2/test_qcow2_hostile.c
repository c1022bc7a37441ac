/*
 * Damaged and hostile qcow2 images.  Each test makes a valid image with
 * qemu-img (and qemu-io for data), breaks one header field, extension or
 * table entry in place, and opens it through the public API: the open must
 * fail with the expected errno and a message that names the problem.  Damage
 * the driver meets only when reading (L2 entries, compressed descriptors)
 * must fail the read of that range, and only that range.  Backing loops give
 * ELOOP; encryption and unknown features ENOTSUP; huge table sizes are
 * refused before anything is allocated for them.
 *
 * Every test gets its own temporary directory, removed afterwards.  The
 * directory, the shell and the peeking and poking at files are the qcow2
 * write suites' (qcow2_write_support.c).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <gluvirt/gluvirt.h>

#include "qcow2_write_support.h"

/* Header fields (big-endian) besides qcow2_write_support.h's, as the qcow2
 * spec places them. */
enum {
    H_VERSION = 4, H_BACKING_OFFSET = 8, H_BACKING_SIZE = 16, H_CLUSTER_BITS = 20, H_SIZE = 24,
    H_CRYPT = 32, H_L1_SIZE = 36, H_NB_SNAPSHOTS = 60, H_SNAPSHOTS_OFFSET = 64,
    H_REFCOUNT_ORDER = 96, H_HEADER_LENGTH = 100, H_COMPRESSION = 104
};
/* Snapshot table entry fields. */
enum { SN_L1_OFFSET = 0, SN_L1_SIZE = 8, SN_ID_SIZE = 12, SN_NAME_SIZE = 14, SN_EXTRA = 36 };

#define EXT_BACKING_FORMAT 0xe2792acau
#define EXT_FEATURE_NAMES  0x6803f857u
#define COMPRESSED         (1ull << 62)
#define PAST_EOF           0x10000000ull /* aligned, far beyond any test image */

/* ------------------------------------------------------------ helpers */

static char *paths[32]; /* kept_path's answers, freed when the test ends */
static int path_count;

static void end_test(void)
{
    remove_test_dir();
    while (path_count > 0)
        free(paths[--path_count]);
}

TestSuite(qcow2_hostile, .init = make_test_dir, .fini = end_test, .timeout = 60);

/* A path in the test's directory (valid until the test ends). */
static char *kept_path(const char *name)
{
    cr_assert_lt(path_count, (int)(sizeof paths / sizeof *paths));
    return paths[path_count++] = test_path(name);
}

/* Run a shell command in the test directory, its output hidden; it must
 * succeed. */
static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
    char *cmd;
    va_list ap;
    int status;

    va_start(ap, fmt);
    cr_assert_neq(vasprintf(&cmd, fmt, ap), -1);
    va_end(ap);
    status = shell("%s >/dev/null", cmd);
    cr_assert_eq(status, 0, "command failed (status %d): %s", status, cmd);
    free(cmd);
}

/* qemu-img create -f qcow2 [-o options] name size, in the test directory. */
static char *make_image(const char *name, const char *options, const char *size)
{
    run("qemu-img create -q -f qcow2 %s%s %s %s", options ? "-o " : "", options ? options : "",
        name, size);
    return kept_path(name);
}

static void qemu_io(const char *path, const char *command)
{
    run("qemu-io -f qcow2 -c '%s' '%s'", command, path);
}

static void poke(const char *path, uint64_t offset, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);

    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(pwrite(fd, data, len, (off_t)offset), (ssize_t)len);
    close(fd);
}

static uint64_t file_size(const char *path)
{
    struct stat st;

    cr_assert_eq(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* Where header extension type starts (its type field), or 0. */
static uint64_t find_extension(const char *path, uint32_t type)
{
    uint64_t pos = peek_be(path, H_VERSION, 4) == 2 ? 72 : peek_be(path, H_HEADER_LENGTH, 4);

    for (int i = 0; i < 64; i++) {
        uint32_t t = (uint32_t)peek_be(path, pos, 4), len = (uint32_t)peek_be(path, pos + 4, 4);

        if (t == type)
            return pos;
        if (t == 0)
            break;
        pos += 8 + ((len + 7) & ~7u);
    }
    cr_assert_fail("%s has no header extension 0x%08x", path, type);
    return 0;
}

static uint64_t l1_entry_offset(const char *path, unsigned index)
{
    return peek_be(path, H_L1_OFFSET, 8) + 8ull * index;
}

/* Where L2 entry index of the table that L1 entry 0 points at lies. */
static uint64_t l2_entry_offset(const char *path, unsigned index)
{
    uint64_t l2 = peek_be(path, l1_entry_offset(path, 0), 8) & OFFSET_MASK;

    cr_assert_neq(l2, 0, "%s: no L2 table for the first clusters", path);
    return l2 + 8ull * index;
}

static gluvirt_image *open_qcow2_as(const char *path, gluvirt_backing_policy backing,
                                 const char *snapshot)
{
    gluvirt_open_options *options = gluvirt_open_options_new();
    gluvirt_image *image;

    cr_assert_not_null(options);
    cr_assert_eq(gluvirt_open_options_set_format(options, GLUVIRT_FORMAT_QCOW2), 0);
    cr_assert_eq(gluvirt_open_options_set_backing(options, backing), 0);
    if (snapshot)
        cr_assert_eq(gluvirt_open_options_set_snapshot(options, snapshot), 0);
    image = gluvirt_image_open(NULL, path, options);
    gluvirt_open_options_free(options);
    return image;
}

static void assert_error_at(int line, int expected, const char *fragment)
{
    cr_assert_eq(gluvirt_errno(), expected, "line %d: errno %d (%s), expected %d (%s); message: %s",
                 line, gluvirt_errno(), strerror(gluvirt_errno()), expected, strerror(expected),
                 gluvirt_errmsg());
    cr_assert_not_null(strstr(gluvirt_errmsg(), fragment), "line %d: message '%s' lacks '%s'",
                       line, gluvirt_errmsg(), fragment);
}

/* Opening path (no backing file, current state or snapshot) must fail. */
static void refused_at(int line, const char *path, const char *snapshot, int expected,
                       const char *fragment)
{
    gluvirt_image *image = open_qcow2_as(path, GLUVIRT_BACKING_NONE, snapshot);

    if (image)
        gluvirt_image_close(image);
    cr_assert_null(image, "line %d: %s opened, expected errno %d ('%s')", line, path, expected,
                   fragment);
    assert_error_at(line, expected, fragment);
}
#define refused(path, err, fragment) refused_at(__LINE__, path, NULL, err, fragment)

static gluvirt_image *opens(const char *path, const char *snapshot)
{
    gluvirt_image *image = open_qcow2_as(path, GLUVIRT_BACKING_NONE, snapshot);

    cr_assert_not_null(image, "%s: %s", path, gluvirt_errmsg());
    return image;
}

static void read_gives(gluvirt_image *image, uint64_t offset, size_t len, int byte)
{
    unsigned char *buf = malloc(len);

    cr_assert_not_null(buf);
    cr_assert_eq(gluvirt_image_pread(image, buf, len, offset), (ssize_t)len,
                 "read at %" PRIu64 ": %s", offset, gluvirt_errmsg());
    for (size_t i = 0; i < len; i++)
        cr_assert_eq(buf[i], byte, "byte %" PRIu64 " is 0x%02x, expected 0x%02x",
                     offset + i, buf[i], byte);
    free(buf);
}

/* The read fails cleanly: -1 with an I/O or corruption error, no data. */
static void read_fails(gluvirt_image *image, uint64_t offset, size_t len)
{
    unsigned char *buf = malloc(len);
    ssize_t got;

    cr_assert_not_null(buf);
    got = gluvirt_image_pread(image, buf, len, offset);
    cr_assert_eq(got, -1, "read at %" PRIu64 " of a damaged range gave %zd", offset, got);
    cr_assert(gluvirt_errno() == EIO || gluvirt_errno() == EINVAL,
              "errno %d (%s): %s", gluvirt_errno(), strerror(gluvirt_errno()), gluvirt_errmsg());
    cr_assert_neq(gluvirt_errmsg()[0], '\0');
    free(buf);
}

/* A 64 MiB version 3 image, 64 KiB clusters: cluster 0 holds 0x11, cluster
 * 1 holds 0x22. */
static char *v3_image(void)
{
    char *path = make_image("v3.qcow2", NULL, "64M");

    qemu_io(path, "write -P 0x11 0 64k");
    qemu_io(path, "write -P 0x22 64k 64k");
    return path;
}

/* An overlay of a 64 MiB base, with a backing format extension. */
static char *overlay_image(void)
{
    make_image("base.qcow2", NULL, "64M");
    run("qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 overlay.qcow2");
    return kept_path("overlay.qcow2");
}

/* v3_image with snapshot "s1" (id 1) taken, then cluster 0 rewritten 0x55. */
static char *snapshot_image(void)
{
    char *path = v3_image();

    run("qemu-img snapshot -c s1 v3.qcow2");
    qemu_io(path, "write -P 0x55 0 64k");
    return path;
}

static uint64_t snapshot_entry(const char *path)
{
    return peek_be(path, H_SNAPSHOTS_OFFSET, 8);
}

/* A test that sets one field (of the header or a table; the expressions
 * may use path) of a fresh image and expects the open to fail. */
#define FIELD_TEST(test, image, field, width, value, err, fragment) \
    Test(qcow2_hostile, test)                                       \
    {                                                               \
        char *path = image();                                       \
                                                                    \
        poke_be(path, field, width, value);                         \
        refused(path, err, fragment);                               \
    }

/* ------------------------------------------------------------ valid images open */

Test(qcow2_hostile, controls_open_and_read)
{
    const char *variants[] = {"compat=0.10", "compat=1.1", "cluster_size=512", "cluster_size=2M",
                              "extended_l2=on,cluster_size=16k", "lazy_refcounts=on",
                              "refcount_bits=1", "refcount_bits=64"};

    for (size_t i = 0; i < sizeof variants / sizeof *variants; i++) {
        char name[32];
        char *path;
        gluvirt_image *image;

        snprintf(name, sizeof name, "ok%zu.qcow2", i);
        path = make_image(name, variants[i], "8M");
        qemu_io(path, "write -P 0x5a 1M 64k");
        image = opens(path, NULL);
        cr_assert_eq(gluvirt_image_size(image), 8 << 20, "%s", variants[i]);
        read_gives(image, 1 << 20, 65536, 0x5a);
        read_gives(image, 0, 4096, 0);
        gluvirt_image_close(image);
    }
}

Test(qcow2_hostile, controls_compressed_zstd_and_overlay)
{
    char *path = make_image("z.qcow2", "compression_type=zstd", "8M");
    gluvirt_image *image;

    qemu_io(path, "write -c -P 0x66 0 64k");
    image = opens(path, NULL);
    read_gives(image, 0, 65536, 0x66);
    gluvirt_image_close(image);
    /* The backing file is not opened (GLUVIRT_BACKING_NONE): zeros. */
    image = opens(overlay_image(), NULL);
    read_gives(image, 0, 4096, 0);
    gluvirt_image_close(image);
}

Test(qcow2_hostile, dirty_and_corrupt_bits_still_read)
{
    char *path = v3_image();
    gluvirt_image *image;

    poke_be(path, H_INCOMPAT, 8, 1); /* dirty */
    image = opens(path, NULL);
    read_gives(image, 0, 65536, 0x11);
    gluvirt_image_close(image);
    poke_be(path, H_INCOMPAT, 8, 2); /* corrupt: readable, never written */
    image = opens(path, NULL);
    read_gives(image, 65536, 65536, 0x22);
    gluvirt_image_close(image);
}

/* ------------------------------------------------------------ the fixed header */

Test(qcow2_hostile, errors_magic)
{
    char *path = v3_image();

    poke(path, 0, "QFJ", 3);
    refused(path, EINVAL, "not a qcow2 image");
}

FIELD_TEST(errors_version_1, v3_image, H_VERSION, 4, 1, ENOTSUP, "qcow version 1")
FIELD_TEST(errors_version_4, v3_image, H_VERSION, 4, 4, ENOTSUP, "qcow2 version 4")
FIELD_TEST(errors_version_0, v3_image, H_VERSION, 4, 0, EINVAL, "version is 0")

Test(qcow2_hostile, errors_truncated_header)
{
    char *path = v3_image();

    cr_assert_eq(truncate(path, 100), 0);
    refused(path, EINVAL, "shorter than its qcow2 version 3 header");
}

FIELD_TEST(errors_cluster_bits_small, v3_image, H_CLUSTER_BITS, 4, 8, EINVAL, "cluster_bits is 8")
FIELD_TEST(errors_cluster_bits_large, v3_image, H_CLUSTER_BITS, 4, 22, EINVAL, "cluster_bits is 22")
FIELD_TEST(errors_header_length_short, v3_image, H_HEADER_LENGTH, 4, 96, EINVAL,
           "header_length is 96")
FIELD_TEST(errors_header_length_unaligned, v3_image, H_HEADER_LENGTH, 4, 108, EINVAL,
           "header_length is 108")

Test(qcow2_hostile, errors_header_length_past_cluster)
{
    char *path = make_image("small.qcow2", "cluster_size=512", "1M");

    poke_be(path, H_HEADER_LENGTH, 4, 520);
    refused(path, EINVAL, "header_length 520 exceeds the cluster size");
}

FIELD_TEST(errors_refcount_order, v3_image, H_REFCOUNT_ORDER, 4, 7, EINVAL, "refcount_order is 7")
FIELD_TEST(errors_virtual_size_over_2_63, v3_image, H_SIZE, 8, 1ull << 63, EINVAL,
           "larger than 2^63-1")

/* ------------------------------------------------------------ encryption */

Test(qcow2_hostile, errors_encrypted_aes)
{
    char *path;

    run("qemu-img create -q -f qcow2 --object secret,id=s0,data=pw "
        "-o encrypt.format=aes,encrypt.key-secret=s0 aes.qcow2 16M");
    path = kept_path("aes.qcow2");
    refused(path, ENOTSUP, "encrypted qcow2 images are not supported");
    refused(path, ENOTSUP, "qemu-img convert --object secret");
}

Test(qcow2_hostile, errors_encrypted_luks)
{
    /* qemu-img times its key derivation and now and then finds the clock
     * too coarse for a short iter-time: try again. */
    run("for i in 1 2 3 4 5; do qemu-img create -q -f qcow2 --object secret,id=s0,data=pw "
        "-o encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=1 luks.qcow2 16M "
        "2>/dev/null && exit 0; done; exit 1");
    refused(kept_path("luks.qcow2"), ENOTSUP, "encrypted qcow2 images are not supported");
}

Test(qcow2_hostile, errors_encryption_extension_without_crypt_method)
{
    char *path = v3_image();
    unsigned char ext[32] = {0x05, 0x37, 0xbe, 0x77, 0, 0, 0, 16, 0, 0, 0, 0, 0, 4, 0, 0,
                             0, 0, 0, 0, 0, 0, 0x10, 0}; /* then the end marker */

    poke(path, 112, ext, sizeof ext);
    refused(path, ENOTSUP, "full disk encryption header extension");
}

/* ------------------------------------------------------------ features */

Test(qcow2_hostile, errors_unknown_incompatible_bit_named)
{
    char *path = v3_image();
    unsigned char entry[48] = {0, 7, 'f', 'o', 'o'};

    poke(path, find_extension(path, EXT_FEATURE_NAMES) + 8, entry, sizeof entry);
    poke_be(path, H_INCOMPAT, 8, 1ull << 7);
    refused(path, ENOTSUP, "unknown incompatible feature bit 7 (\"foo\")");
}

Test(qcow2_hostile, errors_unknown_incompatible_bit_unnamed)
{
    char *path = v3_image();

    poke_be(path, H_INCOMPAT, 8, 1ull << 9);
    refused(path, ENOTSUP, "unknown incompatible feature bit 9");
    cr_assert_null(strstr(gluvirt_errmsg(), "bit 9 ("), "%s", gluvirt_errmsg());
}

FIELD_TEST(errors_data_file_bit_without_extension, v3_image, H_INCOMPAT, 8, 1ull << 2, EINVAL,
           "no data file extension")

Test(qcow2_hostile, errors_compression_type_unknown)
{
    char *path = v3_image();

    poke_be(path, H_INCOMPAT, 8, 1ull << 3);
    poke_be(path, H_COMPRESSION, 1, 2);
    refused(path, ENOTSUP, "compression_type 2 is not supported");
}

FIELD_TEST(errors_compression_type_without_bit, v3_image, H_COMPRESSION, 1, 1, EINVAL,
           "compression_type is 1, but incompatible feature bit 3")
FIELD_TEST(errors_compression_bit_without_type, v3_image, H_INCOMPAT, 8, 1ull << 3, EINVAL,
           "compression_type is 0")

Test(qcow2_hostile, errors_extended_l2_small_clusters)
{
    char *path = make_image("x.qcow2", "cluster_size=8k", "8M");

    poke_be(path, H_INCOMPAT, 8, 1ull << 4);
    refused(path, EINVAL, "extended L2 entries");
}

/* ------------------------------------------------------------ extensions, backing name */

FIELD_TEST(errors_extension_too_long, v3_image, find_extension(path, EXT_FEATURE_NAMES) + 4, 4,
           0x10000, EINVAL, "past the end of the extension area")

Test(qcow2_hostile, errors_extension_over_backing_name)
{
    char *path = overlay_image();
    uint64_t ext = find_extension(path, EXT_BACKING_FORMAT);

    poke_be(path, ext + 4, 4, peek_be(path, H_BACKING_OFFSET, 8) - ext - 8 + 1);
    refused(path, EINVAL, "past the end of the extension area");
}

Test(qcow2_hostile, errors_extension_twice)
{
    char *path = overlay_image();
    uint64_t ext = find_extension(path, EXT_BACKING_FORMAT);
    unsigned char copy[16] = {0xe2, 0x79, 0x2a, 0xca, 0, 0, 0, 5, 'q', 'c', 'o', 'w', '2'};

    poke(path, ext + 16, copy, sizeof copy);
    refused(path, EINVAL, "appears twice");
}

FIELD_TEST(errors_backing_format_too_long, overlay_image,
           find_extension(path, EXT_BACKING_FORMAT) + 4, 4, 16, EINVAL,
           "backing format extension is 16 bytes long")
FIELD_TEST(errors_backing_name_too_long, overlay_image, H_BACKING_SIZE, 4, 1024, EINVAL,
           "backing file name too long")
FIELD_TEST(errors_backing_name_past_first_cluster, overlay_image, H_BACKING_OFFSET, 8,
           0xfffc, EINVAL,
           "extends past the first cluster")
FIELD_TEST(errors_backing_offset_past_first_cluster, overlay_image, H_BACKING_OFFSET, 8,
           0x10008, EINVAL,
           "backing_file_offset 0x10008 lies past the first cluster")
FIELD_TEST(errors_backing_offset_inside_header, overlay_image, H_BACKING_OFFSET, 8, 64, EINVAL,
           "backing_file_offset 64 lies inside the header")
FIELD_TEST(errors_backing_name_nul, overlay_image, peek_be(path, H_BACKING_OFFSET, 8) + 2, 1,
           0, EINVAL, "backing file name contains a NUL byte")

/* ------------------------------------------------------------ L1 and refcount tables */

FIELD_TEST(errors_l1_offset_unaligned, v3_image, H_L1_OFFSET, 8,
           peek_be(path, H_L1_OFFSET, 8) + 0x200, EINVAL,
           "active L1 table (l1_table_offset) at 0x30200 is not cluster-aligned")
FIELD_TEST(errors_l1_offset_past_eof, v3_image, H_L1_OFFSET, 8, PAST_EOF, EINVAL,
           "extends past the end of the file")
FIELD_TEST(errors_l1_offset_zero, v3_image, H_L1_OFFSET, 8, 0, EINVAL,
           "at offset 0 overlaps the header")
FIELD_TEST(errors_l1_too_small_for_size, v3_image, H_SIZE, 8, 1ull << 30, EINVAL,
           "l1_size 1 is too small for the virtual size")
FIELD_TEST(errors_l1_size_over_limit, v3_image, H_L1_SIZE, 4, 0x400001, EINVAL,
           "more than the limit of 4194304")

Test(qcow2_hostile, errors_l1_entry_reserved_bits)
{
    char *path = v3_image();
    uint64_t at = l1_entry_offset(path, 0);

    poke_be(path, at, 8, peek_be(path, at, 8) | 1ull << 56);
    refused(path, EINVAL, "active L1 table entry 0 (0x81");
    refused(path, EINVAL, "has reserved bits set");
}

Test(qcow2_hostile, errors_l1_entry_unaligned)
{
    char *path = v3_image();
    uint64_t at = l1_entry_offset(path, 0);

    poke_be(path, at, 8, peek_be(path, at, 8) + 0x200);
    refused(path, EINVAL, "which is not cluster-aligned");
}

FIELD_TEST(errors_l1_entry_past_eof, v3_image, l1_entry_offset(path, 0), 8, COPIED | PAST_EOF,
           EINVAL, "points at an L2 table at 0x10000000, past the end of the file")
FIELD_TEST(errors_refcount_table_unaligned, v3_image, H_REFTABLE_OFFSET, 8,
           peek_be(path, H_REFTABLE_OFFSET, 8) + 0x200, EINVAL,
           "refcount table (refcount_table_offset) at 0x10200 is not")
FIELD_TEST(errors_refcount_table_past_eof, v3_image, H_REFTABLE_OFFSET, 8, PAST_EOF, EINVAL,
           "refcount table (refcount_table_offset) at 0x10000000")
FIELD_TEST(errors_refcount_table_missing, v3_image, H_REFTABLE_CLUSTERS, 4, 0, EINVAL,
           "refcount_table_clusters is 0")
FIELD_TEST(errors_refcount_table_too_large, v3_image, H_REFTABLE_CLUSTERS, 4, 0xffffffff, EINVAL,
           "larger than the limit of 8 MiB")

/* Sizes at and beyond the caps are refused before any table is read: the
 * process's peak memory stays well below what the fields ask for. */
Test(qcow2_hostile, errors_huge_tables_allocate_nothing)
{
    struct rusage before, after;
    char *path = v3_image();

    getrusage(RUSAGE_SELF, &before);
    poke_be(path, H_L1_SIZE, 4, 0xffffffff);
    refused(path, EINVAL, "l1_size");
    poke_be(path, H_L1_SIZE, 4, 0x400000); /* at the cap, but past the end of the file */
    refused(path, EINVAL, "past the end of the file");
    poke_be(path, H_L1_SIZE, 4, 1);
    poke_be(path, H_SNAPSHOTS_OFFSET, 8, 0x40000);
    poke_be(path, H_NB_SNAPSHOTS, 4, 0xffffffff);
    refused(path, EINVAL, "nb_snapshots is 4294967295");
    poke_be(path, H_NB_SNAPSHOTS, 4, 65536);
    refused(path, EINVAL, "snapshot table (snapshots_offset, nb_snapshots)");
    getrusage(RUSAGE_SELF, &after);
    cr_assert_lt(after.ru_maxrss - before.ru_maxrss, 24 * 1024, "peak RSS grew by %ld KiB",
                 after.ru_maxrss - before.ru_maxrss);
}

/* ------------------------------------------------------------ snapshots */

Test(qcow2_hostile, snapshots_found_by_name_then_id)
{
    char *path = snapshot_image();
    gluvirt_image *image = opens(path, "s1");

    read_gives(image, 0, 65536, 0x11);
    gluvirt_image_close(image);
    image = opens(path, "1");
    read_gives(image, 0, 65536, 0x11);
    gluvirt_image_close(image);
    image = opens(path, NULL);
    read_gives(image, 0, 65536, 0x55);
    gluvirt_image_close(image);
    refused_at(__LINE__, path, "nope", ENOENT, "nope");
}

FIELD_TEST(errors_nb_snapshots_over_limit, snapshot_image, H_NB_SNAPSHOTS, 4, 65537, EINVAL,
           "nb_snapshots is 65537, more than the limit of 65536")
FIELD_TEST(errors_snapshot_table_unaligned, snapshot_image, H_SNAPSHOTS_OFFSET, 8,
           snapshot_entry(path) + 8, EINVAL, "snapshot table (snapshots_offset)")
FIELD_TEST(errors_snapshot_table_at_header, snapshot_image, H_SNAPSHOTS_OFFSET, 8, 0, EINVAL,
           "snapshot table (snapshots_offset) at offset 0 overlaps the header")

Test(qcow2_hostile, errors_snapshot_entry_past_eof)
{
    char *path = v3_image();

    run("qemu-img snapshot -c s1 v3.qcow2"); /* the table is what the file ends with */

    poke_be(path, snapshot_entry(path) + SN_ID_SIZE, 2, 0xffff);
    refused(path, EINVAL, "snapshot table entry 0 at");
    refused(path, EINVAL, "past the end of the file");
}

FIELD_TEST(errors_snapshot_extra_data_too_large, snapshot_image, snapshot_entry(path) + SN_EXTRA, 4,
           1025, EINVAL, "1025 bytes of extra data (extra_data_size), more than the limit")
FIELD_TEST(errors_snapshot_extra_data_short_v3, snapshot_image, snapshot_entry(path) + SN_EXTRA, 4,
           8, EINVAL, "version 3 images record at least 16")

Test(qcow2_hostile, errors_snapshot_name_nul)
{
    char *path = snapshot_image();
    uint64_t entry = snapshot_entry(path);
    uint64_t name = entry + 40 + peek_be(path, entry + SN_EXTRA, 4) +
                    peek_be(path, entry + SN_ID_SIZE, 2);

    cr_assert_eq(peek_be(path, entry + SN_NAME_SIZE, 2), 2);
    poke_be(path, name + 1, 1, 0);
    refused(path, EINVAL, "its name contains a NUL byte");
}

Test(qcow2_hostile, errors_snapshot_l1_unaligned)
{
    char *path = snapshot_image();
    uint64_t entry = snapshot_entry(path);

    poke_be(path, entry + SN_L1_OFFSET, 8, peek_be(path, entry + SN_L1_OFFSET, 8) + 0x200);
    refused(path, EINVAL, "L1 table of snapshot table entry 0 (id 1) at");
    refused(path, EINVAL, "is not cluster-aligned");
}

FIELD_TEST(errors_snapshot_l1_past_eof, snapshot_image, snapshot_entry(path) + SN_L1_OFFSET, 8,
           PAST_EOF, EINVAL, "L1 table of snapshot table entry 0 (id 1) at 0x10000000")
FIELD_TEST(errors_snapshot_l1_over_limit, snapshot_image, snapshot_entry(path) + SN_L1_SIZE, 4,
           0xffffffff, EINVAL, "more than the limit of 4194304")
FIELD_TEST(errors_snapshot_l1_too_small_for_disk_size, snapshot_image,
           snapshot_entry(path) + SN_L1_SIZE, 4, 0, EINVAL,
           "too few for the snapshot's disk size of 67108864 bytes")

/* A bad entry in a snapshot's L1 table matters only to whoever reads that
 * snapshot. */
Test(qcow2_hostile, errors_snapshot_l1_entry_reserved_bits)
{
    char *path = snapshot_image();
    uint64_t at = peek_be(path, snapshot_entry(path) + SN_L1_OFFSET, 8);
    gluvirt_image *image;

    poke_be(path, at, 8, peek_be(path, at, 8) | 1ull << 60);
    image = opens(path, NULL);
    read_gives(image, 0, 65536, 0x55);
    gluvirt_image_close(image);
    refused_at(__LINE__, path, "s1", EINVAL, "the L1 table of snapshot 's1'");
    refused_at(__LINE__, path, "s1", EINVAL, "has reserved bits set");
}

/* ------------------------------------------------------------ damage met when reading */

Test(qcow2_hostile, read_l2_entry_past_eof)
{
    char *path = v3_image();
    gluvirt_image *image;

    poke_be(path, l2_entry_offset(path, 0), 8, COPIED | PAST_EOF);
    image = opens(path, NULL);
    read_fails(image, 0, 4096);
    read_fails(image, 60000, 8192); /* a read that only ends in the range */
    read_gives(image, 65536, 65536, 0x22);
    read_gives(image, 1 << 20, 4096, 0);
    gluvirt_image_close(image);
}

Test(qcow2_hostile, read_l2_entry_unaligned)
{
    char *path = v3_image();
    uint64_t at;
    gluvirt_image *image;

    at = l2_entry_offset(path, 0);
    poke_be(path, at, 8, peek_be(path, at, 8) + 0x200);
    image = opens(path, NULL);
    read_fails(image, 0, 512);
    read_gives(image, 65536, 65536, 0x22);
    gluvirt_image_close(image);
}

/* An image whose clusters 0 and 1 are compressed (0x33, 0x44). */
static char *compressed_image(const char *options)
{
    char *path = make_image("c.qcow2", options, "8M");

    qemu_io(path, "write -c -P 0x33 0 64k");
    qemu_io(path, "write -c -P 0x44 64k 64k");
    cr_assert(peek_be(path, l2_entry_offset(path, 0), 8) & COMPRESSED);
    return path;
}

Test(qcow2_hostile, read_compressed_descriptor_past_eof)
{
    char *path = compressed_image(NULL);
    uint64_t at = l2_entry_offset(path, 0);
    /* 64 KiB clusters: the host offset is the low 54 bits. */
    uint64_t offset_bits = (1ull << 54) - 1;
    gluvirt_image *image;

    poke_be(path, at, 8, (peek_be(path, at, 8) & ~offset_bits) | (file_size(path) + (1 << 20)));
    image = opens(path, NULL);
    read_fails(image, 0, 4096);
    read_gives(image, 65536, 65536, 0x44);
    gluvirt_image_close(image);
}

Test(qcow2_hostile, read_compressed_garbage)
{
    const char *types[] = {"compression_type=zlib", "compression_type=zstd"};

    for (int i = 0; i < 2; i++) {
        char *path = compressed_image(types[i]);
        uint64_t data = peek_be(path, l2_entry_offset(path, 0), 8) & ((1ull << 54) - 1);
        gluvirt_image *image;

        poke(path, data, "\xff\xff\xff\xff", 4);
        image = opens(path, NULL);
        read_fails(image, 0, 65536);
        read_gives(image, 65536, 65536, 0x44);
        gluvirt_image_close(image);
        cr_assert_eq(unlink(path), 0);
    }
}

/* ------------------------------------------------------------ backing chains */

static void refused_chain(int line, const char *path, int expected, const char *fragment)
{
    gluvirt_image *image = open_qcow2_as(path, GLUVIRT_BACKING_SAME_STORE, NULL);

    if (image)
        gluvirt_image_close(image);
    cr_assert_null(image, "line %d: %s opened", line, path);
    cr_assert_eq(gluvirt_errno(), expected, "line %d: errno %d, expected %d: %s", line,
                 gluvirt_errno(), expected, gluvirt_errmsg());
    cr_assert_not_null(strcasestr(gluvirt_errmsg(), fragment), "line %d: '%s' lacks '%s'",
                       line, gluvirt_errmsg(), fragment);
}

Test(qcow2_hostile, errors_backing_loop)
{
    make_image("b.qcow2", NULL, "64M");
    run("qemu-img create -q -f qcow2 -b b.qcow2 -F qcow2 a.qcow2");
    run("qemu-img rebase -u -f qcow2 -b a.qcow2 -F qcow2 b.qcow2");
    refused_chain(__LINE__, kept_path("a.qcow2"), ELOOP, "loop");
    refused_chain(__LINE__, kept_path("b.qcow2"), ELOOP, "loop");
}

Test(qcow2_hostile, errors_backing_self_loop)
{
    make_image("self.qcow2", NULL, "64M");
    run("qemu-img rebase -u -f qcow2 -b self.qcow2 -F qcow2 self.qcow2");
    refused_chain(__LINE__, kept_path("self.qcow2"), ELOOP, "loop");
}
