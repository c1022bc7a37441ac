/*
 * Callback I/O on the real volume: sequential reads submitted from inside
 * callbacks.  The engine holds the reads a batch of callbacks submits and
 * sends those that continue each other as one storage read; each request
 * must still get exactly its own bytes and count, in both completion modes,
 * for reads of mixed sizes, reads cut by the end of the image and reads
 * past the end of a file another handle shrank (zeros there).
 */
#define AIO_TEST_IMAGES                                                                   \
    {"merge-thread.raw", MERGE_IMAGE_SIZE}, {"merge-poll.raw", MERGE_IMAGE_SIZE},           \
    {"merge-shrunk.raw", MERGE_IMAGE_SIZE},
#include "test_image_aio_support.h"
#include "util/stats.h"

#define CHAIN_DEPTH 32
#define CHAIN_READS 6000
#define CHAIN_MAX_READ 131072

/* Mixed sizes, mostly small: the ones a merge helps. */
static const size_t chain_sizes[] = {4096, 4096, 4096, 512, 3000, 65536, 4096, 1000, 131072};
#define CHAIN_SIZES (sizeof chain_sizes / sizeof chain_sizes[0])

struct chain;

struct link {
    struct chain *chain;
    uint64_t offset;
    size_t count;
    unsigned char buf[CHAIN_MAX_READ];
};

struct chain {
    gluvirt_image *image;
    uint64_t start, size; /* reads cycle from start to the image's end */
    uint64_t file_end;    /* from here on, bytes read as zeros */
    uint64_t cursor;
    pthread_mutex_t lock;
    pthread_cond_t finished;
    int submitted, completed, size_index;
    uint64_t bytes;
    char failure[256];
    struct link links[CHAIN_DEPTH];
};

static void chain_read_done(void *user_data, int64_t result);

/* With the chain's lock held: send link's next read, if any are left. */
static void chain_submit(struct link *l)
{
    struct chain *c = l->chain;

    if (c->submitted == CHAIN_READS || c->failure[0])
        return;
    if (c->cursor >= c->size)
        c->cursor = c->start;
    l->offset = c->cursor;
    l->count = chain_sizes[c->size_index++ % CHAIN_SIZES];
    c->cursor += l->count;
    memset(l->buf, 0xee, l->count);
    c->submitted++;
    if (gluvirt_image_aio_read(c->image, l->buf, l->count, l->offset, chain_read_done, l,
                               NULL) < 0) {
        snprintf(c->failure, sizeof c->failure, "submit of %zu at %" PRIu64 ": %s", l->count,
                 l->offset, gluvirt_errmsg());
        c->submitted--;
    }
}

static void chain_check(struct link *l, int64_t result)
{
    struct chain *c = l->chain;
    uint64_t inside = l->offset < c->size ? c->size - l->offset : 0;
    int64_t want = (int64_t)(l->count < inside ? l->count : inside);

    if (result != want) {
        snprintf(c->failure, sizeof c->failure, "read of %zu at %" PRIu64 ": result %" PRId64
                 ", expected %" PRId64, l->count, l->offset, result, want);
        return;
    }
    for (int64_t i = 0; i < result; i++) {
        uint64_t at = l->offset + (uint64_t)i;
        unsigned char expected = at < c->file_end ? pattern_byte(at) : 0;

        if (l->buf[i] != expected) {
            snprintf(c->failure, sizeof c->failure, "read of %zu at %" PRIu64 ": byte %" PRIu64
                     " is 0x%02x, expected 0x%02x", l->count, l->offset, at, l->buf[i],
                     expected);
            return;
        }
    }
    c->bytes += (uint64_t)result;
}

static void chain_read_done(void *user_data, int64_t result)
{
    struct link *l = user_data;
    struct chain *c = l->chain;

    pthread_mutex_lock(&c->lock);
    if (!c->failure[0])
        chain_check(l, result);
    c->completed++;
    chain_submit(l);
    if (c->completed == c->submitted)
        pthread_cond_signal(&c->finished);
    pthread_mutex_unlock(&c->lock);
}

/* Run CHAIN_READS reads on image (opened with one slot more than the
 * chain's depth: a callback holds its slot while it submits). */
