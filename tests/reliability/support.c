/* Shared by the reliability programs; see support.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <glusterfs/api/glfs.h>

enum { OP_READ, OP_WRITE, OP_FLUSH };
static const char *const op_names[] = {"read", "write", "flush"};
static const char *const op_plurals[] = {"reads", "writes", "flushes"};

/* ------------------------------------------------------------ reporting */

static atomic_int failures;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

static void print_line(const char *prefix, const char *what, const char *format, va_list args)
{
    pthread_mutex_lock(&print_lock);
    fputs(prefix, stdout);
    if (what)
        fputs(what, stdout);
    if (format && format[0]) {
        if (what)
            fputs(": ", stdout);
        vprintf(format, args);
    }
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&print_lock);
}

void rel_check(int ok, const char *what, const char *format, ...)
{
    va_list args;

    va_start(args, format);
    print_line(ok ? "ok: " : "FAIL: ", what, format, args);
    va_end(args);
    if (!ok)
        atomic_fetch_add(&failures, 1);
}

void rel_figure(const char *name, const char *format, ...)
{
    char prefix[128];
    va_list args;

    snprintf(prefix, sizeof prefix, "figure: %s = ", name);
    va_start(args, format);
    print_line(prefix, NULL, format, args);
    va_end(args);
}

void rel_note(const char *format, ...)
{
    va_list args;

    va_start(args, format);
    print_line("note: ", NULL, format, args);
    va_end(args);
}

int rel_failures(void)
{
    return atomic_load(&failures);
}

double rel_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void rel_sleep(double seconds)
{
    struct timespec ts;

    if (seconds <= 0)
        return;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

double rel_ping_timeout(void)
{
    const char *text = getenv("GLUVIRT3_PING_TIMEOUT");

    return text && atof(text) > 0 ? atof(text) : 5.0;
}

/* Defined when AddressSanitizer's runtime is in the process (it is linked
 * into the sanitizer build); declared weak so that the plain build links. */
extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

int64_t rel_heap_bytes(const char **source)
{
    struct mallinfo2 info;

    if (__sanitizer_get_current_allocated_bytes) {
        *source = "AddressSanitizer's allocator: bytes allocated and not freed";
        return (int64_t)__sanitizer_get_current_allocated_bytes();
    }
    info = mallinfo2();
    *source = "glibc mallinfo2: uordblks + hblkhd";
    return (int64_t)(info.uordblks + info.hblkhd);
}

void rel_clock_text(double when, char *text, size_t size)
{
    struct timespec real;
    struct tm tm;
    double wall;
    time_t seconds;

    clock_gettime(CLOCK_REALTIME, &real);
    wall = (double)real.tv_sec + (double)real.tv_nsec / 1e9 - rel_now() + when;
    seconds = (time_t)wall;
    gmtime_r(&seconds, &tm);
    snprintf(text, size, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)((wall - (double)seconds) * 1000));
}

long rel_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* xorshift64*: cheap, and a run replays from its printed seed. */
uint64_t rel_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * UINT64_C(2685821657736338717);
}

uint64_t rel_seed(void)
{
    const char *text = getenv("GLUVIRT_TEST_SEED");
    uint64_t seed = text ? strtoull(text, NULL, 0) : UINT64_C(0x72656c6961626c65);

    return seed ? seed : 1;
}

/* ------------------------------------------------------------ cluster */

int rel_hook(const char *format, ...)
{
    const char *tool = getenv("GLUVIRT3_TOOL");
    char args[512], command[1024];
    va_list ap;
    int status;

    if (!tool || !*tool) {
        rel_check(0, "fault hook", "GLUVIRT3_TOOL is not set (run me from reliability.sh)");
        return -1;
    }
    va_start(ap, format);
    vsnprintf(args, sizeof args, format, ap);
    va_end(ap);
    snprintf(command, sizeof command, "'%s' %s", tool, args);
    fflush(stdout);
    status = system(command);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        rel_check(0, "fault hook", "'%s' failed (status %d)", args, status);
        return status == 0 ? -1 : status;
    }
    return 0;
}

