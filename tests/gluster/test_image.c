/*
 * The synchronous image API on the real test volume gv0 (from
 * tests/cluster/test-volumes.sh): eight threads writing and reading one
 * image at once, checked against a model through a second client; unaligned
 * transfers; the end of the image; an image whose size is not a multiple of
 * 512; the error paths; format probing on the volume.
 *
 * libgluvirt cannot create images yet, so qemu-img creates them before the
 * first test: one 'qemu-img create' per image, all at once (each costs about
 * 10 s of glfs_fini).  Their names carry the runner's pid; at the end they
 * are emptied (the library cannot delete files either).
 *
 * Run inside the cluster's network namespace.  Without the volumes the
 * tests skip, or fail when GLUVIRT_REQUIRE_GLUSTER=1 (CI).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <gluvirt/gluvirt.h>

#define VOLUME "gv0"
#define THREADS 8
#define THREAD_REGION (8u << 20)

/* The images the tests use, created by qemu-img before the first test.
 * qemu-img rounds raw sizes up to 512 bytes; odd.raw gets its odd size
 * from the library. */
static const struct {
    const char *name;
    uint64_t size;
} images[] = {
    {"threads.raw", (uint64_t)THREADS * THREAD_REGION},
    {"unaligned.raw", 4u << 20},
    {"end.raw", 1u << 20},
    {"odd.raw", 1000448},
    {"readonly.raw", 65536},
    {"zeroes.raw", 3u << 20},
    {"probe.raw", 65536},
};

/* ------------------------------------------------------------ environment */

static int gluster_required(void)
{
    const char *require = getenv("GLUVIRT_REQUIRE_GLUSTER");

    return require != NULL && strcmp(require, "1") == 0;
}

/* Without GLUVIRT_TEST_HOST in the environment, read the env file that
 * gluster-cluster.sh writes (lines "export NAME='value'"). */
static void load_cluster_env_file(void)
{
    const char *base = getenv("GLUVIRT_CLUSTER_BASE");
    char path[512], line[1024];
    FILE *file;

    if (getenv("GLUVIRT_TEST_HOST") != NULL)
        return;
    snprintf(path, sizeof path, "%s/env", base != NULL ? base : "/tmp/gluvirt-cluster");
    if ((file = fopen(path, "r")) == NULL)
        return;
    while (fgets(line, sizeof line, file) != NULL) {
        char *name = line, *value, *end;

        if (strncmp(name, "export ", 7) == 0)
            name += 7;
        if ((value = strchr(name, '=')) == NULL)
            continue;
        *value++ = '\0';
        if (*value == '\'')
            value++;
        end = value + strcspn(value, "'\n");
        *end = '\0';
        setenv(name, value, 0);
    }
    fclose(file);
}

/* True when glusterd accepts TCP connections on host:24007. */
static int glusterd_answers(const char *host)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(24007)};
    int fd, ok;

    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        return 1; /* not an IPv4 literal: let the library find out */
    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return 0;
    ok = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    close(fd);
    return ok;
}

/* The test host, or NULL when the volumes are not reachable from here. */
static const char *test_host(void)
{
    const char *host;

    load_cluster_env_file();
    host = getenv("GLUVIRT_TEST_HOST");
    return host != NULL && *host != '\0' && glusterd_answers(host) ? host : NULL;
}

/* The test host, or the test skips (fails under GLUVIRT_REQUIRE_GLUSTER=1). */
static const char *require_gluster(void)
{
    const char *host = test_host();
    const char *why = "no gluster test volumes reachable: start them with "
                      "tests/cluster/test-volumes.sh up and run inside their network namespace "
                      "(ip netns exec gluvirt ...)";

    if (host == NULL) {
        if (gluster_required())
            cr_assert_fail("%s (GLUVIRT_REQUIRE_GLUSTER=1)", why);
        cr_skip_test("%s", why);
    }
    return host;
}

/* The path on gv0 of the test image name, tagged with the runner's pid
 * (the runner passes it to the test processes in the environment). */
static char *image_path(const char *name)
{
    const char *tag = getenv("GLUVIRT_IMAGE_TEST_TAG");
    char *path;

    cr_assert_neq(asprintf(&path, "gluvirt-image-test-%s-%s", tag ? tag : "none", name), -1);
    return path;
}

static char *image_uri(const char *host, const char *name)
{
    char *path = image_path(name), *uri;

    cr_assert_neq(asprintf(&uri, "gluster://%s/%s/%s", host, VOLUME, path), -1);
    free(path);
    return uri;
}

