/*
 * Fault tests on the three-node pool (tests/cluster/three-node.sh), run by
 * reliability.sh inside the pool's network namespace.  Faults are real:
 * processes killed (or stopped) by pid through the three-node tool.
 *
 *   faults brick-kill VOLUME        a brick killed while writing, then each
 *                                   brick in turn while reading, under sync
 *                                   and callback workers: no error, and the
 *                                   image and the three bricks match the model
 *   faults all-bricks-down VOLUME [kill|stop]
 *                                   every brick killed (or SIGSTOPped, a hung
 *                                   server): I/O fails with an error naming
 *                                   the image, in bounded time (one ping
 *                                   timeout per replica tried); after the
 *                                   bricks return, I/O works again
 *   faults glusterd-down VOLUME     open with servers [n1, n2, n3] while n1's
 *                                   glusterd is dead: the next server serves
 *   faults glusterd-restart VOLUME  each node's glusterd restarted while an
 *                                   idle connection lingers in the pool; the
 *                                   next open works each time
 *
 * Prints "ok:"/"FAIL:" per check and "figure:" lines; exits 1 on a failure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <signal.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "support.h"

#define HOST1 "127.1.1.1"
#define MAX_IO (64u << 10)

static uint64_t seed;
static int faults_survived;
static uint64_t bytes_verified;

static unsigned char *random_model(uint64_t size, uint64_t *state)
{
    unsigned char *model = malloc(size);

    if (!model)
        abort();
    for (uint64_t i = 0; i < size; i++)
        model[i] = (unsigned char)(rel_random(state) >> 24);
    return model;
}

static int write_all(gluvirt_image *image, const unsigned char *data, uint64_t size)
{
    return gluvirt_image_pwrite(image, data, size, 0) == (ssize_t)size &&
                   gluvirt_image_flush(image) == 0
               ? 0
               : -1;
}

static void verify(const char *what, const char *uri, const unsigned char *model, uint64_t size)
{
    char why[512] = "";
    int64_t got = rel_verify_image(uri, model, size, why, sizeof why);

    if (got > 0)
        bytes_verified += (uint64_t)got;
    rel_check(got == (int64_t)size, what, "%s", got > 0 ? "every byte matches the model" : why);
}

/* ------------------------------------------------------------ brick-kill */

#define BK_SIZE (16u << 20)
#define BK_WORKERS 4
#define BK_DEPTH 16

static void report_workers(const char *phase, struct rel_worker *workers, int count,
                           double seconds)
{
    uint64_t by_api[2][3] = {{0}}, verified = 0, written = 0;
    const char *failure = NULL;

    for (int i = 0; i < count; i++) {
        struct rel_worker *w = &workers[i];

        if (w->failure[0] && !failure)
            failure = w->failure;
        by_api[w->api][0] += w->reads;
        by_api[w->api][1] += w->writes;
        by_api[w->api][2] += w->flushes;
        verified += w->bytes_verified;
        written += w->bytes_written;
        w->reads = w->writes = w->flushes = w->bytes_verified = w->bytes_written = 0;
    }
    rel_check(!failure, phase, "%s", failure ? failure : "no error reached the caller");
    bytes_verified += verified;
    rel_note("%s: %.1f s; sync %" PRIu64 " reads %" PRIu64 " writes %" PRIu64
             " flushes; callback %" PRIu64 " reads %" PRIu64 " writes %" PRIu64
             " flushes; %" PRIu64 " bytes read and verified, %" PRIu64 " written",
             phase, seconds, by_api[REL_SYNC][0], by_api[REL_SYNC][1], by_api[REL_SYNC][2],
             by_api[REL_AIO][0], by_api[REL_AIO][1], by_api[REL_AIO][2], verified, written);
    rel_check(by_api[REL_SYNC][0] > 0 && by_api[REL_AIO][0] > 0, phase,
              "both APIs made progress");
    rel_check_latency(phase, workers, count);
}

/* Kill one brick, let I/O run on the other two, bring it back. */
static int brick_fault(const char *volume, int brick)
{
    if (rel_hook("kill-brick %s %d", volume, brick) != 0)
        return -1;
    rel_sleep(1.5);
    if (rel_hook("start-bricks %s", volume) != 0)
        return -1;
    faults_survived++;
    rel_sleep(0.5);
    return 0;
}

