/* Callback I/O on the real volume: integrity through both APIs, close with requests in flight. */
#define AIO_TEST_IMAGES                                                                   \
    {"integrity-thread.raw", (uint64_t)INTEGRITY_THREADS * INTEGRITY_REGION},              \
    {"integrity-poll.raw", (uint64_t)INTEGRITY_THREADS * INTEGRITY_REGION},                \
    {"close.raw", 1u << 20}, {"close-rounds.raw", 1u << 20},
#include "test_image_aio_support.h"

/* ------------------------------------------------------------ integrity */

/*
 * Eight threads share one image, each in its own region.  The aio threads
 * keep up to WINDOW requests in flight, never two that overlap, so the model
 * is exact: a write changes it when submitted, a read is checked against it
 * when its slot is reaped.  The sync threads go through pread/pwrite.
 */
#define INTEGRITY_OPS 500
#define INTEGRITY_MAX_IO (64u << 10)
#define WINDOW 8

struct integrity_thread;

struct slot {
    struct integrity_thread *owner;
    int busy; /* submitted, not reaped: the owner's thread only */
    int done; /* released: under owner->lock */
    enum op op;
    uint64_t offset;
    size_t count;
    int completes;
    int releases;
    int64_t result;
    unsigned char *buf;
};

struct integrity_thread {
    gluvirt_image *image;
    gluvirt_completion_mode mode;
    int use_aio;
    int index;
    uint64_t seed;
    uint64_t region_start;
    unsigned char *model;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct slot slots[WINDOW];
    int aio_ops, sync_ops;
    char failure[512];
};

/* xorshift64*, reproducible from the printed seed. */
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

static uint64_t test_seed(void)
{
    const char *text = getenv("GLUVIRT_TEST_SEED");
    uint64_t seed = text ? strtoull(text, NULL, 0) : UINT64_C(0x61696f676c757374);

    return seed ? seed : 1;
}

static void slot_complete(void *user_data, int64_t result)
{
    struct slot *s = user_data;

    s->result = result;
    s->completes++;
}

static void slot_release(void *user_data)
{
    struct slot *s = user_data;
    struct integrity_thread *t = s->owner;

    pthread_mutex_lock(&t->lock);
    s->releases++;
    s->done = 1;
    pthread_cond_broadcast(&t->changed);
    pthread_mutex_unlock(&t->lock);
}