int rel_create_images(const char *volume, const char *host, const char *const *names,
                      int count, uint64_t size)
{
    const char *base = getenv("GLUVIRT3_BASE");
    char log[512];
    glfs_t *fs = glfs_new(volume);
    int rc = 0;

    snprintf(log, sizeof log, "%s/create-%s.log", base ? base : "/tmp", volume);
    if (!fs || glfs_set_volfile_server(fs, "tcp", host, 24007) != 0 ||
        glfs_set_logging(fs, log, 4) != 0 || glfs_init(fs) != 0) {
        rel_check(0, "create images", "cannot connect to %s on %s: %s (see %s)", volume, host,
                  strerror(errno), log);
        return -1;
    }
    for (int i = 0; i < count && rc == 0; i++) {
        /* Not O_TRUNC: on a sharded volume gfapi's open ignores it (the
         * size and the shards past the first stay as they were), so an
         * image made again would read the last run's data.  ftruncate to 0
         * drops the shards. */
        glfs_fd_t *fd = glfs_creat(fs, names[i], O_RDWR, 0644);

        if (!fd || glfs_ftruncate(fd, 0, NULL, NULL) != 0 ||
            glfs_ftruncate(fd, (off_t)size, NULL, NULL) != 0 || glfs_fsync(fd, NULL, NULL) != 0) {
            rel_check(0, "create images", "%s on %s: %s", names[i], volume, strerror(errno));
            rc = -1;
        }
        if (fd)
            glfs_close(fd);
    }
    /* No glfs_fini: it would wait ~10 s for an RPC timer; see cluster.md. */
    return rc;
}

char *rel_uri(const char *host, const char *volume, const char *name)
{
    char *uri;

    if (asprintf(&uri, "gluster://%s/%s/%s", host, volume, name) < 0)
        abort();
    return uri;
}

gluvirt_pool *rel_pool_new(const char *tag, unsigned linger_ms)
{
    const char *base = getenv("GLUVIRT3_BASE");
    gluvirt_pool_options *options = gluvirt_pool_options_new();
    gluvirt_pool *pool = NULL;
    char log[512];

    snprintf(log, sizeof log, "%s/client-%s.log", base ? base : "/tmp", tag);
    if (options && gluvirt_pool_options_set_log(options, log, 4) == 0 &&
        gluvirt_pool_options_set_connect_timeout(options, 20000) == 0 &&
        gluvirt_pool_options_set_linger(options, linger_ms) == 0)
        pool = gluvirt_pool_new(options);
    if (!pool)
        rel_check(0, "pool", "cannot make a pool: %s", gluvirt_errmsg());
    gluvirt_pool_options_free(options);
    return pool;
}

gluvirt_image *rel_open(gluvirt_pool *pool, const char *uri, int writable, unsigned depth)
{
    gluvirt_open_options *options = gluvirt_open_options_new();
    gluvirt_image *image = NULL;

    if (options && gluvirt_open_options_set_writable(options, writable) == 0 &&
        (depth == 0 || gluvirt_open_options_set_queue_depth(options, depth) == 0))
        image = gluvirt_image_open(pool, uri, options);
    gluvirt_open_options_free(options);
    return image;
}

int64_t rel_verify_image(const char *uri, const unsigned char *model, uint64_t size,
                         char *why, size_t why_size)
{
    const size_t chunk = 4u << 20;
    gluvirt_pool *pool = rel_pool_new("verify", 0);
    gluvirt_image *image = pool ? rel_open(pool, uri, 0, 0) : NULL;
    unsigned char *buf = malloc(chunk);
    int64_t verified = -1;

    if (!image || !buf) {
        snprintf(why, why_size, "cannot open %s for the check: %s", uri, gluvirt_errmsg());
        goto out;
    }
    if (gluvirt_image_size(image) != (int64_t)size) {
        snprintf(why, why_size, "%s has %" PRId64 " bytes, the model %" PRIu64, uri,
                 gluvirt_image_size(image), size);
        goto out;
    }
    for (uint64_t at = 0; at < size; at += chunk) {
        size_t want = size - at < chunk ? (size_t)(size - at) : chunk;
        ssize_t got = gluvirt_image_pread(image, buf, want, at);

        if (got != (ssize_t)want) {
            snprintf(why, why_size, "read of %zu at %" PRIu64 " of %s: %zd (%s)", want, at,
                     uri, got, got < 0 ? gluvirt_errmsg() : "short");
            goto out;
        }
        if (memcmp(buf, model + at, want) != 0) {
            size_t b = 0;

            while (buf[b] == model[at + b])
                b++;
            snprintf(why, why_size, "byte %" PRIu64 " of %s reads 0x%02x, the model says 0x%02x",
                     at + b, uri, buf[b], model[at + b]);
            goto out;
        }
    }
    verified = (int64_t)size;
out:
    free(buf);
    gluvirt_image_close(image);
    gluvirt_pool_free(pool);
    return verified;
}

