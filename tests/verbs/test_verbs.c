/*
 * The verbs as library calls (gluvirt/verbs.h): compare, measure and resize
 * on local images that qemu-img made, judged by qemu-img (compare's verdict
 * and offset, measure's figures, resize's result); the progress callback
 * (done grows to total, stopping it at a random moment ends the verb with
 * ECANCELED and leaves the images as they were); every error path.  The
 * commands' scripts (compare-qemu.sh ...) judge the same verbs on many more
 * images; this suite holds the parts a command cannot reach.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <gluvirt/gluvirt.h>

static char dir[] = "/tmp/gluvirt-verbs-XXXXXX";

static void setup(void)
{
    char *cmd;

    cr_assert_not_null(mkdtemp(dir));
    /* a.raw: 64 MiB, data in places; b.raw: a.raw with one byte changed at
     * 50000000; a.qcow2: a.raw converted (holes become unallocated clusters) */
    cr_assert_neq(asprintf(&cmd,
                           "cd %s && qemu-img create -q -f raw a.raw 64M && "
                           "qemu-io -f raw -c 'write -P 1 0 1M' -c 'write -P 2 20M 3M' "
                           "-c 'write -P 3 63M 1M' a.raw >/dev/null && "
                           "cp --sparse=always a.raw b.raw && "
                           "printf x | dd of=b.raw bs=1 seek=50000000 conv=notrunc status=none && "
                           "qemu-img convert -O qcow2 a.raw a.qcow2",
                           dir), -1);
    cr_assert_eq(system(cmd), 0, "making the images with qemu-img failed");
    free(cmd);
}

static void teardown(void)
{
    char *cmd;

    if (asprintf(&cmd, "rm -rf %s", dir) >= 0) {
        (void)!system(cmd);
        free(cmd);
    }
}

TestSuite(verbs, .init = setup, .fini = teardown);

static gluvirt_image *open_at(const char *name, gluvirt_format format, int writable)
{
    gluvirt_open_options *o = gluvirt_open_options_new();
    gluvirt_image *image;
    char *path;

    cr_assert_not_null(o);
    cr_assert_eq(gluvirt_open_options_set_format(o, format), 0);
    cr_assert_eq(gluvirt_open_options_set_writable(o, writable), 0);
    cr_assert_neq(asprintf(&path, "%s/%s", dir, name), -1);
    image = gluvirt_image_open(NULL, path, o);
    cr_assert_not_null(image, "open %s: %s", path, gluvirt_errmsg());
    free(path);
    gluvirt_open_options_free(o);
    return image;
}

/* What qemu-img prints for a command run in the test directory. */
static char *qemu_output(const char *args)
{
    char *cmd, *out = NULL;
    size_t cap = 0;
    ssize_t n;
    FILE *p;

    cr_assert_neq(asprintf(&cmd, "cd %s && qemu-img %s", dir, args), -1);
    p = popen(cmd, "r");
    cr_assert_not_null(p);
    n = getdelim(&out, &cap, '\0', p);
    pclose(p);
    free(cmd);
    cr_assert_gt(n, 0, "qemu-img %s printed nothing", args);
    return out;
}

/* ------------------------------------------------------------ progress */

struct progress_log {
    int calls;
    int stop_at;          /* return "stop" on this call (0: never) */
    uint64_t last_done, total;
    int went_back;        /* done ever decreased or passed total */
};

static int log_progress(void *user_data, uint64_t done, uint64_t total)
{
    struct progress_log *log = user_data;

    log->calls++;
    if (done < log->last_done || done > total)
        log->went_back = 1;
    log->last_done = done;
    log->total = total;
    return log->stop_at && log->calls >= log->stop_at;
}

static gluvirt_verb_options *with_progress(struct progress_log *log)
{
    gluvirt_verb_options *o = gluvirt_verb_options_new();

    cr_assert_not_null(o);
    cr_assert_eq(gluvirt_verb_options_set_progress(o, log_progress, log), 0);
    return o;
}

