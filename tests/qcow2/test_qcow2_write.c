/*
 * Writing qcow2 images, judged by qemu-img.  Each trace test makes an image
 * with 'qemu-img create' (version 2 or 3, clusters of 512 bytes to 2 MiB,
 * with or without a qcow2 backing file holding a pattern written by
 * qemu-io), applies a seeded random trace of writes, zeroing, discards and
 * flushes through the public API, and applies the same trace to a raw model
 * in memory.  Then 'qemu-img check' must find the image clean and 'qemu-img
 * compare' must find it identical to the model written out as a raw file.
 * Failures name the layout and the seed; GLUVIRT_QCOW2_WRITE_SEED=N runs
 * that seed alone.
 *
 * Discard semantics follow QEMU's: whole clusters only; afterwards they
 * read as zeros, except on version 2 with a backing file, where the backing
 * file shows through.
 *
 * Also: the layouts a writable open refuses (ENOTSUP, read-only still
 * works), writers racing into the same empty clusters, a refcount table that
 * must grow, and a hostile image whose L2 entry points at metadata (the
 * write is refused and the image marked corrupt).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <gluvirt/gluvirt.h>

#include "../unit/image_local_support.h"

/* Header fields (big-endian), as the qcow2 spec places them. */
enum { H_L1_OFFSET = 40, H_REFTABLE_OFFSET = 48, H_REFTABLE_CLUSTERS = 56, H_INCOMPAT = 72 };
#define OFFSET_MASK 0x00fffffffffffe00ull
#define COPIED      (1ull << 63)
#define CORRUPT_BIT (1ull << 1)

/* ------------------------------------------------------------ helpers */

TestSuite(qcow2_write, .init = make_test_dir, .fini = remove_test_dir, .timeout = 300);

/* A path in the test directory; the caller frees it. */
static char *path_of(const char *name)
{
    char *path;

    cr_assert_neq(asprintf(&path, "%s/%s", test_dir, name), -1);
    return path;
}

/* Run a shell command in the test directory: its exit status. */
static int shell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int shell(const char *fmt, ...)
{
    char *cmd, *full;
    va_list ap;
    int status;

    va_start(ap, fmt);
    cr_assert_neq(vasprintf(&cmd, fmt, ap), -1);
    va_end(ap);
    cr_assert_neq(asprintf(&full, "cd '%s' && %s", test_dir, cmd), -1);
    status = system(full);
    free(cmd);
    free(full);
    return status == -1 || !WIFEXITED(status) ? -1 : WEXITSTATUS(status);
}

#define RUN(...) cr_assert_eq(shell(__VA_ARGS__), 0, "command failed")

static uint64_t peek_be(const char *path, uint64_t offset, unsigned width)
{
    unsigned char b[8];
    uint64_t value = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(pread(fd, b, width, (off_t)offset), (ssize_t)width);
    close(fd);
    for (unsigned i = 0; i < width; i++)
        value = value << 8 | b[i];
    return value;
}

static void poke_be(const char *path, uint64_t offset, unsigned width, uint64_t value)
{
    unsigned char b[8];
    int fd = open(path, O_WRONLY | O_CLOEXEC);

    for (unsigned i = 0; i < width; i++)
        b[i] = (unsigned char)(value >> (8 * (width - 1 - i)));
    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(pwrite(fd, b, width, (off_t)offset), (ssize_t)width);
    close(fd);
}

static unsigned char *read_range(const char *path, uint64_t offset, size_t len)
{
    unsigned char *buf = malloc(len);
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    cr_assert_not_null(buf);
    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(pread(fd, buf, len, (off_t)offset), (ssize_t)len);
    close(fd);
    return buf;
}

static void write_file(const char *path, const unsigned char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    cr_assert_geq(fd, 0, "create %s: %s", path, strerror(errno));
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, data + done, len - done);

        cr_assert_gt(n, 0, "write %s: %s", path, strerror(errno));
        done += (size_t)n;
    }
    cr_assert_eq(close(fd), 0);
}

static gluvirt_image *open_qcow2(const char *path, int writable)
{
    gluvirt_open_options *o = gluvirt_open_options_new();
    gluvirt_image *image;

    cr_assert_not_null(o);
    cr_assert_eq(gluvirt_open_options_set_format(o, GLUVIRT_FORMAT_QCOW2), 0);
    cr_assert_eq(gluvirt_open_options_set_writable(o, writable), 0);
    cr_assert_eq(gluvirt_open_options_set_backing(o, GLUVIRT_BACKING_ANY), 0);
    image = gluvirt_image_open(NULL, path, o);
    gluvirt_open_options_free(o);
    return image;
}

