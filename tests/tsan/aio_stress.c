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
 *
 * This file holds the phases; what they share (reporting, accounting, the
 * images of each backend, chains of reads) is declared in aio_stress.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "aio_stress.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The library's internal event counters, when this tree has them: they
 * show that merges and prefetches happened, not only that bytes were
 * right. */
#if defined(__has_include)
#if __has_include("stats.h")
#include "util/stats.h"
#define HAVE_GLV_STATS 1
#endif
#endif

/* The writable image (RW_SIZE): cells in [0, 3 MiB), the synchronous
 * threads' ranges in [4 MiB, 7 MiB), churn's in [7 MiB, 8 MiB). */
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

    count_complete();
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

    count_complete();
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