/* What most tests start from: a.raw and a.qcow2, the same disk in two
 * formats, open read-only, and verb options that log progress to log. */
struct same_disk {
    gluvirt_image *raw, *qcow2;
    struct progress_log log;
    gluvirt_verb_options *options;
};

static void open_same_disk(struct same_disk *d)
{
    memset(d, 0, sizeof *d);
    d->raw = open_at("a.raw", GLUVIRT_FORMAT_RAW, 0);
    d->qcow2 = open_at("a.qcow2", GLUVIRT_FORMAT_QCOW2, 0);
    d->options = with_progress(&d->log);
}

/* The images only: a writer may open the files after this. */
static void close_same_disk_images(struct same_disk *d)
{
    cr_assert_eq(gluvirt_image_close(d->qcow2), 0);
    cr_assert_eq(gluvirt_image_close(d->raw), 0);
    d->raw = d->qcow2 = NULL;
}

static void close_same_disk(struct same_disk *d)
{
    close_same_disk_images(d);
    gluvirt_verb_options_free(d->options);
}

/* ------------------------------------------------------------ compare */

Test(verbs, compare_finds_qemu_img_offset)
{
    struct same_disk d;
    gluvirt_image *b = open_at("b.raw", GLUVIRT_FORMAT_RAW, 0);
    char *expected = qemu_output("compare -f raw -F raw a.raw b.raw"), *text;
    uint64_t offset = 1;

    open_same_disk(&d);
    cr_assert_eq(gluvirt_image_compare(d.raw, b, d.options, &offset),
                 GLUVIRT_COMPARE_CONTENT_MISMATCH);
    cr_assert_neq(asprintf(&text, "Content mismatch at offset %" PRIu64 "!\n", offset), -1);
    cr_assert_str_eq(text, expected);
    memset(&d.log, 0, sizeof d.log);
    cr_assert_eq(gluvirt_image_compare(d.raw, d.qcow2, d.options, &offset),
                 GLUVIRT_COMPARE_IDENTICAL);
    cr_assert_eq(offset, 0);
    cr_assert_eq(d.log.total, 64u << 20);
    cr_assert_eq(d.log.last_done, 64u << 20, "progress ended at %" PRIu64, d.log.last_done);
    cr_assert_eq(d.log.went_back, 0);
    /* one handle on both sides */
    cr_assert_eq(gluvirt_image_compare(b, b, NULL, NULL), GLUVIRT_COMPARE_IDENTICAL);
    free(text);
    free(expected);
    gluvirt_image_close(b);
    close_same_disk(&d);
}

Test(verbs, compare_strict)
{
    struct same_disk d;
    char *expected = qemu_output("compare -s -f raw -F qcow2 a.raw a.qcow2; true"), *text;
    uint64_t offset = 0;
    int r;

    open_same_disk(&d);
    cr_assert_eq(gluvirt_verb_options_set_strict(d.options, 1), 0);
    r = gluvirt_image_compare(d.raw, d.qcow2, d.options, &offset);
    cr_assert_eq(r, GLUVIRT_COMPARE_STATUS_MISMATCH, "result %d", r);
    cr_assert_neq(asprintf(&text, "Strict mode: Offset %" PRIu64 " block status mismatch!\n",
                           offset), -1);
    cr_assert_str_eq(text, expected);
    free(text);
    free(expected);
    close_same_disk(&d);
}