/* ------------------------------------------------------------ qemu-img, once */

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    const char *host = test_host();
    char tag[32], *script = NULL;
    size_t length = 0;
    FILE *out;

    snprintf(tag, sizeof tag, "%ld", (long)getpid());
    setenv("GLUVIRT_IMAGE_TEST_TAG", tag, 1);
    if (host == NULL)
        return; /* every test skips or fails with the reason */
    if ((out = open_memstream(&script, &length)) == NULL)
        return;
    /* gfapi logs to qemu-img's stderr as it finishes: show it only when
     * qemu-img fails. */
    fprintf(out, "log=$(mktemp -d) || exit 1\n");
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++)
        fprintf(out, "qemu-img create -q -f raw 'gluster://%s/%s/gluvirt-image-test-%s-%s' "
                     "%" PRIu64 " 2>\"$log/%zu\" || "
                     "{ echo 'test_image: qemu-img create %s failed:'; cat \"$log/%zu\"; } >&2 &\n",
                host, VOLUME, tag, images[i].name, images[i].size, i, images[i].name, i);
    fprintf(out, "wait\nrm -rf \"$log\"\n");
    fclose(out);
    if (system(script) != 0)
        fprintf(stderr, "test_image: creating the test images failed\n");
    free(script);
}

/* Empty the images: the volume keeps only empty files of this run. */
ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    const char *host = test_host();
    const char *tag = getenv("GLUVIRT_IMAGE_TEST_TAG");
    gluvirt_pool_options *pool_options;
    gluvirt_open_options *options;
    gluvirt_pool *pool;

    if (host == NULL || tag == NULL || (pool_options = gluvirt_pool_options_new()) == NULL)
        return;
    /* Nothing written here needs to outlive the process. */
    gluvirt_pool_options_set_exit_wait(pool_options, 0);
    pool = gluvirt_pool_new(pool_options);
    gluvirt_pool_options_free(pool_options);
    if (pool == NULL)
        return;
    options = gluvirt_open_options_new();
    gluvirt_open_options_set_writable(options, 1);
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++) {
        char *uri;
        gluvirt_image *image;

        if (asprintf(&uri, "gluster://%s/%s/gluvirt-image-test-%s-%s", host, VOLUME, tag,
                     images[i].name) < 0)
            break;
        if ((image = gluvirt_image_open(pool, uri, options)) != NULL) {
            gluvirt_image_truncate(image, 0);
            gluvirt_image_close(image);
        }
        free(uri);
    }
    gluvirt_open_options_free(options);
    gluvirt_pool_free(pool);
}

/* ------------------------------------------------------------ helpers */

static gluvirt_pool *make_pool(void)
{
    gluvirt_pool *pool = gluvirt_pool_new(NULL);

    cr_assert_not_null(pool, "%s", gluvirt_errmsg());
    return pool;
}

static gluvirt_image *open_image(gluvirt_pool *pool, const char *uri, int writable,
                                 gluvirt_format format)
{
    gluvirt_open_options *options = gluvirt_open_options_new();
    gluvirt_image *image;

    cr_assert_not_null(options);
    cr_assert_eq(gluvirt_open_options_set_writable(options, writable), 0);
    cr_assert_eq(gluvirt_open_options_set_format(options, format), 0);
    image = gluvirt_image_open(pool, uri, options);
    gluvirt_open_options_free(options);
    cr_assert_not_null(image, "open %s: %s", uri, gluvirt_errmsg());
    return image;
}

static void assert_error(int expected_errno, const char *fragment)
{
    cr_assert_eq(gluvirt_errno(), expected_errno, "errno %d (%s), expected %d; message: %s",
                 gluvirt_errno(), strerror(gluvirt_errno()), expected_errno, gluvirt_errmsg());
    if (fragment)
        cr_assert(strstr(gluvirt_errmsg(), fragment), "message '%s' lacks '%s'",
                  gluvirt_errmsg(), fragment);
}

static unsigned char pattern_byte(uint64_t i, unsigned seed)
{
    return (unsigned char)((i * 2654435761u + seed * 40503u + (i >> 13)) >> 7);
}

static void fill_pattern(unsigned char *buf, size_t count, uint64_t offset, unsigned seed)
{
    for (size_t i = 0; i < count; i++)
        buf[i] = pattern_byte(offset + i, seed);
}

/* xorshift64*: reproducible from the seed printed on failure. */
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
    uint64_t seed = text ? strtoull(text, NULL, 0) : UINT64_C(0x9e3779b97f4a7c15);

    return seed ? seed : 1;
}

