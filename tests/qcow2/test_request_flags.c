/*
 * Request flags (GLUVIRT_REQ_FUA, GLUVIRT_REQ_MAY_TRIM,
 * GLUVIRT_REQ_NO_FALLBACK), judged by QEMU:
 *   - zeroing with and without MAY_TRIM leaves the same map as qemu-io's
 *     'write -z -u' and 'write -z' on a copy of the image ('qemu-img map
 *     --output=json' line for line, 'qemu-img compare' equal, 'qemu-img
 *     check' clean), on qcow2 v3, v3 with extended L2 entries and v2, and
 *     a raw file: a hole punched, or the blocks kept;
 *   - a cluster zeroed and kept takes a later write without a leak;
 *   - NO_FALLBACK fails with ENOTSUP and leaves the file byte for byte as it
 *     was where the zeroing would write (v2 over a backing file, ends
 *     inside clusters), on both paths, and works where it is a change of
 *     metadata;
 *   - FUA: a write with it is on disk, tables and refcounts too, while the
 *     image is still open: 'qemu-img check -U' finds it clean then;
 *   - flags a call does not take fail with EINVAL, changing nothing, and
 *     the callback's release runs once.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <gluvirt/gluvirt.h>

#include "qcow2_write_support.h"

TestSuite(request_flags, .init = make_test_dir, .fini = remove_test_dir, .timeout = 120);

#define K64 65536u

/* img.qcow2 with create_options, 1 MiB, data in its first 512 KiB (qemu-io). */
static char *make_qcow2(const char *create_options)
{
    RUN("qemu-img create -q -f qcow2 %s img.qcow2 1M", create_options);
    RUN("qemu-io -c 'write -P 0x55 0 512k' img.qcow2 >/dev/null");
    return test_path("img.qcow2");
}

/* The same zeroing by gluvirt on img.qcow2 and by qemu-io on a copy
 * (qemu.qcow2): the maps must be equal line for line, the images equal
 * and clean. */
static void zero_both_ways(const char *path, uint64_t offset, uint64_t length, int trim)
{
    gluvirt_image *image;

    RUN("cp img.qcow2 qemu.qcow2");
    image = open_qcow2(path, 1);
    cr_assert_not_null(image, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_write_zeroes_flags(image, offset, length,
                                                  trim ? GLUVIRT_REQ_MAY_TRIM : 0), 0,
                 "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    RUN("qemu-io -c 'write -z %s %llu %llu' qemu.qcow2 >/dev/null", trim ? "-u" : "",
        (unsigned long long)offset, (unsigned long long)length);
    RUN("qemu-img map --output=json img.qcow2 >ours.map");
    RUN("qemu-img map --output=json qemu.qcow2 >qemu.map");
    cr_assert_eq(shell("diff -u qemu.map ours.map >&2"), 0,
                 "the map after zeroing %s differs from qemu-io's", trim ? "with trim" : "");
    RUN("qemu-img check -q img.qcow2");
    RUN("qemu-img compare -q img.qcow2 qemu.qcow2");
}

/* The map line of the run starting at start has (or lacks) a host offset. */
static int run_has_offset(const char *image, uint64_t start)
{
    return shell("qemu-img map --output=json %s | grep -F '\"start\": %llu,' | grep -q offset",
                 image, (unsigned long long)start) == 0;
}