Test(verbs, compare_stops_at_random_moments)
{
    struct same_disk d;
    unsigned seed = (unsigned)time(NULL);
    int i;

    open_same_disk(&d);
    cr_assert_eq(gluvirt_image_compare(d.raw, d.qcow2, d.options, NULL),
                 GLUVIRT_COMPARE_IDENTICAL);
    cr_assert_gt(d.log.calls, 2);
    cr_log_info("compare made %d progress calls; seed %u", d.log.calls, seed);
    srand(seed);
    for (i = 0; i < 20; i++) {
        struct progress_log log = {0};

        log.stop_at = 1 + rand() % d.log.calls;
        cr_assert_eq(gluvirt_verb_options_set_progress(d.options, log_progress, &log), 0);
        cr_assert_eq(gluvirt_image_compare(d.raw, d.qcow2, d.options, NULL), -1,
                     "stop at call %d", log.stop_at);
        cr_assert_eq(gluvirt_errno(), ECANCELED);
        cr_assert_eq(log.calls, log.stop_at, "the callback ran after it said stop");
        cr_assert_not_null(strstr(gluvirt_errmsg(), "compare"));
    }
    /* the images still work after the stops */
    cr_assert_eq(gluvirt_verb_options_set_progress(d.options, NULL, NULL), 0);
    cr_assert_eq(gluvirt_image_compare(d.raw, d.qcow2, d.options, NULL),
                 GLUVIRT_COMPARE_IDENTICAL);
    close_same_disk(&d);
}

/* ------------------------------------------------------------ measure */

Test(verbs, measure_matches_qemu_img)
{
    gluvirt_image *q = open_at("a.qcow2", GLUVIRT_FORMAT_QCOW2, 0);
    char *expected = qemu_output("measure -O qcow2 -o cluster_size=4k,refcount_bits=4 "
                                 "-f qcow2 a.qcow2 | head -2"), *text;
    gluvirt_verb_options *o = gluvirt_verb_options_new();
    uint64_t required = 0, full = 0;

    cr_assert_eq(gluvirt_verb_options_set_format(o, GLUVIRT_FORMAT_QCOW2), 0);
    cr_assert_eq(gluvirt_verb_options_set_cluster_size(o, 4096), 0);
    cr_assert_eq(gluvirt_verb_options_set_refcount_bits(o, 4), 0);
    cr_assert_eq(gluvirt_image_measure(q, 0, o, &required, &full), 0, "%s", gluvirt_errmsg());
    cr_assert_neq(asprintf(&text, "required size: %" PRIu64 "\nfully allocated size: %" PRIu64
                           "\n", required, full), -1);
    cr_assert_str_eq(text, expected);
    free(text);
    free(expected);
    gluvirt_verb_options_free(o);
    gluvirt_image_close(q);
}

Test(verbs, measure_stops)
{
    gluvirt_image *a = open_at("a.raw", GLUVIRT_FORMAT_RAW, 0);
    struct progress_log log = {0};
    gluvirt_verb_options *o = with_progress(&log);
    uint64_t required = 7;

    log.stop_at = 2;
    cr_assert_eq(gluvirt_verb_options_set_format(o, GLUVIRT_FORMAT_QCOW2), 0);
    cr_assert_eq(gluvirt_image_measure(a, 0, o, &required, NULL), -1);
    cr_assert_eq(gluvirt_errno(), ECANCELED);
    cr_assert_eq(required, 7, "an out parameter changed on failure");
    gluvirt_verb_options_free(o);
    gluvirt_image_close(a);
}

