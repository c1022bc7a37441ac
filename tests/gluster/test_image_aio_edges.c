/* Callback I/O on the real volume: callback counting, the end of the image, submit errors. */
#define AIO_TEST_IMAGES                                                                   \
    {"count-thread.raw", COUNT_IMAGE_SIZE}, {"count-poll.raw", COUNT_IMAGE_SIZE},           \
    {"odd.raw", 1u << 20}, /* cut to ODD_SIZE by its test */                               \
    {"readonly.raw", 65536}, {"shrunk.raw", 1u << 20},
#include "test_image_aio_support.h"

/* ------------------------------------------------------------ counting */

#define COUNT_READS 10000
#define COUNT_DEPTH 32
#define COUNT_SIZE 512

static atomic_int count_peak;
static gluvirt_image *count_image;

/* record_complete plus a sample of in_flight, which counts this request. */
static void counting_complete(void *user_data, int64_t result)
{
    int now = gluvirt_image_in_flight(count_image);
    int peak = atomic_load(&count_peak);

    while (now > peak && !atomic_compare_exchange_weak(&count_peak, &peak, now))
        ;
    record_complete(user_data, result);
}

static uint64_t count_offset(int i)
{
    return ((uint64_t)i * 4099) % (COUNT_IMAGE_SIZE - COUNT_SIZE + 1);
}

/*
 * THREAD mode: the submitter waits for slots by itself.  POLL mode: a submit
 * into the full queue fails with EAGAIN (release runs, complete does not),
 * the caller dispatches and submits again.
 */
static void count_10000_reads(const char *name, gluvirt_completion_mode mode)
{
    const char *host = require_gluster();
    char *uri = image_uri(host, name);
    gluvirt_pool *pool = make_pool();
    gluvirt_image *image = open_image(pool, uri, 1, mode, COUNT_DEPTH);
    struct record *records = calloc(COUNT_READS, sizeof *records);
    unsigned char(*bufs)[COUNT_SIZE] = malloc((size_t)COUNT_READS * COUNT_SIZE);
    int refusals = 0;
    int64_t started;

    cr_assert(records && bufs);
    write_pattern(image, COUNT_IMAGE_SIZE);
    count_image = image;
    started = now_ms();
    for (int i = 0; i < COUNT_READS; i++) {
        int now;

        for (;;) {
            int64_t deadline = now_ms() + WAIT_MS;
            int rc = gluvirt_image_aio_read(image, bufs[i], COUNT_SIZE, count_offset(i),
                                            counting_complete, &records[i], record_release);

            if (rc == 0)
                break;
            cr_assert_eq(mode, POLL, "THREAD mode, submit %d: %s", i, gluvirt_errmsg());
            assert_error(EAGAIN, NULL);
            /* The refused submit ran release on the record: undo that, so the
             * record counts the accepted submit only, and count it apart. */
            cr_assert_eq(atomic_load(&records[i].releases), 1);
            cr_assert_eq(atomic_load(&records[i].completes), 0);
            atomic_store(&records[i].releases, 0);
            refusals++;
            for (int ran = 0; ran == 0;) {
                struct pollfd p = {gluvirt_image_completion_fd(image), POLLIN, 0};

                cr_assert_lt(now_ms(), deadline, "no completion within %d ms", WAIT_MS);
                cr_assert_geq(poll(&p, 1, 100), 0);
                cr_assert_geq(ran = dispatch(image), 0, "%s", gluvirt_errmsg());
            }
        }
        now = gluvirt_image_in_flight(image);
        cr_assert(now >= 0 && now <= COUNT_DEPTH, "%d in flight at depth %d", now, COUNT_DEPTH);
    }
    wait_released(image, mode, records, COUNT_READS);
    cr_log_info("%s mode: %d reads of %d bytes at depth %d in %" PRId64 " ms, %d EAGAIN",
                mode == THREAD ? "THREAD" : "POLL", COUNT_READS, COUNT_SIZE, COUNT_DEPTH,
                now_ms() - started, refusals);
    cr_assert_eq(gluvirt_image_in_flight(image), 0);

    for (int i = 0; i < COUNT_READS; i++) {
        assert_lifetime(&records[i], i);
        cr_assert_eq(records[i].result, COUNT_SIZE, "read %d: %" PRId64, i, records[i].result);
        assert_not_on_gfapi_thread(&records[i], i);
        if (mode == POLL)
            cr_assert(pthread_equal(records[i].complete_thread, pthread_self()) &&
                          records[i].complete_context == CONTEXT_DISPATCH,
                      "read %d completed outside dispatch", i);
        else
            cr_assert(!pthread_equal(records[i].complete_thread, pthread_self()),
                      "read %d completed on the submitting thread", i);
        for (int b = 0; b < COUNT_SIZE; b++)
            cr_assert_eq(bufs[i][b], pattern_byte(count_offset(i) + (uint64_t)b),
                         "read %d, byte %d", i, b);
    }
    cr_assert_leq(atomic_load(&count_peak), COUNT_DEPTH, "in_flight reached %d",
                  atomic_load(&count_peak));
    if (mode == POLL)
        cr_assert_gt(refusals, 0, "10000 submits never filled a queue of %d", COUNT_DEPTH);

    cr_assert_eq(close_image(image), 0, "%s", gluvirt_errmsg());
    gluvirt_pool_free(pool);
    free(records);
    free(bufs);
    free(uri);
}

