/*
 * The synchronous image API on the local-file backend (temporary files, no
 * server): transfers at any offset and length, the end of the image,
 * zeroing, discard, resize, flush, format probing being opt-in, and a seeded
 * random run checked against an in-memory model.  The errors it gives are
 * in test_image_local_errors.c.
 *
 * Every test gets its own temporary directory, removed afterwards.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "image_local_support.h"

TestSuite(image_local, .init = make_test_dir, .fini = remove_test_dir, .timeout = 60);

/* ------------------------------------------------------------ basics */

Test(image_local, open_reports_size_and_format)
{
    char *path = make_file("odd.raw", 1000003, 1);
    gluvirt_image *image = open_image(path, 0);

    cr_assert_eq(gluvirt_image_size(image), 1000003);
    cr_assert_str_eq(gluvirt_image_format(image), "raw");
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(path);
}

Test(image_local, empty_file_is_an_empty_image)
{
    char *path = make_file("empty.raw", 0, 0);
    gluvirt_image *image = open_image(path, 1);
    char byte = 'x';

    cr_assert_eq(gluvirt_image_size(image), 0);
    cr_assert_eq(gluvirt_image_pread(image, &byte, 1, 0), 0);
    cr_assert_eq(byte, 'x');
    cr_assert_eq(gluvirt_image_pwrite(image, &byte, 0, 0), 0); /* nothing, at the end: fine */
    cr_assert_eq(gluvirt_image_pwrite(image, &byte, 1, 0), -1);
    assert_error(EINVAL, "past the end");
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(path);
}

Test(image_local, pread_pwrite_unaligned)
{
    static const struct { uint64_t offset; size_t count; } cases[] = {
        {0, 1}, {1, 511}, {511, 2}, {513, 1000}, {4095, 4098}, {65537, 131071},
        {1000000, 3}, {777777, 222223}, /* up to the last byte */
    };
    char *path = make_file("unaligned.raw", 1000000 + 3, 0);
    gluvirt_image *image = open_image(path, 1);
    unsigned char *expected = calloc(1, 1000003), *buf = malloc(1000003), *on_disk;
    size_t disk_size;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fill_pattern(buf, cases[i].count, cases[i].offset, (unsigned)i + 7);
        cr_assert_eq(gluvirt_image_pwrite(image, buf, cases[i].count, cases[i].offset),
                     (ssize_t)cases[i].count, "write %zu at %" PRIu64 ": %s", cases[i].count,
                     cases[i].offset, gluvirt_errmsg());
        memcpy(expected + cases[i].offset, buf, cases[i].count);
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(buf, 0xee, cases[i].count);
        cr_assert_eq(gluvirt_image_pread(image, buf, cases[i].count, cases[i].offset),
                     (ssize_t)cases[i].count);
        cr_assert_eq(memcmp(buf, expected + cases[i].offset, cases[i].count), 0,
                     "case %zu reads back different bytes", i);
    }
    cr_assert_eq(gluvirt_image_close(image), 0);
    on_disk = read_file(path, &disk_size);
    cr_assert_eq(disk_size, 1000003, "the writes changed the file's size");
    cr_assert_eq(memcmp(on_disk, expected, disk_size), 0, "the file differs from the writes");
    free(on_disk);
    free(expected);
    free(buf);
    free(path);
}

