/* Callback I/O on local files: closure lifetimes, results and errors, completion modes. */
#include "test_image_aio_local_support.h"

/* ------------------------------------------------------------ lifetimes */

#define PER_OP 4

static void every_op_completes_then_releases(gluvirt_completion_mode mode)
{
    const char *path = make_image(1u << 20);
    gluvirt_image *image = open_image(path, 1, mode, 0);
    struct record records[OP_COUNT * PER_OP] = {0};
    static unsigned char buffers[OP_COUNT * PER_OP][4096];
    int count = OP_COUNT * PER_OP;

    for (int i = 0; i < count; i++) {
        enum op op = (enum op)(i % OP_COUNT);

        memset(buffers[i], 0x5a, sizeof buffers[i]);
        cr_assert_eq(submit(image, op, buffers[i], 4096, (uint64_t)i * 8192, &records[i]), 0,
                     "%s: %s", op_names[op], gluvirt_errmsg());
    }
    wait_released(image, mode, records, count);
    cr_assert_eq(gluvirt_image_in_flight(image), 0);
    for (int i = 0; i < count; i++) {
        enum op op = (enum op)(i % OP_COUNT);
        int64_t expected = op == OP_READ || op == OP_WRITE ? 4096 : 0;

        assert_lifetime(&records[i], i);
        cr_assert_eq(records[i].result, expected, "%s %d: result %" PRId64 ", expected %" PRId64,
                     op_names[op], i, records[i].result, expected);
    }
    cr_assert_eq(close_image(image), 0, "%s", gluvirt_errmsg());
    /* Nothing runs a second time at close. */
    for (int i = 0; i < count; i++)
        assert_lifetime(&records[i], i);
}

Test(aio_local, lifetime_every_op_thread_mode)
{
    every_op_completes_then_releases(THREAD);
}

Test(aio_local, lifetime_every_op_poll_mode)
{
    every_op_completes_then_releases(POLL);
}

static atomic_int bare_completes;

static void count_complete(void *user_data, int64_t result)
{
    (void)user_data;
    if (result == 512)
        atomic_fetch_add(&bare_completes, 1);
}

Test(aio_local, lifetime_release_may_be_null)
{
    const char *path = make_image(65536);
    gluvirt_image *image = open_image(path, 0, THREAD, 0);
    static unsigned char buf[8][512];

    for (int i = 0; i < 8; i++)
        cr_assert_eq(gluvirt_image_aio_read(image, buf[i], 512, (uint64_t)i * 512,
                                            count_complete, NULL, NULL), 0, "%s",
                     gluvirt_errmsg());
    cr_assert_eq(close_image(image), 0);
    cr_assert_eq(atomic_load(&bare_completes), 8);
}

static unsigned char scratch[65536];

/* A submit that must fail: the error, and release alone, before it returns. */
static void assert_submit_refused(gluvirt_image *image, enum op op, void *buf, size_t count,
                                  uint64_t offset, int expected_errno, const char *fragment)
{
    struct record r = {0};

    cr_assert_eq(submit(image, op, buf, count, offset, &r), -1, "%s was accepted",
                 op_names[op]);
    assert_error(expected_errno, fragment);
    assert_refused(&r, op_names[op]);
    /* and it stays that way */
    if (image)
        cr_assert_eq(gluvirt_image_in_flight(image), 0);
    sleep_ms(20);
    assert_refused(&r, op_names[op]);
}

Test(aio_local, errors_read_only_image_erofs)
{
    const char *path = make_image(65536);
    gluvirt_completion_mode modes[] = {THREAD, POLL};

    for (int m = 0; m < 2; m++) {
        gluvirt_image *image = open_image(path, 0, modes[m], 0);

        assert_submit_refused(image, OP_WRITE, scratch, 512, 0, EROFS, "read-only");
        assert_submit_refused(image, OP_DISCARD, scratch, 512, 0, EROFS, "read-only");
        assert_submit_refused(image, OP_ZEROES, scratch, 512, 0, EROFS, "read-only");
        cr_assert_eq(close_image(image), 0);
    }
}

