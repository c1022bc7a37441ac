/*
 * What the parts of the ThreadSanitizer stress program aio_stress share
 * (the program and its phases: aio_stress.c):
 *
 *   aio_stress_support.c  reporting, clocks, the byte patterns, request
 *                         accounting, waiting for chains, the event loop
 *                         of the pollable completion mode;
 *   aio_stress_targets.c  the two backends (local files, gluster): their
 *                         images, made, opened, closed and emptied;
 *   aio_stress_readers.c  chains of sequential reads and the threads that
 *                         disturb them with random reads.
 */
#ifndef GLUVIRT_TESTS_TSAN_AIO_STRESS_H
#define GLUVIRT_TESTS_TSAN_AIO_STRESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <gluvirt/gluvirt.h>

/* The read-only images: a pattern with a hole of zeros (which qemu-img
 * leaves unallocated in the qcow2 copy); the size is a multiple of 512 but
 * not of 4096, so reads get cut by the end. */
#define RO_SIZE ((6u << 20) + 3584u)
#define HOLE_START (2u << 20)
#define HOLE_END (3u << 20)

/* The writable image (its layout: aio_stress.c). */
#define RW_SIZE (8u << 20)

/* The largest read or write any phase makes. */
#define MAX_READ (256u << 10)

/* ------------------------------------------------------------ reporting */

/* "FAIL: ..." on stdout (the first 20) and a count of failures. */
void failf(const char *format, ...) __attribute__((format(printf, 1, 2)));
int failure_count(void);

/* CLOCK_MONOTONIC in seconds. */
double now_seconds(void);
void sleep_us(unsigned us);

/* ------------------------------------------------------------ byte patterns */

/* What the read-only images hold at at. */
unsigned char ro_byte(uint64_t at);
/* What generation gen of a write puts at at; consecutive generations differ
 * in every byte. */
unsigned char gen_byte(uint64_t at, unsigned gen);
void fill_gen(unsigned char *buf, uint64_t offset, size_t length, unsigned gen);
/* The first byte of buf that differs from what generation gen (0: zeros)
 * wrote there, or -1. */
int64_t first_gen_mismatch(const unsigned char *buf, uint64_t offset, size_t length,
                           unsigned gen);
/* The first byte of buf that differs from the read-only images, or -1. */
int64_t first_ro_mismatch(const unsigned char *buf, uint64_t offset, size_t length);

/* ------------------------------------------------------------ requests */

enum op { OP_READ, OP_WRITE, OP_FLUSH, OP_ZEROES };

/* Every callback request goes through submit, so that the counts add up:
 * each submit call must run release once, each accepted request complete
 * once; every complete callback calls count_complete. */
int submit(gluvirt_image *image, enum op op, void *buf, size_t count, uint64_t offset,
           gluvirt_complete_fn complete, void *user_data);
void count_complete(void);
/* After every image of a phase is closed, nothing may be pending: a
 * failure names phase when the counts do not add up. */
void check_accounting(const char *phase);

/* ------------------------------------------------------------ waiting */

/* How many chains of a phase are still running. */
struct tally {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int running;
};

void tally_init(struct tally *t, int running);
/* One chain is over. */
void tally_done(struct tally *t);
/* Wait for every chain, then destroy the tally; a hang leaves requests in
 * flight that nothing can clean up, so after 120 s the program exits 3. */
void tally_wait(struct tally *t, const char *what);

/* POLL mode: the event loop, on a thread of its own, until stopped. */
struct loop {
    gluvirt_image *image;
    pthread_t thread;
    atomic_int stop;
};

/* Start the loop on image when mode is GLUVIRT_COMPLETION_POLL; in the
 * other mode the library's thread completes and both calls do nothing. */
void loop_start(struct loop *l, gluvirt_image *image, gluvirt_completion_mode mode);
void loop_stop(struct loop *l);

/* ------------------------------------------------------------ targets */

/* One backend: where its three images are and the pool that reaches them. */
struct target {
    const char *label;
    gluvirt_pool *pool; /* gluster; NULL for local files */
    char *rw, *ro_raw, *ro_qcow2;
};

const char *mode_name(gluvirt_completion_mode mode);
const char *format_name(gluvirt_format format);
/* The read-only image of t in format. */
const char *ro_name(const struct target *t, gluvirt_format format);

/* Open or exit: 2 when the options cannot be set, 1 (a failed check) when
 * the open fails. */
gluvirt_image *open_image(const struct target *t, const char *name, gluvirt_format format,
                          int writable, gluvirt_completion_mode mode, unsigned depth);
/* Close; a failure names what. */
void close_image(gluvirt_image *image, const char *what);

/* The local images in dir (qemu-img makes the qcow2 one). */
void set_up_local(struct target *t, const char *dir);
/* The images on the test volume on host, the qcow2 one a copy of local's. */
void set_up_gluster(struct target *t, const char *host, const struct target *local);
/* Empty the gluster images, free the names and the pool. */
void tear_down(struct target *t);

/* ------------------------------------------------------------ chains of reads */

struct reader;

struct link {
    struct reader *reader;
    uint64_t offset;
    size_t count;
    unsigned char *buf;
};

/* Reads that go round [start, end) of a read-only image in order, depth of
 * them in flight, each submitted by the callback of one that completed. */
struct reader {
    const char *label;
    gluvirt_image *image;
    const size_t *sizes;
    int size_count, size_repeat; /* each size is used size_repeat times */
    uint64_t start, end;
    int depth, total;
    struct tally *tally;
    pthread_mutex_t lock;
    uint64_t cursor;
    int submitted, completed, size_index, failed;
    uint64_t bytes;
    struct link *links;
};

/* A chain of total reads from start to the end of the image and round,
 * calling tally_done on tally when it is over. */
struct reader *reader_new(const char *label, gluvirt_image *image, const size_t *sizes,
                          int size_count, int size_repeat, uint64_t start, int depth,
                          int total, struct tally *tally);
/* Send the first depth reads from this thread; the callbacks send the rest. */
void reader_start(struct reader *r);
/* After the image closed: every read done, none failed. */
void reader_free(struct reader *r);

/* Random reads on an image that chains also read, from another thread:
 * every other one by callback (waited for), the rest synchronous. */
struct disturber {
    const char *label;
    gluvirt_image *image;
    pthread_t thread;
    unsigned seed;
    int reads;
    unsigned pause_us;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int64_t result;
    int done;
};

/* reads reads, each followed by a pause of up to pause_us. */
void disturber_start(struct disturber *d, const char *label, gluvirt_image *image,
                     unsigned seed, int reads, unsigned pause_us);
void disturber_join(struct disturber *d);

#endif
