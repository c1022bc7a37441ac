/*
 * The sequential read-ahead of callback reads (lib/image/image_readahead.c), on
 * the local-file backend: chains of queue-depth-1 reads, each submitted
 * from the callback of the one before (as qemu-img bench -d 1 does), of a
 * qcow2 image made by qemu-img and of a raw image, checked byte for byte
 * against the pattern written; with other reads cut in; closes right after
 * a sequential read; and a writable image read after writes.
 *
 * The local backend has no asynchronous reads, so here the read-ahead only
 * watches (it prefetches only what the storage reads asynchronously): these
 * tests pin the results the read-ahead must never change.  The same chains
 * run on gluster, where it prefetches, in tests/gluster/test_image_readahead.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <gluvirt/gluvirt.h>

#include "../readahead_chain.h"

#define THREAD GLUVIRT_COMPLETION_THREAD
#define POLL GLUVIRT_COMPLETION_POLL

#define IMAGE_SIZE (4u << 20)
#define HOLE_START (1u << 20)      /* zeros here: qemu-img leaves the clusters out */
#define HOLE_END (HOLE_START + (512u << 10))

static char raw_path[PATH_MAX], qcow2_path[PATH_MAX + 8];
static unsigned char *pattern; /* what the images hold */

static unsigned char pattern_byte(uint64_t offset)
{
    if (offset >= HOLE_START && offset < HOLE_END)
        return 0;
    return (unsigned char)((offset * 2654435761u) >> 11 ^ offset >> 9 ^ 0x5a);
}

/* A raw file of the pattern, and the qcow2 qemu-img converts it to. */
static void make_images(void)
{
    const char *tmp = getenv("TMPDIR");
    char *command;
    int fd;

    pattern = malloc(IMAGE_SIZE);
    cr_assert_not_null(pattern);
    for (uint64_t i = 0; i < IMAGE_SIZE; i++)
        pattern[i] = pattern_byte(i);
    snprintf(raw_path, sizeof raw_path, "%s/gluvirt-ra-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    fd = mkstemp(raw_path);
    cr_assert_geq(fd, 0, "mkstemp %s: %s", raw_path, strerror(errno));
    cr_assert_eq(write(fd, pattern, IMAGE_SIZE), (ssize_t)IMAGE_SIZE, "%s", strerror(errno));
    close(fd);
    snprintf(qcow2_path, sizeof qcow2_path, "%s.qcow2", raw_path);
    cr_assert_neq(asprintf(&command, "qemu-img convert -q -f raw -O qcow2 -o cluster_size=65536 "
                                     "'%s' '%s'", raw_path, qcow2_path), -1);
    cr_assert_eq(system(command), 0, "%s failed (is qemu-img installed?)", command);
    free(command);
}

static void remove_images(void)
{
    if (raw_path[0])
        unlink(raw_path);
    if (qcow2_path[0])
        unlink(qcow2_path);
    free(pattern);
}

TestSuite(readahead_local, .init = make_images, .fini = remove_images, .timeout = 120);


/* ------------------------------------------------------------ tests */

static void sequential_whole_image(const char *path, gluvirt_format format,
                                   gluvirt_completion_mode mode, size_t length)
{
    gluvirt_image *image = chain_open(NULL, path, format, 0, mode);
    int count;
    struct step *steps = sequential_steps(0, IMAGE_SIZE, length, &count);

    run_chain(image, mode, steps, count, pattern);
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    free(steps);
}

Test(readahead_local, qcow2_sequential_thread)
{
    sequential_whole_image(qcow2_path, GLUVIRT_FORMAT_QCOW2, THREAD, 65536);
}

Test(readahead_local, qcow2_sequential_poll)
{
    sequential_whole_image(qcow2_path, GLUVIRT_FORMAT_QCOW2, POLL, 65536);
}

/* Pieces that straddle clusters and the hole. */
Test(readahead_local, qcow2_sequential_odd_length)
{
    sequential_whole_image(qcow2_path, GLUVIRT_FORMAT_QCOW2, THREAD, 12345);
}

Test(readahead_local, raw_sequential_thread)
{
    sequential_whole_image(raw_path, GLUVIRT_FORMAT_RAW, THREAD, 65536);
}

Test(readahead_local, raw_sequential_poll_small)
{
    sequential_whole_image(raw_path, GLUVIRT_FORMAT_RAW, POLL, 4096);
}

static void interleaved_whole_image(const char *path, gluvirt_format format,
                                    gluvirt_completion_mode mode, size_t length)
{
    gluvirt_image *image = chain_open(NULL, path, format, 0, mode);
    int count;
    struct step *steps = interleaved_steps(IMAGE_SIZE, length, &count);

    run_chain(image, mode, steps, count, pattern);
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    free(steps);
}

Test(readahead_local, qcow2_interleaved)
{
    interleaved_whole_image(qcow2_path, GLUVIRT_FORMAT_QCOW2, THREAD, 65536);
}

Test(readahead_local, raw_interleaved_poll)
{
    interleaved_whole_image(raw_path, GLUVIRT_FORMAT_RAW, POLL, 32768);
}

/* Close right after sequential reads, when a read-ahead would be on its way. */
Test(readahead_local, close_after_sequential_reads)
{
    for (int round = 0; round < 50; round++) {
        gluvirt_completion_mode mode = round % 2 ? POLL : THREAD;
        gluvirt_image *image = chain_open(NULL, round % 4 < 2 ? qcow2_path : raw_path,
                                          round % 4 < 2 ? GLUVIRT_FORMAT_QCOW2
                                                        : GLUVIRT_FORMAT_RAW, 0, mode);
        int count;
        struct step *steps = sequential_steps((uint64_t)round * 65536, (uint64_t)round * 65536 +
                                              3 * 65536, 65536, &count);

        run_chain(image, mode, steps, count, pattern);
        cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
        free(steps);
    }
}

/* A writable image: sequential reads after writes see the new bytes. */
Test(readahead_local, writable_raw_reads_its_writes)
{
    gluvirt_image *image = chain_open(NULL, raw_path, GLUVIRT_FORMAT_RAW, 1, THREAD);
    unsigned char *now = malloc(IMAGE_SIZE);
    int count;
    struct step *steps = sequential_steps(0, IMAGE_SIZE, 65536, &count);

    cr_assert_not_null(now);
    memcpy(now, pattern, IMAGE_SIZE);
    run_chain(image, THREAD, steps, count, now);
    for (int round = 0; round < 3; round++) {
        uint64_t at = (uint64_t)round * 65536 * 7 + 65536; /* where the read-ahead would be */

        for (size_t i = 0; i < 3 * 65536; i++)
            now[at + i] = (unsigned char)(round * 31 + i * 7 + 1);
        cr_assert_eq(gluvirt_image_pwrite(image, now + at, 3 * 65536, at), 3 * 65536, "%s",
                     gluvirt_errmsg());
        run_chain(image, THREAD, steps, count, now);
    }
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    free(steps);
    free(now);
}