Test(aio_gluster, count_10000_reads_depth_32_thread_mode)
{
    count_10000_reads("count-thread.raw", THREAD);
}

Test(aio_gluster, count_10000_reads_depth_32_poll_mode)
{
    count_10000_reads("count-poll.raw", POLL);
}

/* ------------------------------------------------------------ the end of the image */

static void reads_at_the_end(gluvirt_image *image, gluvirt_completion_mode mode)
{
    static const struct {
        size_t count;
        uint64_t offset;
        int64_t expected;
    } cases[] = {
        {4096, ODD_SIZE - 1000, 1000},        /* straddles the end */
        {512, ODD_SIZE - 512, 512},           /* ends exactly there */
        {1, ODD_SIZE - 1, 1},                 /* the last byte */
        {4096, ODD_SIZE - (ODD_SIZE % 512), ODD_SIZE % 512}, /* the partial sector */
        {4096, ODD_SIZE, 0},                  /* at the end */
        {4096, ODD_SIZE + 1, 0},              /* past it */
        {4096, (uint64_t)1 << 40, 0},         /* far past it */
        {ODD_SIZE + 5000, 0, ODD_SIZE},       /* all of it and more */
    };
    const int n = (int)(sizeof cases / sizeof cases[0]);
    struct record records[sizeof cases / sizeof cases[0]];
    unsigned char *bufs[sizeof cases / sizeof cases[0]];

    memset(records, 0, sizeof records);
    for (int i = 0; i < n; i++) {
        cr_assert_not_null(bufs[i] = malloc(cases[i].count));
        memset(bufs[i], 0xee, cases[i].count);
        cr_assert_eq(submit(image, OP_READ, bufs[i], cases[i].count, cases[i].offset,
                            &records[i]), 0, "case %d: %s", i, gluvirt_errmsg());
    }
    wait_released(image, mode, records, n);
    for (int i = 0; i < n; i++) {
        assert_lifetime(&records[i], i);
        cr_assert_eq(records[i].result, cases[i].expected,
                     "%s mode, read of %zu at %" PRIu64 " in an image of %u bytes: %" PRId64
                     ", expected %" PRId64, mode == THREAD ? "THREAD" : "POLL", cases[i].count,
                     cases[i].offset, ODD_SIZE, records[i].result, cases[i].expected);
        for (int64_t b = 0; b < cases[i].expected; b++)
            cr_assert_eq(bufs[i][b], pattern_byte(cases[i].offset + (uint64_t)b),
                         "case %d, byte %" PRId64, i, b);
        free(bufs[i]);
    }
}

