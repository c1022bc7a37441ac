/*
 * What the qcow2 write suites (test_qcow2_write, test_qcow2_write_layouts)
 * share: shell commands in the test directory, peeking at and poking image
 * files, and the trace machinery: an image made by qemu-img, a seeded
 * random trace of writes, zeroing, discards and flushes applied to it
 * through the public API and to a raw model in memory, and qemu-img's
 * verdict on the result ('qemu-img check' clean, 'qemu-img compare' equal).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "qcow2_write_support.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

/* Run a shell command in the test directory: its exit status. */
int shell(const char *fmt, ...)
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

uint64_t peek_be(const char *path, uint64_t offset, unsigned width)
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

void poke_be(const char *path, uint64_t offset, unsigned width, uint64_t value)
{
    unsigned char b[8];
    int fd = open(path, O_WRONLY | O_CLOEXEC);

    for (unsigned i = 0; i < width; i++)
        b[i] = (unsigned char)(value >> (8 * (width - 1 - i)));
    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(pwrite(fd, b, width, (off_t)offset), (ssize_t)width);
    close(fd);
}

unsigned char *read_range(const char *path, uint64_t offset, size_t len)
{
    unsigned char *buf = malloc(len);
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    cr_assert_not_null(buf);
    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(pread(fd, buf, len, (off_t)offset), (ssize_t)len);
    close(fd);
    return buf;
}

void write_file(const char *path, const unsigned char *data, size_t len)
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

gluvirt_image *open_qcow2(const char *path, int writable)
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
uint64_t next_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545f4914f6cdd1dull;
}

uint64_t below(uint64_t *state, uint64_t n)
{
    return n ? next_random(state) % n : 0;
}

/* ------------------------------------------------------------ traces */

void layout_options(const struct layout *l, char *buf, size_t len)
{
    snprintf(buf, len, "compat=%s,cluster_size=%" PRIu64 "%s%s",
             l->version == 2 ? "0.10" : "1.1", l->cluster, l->options ? "," : "",
             l->options ? l->options : "");
}

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

void trace_begin(struct trace *t, const struct layout *l, uint64_t seed)
{
    char options[192];

    memset(t, 0, sizeof *t);
    t->l = *l;
    t->seed = seed;
    t->size = l->cluster >= (1u << 20) ? 16ull << 20 : 4ull << 20;
    snprintf(t->where, sizeof t->where, "qcow2 v%d%s%s, clusters of %" PRIu64 ", %s backing "
             "file, seed %" PRIu64 " (GLUVIRT_QCOW2_WRITE_SEED=%" PRIu64 " repeats it)",
             l->version, l->options ? " " : "", l->options ? l->options : "", l->cluster,
             l->backing ? "a" : "no", seed, seed);
    t->model = calloc(1, (size_t)t->size);
    t->base = calloc(1, (size_t)t->size);
    cr_assert(t->model && t->base);
    layout_options(l, options, sizeof options);
    shell("rm -f img.qcow2 base.qcow2 model.raw");
    if (l->backing) {
        char base_options[96];

        /* The backing file in the plain layout: only the overlay varies. */
        snprintf(base_options, sizeof base_options, "compat=%s,cluster_size=%" PRIu64,
                 l->version == 2 ? "0.10" : "1.1", l->cluster);
        make_backing(t, base_options);
        RUN("qemu-img create -q -f qcow2 -o %s -b base.qcow2 -F qcow2 img.qcow2", options);
        memcpy(t->model, t->base, (size_t)t->size);
    } else {
        RUN("qemu-img create -q -f qcow2 -o %s img.qcow2 %" PRIu64, options, t->size);
    }
    t->image_path = test_path("img.qcow2");
    t->model_path = test_path("model.raw");
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
unsigned char *op_buffer(const struct trace *t)
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
int random_op(struct trace *t, gluvirt_image *image, uint64_t *rng, uint64_t start,
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

void run_trace(struct trace *t, unsigned ops)
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
void trace_judge(struct trace *t)
{
    write_file(t->model_path, t->model, (size_t)t->size);
    cr_assert_eq(shell("qemu-img check -q -f qcow2 img.qcow2"), 0,
                 "%s: 'qemu-img check' finds the image damaged (output above)", t->where);
    /* Quiet when equal; else the first offset that differs, in the log. */
    cr_assert_eq(shell("qemu-img compare -f qcow2 -F raw img.qcow2 model.raw >/dev/null || "
                       "qemu-img compare -f qcow2 -F raw img.qcow2 model.raw"), 0,
                 "%s: 'qemu-img compare' finds the image different from the model", t->where);
}

void trace_end(struct trace *t)
{
    free(t->model);
    free(t->base);
    free(t->image_path);
    free(t->model_path);
}

void assert_refused(const char *path, int expected, const char *fragment)
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

void check_traces(const struct layout *l, unsigned seeds, unsigned ops)
{
    const char *env = getenv("GLUVIRT_QCOW2_WRITE_SEED");
    uint64_t first = 1;

    if (env && *env) {
        first = strtoull(env, NULL, 10);
        seeds = 1;
    }
    for (uint64_t seed = first; seed < first + seeds; seed++) {
        struct trace t;

        trace_begin(&t, l, seed);
        run_trace(&t, ops);
        trace_judge(&t);
        trace_end(&t);
    }
}

/* ------------------------------------------------------------ traces in parallel */

struct worker {
    struct trace *t;
    gluvirt_image *image;
    uint64_t start, span, seed;
    unsigned ops;
    int failed;
    char err[1024];
};

static void *work(void *arg)
{
    struct worker *w = arg;
    unsigned char *data = malloc((size_t)(3 * w->t->l.cluster + 4096));
    uint64_t rng = w->seed;

    w->failed = !data;
    for (unsigned i = 0; i < w->ops && !w->failed; i++)
        w->failed = random_op(w->t, w->image, &rng, w->start, w->span, data, w->err,
                              sizeof w->err) < 0;
    free(data);
    return NULL;
}

void run_parallel_traces(struct trace *t, unsigned ops)
{
    struct worker workers[PARALLEL_TRACES];
    pthread_t threads[PARALLEL_TRACES];
    const uint64_t span = t->size / PARALLEL_TRACES;
    gluvirt_image *image;

    cr_assert_not_null(image = open_qcow2(t->image_path, 1), "%s", gluvirt_errmsg());
    for (unsigned i = 0; i < PARALLEL_TRACES; i++) {
        workers[i] = (struct worker){t, image, i * span, span, 1000 + i, ops, 0, ""};
        cr_assert_eq(pthread_create(&threads[i], NULL, work, &workers[i]), 0);
    }
    for (unsigned i = 0; i < PARALLEL_TRACES; i++) {
        cr_assert_eq(pthread_join(threads[i], NULL), 0);
        cr_assert_eq(workers[i].failed, 0, "worker %u: %s", i, workers[i].err);
    }
    cr_assert_eq(gluvirt_image_close(image), 0, "%s", gluvirt_errmsg());
}