Test(aio_local, errors_past_the_end_einval)
{
    const char *path = make_image(65536);
    gluvirt_image *image = open_image(path, 1, THREAD, 0);

    assert_submit_refused(image, OP_WRITE, scratch, 512, 65536 - 511, EINVAL, "past the end");
    assert_submit_refused(image, OP_WRITE, scratch, 1, 65536, EINVAL, "past the end");
    assert_submit_refused(image, OP_WRITE, scratch, 512, UINT64_MAX - 100, EINVAL, "past the end");
    assert_submit_refused(image, OP_DISCARD, scratch, 4096, 65536 - 4095, EINVAL, "past the end");
    assert_submit_refused(image, OP_ZEROES, scratch, 4096, 65536 - 4095, EINVAL, "past the end");
    assert_submit_refused(image, OP_ZEROES, scratch, 1, UINT64_MAX, EINVAL, "past the end");
    cr_assert_eq(close_image(image), 0);
}

Test(aio_local, errors_null_image_einval)
{
    for (int op = 0; op < OP_COUNT; op++)
        assert_submit_refused(NULL, (enum op)op, scratch, 512, 0, EINVAL, "NULL");
}

/* As in pread/pwrite: no buffer for a non-empty transfer is EINVAL at submit,
 * never a fault on a worker or on gfapi's thread.  An empty one needs none. */