Test(aio_gluster, reads_at_the_end_of_an_odd_sized_image)
{
    const char *host = require_gluster();
    char *uri = image_uri(host, "odd.raw");
    gluvirt_pool *pool = make_pool();
    gluvirt_image *image = open_image(pool, uri, 1, THREAD, 0);
    struct record refused = {0};
    unsigned char buf[4096] = {0};

    cr_assert_eq(gluvirt_image_truncate(image, ODD_SIZE), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_size(image), ODD_SIZE);
    write_pattern(image, ODD_SIZE);
    reads_at_the_end(image, THREAD);

    /* A write may not cross the end. */
    cr_assert_eq(submit(image, OP_WRITE, buf, sizeof buf, ODD_SIZE - 100, &refused), -1);
    assert_error(EINVAL, "past the end");
    cr_assert_eq(atomic_load(&refused.releases), 1);
    cr_assert_eq(atomic_load(&refused.completes), 0);
    cr_assert_eq(close_image(image), 0, "%s", gluvirt_errmsg());

    image = open_image(pool, uri, 0, POLL, 0);
    cr_assert_eq(gluvirt_image_size(image), ODD_SIZE);
    reads_at_the_end(image, POLL);
    cr_assert_eq(close_image(image), 0);
    gluvirt_pool_free(pool);
    free(uri);
}

/*
 * Another handle shrinks the file under an open image, which still believes
 * the old size: what lies beyond the file's new end reads as zeros through
 * both paths, as the storage contract says, and the count stays whole.
 */