/* ------------------------------------------------------------ latency */

/* 2^(k/8) for k = 0..7: the bucket edges within an octave. */
static const double eighths[8] = {1.0,
                                  1.0905077326652577,
                                  1.1892071150027210,
                                  1.2968395546510096,
                                  1.4142135623730951,
                                  1.5422108254079407,
                                  1.6817928305074290,
                                  1.8340080864093424};

/* Bucket 0 holds [0, 1 us); bucket 1 + 8 * octave + k holds
 * [2^octave * eighths[k], the next edge) microseconds. */
static int latency_bucket(double seconds)
{
    double us = seconds * 1e6, base;
    int octave, k = 7, bucket;

    if (!(us >= 1.0))
        return 0;
    if (us >= 9.2e18)
        return REL_LATENCY_BUCKETS - 1;
    octave = 63 - __builtin_clzll((unsigned long long)us);
    base = (double)(1ULL << octave);
    while (k > 0 && us < base * eighths[k])
        k--;
    bucket = 1 + 8 * octave + k;
    return bucket < REL_LATENCY_BUCKETS ? bucket : REL_LATENCY_BUCKETS - 1;
}

static double bucket_upper_edge(int bucket)
{
    int octave, k;

    if (bucket == 0)
        return 1e-6;
    octave = (bucket - 1) / 8;
    k = (bucket - 1) % 8;
    return (double)(1ULL << octave) * (k == 7 ? 2.0 : eighths[k + 1]) / 1e6;
}

void rel_latency_add(struct rel_latency *latency, double seconds)
{
    latency->buckets[latency_bucket(seconds)]++;
    latency->count++;
    latency->sum += seconds;
    if (seconds > latency->max)
        latency->max = seconds;
}

void rel_latency_merge(struct rel_latency *into, const struct rel_latency *from)
{
    for (int i = 0; i < REL_LATENCY_BUCKETS; i++)
        into->buckets[i] += from->buckets[i];
    into->count += from->count;
    into->sum += from->sum;
    if (from->max > into->max)
        into->max = from->max;
}

double rel_latency_percentile(const struct rel_latency *latency, double fraction)
{
    uint64_t wanted, seen = 0;

    if (latency->count == 0)
        return 0;
    wanted = (uint64_t)(fraction * (double)latency->count);
    if (wanted < 1)
        wanted = 1;
    for (int i = 0; i < REL_LATENCY_BUCKETS; i++) {
        seen += latency->buckets[i];
        if (seen >= wanted) {
            double edge = bucket_upper_edge(i);

            return edge < latency->max ? edge : latency->max;
        }
    }
    return latency->max;
}

/* ------------------------------------------------------------ workers */