static int fail(struct integrity_thread *t, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(struct integrity_thread *t, const char *format, ...)
{
    va_list args;
    int used;

    if (t->failure[0])
        return -1; /* the first failure tells the story */
    used = snprintf(t->failure, sizeof t->failure, "thread %d (%s, seed %" PRIu64 "): ",
                    t->index, t->use_aio ? "aio" : "sync", t->seed);
    va_start(args, format);
    vsnprintf(t->failure + used, sizeof t->failure - (size_t)used, format, args);
    va_end(args);
    return -1;
}

static int slot_is_done(struct integrity_thread *t, struct slot *s)
{
    int done;

    pthread_mutex_lock(&t->lock);
    done = s->done;
    pthread_mutex_unlock(&t->lock);
    return done;
}

static int reap(struct integrity_thread *t, struct slot *s)
{
    int64_t deadline = now_ms() + WAIT_MS;
    int64_t expected;

    if (!s->busy)
        return 0;
    while (!slot_is_done(t, s)) {
        if (now_ms() > deadline)
            return fail(t, "%s of %zu at %" PRIu64 " never completed", op_names[s->op],
                        s->count, s->offset);
        if (t->mode == THREAD) {
            struct timespec until;

            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 10 * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_mutex_lock(&t->lock);
            if (!s->done)
                pthread_cond_timedwait(&t->changed, &t->lock, &until);
            pthread_mutex_unlock(&t->lock);
        } else {
            /* Any thread's dispatch may run this slot's callbacks, and may
             * drain the eventfd first: poll briefly, never for long. */
            struct pollfd p = {gluvirt_image_completion_fd(t->image), POLLIN, 0};

            poll(&p, 1, 5);
            if (gluvirt_image_dispatch(t->image) < 0)
                return fail(t, "dispatch: %s", gluvirt_errmsg());
        }
    }
    s->busy = 0;
    if (s->completes != 1 || s->releases != 1)
        return fail(t, "%s at %" PRIu64 ": complete ran %d times, release %d times",
                    op_names[s->op], s->offset, s->completes, s->releases);
    expected = s->op == OP_READ || s->op == OP_WRITE ? (int64_t)s->count : 0;
    if (s->result != expected)
        return fail(t, "%s of %zu at %" PRIu64 ": result %" PRId64 ", expected %" PRId64,
                    op_names[s->op], s->count, s->offset, s->result, expected);
    if (s->op == OP_READ && memcmp(s->buf, t->model + s->offset, s->count) != 0)
        return fail(t, "aio read of %zu at %" PRIu64 " differs from the model", s->count,
                    s->offset);
    return 0;
}

static int overlaps(const struct slot *s, uint64_t offset, size_t count)
{
    if (!s->busy || s->op == OP_FLUSH)
        return 0;
    return s->offset < offset + count && offset < s->offset + s->count;
}

static int run_sync_op(struct integrity_thread *t, enum op op, unsigned char *buf,
                       size_t count, uint64_t offset)
{
    ssize_t got;

    t->sync_ops++;
    switch (op) {
    case OP_WRITE:
        memcpy(t->model + offset, buf, count);
        if ((got = gluvirt_image_pwrite(t->image, buf, count, offset)) != (ssize_t)count)
            return fail(t, "pwrite of %zu at %" PRIu64 ": %zd (%s)", count, offset, got,
                        gluvirt_errmsg());
        return 0;
    case OP_READ:
        if ((got = gluvirt_image_pread(t->image, buf, count, offset)) != (ssize_t)count)
            return fail(t, "pread of %zu at %" PRIu64 ": %zd (%s)", count, offset, got,
                        gluvirt_errmsg());
        if (memcmp(buf, t->model + offset, count) != 0)
            return fail(t, "pread of %zu at %" PRIu64 " differs from the model", count, offset);
        return 0;
    case OP_ZEROES:
        memset(t->model + offset, 0, count);
        if (gluvirt_image_write_zeroes(t->image, offset, count) < 0)
            return fail(t, "write_zeroes of %zu at %" PRIu64 ": %s", count, offset,
                        gluvirt_errmsg());
        return 0;
    default:
        if (gluvirt_image_flush(t->image) < 0)
            return fail(t, "flush: %s", gluvirt_errmsg());
        return 0;
    }
}

static void *integrity_main(void *arg)
{
    struct integrity_thread *t = arg;
    uint64_t state = t->seed;
    unsigned char *sync_buf = malloc(INTEGRITY_MAX_IO);

    if (!sync_buf) {
        fail(t, "out of memory");
        return NULL;
    }
    for (int i = 0; i < WINDOW; i++)
        t->slots[i].owner = t;
    for (int n = 0; n < INTEGRITY_OPS; n++) {
        uint64_t pick = random_below(&state, 100);
        enum op op = pick < 45 ? OP_WRITE : pick < 87 ? OP_READ : pick < 97 ? OP_ZEROES
                                                                             : OP_FLUSH;
        size_t count = 1 + (size_t)random_below(&state, INTEGRITY_MAX_IO);
        uint64_t offset = t->region_start + random_below(&state, INTEGRITY_REGION - count + 1);
        struct slot *s = &t->slots[n % WINDOW];
        int rc;

        if (op == OP_WRITE)
            for (size_t i = 0; i < count; i++)
                sync_buf[i] = (unsigned char)next_random(&state);
        if (!t->use_aio) {
            if (run_sync_op(t, op, sync_buf, count, offset) < 0)
                break;
            continue;
        }
        if (reap(t, s) < 0)
            break;
        for (int i = 0; i < WINDOW; i++)
            if (overlaps(&t->slots[i], offset, count) && reap(t, &t->slots[i]) < 0)
                goto out;
        s->op = op;
        s->offset = offset;
        s->count = op == OP_FLUSH ? 0 : count;
        s->completes = s->releases = 0;
        s->result = INT64_MIN;
        s->done = 0;
        s->busy = 1;
        t->aio_ops++;
        switch (op) {
        case OP_WRITE:
            memcpy(s->buf, sync_buf, count);
            memcpy(t->model + offset, sync_buf, count);
            rc = gluvirt_image_aio_write(t->image, s->buf, count, offset, slot_complete, s,
                                         slot_release);
            break;
        case OP_READ:
            memset(s->buf, 0xee, count);
            rc = gluvirt_image_aio_read(t->image, s->buf, count, offset, slot_complete, s,
                                        slot_release);
            break;
        case OP_ZEROES:
            memset(t->model + offset, 0, count);
            rc = gluvirt_image_aio_write_zeroes(t->image, offset, count, slot_complete, s,
                                                slot_release);
            break;
        default:
            rc = gluvirt_image_aio_flush(t->image, slot_complete, s, slot_release);
        }
        if (rc < 0) {
            s->busy = 0;
            fail(t, "submit %s of %zu at %" PRIu64 ": %s", op_names[op], count, offset,
                 gluvirt_errmsg());
            break;
        }
    }
out:
    /* Reap everything, also after a failure: no callback may outlive the slot. */
    for (int i = 0; i < WINDOW; i++)
        reap(t, &t->slots[i]);
    free(sync_buf);
    return NULL;
}

/* Threads 0, 2, 4, 6 through callbacks, 1, 3, 5, 7 through pread/pwrite. */
static void integrity_both_apis(const char *name, gluvirt_completion_mode mode)
{
    const char *host = require_gluster();
    char *uri = image_uri(host, name);
    const uint64_t size = (uint64_t)INTEGRITY_THREADS * INTEGRITY_REGION;
    uint64_t seed = test_seed();
    gluvirt_pool *pool = make_pool(), *second_pool;
    gluvirt_image *image = open_image(pool, uri, 1, mode, 0);
    static struct integrity_thread threads[INTEGRITY_THREADS];
    pthread_t ids[INTEGRITY_THREADS];
    unsigned char *model = calloc(1, size), *disk = malloc(size);
    int64_t started = now_ms();
    int aio_ops = 0, sync_ops = 0;

    cr_assert(model && disk);
    cr_assert_eq(gluvirt_image_size(image), (int64_t)size);
    for (int i = 0; i < INTEGRITY_THREADS; i++) {
        struct integrity_thread *t = &threads[i];

        t->image = image;
        t->mode = mode;
        t->use_aio = i % 2 == 0;
        t->index = i;
        t->seed = seed * 1000003u + (uint64_t)i + 1;
        t->region_start = (uint64_t)i * INTEGRITY_REGION;
        t->model = model;
        pthread_mutex_init(&t->lock, NULL);
        pthread_cond_init(&t->changed, NULL);
        for (int j = 0; j < WINDOW; j++) {
            t->slots[j].buf = malloc(INTEGRITY_MAX_IO);
            cr_assert_not_null(t->slots[j].buf);
        }
        cr_assert_eq(pthread_create(&ids[i], NULL, integrity_main, t), 0);
    }
    for (int i = 0; i < INTEGRITY_THREADS; i++)
        pthread_join(ids[i], NULL);
    for (int i = 0; i < INTEGRITY_THREADS; i++) {
        cr_assert_eq(threads[i].failure[0], '\0', "%s", threads[i].failure);
        aio_ops += threads[i].aio_ops;
        sync_ops += threads[i].sync_ops;
    }
    cr_log_info("%s: %d aio and %d sync requests in %" PRId64 " ms (seed %" PRIu64 ")", name,
                aio_ops, sync_ops, now_ms() - started, seed);
    cr_assert_eq(gluvirt_image_in_flight(image), 0);
    cr_assert_eq(close_image(image), 0, "close (flush): %s", gluvirt_errmsg());

    /* A second client (another pool, another gfapi connection) reads what
     * reached the volume, not what the first one cached. */
    second_pool = make_pool();
    image = open_image(second_pool, uri, 0, THREAD, 0);
    cr_assert_eq(gluvirt_image_pread(image, disk, size, 0), (ssize_t)size, "%s",
                 gluvirt_errmsg());
    if (memcmp(disk, model, size) != 0) {
        uint64_t b = 0;

        while (disk[b] == model[b])
            b++;
        cr_assert_fail("seed %" PRIu64 ": byte %" PRIu64 " (region of %s thread %d) reads %u, "
                       "the model says %u", seed, b,
                       (b / INTEGRITY_REGION) % 2 ? "sync" : "aio",
                       (int)(b / INTEGRITY_REGION), disk[b], model[b]);
    }
    cr_assert_eq(close_image(image), 0);
    gluvirt_pool_free(second_pool);
    gluvirt_pool_free(pool);
    for (int i = 0; i < INTEGRITY_THREADS; i++)
        for (int j = 0; j < WINDOW; j++)
            free(threads[i].slots[j].buf);
    free(model);
    free(disk);
    free(uri);
}

Test(aio_gluster, integrity_both_apis_thread_mode)
{
    integrity_both_apis("integrity-thread.raw", THREAD);
}

Test(aio_gluster, integrity_both_apis_poll_mode)
{
    integrity_both_apis("integrity-poll.raw", POLL);
}

/* ------------------------------------------------------------ close */

#define CLOSE_REQUESTS 128
#define CLOSE_BLOCK 4096

/* Even requests read a block, odd ones write theirs; close at once. */
static void close_with_128_in_flight(gluvirt_pool *pool, const char *uri,
                                     gluvirt_completion_mode mode, unsigned char fill)
{
    gluvirt_image *image = open_image(pool, uri, 1, mode, 0);
    static struct record records[CLOSE_REQUESTS];
    static unsigned char buf[CLOSE_REQUESTS][CLOSE_BLOCK];
    unsigned char check[CLOSE_BLOCK];

    memset(records, 0, sizeof records);
    for (int i = 0; i < CLOSE_REQUESTS; i++) {
        enum op op = i % 2 ? OP_WRITE : OP_READ;

        memset(buf[i], i % 2 ? fill : 0xee, CLOSE_BLOCK);
        cr_assert_eq(submit(image, op, buf[i], CLOSE_BLOCK, (uint64_t)i * CLOSE_BLOCK,
                            &records[i]), 0, "request %d: %s", i, gluvirt_errmsg());
    }
    cr_assert_eq(close_image(image), 0, "%s", gluvirt_errmsg());
    /* Right after close: every callback has run, and nothing more will. */
    for (int i = 0; i < CLOSE_REQUESTS; i++) {
        assert_lifetime(&records[i], i);
        cr_assert_eq(records[i].result, CLOSE_BLOCK, "%s mode, request %d: %" PRId64,
                     mode == THREAD ? "THREAD" : "POLL", i, records[i].result);
        assert_not_on_gfapi_thread(&records[i], i);
        if (mode == POLL)
            cr_assert(pthread_equal(records[i].complete_thread, pthread_self()) &&
                          records[i].complete_context == CONTEXT_CLOSE,
                      "POLL mode: request %d completed outside close", i);
        else
            cr_assert(!pthread_equal(records[i].complete_thread, pthread_self()));
    }
    sleep_ms(100);
    for (int i = 0; i < CLOSE_REQUESTS; i++)
        assert_lifetime(&records[i], i);

    /* The writes reached the image; the reads saw the pattern. */
    image = open_image(pool, uri, 0, THREAD, 0);
    for (int i = 0; i < CLOSE_REQUESTS; i++) {
        cr_assert_eq(gluvirt_image_pread(image, check, CLOSE_BLOCK, (uint64_t)i * CLOSE_BLOCK),
                     CLOSE_BLOCK, "%s", gluvirt_errmsg());
        for (int b = 0; b < CLOSE_BLOCK; b++) {
            uint64_t at = (uint64_t)i * CLOSE_BLOCK + (uint64_t)b;

            if (i % 2) {
                cr_assert_eq(check[b], fill, "written block %d, byte %d", i, b);
            } else {
                cr_assert_eq(check[b], pattern_byte(at), "block %d, byte %d", i, b);
                cr_assert_eq(buf[i][b], pattern_byte(at), "read %d, byte %d", i, b);
            }
        }
    }
    cr_assert_eq(close_image(image), 0);
}

Test(aio_gluster, close_with_128_in_flight)
{
    const char *host = require_gluster();
    char *uri = image_uri(host, "close.raw");
    gluvirt_pool *pool = make_pool();
    gluvirt_image *image = open_image(pool, uri, 1, THREAD, 0);

    write_pattern(image, (uint64_t)CLOSE_REQUESTS * CLOSE_BLOCK);
    cr_assert_eq(close_image(image), 0);
    close_with_128_in_flight(pool, uri, THREAD, 0xa1);
    close_with_128_in_flight(pool, uri, POLL, 0xb2);
    gluvirt_pool_free(pool);
    free(uri);
}

/*
 * Completions arrive on gfapi's threads, which close does not join: after
 * close returns, nothing of the image may be touched from there.  In POLL
 * mode a late wake-up would go to the eventfd's number, which the next
 * open() in the application gets: probe files opened right after close
 * must stay empty.  (Under AddressSanitizer the same rounds in THREAD mode
 * show any read of the freed engine.)
 */
#define ROUNDS 200
#define ROUND_READS 8

static void on_round_complete(void *user_data, int64_t result)
{
    atomic_int *bad = user_data;

    if (result != 4096)
        atomic_fetch_add(bad, 1);
}

Test(aio_gluster, close_leaves_nothing_behind)
{
    const char *host = require_gluster();
    char *uri = image_uri(host, "close-rounds.raw");
    gluvirt_pool *pool = make_pool();
    static unsigned char buf[ROUND_READS][4096];
    int probes[ROUNDS], probe_count = 0, stray = 0;
    atomic_int bad = 0;

    for (int round = 0; round < ROUNDS; round++) {
        gluvirt_completion_mode mode = round % 2 ? POLL : THREAD;
        gluvirt_image *image = open_image(pool, uri, 0, mode, 0);
        int event_fd = mode == POLL ? gluvirt_image_completion_fd(image) : -1;
        char path[] = "/tmp/gluvirt-aio-probe-XXXXXX";

        for (int i = 0; i < ROUND_READS; i++)
            cr_assert_eq(gluvirt_image_aio_read(image, buf[i], 4096, (uint64_t)i * 4096,
                                                on_round_complete, &bad, NULL), 0, "%s",
                         gluvirt_errmsg());
        cr_assert_eq(close_image(image), 0, "%s", gluvirt_errmsg());
        if (mode == THREAD)
            continue;
        probes[probe_count] = mkstemp(path);
        cr_assert_geq(probes[probe_count], 0, "%s", strerror(errno));
        unlink(path);
        /* Only a probe that took the eventfd's number can catch a late write. */
        if (probes[probe_count] == event_fd)
            probe_count++;
        else
            close(probes[probe_count]);
    }
    sleep_ms(200);
    for (int i = 0; i < probe_count; i++) {
        struct stat st;

        cr_assert_eq(fstat(probes[i], &st), 0);
        if (st.st_size != 0)
            stray++;
        close(probes[i]);
    }
    cr_log_info("%d rounds; %d probes held a closed image's eventfd number", ROUNDS,
                probe_count);
    cr_assert_eq(atomic_load(&bad), 0, "%d reads failed", atomic_load(&bad));
    cr_assert_eq(stray, 0,
                 "%d of %d files opened right after gluvirt_image_close received bytes: the "
                 "library wrote to the closed image's eventfd number from a gfapi thread",
                 stray, probe_count);
    gluvirt_pool_free(pool);
    free(uri);
}