/* xorshift64*: the same trace for the same seed everywhere. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545f4914f6cdd1dull;
}

static uint64_t below(uint64_t *state, uint64_t n)
{
    return n ? next_random(state) % n : 0;
}

/* ------------------------------------------------------------ traces */

struct layout {
    int version;            /* 2 (compat=0.10) or 3 (compat=1.1) */
    uint64_t cluster;
    int backing;
};

/* The image and the model it must equal. */
struct trace {
    struct layout l;
    uint64_t seed;
    uint64_t size;
    unsigned char *model;
    unsigned char *base;    /* what the backing file holds (zeros without one) */
    char *image_path, *model_path;
    char where[160];        /* layout and seed, for messages */
};

/* The backing file's pattern: two runs qemu-io writes, known to the model. */
static void make_backing(struct trace *t, const char *options)
{
    uint64_t half = t->size / 2, quarter = t->size / 4;

    RUN("qemu-img create -q -f qcow2 -o %s base.qcow2 %" PRIu64, options, t->size);
    RUN("qemu-io -f qcow2 -c 'write -P 0x5a 0 %" PRIu64 "' -c 'write -P 0xa5 %" PRIu64
        " 65536' base.qcow2 >/dev/null", half, half + quarter);
    memset(t->base, 0x5a, (size_t)half);
    memset(t->base + half + quarter, 0xa5, 65536);
}

static void trace_begin(struct trace *t, const struct layout *l, uint64_t seed)
{
    char options[96];

    memset(t, 0, sizeof *t);
    t->l = *l;
    t->seed = seed;
    t->size = l->cluster >= (1u << 20) ? 16ull << 20 : 4ull << 20;
    snprintf(t->where, sizeof t->where, "qcow2 v%d, clusters of %" PRIu64 ", %s backing file, "
             "seed %" PRIu64 " (GLUVIRT_QCOW2_WRITE_SEED=%" PRIu64 " repeats it)", l->version,
             l->cluster, l->backing ? "a" : "no", seed, seed);
    t->model = calloc(1, (size_t)t->size);
    t->base = calloc(1, (size_t)t->size);
    cr_assert(t->model && t->base);
    snprintf(options, sizeof options, "compat=%s,cluster_size=%" PRIu64,
             l->version == 2 ? "0.10" : "1.1", l->cluster);
    shell("rm -f img.qcow2 base.qcow2 model.raw");
    if (l->backing) {
        make_backing(t, options);
        RUN("qemu-img create -q -f qcow2 -o %s -b base.qcow2 -F qcow2 img.qcow2", options);
        memcpy(t->model, t->base, (size_t)t->size);
    } else {
        RUN("qemu-img create -q -f qcow2 -o %s img.qcow2 %" PRIu64, options, t->size);
    }
    t->image_path = path_of("img.qcow2");
    t->model_path = path_of("model.raw");
}

/* An offset and a length inside [start, start + span) of the disk: often
 * cluster-aligned, lengths from one byte to a few clusters. */
static void pick_range(struct trace *t, uint64_t *rng, uint64_t start, uint64_t span,
                       uint64_t *offset, uint64_t *length)
{
    uint64_t cs = t->l.cluster, max;

    if (below(rng, 3) == 0) {
        *offset = start + below(rng, span / cs) * cs;
        *length = (1 + below(rng, 3)) * cs;
    } else {
        *offset = start + below(rng, span);
        *length = 1 + below(rng, 2 * cs + 4096);
    }
    max = start + span - *offset;
    if (*length > max)
        *length = max;
}

/* What the model does for a discard: whole clusters only. */
static void model_discard(struct trace *t, uint64_t offset, uint64_t length)
{
    uint64_t cs = t->l.cluster;
    uint64_t first = (offset + cs - 1) / cs * cs, last = (offset + length) / cs * cs;

    if (first >= last)
        return;
    if (t->l.version == 2 && t->l.backing)
        memcpy(t->model + first, t->base + first, (size_t)(last - first));
    else
        memset(t->model + first, 0, (size_t)(last - first));
}

/* Room for the longest write pick_range picks. */
static unsigned char *op_buffer(const struct trace *t)
{
    unsigned char *data = malloc((size_t)(3 * t->l.cluster + 4096));

    cr_assert_not_null(data);
    return data;
}