Test(image_local, preadv_pwritev_scatter_gather)
{
    char *path = make_file("vector.raw", 300001, 3);
    gluvirt_image *image = open_image(path, 1);
    unsigned char a[7], b[1], c[100003], d[513], check[7 + 1 + 100003 + 513];
    struct iovec out[] = {{a, sizeof a}, {NULL, 0}, {b, sizeof b}, {c, sizeof c}, {d, sizeof d}};
    unsigned char ra[7], rb[1], rc[100003], rd[513];
    struct iovec in[] = {{ra, sizeof ra}, {rb, sizeof rb}, {NULL, 0}, {rc, sizeof rc},
                         {rd, sizeof rd}};
    size_t total = sizeof check;
    uint64_t offset = 12345;

    fill_pattern(a, sizeof a, 0, 11);
    fill_pattern(b, sizeof b, 0, 12);
    fill_pattern(c, sizeof c, 0, 13);
    fill_pattern(d, sizeof d, 0, 14);
    cr_assert_eq(gluvirt_image_pwritev(image, out, 5, offset), (ssize_t)total, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_preadv(image, in, 5, offset), (ssize_t)total, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(memcmp(a, ra, sizeof a), 0);
    cr_assert_eq(memcmp(b, rb, sizeof b), 0);
    cr_assert_eq(memcmp(c, rc, sizeof c), 0);
    cr_assert_eq(memcmp(d, rd, sizeof d), 0);
    /* The same bytes through one flat read. */
    cr_assert_eq(gluvirt_image_pread(image, check, total, offset), (ssize_t)total);
    cr_assert_eq(memcmp(check, a, sizeof a), 0);
    cr_assert_eq(check[7], b[0]);
    cr_assert_eq(memcmp(check + 8, c, sizeof c), 0);
    cr_assert_eq(memcmp(check + 8 + sizeof c, d, sizeof d), 0);
    /* The neighbours are untouched. */
    cr_assert_eq(gluvirt_image_pread(image, check, 2, offset - 1), 2);
    cr_assert_eq(check[0], pattern_byte(offset - 1, 3));
    cr_assert_eq(gluvirt_image_pread(image, check, 1, offset + total), 1);
    cr_assert_eq(check[0], pattern_byte(offset + total, 3));
    /* Empty vectors move nothing. */
    cr_assert_eq(gluvirt_image_preadv(image, in, 0, 0), 0);
    cr_assert_eq(gluvirt_image_pwritev(image, out, 0, 0), 0);
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(path);
}

Test(image_local, short_read_at_end_then_zero)
{
    char *path = make_file("end.raw", 1000, 5);
    gluvirt_image *image = open_image(path, 0);
    unsigned char buf[300], part1[30], part2[300];
    struct iovec iov[] = {{part1, sizeof part1}, {part2, sizeof part2}};

    cr_assert_eq(gluvirt_image_pread(image, buf, 100, 950), 50);
    for (int i = 0; i < 50; i++)
        cr_assert_eq(buf[i], pattern_byte(950 + (uint64_t)i, 5));
    cr_assert_eq(gluvirt_image_pread(image, buf, 1, 999), 1);
    cr_assert_eq(gluvirt_image_pread(image, buf, 100, 1000), 0);
    cr_assert_eq(gluvirt_image_pread(image, buf, 100, 1001), 0);
    cr_assert_eq(gluvirt_image_pread(image, buf, 100, UINT64_MAX), 0);
    /* A vector cut by the end: the first piece whole, the second in part. */
    cr_assert_eq(gluvirt_image_preadv(image, iov, 2, 900), 100);
    for (int i = 0; i < 30; i++)
        cr_assert_eq(part1[i], pattern_byte(900 + (uint64_t)i, 5));
    for (int i = 0; i < 70; i++)
        cr_assert_eq(part2[i], pattern_byte(930 + (uint64_t)i, 5));
    cr_assert_eq(gluvirt_image_preadv(image, iov, 2, 1000), 0);
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(path);
}

/* ------------------------------------------------------------ zeroes, discard, resize */

Test(image_local, write_zeroes_clears_only_the_range)
{
    static const struct { uint64_t offset, length; } ranges[] = {
        {123, 70000}, {0, 1}, {200001, 4096}, {300000, 1048576 + 77}, {1500000, 0},
    };
    const size_t size = 1500001;
    char *path = make_file("zeroes.raw", size, 21);
    gluvirt_image *image = open_image(path, 1);
    unsigned char *expected = malloc(size), *got = malloc(size);

    fill_pattern(expected, size, 0, 21);
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        cr_assert_eq(gluvirt_image_write_zeroes(image, ranges[i].offset, ranges[i].length), 0,
                     "%s", gluvirt_errmsg());
        memset(expected + ranges[i].offset, 0, ranges[i].length);
    }
    cr_assert_eq(gluvirt_image_pread(image, got, size, 0), (ssize_t)size);
    cr_assert_eq(memcmp(got, expected, size), 0);
    cr_assert_eq(gluvirt_image_size(image), (int64_t)size, "zeroing resized the image");
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(expected);
    free(got);
    free(path);
}

