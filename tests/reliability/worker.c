/* Workers that drive images through the public API, synchronously or by
 * callbacks, and check every byte they read against the model; see
 * worker.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "support.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *const rel_op_names[] = {"read", "write", "flush"};

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
        *op = REL_OP_WRITE;
    else if (w->write_percent > 0 && pick >= 995)
        *op = REL_OP_FLUSH;
    else
        *op = REL_OP_READ;
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
        case REL_OP_WRITE:
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
        case REL_OP_FLUSH:
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
        rel_record_latency(w, started, op, op == REL_OP_FLUSH ? 0 : count, offset, lane);
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
    int64_t expected = s->op == REL_OP_FLUSH ? 0 : (int64_t)s->count;

    s->busy = 0;
    pthread_mutex_lock(&w->lock);
    s->done = 0;
    w->finished--;
    pthread_mutex_unlock(&w->lock);
    w->last_completion = rel_now();
    rel_record_latency(w, s->submitted, s->op, s->count, s->offset, s->lane);
    if (s->completes != 1 || s->releases != 1)
        return fail(w, "%s at %" PRIu64 ": complete ran %d times, release %d times",
                    rel_op_names[s->op], s->offset, s->completes, s->releases);
    if (s->result != expected)
        return fail(w, "callback %s of %zu at %" PRIu64 ": result %" PRId64 " (%s), expected "
                       "%" PRId64,
                    rel_op_names[s->op], s->count, s->offset, s->result,
                    s->result < 0 ? strerror((int)-s->result) : "short", expected);
    if (s->op == REL_OP_READ) {
        if (memcmp(s->buf, s->lane->model + s->offset, s->count) != 0)
            return mismatch(w, "callback", s->lane, s->buf, s->offset, s->count);
        w->reads++;
        w->bytes_verified += s->count;
    } else if (s->op == REL_OP_WRITE) {
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

        if (!s->busy || s->op == REL_OP_FLUSH || (s->op == REL_OP_READ && op == REL_OP_READ))
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
        if (op == REL_OP_FLUSH || !conflicts(lane, op, offset, count))
            break;
        if (attempt == 8)
            return 0; /* crowded: leave the slot idle for a round */
    }
    s->op = op;
    s->offset = offset;
    s->count = op == REL_OP_FLUSH ? 0 : count;
    s->completes = s->releases = 0;
    s->result = INT64_MIN;
    s->busy = 1;
    s->submitted = rel_now();
    if (op == REL_OP_WRITE) {
        fill_random(w, s->buf, count);
        memcpy(lane->model + offset, s->buf, count);
        rc = gluvirt_image_aio_write(lane->image, s->buf, count, offset, slot_complete, s,
                                     slot_release);
    } else if (op == REL_OP_READ) {
        memset(s->buf, 0xa5, count);
        rc = gluvirt_image_aio_read(lane->image, s->buf, count, offset, slot_complete, s,
                                    slot_release);
    } else {
        rc = gluvirt_image_aio_flush(lane->image, slot_complete, s, slot_release);
    }
    if (rc != 0) {
        s->busy = 0;
        return fail(w, "submitting a %s of %zu at %" PRIu64 ": errno %d: %s", rel_op_names[op],
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
                         rel_op_names[s->op], s->count, s->offset, now - s->submitted,
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
