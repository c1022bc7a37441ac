/* Chains of sequential reads, each read submitted by the callback of one
 * that completed, and threads that disturb them with random reads; see
 * aio_stress.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "aio_stress.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reader_done(void *user_data, int64_t result);

/* Claim link's next read under the lock; 0 when the chain has no more. */
static int reader_claim(struct reader *r, struct link *l)
{
    if (r->submitted == r->total || r->failed)
        return 0;
    if (r->cursor >= r->end)
        r->cursor = r->start;
    l->offset = r->cursor;
    l->count = r->sizes[r->size_index++ / r->size_repeat % r->size_count];
    r->cursor += l->count;
    r->submitted++;
    return 1;
}

/* Send the claimed read; when the submit fails, the chain stops. */
static void reader_send(struct reader *r, struct link *l)
{
    int finished;

    memset(l->buf, 0xee, l->count);
    if (submit(r->image, OP_READ, l->buf, l->count, l->offset, reader_done, l) == 0)
        return;
    failf("%s: submit of %zu at %" PRIu64 ": %s", r->label, l->count, l->offset,
          gluvirt_errmsg());
    pthread_mutex_lock(&r->lock);
    r->submitted--;
    r->failed = 1;
    finished = r->completed == r->submitted;
    pthread_mutex_unlock(&r->lock);
    if (finished)
        tally_done(r->tally);
}

static void reader_check(struct reader *r, struct link *l, int64_t result)
{
    uint64_t inside = l->offset < RO_SIZE ? RO_SIZE - l->offset : 0;
    int64_t want = (int64_t)(l->count < inside ? l->count : inside), bad;

    if (result != want) {
        failf("%s: read of %zu at %" PRIu64 ": result %" PRId64 ", expected %" PRId64,
              r->label, l->count, l->offset, result, want);
        r->failed = 1;
    } else if ((bad = first_ro_mismatch(l->buf, l->offset, (size_t)result)) >= 0) {
        failf("%s: read of %zu at %" PRIu64 ": byte %" PRIu64 " is 0x%02x, expected 0x%02x",
              r->label, l->count, l->offset, l->offset + (uint64_t)bad, l->buf[bad],
              ro_byte(l->offset + (uint64_t)bad));
        r->failed = 1;
    } else {
        r->bytes += (uint64_t)result;
    }
}

static void reader_done(void *user_data, int64_t result)
{
    struct link *l = user_data;
    struct reader *r = l->reader;
    int more, finished;

    count_complete();
    pthread_mutex_lock(&r->lock);
    reader_check(r, l, result);
    r->completed++;
    more = reader_claim(r, l);
    finished = !more && r->completed == r->submitted;
    pthread_mutex_unlock(&r->lock);
    if (more)
        reader_send(r, l);
    else if (finished)
        tally_done(r->tally);
}

struct reader *reader_new(const char *label, gluvirt_image *image, const size_t *sizes,
                          int size_count, int size_repeat, uint64_t start, int depth,
                          int total, struct tally *tally)
{
    struct reader *r = calloc(1, sizeof *r);

    if (!r || !(r->links = calloc((size_t)depth, sizeof *r->links)))
        exit(2);
    r->label = label;
    r->image = image;
    r->sizes = sizes;
    r->size_count = size_count;
    r->size_repeat = size_repeat;
    r->start = r->cursor = start;
    r->end = RO_SIZE;
    r->depth = depth;
    r->total = total;
    r->tally = tally;
    pthread_mutex_init(&r->lock, NULL);
    for (int i = 0; i < depth; i++) {
        r->links[i].reader = r;
        if (!(r->links[i].buf = malloc(MAX_READ)))
            exit(2);
    }
    return r;
}

/* Send the first depth reads from this thread; the callbacks send the rest. */
void reader_start(struct reader *r)
{
    for (int i = 0; i < r->depth; i++) {
        int more;

        pthread_mutex_lock(&r->lock);
        more = reader_claim(r, &r->links[i]);
        pthread_mutex_unlock(&r->lock);
        if (more)
            reader_send(r, &r->links[i]);
    }
}

/* After the image closed: every read done, none failed. */
void reader_free(struct reader *r)
{
    if (r->completed != r->total && !r->failed)
        failf("%s: %d of %d reads completed", r->label, r->completed, r->total);
    for (int i = 0; i < r->depth; i++)
        free(r->links[i].buf);
    pthread_mutex_destroy(&r->lock);
    free(r->links);
    free(r);
}

static void disturber_done(void *user_data, int64_t result)
{
    struct disturber *d = user_data;

    count_complete();
    pthread_mutex_lock(&d->lock);
    d->result = result;
    d->done = 1;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

static void *disturber_main(void *arg)
{
    struct disturber *d = arg;
    unsigned char *buf = malloc(MAX_READ);

    if (!buf)
        exit(2);
    for (int i = 0; i < d->reads; i++) {
        size_t count = 1 + rand_r(&d->seed) % (128u << 10);
        uint64_t offset = rand_r(&d->seed) % (RO_SIZE + 8192u);
        uint64_t inside = offset < RO_SIZE ? RO_SIZE - offset : 0;
        int64_t want = (int64_t)(count < inside ? count : inside), result, bad;

        memset(buf, 0xee, count);
        if (i % 2 == 0) {
            result = gluvirt_image_pread(d->image, buf, count, offset);
        } else {
            d->done = 0;
            if (submit(d->image, OP_READ, buf, count, offset, disturber_done, d) != 0) {
                failf("%s: disturbing read: %s", d->label, gluvirt_errmsg());
                break;
            }
            pthread_mutex_lock(&d->lock);
            while (!d->done)
                pthread_cond_wait(&d->cond, &d->lock);
            result = d->result;
            pthread_mutex_unlock(&d->lock);
        }
        if (result != want)
            failf("%s: disturbing read of %zu at %" PRIu64 ": %" PRId64 ", expected %" PRId64,
                  d->label, count, offset, result, want);
        else if ((bad = first_ro_mismatch(buf, offset, (size_t)result)) >= 0)
            failf("%s: disturbing read of %zu at %" PRIu64 ": byte %" PRIu64 " wrong", d->label,
                  count, offset, offset + (uint64_t)bad);
        if (d->pause_us)
            sleep_us(rand_r(&d->seed) % d->pause_us);
    }
    free(buf);
    return NULL;
}

void disturber_start(struct disturber *d, const char *label, gluvirt_image *image,
                     unsigned seed, int reads, unsigned pause_us)
{
    d->label = label;
    d->image = image;
    d->seed = seed;
    d->reads = reads;
    d->pause_us = pause_us;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->cond, NULL);
    if (pthread_create(&d->thread, NULL, disturber_main, d) != 0)
        exit(2);
}

void disturber_join(struct disturber *d)
{
    pthread_join(d->thread, NULL);
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->cond);
}