static int fail(struct rel_worker *w, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(struct rel_worker *w, const char *format, ...)
{
    va_list args;
    int used;

    if (w->failure[0])
        return -1; /* the first failure tells the story */
    used = snprintf(w->failure, sizeof w->failure, "%s worker (seed %" PRIu64 "): ",
                    w->api == REL_AIO ? "callback" : "sync", w->seed);
    va_start(args, format);
    vsnprintf(w->failure + used, sizeof w->failure - (size_t)used, format, args);
    va_end(args);
    return -1;
}

/* A read that differs from the model: where, and how. */
static int mismatch(struct rel_worker *w, const char *api, const struct rel_lane *lane,
                    const unsigned char *got, uint64_t offset, size_t count)
{
    const unsigned char *want = lane->model + offset;
    size_t first = 0, last = count, zeros = 0;

    while (first < count && got[first] == want[first])
        first++;
    while (last > first && got[last - 1] == want[last - 1])
        last--;
    unsigned char *again = malloc(count);
    const char *second;

    for (size_t i = first; i < last; i++)
        zeros += got[i] == 0;
    /* Read once more: a transient stale read and lost data look alike
     * otherwise. */
    if (!again)
        second = "not done";
    else if (gluvirt_image_pread(lane->image, again, count, offset) != (ssize_t)count)
        second = "failed";
    else
        second = memcmp(again, want, count) == 0 ? "matches the model" : "differs as well";
    free(again);
    return fail(w, "%s read of %zu at %" PRIu64 " of %s differs from the model in bytes "
                   "%" PRIu64 "..%" PRIu64 " (first: 0x%02x, model 0x%02x; %zu of those %zu "
                   "read as zero); a second read at once %s",
                api, count, offset, lane->name ? lane->name : "the image", offset + first,
                offset + last - 1, got[first], want[first], zeros, last - first, second);
}

int rel_lane_init(struct rel_lane *lane, gluvirt_image *image, unsigned char *model,
                  uint64_t start, uint64_t length, unsigned depth, size_t max_io)
{
    memset(lane, 0, sizeof *lane);
    lane->image = image;
    lane->model = model;
    lane->start = start;
    lane->length = length;
    lane->depth = depth;
    if (depth == 0)
        return 0;
    if (!(lane->slots = calloc(depth, sizeof *lane->slots)))
        return -1;
    for (unsigned i = 0; i < depth; i++)
        if (!(lane->slots[i].buf = malloc(max_io)))
            return -1;
    return 0;
}

void rel_lane_destroy(struct rel_lane *lane)
{
    for (unsigned i = 0; lane->slots && i < lane->depth; i++)
        free(lane->slots[i].buf);
    free(lane->slots);
    lane->slots = NULL;
}

static void pick_op(struct rel_worker *w, const struct rel_lane *lane, int *op, size_t *count,
                    uint64_t *offset)
{
    uint64_t pick = rel_random(&w->state) % 1000;
    size_t n;

    if (pick < (uint64_t)w->write_percent * 10)
        *op = OP_WRITE;
    else if (w->write_percent > 0 && pick >= 995)
        *op = OP_FLUSH;
    else
        *op = OP_READ;
    /* Half block-aligned as a guest's disk does, half anywhere. */
    n = 1 + (size_t)(rel_random(&w->state) % w->max_io);
    if (rel_random(&w->state) & 1) {
        n = (n + 4095) & ~(size_t)4095;
        if (n > w->max_io)
            n = w->max_io;
        *offset = lane->start + (rel_random(&w->state) % ((lane->length - n) / 4096 + 1)) * 4096;
    } else {
        *offset = lane->start + rel_random(&w->state) % (lane->length - n + 1);
    }
    *count = n;
}

static void fill_random(struct rel_worker *w, unsigned char *buf, size_t count)
{
    size_t i = 0;

    for (; i + 8 <= count; i += 8) {
        uint64_t r = rel_random(&w->state);

        memcpy(buf + i, &r, 8);
    }
    for (; i < count; i++)
        buf[i] = (unsigned char)rel_random(&w->state);
}

static void note_latency(struct rel_worker *w, double started, int op, size_t count,
                         uint64_t offset, const struct rel_lane *lane)
{
    double took = rel_now() - started;
    int at = REL_SLOWEST_KEPT;

    if (took > w->max_latency)
        w->max_latency = took;
    rel_latency_add(&w->latency, took);
    rel_latency_add(&w->by_op[op], took);
    while (at > 0 && took > w->slowest[at - 1].took)
        at--;
    if (at == REL_SLOWEST_KEPT)
        return;
    memmove(&w->slowest[at + 1], &w->slowest[at],
            (REL_SLOWEST_KEPT - 1 - (size_t)at) * sizeof w->slowest[0]);
    w->slowest[at] = (struct rel_slow_request){took, started, w->api, op, count, offset,
                                               lane->name};
}

static void maybe_pause(struct rel_worker *w);

static void run_sync(struct rel_worker *w)
{
    while (!atomic_load(w->stop) && !w->failure[0]) {
        struct rel_lane *lane = &w->lanes[rel_random(&w->state) % (uint64_t)w->lane_count];
        int op;
        size_t count;
        uint64_t offset;
        ssize_t got;
        double started;

        maybe_pause(w);
        pick_op(w, lane, &op, &count, &offset);
        started = rel_now();
        switch (op) {
        case OP_WRITE:
            fill_random(w, w->sync_buf, count);
            memcpy(lane->model + offset, w->sync_buf, count);
            got = gluvirt_image_pwrite(lane->image, w->sync_buf, count, offset);
            if (got != (ssize_t)count) {
                fail(w, "pwrite of %zu at %" PRIu64 ": %zd (errno %d: %s)", count, offset, got,
                     gluvirt_errno(), gluvirt_errmsg());
                return;
            }
            w->writes++;
            w->bytes_written += count;
            break;
        case OP_FLUSH:
            if (gluvirt_image_flush(lane->image) != 0) {
                fail(w, "flush: errno %d: %s", gluvirt_errno(), gluvirt_errmsg());
                return;
            }
            w->flushes++;
            break;
        default:
            got = gluvirt_image_pread(lane->image, w->sync_buf, count, offset);
            if (got != (ssize_t)count) {
                fail(w, "pread of %zu at %" PRIu64 ": %zd (errno %d: %s)", count, offset, got,
                     gluvirt_errno(), gluvirt_errmsg());
                return;
            }
            if (memcmp(w->sync_buf, lane->model + offset, count) != 0) {
                mismatch(w, "sync", lane, w->sync_buf, offset, count);
                return;
            }
            w->reads++;
            w->bytes_verified += count;
        }
        note_latency(w, started, op, op == OP_FLUSH ? 0 : count, offset, lane);
    }
}

/* The leaking switch's blocks, each holding the address of the one before:
 * the heap grows with every request as it would with a leak, yet every
 * block stays reachable, so LeakSanitizer has nothing to report at exit
 * (the sanitizer build's report scan would count it). */
static pthread_mutex_t leak_lock = PTHREAD_MUTEX_INITIALIZER;
static void *leak_chain;

static void slot_complete(void *user_data, int64_t result)
{
    struct rel_slot *s = user_data;
    size_t leak = s->owner->leak_per_request;

    s->result = result;
    s->completes++;
    if (leak) {
        void **block = malloc(leak < sizeof *block ? sizeof *block : leak);

        if (block) {
            memset(block, 0x6c, leak < sizeof *block ? sizeof *block : leak);
            pthread_mutex_lock(&leak_lock);
            *block = leak_chain;
            leak_chain = block;
            pthread_mutex_unlock(&leak_lock);
        }
    }
}

static void slot_release(void *user_data)
{
    struct rel_slot *s = user_data;
    struct rel_worker *w = s->owner;

    pthread_mutex_lock(&w->lock);
    s->releases++;
    s->done = 1;
    w->finished++;
    pthread_cond_signal(&w->changed);
    pthread_mutex_unlock(&w->lock);
}

/* Check a released slot and free it for the next request. */
static int reap(struct rel_worker *w, struct rel_slot *s)
{
    int64_t expected = s->op == OP_FLUSH ? 0 : (int64_t)s->count;

    s->busy = 0;
    pthread_mutex_lock(&w->lock);
    s->done = 0;
    w->finished--;
    pthread_mutex_unlock(&w->lock);
    w->last_completion = rel_now();
    note_latency(w, s->submitted, s->op, s->count, s->offset, s->lane);
    if (s->completes != 1 || s->releases != 1)
        return fail(w, "%s at %" PRIu64 ": complete ran %d times, release %d times",
                    op_names[s->op], s->offset, s->completes, s->releases);
    if (s->result != expected)
        return fail(w, "callback %s of %zu at %" PRIu64 ": result %" PRId64 " (%s), expected "
                       "%" PRId64,
                    op_names[s->op], s->count, s->offset, s->result,
                    s->result < 0 ? strerror((int)-s->result) : "short", expected);
    if (s->op == OP_READ) {
        if (memcmp(s->buf, s->lane->model + s->offset, s->count) != 0)
            return mismatch(w, "callback", s->lane, s->buf, s->offset, s->count);
        w->reads++;
        w->bytes_verified += s->count;
    } else if (s->op == OP_WRITE) {
        w->writes++;
        w->bytes_written += s->count;
    } else {
        w->flushes++;
    }
    return 0;
}

/* Whether a new request on [offset, offset + count) may run beside the
 * lane's requests in flight without making the model ambiguous. */
static int conflicts(const struct rel_lane *lane, int op, uint64_t offset, size_t count)
{
    for (unsigned i = 0; i < lane->depth; i++) {
        const struct rel_slot *s = &lane->slots[i];

        if (!s->busy || s->op == OP_FLUSH || (s->op == OP_READ && op == OP_READ))
            continue;
        if (s->offset < offset + count && offset < s->offset + s->count)
            return 1;
    }
    return 0;
}

static int submit(struct rel_worker *w, struct rel_lane *lane, struct rel_slot *s)
{
    int op, rc;
    size_t count;
    uint64_t offset;

    for (int attempt = 0;; attempt++) {
        pick_op(w, lane, &op, &count, &offset);
        if (op == OP_FLUSH || !conflicts(lane, op, offset, count))
            break;
        if (attempt == 8)
            return 0; /* crowded: leave the slot idle for a round */
    }
    s->op = op;
    s->offset = offset;
    s->count = op == OP_FLUSH ? 0 : count;
    s->completes = s->releases = 0;
    s->result = INT64_MIN;
    s->busy = 1;
    s->submitted = rel_now();
    if (op == OP_WRITE) {
        fill_random(w, s->buf, count);
        memcpy(lane->model + offset, s->buf, count);
        rc = gluvirt_image_aio_write(lane->image, s->buf, count, offset, slot_complete, s,
                                     slot_release);
    } else if (op == OP_READ) {
        memset(s->buf, 0xa5, count);
        rc = gluvirt_image_aio_read(lane->image, s->buf, count, offset, slot_complete, s,
                                    slot_release);
    } else {
        rc = gluvirt_image_aio_flush(lane->image, slot_complete, s, slot_release);
    }
    if (rc != 0) {
        s->busy = 0;
        return fail(w, "submitting a %s of %zu at %" PRIu64 ": errno %d: %s", op_names[op],
                    count, offset, gluvirt_errno(), gluvirt_errmsg());
    }
    return 0;
}

/* Wait until some slot is released or timeout passes; 1 when one was. */
static int wait_finished(struct rel_worker *w, double timeout)
{
    struct timespec until;
    int any;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)timeout;
    until.tv_nsec += (long)((timeout - (double)(time_t)timeout) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->lock);
    while (w->finished == 0 &&
           pthread_cond_timedwait(&w->changed, &w->lock, &until) == 0)
        ;
    any = w->finished > 0;
    pthread_mutex_unlock(&w->lock);
    return any;
}