/* A new empty qcow2 image at uri (the file rel_create_images left there is
 * replaced), made by the library as a hypervisor would make its disk. */
static int create_qcow2(gluvirt_pool *pool, const char *uri, uint64_t size)
{
    gluvirt_create_options *options = gluvirt_create_options_new();
    int rc = -1;

    if (options && gluvirt_create_options_set_format(options, GLUVIRT_FORMAT_QCOW2) == 0 &&
        gluvirt_create_options_set_overwrite(options, 1) == 0)
        rc = gluvirt_image_create(pool, uri, size, options);
    rel_check(rc == 0, "create the qcow2 image", "%s: %s", uri, rc == 0 ? "" : gluvirt_errmsg());
    gluvirt_create_options_free(options);
    return rc;
}

/* qemu-img check judges the qcow2 image the faults were written into. */
static void qemu_img_check(const char *uri)
{
    char command[1024];
    int status;

    snprintf(command, sizeof command, "qemu-img check -q -f qcow2 '%s' 2>&1", uri);
    status = system(command);
    rel_check(status == 0, "qemu-img check of the qcow2 image", "%s: exit status %d", uri,
              WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* On rep3 a raw image; on the sharded vmstore a qcow2 image, so that the
 * qcow2 writer (allocation, refcounts, L2 updates) meets the brick faults. */
static void brick_kill(const char *volume)
{
    const char *name = strcmp(volume, "vmstore") == 0 ? "brick-kill.qcow2" : "brick-kill.raw";
    char *uri = rel_uri(HOST1, volume, name);
    unsigned char *model = calloc(1, BK_SIZE);
    struct rel_worker workers[BK_WORKERS];
    struct rel_lane lanes[BK_WORKERS];
    atomic_int stop = 0;
    gluvirt_pool *pool;
    gluvirt_image *image;
    /* The brick killed while writing differs per volume. */
    int victim = strcmp(volume, "rep3") == 0 ? 2 : 3;
    double started;

    if (!model || rel_create_images(volume, HOST1, &name, 1, BK_SIZE) != 0)
        return;
    pool = rel_pool_new(volume, 10000);
    if (pool && rel_is_qcow2(uri) && create_qcow2(pool, uri, BK_SIZE) != 0)
        goto out;
    image = pool ? rel_open(pool, uri, 1, BK_WORKERS * BK_DEPTH) : NULL;
    rel_check(image != NULL, "open", "%s: %s", uri, image ? "opened" : gluvirt_errmsg());
    if (!image)
        goto out;

    memset(workers, 0, sizeof workers);
    for (int i = 0; i < BK_WORKERS; i++) {
        struct rel_worker *w = &workers[i];

        w->api = i % 2 ? REL_SYNC : REL_AIO;
        if (rel_lane_init(&lanes[i], image, model, (uint64_t)i * (BK_SIZE / BK_WORKERS),
                          BK_SIZE / BK_WORKERS, w->api == REL_AIO ? BK_DEPTH : 0, MAX_IO) != 0)
            abort();
        lanes[i].name = uri;
        w->lanes = &lanes[i];
        w->lane_count = 1;
        w->seed = seed * 7919u + (uint64_t)i + 1;
        w->write_percent = 50;
        w->max_io = MAX_IO;
        w->stop = &stop;
    }

    /* Writing (half the requests), with brick `victim` killed. */
    started = rel_now();
    if (rel_workers_start(workers, BK_WORKERS) != 0)
        abort();
    rel_sleep(1.5);
    brick_fault(volume, victim);
    rel_workers_stop(workers, BK_WORKERS);
    report_workers("brick killed while writing", workers, BK_WORKERS, rel_now() - started);
    rel_check(gluvirt_image_flush(image) == 0, "flush after the write phase", "%s",
              gluvirt_errmsg());
    /* Self-heal brings the restarted brick up to date. */
    rel_check(rel_hook("agree %s 60", volume) == 0, "bricks agree after the write phase", "%s", "");

    /* Reading only: every brick killed in turn, so the one serving reads is. */
    for (int i = 0; i < BK_WORKERS; i++)
        workers[i].write_percent = 0;
    stop = 0;
    started = rel_now();
    if (rel_workers_start(workers, BK_WORKERS) != 0)
        abort();
    for (int brick = 1; brick <= 3; brick++) {
        /* The brick back from the last fault must really serve (and have
         * healed) before the next one goes: two down is below quorum. */
        if (rel_hook("settle %s", volume) != 0)
            break;
        rel_sleep(0.5);
        if (brick_fault(volume, brick) != 0)
            break;
    }
    rel_workers_stop(workers, BK_WORKERS);
    report_workers("bricks killed while reading", workers, BK_WORKERS, rel_now() - started);

    rel_check(gluvirt_image_close(image) == 0, "close", "%s", gluvirt_errmsg());
    verify("the image after the brick faults", uri, model, BK_SIZE);
    if (rel_is_qcow2(uri))
        qemu_img_check(uri);
    rel_check(rel_hook("agree %s 60", volume) == 0, "bricks agree at the end", "%s", "");
    for (int i = 0; i < BK_WORKERS; i++)
        rel_lane_destroy(&lanes[i]);
out:
    gluvirt_pool_free(pool);
    free(model);
    free(uri);
}

/* ------------------------------------------------------------ all-bricks-down */

#define AD_SIZE (4u << 20)
#define AD_BLOCK (64u << 10)

static volatile int aio_done;
static volatile int64_t aio_result;

static void on_complete(void *user_data, int64_t result)
{
    (void)user_data;
    aio_result = result;
    __atomic_store_n(&aio_done, 1, __ATOMIC_SEQ_CST);
}

/* An aio read; returns its result, or INT64_MIN when it did not complete
 * within limit seconds (then *took is the limit). */
static int64_t aio_read_within(gluvirt_image *image, void *buf, uint64_t offset, double limit,
                               double *took)
{
    double start = rel_now();

    aio_done = 0;
    if (gluvirt_image_aio_read(image, buf, AD_BLOCK, offset, on_complete, NULL, NULL) != 0) {
        *took = rel_now() - start;
        return -(int64_t)gluvirt_errno();
    }
    while (!__atomic_load_n(&aio_done, __ATOMIC_SEQ_CST)) {
        if (rel_now() - start > limit) {
            *took = limit;
            return INT64_MIN;
        }
        rel_sleep(0.005);
    }
    *took = rel_now() - start;
    return aio_result;
}

static int clear_error(int err, const char *message, const char *name)
{
    return err != 0 && strstr(message, name) != NULL && strstr(message, strerror(err)) != NULL;
}

static void all_bricks_down(const char *volume, const char *how)
{
    const char *name = "all-down.raw";
    char *uri = rel_uri(HOST1, volume, name);
    int hung = strcmp(how, "stop") == 0;
    /* A killed brick closes its sockets: the client knows at once.  A hung
     * one is given up by the ping timer about one ping timeout after the
     * client last sent it something, and a read tries the three replicas
     * in turn: up to three ping timeouts (measured: 14.5 s at 5 s, where
     * replication's changelog traffic no longer reaches all three bricks
     * just before they hang). */
    double limit = hung ? 3 * rel_ping_timeout() + 2 : rel_ping_timeout();
    uint64_t state = seed;
    unsigned char *model = random_model(AD_SIZE, &state);
    unsigned char *buf = malloc(AD_BLOCK);
    gluvirt_pool *pool = NULL;
    gluvirt_image *image = NULL;
    double start, took, worst = 0;
    ssize_t got;
    int64_t result;
    char what[128];

    if (!buf || rel_create_images(volume, HOST1, &name, 1, AD_SIZE) != 0)
        goto out;
    pool = rel_pool_new(volume, 10000);
    image = pool ? rel_open(pool, uri, 1, 0) : NULL;
    rel_check(image && write_all(image, model, AD_SIZE) == 0, "write and flush before the fault",
              "%s", gluvirt_errmsg());
    if (!image)
        goto out;

    for (int brick = 1; brick <= 3; brick++)
        if (rel_hook("kill-brick %s %d %s", volume, brick, hung ? "STOP" : "KILL") != 0)
            goto restore;
    rel_note("all three bricks of %s %s; errors expected within %.1f s", volume,
             hung ? "stopped (SIGSTOP)" : "killed", limit);

    start = rel_now();
    got = gluvirt_image_pread(image, buf, AD_BLOCK, AD_BLOCK);
    took = rel_now() - start;
    worst = took;
    snprintf(what, sizeof what, "sync read with every brick %s", hung ? "hung" : "dead");
    rel_check(got < 0 && took <= limit + 0.5 &&
                  clear_error(gluvirt_errno(), gluvirt_errmsg(), name),
              what, "%zd after %.2f s, errno %d: %s", got, took, gluvirt_errno(),
              got < 0 ? gluvirt_errmsg() : "(data)");

    result = aio_read_within(image, buf, 2 * AD_BLOCK, limit + 5, &took);
    worst = took > worst ? took : worst;
    snprintf(what, sizeof what, "callback read with every brick %s", hung ? "hung" : "dead");
    rel_check(result < 0 && result != INT64_MIN && took <= limit + 0.5, what,
              "result %" PRId64 " (%s) after %.2f s",
              result == INT64_MIN ? 0 : result,
              result == INT64_MIN ? "no completion" : result < 0 ? strerror((int)-result) : "data",
              took);

    /* A write of the bytes the block already holds: whether write-behind
     * takes it or not, the model stays right.  Write and flush must return,
     * and the pair must not report success. */
    start = rel_now();
    got = gluvirt_image_pwrite(image, model + 3 * AD_BLOCK, AD_BLOCK, 3 * AD_BLOCK);
    {
        int write_errno = got < 0 ? gluvirt_errno() : 0;
        int flushed = gluvirt_image_flush(image);

        took = rel_now() - start;
        worst = took > worst ? took : worst;
        snprintf(what, sizeof what, "write and flush with every brick %s", hung ? "hung" : "dead");
        rel_check((got < 0 || flushed < 0) && took <= 2 * limit + 0.5, what,
                  "write %s (errno %d), flush %s after %.2f s: %s", got < 0 ? "failed" : "taken",
                  write_errno, flushed < 0 ? "failed" : "succeeded", took, gluvirt_errmsg());
    }
    rel_figure("all_bricks_down_slowest_error_seconds", "%.2f (%s, limit %.1f)", worst, how,
               limit);

restore:
    if (hung)
        for (int brick = 1; brick <= 3; brick++)
            rel_hook("cont-brick %s %d", volume, brick);
    rel_check(rel_hook("start-bricks %s", volume) == 0, "bricks back", "%s", "");
    faults_survived++;

    /* The same handle reads again, and reads what was written before. */
    start = rel_now();
    got = gluvirt_image_pread(image, buf, AD_BLOCK, AD_BLOCK);
    rel_check(got == AD_BLOCK && memcmp(buf, model + AD_BLOCK, AD_BLOCK) == 0,
              "sync read on the same handle after the bricks returned", "%zd after %.2f s%s%s",
              got, rel_now() - start, got < 0 ? ": " : "", got < 0 ? gluvirt_errmsg() : "");
    result = aio_read_within(image, buf, 2 * AD_BLOCK, 30, &took);
    rel_check(result == AD_BLOCK && memcmp(buf, model + 2 * AD_BLOCK, AD_BLOCK) == 0,
              "callback read on the same handle after the bricks returned",
              "result %" PRId64 " after %.2f s", result == INT64_MIN ? 0 : result, took);
    /* Writes through the same handle stay refused after a failed flush (the
     * data may be lost; see README); a new open writes. */
    got = gluvirt_image_pwrite(image, model, AD_BLOCK, 0);
    rel_note("a write on the same handle after the outage: %s",
             got == AD_BLOCK ? "accepted" : gluvirt_errmsg());
    gluvirt_image_close(image);
    image = rel_open(pool, uri, 1, 0);
    {
        uint64_t block = 5 * AD_BLOCK;

        for (uint32_t i = 0; i < AD_BLOCK; i++)
            model[block + i] = (unsigned char)(rel_random(&state) >> 32);
        got = image ? gluvirt_image_pwrite(image, model + block, AD_BLOCK, block) : -1;
        rel_check(got == AD_BLOCK && gluvirt_image_flush(image) == 0 &&
                      gluvirt_image_close(image) == 0,
                  "write, flush and close through a new open after the bricks returned", "%s",
                  got == AD_BLOCK ? "" : gluvirt_errmsg());
        image = NULL;
    }
    verify("the image after every brick came back", uri, model, AD_SIZE);
out:
    gluvirt_image_close(image);
    gluvirt_pool_free(pool);
    free(buf);
    free(model);
    free(uri);
}

/* ------------------------------------------------------------ glusterd-down */

#define GD_SIZE (1u << 20)

static gluvirt_uri *three_servers(const char *volume, const char *name)
{
    gluvirt_uri *uri = gluvirt_uri_new(volume, name);

    if (!uri || gluvirt_uri_add_tcp_server(uri, "127.1.1.1", 0) != 0 ||
        gluvirt_uri_add_tcp_server(uri, "127.1.1.2", 0) != 0 ||
        gluvirt_uri_add_tcp_server(uri, "127.1.1.3", 0) != 0) {
        rel_check(0, "URI", "%s", gluvirt_errmsg());
        gluvirt_uri_free(uri);
        return NULL;
    }
    return uri;
}

/* Connect through a new pool: the pool's own failover, under the image. */
static void connect_only(const char *what, const gluvirt_uri *where)
{
    gluvirt_pool *pool = rel_pool_new("glusterd-down", 0);
    gluvirt_connection *connection = NULL;
    double start = rel_now(), took;

    if (pool)
        connection = gluvirt_pool_connect(pool, where);
    took = rel_now() - start;
    rel_check(connection != NULL, what, "%s after %.2f s%s%s", connection ? "connected" : "failed",
              took, connection ? "" : ": ", connection ? "" : gluvirt_errmsg());
    gluvirt_connection_release(connection);
    gluvirt_pool_free(pool);
}

/* Open through a new pool, write the whole image, read it back. */
static void open_and_use(const char *what, const gluvirt_uri *where, unsigned char *model,
                         uint64_t *state)
{
    gluvirt_pool *pool = rel_pool_new("glusterd-down", 0);
    gluvirt_open_options *options = gluvirt_open_options_new();
    unsigned char *back = malloc(GD_SIZE);
    gluvirt_image *image = NULL;
    double start = rel_now(), took;

    if (pool && options && back && gluvirt_open_options_set_writable(options, 1) == 0)
        image = gluvirt_image_open_uri(pool, where, options);
    took = rel_now() - start;
    rel_check(image != NULL, what, "%s after %.2f s%s%s", image ? "opened" : "failed", took,
              image ? "" : ": ", image ? "" : gluvirt_errmsg());
    if (image) {
        for (uint64_t i = 0; i < GD_SIZE; i++)
            model[i] = (unsigned char)(rel_random(state) >> 40);
        rel_check(write_all(image, model, GD_SIZE) == 0 &&
                      gluvirt_image_pread(image, back, GD_SIZE, 0) == GD_SIZE &&
                      memcmp(back, model, GD_SIZE) == 0,
                  "write and read back through that connection", "%s", gluvirt_errmsg());
        bytes_verified += GD_SIZE;
        rel_check(gluvirt_image_close(image) == 0, "close", "%s", gluvirt_errmsg());
    }
    rel_figure("failover_open_seconds", "%.2f (%s)", took, what);
    gluvirt_open_options_free(options);
    gluvirt_pool_free(pool);
    free(back);
}

static void glusterd_down(const char *volume)
{
    const char *name = "glusterd-down.raw";
    gluvirt_uri *where = three_servers(volume, name);
    char *uri = rel_uri("127.1.1.3", volume, name);
    unsigned char *model = calloc(1, GD_SIZE);
    uint64_t state = seed ^ 0x9d;

    if (!where || !model || rel_create_images(volume, HOST1, &name, 1, GD_SIZE) != 0)
        goto out;
    /* One node's glusterd only: a new client also needs each brick's
     * glusterd to learn the brick's port, so with two dead it would reach
     * one brick of three, below the client quorum. */
    if (rel_hook("kill-glusterd 1") == 0) {
        faults_survived++;
        connect_only("pool connect with servers [n1, n2, n3], n1's glusterd dead", where);
        open_and_use("open with servers [n1, n2, n3], n1's glusterd dead", where, model, &state);
        rel_check(rel_hook("start-glusterd 1") == 0, "restart n1's glusterd", "%s", "");
    }
    verify("the image after the glusterd faults", uri, model, GD_SIZE);
out:
    gluvirt_uri_free(where);
    free(model);
    free(uri);
}

/* ------------------------------------------------------------ glusterd-restart */

static void glusterd_restart(const char *volume)
{
    const char *name = "glusterd-restart.raw";
    char *uri = rel_uri(HOST1, volume, name);
    /* Linger far longer than the test: the connection stays idle in the pool. */
    gluvirt_pool *pool = NULL;
    unsigned char *model = calloc(1, GD_SIZE), *back = malloc(GD_SIZE);
    uint64_t state = seed ^ 0x51;

    if (!model || !back || rel_create_images(volume, HOST1, &name, 1, GD_SIZE) != 0)
        goto out;
    pool = rel_pool_new("glusterd-restart", 600000);
    for (int round = 0; round <= 3 && pool; round++) {
        /* Round 0 opens the connection; rounds 1-3 restart node `round`'s
         * glusterd while it is idle, then open again. */
        int64_t hits = gluvirt_pool_stat(pool, GLUVIRT_POOL_HITS);
        gluvirt_image *image;
        double start;
        char what[128];

        if (round > 0) {
            rel_check(gluvirt_pool_stat(pool, GLUVIRT_POOL_IDLE) == 1,
                      "the connection lingers idle", "%" PRId64 " idle",
                      gluvirt_pool_stat(pool, GLUVIRT_POOL_IDLE));
            if (rel_hook("kill-glusterd %d", round) != 0 ||
                rel_hook("start-glusterd %d", round) != 0)
                break;
            faults_survived++;
        }
        start = rel_now();
        image = rel_open(pool, uri, 1, 0);
        if (round)
            snprintf(what, sizeof what, "open after node %d's glusterd restarted", round);
        else
            snprintf(what, sizeof what, "open after nothing");
        rel_check(image != NULL, what, "%s after %.2f s (%s)",
                  image ? "opened" : gluvirt_errmsg(), rel_now() - start,
                  gluvirt_pool_stat(pool, GLUVIRT_POOL_HITS) > hits ? "the idle connection reused"
                                                                     : "a new connection");
        if (!image)
            continue;
        for (uint64_t i = 0; i < GD_SIZE; i += 4096)
            memset(model + i, (int)(rel_random(&state) & 0xff), 4096);
        rel_check(write_all(image, model, GD_SIZE) == 0 &&
                      gluvirt_image_pread(image, back, GD_SIZE, 0) == GD_SIZE &&
                      memcmp(back, model, GD_SIZE) == 0,
                  "write and read back", "%s", gluvirt_errmsg());
        bytes_verified += GD_SIZE;
        rel_check(gluvirt_image_close(image) == 0, "close", "%s", gluvirt_errmsg());
    }
    rel_figure("pool_hits_after_restarts", "%" PRId64 " of 3 reopens",
               pool ? gluvirt_pool_stat(pool, GLUVIRT_POOL_HITS) : 0);
    verify("the image after the glusterd restarts", uri, model, GD_SIZE);
out:
    gluvirt_pool_free(pool);
    free(model);
    free(back);
    free(uri);
}

int main(int argc, char **argv)
{
    double start = rel_now();

    /* A gluster server that goes away under a write raises SIGPIPE on
     * whichever thread writes its socket; hosts of gfapi ignore it. */
    signal(SIGPIPE, SIG_IGN);

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 3) {
        fprintf(stderr, "usage: faults brick-kill|all-bricks-down|glusterd-down|glusterd-restart "
                        "VOLUME [kill|stop]\n");
        return 2;
    }
    seed = rel_seed();
    rel_note("%s on %s, seed %" PRIu64 " (GLUVIRT_TEST_SEED replays it)", argv[1], argv[2], seed);
    /* Every scenario starts from a volume whose bricks all serve with
     * nothing left to heal, whatever the step before did. */
    if (rel_hook("settle %s", argv[2]) != 0)
        return 1;
    if (strcmp(argv[1], "brick-kill") == 0)
        brick_kill(argv[2]);
    else if (strcmp(argv[1], "all-bricks-down") == 0)
        all_bricks_down(argv[2], argc > 3 ? argv[3] : "kill");
    else if (strcmp(argv[1], "glusterd-down") == 0)
        glusterd_down(argv[2]);
    else if (strcmp(argv[1], "glusterd-restart") == 0)
        glusterd_restart(argv[2]);
    else {
        fprintf(stderr, "faults: unknown scenario '%s'\n", argv[1]);
        return 2;
    }
    rel_figure("faults_survived", "%d", rel_failures() ? 0 : faults_survived);
    rel_figure("bytes_verified", "%" PRIu64, bytes_verified);
    rel_figure("seconds", "%.1f", rel_now() - start);
    return rel_failures() ? 1 : 0;
}
