/*
 * Concurrency stress of the image layer's callback I/O, meant to run under
 * ThreadSanitizer (tests/tsan.sh builds it with the library sources and
 * -fsanitize=thread).  Every phase runs on the local-file backend and, when
 * GLUVIRT_TEST_HOST names the test volumes, on gluster (volume gv2), where
 * raw reads and writes take gfapi's asynchronous calls:
 *
 *   writes   a writable raw image in each completion mode: 24 cells, each a
 *            chain of callbacks (write, read back and check, flush, write
 *            zeroes) submitted from the callbacks themselves, started by 4
 *            threads that meanwhile pwrite, pread, flush and write zeroes
 *            through the synchronous calls on ranges of their own; the
 *            image is then read back through a fresh handle;
 *   merge    read-only raw and qcow2 images in each completion mode: 32
 *            sequential reads of mixed sizes in flight, each submitted by
 *            the callback of the one before (the engine merges them), while
 *            2 threads read at random offsets, by callback and synchronously;
 *   ahead    the read-ahead: three handles on one read-only image (raw and
 *            qcow2), each a queue-depth-1 chain of sequential reads, two of
 *            them disturbed by a thread reading elsewhere;
 *   churn    4 threads x 12 rounds: open an image, submit reads (a chain
 *            that keeps going from its callbacks) or writes and a flush,
 *            and close at once, with everything in flight.
 *
 * Every byte read is checked; every request's complete and release calls
 * are counted.  argv[1] is a scratch directory for the local images
 * (qemu-img makes the qcow2 one).  Prints one line per phase; exits 1 when
 * a check failed, 3 on a hang (ThreadSanitizer exits on its own with its
 * exitcode at the first report).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gluvirt/gluvirt.h>
#include <gluvirt/create.h>
#include <gluvirt/image.h>
#include <gluvirt/pool.h>

/* The library's internal event counters, when this tree has them: they
 * show that merges and prefetches happened, not only that bytes were
 * right. */
#if defined(__has_include)
#if __has_include("stats.h")
#include "stats.h"
#define HAVE_GLV_STATS 1
#endif
#endif

#define VOLUME "gv2"
#define WAIT_S 120

/* The read-only images: a pattern with a hole of zeros (which qemu-img
 * leaves unallocated in the qcow2 copy); the size is a multiple of 512 but
 * not of 4096, so reads get cut by the end. */
#define RO_SIZE ((6u << 20) + 3584u)
#define HOLE_START (2u << 20)
#define HOLE_END (3u << 20)

/* The writable image: cells in [0, 3 MiB), the synchronous threads' ranges
 * in [4 MiB, 7 MiB), churn's in [7 MiB, 8 MiB). */
#define RW_SIZE (8u << 20)
#define CELLS 24
#define CELL_SPAN (128u << 10)
#define CELL_STEPS 24
#define CLIENT_THREADS 4
#define SYNC_BASE (4u << 20)
#define SYNC_SPAN (768u << 10)
#define SYNC_ROUNDS 40
#define CHURN_BASE (7u << 20)
#define CHURN_SPAN (256u << 10)

#define MERGE_DEPTH 32
#define MERGE_READS 1500
#define DISTURBERS 2
#define DISTURB_READS 60
#define AHEAD_READS 400
#define CHURN_THREADS 4
#define CHURN_ROUNDS 12
#define MAX_READ (256u << 10)

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static int failures;

/* Request accounting: every submit call runs release once, every accepted
 * request runs complete once. */
static atomic_long submit_calls, accepted, completes, releases;