static void run_chain(struct chain *c, gluvirt_completion_mode mode)
{
    int64_t deadline = now_ms() + 4 * WAIT_MS, started = now_ms();

    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->finished, NULL);
    c->cursor = c->start;
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < CHAIN_DEPTH; i++) {
        c->links[i].chain = c;
        chain_submit(&c->links[i]);
    }
    if (mode == THREAD) {
        while (c->completed < c->submitted && now_ms() < deadline) {
            struct timespec until;

            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&c->finished, &c->lock, &until);
        }
    } else {
        while (c->completed < c->submitted && now_ms() < deadline) {
            struct pollfd p = {gluvirt_image_completion_fd(c->image), POLLIN, 0};

            pthread_mutex_unlock(&c->lock);
            cr_assert_geq(poll(&p, 1, 100), 0);
            cr_assert_geq(dispatch(c->image), 0, "%s", gluvirt_errmsg());
            pthread_mutex_lock(&c->lock);
        }
    }
    pthread_mutex_unlock(&c->lock);
    cr_assert_eq(c->failure[0], 0, "%s", c->failure);
    cr_assert_eq(c->completed, CHAIN_READS, "%d of %d reads completed within %d ms",
                 c->completed, CHAIN_READS, 4 * WAIT_MS);
    /* The last callback signalled before it returned, and a request counts
     * as in flight until its callback has returned. */
    while (gluvirt_image_in_flight(c->image) > 0 && now_ms() < deadline)
        sleep_ms(1);
    cr_assert_eq(gluvirt_image_in_flight(c->image), 0);
    cr_log_info("%d chained reads, %" PRIu64 " bytes checked in %" PRId64 " ms", CHAIN_READS,
                c->bytes, now_ms() - started);
}

/* The chain's reads went out merged, not merely right: every callback
 * submits the next read of a run that continues the one before, so most of
 * the chain's reads travel in merged storage reads. */
static void expect_merging(uint64_t merged_before, uint64_t parts_before)
{
    uint64_t merged = glv_stat_get(GLV_STAT_MERGED_READS) - merged_before;
    uint64_t parts = glv_stat_get(GLV_STAT_MERGED_REQUESTS) - parts_before;

    cr_log_info("%" PRIu64 " merged storage reads carried %" PRIu64 " of %d requests", merged,
                parts, CHAIN_READS);
    cr_assert_gt(merged, 0, "no storage read carried more than one request");
    cr_assert_geq(parts, CHAIN_READS / 4, "merged reads carried only %" PRIu64 " of %d requests",
                  parts, CHAIN_READS);
}

static void sequential_reads_from_callbacks(const char *name, gluvirt_completion_mode mode)
{
    const char *host = require_gluster();
    char *uri = image_uri(host, name);
    gluvirt_pool *pool = make_pool();
    gluvirt_image *image = open_image(pool, uri, 1, mode, CHAIN_DEPTH + 1);
    struct chain *c = calloc(1, sizeof *c);
    uint64_t merged_before, parts_before;

    cr_assert_not_null(c);
    write_pattern(image, MERGE_IMAGE_SIZE);
    c->image = image;
    c->size = c->file_end = MERGE_IMAGE_SIZE;
    merged_before = glv_stat_get(GLV_STAT_MERGED_READS);
    parts_before = glv_stat_get(GLV_STAT_MERGED_REQUESTS);
    run_chain(c, mode);
    /* 6000 reads of 19 KiB on average go round the 4 MiB image more than
     * once, so reads were cut by its end and started again at 0. */
    cr_assert_gt(c->bytes, 2ull * MERGE_IMAGE_SIZE);
    cr_assert_eq(close_image(image), 0, "%s", gluvirt_errmsg());
    expect_merging(merged_before, parts_before);
    gluvirt_pool_free(pool);
    free(c);
    free(uri);
}

Test(aio_gluster, merged_sequential_reads_thread_mode)
{
    sequential_reads_from_callbacks("merge-thread.raw", THREAD);
}

Test(aio_gluster, merged_sequential_reads_poll_mode)
{
    sequential_reads_from_callbacks("merge-poll.raw", POLL);
}

/* The image keeps the size it had at open; its file ends 300001 bytes
 * earlier, and merged reads there must read zeros with whole counts. */
Test(aio_gluster, merged_reads_beyond_a_file_shrunk_underneath)
{
    const char *host = require_gluster();
    char *uri = image_uri(host, "merge-shrunk.raw");
    gluvirt_pool *pool = make_pool();
    gluvirt_image *image = open_image(pool, uri, 0, THREAD, CHAIN_DEPTH + 1);
    gluvirt_image *shrinker = open_image(pool, uri, 1, THREAD, 0);
    struct chain *c = calloc(1, sizeof *c);
    uint64_t merged_before, parts_before;

    cr_assert_not_null(c);
    write_pattern(shrinker, MERGE_IMAGE_SIZE);
    cr_assert_eq(gluvirt_image_truncate(shrinker, MERGE_IMAGE_SIZE - 300001), 0, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(close_image(shrinker), 0);
    c->image = image;
    c->start = MERGE_IMAGE_SIZE - (1u << 20);
    c->size = MERGE_IMAGE_SIZE;
    c->file_end = MERGE_IMAGE_SIZE - 300001;
    merged_before = glv_stat_get(GLV_STAT_MERGED_READS);
    parts_before = glv_stat_get(GLV_STAT_MERGED_REQUESTS);
    run_chain(c, THREAD);
    cr_assert_eq(close_image(image), 0, "%s", gluvirt_errmsg());
    expect_merging(merged_before, parts_before);
    gluvirt_pool_free(pool);
    free(c);
    free(uri);
}