Test(request_flags, v3_zeroing_keeps_or_frees_as_qemu)
{
    char *path = make_qcow2("-o compat=1.1");

    zero_both_ways(path, 0, 2 * K64, 0);
    cr_assert(run_has_offset("img.qcow2", 0), "kept zero clusters lost their offset");
    zero_both_ways(path, 2 * K64, 2 * K64, 1);
    cr_assert(!run_has_offset("img.qcow2", 2 * K64), "trimmed clusters kept an offset");
    /* A kept zero cluster written again: data back, nothing leaked. */
    RUN("cp img.qcow2 qemu.qcow2");
    {
        gluvirt_image *image = open_qcow2(path, 1);
        unsigned char data[4096];

        memset(data, 0x77, sizeof data);
        cr_assert_eq(gluvirt_image_pwrite(image, data, sizeof data, 4096), (ssize_t)sizeof data);
        cr_assert_eq(gluvirt_image_close(image), 0);
    }
    RUN("qemu-io -c 'write -P 0x77 4096 4096' qemu.qcow2 >/dev/null");
    RUN("qemu-img check -q img.qcow2");
    RUN("qemu-img compare -q img.qcow2 qemu.qcow2");
    free(path);
}

Test(request_flags, v3_extended_l2_zeroing_as_qemu)
{
    char *path = make_qcow2("-o compat=1.1,extended_l2=on");

    zero_both_ways(path, 0, 2 * K64, 0);
    zero_both_ways(path, 2 * K64, 2 * K64, 1);
    free(path);
}

/* Version 2 has no zero flag: without a backing file QEMU unmaps whether
 * trimming is allowed or not; over one, zeroing without trim writes zeros
 * into the clusters the image holds. */
Test(request_flags, v2_zeroing_as_qemu)
{
    char *path = make_qcow2("-o compat=0.10");

    zero_both_ways(path, 0, 2 * K64, 0);
    zero_both_ways(path, 2 * K64, 2 * K64, 1);
    RUN("mv img.qcow2 base.qcow2 && qemu-img create -q -f qcow2 -o compat=0.10 "
        "-b base.qcow2 -F qcow2 img.qcow2 1M");
    RUN("qemu-io -c 'write -P 0x66 0 256k' img.qcow2 >/dev/null");
    zero_both_ways(path, 0, 2 * K64, 0);
    cr_assert(run_has_offset("img.qcow2", 0), "v2 clusters zeroed without trim were freed");
    free(path);
}

/* A raw file: MAY_TRIM punches a hole (the allocated size drops), without
 * it the blocks stay; both read as zeros, as qemu-img compare sees. */
Test(request_flags, raw_trim_punches_a_hole)
{
    char *path = make_file("img.raw", 1 << 20, 7);
    gluvirt_image *image = open_image(path, 1);
    struct stat before, kept, punched;

    cr_assert_eq(stat(path, &before), 0);
    cr_assert_eq(gluvirt_image_write_zeroes_flags(image, 0, 256 * 1024, 0), 0, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_flush(image), 0);
    cr_assert_eq(stat(path, &kept), 0);
    cr_assert_eq(gluvirt_image_write_zeroes_flags(image, 512 * 1024, 256 * 1024,
                                                  GLUVIRT_REQ_MAY_TRIM | GLUVIRT_REQ_FUA), 0,
                 "%s", gluvirt_errmsg());
    cr_assert_eq(stat(path, &punched), 0);
    cr_assert_eq(gluvirt_image_close(image), 0);
    cr_assert_geq(kept.st_blocks * 512, before.st_blocks * 512 - 4096,
                  "zeroing without trim freed blocks");
    cr_assert_leq(punched.st_blocks * 512, kept.st_blocks * 512 - 256 * 1024,
                  "zeroing with trim punched no hole (%lld -> %lld bytes)",
                  (long long)kept.st_blocks * 512, (long long)punched.st_blocks * 512);
    RUN("cp img.raw expected.raw && qemu-io -f raw -c 'write -z 0 256k' "
        "-c 'write -z 512k 256k' expected.raw >/dev/null");
    RUN("qemu-img compare -q -f raw -F raw img.raw expected.raw");
    free(path);
}

/* ------------------------------------------------------------ NO_FALLBACK */

static void complete_into(void *user_data, int64_t result)
{
    *(int64_t *)user_data = result;
}

/* A fast zeroing of path (qcow2) refused with ENOTSUP on both paths, the
 * file unchanged byte for byte. */