Test(verbs, errors_measure)
{
    gluvirt_verb_options *o = gluvirt_verb_options_new();

    cr_assert_eq(gluvirt_verb_options_set_cluster_size(o, 3000), -1);
    cr_assert_eq(gluvirt_errno(), EINVAL);
    cr_assert_not_null(strstr(gluvirt_errmsg(), "3000"));
    cr_assert_eq(gluvirt_verb_options_set_refcount_bits(o, 3), -1);
    cr_assert_eq(gluvirt_verb_options_set_compat(o, "2.0"), -1);
    cr_assert_eq(gluvirt_verb_options_set_compat(o, NULL), -1);
    cr_assert_eq(gluvirt_verb_options_set_format(o, GLUVIRT_FORMAT_PROBE), -1);
    cr_assert_eq(gluvirt_verb_options_set_preallocation(o, (gluvirt_preallocation)9), -1);
    cr_assert_eq(gluvirt_verb_options_set_strict(NULL, 1), -1);
    cr_assert_eq(gluvirt_verb_options_set_format(o, GLUVIRT_FORMAT_QCOW2), 0);
    cr_assert_eq(gluvirt_verb_options_set_cluster_size(o, 512), 0);
    /* 1 PiB with 512-byte clusters needs a 32 GiB L1 table: the message
     * names a cluster size that would do */
    cr_assert_eq(gluvirt_image_measure(NULL, 1ull << 50, o, NULL, NULL), -1);
    cr_assert_eq(gluvirt_errno(), EINVAL);
    cr_assert_not_null(strstr(gluvirt_errmsg(), "cluster_size="), "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_verb_options_set_extended_l2(o, 1), 0);
    cr_assert_eq(gluvirt_image_measure(NULL, 1 << 20, o, NULL, NULL), -1);
    cr_assert_eq(gluvirt_errno(), EINVAL);
    gluvirt_verb_options_free(o);
    gluvirt_verb_options_free(NULL);
}

/* ------------------------------------------------------------ resize */

Test(verbs, resize_raw)
{
    gluvirt_image *b = open_at("b.raw", GLUVIRT_FORMAT_RAW, 1);
    gluvirt_verb_options *o = gluvirt_verb_options_new();
    char *expected, *path;
    struct stat st;

    cr_assert_eq(gluvirt_image_resize(b, 100 << 20, NULL), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_size(b), 100 << 20);
    cr_assert_eq(gluvirt_image_resize(b, 1 << 20, NULL), -1);
    cr_assert_eq(gluvirt_errno(), EINVAL);
    cr_assert_not_null(strstr(gluvirt_errmsg(), "shrink"));
    cr_assert_eq(gluvirt_verb_options_set_shrink(o, 1), 0);
    cr_assert_eq(gluvirt_image_resize(b, 30000001, o), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_resize(b, 0, o), -1);
    cr_assert_eq(gluvirt_errno(), EINVAL);
    cr_assert_eq(gluvirt_image_close(b), 0);
    cr_assert_neq(asprintf(&path, "%s/b.raw", dir), -1);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_size, 30000001);
    /* qemu-img reads the first 30000001 bytes of a.raw there: b.raw's
     * changed byte was past the new end */
    cr_assert_eq(system("true"), 0);
    expected = qemu_output("create -q -f raw c.raw 0 && cp --sparse=always a.raw c.raw && "
                           "truncate -s 30000001 c.raw && "
                           "qemu-img compare -f raw -F raw c.raw b.raw");
    cr_assert_str_eq(expected, "Images are identical.\n");
    free(expected);
    free(path);
    gluvirt_verb_options_free(o);
}

