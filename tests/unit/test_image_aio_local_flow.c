/* Callback I/O on local files: queue depth, close with requests in flight, chains, integrity. */
#include "test_image_aio_local_support.h"

/* ------------------------------------------------------------ queue depth */

Test(aio_local, poll_depth_4_refuses_the_fifth_until_dispatch)
{
    const char *path = make_image(65536);
    gluvirt_image *image = open_image(path, 0, POLL, 4);
    struct record records[5] = {0}, refused = {0};
    static unsigned char buf[5][512];
    struct pollfd p = {gluvirt_image_completion_fd(image), POLLIN, 0};
    int ran = 0;

    for (int i = 0; i < 4; i++)
        cr_assert_eq(submit(image, OP_READ, buf[i], 512, (uint64_t)i * 512, &records[i]), 0,
                     "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_in_flight(image), 4);
    cr_assert_eq(submit(image, OP_READ, buf[4], 512, 4 * 512, &refused), -1,
                 "a fifth request fit in a queue of 4");
    assert_error(EAGAIN, "gluvirt_image_dispatch");
    assert_refused(&refused, "the fifth read");

    /* Done is not enough: the slot frees when the callback has run. */
    cr_assert_eq(poll(&p, 1, WAIT_MS), 1, "no completion arrived");
    sleep_ms(50);
    cr_assert_eq(submit(image, OP_READ, buf[4], 512, 4 * 512, &refused), -1);
    assert_error(EAGAIN, NULL);
    cr_assert_eq(atomic_load(&refused.releases), 2);
    cr_assert_eq(atomic_load(&refused.completes), 0);

    while (ran == 0) {
        cr_assert_geq(poll(&p, 1, WAIT_MS), 1);
        cr_assert_geq(ran = dispatch(image), 0, "%s", gluvirt_errmsg());
    }
    cr_assert_eq(submit(image, OP_READ, buf[4], 512, 4 * 512, &records[4]), 0,
                 "after a dispatch: %s", gluvirt_errmsg());
    wait_released(image, POLL, records, 5);
    for (int i = 0; i < 5; i++) {
        assert_lifetime(&records[i], i);
        cr_assert_eq(records[i].result, 512);
    }
    cr_assert_eq(close_image(image), 0);
}

/* Samples of in_flight taken in callbacks: never above the depth. */
static atomic_int in_flight_peak;
static gluvirt_image *sampled_image;

static void sampling_complete(void *user_data, int64_t result)
{
    int now = gluvirt_image_in_flight(sampled_image);
    int peak = atomic_load(&in_flight_peak);

    while (now > peak && !atomic_compare_exchange_weak(&in_flight_peak, &peak, now))
        ;
    record_complete(user_data, result);
}

Test(aio_local, thread_depth_2_completes_100_submits)
{
    const char *path = make_image(1u << 20);
    gluvirt_image *image = open_image(path, 0, THREAD, 2);
    static struct record records[100];
    static unsigned char buf[100][1024];

    sampled_image = image;
    for (int i = 0; i < 100; i++) {
        int now;

        cr_assert_eq(gluvirt_image_aio_read(image, buf[i], 1024, (uint64_t)i * 1024,
                                            sampling_complete, &records[i], record_release),
                     0, "submit %d: %s", i, gluvirt_errmsg());
        now = gluvirt_image_in_flight(image);
        cr_assert(now >= 0 && now <= 2, "%d requests in flight at depth 2", now);
    }
    wait_released(image, THREAD, records, 100);
    for (int i = 0; i < 100; i++) {
        assert_lifetime(&records[i], i);
        cr_assert_eq(records[i].result, 1024);
        for (int b = 0; b < 1024; b += 97)
            cr_assert_eq(buf[i][b], image_byte((uint64_t)i * 1024 + (uint64_t)b));
    }
    cr_assert_leq(atomic_load(&in_flight_peak), 2, "in_flight reached %d",
                  atomic_load(&in_flight_peak));
    cr_assert_eq(close_image(image), 0);
}

/* From a callback, a full queue is EAGAIN in both modes: waiting there would
 * wait for the callback itself. */
struct resubmit {
    gluvirt_image *image;
    int rc;
    int err;
    struct record inner;
    unsigned char buf[512];
};

static void resubmit_complete(void *user_data, int64_t result)
{
    struct resubmit *s = user_data;

    s->rc = gluvirt_image_aio_read(s->image, s->buf, sizeof s->buf, 0, record_complete,
                                   &s->inner, record_release);
    s->err = s->rc < 0 ? gluvirt_errno() : 0;
}

static atomic_int resubmit_releases;

static void resubmit_release(void *user_data)
{
    (void)user_data;
    atomic_fetch_add(&resubmit_releases, 1);
}

static void callback_submit_into_full_queue(gluvirt_completion_mode mode)
{
    const char *path = make_image(65536);
    gluvirt_image *image = open_image(path, 0, mode, 1);
    static struct resubmit s;
    static unsigned char buf[512];
    int64_t deadline = now_ms() + WAIT_MS;

    s.image = image;
    cr_assert_eq(gluvirt_image_aio_read(image, buf, sizeof buf, 0, resubmit_complete, &s,
                                        resubmit_release), 0, "%s", gluvirt_errmsg());
    while (atomic_load(&resubmit_releases) == 0) {
        cr_assert_lt(now_ms(), deadline, "the first callback never ran");
        if (mode == POLL) {
            struct pollfd p = {gluvirt_image_completion_fd(image), POLLIN, 0};

            poll(&p, 1, 100);
            dispatch(image);
        } else {
            sleep_ms(1);
        }
    }
    cr_assert_eq(s.rc, -1, "a callback got a slot in a full queue");
    cr_assert_eq(s.err, EAGAIN, "errno %d (%s)", s.err, strerror(s.err));
    assert_refused(&s.inner, "the read submitted from a callback");
    cr_assert_eq(close_image(image), 0);
}

Test(aio_local, thread_callback_submit_into_full_queue_eagain)
{
    callback_submit_into_full_queue(THREAD);
}

Test(aio_local, poll_callback_submit_into_full_queue_eagain)
{
    callback_submit_into_full_queue(POLL);
}

/* ------------------------------------------------------------ close */

#define CLOSE_REQUESTS 64

static void close_with_requests_in_flight(gluvirt_completion_mode mode)
{
    const char *path = make_image(1u << 20);
    gluvirt_image *image = open_image(path, 1, mode, 0);
    static struct record records[CLOSE_REQUESTS];
    static unsigned char buf[CLOSE_REQUESTS][4096];
    unsigned char check[4096];

    for (int i = 0; i < CLOSE_REQUESTS; i++) {
        enum op op = i % 2 ? OP_WRITE : OP_READ;

        memset(buf[i], i, sizeof buf[i]);
        cr_assert_eq(submit(image, op, buf[i], 4096, (uint64_t)i * 4096, &records[i]), 0,
                     "%s", gluvirt_errmsg());
    }
    cr_assert_eq(close_image(image), 0, "%s", gluvirt_errmsg());
    /* Checked right after close: nothing may arrive later. */
    for (int i = 0; i < CLOSE_REQUESTS; i++) {
        assert_lifetime(&records[i], i);
        cr_assert_eq(records[i].result, 4096, "request %d: %" PRId64, i, records[i].result);
        if (mode == POLL) {
            cr_assert(pthread_equal(records[i].complete_thread, pthread_self()),
                      "POLL mode: request %d completed on another thread", i);
            cr_assert_neq(records[i].complete_context, CONTEXT_NONE);
        }
    }
    image = open_image(path, 0, THREAD, 0);
    for (int i = 0; i < CLOSE_REQUESTS; i++) {
        cr_assert_eq(gluvirt_image_pread(image, check, sizeof check, (uint64_t)i * 4096), 4096);
        for (int b = 0; b < 4096; b++) {
            unsigned char want = i % 2 ? (unsigned char)i : image_byte((uint64_t)i * 4096 + b);

            cr_assert_eq(check[b], want, "block %d byte %d", i, b);
            if (i % 2 == 0)
                cr_assert_eq(buf[i][b], want, "read %d byte %d", i, b);
        }
    }
    cr_assert_eq(close_image(image), 0);
}

Test(aio_local, close_with_64_in_flight_thread_mode)
{
    close_with_requests_in_flight(THREAD);
}

Test(aio_local, close_with_64_in_flight_poll_mode)
{
    close_with_requests_in_flight(POLL);
}

/* ------------------------------------------------------------ chains */

#define CHAIN_LENGTH 100

/* Link i's callback submits link i + 1: a write of block i, or a read of it
 * checked against the pattern. */
struct chain;

struct link {
    struct chain *chain;
    int index;
    atomic_int completes;
    atomic_int releases;
    int64_t result;
    unsigned char buf[1024];
};

struct chain {
    gluvirt_image *image;
    struct link links[CHAIN_LENGTH];
    atomic_int submit_failures;
    int first_failure_errno;
    atomic_int bad_reads;
};

static void link_release(void *user_data)
{
    struct link *l = user_data;

    atomic_fetch_add(&l->releases, 1);
}

static int submit_link(struct chain *c, int index);

static void link_complete(void *user_data, int64_t result)
{
    struct link *l = user_data;
    struct chain *c = l->chain;

    l->result = result;
    atomic_fetch_add(&l->completes, 1);
    if (l->index % 2 == 0)
        for (int b = 0; b < 1024; b++)
            if (l->buf[b] != image_byte((uint64_t)l->index * 1024 + (uint64_t)b)) {
                atomic_fetch_add(&c->bad_reads, 1);
                break;
            }
    if (l->index + 1 < CHAIN_LENGTH && submit_link(c, l->index + 1) < 0) {
        if (atomic_fetch_add(&c->submit_failures, 1) == 0)
            c->first_failure_errno = gluvirt_errno();
    }
}

static int submit_link(struct chain *c, int index)
{
    struct link *l = &c->links[index];

    l->chain = c;
    l->index = index;
    if (index % 2 == 0)
        return gluvirt_image_aio_read(c->image, l->buf, sizeof l->buf, (uint64_t)index * 1024,
                                      link_complete, l, link_release);
    memset(l->buf, index, sizeof l->buf);
    return gluvirt_image_aio_write(c->image, l->buf, sizeof l->buf, (uint64_t)index * 1024,
                                   link_complete, l, link_release);
}

static void assert_chain(struct chain *c)
{
    cr_assert_eq(atomic_load(&c->submit_failures), 0, "a callback's submit failed: %s",
                 strerror(c->first_failure_errno));
    for (int i = 0; i < CHAIN_LENGTH; i++) {
        cr_assert_eq(atomic_load(&c->links[i].completes), 1, "link %d: %d completes", i,
                     atomic_load(&c->links[i].completes));
        cr_assert_eq(atomic_load(&c->links[i].releases), 1, "link %d: %d releases", i,
                     atomic_load(&c->links[i].releases));
        cr_assert_eq(c->links[i].result, 1024, "link %d: %" PRId64, i, c->links[i].result);
    }
    cr_assert_eq(atomic_load(&c->bad_reads), 0, "%d chained reads returned wrong data",
                 atomic_load(&c->bad_reads));
}

static void chain_of_100(gluvirt_completion_mode mode, int close_at_once)
{
    const char *path = make_image(CHAIN_LENGTH * 1024);
    static struct chain c;
    int64_t deadline = now_ms() + WAIT_MS;

    c.image = open_image(path, 1, mode, 0);
    cr_assert_eq(submit_link(&c, 0), 0, "%s", gluvirt_errmsg());
    if (!close_at_once) {
        while (atomic_load(&c.links[CHAIN_LENGTH - 1].releases) == 0 &&
               atomic_load(&c.submit_failures) == 0) {
            cr_assert_lt(now_ms(), deadline, "the chain stopped");
            if (mode == POLL) {
                struct pollfd p = {gluvirt_image_completion_fd(c.image), POLLIN, 0};

                cr_assert_geq(poll(&p, 1, 100), 0);
                cr_assert_geq(dispatch(c.image), 0, "%s", gluvirt_errmsg());
            } else {
                sleep_ms(1);
            }
        }
    }
    /* With close_at_once, close must follow the chain to its end. */
    cr_assert_eq(close_image(c.image), 0, "%s", gluvirt_errmsg());
    assert_chain(&c);
}

Test(aio_local, chain_of_100_thread_mode)
{
    chain_of_100(THREAD, 0);
}

Test(aio_local, chain_of_100_poll_mode)
{
    chain_of_100(POLL, 0);
}

Test(aio_local, chain_of_100_then_close_thread_mode)
{
    chain_of_100(THREAD, 1);
}

Test(aio_local, chain_of_100_then_close_poll_mode)
{
    chain_of_100(POLL, 1);
}

/* ------------------------------------------------------------ integrity */

/*
 * Eight threads share one image, each in its own region.  An aio thread
 * keeps up to WINDOW requests in flight, never two that overlap, so the
 * model is exact: a write changes the model when submitted, a read is
 * checked against it when its slot is reaped.  A sync thread does the same
 * through gluvirt_image_pread/pwrite.  Afterwards a fresh handle reads the
 * whole image and compares it with the model.
 */
#define INTEGRITY_THREADS 8
#define INTEGRITY_OPS 500
#define INTEGRITY_REGION (1u << 20)
#define INTEGRITY_MAX_IO (64u << 10)
#define WINDOW 8

struct integrity_thread;

struct slot {
    struct integrity_thread *owner;
    int busy; /* submitted and not reaped: owner's thread only */
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
    uint64_t seed = text ? strtoull(text, NULL, 0) : UINT64_C(0x5eed0f1a2b3c4d5e);

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

/* Wait for the slot's callbacks, then check what it did. */
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
            /* Another thread's dispatch may run this slot's callbacks, and
             * may read the eventfd first: poll briefly, never for long. */
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
    if (!s->busy || s->op == OP_FLUSH || count == 0 || s->count == 0)
        return 0;
    return s->offset < offset + count && offset < s->offset + s->count;
}

static int run_sync_op(struct integrity_thread *t, enum op op, unsigned char *buf,
                       size_t count, uint64_t offset)
{
    ssize_t got;

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

/* use_aio_mask: bit i set when thread i uses callbacks. */
static void integrity_run(gluvirt_completion_mode mode, unsigned use_aio_mask)
{
    uint64_t size = (uint64_t)INTEGRITY_THREADS * INTEGRITY_REGION;
    const char *path = make_image(size);
    uint64_t seed = test_seed();
    gluvirt_image *image = open_image(path, 1, mode, 0);
    static struct integrity_thread threads[INTEGRITY_THREADS];
    pthread_t ids[INTEGRITY_THREADS];
    unsigned char *model = malloc(size), *check = malloc(INTEGRITY_MAX_IO);

    cr_assert(model && check);
    for (uint64_t i = 0; i < size; i++)
        model[i] = image_byte(i);
    for (int i = 0; i < INTEGRITY_THREADS; i++) {
        struct integrity_thread *t = &threads[i];

        t->image = image;
        t->mode = mode;
        t->use_aio = (use_aio_mask >> i) & 1;
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
    for (int i = 0; i < INTEGRITY_THREADS; i++)
        cr_assert_eq(threads[i].failure[0], '\0', "%s", threads[i].failure);
    /* A request counts as in flight until its release callback has
     * returned: the last one may still be leaving the dispatcher when the
     * thread that saw it released ends. */
    int64_t deadline = now_ms() + WAIT_MS;
    while (gluvirt_image_in_flight(image) != 0 && now_ms() < deadline)
        usleep(1000);
    cr_assert_eq(gluvirt_image_in_flight(image), 0);
    cr_assert_eq(close_image(image), 0, "%s", gluvirt_errmsg());

    image = open_image(path, 0, THREAD, 0);
    cr_assert_eq(gluvirt_image_size(image), (int64_t)size);
    for (uint64_t at = 0; at < size; at += INTEGRITY_MAX_IO) {
        cr_assert_eq(gluvirt_image_pread(image, check, INTEGRITY_MAX_IO, at),
                     (ssize_t)INTEGRITY_MAX_IO, "%s", gluvirt_errmsg());
        if (memcmp(check, model + at, INTEGRITY_MAX_IO) != 0) {
            size_t b = 0;

            while (check[b] == model[at + b])
                b++;
            cr_assert_fail("seed %" PRIu64 ": byte %" PRIu64 " (thread %d's region) reads "
                           "%u, the model says %u", seed, at + b,
                           (int)((at + b) / INTEGRITY_REGION), check[b], model[at + b]);
        }
    }
    cr_assert_eq(close_image(image), 0);
    for (int i = 0; i < INTEGRITY_THREADS; i++)
        for (int j = 0; j < WINDOW; j++)
            free(threads[i].slots[j].buf);
    free(model);
    free(check);
}

Test(aio_local, integrity_8_threads_thread_mode, .timeout = 120)
{
    integrity_run(THREAD, 0xff);
}

Test(aio_local, integrity_8_threads_poll_mode, .timeout = 120)
{
    integrity_run(POLL, 0xff);
}

/* Half the threads through the synchronous calls, half through callbacks. */
Test(aio_local, integrity_8_threads_both_apis, .timeout = 120)
{
    integrity_run(THREAD, 0x55);
}