/*
 * One random operation inside [start, start + span), on the image and the
 * model.  0, or -1 with err saying which operation failed and why (no
 * assertion: worker threads call it too).
 */
static int random_op(struct trace *t, gluvirt_image *image, uint64_t *rng, uint64_t start,
                     uint64_t span, unsigned char *data, char *err, size_t err_len)
{
    uint64_t offset, length, kind = below(rng, 100);
    const char *what;
    int rc;

    pick_range(t, rng, start, span, &offset, &length);
    if (kind < 60) {
        what = "write";
        for (uint64_t j = 0; j < length; j++)
            data[j] = (unsigned char)(next_random(rng) >> 56);
        rc = gluvirt_image_pwrite(image, data, (size_t)length, offset) == (ssize_t)length ? 0
                                                                                        : -1;
        memcpy(t->model + offset, data, (size_t)length);
    } else if (kind < 78) {
        what = "write_zeroes";
        rc = gluvirt_image_write_zeroes(image, offset, length);
        memset(t->model + offset, 0, (size_t)length);
    } else if (kind < 95) {
        what = "discard";
        rc = gluvirt_image_discard(image, offset, length);
        model_discard(t, offset, length);
    } else {
        what = "flush";
        rc = gluvirt_image_flush(image);
    }
    if (rc < 0)
        snprintf(err, err_len, "%s: %s %" PRIu64 "+%" PRIu64 ": %s", t->where, what, offset,
                 length, gluvirt_errmsg());
    return rc;
}

static void run_trace(struct trace *t, unsigned ops)
{
    gluvirt_image *image = open_qcow2(t->image_path, 1);
    uint64_t rng = t->seed * 0x9e3779b97f4a7c15ull + 1;
    unsigned char *data = op_buffer(t);
    char err[1024];

    cr_assert_not_null(image, "%s: open: %s", t->where, gluvirt_errmsg());
    for (unsigned i = 0; i < ops; i++)
        cr_assert_eq(random_op(t, image, &rng, 0, t->size, data, err, sizeof err), 0,
                     "op %u: %s", i, err);
    cr_assert_eq(gluvirt_image_close(image), 0, "%s: close: %s", t->where, gluvirt_errmsg());
    free(data);
}

/* qemu-img's verdict: a clean image, equal to the model. */
static void trace_judge(struct trace *t)
{
    write_file(t->model_path, t->model, (size_t)t->size);
    cr_assert_eq(shell("qemu-img check -q -f qcow2 img.qcow2"), 0,
                 "%s: 'qemu-img check' finds the image damaged (output above)", t->where);
    cr_assert_eq(shell("qemu-img compare -q -f qcow2 -F raw img.qcow2 model.raw"), 0,
                 "%s: 'qemu-img compare' finds the image different from the model", t->where);
}

static void trace_end(struct trace *t)
{
    free(t->model);
    free(t->base);
    free(t->image_path);
    free(t->model_path);
}

static void check_layout(int version, uint64_t cluster, int backing)
{
    const struct layout l = {version, cluster, backing};
    const char *env = getenv("GLUVIRT_QCOW2_WRITE_SEED");
    uint64_t seeds[] = {1, 2, 3};
    unsigned count = 3;

    if (env && *env) {
        seeds[0] = strtoull(env, NULL, 10);
        count = 1;
    }
    for (unsigned i = 0; i < count; i++) {
        struct trace t;

        trace_begin(&t, &l, seeds[i]);
        run_trace(&t, cluster >= (1u << 20) ? 60 : 150);
        trace_judge(&t);
        trace_end(&t);
    }
}

#define LAYOUT_TEST(version, cluster, backing, name)                                          \
    Test(qcow2_write, name) { check_layout(version, cluster, backing); }

LAYOUT_TEST(2, 512, 0, v2_512)
LAYOUT_TEST(2, 512, 1, v2_512_backing)
LAYOUT_TEST(2, 4096, 0, v2_4k)
LAYOUT_TEST(2, 4096, 1, v2_4k_backing)
LAYOUT_TEST(2, 65536, 0, v2_64k)
LAYOUT_TEST(2, 65536, 1, v2_64k_backing)
LAYOUT_TEST(2, 2u << 20, 0, v2_2m)
LAYOUT_TEST(2, 2u << 20, 1, v2_2m_backing)
LAYOUT_TEST(3, 512, 0, v3_512)
LAYOUT_TEST(3, 512, 1, v3_512_backing)
LAYOUT_TEST(3, 4096, 0, v3_4k)
LAYOUT_TEST(3, 4096, 1, v3_4k_backing)
LAYOUT_TEST(3, 65536, 0, v3_64k)
LAYOUT_TEST(3, 65536, 1, v3_64k_backing)
LAYOUT_TEST(3, 2u << 20, 0, v3_2m)
LAYOUT_TEST(3, 2u << 20, 1, v3_2m_backing)