static void assert_no_fast_zero(const char *path, uint64_t offset, uint64_t length,
                                unsigned flags)
{
    size_t size_before, size_after;
    unsigned char *before = read_file(path, &size_before), *after;
    gluvirt_image *image = open_qcow2(path, 1);
    int64_t result = 1;

    cr_assert_not_null(image, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_write_zeroes_flags(image, offset, length,
                                                  flags | GLUVIRT_REQ_NO_FALLBACK), -1);
    assert_error(ENOTSUP, "fast");
    cr_assert_eq(gluvirt_image_aio_write_zeroes_flags(image, offset, length,
                                                      flags | GLUVIRT_REQ_NO_FALLBACK,
                                                      complete_into, &result, NULL), 0);
    cr_assert_eq(gluvirt_image_close(image), 0);
    cr_assert_eq(result, -ENOTSUP, "the callback got %lld", (long long)result);
    after = read_file(path, &size_after);
    cr_assert_eq(size_after, size_before);
    cr_assert_eq(memcmp(before, after, size_before), 0, "a refused fast zero changed the file");
    free(before);
    free(after);
}

Test(request_flags, no_fallback_refuses_slow_zeroing)
{
    char *path = make_qcow2("-o compat=1.1");

    /* Ends inside clusters. */
    assert_no_fast_zero(path, 4096, K64, GLUVIRT_REQ_MAY_TRIM);
    assert_no_fast_zero(path, 0, K64 + 512, 0);
    /* Version 2 over a backing file with data, clusters of its own too. */
    RUN("mv img.qcow2 base.qcow2 && qemu-img create -q -f qcow2 -o compat=0.10 "
        "-b base.qcow2 -F qcow2 img.qcow2 1M");
    RUN("qemu-io -c 'write -P 0x66 0 64k' img.qcow2 >/dev/null");
    assert_no_fast_zero(path, 0, 2 * K64, GLUVIRT_REQ_MAY_TRIM);
    assert_no_fast_zero(path, 0, 2 * K64, 0);
    RUN("qemu-img check -q img.qcow2");
    free(path);
}

Test(request_flags, no_fallback_zeroes_whole_clusters)
{
    char *path = make_qcow2("-o compat=1.1");
    gluvirt_image *image;
    int64_t result = 1;

    RUN("cp img.qcow2 qemu.qcow2");
    image = open_qcow2(path, 1);
    cr_assert_eq(gluvirt_image_write_zeroes_flags(image, 0, 2 * K64,
                                                  GLUVIRT_REQ_NO_FALLBACK), 0,
                 "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_aio_write_zeroes_flags(
                     image, 4 * K64, 2 * K64,
                     GLUVIRT_REQ_NO_FALLBACK | GLUVIRT_REQ_MAY_TRIM | GLUVIRT_REQ_FUA,
                     complete_into, &result, NULL), 0);
    cr_assert_eq(gluvirt_image_close(image), 0);
    cr_assert_eq(result, 0, "the callback got %lld", (long long)result);
    RUN("qemu-io -c 'write -z 0 128k' -c 'write -z -u 256k 128k' qemu.qcow2 >/dev/null");
    RUN("qemu-img map --output=json img.qcow2 >ours.map");
    RUN("qemu-img map --output=json qemu.qcow2 >qemu.map");
    cr_assert_eq(shell("diff -u qemu.map ours.map >&2"), 0);
    RUN("qemu-img compare -q img.qcow2 qemu.qcow2");
    /* Version 2 without a backing file frees clusters: fast. */
    shell("rm -f img.qcow2");
    free(path);
    path = make_qcow2("-o compat=0.10");
    image = open_qcow2(path, 1);
    cr_assert_eq(gluvirt_image_write_zeroes_flags(image, 0, 2 * K64,
                                                  GLUVIRT_REQ_NO_FALLBACK), 0,
                 "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_close(image), 0);
    cr_assert(!run_has_offset("img.qcow2", 0));
    RUN("qemu-img check -q img.qcow2");
    free(path);
}

