/* Shared by the test_image_aio suites: set-up, helpers and request records. */
#ifndef GLUVIRT_TESTS_TEST_IMAGE_AIO_SUPPORT_H
#define GLUVIRT_TESTS_TEST_IMAGE_AIO_SUPPORT_H

#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

/*
 * Callback I/O (gluvirt_image_aio_*) on the real test volume gv2 (from
 * tests/cluster/test-volumes.sh), where raw reads and writes go through
 * gfapi's own asynchronous calls and their completions arrive on gfapi's
 * threads:
 *
 *   - eight threads on one image, half through pread/pwrite, half through
 *     callbacks, checked against a model and then through a second client;
 *   - close with 128 requests in flight, in both completion modes, and 200
 *     quick open-read-close rounds after which nothing may touch the image;
 *   - 10000 small reads at queue depth 32: every complete and release
 *     counted, none on gfapi's threads;
 *   - reads at the end of an image whose size is not a multiple of 512, and
 *     beyond the end of a file another handle shrank;
 *   - submits that must fail (read-only image, also from inside a callback;
 *     past the end; NULL);
 *   - sequential reads that callbacks submit, which the engine merges into
 *     larger storage reads: every byte checked, also past the end of a
 *     file shrunk underneath.
 *
 * libgluvirt cannot create images yet: before the first test the runner
 * starts one 'qemu-img create' per image, all at once (each costs about
 * 10 s of glfs_fini).  The names carry the runner's pid; at the end the
 * images are emptied, since the library cannot delete files either.
 *
 * Run inside the cluster's network namespace with the lines of
 * /tmp/gluvirt-cluster/env in the environment.  Without the volumes the
 * tests skip, or fail when GLUVIRT_REQUIRE_GLUSTER=1 (CI).
 * Set GLUVIRT_TEST_SEED to replay a failing random run.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <gluvirt/gluvirt.h>

#define VOLUME "gv2"
#define THREAD GLUVIRT_COMPLETION_THREAD
#define POLL GLUVIRT_COMPLETION_POLL

/* How long any wait for callbacks may take before the test calls it a hang. */
#define WAIT_MS 30000

#define INTEGRITY_THREADS 8
#define INTEGRITY_REGION (2u << 20)
#define ODD_SIZE 1000003u /* not a multiple of 512 */
#define COUNT_IMAGE_SIZE (1u << 20)
#define MERGE_IMAGE_SIZE (4u << 20)

/* The images this program's tests use, which its runner makes before the
 * tests and empties after them: AIO_TEST_IMAGES, defined before this header
 * is included, lists them as {name, size}, entries each followed by a comma
 * (none: the program makes its own).  Each test has its own image, so tests
 * may run in parallel; qemu-img makes them full of zeros. */
#ifndef AIO_TEST_IMAGES
#define AIO_TEST_IMAGES
#endif
static const struct {
    const char *name;
    uint64_t size;
} images[] = {AIO_TEST_IMAGES {NULL, 0}}; /* ends with a NULL name */

/* ------------------------------------------------------------ environment */

static int gluster_required(void)
{
    const char *value = getenv("GLUVIRT_REQUIRE_GLUSTER");

    return value && strcmp(value, "1") == 0;
}

/* Whether something listens on glusterd's port: outside the namespace the
 * address does not exist and the tests would wait for a connect timeout. */
static int glusterd_listens(const char *host)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(24007)};
    int fd, ok;

    if (inet_pton(AF_INET, host, &address.sin_addr) != 1)
        return 1; /* a name: the library will say what is wrong with it */
    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return 0;
    ok = connect(fd, (struct sockaddr *)&address, sizeof address) == 0;
    close(fd);
    return ok;
}

static const char *reachable_host(void)
{
    const char *host = getenv("GLUVIRT_TEST_HOST");

    return host && *host && glusterd_listens(host) ? host : NULL;
}

/* The test host, or the test skips (fails under GLUVIRT_REQUIRE_GLUSTER=1). */
static const char *require_gluster(void)
{
    const char *host = reachable_host();
    const char *why = "the gluster test volumes are not reachable: start them with "
                      "tests/cluster/test-volumes.sh up, put the lines of "
                      "/tmp/gluvirt-cluster/env in the environment and run inside the "
                      "namespace (ip netns exec gluvirt ...)";

    if (!host) {
        if (gluster_required())
            cr_assert_fail("%s (GLUVIRT_REQUIRE_GLUSTER=1)", why);
        cr_skip_test("%s", why);
    }
    return host;
}

/* gluster://host/gv2/gluvirt-aio-test-<runner pid>-name; the runner passes
 * its pid to the test processes in the environment. */
static char *image_uri(const char *host, const char *name)
{
    const char *tag = getenv("GLUVIRT_AIO_TEST_TAG");
    char *uri;

    cr_assert_neq(asprintf(&uri, "gluster://%s/%s/gluvirt-aio-test-%s-%s", host, VOLUME,
                           tag ? tag : "untagged", name), -1);
    return uri;
}