Test(image_local, discard_keeps_the_rest)
{
    const size_t size = 1 << 20;
    char *path = make_file("discard.raw", size, 23);
    gluvirt_image *image = open_image(path, 1);
    unsigned char *got = malloc(size);

    cr_assert_eq(gluvirt_image_discard(image, 65536, 131072), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_discard(image, 777, 3), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_discard(image, size, 0), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_size(image), (int64_t)size);
    cr_assert_eq(gluvirt_image_pread(image, got, size, 0), (ssize_t)size);
    /* Discarded bytes may read as anything; the others must not change. */
    for (size_t i = 0; i < size; i++) {
        if ((i >= 65536 && i < 65536 + 131072) || (i >= 777 && i < 780))
            continue;
        cr_assert_eq(got[i], pattern_byte(i, 23), "byte %zu changed", i);
    }
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(got);
    free(path);
}

Test(image_local, truncate_then_size)
{
    char *path = make_file("resize.raw", 10000, 25);
    gluvirt_image *image = open_image(path, 1);
    unsigned char buf[5000];
    struct stat st;

    cr_assert_eq(gluvirt_image_truncate(image, 12345), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_size(image), 12345);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_size, 12345);
    /* The grown part reads as zeros, the old part is kept. */
    cr_assert_eq(gluvirt_image_pread(image, buf, sizeof buf, 9000), 3345);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(buf[i], pattern_byte(9000 + (uint64_t)i, 25));
    for (int i = 1000; i < 3345; i++)
        cr_assert_eq(buf[i], 0, "grown byte %d is %u", i, buf[i]);
    /* Writes reach the new end, and not beyond it. */
    cr_assert_eq(gluvirt_image_pwrite(image, "tail", 4, 12341), 4, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_pwrite(image, "x", 1, 12345), -1);
    assert_error(EINVAL, "past the end");

    cr_assert_eq(gluvirt_image_truncate(image, 777), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_size(image), 777);
    cr_assert_eq(gluvirt_image_pread(image, buf, sizeof buf, 0), 777);
    cr_assert_eq(gluvirt_image_pread(image, buf, 1, 777), 0);
    cr_assert_eq(gluvirt_image_pwrite(image, "x", 1, 777), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_image_truncate(image, 0), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_size(image), 0);
    cr_assert_eq(gluvirt_image_close(image), 0);

    /* A fresh handle sees the size that was set. */
    image = open_image(path, 0);
    cr_assert_eq(gluvirt_image_size(image), 0);
    gluvirt_image_close(image);
    free(path);
}

Test(image_local, flush_and_close_after_writes)
{
    char *path = make_file("flush.raw", 8192, 0);
    gluvirt_image *image = open_image(path, 1);
    size_t size;
    unsigned char *on_disk;

    cr_assert_eq(gluvirt_image_pwrite(image, "durable", 7, 4093), 7, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_flush(image), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_flush(image), 0, "a second flush: %s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_pwrite(image, "!", 1, 0), 1, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_close(image), 0, "close flushes: %s", gluvirt_errmsg());
    on_disk = read_file(path, &size);
    cr_assert_eq(size, 8192);
    cr_assert_eq(memcmp(on_disk + 4093, "durable", 7), 0);
    cr_assert_eq(on_disk[0], '!');
    free(on_disk);
    free(path);
}

/* ------------------------------------------------------------ format probing */

static char *make_raw_with_qcow2_magic(const char *name, size_t size)
{
    char *path = make_file(name, size, 31);
    int fd = open(path, O_WRONLY | O_CLOEXEC);

    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, "QFI\xfb", 4, 0), 4);
    close(fd);
    return path;
}

