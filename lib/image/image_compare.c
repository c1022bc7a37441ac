/*
 * gluvirt_image_compare: qemu-img compare's answer, sooner.
 *
 * Both images' block status splits the disk into pieces.  A piece both
 * images know to be zeros is skipped without reading; where one image
 * knows it holds zeros only the other is read and checked for zeros; the
 * rest is read from both and compared.  Past the shorter image's end the
 * longer one must hold zeros (in strict mode differing sizes already
 * differ).  The pieces before the ones being read are judged in order:
 * the first mismatch in offset order is the one reported, as qemu-img
 * reports it, at the start of the 512-byte sector (counted from the
 * piece's start) that differs.
 *
 * How pieces are read depends on where the images are.  On a volume every
 * read waits for the network: pieces of COMPARE_CHUNK bytes, up to
 * COMPARE_SLOTS at once through the callback I/O, keep it busy.  Local
 * files mostly come from the page cache, where the cost is copying and
 * comparing memory: there pieces of LOCAL_CHUNK bytes read one after the
 * other on the calling thread stay in the processor's cache between the
 * copy and the comparison (measured on 4 GiB images: less CPU time than
 * any number of pieces in flight, whose buffers and threads evict it).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/internal.h"
#include "image/image_internal.h"
#include "image/image_verbs.h"

#define COMPARE_CHUNK (1u << 20)
#define COMPARE_SLOTS 16u
#define LOCAL_CHUNK (256u << 10)
#define SECTOR 512u

/* qemu's block status bits, for strict mode's comparison of two statuses */
enum {
    STATUS_DATA = 0x01, STATUS_ZERO = 0x02, STATUS_OFFSET_VALID = 0x04,
    STATUS_ALLOCATED = 0x10, STATUS_EOF = 0x20
};

/* One image's side of the comparison: the status run around the offset. */
struct side {
    gluvirt_image *image;
    uint64_t size;
    uint64_t run_start, run_end; /* [start, end) shares flags and host */
    unsigned flags;
    int64_t host;
    int sync;                    /* read on the calling thread (local files,
                                  * or callbacks in POLL mode) */
};

enum piece_kind {
    PIECE_SKIP,          /* both read as zeros */
    PIECE_CHECK_A,       /* b reads as zeros: a must too */
    PIECE_CHECK_B,
    PIECE_COMPARE,       /* read and compare both */
    PIECE_STATUS_DIFFERS /* strict: the statuses differ at start */
};

struct slot;

/* One read of a piece: which slot, and which image's buffer. */
struct slot_read {
    struct slot *slot;
    int index;
};

struct slot {
    struct compare *c;
    struct slot_read reads[2];
    enum piece_kind kind;
    uint64_t start, length;
    unsigned char *buf[2];
    int pending;          /* reads not yet completed */
    int64_t result[2];    /* the reads' results; INT64_MIN: not read */
};

struct compare {
    struct side side[2];
    const struct gluvirt_verb_options *o;
    uint64_t common, total; /* the smaller and the larger size */
    uint64_t chunk;         /* the largest piece read */
    unsigned in_parallel;   /* pieces read at once */
    pthread_mutex_t lock;
    pthread_cond_t done;
    struct slot slots[COMPARE_SLOTS];
};

/* ------------------------------------------------------------ status */

/* The status run of s at offset (< s->size), asked again only past the last. */
static int side_status(struct side *s, uint64_t offset)
{
    int64_t n;

    if (offset >= s->run_start && offset < s->run_end)
        return 0;
    n = gluvirt_image_block_status(s->image, offset, s->size - offset, &s->flags, NULL,
                                   &s->host);
    if (n < 0)
        return -1;
    if (n == 0) {
        glv_set_error(EIO, "%s: no block status at offset %" PRIu64 ", inside its size of %"
                      PRIu64 " bytes", s->image->name, offset, s->size);
        return -1;
    }
    s->run_start = offset;
    s->run_end = offset + (uint64_t)n;
    return 0;
}

static unsigned qemu_status(const struct side *s)
{
    unsigned status = 0;

    if (s->flags & GLUVIRT_BLOCK_DATA)
        status |= STATUS_DATA;
    if (s->flags & GLUVIRT_BLOCK_ZERO)
        status |= STATUS_ZERO;
    if (s->flags & GLUVIRT_BLOCK_PRESENT)
        status |= STATUS_ALLOCATED;
    if (s->host >= 0)
        status |= STATUS_OFFSET_VALID;
    if (s->run_end == s->size)
        status |= STATUS_EOF;
    return status;
}

/* Whether side i reads as zeros at offset: its run says so, or it ends before. */
static int reads_zero(const struct compare *c, int i, uint64_t offset)
{
    return offset >= c->side[i].size || (c->side[i].flags & GLUVIRT_BLOCK_ZERO);
}