static int slot_released(struct rel_worker *w, struct rel_slot *s)
{
    int done;

    pthread_mutex_lock(&w->lock);
    done = s->done;
    pthread_mutex_unlock(&w->lock);
    return done;
}

/* A request is hung when it is older than REL_HANG_SECONDS and nothing of
 * its worker has completed for half that time (the client stands still),
 * or whatever else completes, when it is four times that old (its
 * completion was lost).  A request that is merely slow on a starved machine
 * while others complete is judged by the phase's latency bound instead. */
static int hung(const struct rel_worker *w, const struct rel_slot *s, double now)
{
    double age = now - s->submitted;
    double last = w->last_completion > s->submitted ? w->last_completion : s->submitted;

    return (age > REL_HANG_SECONDS && now - last > REL_HANG_SECONDS / 2) ||
           age > 4 * REL_HANG_SECONDS;
}

/* One pass over every slot: reap what is released, refill what is free
 * (unless draining or failed).  A failure is recorded and the pass goes on,
 * so that draining still accounts for every slot.  Returns the slots still
 * in flight. */
static int aio_pass(struct rel_worker *w, int draining)
{
    int busy = 0;
    double now = rel_now();

    for (int l = 0; l < w->lane_count; l++) {
        struct rel_lane *lane = &w->lanes[l];

        for (unsigned i = 0; i < lane->depth; i++) {
            struct rel_slot *s = &lane->slots[i];

            if (s->busy && slot_released(w, s))
                reap(w, s);
            if (!s->busy && !draining && !w->failure[0])
                submit(w, lane, s);
            if (s->busy) {
                busy++;
                if (hung(w, s, now))
                    fail(w, "a %s of %zu at %" PRIu64 " has not completed after %.0f s (the "
                         "last of this thread's requests completed %.0f s ago)",
                         op_names[s->op], s->count, s->offset, now - s->submitted,
                         now - w->last_completion);
            }
        }
    }
    return busy;
}