Test(image_local, guest_written_qcow2_magic_stays_raw_by_default)
{
    const size_t size = 65536 + 17;
    char *path = make_raw_with_qcow2_magic("guest.raw", size);
    gluvirt_image *image = gluvirt_image_open(NULL, path, NULL); /* default options */
    unsigned char *got = malloc(size), *on_disk;
    size_t disk_size;

    cr_assert_not_null(image, "%s", gluvirt_errmsg());
    cr_assert_str_eq(gluvirt_image_format(image), "raw");
    cr_assert_eq(gluvirt_image_size(image), (int64_t)size);
    cr_assert_eq(gluvirt_image_pread(image, got, size, 0), (ssize_t)size);
    on_disk = read_file(path, &disk_size);
    cr_assert_eq(disk_size, size);
    cr_assert_eq(memcmp(got, "QFI\xfb", 4), 0);
    cr_assert_eq(memcmp(got, on_disk, size), 0, "raw reads differ from the file");
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(on_disk);
    free(got);
    free(path);
}

Test(image_local, guest_writing_qcow2_magic_changes_nothing)
{
    char *path = make_file("written.raw", 4096, 0);
    gluvirt_image *image = open_image(path, 1);
    unsigned char head[8];

    cr_assert_eq(gluvirt_image_pwrite(image, "QFI\xfb\0\0\0\3", 8, 0), 8, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_close(image), 0);
    image = open_image(path, 0); /* reopened by the host, raw as configured */
    cr_assert_str_eq(gluvirt_image_format(image), "raw");
    cr_assert_eq(gluvirt_image_size(image), 4096);
    cr_assert_eq(gluvirt_image_pread(image, head, 8, 0), 8);
    cr_assert_eq(memcmp(head, "QFI\xfb\0\0\0\3", 8), 0);
    gluvirt_image_close(image);
    free(path);
}

Test(image_local, probe_refuses_qcow2_with_enotsup)
{
    char *path = make_raw_with_qcow2_magic("probe.raw", 4096);
    gluvirt_open_options *options = options_for(0, GLUVIRT_FORMAT_PROBE);

    cr_assert_null(gluvirt_image_open(NULL, path, options));
    assert_error(ENOTSUP, "qcow2");
    cr_assert(strstr(gluvirt_errmsg(), path), "%s", gluvirt_errmsg());
    /* Asking for qcow2 outright is refused the same way. */
    cr_assert_eq(gluvirt_open_options_set_format(options, GLUVIRT_FORMAT_QCOW2), 0);
    cr_assert_null(gluvirt_image_open(NULL, path, options));
    assert_error(ENOTSUP, "qcow2");
    gluvirt_open_options_free(options);
    free(path);
}

Test(image_local, probe_finds_raw)
{
    static const size_t sizes[] = {0, 1, 3, 4, 4096};
    gluvirt_open_options *options = options_for(0, GLUVIRT_FORMAT_PROBE);

    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char name[32];
        char *path;
        gluvirt_image *image;

        snprintf(name, sizeof name, "plain-%zu.raw", sizes[i]);
        path = make_file(name, sizes[i], 33);
        image = gluvirt_image_open(NULL, path, options);
        cr_assert_not_null(image, "probe %zu-byte file: %s", sizes[i], gluvirt_errmsg());
        cr_assert_str_eq(gluvirt_image_format(image), "raw");
        cr_assert_eq(gluvirt_image_size(image), (int64_t)sizes[i]);
        gluvirt_image_close(image);
        free(path);
    }
    gluvirt_open_options_free(options);
}

/* ------------------------------------------------------------ model check */

/* xorshift64*: reproducible from the seed printed on failure. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * UINT64_C(2685821657736338717);
}

static uint64_t random_below(uint64_t *state, uint64_t bound)
{
    return bound ? next_random(state) % bound : 0;
}

/* Split [buf, buf + count) into 1..8 random pieces (some empty). */
static int random_vector(uint64_t *state, unsigned char *buf, size_t count, struct iovec *iov)
{
    int n = 1 + (int)random_below(state, 8);
    size_t at = 0;

    for (int i = 0; i < n; i++) {
        size_t piece = i == n - 1 ? count - at : (size_t)random_below(state, count - at + 1);

        iov[i].iov_base = buf + at;
        iov[i].iov_len = piece;
        at += piece;
    }
    return n;
}