/* Clusters qemu-io allocated, zeroed (kept allocated, and unmapped) and
 * discarded before the trace: in-place writes, and entries of every kind
 * replaced and freed. */
static void check_prefilled(int version)
{
    const struct layout l = {version, 65536, 0};
    struct trace t;

    trace_begin(&t, &l, 11);
    RUN("qemu-io -f qcow2 -c 'write -P 0x33 0 1M' -c 'write -z 256k 128k' "
        "-c 'write -z -u 640k 64k' -c 'discard 512k 64k' img.qcow2 >/dev/null");
    memset(t.model, 0x33, 1u << 20);
    memset(t.model + (256u << 10), 0, 128u << 10);
    memset(t.model + (640u << 10), 0, 64u << 10);
    memset(t.model + (512u << 10), 0, 64u << 10);
    run_trace(&t, 150);
    trace_judge(&t);
    trace_end(&t);
}

Test(qcow2_write, v2_over_qemu_io_data) { check_prefilled(2); }
Test(qcow2_write, v3_over_qemu_io_data) { check_prefilled(3); }

/* 512-byte clusters: a refcount table of one cluster counts 8 MiB of file;
 * writing more moves the table, and discarded space is reused. */
Test(qcow2_write, refcount_table_grows)
{
    const struct layout l = {3, 512, 0};
    struct trace t;
    gluvirt_image *image;
    unsigned char *data = malloc(1u << 20);
    uint64_t old_table;

    trace_begin(&t, &l, 7);
    free(t.model);
    t.size = 24ull << 20;
    cr_assert_not_null(t.model = calloc(1, (size_t)t.size));
    shell("rm -f img.qcow2");
    RUN("qemu-img create -q -f qcow2 -o cluster_size=512 img.qcow2 %" PRIu64, t.size);
    old_table = peek_be(t.image_path, H_REFTABLE_OFFSET, 8);
    cr_assert_not_null(image = open_qcow2(t.image_path, 1), "%s", gluvirt_errmsg());
    for (uint64_t at = 0; at < 16ull << 20; at += 1u << 20) {
        memset(data, (int)(at >> 20) + 1, 1u << 20);
        cr_assert_eq(gluvirt_image_pwrite(image, data, 1u << 20, at), 1 << 20, "%s",
                     gluvirt_errmsg());
        memcpy(t.model + at, data, 1u << 20);
    }
    cr_assert_eq(gluvirt_image_discard(image, 2u << 20, 6u << 20), 0, "%s", gluvirt_errmsg());
    memset(t.model + (2u << 20), 0, 6u << 20);
    memset(data, 0x77, 1u << 20);
    for (uint64_t at = 16ull << 20; at < 20ull << 20; at += 1u << 20) {
        cr_assert_eq(gluvirt_image_pwrite(image, data, 1u << 20, at), 1 << 20, "%s",
                     gluvirt_errmsg());
        memcpy(t.model + at, data, 1u << 20);
    }
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    cr_expect_neq(peek_be(t.image_path, H_REFTABLE_OFFSET, 8), old_table,
                  "the refcount table did not move");
    cr_expect_gt(peek_be(t.image_path, H_REFTABLE_CLUSTERS, 4), 1);
    /* 20 MiB written, 6 MiB of it discarded and then reused: the file stays
     * well below 20 MiB of data plus metadata. */
    {
        struct stat st;

        cr_assert_eq(stat(t.image_path, &st), 0);
        cr_expect_lt((uint64_t)st.st_size, 18ull << 20, "discarded clusters were not reused "
                     "(file of %lld bytes)", (long long)st.st_size);
    }
    trace_judge(&t);
    trace_end(&t);
    free(data);
}

/* ------------------------------------------------------------ concurrency */

struct racer {
    gluvirt_image *image;
    unsigned index;
    uint64_t cluster;
    int failed;
};