/* ------------------------------------------------------------ FUA */

Test(request_flags, fua_write_is_on_disk_while_open)
{
    char *path;
    gluvirt_image *image;
    unsigned char data[3 * 4096];
    int64_t result = 1;

    RUN("qemu-img create -q -f qcow2 img.qcow2 4M");
    path = test_path("img.qcow2");
    image = open_qcow2(path, 1);
    memset(data, 0x31, sizeof data);
    /* New clusters: their L2 entries and refcounts must reach the file. */
    cr_assert_eq(gluvirt_image_pwrite_flags(image, data, sizeof data, 1 << 20,
                                            GLUVIRT_REQ_FUA), (ssize_t)sizeof data,
                 "%s", gluvirt_errmsg());
    memset(data, 0x32, sizeof data);
    cr_assert_eq(gluvirt_image_aio_write_flags(image, data, sizeof data, 3 << 20,
                                               GLUVIRT_REQ_FUA, complete_into, &result,
                                               NULL), 0);
    while (gluvirt_image_in_flight(image) > 0)
        usleep(1000);
    cr_assert_eq(result, (int64_t)sizeof data);
    RUN("qemu-img check -q -U img.qcow2");
    RUN("qemu-io -r -U -c 'read -P 0x31 1M 12k' -c 'read -P 0x32 3M 12k' img.qcow2 "
        ">/dev/null");
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(path);
}

/* ------------------------------------------------------------ refusals */

static int released;

static void count_release(void *user_data)
{
    (void)user_data;
    released++;
}

Test(request_flags, errors_flags_einval)
{
    char *path = make_qcow2("");
    size_t size_before, size_after;
    unsigned char *before = read_file(path, &size_before), *after;
    gluvirt_image *image = open_qcow2(path, 1);
    unsigned char data[512] = {1};

    cr_assert_eq(gluvirt_image_pwrite_flags(image, data, sizeof data, 0,
                                            GLUVIRT_REQ_MAY_TRIM), -1);
    assert_error(EINVAL, "GLUVIRT_REQ_");
    cr_assert_eq(gluvirt_image_pwritev_flags(image, &(struct iovec){data, sizeof data}, 1, 0,
                                             GLUVIRT_REQ_NO_FALLBACK), -1);
    assert_error(EINVAL, "flags");
    cr_assert_eq(gluvirt_image_write_zeroes_flags(image, 0, K64, 8), -1);
    assert_error(EINVAL, "0x8");
    cr_assert_eq(gluvirt_image_write_zeroes_flags(image, 0, K64, 1u << 31), -1);
    assert_error(EINVAL, "flags");
    released = 0;
    cr_assert_eq(gluvirt_image_aio_write_flags(image, data, sizeof data, 0,
                                               GLUVIRT_REQ_MAY_TRIM, complete_into, NULL,
                                               count_release), -1);
    assert_error(EINVAL, "gluvirt_image_aio_write_flags");
    cr_assert_eq(gluvirt_image_aio_write_zeroes_flags(image, 0, K64, 0x10, complete_into, NULL,
                                                      count_release), -1);
    assert_error(EINVAL, "gluvirt_image_aio_write_zeroes_flags");
    cr_assert_eq(released, 2);
    cr_assert_eq(gluvirt_image_close(image), 0);
    after = read_file(path, &size_after);
    cr_assert_eq(size_after, size_before);
    cr_assert_eq(memcmp(before, after, size_before), 0, "a refused request changed the file");
    /* Read-only: EROFS before the flags are looked at. */
    image = open_qcow2(path, 0);
    cr_assert_eq(gluvirt_image_write_zeroes_flags(image, 0, K64, GLUVIRT_REQ_MAY_TRIM), -1);
    assert_error(EROFS, NULL);
    gluvirt_image_close(image);
    free(before);
    free(after);
    free(path);
}