Test(image_local, model_checked_random_io, .timeout = 120)
{
    const size_t size = (8u << 20) + 333;
    const char *seed_text = getenv("GLUVIRT_TEST_SEED");
    uint64_t seed = seed_text ? strtoull(seed_text, NULL, 0) : UINT64_C(0x5eed1e55),
             state = seed ? seed : 1;
    char *path = make_file("model.raw", size, 0);
    gluvirt_image *image = open_image(path, 1);
    unsigned char *model = calloc(1, size), *buf = malloc(200000 + 1), *disk;
    struct iovec iov[8];
    size_t disk_size;

    cr_log_info("seed 0x%" PRIx64 " (set GLUVIRT_TEST_SEED to repeat)", seed);
    for (int op = 0; op < 2000; op++) {
        size_t count = 1 + (size_t)random_below(&state, 200000);
        uint64_t choice = random_below(&state, 100);
        /* Most requests fit; some run past the end to check the clipping. */
        uint64_t offset = random_below(&state, 20) == 0
                              ? size - random_below(&state, count < size ? count : size)
                              : random_below(&state, size - count + 1);
        size_t inside = offset >= size ? 0 : (size - offset < count ? size - offset : count);

        if (choice < 45) {
            for (size_t i = 0; i < count; i++)
                buf[i] = (unsigned char)next_random(&state);
            if (inside < count) {
                cr_assert_eq(gluvirt_image_pwrite(image, buf, count, offset), -1,
                             "seed 0x%" PRIx64 " op %d: write past the end accepted", seed, op);
                assert_error(EINVAL, "past the end");
                continue;
            }
            if (choice < 25)
                cr_assert_eq(gluvirt_image_pwrite(image, buf, count, offset), (ssize_t)count,
                             "seed 0x%" PRIx64 " op %d: %s", seed, op, gluvirt_errmsg());
            else
                cr_assert_eq(gluvirt_image_pwritev(image, iov,
                                                   random_vector(&state, buf, count, iov),
                                                   offset),
                             (ssize_t)count, "seed 0x%" PRIx64 " op %d: %s", seed, op,
                             gluvirt_errmsg());
            memcpy(model + offset, buf, count);
        } else if (choice < 50) {
            if (inside < count)
                continue;
            cr_assert_eq(gluvirt_image_write_zeroes(image, offset, count), 0,
                         "seed 0x%" PRIx64 " op %d: %s", seed, op, gluvirt_errmsg());
            memset(model + offset, 0, count);
        } else if (choice < 52) {
            cr_assert_eq(gluvirt_image_flush(image), 0, "%s", gluvirt_errmsg());
        } else {
            ssize_t got;

            memset(buf, 0xa5, count);
            if (choice < 75)
                got = gluvirt_image_pread(image, buf, count, offset);
            else
                got = gluvirt_image_preadv(image, iov, random_vector(&state, buf, count, iov),
                                           offset);
            cr_assert_eq(got, (ssize_t)inside, "seed 0x%" PRIx64 " op %d: read %zu at %" PRIu64
                         " gave %zd: %s", seed, op, count, offset, got, gluvirt_errmsg());
            cr_assert_eq(memcmp(buf, model + offset, inside), 0,
                         "seed 0x%" PRIx64 " op %d: read %zu at %" PRIu64 " differs from the "
                         "model", seed, op, count, offset);
        }
    }
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());

    /* A fresh handle and the file itself agree with the model. */
    image = open_image(path, 0);
    cr_assert_eq(gluvirt_image_size(image), (int64_t)size);
    disk = malloc(size);
    cr_assert_eq(gluvirt_image_pread(image, disk, size, 0), (ssize_t)size);
    cr_assert_eq(memcmp(disk, model, size), 0, "seed 0x%" PRIx64 ": reopened image differs",
                 seed);
    gluvirt_image_close(image);
    free(disk);
    disk = read_file(path, &disk_size);
    cr_assert_eq(disk_size, size);
    cr_assert_eq(memcmp(disk, model, size), 0, "seed 0x%" PRIx64 ": file differs", seed);
    free(disk);
    free(model);
    free(buf);
    free(path);
}