/* Each thread writes its own 512-byte sector of the same empty clusters. */
static void *race(void *arg)
{
    struct racer *r = arg;
    unsigned char sector[512];

    memset(sector, (int)r->index + 1, sizeof sector);
    for (uint64_t c = 0; c < 32; c++)
        if (gluvirt_image_pwrite(r->image, sector, sizeof sector,
                                 c * r->cluster + r->index * 512) != 512)
            r->failed = 1;
    return NULL;
}

Test(qcow2_write, writers_race_into_empty_clusters)
{
    const struct layout l = {3, 65536, 1};
    struct racer racers[8];
    pthread_t threads[8];
    struct trace t;
    gluvirt_image *image;

    trace_begin(&t, &l, 0);
    cr_assert_not_null(image = open_qcow2(t.image_path, 1), "%s", gluvirt_errmsg());
    for (unsigned i = 0; i < 8; i++) {
        racers[i] = (struct racer){image, i, l.cluster, 0};
        cr_assert_eq(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
    }
    for (unsigned i = 0; i < 8; i++) {
        cr_assert_eq(pthread_join(threads[i], NULL), 0);
        cr_assert_eq(racers[i].failed, 0, "writer %u failed", i);
        for (uint64_t c = 0; c < 32; c++)
            memset(t.model + c * l.cluster + i * 512, (int)i + 1, 512);
    }
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    trace_judge(&t);
    trace_end(&t);
}

/* Threads each run a trace in their own part of the disk, at once: writes
 * in place, allocations, and clusters one thread frees reused by another. */
struct worker {
    struct trace *t;
    gluvirt_image *image;
    uint64_t start, span, seed;
    int failed;
    char err[1024];
};

static void *work(void *arg)
{
    struct worker *w = arg;
    unsigned char *data = malloc((size_t)(3 * w->t->l.cluster + 4096));
    uint64_t rng = w->seed;

    w->failed = !data;
    for (unsigned i = 0; i < 120 && !w->failed; i++)
        w->failed = random_op(w->t, w->image, &rng, w->start, w->span, data, w->err,
                              sizeof w->err) < 0;
    free(data);
    return NULL;
}

static void check_parallel_traces(int version, uint64_t cluster, int backing)
{
    const struct layout l = {version, cluster, backing};
    struct worker workers[4];
    pthread_t threads[4];
    struct trace t;
    gluvirt_image *image;

    trace_begin(&t, &l, 21);
    cr_assert_not_null(image = open_qcow2(t.image_path, 1), "%s", gluvirt_errmsg());
    for (unsigned i = 0; i < 4; i++) {
        workers[i] = (struct worker){&t, image, i * (t.size / 4), t.size / 4, 1000 + i, 0, ""};
        cr_assert_eq(pthread_create(&threads[i], NULL, work, &workers[i]), 0);
    }
    for (unsigned i = 0; i < 4; i++) {
        cr_assert_eq(pthread_join(threads[i], NULL), 0);
        cr_assert_eq(workers[i].failed, 0, "worker %u: %s", i, workers[i].err);
    }
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
    trace_judge(&t);
    trace_end(&t);
}

Test(qcow2_write, parallel_traces_v3_4k_backing) { check_parallel_traces(3, 4096, 1); }
Test(qcow2_write, parallel_traces_v2_64k) { check_parallel_traces(2, 65536, 0); }

/* ------------------------------------------------------------ refusals */

static void assert_refused(const char *path, int expected, const char *fragment)
{
    gluvirt_image *image = open_qcow2(path, 1);

    cr_assert_null(image, "%s opened for writing", path);
    cr_assert_eq(gluvirt_errno(), expected, "errno %d, expected %d: %s", gluvirt_errno(),
                 expected, gluvirt_errmsg());
    cr_assert(strstr(gluvirt_errmsg(), fragment), "the message does not name '%s': %s",
              fragment, gluvirt_errmsg());
    cr_assert(strstr(gluvirt_errmsg(), "read-only"), "the message does not say read-only "
              "opens work: %s", gluvirt_errmsg());
    cr_assert_not_null(image = open_qcow2(path, 0), "a read-only open fails: %s",
                       gluvirt_errmsg());
    gluvirt_image_close(image);
}

Test(qcow2_write, errors_refused_layouts_enotsup)
{
    static const struct {
        const char *create, *prepare, *fragment;
    } cases[] = {
        {"-o refcount_bits=8", NULL, "refcount"},
        {"-o refcount_bits=64", NULL, "refcount"},
        {"-o refcount_bits=1", NULL, "refcount"},
        {"-o lazy_refcounts=on", NULL, "lazy refcounts"},
        {"-o extended_l2=on", NULL, "extended L2"},
        {"-o data_file=data.raw", NULL, "external data file"},
        {"", "qemu-img snapshot -c first img.qcow2", "internal snapshots"},
        {"", "qemu-io -f qcow2 -c 'write -c -P 0x11 0 64k' img.qcow2 >/dev/null",
         "compressed clusters"},
        {"", "qemu-img bitmap --add img.qcow2 b0", "bitmaps"},
    };
    char *path = path_of("img.qcow2");

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        shell("rm -f img.qcow2 data.raw");
        RUN("qemu-img create -q -f qcow2 %s img.qcow2 1M", cases[i].create);
        if (cases[i].prepare)
            RUN("%s", cases[i].prepare);
        assert_refused(path, ENOTSUP, cases[i].fragment);
    }
    free(path);
}