/* Wait for every request in flight: no callback may outlive the slots,
 * failure or not. */
static void drain(struct rel_worker *w)
{
    double start = rel_now();

    while (aio_pass(w, 1) > 0) {
        if (rel_now() - start > 2 * REL_HANG_SECONDS) {
            /* The slots cannot be freed while gfapi may still fill them. */
            fprintf(stderr, "reliability: %s\nreliability: requests still in flight %.0f s "
                            "after the stop; exiting hard\n",
                    w->failure, rel_now() - start);
            _exit(3);
        }
        wait_finished(w, 0.1);
    }
}

/* When asked to pause: drain (callback workers), say so, and wait. */
static void maybe_pause(struct rel_worker *w)
{
    if (!w->pause || !atomic_load(w->pause))
        return;
    if (w->api == REL_AIO)
        drain(w);
    atomic_store(&w->paused, 1);
    while (atomic_load(w->pause) && !atomic_load(w->stop))
        rel_sleep(0.01);
    atomic_store(&w->paused, 0);
}

static void run_aio(struct rel_worker *w)
{
    while (!atomic_load(w->stop) && !w->failure[0]) {
        maybe_pause(w);
        aio_pass(w, 0);
        wait_finished(w, 0.1);
    }
    drain(w);
}

static void *worker_main(void *arg)
{
    struct rel_worker *w = arg;

    if (w->api == REL_SYNC)
        run_sync(w);
    else
        run_aio(w);
    atomic_store(&w->running, 0);
    return NULL;
}