/* ------------------------------------------------------------ eight threads */

struct worker {
    gluvirt_image *image;
    unsigned char *model; /* the whole image; this worker owns its region */
    uint64_t region_start;
    uint64_t seed;
    int index;
    char failure[512]; /* empty when all went well */
};

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    uint64_t state = w->seed;
    unsigned char *buf = malloc(200000), *check = malloc(200000);

    if (!buf || !check) {
        snprintf(w->failure, sizeof w->failure, "out of memory");
        goto out;
    }
    for (int op = 0; op < 200; op++) {
        size_t count = 1 + (size_t)random_below(&state, 200000);
        uint64_t offset = w->region_start + random_below(&state, THREAD_REGION - count + 1);
        ssize_t got;

        if (random_below(&state, 3) != 0) {
            for (size_t i = 0; i < count; i++)
                buf[i] = (unsigned char)next_random(&state);
            if ((got = gluvirt_image_pwrite(w->image, buf, count, offset)) != (ssize_t)count) {
                snprintf(w->failure, sizeof w->failure, "op %d: write %zu at %" PRIu64
                         " gave %zd: %s", op, count, offset, got, gluvirt_errmsg());
                goto out;
            }
            memcpy(w->model + offset, buf, count);
        } else {
            if ((got = gluvirt_image_pread(w->image, check, count, offset)) != (ssize_t)count) {
                snprintf(w->failure, sizeof w->failure, "op %d: read %zu at %" PRIu64
                         " gave %zd: %s", op, count, offset, got, gluvirt_errmsg());
                goto out;
            }
            if (memcmp(check, w->model + offset, count) != 0) {
                snprintf(w->failure, sizeof w->failure, "op %d: read %zu at %" PRIu64
                         " differs from what this thread wrote", op, count, offset);
                goto out;
            }
        }
    }
out:
    free(buf);
    free(check);
    return NULL;
}