Test(qcow2_write, errors_truncate_enotsup)
{
    char *path = path_of("img.qcow2");
    gluvirt_image *image;

    RUN("qemu-img create -q -f qcow2 img.qcow2 1M");
    cr_assert_not_null(image = open_qcow2(path, 1), "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_truncate(image, 2u << 20), -1);
    cr_assert_eq(gluvirt_errno(), ENOTSUP, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_size(image), 1 << 20);
    cr_assert_eq(gluvirt_image_close(image), 0);
    free(path);
}

/* ------------------------------------------------------------ hostile images */

/* An L2 entry aimed at the image's own metadata: the write is refused, the
 * metadata stays as it was, the image is marked corrupt, reads go on. */
static void check_overlap(const char *header_field, uint64_t field, const char *named)
{
    char *path = path_of("img.qcow2");
    uint64_t l2, target;
    unsigned char *before, *after, buf[512];
    gluvirt_image *image;

    shell("rm -f img.qcow2");
    RUN("qemu-img create -q -f qcow2 img.qcow2 1M");
    RUN("qemu-io -f qcow2 -c 'write -P 0x11 0 128k' img.qcow2 >/dev/null");
    l2 = peek_be(path, peek_be(path, H_L1_OFFSET, 8), 8) & OFFSET_MASK;
    target = peek_be(path, field, 8);
    cr_assert_neq(l2, 0);
    poke_be(path, l2, 8, target | COPIED);
    before = read_range(path, target, 65536);

    cr_assert_not_null(image = open_qcow2(path, 1), "%s", gluvirt_errmsg());
    memset(buf, 0xee, sizeof buf);
    cr_assert_eq(gluvirt_image_pwrite(image, buf, sizeof buf, 100), -1,
                 "a write over the %s went through", header_field);
    cr_assert_eq(gluvirt_errno(), EIO, "%s", gluvirt_errmsg());
    cr_assert(strstr(gluvirt_errmsg(), named), "%s", gluvirt_errmsg());
    cr_assert(strstr(gluvirt_errmsg(), "corrupt"), "%s", gluvirt_errmsg());
    /* Later writes, even harmless ones, are refused too. */
    cr_assert_eq(gluvirt_image_pwrite(image, buf, sizeof buf, 65536), -1);
    cr_assert_eq(gluvirt_errno(), EIO, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_pread(image, buf, sizeof buf, 65536), (ssize_t)sizeof buf, "%s",
                 gluvirt_errmsg());
    cr_assert_eq(buf[0], 0x11);
    gluvirt_image_close(image);

    after = read_range(path, target, 65536);
    cr_assert_eq(memcmp(before, after, 65536), 0, "the %s changed", header_field);
    cr_assert(peek_be(path, H_INCOMPAT, 8) & CORRUPT_BIT, "the corrupt bit is not set");
    cr_assert_eq(shell("qemu-img info img.qcow2 | grep -q 'corrupt: true'"), 0,
                 "qemu-img does not see the image as corrupt");
    assert_refused(path, EROFS, "corrupt");
    free(before);
    free(after);
    free(path);
}

Test(qcow2_write, errors_overlap_refcount_table_marks_corrupt)
{
    check_overlap("refcount table", H_REFTABLE_OFFSET, "refcount table");
}

Test(qcow2_write, errors_overlap_l1_table_marks_corrupt)
{
    check_overlap("L1 table", H_L1_OFFSET, "L1 table");
}
