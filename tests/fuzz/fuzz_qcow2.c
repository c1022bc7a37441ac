/*
 * libFuzzer target for the qcow2 reader and writer.  The input is an image file, opened
 * as qcow2 through the local-file backend with no backing file; when it
 * opens, a few ranges are read (the start, the end, a cluster boundary, and
 * one the input chooses) and the image is walked with block status.  Any
 * input: no crash, no leak, no undefined behaviour, no unbounded memory or
 * time.  Reads may fail (damaged tables fail the reads that meet them); a
 * read that succeeds must say how much it read.
 *
 * Then the write path: the same image opened writable (layouts the writer
 * refuses fail to open, which is fine) takes a few writes, a write_zeroes,
 * a discard and a flush, and is closed.  Any of them may fail on damage;
 * none may crash, and a write that succeeds must say it wrote everything.
 *
 * Seeds: tests/fuzz/make-qcow2-seeds.sh (small qemu-img images).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gluvirt/gluvirt.h>

enum { READ_MAX = 128 << 10, STATUS_STEPS = 256 };

static unsigned char read_buf[READ_MAX];

/* The image's bytes live in a temporary file that every run rewrites; the
 * library opens it by its path, like any local image.  (Not a memfd: the
 * image layer resolves paths, and a memfd has none.) */
static int image_fd = -1;
static char image_path[PATH_MAX];

static void remove_image(void)
{
    unlink(image_path);
}

static void store_input(const uint8_t *data, size_t size)
{
    size_t done = 0;

    if (ftruncate(image_fd, 0) < 0)
        abort();
    while (done < size) {
        ssize_t n = pwrite(image_fd, data + done, size - done, (off_t)done);

        if (n <= 0)
            abort();
        done += (size_t)n;
    }
}

static gluvirt_image *open_input(int writable)
{
    gluvirt_open_options *options = gluvirt_open_options_new();
    gluvirt_image *image;

    if (!options || gluvirt_open_options_set_format(options, GLUVIRT_FORMAT_QCOW2) < 0 ||
        gluvirt_open_options_set_writable(options, writable) < 0 ||
        gluvirt_open_options_set_backing(options, GLUVIRT_BACKING_NONE) < 0 ||
        gluvirt_open_options_set_l2_cache_size(options, 64 << 10) < 0) /* evict and reload */
        abort();
    image = gluvirt_image_open(NULL, image_path, options);
    gluvirt_open_options_free(options);
    return image;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Make the image file, and check that a minimal valid image (version 3,
 * 512-byte clusters, empty, a one-cluster refcount table) opens, read-only
 * and writable: a fuzzer whose every input failed to open would test
 * nothing. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static uint8_t minimal[1024] = {'Q', 'F', 'I', 0xfb, 0, 0, 0, 3};
    const char *tmp = getenv("TMPDIR");
    gluvirt_image *image;

    (void)argc, (void)argv;
    snprintf(image_path, sizeof image_path, "%s/fuzz-qcow2-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if ((image_fd = mkstemp(image_path)) < 0) {
        perror(image_path);
        abort();
    }
    atexit(remove_image);
    minimal[23] = 9;                         /* cluster_bits */
    minimal[54] = 0x02;                      /* refcount_table_offset 512 */
    minimal[59] = 1;                         /* refcount_table_clusters */
    minimal[99] = 4;                         /* refcount_order */
    minimal[103] = 104;                      /* header_length */
    store_input(minimal, sizeof minimal);
    for (int writable = 0; writable <= 1; writable++) {
        if (!(image = open_input(writable))) {
            fprintf(stderr, "fuzz_qcow2: a valid image does not open%s: %s\n",
                    writable ? " writable" : "", gluvirt_errmsg());
            abort();
        }
        gluvirt_image_close(image);
    }
    return 0;
}

static void read_range(gluvirt_image *image, int64_t size, uint64_t offset, size_t len)
{
    ssize_t got;

    if (len > READ_MAX)
        len = READ_MAX;
    got = gluvirt_image_pread(image, read_buf, len, offset);
    if (got < -1 || got > (ssize_t)len)
        abort();
    /* Short only at the end of the image. */
    if (got >= 0 && (uint64_t)got < len && offset < (uint64_t)size &&
        offset + (uint64_t)got < (uint64_t)size)
        abort();
}

static void write_range(gluvirt_image *image, int64_t size, uint64_t offset, size_t len)
{
    ssize_t done;

    if (offset >= (uint64_t)size)
        return;
    if (len > READ_MAX)
        len = READ_MAX;
    if (len > (uint64_t)size - offset)
        len = (size_t)((uint64_t)size - offset);
    memset(read_buf, (int)(offset * 31 + len) | 1, len);
    done = gluvirt_image_pwrite(image, read_buf, len, offset);
    if (done < -1 || (done >= 0 && (size_t)done != len))
        abort();
}

/* Writes, zeroing, a discard and a flush on the image opened writable; the
 * offsets come from chosen, like the reads'. */
static void write_pass(uint64_t chosen)
{
    gluvirt_image *image = open_input(1);
    int64_t size;
    uint64_t at;

    if (!image)
        return;
    size = gluvirt_image_size(image);
    if (size < 0)
        abort();
    if (size > 0) {
        at = chosen % (uint64_t)size;
        write_range(image, size, 0, 4096);
        write_range(image, size, at, (size_t)(chosen >> 48) + 1);
        (void)gluvirt_image_write_zeroes(image, at / 2, (uint64_t)size - at / 2 < 131072
                                                            ? (uint64_t)size - at / 2 : 131072);
        write_range(image, size, 65536 - 1000, 8192);
        (void)gluvirt_image_discard(image, 0, (uint64_t)size < 262144 ? (uint64_t)size : 262144);
        write_range(image, size, (uint64_t)size > 4096 ? (uint64_t)size - 4096 : 0, 8192);
        read_range(image, size, 0, 8192);
    }
    (void)gluvirt_image_flush(image);
    (void)gluvirt_image_close(image);
}

static void walk_block_status(gluvirt_image *image, int64_t size)
{
    uint64_t offset = 0;

    for (int step = 0; step < STATUS_STEPS && offset < (uint64_t)size; step++) {
        unsigned flags = 0;
        int depth = -1;
        int64_t host = 0;
        int64_t n = gluvirt_image_block_status(image, offset, (uint64_t)size - offset, &flags,
                                               &depth, &host);

        if (n < 0)
            return; /* damage: later ranges may still map, but one failure ends the walk */
        if (n == 0 || (uint64_t)n > (uint64_t)size - offset)
            abort();
        offset += (uint64_t)n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gluvirt_image *image;
    int64_t vsize;
    uint64_t chosen = 0;

    store_input(data, size);
    if (!(image = open_input(0)))
        return 0;

    vsize = gluvirt_image_size(image);
    if (vsize < 0)
        abort();
    /* The input's last 8 bytes pick one more range. */
    for (size_t i = size >= 8 ? size - 8 : 0; i < size; i++)
        chosen = chosen << 8 | data[i];
    read_range(image, vsize, 0, 4096);
    read_range(image, vsize, 65536 - 1000, 8192);
    read_range(image, vsize, vsize > 4096 ? (uint64_t)vsize - 4096 : 0, 8192);
    if (vsize > 0)
        read_range(image, vsize, chosen % (uint64_t)vsize, (size_t)(chosen >> 48) + 1);
    walk_block_status(image, vsize);
    gluvirt_image_close(image);
    /* The read-only open has read the input, and the writer changes the file. */
    write_pass(chosen);
    return 0;
}