/* Plan the piece that starts at offset (< c->total) into slot. */
static int plan_piece(struct compare *c, uint64_t offset, struct slot *slot)
{
    uint64_t end = c->total - offset > c->chunk ? offset + c->chunk : c->total;
    int i, zero[2];

    for (i = 0; i < 2; i++) {
        if (offset >= c->side[i].size)
            continue;
        if (side_status(&c->side[i], offset) < 0)
            return -1;
        if (c->side[i].run_end < end)
            end = c->side[i].run_end;
    }
    if (offset < c->common && c->common < end)
        end = c->common;
    slot->start = offset;
    slot->length = end - offset;
    if (c->o->strict && qemu_status(&c->side[0]) != qemu_status(&c->side[1])) {
        slot->kind = PIECE_STATUS_DIFFERS;
        return 0;
    }
    zero[0] = reads_zero(c, 0, offset);
    zero[1] = reads_zero(c, 1, offset);
    if (zero[0] && zero[1]) {
        slot->kind = PIECE_SKIP;
        /* a run of zeros is skipped whole, not a chunk at a time */
        end = c->total;
        for (i = 0; i < 2; i++)
            if (offset < c->side[i].size && c->side[i].run_end < end)
                end = c->side[i].run_end;
        if (offset < c->common && c->common < end)
            end = c->common;
        slot->length = end - offset;
    } else if (zero[1])
        slot->kind = PIECE_CHECK_A;
    else if (zero[0])
        slot->kind = PIECE_CHECK_B;
    else
        slot->kind = PIECE_COMPARE;
    return 0;
}

/* ------------------------------------------------------------ reads */

static void read_complete(void *user_data, int64_t result)
{
    struct slot_read *read = user_data;
    struct slot *slot = read->slot;
    struct compare *c = slot->c;

    pthread_mutex_lock(&c->lock);
    slot->result[read->index] = result;
    if (--slot->pending == 0)
        pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->lock);
}

/* Start reading side i of the slot's piece into buf[i]. */
static void start_read(struct compare *c, struct slot *slot, int i)
{
    struct side *s = &c->side[i];
    int64_t result;

    if (!s->sync && gluvirt_image_aio_read(s->image, slot->buf[i], slot->length, slot->start,
                                           read_complete, &slot->reads[i], NULL) == 0)
        return;
    /* A synchronous read, for POLL mode (or when the submit failed: the
     * read then reports the error itself). */
    result = gluvirt_image_pread(s->image, slot->buf[i], slot->length, slot->start);
    read_complete(&slot->reads[i], result < 0 ? -(int64_t)(gluvirt_errno() ? gluvirt_errno() : EIO)
                                   : result);
}

static void start_piece(struct compare *c, struct slot *slot)
{
    slot->result[0] = slot->result[1] = INT64_MIN;
    switch (slot->kind) {
    case PIECE_COMPARE:
        slot->pending = 2;
        start_read(c, slot, 0);
        start_read(c, slot, 1);
        break;
    case PIECE_CHECK_A:
    case PIECE_CHECK_B:
        slot->pending = 1;
        start_read(c, slot, slot->kind == PIECE_CHECK_A ? 0 : 1);
        break;
    default:
        slot->pending = 0;
    }
}

static void wait_piece(struct compare *c, struct slot *slot)
{
    pthread_mutex_lock(&c->lock);
    while (slot->pending > 0)
        pthread_cond_wait(&c->done, &c->lock);
    pthread_mutex_unlock(&c->lock);
}

/* ------------------------------------------------------------ judging */