Test(aio_local, errors_null_buffer_einval)
{
    const char *path = make_image(65536);
    gluvirt_image *image = open_image(path, 1, THREAD, 0);
    struct record records[2] = {0};

    assert_submit_refused(image, OP_READ, NULL, 16, 0, EINVAL, "no buffer");
    assert_submit_refused(image, OP_WRITE, NULL, 16, 0, EINVAL, "no buffer");
    cr_assert_eq(submit(image, OP_READ, NULL, 0, 0, &records[0]), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(submit(image, OP_WRITE, NULL, 0, 0, &records[1]), 0, "%s", gluvirt_errmsg());
    wait_released(image, THREAD, records, 2);
    for (int i = 0; i < 2; i++) {
        assert_lifetime(&records[i], i);
        cr_assert_eq(records[i].result, 0);
    }
    cr_assert_eq(close_image(image), 0);
}

/* In POLL mode a refused request leaves the completion fd quiet. */
Test(aio_local, errors_refused_submit_wakes_nobody)
{
    const char *path = make_image(65536);
    gluvirt_image *image = open_image(path, 0, POLL, 0);
    struct pollfd p = {gluvirt_image_completion_fd(image), POLLIN, 0};

    assert_submit_refused(image, OP_WRITE, scratch, 512, 0, EROFS, NULL);
    cr_assert_eq(poll(&p, 1, 50), 0, "the completion fd woke for a refused request");
    cr_assert_eq(dispatch(image), 0);
    cr_assert_eq(close_image(image), 0);
}

/* ------------------------------------------------------------ results */

#define ODD_SIZE 1000003u /* not a multiple of 512 */

static void results_per_op(gluvirt_completion_mode mode)
{
    const char *path = make_image(ODD_SIZE);
    gluvirt_image *image = open_image(path, 1, mode, 0);
    static unsigned char bufs[9][8192];
    static unsigned char written[3000];
    static const struct {
        enum op op;
        size_t count;
        uint64_t offset;
        int64_t expected;
    } cases[] = {
        {OP_READ, 4096, 0, 4096},
        {OP_READ, 4096, 4097, 4096},              /* unaligned */
        {OP_READ, 4096, ODD_SIZE - 1000, 1000},   /* straddles the end */
        {OP_READ, 1, ODD_SIZE - 1, 1},            /* the last byte */
        {OP_READ, 4096, ODD_SIZE, 0},             /* at the end */
        {OP_READ, 4096, ODD_SIZE + 12345, 0},     /* past it */
        {OP_READ, 0, 100, 0},
        {OP_WRITE, sizeof written, 200001, sizeof written},
        {OP_WRITE, 0, ODD_SIZE, 0},
    };
    int n = (int)(sizeof cases / sizeof cases[0]);
    struct record records[sizeof cases / sizeof cases[0]] = {0};
    struct record more[3] = {0};
    unsigned char check[sizeof written];

    for (size_t i = 0; i < sizeof written; i++)
        written[i] = (unsigned char)(i * 7 + 1);
    for (int i = 0; i < n; i++) {
        void *buf = cases[i].op == OP_WRITE ? (void *)written : bufs[i];

        memset(bufs[i], 0xee, sizeof bufs[i]);
        cr_assert_eq(submit(image, cases[i].op, buf, cases[i].count, cases[i].offset,
                            &records[i]), 0, "case %d: %s", i, gluvirt_errmsg());
    }
    cr_assert_eq(submit(image, OP_FLUSH, NULL, 0, 0, &more[0]), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(submit(image, OP_DISCARD, NULL, 65536, 400000, &more[1]), 0, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(submit(image, OP_ZEROES, NULL, 70001, 600001, &more[2]), 0, "%s",
                 gluvirt_errmsg());
    wait_released(image, mode, records, n);
    wait_released(image, mode, more, 3);

    for (int i = 0; i < n; i++) {
        assert_lifetime(&records[i], i);
        cr_assert_eq(records[i].result, cases[i].expected,
                     "case %d (%s %zu at %" PRIu64 "): result %" PRId64 ", expected %" PRId64, i,
                     op_names[cases[i].op], cases[i].count, cases[i].offset, records[i].result,
                     cases[i].expected);
        if (cases[i].op != OP_READ)
            continue;
        for (int64_t b = 0; b < cases[i].expected; b++)
            cr_assert_eq(bufs[i][b], image_byte(cases[i].offset + (uint64_t)b),
                         "case %d: byte %" PRId64 " differs", i, b);
    }
    for (int i = 0; i < 3; i++) {
        assert_lifetime(&more[i], i);
        cr_assert_eq(more[i].result, 0, "%s: result %" PRId64,
                     op_names[i == 0 ? OP_FLUSH : i == 1 ? OP_DISCARD : OP_ZEROES],
                     more[i].result);
    }

    cr_assert_eq(gluvirt_image_pread(image, check, sizeof check, 200001), (ssize_t)sizeof check);
    cr_assert_arr_eq(check, written, sizeof written, "the aio write did not land");
    for (uint64_t at = 600001; at < 600001 + 70001; at += sizeof check) {
        size_t len = 600001 + 70001 - at < sizeof check ? (size_t)(600001 + 70001 - at)
                                                        : sizeof check;

        cr_assert_eq(gluvirt_image_pread(image, check, len, at), (ssize_t)len);
        for (size_t b = 0; b < len; b++)
            cr_assert_eq(check[b], 0, "byte %" PRIu64 " not zeroed", at + b);
    }
    /* the bytes around the zeroed range are untouched */
    cr_assert_eq(gluvirt_image_pread(image, check, 1, 600000), 1);
    cr_assert_eq(check[0], image_byte(600000));
    cr_assert_eq(gluvirt_image_pread(image, check, 1, 600001 + 70001), 1);
    cr_assert_eq(check[0], image_byte(600001 + 70001));
    cr_assert_eq(close_image(image), 0);
}

Test(aio_local, results_thread_mode)
{
    results_per_op(THREAD);
}

Test(aio_local, results_poll_mode)
{
    results_per_op(POLL);
}

/* An empty range is no work, as in the synchronous calls (which return 0). */
Test(aio_local, results_empty_ranges)
{
    const char *path = make_image(65536);
    gluvirt_image *image = open_image(path, 1, THREAD, 0);
    struct record records[4] = {0};

    cr_assert_eq(gluvirt_image_discard(image, 4096, 0), 0, "sync: %s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_write_zeroes(image, 4096, 0), 0, "sync: %s", gluvirt_errmsg());
    cr_assert_eq(submit(image, OP_DISCARD, NULL, 0, 4096, &records[0]), 0, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(submit(image, OP_ZEROES, NULL, 0, 4096, &records[1]), 0, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(submit(image, OP_DISCARD, NULL, 0, 65536, &records[2]), 0, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(submit(image, OP_ZEROES, NULL, 0, 65536, &records[3]), 0, "%s",
                 gluvirt_errmsg());
    wait_released(image, THREAD, records, 4);
    for (int i = 0; i < 4; i++) {
        assert_lifetime(&records[i], i);
        cr_assert_eq(records[i].result, 0, "empty %s at %d: result %" PRId64 " (%s)",
                     i % 2 ? "write_zeroes" : "discard", i < 2 ? 4096 : 65536,
                     records[i].result, strerror((int)-records[i].result));
    }
    cr_assert_eq(close_image(image), 0);
}

/* A flush on a read-only image has nothing to make durable: 0, as
 * gluvirt_image_flush returns. */
Test(aio_local, results_flush_read_only)
{
    const char *path = make_image(65536);
    gluvirt_image *image = open_image(path, 0, POLL, 0);
    struct record r = {0};

    cr_assert_eq(gluvirt_image_flush(image), 0);
    cr_assert_eq(submit(image, OP_FLUSH, NULL, 0, 0, &r), 0, "%s", gluvirt_errmsg());
    wait_released(image, POLL, &r, 1);
    assert_lifetime(&r, 0);
    cr_assert_eq(r.result, 0);
    cr_assert_eq(close_image(image), 0);
}

/*
 * A failure while the request runs arrives as -errno in complete, and never
 * in the submitting thread's error state.  The file size limit makes the
 * kernel refuse writes beyond it with EFBIG (SIGXFSZ ignored) although the
 * image is larger: a real I/O error on a healthy filesystem.
 */
static void errors_arrive_in_callback(gluvirt_completion_mode mode)
{
    const char *path = make_image(1u << 20);
    gluvirt_image *image = open_image(path, 1, mode, 0);
    struct rlimit limit;
    struct record records[3] = {0};
    static unsigned char buf[3][4096];

    signal(SIGXFSZ, SIG_IGN);
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &limit), 0);
    limit.rlim_cur = 65536;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &limit), 0, "%s", strerror(errno));

    /* The caller's error state before: a failure of its own. */
    cr_assert_eq(gluvirt_image_size(NULL), -1);
    assert_error(EINVAL, NULL);

    memset(buf, 0x77, sizeof buf);
    cr_assert_eq(submit(image, OP_WRITE, buf[0], 4096, 512 * 1024, &records[0]), 0, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(submit(image, OP_WRITE, buf[1], 4096, 65536 - 100, &records[1]), 0, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(submit(image, OP_WRITE, buf[2], 4096, 4096, &records[2]), 0, "%s",
                 gluvirt_errmsg());
    wait_released(image, mode, records, 3);
    for (int i = 0; i < 3; i++)
        assert_lifetime(&records[i], i);
    cr_assert_eq(records[0].result, -EFBIG, "result %" PRId64, records[0].result);
    cr_assert_eq(records[1].result, -EFBIG, "result %" PRId64, records[1].result);
    cr_assert_eq(records[2].result, 4096, "a good write next to failed ones: %" PRId64,
                 records[2].result);
    cr_assert_neq(gluvirt_errno(), EFBIG, "the request's error leaked into the caller's state");
    cr_assert_eq(close_image(image), 0, "%s", gluvirt_errmsg());
}

Test(aio_local, errors_arrive_in_callback_thread_mode)
{
    errors_arrive_in_callback(THREAD);
}

Test(aio_local, errors_arrive_in_callback_poll_mode)
{
    errors_arrive_in_callback(POLL);
}

/* ------------------------------------------------------------ completion modes */

#define MODE_REQUESTS 16

Test(aio_local, thread_mode_runs_callbacks_off_the_submitter)
{
    const char *path = make_image(1u << 20);
    gluvirt_image *image = open_image(path, 0, THREAD, 0);
    struct record records[MODE_REQUESTS] = {0};
    static unsigned char buf[MODE_REQUESTS][4096];

    for (int i = 0; i < MODE_REQUESTS; i++)
        cr_assert_eq(submit(image, OP_READ, buf[i], 4096, (uint64_t)i * 4096, &records[i]), 0,
                     "%s", gluvirt_errmsg());
    /* No dispatch, no close: the callbacks come by themselves. */
    wait_released(image, THREAD, records, MODE_REQUESTS);
    for (int i = 0; i < MODE_REQUESTS; i++) {
        assert_lifetime(&records[i], i);
        cr_assert(!pthread_equal(records[i].complete_thread, pthread_self()),
                  "request %d completed on the submitting thread", i);
        cr_assert(!pthread_equal(records[i].release_thread, pthread_self()),
                  "request %d released on the submitting thread", i);
    }
    cr_assert_eq(close_image(image), 0);
}

Test(aio_local, poll_mode_runs_callbacks_only_in_dispatch)
{
    const char *path = make_image(1u << 20);
    gluvirt_image *image = open_image(path, 0, POLL, 0);
    struct record records[MODE_REQUESTS] = {0};
    static unsigned char buf[MODE_REQUESTS][4096];
    struct pollfd p = {gluvirt_image_completion_fd(image), POLLIN, 0};
    int64_t deadline = now_ms() + WAIT_MS;
    int ran = 0;

    cr_assert_geq(p.fd, 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_completion_fd(image), p.fd, "the fd changed between calls");
    cr_assert_eq(poll(&p, 1, 0), 0, "readable before any request");
    cr_assert_eq(dispatch(image), 0, "callbacks ran with no request");

    for (int i = 0; i < MODE_REQUESTS; i++)
        cr_assert_eq(submit(image, OP_READ, buf[i], 4096, (uint64_t)i * 4096, &records[i]), 0,
                     "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_in_flight(image), MODE_REQUESTS);
    cr_assert_eq(poll(&p, 1, WAIT_MS), 1, "the completion fd never became readable");
    cr_assert(p.revents & POLLIN);
    /* Give the rest time to finish: still nothing may run outside dispatch. */
    sleep_ms(100);
    for (int i = 0; i < MODE_REQUESTS; i++) {
        cr_assert_eq(atomic_load(&records[i].completes), 0, "request %d ran outside dispatch",
                     i);
        cr_assert_eq(atomic_load(&records[i].releases), 0);
    }
    cr_assert_eq(gluvirt_image_in_flight(image), MODE_REQUESTS,
                 "requests left the queue before their callbacks ran");

    while (ran < MODE_REQUESTS) {
        int n;

        cr_assert_lt(now_ms(), deadline, "only %d callbacks within %d ms", ran, WAIT_MS);
        p.revents = 0;
        cr_assert_geq(poll(&p, 1, 100), 0);
        cr_assert_geq(n = dispatch(image), 0, "%s", gluvirt_errmsg());
        ran += n;
    }
    cr_assert_eq(ran, MODE_REQUESTS, "dispatch counted %d callbacks for %d requests", ran,
                 MODE_REQUESTS);
    for (int i = 0; i < MODE_REQUESTS; i++) {
        assert_lifetime(&records[i], i);
        cr_assert(pthread_equal(records[i].complete_thread, pthread_self()),
                  "request %d completed on another thread", i);
        cr_assert(pthread_equal(records[i].release_thread, pthread_self()));
        cr_assert_eq(records[i].complete_context, CONTEXT_DISPATCH,
                     "request %d completed outside dispatch", i);
        cr_assert_eq(records[i].release_context, CONTEXT_DISPATCH);
    }
    cr_assert_eq(gluvirt_image_in_flight(image), 0);
    cr_assert_eq(close_image(image), 0);
}

Test(aio_local, errors_completion_fd_and_dispatch_in_thread_mode)
{
    const char *path = make_image(65536);
    gluvirt_image *image = open_image(path, 0, THREAD, 0);

    cr_assert_eq(gluvirt_image_completion_fd(image), -1);
    assert_error(EINVAL, "GLUVIRT_COMPLETION_POLL");
    cr_assert_eq(gluvirt_image_dispatch(image), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(close_image(image), 0);

    cr_assert_eq(gluvirt_image_completion_fd(NULL), -1);
    assert_error(EINVAL, "NULL");
    cr_assert_eq(gluvirt_image_dispatch(NULL), -1);
    assert_error(EINVAL, "NULL");
    cr_assert_eq(gluvirt_image_in_flight(NULL), -1);
    assert_error(EINVAL, "NULL");
}

Test(aio_local, errors_completion_options)
{
    gluvirt_open_options *options = gluvirt_open_options_new();

    cr_assert_not_null(options);
    cr_assert_eq(gluvirt_open_options_set_queue_depth(options, 0), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_open_options_set_queue_depth(options, 4097), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_open_options_set_queue_depth(options, 1), 0);
    cr_assert_eq(gluvirt_open_options_set_queue_depth(options, 4096), 0);
    cr_assert_eq(gluvirt_open_options_set_completion(options, (gluvirt_completion_mode)7), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_open_options_set_queue_depth(NULL, 8), -1);
    assert_error(EINVAL, NULL);
    cr_assert_eq(gluvirt_open_options_set_completion(NULL, POLL), -1);
    assert_error(EINVAL, NULL);
    gluvirt_open_options_free(options);
}
