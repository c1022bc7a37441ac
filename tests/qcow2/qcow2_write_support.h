/*
 * What the qcow2 write suites (test_qcow2_write, test_qcow2_write_layouts)
 * share: shell commands run in the test directory (image_local_support.h's),
 * reading and patching image files behind the library's back, and traces:
 * an image made by qemu-img takes a seeded random trace of writes, zeroing,
 * discards and flushes through the public API while a raw model in memory
 * takes the same trace; then 'qemu-img check' must find the image clean and
 * 'qemu-img compare' equal to the model.  Failures name the layout and the
 * seed; GLUVIRT_QCOW2_WRITE_SEED=N runs that seed alone.
 *
 * Discard semantics follow QEMU's: whole clusters only; afterwards they
 * read as zeros, except on version 2 with a backing file, where the backing
 * file shows through.
 */
#ifndef GLUVIRT_TESTS_QCOW2_WRITE_SUPPORT_H
#define GLUVIRT_TESTS_QCOW2_WRITE_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include <gluvirt/gluvirt.h>

#include "../unit/image_local_support.h"

/* Header fields (big-endian), as the qcow2 spec places them. */
enum {
    H_L1_OFFSET = 40,
    H_REFTABLE_OFFSET = 48,
    H_REFTABLE_CLUSTERS = 56,
    H_INCOMPAT = 72,
    H_COMPAT = 80
};
#define OFFSET_MASK 0x00fffffffffffe00ull
#define COPIED      (1ull << 63)
#define DIRTY_BIT   (1ull << 0)
#define CORRUPT_BIT (1ull << 1)

/* Run a shell command in the test directory: its exit status. */
int shell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define RUN(...) cr_assert_eq(shell(__VA_ARGS__), 0, "command failed")

/* Big-endian fields of a file, read and written without the library. */
uint64_t peek_be(const char *path, uint64_t offset, unsigned width);
void poke_be(const char *path, uint64_t offset, unsigned width, uint64_t value);
unsigned char *read_range(const char *path, uint64_t offset, size_t len);
void write_file(const char *path, const unsigned char *data, size_t len);

/* path opened as qcow2 (any backing file allowed); NULL with the error set. */
gluvirt_image *open_qcow2(const char *path, int writable);

/* xorshift64*: the same numbers for the same seed everywhere. */
uint64_t next_random(uint64_t *state);
uint64_t below(uint64_t *state, uint64_t n);

struct layout {
    int version;            /* 2 (compat=0.10) or 3 (compat=1.1) */
    uint64_t cluster;
    int backing;            /* a qcow2 backing file holding a pattern */
    const char *options;    /* more -o options for the image, or NULL */
};

/* The image (img.qcow2 in the test directory) and the model it must equal. */
struct trace {
    struct layout l;
    uint64_t seed;
    uint64_t size;
    unsigned char *model;
    unsigned char *base;    /* what the backing file holds (zeros without one) */
    char *image_path, *model_path;
    char where[256];        /* layout and seed, for messages */
};

/* The -o options of qemu-img create for layout l. */
void layout_options(const struct layout *l, char *buf, size_t len);

/* Make the image (and its backing file) with qemu-img; the model starts as
 * what the guest reads from it. */
void trace_begin(struct trace *t, const struct layout *l, uint64_t seed);

/* Room for the longest write random_op picks. */
unsigned char *op_buffer(const struct trace *t);

/*
 * One random operation inside [start, start + span), on the image and the
 * model.  0, or -1 with err saying which operation failed and why (no
 * assertion: worker threads call it too).
 */
int random_op(struct trace *t, gluvirt_image *image, uint64_t *rng, uint64_t start,
              uint64_t span, unsigned char *data, char *err, size_t err_len);

/* ops random operations over the whole disk, in one writable open. */
void run_trace(struct trace *t, unsigned ops);

/* PARALLEL_TRACES threads at once on one open of the image, each running
 * ops random operations in its own quarter of the disk: writes in place,
 * allocations, and clusters one thread frees reused by another. */
#define PARALLEL_TRACES 4
void run_parallel_traces(struct trace *t, unsigned ops);

/* qemu-img's verdict: a clean image (exit 0: no corruption, no leak), equal
 * to the model. */
void trace_judge(struct trace *t);
void trace_end(struct trace *t);

/* Traces of ops operations for seeds 1..seeds (or GLUVIRT_QCOW2_WRITE_SEED),
 * each on a new image of layout l, each judged. */
void check_traces(const struct layout *l, unsigned seeds, unsigned ops);

/* A writable open of path fails with expected and a message naming
 * fragment and saying read-only opens work; a read-only open works. */
void assert_refused(const char *path, int expected, const char *fragment);

#endif