int rel_workers_start(struct rel_worker *workers, int count)
{
    for (int i = 0; i < count; i++) {
        struct rel_worker *w = &workers[i];

        w->state = w->seed ? w->seed : 1;
        w->failure[0] = '\0';
        w->finished = 0;
        atomic_store(&w->paused, 0);
        atomic_store(&w->running, 1);
        for (int l = 0; l < w->lane_count; l++)
            for (unsigned s = 0; s < w->lanes[l].depth; s++) {
                w->lanes[l].slots[s].owner = w;
                w->lanes[l].slots[s].lane = &w->lanes[l];
                w->lanes[l].slots[s].busy = 0;
                w->lanes[l].slots[s].done = 0;
            }
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->changed, NULL);
        if (!w->sync_buf && !(w->sync_buf = malloc(w->max_io)))
            return -1;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            return -1;
    }
    return 0;
}

int rel_workers_stop(struct rel_worker *workers, int count)
{
    int failed = 0;

    for (int i = 0; i < count; i++)
        atomic_store(workers[i].stop, 1); /* all of them first, then wait */
    for (int i = 0; i < count; i++) {
        pthread_join(workers[i].thread, NULL);
        pthread_mutex_destroy(&workers[i].lock);
        pthread_cond_destroy(&workers[i].changed);
        free(workers[i].sync_buf);
        workers[i].sync_buf = NULL;
        if (workers[i].failure[0])
            failed++;
    }
    return failed;
}

void rel_workers_pause(struct rel_worker *workers, int count)
{
    for (int i = 0; i < count; i++)
        if (workers[i].pause)
            atomic_store(workers[i].pause, 1);
    for (int i = 0; i < count; i++)
        while (workers[i].pause && !atomic_load(&workers[i].paused) &&
               atomic_load(&workers[i].running))
            rel_sleep(0.01);
}

void rel_workers_resume(struct rel_worker *workers, int count)
{
    for (int i = 0; i < count; i++)
        if (workers[i].pause)
            atomic_store(workers[i].pause, 0);
}