Test(verbs, errors_resize)
{
    struct same_disk d;
    gluvirt_image *a;

    open_same_disk(&d);
    cr_assert_eq(gluvirt_image_resize(NULL, 1, NULL), -1);
    cr_assert_eq(gluvirt_errno(), EINVAL);
    cr_assert_eq(gluvirt_image_resize(d.raw, 1 << 20, NULL), -1);
    cr_assert_eq(gluvirt_errno(), EROFS);
    cr_assert_eq(gluvirt_image_resize(d.qcow2, 1 << 20, NULL), -1);
    cr_assert_eq(gluvirt_errno(), EROFS);
    cr_assert_eq(gluvirt_image_compare(NULL, d.raw, NULL, NULL), -1);
    cr_assert_eq(gluvirt_errno(), EINVAL);
    close_same_disk_images(&d);

    /* qcow2: sizes qemu-img refuses, the image left as it was */
    gluvirt_image *q = open_at("a.qcow2", GLUVIRT_FORMAT_QCOW2, 1);
    cr_assert_eq(gluvirt_image_resize(q, (64 << 20) + 1, NULL), -1);
    cr_assert_eq(gluvirt_errno(), EINVAL);
    cr_assert(strstr(gluvirt_errmsg(), "multiple of 512"), "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_resize(q, 1 << 20, NULL), -1, "shrank without the option");
    cr_assert_eq(gluvirt_errno(), EINVAL);
    cr_assert_eq(gluvirt_image_resize(q, 1ull << 60, NULL), -1);
    cr_assert_eq(gluvirt_errno(), EFBIG);
    cr_assert_eq(gluvirt_image_size(q), 64 << 20);
    gluvirt_image_close(q);

    /* stopped before the size changes: the image keeps its size */
    a = open_at("a.raw", GLUVIRT_FORMAT_RAW, 1);
    d.log.stop_at = 1;
    cr_assert_eq(gluvirt_image_resize(a, 1 << 30, d.options), -1);
    cr_assert_eq(gluvirt_errno(), ECANCELED);
    cr_assert_eq(gluvirt_image_size(a), 64 << 20);
    gluvirt_image_close(a);
    close_same_disk(&d);
}

Test(verbs, errors_snapshot)
{
    gluvirt_image *a = open_at("a.raw", GLUVIRT_FORMAT_RAW, 1);
    gluvirt_image *q = open_at("a.qcow2", GLUVIRT_FORMAT_QCOW2, 0);
    char *listed;

    cr_assert_eq(gluvirt_image_snapshot_create(NULL, "s"), -1);
    cr_assert_eq(gluvirt_errno(), EINVAL);
    cr_assert_eq(gluvirt_image_snapshot_apply(q, NULL), -1);
    cr_assert_eq(gluvirt_errno(), EINVAL);
    cr_assert_eq(gluvirt_image_snapshot_create(q, "s"), -1);
    cr_assert_eq(gluvirt_errno(), EROFS);
    cr_assert_eq(gluvirt_image_snapshot_create(a, "s"), -1);
    cr_assert_eq(gluvirt_errno(), ENOTSUP);
    gluvirt_image_close(q);
    gluvirt_image_close(a);

    q = open_at("a.qcow2", GLUVIRT_FORMAT_QCOW2, 1);
    cr_assert_eq(gluvirt_image_snapshot_apply(q, "none"), -1);
    cr_assert_eq(gluvirt_errno(), ENOENT);
    cr_assert(strstr(gluvirt_errmsg(), "'none'"), "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_snapshot_delete(q, "none"), -1);
    cr_assert_eq(gluvirt_errno(), ENOENT);
    /* made and listed through the handle, then seen by qemu-img */
    cr_assert_eq(gluvirt_image_snapshot_create(q, "made"), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_info_int(q, GLUVIRT_INFO_SNAPSHOT_COUNT), 1);
    cr_assert_str_eq(gluvirt_image_snapshot_string(q, 0, GLUVIRT_SNAPSHOT_ID), "1");
    cr_assert_str_eq(gluvirt_image_snapshot_string(q, 0, GLUVIRT_SNAPSHOT_NAME), "made");
    cr_assert_eq(gluvirt_image_snapshot_int(q, 0, GLUVIRT_SNAPSHOT_DISK_SIZE), 64 << 20);
    /* delete matches names only, as qemu-img does */
    cr_assert_eq(gluvirt_image_snapshot_delete(q, "1"), -1);
    cr_assert_eq(gluvirt_errno(), ENOENT);
    cr_assert_eq(gluvirt_image_close(q), 0);
    listed = qemu_output("snapshot -l a.qcow2 | cut -c1-35 && qemu-img check -q a.qcow2 && "
                         "echo clean");
    cr_assert_str_eq(listed, "Snapshot list:\nID        TAG               VM SIZE\n"
                             "1         made                  0 B\nclean\n");
    free(listed);
}