static void failf(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void failf(const char *format, ...)
{
    va_list args;

    pthread_mutex_lock(&report_lock);
    if (failures++ < 20) {
        printf("FAIL: ");
        va_start(args, format);
        vprintf(format, args);
        va_end(args);
        putchar('\n');
        fflush(stdout);
    }
    pthread_mutex_unlock(&report_lock);
}

static int failure_count(void)
{
    int n;

    pthread_mutex_lock(&report_lock);
    n = failures;
    pthread_mutex_unlock(&report_lock);
    return n;
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_us(unsigned us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static unsigned char ro_byte(uint64_t at)
{
    if (at >= HOLE_START && at < HOLE_END)
        return 0;
    return (unsigned char)((at * 2654435761u) >> 11 ^ at >> 9 ^ 0xa5);
}

/* What generation gen of a write puts at at; consecutive generations differ
 * in every byte. */
static unsigned char gen_byte(uint64_t at, unsigned gen)
{
    return (unsigned char)(at * 131u + gen * 29u + (at >> 11));
}

static void fill_gen(unsigned char *buf, uint64_t offset, size_t length, unsigned gen)
{
    for (size_t i = 0; i < length; i++)
        buf[i] = gen_byte(offset + i, gen);
}

/* The first byte of buf that differs from what generation gen (0: zeros)
 * wrote there, or -1. */
static int64_t first_gen_mismatch(const unsigned char *buf, uint64_t offset, size_t length,
                                  unsigned gen)
{
    for (size_t i = 0; i < length; i++)
        if (buf[i] != (gen ? gen_byte(offset + i, gen) : 0))
            return (int64_t)i;
    return -1;
}

static int64_t first_ro_mismatch(const unsigned char *buf, uint64_t offset, size_t length)
{
    for (size_t i = 0; i < length; i++)
        if (buf[i] != ro_byte(offset + i))
            return (int64_t)i;
    return -1;
}

/* ------------------------------------------------------------ requests */

static void count_release(void *user_data)
{
    (void)user_data;
    atomic_fetch_add(&releases, 1);
}

/* Every submit goes through here, so that the counts add up. */
enum op { OP_READ, OP_WRITE, OP_FLUSH, OP_ZEROES };

static int submit(gluvirt_image *image, enum op op, void *buf, size_t count, uint64_t offset,
                  gluvirt_complete_fn complete, void *user_data)
{
    int rc;

    atomic_fetch_add(&submit_calls, 1);
    switch (op) {
    case OP_READ:
        rc = gluvirt_image_aio_read(image, buf, count, offset, complete, user_data,
                                    count_release);
        break;
    case OP_WRITE:
        rc = gluvirt_image_aio_write(image, buf, count, offset, complete, user_data,
                                     count_release);
        break;
    case OP_FLUSH:
        rc = gluvirt_image_aio_flush(image, complete, user_data, count_release);
        break;
    default:
        rc = gluvirt_image_aio_write_zeroes(image, offset, count, complete, user_data,
                                            count_release);
    }
    if (rc == 0)
        atomic_fetch_add(&accepted, 1);
    return rc;
}

/* After every image of a phase is closed, nothing may be pending. */
static void check_accounting(const char *phase)
{
    long calls = atomic_load(&submit_calls), ok = atomic_load(&accepted);
    long done = atomic_load(&completes), freed = atomic_load(&releases);

    if (done != ok || freed != calls)
        failf("%s: %ld submit calls, %ld accepted: %ld complete and %ld release calls",
              phase, calls, ok, done, freed);
}

/* ------------------------------------------------------------ waiting */

/* How many chains of a phase are still running. */
struct tally {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int running;
};

static void tally_init(struct tally *t, int running)
{
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->cond, NULL);
    t->running = running;
}

static void tally_done(struct tally *t)
{
    pthread_mutex_lock(&t->lock);
    if (--t->running == 0)
        pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

/* A hang leaves requests in flight that nothing can clean up: stop here. */
static void tally_wait(struct tally *t, const char *what)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_S;
    pthread_mutex_lock(&t->lock);
    while (t->running > 0)
        if (pthread_cond_timedwait(&t->cond, &t->lock, &until) == ETIMEDOUT) {
            printf("FAIL: %s: %d chains still running after %d s\n", what, t->running,
                   WAIT_S);
            fflush(stdout);
            _exit(3);
        }
    pthread_mutex_unlock(&t->lock);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->cond);
}

/* POLL mode: the event loop, on a thread of its own, until stopped. */
struct loop {
    gluvirt_image *image;
    pthread_t thread;
    atomic_int stop;
};

static void *loop_main(void *arg)
{
    struct loop *l = arg;
    int fd = gluvirt_image_completion_fd(l->image);

    if (fd < 0) {
        failf("gluvirt_image_completion_fd: %s", gluvirt_errmsg());
        return NULL;
    }
    while (!atomic_load(&l->stop)) {
        struct pollfd p = {fd, POLLIN, 0};

        if (poll(&p, 1, 20) < 0 && errno != EINTR)
            failf("poll on the completion fd: %s", strerror(errno));
        if (gluvirt_image_dispatch(l->image) < 0)
            failf("gluvirt_image_dispatch: %s", gluvirt_errmsg());
    }
    return NULL;
}

static void loop_start(struct loop *l, gluvirt_image *image, gluvirt_completion_mode mode)
{
    l->image = mode == GLUVIRT_COMPLETION_POLL ? image : NULL;
    atomic_store(&l->stop, 0);
    if (l->image && pthread_create(&l->thread, NULL, loop_main, l) != 0) {
        fprintf(stderr, "aio_stress: pthread_create failed\n");
        exit(2);
    }
}

static void loop_stop(struct loop *l)
{
    if (!l->image)
        return;
    atomic_store(&l->stop, 1);
    pthread_join(l->thread, NULL);
}

/* ------------------------------------------------------------ targets */

/* One backend: where its three images are and the pool that reaches them. */
struct target {
    const char *label;
    gluvirt_pool *pool; /* gluster; NULL for local files */
    char *rw, *ro_raw, *ro_qcow2;
};

static const char *mode_name(gluvirt_completion_mode mode)
{
    return mode == GLUVIRT_COMPLETION_POLL ? "poll" : "thread";
}

static gluvirt_image *open_image(const struct target *t, const char *name,
                                 gluvirt_format format, int writable,
                                 gluvirt_completion_mode mode, unsigned depth)
{
    gluvirt_open_options *options = gluvirt_open_options_new();
    gluvirt_image *image;

    if (!options || gluvirt_open_options_set_format(options, format) != 0 ||
        gluvirt_open_options_set_writable(options, writable) != 0 ||
        gluvirt_open_options_set_completion(options, mode) != 0 ||
        gluvirt_open_options_set_queue_depth(options, depth) != 0) {
        fprintf(stderr, "aio_stress: open options: %s\n", gluvirt_errmsg());
        exit(2);
    }
    image = gluvirt_image_open(t->pool, name, options);
    gluvirt_open_options_free(options);
    if (!image) {
        failf("%s: open %s: %s", t->label, name, gluvirt_errmsg());
        printf("aio_stress: checks FAILED\n");
        exit(1);
    }
    return image;
}

static void close_image(gluvirt_image *image, const char *what)
{
    if (gluvirt_image_close(image) != 0)
        failf("%s: close: %s", what, gluvirt_errmsg());
}

/* Create name as a raw image of size bytes (replacing what is there) and
 * write bytes into it, when bytes is not NULL. */
static void make_raw(const struct target *t, const char *name, uint64_t size,
                     const unsigned char *bytes)
{
    gluvirt_create_options *options = gluvirt_create_options_new();
    gluvirt_image *image;

    if (!options || gluvirt_create_options_set_overwrite(options, 1) != 0 ||
        gluvirt_image_create(t->pool, name, size, options) != 0) {
        fprintf(stderr, "aio_stress: create %s: %s\n", name, gluvirt_errmsg());
        exit(2);
    }
    gluvirt_create_options_free(options);
    if (!bytes)
        return;
    image = open_image(t, name, GLUVIRT_FORMAT_RAW, 1, GLUVIRT_COMPLETION_THREAD, 1);
    for (uint64_t at = 0; at < size; at += 1u << 20) {
        size_t n = size - at < (1u << 20) ? (size_t)(size - at) : 1u << 20;

        if (gluvirt_image_pwrite(image, bytes + at, n, at) != (ssize_t)n) {
            fprintf(stderr, "aio_stress: write %s: %s\n", name, gluvirt_errmsg());
            exit(2);
        }
    }
    close_image(image, name);
}

static unsigned char *read_file(const char *path, uint64_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *bytes;
    struct stat st;

    if (!f || fstat(fileno(f), &st) != 0 || !(bytes = calloc(1, (size_t)st.st_size + 512)) ||
        fread(bytes, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        fprintf(stderr, "aio_stress: cannot read %s: %s\n", path, strerror(errno));
        exit(2);
    }
    fclose(f);
    *size = (uint64_t)st.st_size;
    return bytes;
}

static unsigned char *ro_bytes(void)
{
    unsigned char *bytes = malloc(RO_SIZE);

    if (!bytes)
        exit(2);
    for (uint64_t i = 0; i < RO_SIZE; i++)
        bytes[i] = ro_byte(i);
    return bytes;
}

static void set_up_local(struct target *t, const char *dir)
{
    unsigned char *bytes = ro_bytes();
    char *command;

    t->label = "local";
    t->pool = NULL;
    if (asprintf(&t->rw, "%s/rw.raw", dir) < 0 || asprintf(&t->ro_raw, "%s/ro.raw", dir) < 0 ||
        asprintf(&t->ro_qcow2, "%s/ro.qcow2", dir) < 0 ||
        asprintf(&command, "qemu-img convert -f raw -O qcow2 '%s' '%s'", t->ro_raw,
                 t->ro_qcow2) < 0)
        exit(2);
    make_raw(t, t->rw, RW_SIZE, NULL);
    make_raw(t, t->ro_raw, RO_SIZE, bytes);
    if (system(command) != 0) {
        fprintf(stderr, "aio_stress: %s failed\n", command);
        exit(2);
    }
    free(command);
    free(bytes);
}

/*
 * A connection held until the process exits, never finalised: when the last
 * client goes, gfapi unloads its transport and xlators, and ThreadSanitizer
 * stops the program when a library that a called_from_lib suppression names
 * is unloaded.
 */
static void hold_gluster_loaded(const char *host)
{
    gluvirt_pool *pool = gluvirt_pool_new(NULL);
    gluvirt_uri *uri = gluvirt_uri_new(VOLUME, "keep-loaded");

    if (!pool || !uri || gluvirt_uri_add_tcp_server(uri, host, 0) != 0 ||
        !gluvirt_pool_connect(pool, uri)) {
        fprintf(stderr, "aio_stress: cannot connect to %s on %s: %s\n", VOLUME, host,
                gluvirt_errmsg());
        exit(2);
    }
    gluvirt_uri_free(uri);
}

/* The qcow2 image on the volume is the local one's bytes, copied through a
 * raw open: nothing else here writes qcow2 data. */
static void set_up_gluster(struct target *t, const char *host, const struct target *local)
{
    gluvirt_pool_options *options = gluvirt_pool_options_new();
    unsigned char *bytes = ro_bytes(), *qcow2;
    uint64_t qcow2_size;
    long tag = (long)getpid();

    t->label = "gluster";
    hold_gluster_loaded(host);
    if (!options || gluvirt_pool_options_set_linger(options, 60000) != 0 ||
        !(t->pool = gluvirt_pool_new(options))) {
        fprintf(stderr, "aio_stress: pool: %s\n", gluvirt_errmsg());
        exit(2);
    }
    gluvirt_pool_options_free(options);
    if (asprintf(&t->rw, "gluster://%s/%s/gluvirt-tsan-%ld-rw.raw", host, VOLUME, tag) < 0 ||
        asprintf(&t->ro_raw, "gluster://%s/%s/gluvirt-tsan-%ld-ro.raw", host, VOLUME, tag) < 0 ||
        asprintf(&t->ro_qcow2, "gluster://%s/%s/gluvirt-tsan-%ld-ro.qcow2", host, VOLUME,
                 tag) < 0)
        exit(2);
    make_raw(t, t->rw, RW_SIZE, NULL);
    make_raw(t, t->ro_raw, RO_SIZE, bytes);
    qcow2 = read_file(local->ro_qcow2, &qcow2_size);
    make_raw(t, t->ro_qcow2, (qcow2_size + 511) / 512 * 512, qcow2);
    free(qcow2);
    free(bytes);
}

/* The volume keeps only empty files from this run. */
static void tear_down(struct target *t)
{
    char *names[3] = {t->rw, t->ro_raw, t->ro_qcow2};

    for (int i = 0; i < 3; i++) {
        if (t->pool) {
            gluvirt_image *image =
                open_image(t, names[i], GLUVIRT_FORMAT_RAW, 1, GLUVIRT_COMPLETION_THREAD, 1);

            if (gluvirt_image_truncate(image, 0) != 0)
                failf("%s: truncate %s: %s", t->label, names[i], gluvirt_errmsg());
            close_image(image, names[i]);
        }
        free(names[i]);
    }
    gluvirt_pool_free(t->pool);
}

/* ------------------------------------------------------------ writes */

enum cell_step { CELL_WRITE, CELL_READ, CELL_FLUSH, CELL_ZEROES };

struct write_phase;

/* A range of the image that one chain of callbacks owns. */
struct cell {
    struct write_phase *phase;
    uint64_t offset;
    size_t length;
    unsigned gen;   /* what the range holds; 0: zeros */
    int steps;
    enum cell_step step;
    unsigned char *buf;
};

struct write_phase {
    const char *label;
    gluvirt_image *image;
    struct tally tally;
    struct cell cells[CELLS];
    pthread_barrier_t start;
};

static const size_t cell_lengths[] = {4096, 65536, 3000, 131072, 512, 20000, 100000, 8192};

static void cell_done(void *user_data, int64_t result);

static void cell_go(struct cell *c, enum cell_step step)
{
    static const enum op ops[] = {OP_WRITE, OP_READ, OP_FLUSH, OP_ZEROES};

    c->step = step;
    if (step == CELL_WRITE)
        fill_gen(c->buf, c->offset, c->length, ++c->gen);
    else if (step == CELL_READ)
        memset(c->buf, 0xee, c->length);
    if (submit(c->phase->image, ops[step], c->buf, c->length, c->offset, cell_done, c) != 0) {
        failf("%s: cell at %" PRIu64 ": submit (step %d): %s", c->phase->label, c->offset,
              (int)step, gluvirt_errmsg());
        tally_done(&c->phase->tally);
    }
}

static void cell_done(void *user_data, int64_t result)
{
    struct cell *c = user_data;
    int64_t want = c->step == CELL_WRITE || c->step == CELL_READ ? (int64_t)c->length : 0;
    int64_t bad;

    atomic_fetch_add(&completes, 1);
    if (result != want) {
        failf("%s: cell at %" PRIu64 ", step %d: result %" PRId64 ", expected %" PRId64,
              c->phase->label, c->offset, (int)c->step, result, want);
        tally_done(&c->phase->tally);
        return;
    }
    switch (c->step) {
    case CELL_WRITE:
        cell_go(c, CELL_READ);
        return;
    case CELL_ZEROES:
        c->gen = 0;
        cell_go(c, CELL_READ);
        return;
    case CELL_FLUSH:
        cell_go(c, CELL_WRITE);
        return;
    case CELL_READ:
        break;
    }
    if ((bad = first_gen_mismatch(c->buf, c->offset, c->length, c->gen)) >= 0) {
        failf("%s: cell at %" PRIu64 ": byte %" PRIu64 " is 0x%02x after generation %u",
              c->phase->label, c->offset, c->offset + (uint64_t)bad, c->buf[bad], c->gen);
        tally_done(&c->phase->tally);
        return;
    }
    if (++c->steps >= CELL_STEPS)
        tally_done(&c->phase->tally);
    else
        cell_go(c, c->steps % 5 == 2 ? CELL_ZEROES : c->steps % 4 == 3 ? CELL_FLUSH : CELL_WRITE);
}

struct client {
    struct write_phase *phase;
    int index;
    pthread_t thread;
    unsigned char *model; /* what the client's synchronous range holds */
};

/* Start this client's share of the cells, then work its own range through
 * the synchronous calls while the cells run. */
static void *client_main(void *arg)
{
    struct client *cl = arg;
    struct write_phase *p = cl->phase;
    uint64_t base = SYNC_BASE + (uint64_t)cl->index * SYNC_SPAN;
    unsigned seed = 77u + (unsigned)cl->index, gen = 1000u * (unsigned)(cl->index + 1);
    unsigned char *buf = malloc(MAX_READ);

    if (!buf)
        exit(2);
    pthread_barrier_wait(&p->start);
    for (int i = cl->index; i < CELLS; i += CLIENT_THREADS)
        cell_go(&p->cells[i], CELL_WRITE);
    for (int round = 0; round < SYNC_ROUNDS; round++) {
        size_t length = 1 + rand_r(&seed) % (64u << 10);
        uint64_t at = rand_r(&seed) % (SYNC_SPAN - length);

        if (round % 5 == 4) {
            if (gluvirt_image_write_zeroes(p->image, base + at, length) != 0)
                failf("%s: write_zeroes: %s", p->label, gluvirt_errmsg());
            memset(cl->model + at, 0, length);
        } else {
            fill_gen(buf, base + at, length, ++gen);
            if (gluvirt_image_pwrite(p->image, buf, length, base + at) != (ssize_t)length)
                failf("%s: pwrite: %s", p->label, gluvirt_errmsg());
            memcpy(cl->model + at, buf, length);
        }
        if (round % 3 == 2 && gluvirt_image_flush(p->image) != 0)
            failf("%s: flush: %s", p->label, gluvirt_errmsg());
        if (gluvirt_image_in_flight(p->image) < 0)
            failf("%s: gluvirt_image_in_flight: %s", p->label, gluvirt_errmsg());
        memset(buf, 0xee, length);
        if (gluvirt_image_pread(p->image, buf, length, base + at) != (ssize_t)length)
            failf("%s: pread: %s", p->label, gluvirt_errmsg());
        else if (memcmp(buf, cl->model + at, length) != 0)
            failf("%s: synchronous read at %" PRIu64 " does not give back what was written",
                  p->label, base + at);
    }
    free(buf);
    return NULL;
}

/* Through a fresh handle: every cell and every client range as the model
 * says. */
static void verify_written(const struct target *t, struct write_phase *p,
                           struct client *clients)
{
    gluvirt_image *image =
        open_image(t, t->rw, GLUVIRT_FORMAT_RAW, 0, GLUVIRT_COMPLETION_THREAD, 1);
    unsigned char *all = malloc(RW_SIZE);

    if (!all)
        exit(2);
    if (gluvirt_image_pread(image, all, RW_SIZE, 0) != (ssize_t)RW_SIZE) {
        failf("%s: read back: %s", p->label, gluvirt_errmsg());
    } else {
        for (int i = 0; i < CELLS; i++) {
            struct cell *c = &p->cells[i];

            if (first_gen_mismatch(all + c->offset, c->offset, c->length, c->gen) >= 0)
                failf("%s: cell at %" PRIu64 " reads back wrong through a new handle",
                      p->label, c->offset);
        }
        for (int i = 0; i < CLIENT_THREADS; i++)
            if (memcmp(all + SYNC_BASE + (uint64_t)i * SYNC_SPAN, clients[i].model,
                       SYNC_SPAN) != 0)
                failf("%s: client %d's range reads back wrong through a new handle", p->label,
                      i);
    }
    free(all);
    close_image(image, p->label);
}

static void phase_writes(const struct target *t, gluvirt_completion_mode mode)
{
    struct write_phase *p = calloc(1, sizeof *p);
    struct client clients[CLIENT_THREADS];
    struct loop loop;
    char label[64];
    double start = now_seconds();
    gluvirt_image *reader;

    if (!p)
        exit(2);
    snprintf(label, sizeof label, "%s writes (%s)", t->label, mode_name(mode));
    p->label = label;
    /* One slot more than the chains keep: a callback submits while its own
     * request still holds one. */
    p->image = open_image(t, t->rw, GLUVIRT_FORMAT_RAW, 1, mode, CELLS + 1);
    tally_init(&p->tally, CELLS);
    pthread_barrier_init(&p->start, NULL, CLIENT_THREADS);
    for (int i = 0; i < CELLS; i++) {
        p->cells[i].phase = p;
        p->cells[i].offset = (uint64_t)i * CELL_SPAN;
        p->cells[i].length = cell_lengths[i % (sizeof cell_lengths / sizeof *cell_lengths)];
        if (!(p->cells[i].buf = malloc(p->cells[i].length)))
            exit(2);
    }
    reader = open_image(t, t->rw, GLUVIRT_FORMAT_RAW, 0, GLUVIRT_COMPLETION_THREAD, 1);
    for (int i = 0; i < CLIENT_THREADS; i++) {
        clients[i].phase = p;
        clients[i].index = i;
        if (!(clients[i].model = malloc(SYNC_SPAN)) ||
            gluvirt_image_pread(reader, clients[i].model, SYNC_SPAN,
                                SYNC_BASE + (uint64_t)i * SYNC_SPAN) != (ssize_t)SYNC_SPAN) {
            fprintf(stderr, "aio_stress: %s: initial read: %s\n", label, gluvirt_errmsg());
            exit(2);
        }
    }
    close_image(reader, label);
    loop_start(&loop, p->image, mode);
    for (int i = 0; i < CLIENT_THREADS; i++)
        if (pthread_create(&clients[i].thread, NULL, client_main, &clients[i]) != 0)
            exit(2);
    for (int i = 0; i < CLIENT_THREADS; i++)
        pthread_join(clients[i].thread, NULL);
    tally_wait(&p->tally, label);
    loop_stop(&loop);
    close_image(p->image, label);
    verify_written(t, p, clients);
    check_accounting(label);
    printf("%s: %d cells x %d rounds of callback write/read/flush/zeroes, %d threads x %d "
           "synchronous rounds: %.2f s\n", label, CELLS, CELL_STEPS, CLIENT_THREADS,
           SYNC_ROUNDS, now_seconds() - start);
    for (int i = 0; i < CELLS; i++)
        free(p->cells[i].buf);
    for (int i = 0; i < CLIENT_THREADS; i++)
        free(clients[i].model);
    pthread_barrier_destroy(&p->start);
    free(p);
}

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

static void reader_done(void *user_data, int64_t result);

/* Claim link's next read under the lock; 0 when the chain has no more. */
static int reader_claim(struct reader *r, struct link *l)
{
    if (r->submitted == r->total || r->failed)
        return 0;
    if (r->cursor >= r->end)
        r->cursor = r->start;
    l->offset = r->cursor;
    l->count = r->sizes[r->size_index++ / r->size_repeat % r->size_count];
    r->cursor += l->count;
    r->submitted++;
    return 1;
}

/* Send the claimed read; when the submit fails, the chain stops. */
static void reader_send(struct reader *r, struct link *l)
{
    int finished;

    memset(l->buf, 0xee, l->count);
    if (submit(r->image, OP_READ, l->buf, l->count, l->offset, reader_done, l) == 0)
        return;
    failf("%s: submit of %zu at %" PRIu64 ": %s", r->label, l->count, l->offset,
          gluvirt_errmsg());
    pthread_mutex_lock(&r->lock);
    r->submitted--;
    r->failed = 1;
    finished = r->completed == r->submitted;
    pthread_mutex_unlock(&r->lock);
    if (finished)
        tally_done(r->tally);
}

static void reader_check(struct reader *r, struct link *l, int64_t result)
{
    uint64_t inside = l->offset < RO_SIZE ? RO_SIZE - l->offset : 0;
    int64_t want = (int64_t)(l->count < inside ? l->count : inside), bad;

    if (result != want) {
        failf("%s: read of %zu at %" PRIu64 ": result %" PRId64 ", expected %" PRId64,
              r->label, l->count, l->offset, result, want);
        r->failed = 1;
    } else if ((bad = first_ro_mismatch(l->buf, l->offset, (size_t)result)) >= 0) {
        failf("%s: read of %zu at %" PRIu64 ": byte %" PRIu64 " is 0x%02x, expected 0x%02x",
              r->label, l->count, l->offset, l->offset + (uint64_t)bad, l->buf[bad],
              ro_byte(l->offset + (uint64_t)bad));
        r->failed = 1;
    } else {
        r->bytes += (uint64_t)result;
    }
}

static void reader_done(void *user_data, int64_t result)
{
    struct link *l = user_data;
    struct reader *r = l->reader;
    int more, finished;

    atomic_fetch_add(&completes, 1);
    pthread_mutex_lock(&r->lock);
    reader_check(r, l, result);
    r->completed++;
    more = reader_claim(r, l);
    finished = !more && r->completed == r->submitted;
    pthread_mutex_unlock(&r->lock);
    if (more)
        reader_send(r, l);
    else if (finished)
        tally_done(r->tally);
}

static struct reader *reader_new(const char *label, gluvirt_image *image, const size_t *sizes,
                                 int size_count, int size_repeat, uint64_t start, int depth,
                                 int total, struct tally *tally)
{
    struct reader *r = calloc(1, sizeof *r);

    if (!r || !(r->links = calloc((size_t)depth, sizeof *r->links)))
        exit(2);
    r->label = label;
    r->image = image;
    r->sizes = sizes;
    r->size_count = size_count;
    r->size_repeat = size_repeat;
    r->start = r->cursor = start;
    r->end = RO_SIZE;
    r->depth = depth;
    r->total = total;
    r->tally = tally;
    pthread_mutex_init(&r->lock, NULL);
    for (int i = 0; i < depth; i++) {
        r->links[i].reader = r;
        if (!(r->links[i].buf = malloc(MAX_READ)))
            exit(2);
    }
    return r;
}

/* Send the first depth reads from this thread; the callbacks send the rest. */
static void reader_start(struct reader *r)
{
    for (int i = 0; i < r->depth; i++) {
        int more;

        pthread_mutex_lock(&r->lock);
        more = reader_claim(r, &r->links[i]);
        pthread_mutex_unlock(&r->lock);
        if (more)
            reader_send(r, &r->links[i]);
    }
}

/* After the image closed: every read done, none failed. */
static void reader_free(struct reader *r)
{
    if (r->completed != r->total && !r->failed)
        failf("%s: %d of %d reads completed", r->label, r->completed, r->total);
    for (int i = 0; i < r->depth; i++)
        free(r->links[i].buf);
    pthread_mutex_destroy(&r->lock);
    free(r->links);
    free(r);
}

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

static void disturber_done(void *user_data, int64_t result)
{
    struct disturber *d = user_data;

    atomic_fetch_add(&completes, 1);
    pthread_mutex_lock(&d->lock);
    d->result = result;
    d->done = 1;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

static void *disturber_main(void *arg)
{
    struct disturber *d = arg;
    unsigned char *buf = malloc(MAX_READ);

    if (!buf)
        exit(2);
    for (int i = 0; i < d->reads; i++) {
        size_t count = 1 + rand_r(&d->seed) % (128u << 10);
        uint64_t offset = rand_r(&d->seed) % (RO_SIZE + 8192u);
        uint64_t inside = offset < RO_SIZE ? RO_SIZE - offset : 0;
        int64_t want = (int64_t)(count < inside ? count : inside), result, bad;

        memset(buf, 0xee, count);
        if (i % 2 == 0) {
            result = gluvirt_image_pread(d->image, buf, count, offset);
        } else {
            d->done = 0;
            if (submit(d->image, OP_READ, buf, count, offset, disturber_done, d) != 0) {
                failf("%s: disturbing read: %s", d->label, gluvirt_errmsg());
                break;
            }
            pthread_mutex_lock(&d->lock);
            while (!d->done)
                pthread_cond_wait(&d->cond, &d->lock);
            result = d->result;
            pthread_mutex_unlock(&d->lock);
        }
        if (result != want)
            failf("%s: disturbing read of %zu at %" PRIu64 ": %" PRId64 ", expected %" PRId64,
                  d->label, count, offset, result, want);
        else if ((bad = first_ro_mismatch(buf, offset, (size_t)result)) >= 0)
            failf("%s: disturbing read of %zu at %" PRIu64 ": byte %" PRIu64 " wrong", d->label,
                  count, offset, offset + (uint64_t)bad);
        if (d->pause_us)
            sleep_us(rand_r(&d->seed) % d->pause_us);
    }
    free(buf);
    return NULL;
}

static void disturber_start(struct disturber *d, const char *label, gluvirt_image *image,
                            unsigned seed, int reads, unsigned pause_us)
{
    d->label = label;
    d->image = image;
    d->seed = seed;
    d->reads = reads;
    d->pause_us = pause_us;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->cond, NULL);
    if (pthread_create(&d->thread, NULL, disturber_main, d) != 0)
        exit(2);
}

static void disturber_join(struct disturber *d)
{
    pthread_join(d->thread, NULL);
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->cond);
}

static const char *ro_name(const struct target *t, gluvirt_format format)
{
    return format == GLUVIRT_FORMAT_QCOW2 ? t->ro_qcow2 : t->ro_raw;
}

static const char *format_name(gluvirt_format format)
{
    return format == GLUVIRT_FORMAT_QCOW2 ? "qcow2" : "raw";
}

#ifdef HAVE_GLV_STATS
static uint64_t stat_now(enum glv_stat stat)
{
    return glv_stat_get(stat);
}
#endif

/* ------------------------------------------------------------ merge */

static const size_t merge_sizes[] = {4096, 4096, 4096, 512, 3000, 65536, 4096, 1000, 131072};

static void phase_merge(const struct target *t, gluvirt_format format,
                        gluvirt_completion_mode mode)
{
    char label[64];
    struct tally tally;
    struct loop loop;
    struct disturber disturbers[DISTURBERS];
    struct reader *r;
    gluvirt_image *image;
    double start = now_seconds();
#ifdef HAVE_GLV_STATS
    uint64_t merged = stat_now(GLV_STAT_MERGED_READS);
#endif

    snprintf(label, sizeof label, "%s merge %s (%s)", t->label, format_name(format),
             mode_name(mode));
    image = open_image(t, ro_name(t, format), format, 0, mode, MERGE_DEPTH + 1 + DISTURBERS);
    tally_init(&tally, 1);
    r = reader_new(label, image, merge_sizes, sizeof merge_sizes / sizeof *merge_sizes, 1, 0,
                   MERGE_DEPTH, MERGE_READS, &tally);
    loop_start(&loop, image, mode);
    reader_start(r);
    for (int i = 0; i < DISTURBERS; i++)
        disturber_start(&disturbers[i], label, image, 500u + (unsigned)i, DISTURB_READS, 0);
    for (int i = 0; i < DISTURBERS; i++)
        disturber_join(&disturbers[i]);
    tally_wait(&tally, label);
    loop_stop(&loop);
    close_image(image, label);
    printf("%s: %d chained reads at depth %d, %" PRIu64 " bytes checked, %d threads x %d "
           "random reads",
           label, r->completed, MERGE_DEPTH, r->bytes, DISTURBERS, DISTURB_READS);
#ifdef HAVE_GLV_STATS
    merged = stat_now(GLV_STAT_MERGED_READS) - merged;
    printf(", %" PRIu64 " merged storage reads", merged);
#endif
    printf(": %.2f s\n", now_seconds() - start);
#ifdef HAVE_GLV_STATS
    /* Only gluster has the async reads that merging needs. */
    if (t->pool && merged == 0)
        failf("%s: no reads were merged: the phase did not exercise merging", label);
#endif
    reader_free(r);
    check_accounting(label);
}

/* ------------------------------------------------------------ read-ahead */

static const size_t ahead_64k[] = {65536};
static const size_t ahead_4k[] = {4096};
static const size_t ahead_mixed[] = {262144, 131072, 65536, 512};

static void phase_ahead(const struct target *t, gluvirt_format format)
{
    static const gluvirt_completion_mode modes[3] = {
        GLUVIRT_COMPLETION_THREAD, GLUVIRT_COMPLETION_POLL, GLUVIRT_COMPLETION_THREAD};
    char label[64];
    struct tally tally;
    struct loop loops[3];
    struct disturber disturbers[2];
    struct reader *readers[3];
    gluvirt_image *images[3];
    double start = now_seconds();
#ifdef HAVE_GLV_STATS
    uint64_t hits = stat_now(GLV_STAT_READAHEAD_HITS);
#endif

    snprintf(label, sizeof label, "%s read-ahead %s", t->label, format_name(format));
    tally_init(&tally, 3);
    for (int i = 0; i < 3; i++) {
        /* A depth of 2: the chain's read and the next, submitted from its
         * callback; a third for the disturbing reads. */
        images[i] = open_image(t, ro_name(t, format), format, 0, modes[i], 3);
        loop_start(&loops[i], images[i], modes[i]);
    }
    readers[0] = reader_new(label, images[0], ahead_64k, 1, 1, 0, 1, AHEAD_READS, &tally);
    readers[1] = reader_new(label, images[1], ahead_4k, 1, 1, RO_SIZE - (1u << 20), 1,
                            AHEAD_READS, &tally);
    readers[2] = reader_new(label, images[2], ahead_mixed, 4, 5, 4096, 1, AHEAD_READS, &tally);
    for (int i = 0; i < 3; i++)
        reader_start(readers[i]);
    disturber_start(&disturbers[0], label, images[0], 600u, DISTURB_READS / 2, 3000);
    disturber_start(&disturbers[1], label, images[2], 601u, DISTURB_READS / 2, 3000);
    disturber_join(&disturbers[0]);
    disturber_join(&disturbers[1]);
    tally_wait(&tally, label);
    for (int i = 0; i < 3; i++) {
        loop_stop(&loops[i]);
        close_image(images[i], label);
    }
    printf("%s: 3 handles x %d reads at depth 1 (thread, poll, thread), 2 threads x %d "
           "random reads",
           label, AHEAD_READS, DISTURB_READS / 2);
#ifdef HAVE_GLV_STATS
    hits = stat_now(GLV_STAT_READAHEAD_HITS) - hits;
    printf(", %" PRIu64 " read-ahead hits", hits);
#endif
    printf(": %.2f s\n", now_seconds() - start);
#ifdef HAVE_GLV_STATS
    /* Only gluster has the async reads that prefetches need. */
    if (t->pool && hits == 0)
        failf("%s: no read was served by the read-ahead: the phase did not exercise it", label);
#endif
    for (int i = 0; i < 3; i++)
        reader_free(readers[i]);
    check_accounting(label);
}

/* ------------------------------------------------------------ churn */

struct churner {
    const struct target *target;
    int index;
    pthread_t thread;
    char label[64];
    unsigned gen; /* what the churner's range of the writable image holds */
};

struct write_wait {
    int64_t expected;
    const char *label;
};

static void churn_write_done(void *user_data, int64_t result)
{
    struct write_wait *w = user_data;

    atomic_fetch_add(&completes, 1);
    if (result != w->expected)
        failf("%s: write or flush closed in flight: %" PRId64 ", expected %" PRId64, w->label,
              result, w->expected);
}

/* Check what the last round wrote, write the next generation (two halves)
 * and a flush, close at once. */
static void churn_write(struct churner *ch, gluvirt_completion_mode mode)
{
    const struct target *t = ch->target;
    uint64_t base = CHURN_BASE + (uint64_t)ch->index * CHURN_SPAN;
    gluvirt_image *image = open_image(t, t->rw, GLUVIRT_FORMAT_RAW, 1, mode, 4);
    unsigned char *buf = malloc(CHURN_SPAN);
    size_t half = CHURN_SPAN / 2;
    struct write_wait halves = {(int64_t)half, ch->label}, flush = {0, ch->label};

    if (!buf)
        exit(2);
    if (gluvirt_image_pread(image, buf, CHURN_SPAN, base) != (ssize_t)CHURN_SPAN)
        failf("%s: pread: %s", ch->label, gluvirt_errmsg());
    else if (first_gen_mismatch(buf, base, CHURN_SPAN, ch->gen) >= 0)
        failf("%s: generation %u did not survive close and reopen", ch->label, ch->gen);
    fill_gen(buf, base, CHURN_SPAN, ++ch->gen);
    if (submit(image, OP_WRITE, buf, half, base, churn_write_done, &halves) != 0 ||
        submit(image, OP_WRITE, buf + half, half, base + half, churn_write_done, &halves) != 0 ||
        submit(image, OP_FLUSH, NULL, 0, 0, churn_write_done, &flush) != 0)
        failf("%s: submit: %s", ch->label, gluvirt_errmsg());
    close_image(image, ch->label);
    free(buf);
}

static const size_t churn_sizes[] = {65536, 4096, 131072, 512};

/* A chain at depth 1 that keeps going from its callbacks, 8 reads sent at
 * once beside it, and close straight away: close runs every callback. */
static void churn_read(struct churner *ch, gluvirt_format format,
                       gluvirt_completion_mode mode, unsigned *seed)
{
    const struct target *t = ch->target;
    struct tally tally;
    gluvirt_image *image = open_image(t, ro_name(t, format), format, 0, mode, 16);
    struct reader *chain, *burst;

    tally_init(&tally, 2);
    chain = reader_new(ch->label, image, churn_sizes, 4, 3, rand_r(seed) % RO_SIZE, 1, 8,
                       &tally);
    burst = reader_new(ch->label, image, churn_sizes, 4, 1, rand_r(seed) % RO_SIZE, 8, 8,
                       &tally);
    reader_start(chain);
    reader_start(burst);
    close_image(image, ch->label);
    /* Every callback has run: the chains are over. */
    tally_wait(&tally, ch->label);
    reader_free(chain);
    reader_free(burst);
}

static void *churner_main(void *arg)
{
    struct churner *ch = arg;
    unsigned seed = 900u + (unsigned)ch->index;

    for (int round = 0; round < CHURN_ROUNDS; round++) {
        gluvirt_completion_mode mode =
            round % 2 ? GLUVIRT_COMPLETION_POLL : GLUVIRT_COMPLETION_THREAD;

        switch ((round + ch->index) % 3) {
        case 0:
            churn_write(ch, mode);
            break;
        case 1:
            churn_read(ch, GLUVIRT_FORMAT_RAW, mode, &seed);
            break;
        default:
            churn_read(ch, GLUVIRT_FORMAT_QCOW2, mode, &seed);
        }
    }
    return NULL;
}

static void phase_churn(const struct target *t)
{
    struct churner churners[CHURN_THREADS];
    gluvirt_image *image = open_image(t, t->rw, GLUVIRT_FORMAT_RAW, 1,
                                      GLUVIRT_COMPLETION_THREAD, 1);
    double start = now_seconds();
    char label[64];

    snprintf(label, sizeof label, "%s churn", t->label);
    /* Zeros in the churners' ranges: generation 0. */
    if (gluvirt_image_write_zeroes(image, CHURN_BASE, CHURN_THREADS * CHURN_SPAN) != 0)
        failf("%s: write_zeroes: %s", label, gluvirt_errmsg());
    close_image(image, label);
    for (int i = 0; i < CHURN_THREADS; i++) {
        churners[i].target = t;
        churners[i].index = i;
        churners[i].gen = 0;
        snprintf(churners[i].label, sizeof churners[i].label, "%s churn thread %d", t->label,
                 i);
        if (pthread_create(&churners[i].thread, NULL, churner_main, &churners[i]) != 0)
            exit(2);
    }
    for (int i = 0; i < CHURN_THREADS; i++)
        pthread_join(churners[i].thread, NULL);
    check_accounting(label);
    printf("%s: %d threads x %d rounds of open, submit, close in flight: %.2f s\n", label,
           CHURN_THREADS, CHURN_ROUNDS, now_seconds() - start);
}

/* ------------------------------------------------------------ main */

static void run_phases(const struct target *t)
{
    static const gluvirt_format formats[2] = {GLUVIRT_FORMAT_RAW, GLUVIRT_FORMAT_QCOW2};
    static const gluvirt_completion_mode modes[2] = {GLUVIRT_COMPLETION_THREAD,
                                                     GLUVIRT_COMPLETION_POLL};

    for (int m = 0; m < 2; m++)
        phase_writes(t, modes[m]);
    for (int f = 0; f < 2; f++)
        for (int m = 0; m < 2; m++)
            phase_merge(t, formats[f], modes[m]);
    for (int f = 0; f < 2; f++)
        phase_ahead(t, formats[f]);
    phase_churn(t);
}

int main(int argc, char **argv)
{
    const char *host = getenv("GLUVIRT_TEST_HOST");
    struct target local, gluster;
    double start = now_seconds();

    if (argc != 2) {
        fprintf(stderr, "usage: aio_stress SCRATCH-DIRECTORY (GLUVIRT_TEST_HOST: the test "
                        "volumes' host, or unset for local files only)\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    set_up_local(&local, argv[1]);
    run_phases(&local);
    if (host && *host) {
        set_up_gluster(&gluster, host, &local);
        run_phases(&gluster);
        tear_down(&gluster);
    } else {
        printf("aio_stress: GLUVIRT_TEST_HOST is not set: local files only\n");
    }
    tear_down(&local);
    printf("aio_stress: %s after %.1f s\n",
           failure_count() == 0 ? "all checks passed" : "checks FAILED", now_seconds() - start);
    return failure_count() == 0 ? 0 : 1;
}