static int slower_first(const void *a, const void *b)
{
    double x = ((const struct rel_slow_request *)a)->took;
    double y = ((const struct rel_slow_request *)b)->took;

    return x < y ? 1 : x > y ? -1 : 0;
}

void rel_report_latency(const char *name, struct rel_worker *workers, int count,
                        struct rel_latency *merged, struct rel_latency by_op[3])
{
    struct rel_slow_request *all = calloc((size_t)count * REL_SLOWEST_KEPT, sizeof *all);
    size_t kept = 0;

    memset(merged, 0, sizeof *merged);
    memset(by_op, 0, 3 * sizeof *by_op);
    for (int i = 0; i < count; i++) {
        struct rel_worker *w = &workers[i];

        rel_latency_merge(merged, &w->latency);
        for (int op = 0; op < 3; op++)
            rel_latency_merge(&by_op[op], &w->by_op[op]);
        memset(w->by_op, 0, sizeof w->by_op);
        for (int k = 0; all && k < REL_SLOWEST_KEPT && w->slowest[k].took > 0; k++)
            all[kept++] = w->slowest[k];
        memset(&w->latency, 0, sizeof w->latency);
        memset(w->slowest, 0, sizeof w->slowest);
        w->max_latency = 0;
    }
    rel_figure("latency", "%s: p50 %.1f ms, p99 %.1f ms, max %.3f s, mean %.1f ms "
               "(%" PRIu64 " requests)", name, rel_latency_percentile(merged, 0.5) * 1e3,
               rel_latency_percentile(merged, 0.99) * 1e3, merged->max,
               merged->count ? merged->sum / (double)merged->count * 1e3 : 0.0, merged->count);
    for (int op = 0; op < 3; op++)
        if (by_op[op].count)
            rel_note("%s: %s: p50 %.1f ms, p99 %.1f ms, max %.3f s (%" PRIu64 ")", name,
                     op_plurals[op], rel_latency_percentile(&by_op[op], 0.5) * 1e3,
                     rel_latency_percentile(&by_op[op], 0.99) * 1e3, by_op[op].max,
                     by_op[op].count);
    if (all)
        qsort(all, kept, sizeof *all, slower_first);
    for (size_t i = 0; i < kept && i < REL_SLOWEST_KEPT; i++) {
        char when[32];

        rel_clock_text(all[i].submitted, when, sizeof when);
        rel_note("%s: slow request %zu: %.3f s, %s %s of %zu at %" PRIu64 " of %s, "
                 "submitted %s UTC",
                 name, i + 1, all[i].took, all[i].api == REL_AIO ? "callback" : "sync",
                 op_names[all[i].op], all[i].count, all[i].offset,
                 all[i].lane ? all[i].lane : "the image", when);
    }
    free(all);
}

double rel_latency_bound(const struct rel_latency *latency)
{
    return REL_LATENCY_PING_FACTOR * rel_ping_timeout() +
           REL_LATENCY_P50_FACTOR * rel_latency_percentile(latency, 0.5);
}

void rel_check_latency(const char *name, struct rel_worker *workers, int count)
{
    struct rel_latency latency, by_op[3];
    char what[160];

    rel_report_latency(name, workers, count, &latency, by_op);
    /* Each kind against its own median: on a busy machine a write to the
     * sharded replica 3 volume waits for more round trips than a read, and
     * reads, the most numerous, would pull one median for all down. */
    for (int op = 0; op < 3; op++) {
        if (!by_op[op].count)
            continue;
        snprintf(what, sizeof what, "%s: no %s slower than the bound", name, op_names[op]);
        rel_check(by_op[op].max <= rel_latency_bound(&by_op[op]), what,
                  "slowest %.3f s, bound %.3f s (%d x ping timeout %.1f s + %d x p50 %.1f ms)",
                  by_op[op].max, rel_latency_bound(&by_op[op]), REL_LATENCY_PING_FACTOR,
                  rel_ping_timeout(), REL_LATENCY_P50_FACTOR,
                  rel_latency_percentile(&by_op[op], 0.5) * 1e3);
    }
}