/* ------------------------------------------------------------ the images, once */

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    const char *host = reachable_host();
    char tag[32], *script = NULL;
    size_t length = 0;
    FILE *out;

    (void)set;
    snprintf(tag, sizeof tag, "%ld", (long)getpid());
    setenv("GLUVIRT_AIO_TEST_TAG", tag, 1);
    if (!images[0].name || !host || !(out = open_memstream(&script, &length)))
        return; /* none to make, or each test reports why it cannot run */
    /* qemu-img's gfapi logs end up on stderr while it finishes: keep them
     * out of the test output unless qemu-img fails. */
    fputs("logs=$(mktemp -d) || exit 1\nfailed=0\n", out);
    for (size_t i = 0; images[i].name; i++)
        fprintf(out, "qemu-img create -q -f raw 'gluster://%s/%s/gluvirt-aio-test-%s-%s' "
                     "%" PRIu64 " 2>\"$logs/%zu\" &\npids=\"$pids $!\"\n",
                host, VOLUME, tag, images[i].name, images[i].size, i);
    fputs("i=0\nfor pid in $pids; do\n"
          "  wait $pid || { echo \"test_image_aio: qemu-img create (image $i) failed:\";"
          " cat \"$logs/$i\"; failed=1; } >&2\n"
          "  i=$((i + 1))\ndone\nrm -rf \"$logs\"\nexit $failed\n",
          out);
    fclose(out);
    if (system(script) != 0)
        fprintf(stderr, "test_image_aio: could not create every test image on %s\n", VOLUME);
    free(script);
}

/* Empty the images: the volume keeps only empty files from this run. */
ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    const char *host = reachable_host();
    const char *tag = getenv("GLUVIRT_AIO_TEST_TAG");
    gluvirt_pool_options *pool_options = gluvirt_pool_options_new();
    gluvirt_open_options *options = gluvirt_open_options_new();
    gluvirt_pool *pool = NULL;

    (void)stats;
    if (images[0].name && host && tag && pool_options && options &&
        gluvirt_pool_options_set_exit_wait(pool_options, 0) == 0 &&
        gluvirt_open_options_set_writable(options, 1) == 0 &&
        (pool = gluvirt_pool_new(pool_options)) != NULL) {
        for (size_t i = 0; images[i].name; i++) {
            char *uri;
            gluvirt_image *image;

            if (asprintf(&uri, "gluster://%s/%s/gluvirt-aio-test-%s-%s", host, VOLUME, tag,
                         images[i].name) < 0)
                break;
            if ((image = gluvirt_image_open(pool, uri, options)) != NULL) {
                gluvirt_image_truncate(image, 0);
                gluvirt_image_close(image);
            }
            free(uri);
        }
    }
    gluvirt_pool_free(pool);
    gluvirt_open_options_free(options);
    gluvirt_pool_options_free(pool_options);
}

TestSuite(aio_gluster, .timeout = 120);

/* ------------------------------------------------------------ helpers */

static gluvirt_pool *make_pool(void)
{
    gluvirt_pool *pool = gluvirt_pool_new(NULL);

    cr_assert_not_null(pool, "%s", gluvirt_errmsg());
    return pool;
}

/* depth 0: the default queue depth. */
static gluvirt_image *open_image(gluvirt_pool *pool, const char *uri, int writable,
                                 gluvirt_completion_mode mode, unsigned depth)
{
    gluvirt_open_options *options = gluvirt_open_options_new();
    gluvirt_image *image;

    cr_assert_not_null(options);
    cr_assert_eq(gluvirt_open_options_set_writable(options, writable), 0);
    cr_assert_eq(gluvirt_open_options_set_completion(options, mode), 0, "%s", gluvirt_errmsg());
    if (depth)
        cr_assert_eq(gluvirt_open_options_set_queue_depth(options, depth), 0, "%s",
                     gluvirt_errmsg());
    image = gluvirt_image_open(pool, uri, options);
    gluvirt_open_options_free(options);
    cr_assert_not_null(image, "open %s: %s (did qemu-img create it before the tests?)", uri,
                       gluvirt_errmsg());
    return image;
}