static int all_zero(const unsigned char *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* The offset in p of the first sector (of n bytes) that is not all zeros,
 * or n. */
static size_t first_nonzero_sector(const unsigned char *p, size_t n)
{
    size_t i;

    if (all_zero(p, n))
        return n;
    for (i = 0; i < n; i += SECTOR)
        if (!all_zero(p + i, n - i < SECTOR ? n - i : SECTOR))
            return i;
    return n;
}

static size_t first_differing_sector(const unsigned char *a, const unsigned char *b, size_t n)
{
    size_t i;

    if (memcmp(a, b, n) == 0)
        return n;
    for (i = 0; i < n; i += SECTOR)
        if (memcmp(a + i, b + i, n - i < SECTOR ? n - i : SECTOR) != 0)
            return i;
    return n;
}

/* Judge a finished piece: the result, or -1 with the error set. */
static int judge_piece(struct compare *c, struct slot *slot, uint64_t *offset)
{
    size_t at;
    int i;

    for (i = 0; i < 2; i++) {
        int64_t r = slot->result[i];

        if (r == INT64_MIN)
            continue;
        if (r < 0 || (uint64_t)r != slot->length) {
            glv_set_error(r < 0 ? (int)-r : EIO, "compare: reading %" PRIu64 " bytes at offset "
                          "%" PRIu64 " of %s failed: %s", slot->length, slot->start,
                          c->side[i].image->name,
                          r < 0 ? strerror((int)-r) : "short read inside the image");
            return -1;
        }
    }
    switch (slot->kind) {
    case PIECE_STATUS_DIFFERS:
        *offset = slot->start;
        return GLUVIRT_COMPARE_STATUS_MISMATCH;
    case PIECE_COMPARE:
        at = first_differing_sector(slot->buf[0], slot->buf[1], slot->length);
        break;
    case PIECE_CHECK_A:
    case PIECE_CHECK_B:
        at = first_nonzero_sector(slot->buf[slot->kind == PIECE_CHECK_A ? 0 : 1], slot->length);
        break;
    default:
        return GLUVIRT_COMPARE_IDENTICAL;
    }
    if (at == slot->length)
        return GLUVIRT_COMPARE_IDENTICAL;
    *offset = slot->start + at;
    return GLUVIRT_COMPARE_CONTENT_MISMATCH;
}

/* ------------------------------------------------------------ the walk */

static int run_compare(struct compare *c, uint64_t *offset)
{
    unsigned head = 0, in_flight = 0, i;
    uint64_t next = 0, judged = 0;
    int result = GLUVIRT_COMPARE_IDENTICAL, failed = 0;

    for (;;) {
        /* Keep the slots busy with the pieces that come next. */
        while (!failed && result == GLUVIRT_COMPARE_IDENTICAL && in_flight < c->in_parallel &&
               next < c->total) {
            struct slot *slot = &c->slots[(head + in_flight) % c->in_parallel];

            if (plan_piece(c, next, slot) < 0) {
                failed = 1;
                break;
            }
            start_piece(c, slot);
            next += slot->length;
            in_flight++;
        }
        if (in_flight == 0)
            break;
        wait_piece(c, &c->slots[head]);
        if (!failed && result == GLUVIRT_COMPARE_IDENTICAL) {
            struct slot *slot = &c->slots[head];
            int r = judge_piece(c, slot, offset);

            if (r < 0)
                failed = 1;
            else
                result = r;
            judged = slot->start + slot->length;
            if (!failed && result == GLUVIRT_COMPARE_IDENTICAL &&
                glv_verb_progress(c->o, "compare", judged, c->total) < 0)
                failed = 1;
        }
        head = (head + 1) % c->in_parallel;
        in_flight--;
    }
    /* Every read has completed here: the buffers may go. */
    for (i = 0; i < c->in_parallel; i++)
        wait_piece(c, &c->slots[i]);
    return failed ? -1 : result;
}

GLUVIRT_API int gluvirt_image_compare(gluvirt_image *a, gluvirt_image *b,
                                      const gluvirt_verb_options *options, uint64_t *offset)
{
    const struct gluvirt_verb_options *o = options ? options : &glv_verb_defaults;
    struct compare *c;
    uint64_t where = 0;
    int64_t size_a, size_b;
    int result = -1, i;
    unsigned k;

    if (!a || !b) {
        glv_set_error(EINVAL, "gluvirt_image_compare: image %s is NULL", a ? "b" : "a");
        return -1;
    }
    if ((size_a = gluvirt_image_size(a)) < 0 || (size_b = gluvirt_image_size(b)) < 0)
        return -1;
    if (offset)
        *offset = 0;
    if (glv_verb_progress(o, "compare", 0, (uint64_t)(size_a > size_b ? size_a : size_b)) < 0)
        return -1;
    if (o->strict && size_a != size_b)
        return GLUVIRT_COMPARE_SIZE_MISMATCH;
    if (!(c = calloc(1, sizeof *c))) {
        glv_set_oom();
        return -1;
    }
    c->o = o;
    c->side[0].image = a;
    c->side[1].image = b;
    c->side[0].size = (uint64_t)size_a;
    c->side[1].size = (uint64_t)size_b;
    c->common = size_a < size_b ? (uint64_t)size_a : (uint64_t)size_b;
    c->total = size_a < size_b ? (uint64_t)size_b : (uint64_t)size_a;
    for (i = 0; i < 2; i++) {
        /* The callback I/O waits here on a condition variable, which only
         * works where callbacks run on the library's threads. */
        c->side[i].sync = !c->side[i].image->uri ||
                          gluvirt_image_completion_fd(c->side[i].image) >= 0;
        c->side[i].run_start = c->side[i].run_end = 0;
    }
    if (c->side[0].sync && c->side[1].sync) {
        c->chunk = LOCAL_CHUNK;
        c->in_parallel = 1;
    } else {
        c->chunk = COMPARE_CHUNK;
        c->in_parallel = COMPARE_SLOTS;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->done, NULL);
    for (k = 0; k < c->in_parallel; k++) {
        c->slots[k].c = c;
        c->slots[k].result[0] = c->slots[k].result[1] = INT64_MIN;
        for (i = 0; i < 2; i++) {
            c->slots[k].reads[i].slot = &c->slots[k];
            c->slots[k].reads[i].index = i;
        }
        for (i = 0; i < 2; i++)
            if (posix_memalign((void **)&c->slots[k].buf[i], 4096, c->chunk) != 0) {
                glv_set_oom();
                goto out;
            }
    }
    result = run_compare(c, &where);
    if (result >= 0 && offset)
        *offset = where;
out:
    for (k = 0; k < COMPARE_SLOTS; k++)
        for (i = 0; i < 2; i++)
            free(c->slots[k].buf[i]);
    pthread_cond_destroy(&c->done);
    pthread_mutex_destroy(&c->lock);
    free(c);
    return result;
}