Test(image_gluster, eight_threads_random_io_match_model, .timeout = 120)
{
    const char *host = require_gluster();
    char *uri = image_uri(host, "threads.raw");
    const uint64_t size = (uint64_t)THREADS * THREAD_REGION;
    uint64_t seed = test_seed();
    gluvirt_pool *pool = make_pool(), *second_pool;
    gluvirt_image *image = open_image(pool, uri, 1, GLUVIRT_FORMAT_RAW);
    unsigned char *model = malloc(size), *disk = malloc(size);
    struct worker workers[THREADS];
    pthread_t threads[THREADS];

    cr_assert_not_null(model);
    cr_assert_not_null(disk);
    cr_log_info("seed 0x%" PRIx64 " (set GLUVIRT_TEST_SEED to repeat)", seed);
    cr_assert_eq(gluvirt_image_size(image), (int64_t)size);
    /* Start from a known state: all zeros. */
    cr_assert_eq(gluvirt_image_write_zeroes(image, 0, size), 0, "%s", gluvirt_errmsg());
    memset(model, 0, size);

    for (int i = 0; i < THREADS; i++) {
        workers[i] = (struct worker){.image = image, .model = model,
                                     .region_start = (uint64_t)i * THREAD_REGION,
                                     .seed = seed + (uint64_t)i * 7919, .index = i};
        cr_assert_eq(pthread_create(&threads[i], NULL, worker_run, &workers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < THREADS; i++)
        cr_assert_eq(workers[i].failure[0], '\0', "seed 0x%" PRIx64 ", thread %d: %s", seed, i,
                     workers[i].failure);
    cr_assert_eq(gluvirt_image_close(image), 0, "close (flush): %s", gluvirt_errmsg());

    /* A second client (another pool, another gfapi connection) reads what
     * reached the volume, not what the first one cached. */
    second_pool = make_pool();
    image = open_image(second_pool, uri, 0, GLUVIRT_FORMAT_RAW);
    cr_assert_eq(gluvirt_image_pread(image, disk, size, 0), (ssize_t)size, "%s",
                 gluvirt_errmsg());
    for (uint64_t at = 0; at < size; at += THREAD_REGION)
        cr_assert_eq(memcmp(disk + at, model + at, THREAD_REGION), 0,
                     "seed 0x%" PRIx64 ": region of thread %d differs on the volume", seed,
                     (int)(at / THREAD_REGION));
    gluvirt_image_close(image);
    gluvirt_pool_free(second_pool);
    gluvirt_pool_free(pool);
    free(model);
    free(disk);
    free(uri);
}

/* ------------------------------------------------------------ transfers */

Test(image_gluster, unaligned_transfers_and_vectors, .timeout = 60)
{
    static const struct { uint64_t offset; size_t count; } cases[] = {
        {0, 1}, {1, 511}, {511, 2}, {513, 1000}, {4095, 4098}, {65537, 131071},
        {1000001, 999999}, {(4u << 20) - 7, 7},
    };
    const char *host = require_gluster();
    char *uri = image_uri(host, "unaligned.raw");
    gluvirt_pool *pool = make_pool();
    gluvirt_image *image = open_image(pool, uri, 1, GLUVIRT_FORMAT_RAW);
    const uint64_t size = 4u << 20;
    unsigned char *buf = malloc(1 << 20), *got = malloc(1 << 20), *model = calloc(1, size);
    unsigned char a[3], b[70001], c[509], ra[3], rb[70001], rc[509];
    struct iovec out[] = {{a, sizeof a}, {b, sizeof b}, {NULL, 0}, {c, sizeof c}};
    struct iovec in[] = {{ra, sizeof ra}, {NULL, 0}, {rb, sizeof rb}, {rc, sizeof rc}};
    const size_t vector_total = sizeof a + sizeof b + sizeof c;

    /* The cases overlap: later writes win, as in the model. */
    cr_assert_not_null(model);
    cr_assert_eq(gluvirt_image_write_zeroes(image, 0, size), 0, "%s", gluvirt_errmsg());
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fill_pattern(buf, cases[i].count, cases[i].offset, (unsigned)i + 41);
        cr_assert_eq(gluvirt_image_pwrite(image, buf, cases[i].count, cases[i].offset),
                     (ssize_t)cases[i].count, "write %zu at %" PRIu64 ": %s", cases[i].count,
                     cases[i].offset, gluvirt_errmsg());
        memcpy(model + cases[i].offset, buf, cases[i].count);
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(gluvirt_image_pread(image, got, cases[i].count, cases[i].offset),
                     (ssize_t)cases[i].count, "%s", gluvirt_errmsg());
        cr_assert_eq(memcmp(got, model + cases[i].offset, cases[i].count), 0,
                     "case %zu reads back different", i);
    }

    fill_pattern(a, sizeof a, 0, 51);
    fill_pattern(b, sizeof b, 0, 52);
    fill_pattern(c, sizeof c, 0, 53);
    cr_assert_eq(gluvirt_image_pwritev(image, out, 4, 3000001), (ssize_t)vector_total, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_preadv(image, in, 4, 3000001), (ssize_t)vector_total, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(memcmp(a, ra, sizeof a), 0);
    cr_assert_eq(memcmp(b, rb, sizeof b), 0);
    cr_assert_eq(memcmp(c, rc, sizeof c), 0);
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    gluvirt_pool_free(pool);
    free(model);
    free(buf);
    free(got);
    free(uri);
}

Test(image_gluster, end_of_image, .timeout = 60)
{
    const char *host = require_gluster();
    char *uri = image_uri(host, "end.raw");
    const uint64_t size = 1u << 20;
    gluvirt_pool *pool = make_pool();
    gluvirt_image *image = open_image(pool, uri, 1, GLUVIRT_FORMAT_RAW);
    unsigned char buf[4096], tail[100];
    struct iovec iov[] = {{buf, 10}, {buf + 10, 4000}};

    cr_assert_eq(gluvirt_image_size(image), (int64_t)size);
    fill_pattern(tail, sizeof tail, size - sizeof tail, 61);
    cr_assert_eq(gluvirt_image_pwrite(image, tail, sizeof tail, size - sizeof tail),
                 (ssize_t)sizeof tail, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_pread(image, buf, sizeof buf, size - 60), 60);
    cr_assert_eq(memcmp(buf, tail + 40, 60), 0);
    cr_assert_eq(gluvirt_image_pread(image, buf, 1, size), 0);
    cr_assert_eq(gluvirt_image_pread(image, buf, sizeof buf, size + 12345), 0);
    cr_assert_eq(gluvirt_image_preadv(image, iov, 2, size - 30), 30);
    cr_assert_eq(memcmp(buf, tail + 70, 30), 0);

    cr_assert_eq(gluvirt_image_pwrite(image, tail, 2, size - 1), -1);
    assert_error(EINVAL, "past the end");
    cr_assert(strstr(gluvirt_errmsg(), VOLUME), "the message does not name the image: %s",
              gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_write_zeroes(image, size - 10, 11), -1);
    assert_error(EINVAL, "past the end");
    cr_assert_eq(gluvirt_image_size(image), (int64_t)size, "a refused write resized the image");
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    gluvirt_pool_free(pool);
    free(uri);
}

Test(image_gluster, size_not_a_multiple_of_512, .timeout = 60)
{
    const char *host = require_gluster();
    char *uri = image_uri(host, "odd.raw");
    const uint64_t size = 1000001;
    gluvirt_pool *pool = make_pool(), *second_pool;
    gluvirt_image *image = open_image(pool, uri, 1, GLUVIRT_FORMAT_RAW);
    unsigned char *buf = malloc(size + 100), *got = malloc(size + 100);

    cr_assert_eq(gluvirt_image_truncate(image, size), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_size(image), (int64_t)size);
    fill_pattern(buf, size, 0, 71);
    cr_assert_eq(gluvirt_image_pwrite(image, buf, size, 0), (ssize_t)size, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_pwrite(image, buf, 1, size), -1);
    assert_error(EINVAL, "past the end");
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());

    second_pool = make_pool();
    image = open_image(second_pool, uri, 0, GLUVIRT_FORMAT_PROBE);
    cr_assert_eq(gluvirt_image_size(image), (int64_t)size, "another client sees %lld bytes",
                 (long long)gluvirt_image_size(image));
    cr_assert_str_eq(gluvirt_image_format(image), "raw");
    cr_assert_eq(gluvirt_image_pread(image, got, size + 100, 0), (ssize_t)size);
    cr_assert_eq(memcmp(got, buf, size), 0);
    cr_assert_eq(gluvirt_image_pread(image, got, 512, size - 1), 1);
    cr_assert_eq(got[0], pattern_byte(size - 1, 71));
    gluvirt_image_close(image);
    gluvirt_pool_free(second_pool);
    gluvirt_pool_free(pool);
    free(buf);
    free(got);
    free(uri);
}

Test(image_gluster, write_zeroes_discard_truncate_flush, .timeout = 60)
{
    const char *host = require_gluster();
    char *uri = image_uri(host, "zeroes.raw");
    const uint64_t size = 3u << 20;
    gluvirt_pool *pool = make_pool();
    gluvirt_image *image = open_image(pool, uri, 1, GLUVIRT_FORMAT_RAW);
    unsigned char *buf = malloc(size), *got = malloc(size);

    fill_pattern(buf, size, 0, 81);
    cr_assert_eq(gluvirt_image_pwrite(image, buf, size, 0), (ssize_t)size, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_write_zeroes(image, 1001, 1048576 + 3), 0, "%s",
                 gluvirt_errmsg());
    memset(buf + 1001, 0, 1048576 + 3);
    cr_assert_eq(gluvirt_image_flush(image), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_pread(image, got, size, 0), (ssize_t)size);
    cr_assert_eq(memcmp(got, buf, size), 0, "write_zeroes changed more or less than its range");

    /* Discarded bytes may read as anything; the rest must stay. */
    cr_assert_eq(gluvirt_image_discard(image, 2097152, 65536), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_pread(image, got, size, 0), (ssize_t)size);
    cr_assert_eq(memcmp(got, buf, 2097152), 0);
    cr_assert_eq(memcmp(got + 2097152 + 65536, buf + 2097152 + 65536,
                        size - 2097152 - 65536), 0);

    cr_assert_eq(gluvirt_image_truncate(image, 5000), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_size(image), 5000);
    cr_assert_eq(gluvirt_image_pread(image, got, 10000, 0), 5000);
    cr_assert_eq(memcmp(got, buf, 5000), 0);
    cr_assert_eq(gluvirt_image_truncate(image, 9000), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_pread(image, got, 10000, 0), 9000);
    for (int i = 5000; i < 9000; i++)
        cr_assert_eq(got[i], 0, "grown byte %d is %u", i, got[i]);
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    gluvirt_pool_free(pool);
    free(buf);
    free(got);
    free(uri);
}

/* ------------------------------------------------------------ probing */

Test(image_gluster, probe_is_opt_in, .timeout = 60)
{
    const char *host = require_gluster();
    char *uri = image_uri(host, "probe.raw");
    gluvirt_pool *pool = make_pool();
    gluvirt_image *image = open_image(pool, uri, 1, GLUVIRT_FORMAT_RAW);
    unsigned char head[8];
    gluvirt_open_options *options;

    /* A guest writes a qcow2 header into its raw disk. */
    cr_assert_eq(gluvirt_image_pwrite(image, "QFI\xfb\0\0\0\3", 8, 0), 8, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());

    image = gluvirt_image_open(pool, uri, NULL); /* default options: raw */
    cr_assert_not_null(image, "%s", gluvirt_errmsg());
    cr_assert_str_eq(gluvirt_image_format(image), "raw");
    cr_assert_eq(gluvirt_image_size(image), 65536);
    cr_assert_eq(gluvirt_image_pread(image, head, 8, 0), 8);
    cr_assert_eq(memcmp(head, "QFI\xfb\0\0\0\3", 8), 0);
    gluvirt_image_close(image);

    options = gluvirt_open_options_new();
    cr_assert_eq(gluvirt_open_options_set_format(options, GLUVIRT_FORMAT_PROBE), 0);
    /* Asked to probe, the library reads the guest's header as qcow2, and
     * finds it damaged. */
    cr_assert_null(gluvirt_image_open(pool, uri, options));
    assert_error(EINVAL, "cluster_bits");
    gluvirt_open_options_free(options);
    gluvirt_pool_free(pool);
    free(uri);
}

/* ------------------------------------------------------------ errors */

Test(image_gluster, errors_missing_image_enoent, .timeout = 30)
{
    const char *host = require_gluster();
    char *path = image_path("never-created.raw"), *uri = image_uri(host, "never-created.raw");
    gluvirt_pool *pool = make_pool();

    cr_assert_null(gluvirt_image_open(pool, uri, NULL));
    assert_error(ENOENT, path);
    cr_assert(strstr(gluvirt_errmsg(), "'" VOLUME "'"), "the message does not name the "
              "volume: %s", gluvirt_errmsg());
    /* The connection is fine and stays usable for the next image. */
    cr_assert_eq(gluvirt_pool_stat(pool, GLUVIRT_POOL_FAILURES), 0);
    gluvirt_pool_free(pool);
    free(path);
    free(uri);
}

Test(image_gluster, errors_no_such_volume_enoent, .timeout = 30)
{
    const char *host = require_gluster();
    char *uri;
    gluvirt_pool *pool = make_pool();

    cr_assert_neq(asprintf(&uri, "gluster://%s/gluvirt-no-such-volume/disk.raw", host), -1);
    cr_assert_null(gluvirt_image_open(pool, uri, NULL));
    assert_error(ENOENT, "gluvirt-no-such-volume");
    cr_assert_eq(gluvirt_pool_stat(pool, GLUVIRT_POOL_FAILURES), 1,
                 "the failure was not the pool's");
    gluvirt_pool_free(pool);
    free(uri);
}

Test(image_gluster, errors_read_only_erofs, .timeout = 30)
{
    const char *host = require_gluster();
    char *uri = image_uri(host, "readonly.raw");
    gluvirt_pool *pool = make_pool();
    gluvirt_image *image = open_image(pool, uri, 0, GLUVIRT_FORMAT_RAW);
    unsigned char buf[16] = {0};

    cr_assert_eq(gluvirt_image_pwrite(image, buf, sizeof buf, 0), -1);
    assert_error(EROFS, "read-only");
    cr_assert(strstr(gluvirt_errmsg(), "readonly.raw"), "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_write_zeroes(image, 0, 1), -1);
    assert_error(EROFS, NULL);
    cr_assert_eq(gluvirt_image_discard(image, 0, 1), -1);
    assert_error(EROFS, NULL);
    cr_assert_eq(gluvirt_image_truncate(image, 1), -1);
    assert_error(EROFS, NULL);
    cr_assert_eq(gluvirt_image_size(image), 65536);
    cr_assert_eq(gluvirt_image_flush(image), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_close(image), 0);
    gluvirt_pool_free(pool);
    free(uri);
}

/* A NULL buffer with a length must be refused before gfapi sees it. */
Test(image_gluster, errors_null_buffer_einval, .timeout = 30)
{
    const char *host = require_gluster();
    char *uri = image_uri(host, "readonly.raw");
    gluvirt_pool *pool = make_pool();
    gluvirt_image *image = open_image(pool, uri, 0, GLUVIRT_FORMAT_RAW);

    cr_assert_eq(gluvirt_image_pread(image, NULL, 16, 0), -1);
    assert_error(EINVAL, NULL);
    gluvirt_image_close(image);
    gluvirt_pool_free(pool);
    free(uri);
}