static void assert_error(int expected, const char *fragment)
{
    cr_assert_eq(gluvirt_errno(), expected, "errno %d (%s), expected %d (%s); message: %s",
                 gluvirt_errno(), strerror(gluvirt_errno()), expected, strerror(expected),
                 gluvirt_errmsg());
    if (fragment)
        cr_assert(strstr(gluvirt_errmsg(), fragment) != NULL, "message '%s' lacks '%s'",
                  gluvirt_errmsg(), fragment);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static unsigned char pattern_byte(uint64_t offset)
{
    return (unsigned char)((offset * 2246822519u) >> 13 ^ offset >> 10 ^ 0x3c);
}

/* Fill [0, size) with pattern_byte through the synchronous path. */
static void write_pattern(gluvirt_image *image, uint64_t size)
{
    unsigned char *buf = malloc(size);

    cr_assert_not_null(buf);
    for (uint64_t i = 0; i < size; i++)
        buf[i] = pattern_byte(i);
    cr_assert_eq(gluvirt_image_pwrite(image, buf, size, 0), (ssize_t)size, "%s",
                 gluvirt_errmsg());
    free(buf);
}

/* ------------------------------------------------------------ request records */

/* Set around gluvirt_image_dispatch and close, for POLL mode's callbacks to
 * say where they ran. */
enum context { CONTEXT_NONE, CONTEXT_DISPATCH, CONTEXT_CLOSE };
static __thread enum context current_context;

static atomic_long stamp;

/* What happened to one request; the test reads it once release has run. */
struct record {
    atomic_int completes;
    atomic_int releases;
    long complete_stamp;
    long release_stamp;
    int64_t result;
    pthread_t complete_thread;
    enum context complete_context;
    char complete_thread_name[16];
};

static void record_complete(void *user_data, int64_t result)
{
    struct record *r = user_data;

    r->result = result;
    r->complete_thread = pthread_self();
    r->complete_context = current_context;
    if (pthread_getname_np(pthread_self(), r->complete_thread_name,
                           sizeof r->complete_thread_name) != 0)
        strcpy(r->complete_thread_name, "?");
    r->complete_stamp = atomic_fetch_add(&stamp, 1) + 1;
    atomic_fetch_add(&r->completes, 1);
}

static void record_release(void *user_data)
{
    struct record *r = user_data;

    r->release_stamp = atomic_fetch_add(&stamp, 1) + 1;
    atomic_fetch_add(&r->releases, 1);
}

static int dispatch(gluvirt_image *image)
{
    int ran;

    current_context = CONTEXT_DISPATCH;
    ran = gluvirt_image_dispatch(image);
    current_context = CONTEXT_NONE;
    return ran;
}

static int close_image(gluvirt_image *image)
{
    int rc;

    current_context = CONTEXT_CLOSE;
    rc = gluvirt_image_close(image);
    current_context = CONTEXT_NONE;
    return rc;
}

static int all_released(struct record *records, int count)
{
    for (int i = 0; i < count; i++)
        if (atomic_load(&records[i].releases) == 0)
            return 0;
    return 1;
}

static void wait_released(gluvirt_image *image, gluvirt_completion_mode mode,
                          struct record *records, int count)
{
    int64_t deadline = now_ms() + WAIT_MS;

    while (!all_released(records, count)) {
        cr_assert_lt(now_ms(), deadline, "callbacks did not arrive within %d ms", WAIT_MS);
        if (mode == THREAD) {
            sleep_ms(1);
        } else {
            struct pollfd p = {gluvirt_image_completion_fd(image), POLLIN, 0};

            cr_assert_geq(p.fd, 0, "%s", gluvirt_errmsg());
            cr_assert_geq(poll(&p, 1, 100), 0, "%s", strerror(errno));
            cr_assert_geq(dispatch(image), 0, "%s", gluvirt_errmsg());
        }
    }
}

static void assert_lifetime(const struct record *r, int index)
{
    cr_assert_eq(atomic_load(&r->completes), 1, "request %d: complete ran %d times", index,
                 atomic_load(&r->completes));
    cr_assert_eq(atomic_load(&r->releases), 1, "request %d: release ran %d times", index,
                 atomic_load(&r->releases));
    cr_assert_lt(r->complete_stamp, r->release_stamp,
                 "request %d: release ran before complete", index);
}

/* Not on gfapi's threads, which it names glfs_*. */
static void assert_not_on_gfapi_thread(const struct record *r, int index)
{
    cr_assert(strncmp(r->complete_thread_name, "glfs", 4) != 0,
              "request %d completed on gfapi's thread '%s'", index, r->complete_thread_name);
}

enum op { OP_READ, OP_WRITE, OP_FLUSH, OP_DISCARD, OP_ZEROES, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"read", "write", "flush", "discard",
                                               "write_zeroes"};

static int submit(gluvirt_image *image, enum op op, void *buf, size_t count, uint64_t offset,
                  struct record *r)
{
    switch (op) {
    case OP_READ:
        return gluvirt_image_aio_read(image, buf, count, offset, record_complete, r,
                                      record_release);
    case OP_WRITE:
        return gluvirt_image_aio_write(image, buf, count, offset, record_complete, r,
                                       record_release);
    case OP_FLUSH:
        return gluvirt_image_aio_flush(image, record_complete, r, record_release);
    case OP_DISCARD:
        return gluvirt_image_aio_discard(image, offset, count, record_complete, r,
                                         record_release);
    default:
        return gluvirt_image_aio_write_zeroes(image, offset, count, record_complete, r,
                                              record_release);
    }
}


#endif