Test(aio_gluster, reads_beyond_a_file_shrunk_underneath)
{
    const char *host = require_gluster();
    char *uri = image_uri(host, "shrunk.raw");
    gluvirt_pool *pool = make_pool();
    gluvirt_image *image = open_image(pool, uri, 0, THREAD, 0);
    gluvirt_image *shrinker = open_image(pool, uri, 1, THREAD, 0);
    const uint64_t new_end = (1u << 20) - 5000;
    unsigned char aio_buf[4096], sync_buf[4096];
    struct record r = {0};

    write_pattern(shrinker, 1u << 20);
    cr_assert_eq(gluvirt_image_truncate(shrinker, new_end), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(close_image(shrinker), 0);
    cr_assert_eq(gluvirt_image_size(image), 1u << 20, "the size is read once, at open");

    memset(aio_buf, 0xee, sizeof aio_buf);
    memset(sync_buf, 0xee, sizeof sync_buf);
    cr_assert_eq(gluvirt_image_pread(image, sync_buf, sizeof sync_buf, new_end - 1000),
                 (ssize_t)sizeof sync_buf, "%s", gluvirt_errmsg());
    cr_assert_eq(submit(image, OP_READ, aio_buf, sizeof aio_buf, new_end - 1000, &r), 0, "%s",
                 gluvirt_errmsg());
    wait_released(image, THREAD, &r, 1);
    assert_lifetime(&r, 0);
    cr_assert_eq(r.result, (int64_t)sizeof aio_buf, "result %" PRId64, r.result);
    for (int b = 0; b < 1000; b++)
        cr_assert_eq(aio_buf[b], pattern_byte(new_end - 1000 + (uint64_t)b), "byte %d", b);
    for (size_t b = 1000; b < sizeof aio_buf; b++)
        cr_assert_eq(aio_buf[b], 0, "byte %zu beyond the file's end reads %u", b, aio_buf[b]);
    cr_assert_arr_eq(aio_buf, sync_buf, sizeof aio_buf, "the two paths read differently");
    cr_assert_eq(close_image(image), 0);
    gluvirt_pool_free(pool);
    free(uri);
}

/* ------------------------------------------------------------ errors */

static void assert_submit_refused(gluvirt_image *image, enum op op, size_t count,
                                  uint64_t offset, int expected_errno, const char *fragment)
{
    struct record r = {0};
    static unsigned char buf[65536];

    cr_assert_eq(submit(image, op, buf, count, offset, &r), -1, "%s was accepted",
                 op_names[op]);
    assert_error(expected_errno, fragment);
    cr_assert_eq(atomic_load(&r.releases), 1, "%s: release ran %d times", op_names[op],
                 atomic_load(&r.releases));
    cr_assert_eq(atomic_load(&r.completes), 0, "%s: complete ran", op_names[op]);
}

/* A read whose callback tries to write the data back: on a read-only image
 * the write fails at submit, inside the callback, with its release run. */
struct write_back {
    gluvirt_image *image;
    unsigned char buf[4096];
    atomic_int done; /* the read's release ran */
    int rc;
    int err;
    struct record inner;
};

static void write_back_complete(void *user_data, int64_t result)
{
    struct write_back *w = user_data;

    w->rc = gluvirt_image_aio_write(w->image, w->buf, sizeof w->buf, 0, record_complete,
                                    &w->inner, record_release);
    w->err = w->rc < 0 ? gluvirt_errno() : 0;
}

static void write_back_release(void *user_data)
{
    struct write_back *w = user_data;

    atomic_fetch_add(&w->done, 1);
}

Test(aio_gluster, errors_submit_failures_run_release_only)
{
    const char *host = require_gluster();
    char *uri = image_uri(host, "readonly.raw");
    gluvirt_pool *pool = make_pool();
    gluvirt_completion_mode modes[] = {THREAD, POLL};

    for (int m = 0; m < 2; m++) {
        gluvirt_image *image = open_image(pool, uri, 0, modes[m], 0);
        struct record records[2] = {0};
        unsigned char buf[4096];
        static struct write_back back;

        assert_submit_refused(image, OP_WRITE, 4096, 0, EROFS, "read-only");
        assert_submit_refused(image, OP_DISCARD, 4096, 0, EROFS, "read-only");
        assert_submit_refused(image, OP_ZEROES, 4096, 0, EROFS, "read-only");
        cr_assert_eq(gluvirt_image_in_flight(image), 0);

        /* Reading still works; a flush has nothing to do (0, as
         * gluvirt_image_flush returns on a read-only image). */
        cr_assert_eq(gluvirt_image_flush(image), 0, "%s", gluvirt_errmsg());
        cr_assert_eq(submit(image, OP_READ, buf, sizeof buf, 0, &records[0]), 0, "%s",
                     gluvirt_errmsg());
        cr_assert_eq(submit(image, OP_FLUSH, NULL, 0, 0, &records[1]), 0, "%s",
                     gluvirt_errmsg());
        wait_released(image, modes[m], records, 2);
        assert_lifetime(&records[0], 0);
        assert_lifetime(&records[1], 1);
        cr_assert_eq(records[0].result, 4096, "read: %" PRId64, records[0].result);
        cr_assert_eq(records[1].result, 0, "%s mode: flush of a read-only image: %" PRId64
                     " (%s)", modes[m] == THREAD ? "THREAD" : "POLL", records[1].result,
                     strerror((int)-records[1].result));

        memset(&back, 0, sizeof back);
        back.image = image;
        cr_assert_eq(gluvirt_image_aio_read(image, back.buf, sizeof back.buf, 0,
                                            write_back_complete, &back, write_back_release),
                     0, "%s", gluvirt_errmsg());
        for (int64_t deadline = now_ms() + WAIT_MS; !atomic_load(&back.done);) {
            cr_assert_lt(now_ms(), deadline, "the read never completed");
            if (modes[m] == POLL) {
                struct pollfd p = {gluvirt_image_completion_fd(image), POLLIN, 0};

                poll(&p, 1, 100);
                dispatch(image);
            } else {
                sleep_ms(1);
            }
        }
        cr_assert_eq(atomic_load(&back.done), 1);
        cr_assert_eq(back.rc, -1, "a callback wrote to a read-only image");
        cr_assert_eq(back.err, EROFS, "errno %d (%s)", back.err, strerror(back.err));
        cr_assert_eq(atomic_load(&back.inner.releases), 1);
        cr_assert_eq(atomic_load(&back.inner.completes), 0);
        cr_assert_eq(close_image(image), 0, "%s", gluvirt_errmsg());
    }

    {
        gluvirt_image *image = open_image(pool, uri, 1, THREAD, 0);

        assert_submit_refused(image, OP_WRITE, 4096, 65536 - 4095, EINVAL, "past the end");
        assert_submit_refused(image, OP_ZEROES, 1, 65536, EINVAL, "past the end");
        assert_submit_refused(image, OP_DISCARD, 65537, 0, EINVAL, "past the end");
        cr_assert_eq(close_image(image), 0, "%s", gluvirt_errmsg());
    }
    for (int op = 0; op < OP_COUNT; op++)
        assert_submit_refused(NULL, (enum op)op, 512, 0, EINVAL, "NULL");
    gluvirt_pool_free(pool);
    free(uri);
}
