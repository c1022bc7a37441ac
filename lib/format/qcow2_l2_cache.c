/*
 * The L2 table cache.  Every guest read needs the L2 entries of its
 * clusters, so tables are read once, converted to host endianness once, and
 * kept in a fixed number of slots found through a small hash table; a clock
 * hand picks which slot to reuse.
 *
 * Requests come from several threads.  One mutex guards the slots, but no
 * thread holds it across storage I/O: a miss claims a slot, marks it
 * loading, reads the table unlocked, then wakes whoever waits for it.  A
 * second thread missing on the same table waits for that read instead of
 * starting its own, so a table is read once however many threads want it.
 *
 * Writers (qcow2_write.h) keep the cache true to the disk: they write new
 * entries to the file first and then into the cached copy, so a table
 * loaded in between already holds them.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "format/qcow2_driver.h"

enum slot_state { SLOT_EMPTY, SLOT_LOADING, SLOT_READY };

struct l2_slot {
    uint64_t offset;        /* the table's host offset: the key */
    uint64_t *entries;      /* allocated on the slot's first use, then reused */
    int32_t next;           /* the next slot in the same hash bucket, or -1 */
    uint8_t state;
    uint8_t referenced;     /* used since the clock hand last passed */
};

struct qcow2_l2_cache {
    pthread_mutex_t lock;
    pthread_cond_t changed;     /* a load finished or failed */
    struct glv_storage *storage;
    uint64_t table_bytes;
    uint32_t slot_count;
    uint32_t hand;
    uint32_t bucket_bits;
    int32_t *buckets;           /* 1 << bucket_bits heads, -1 when empty */
    struct l2_slot *slots;
    uint64_t loads;
};

/* Keeps the slot array and hash table small even when the caller asks for a
 * huge cache. */
#define MAX_SLOTS (1u << 20)

static uint32_t bucket_of(const struct qcow2_l2_cache *c, uint64_t offset)
{
    /* Table offsets are multiples of the cluster size: mix the high bits in. */
    return (uint32_t)(((offset >> 9) * 0x9e3779b97f4a7c15ull) >> (64 - c->bucket_bits));
}

static int32_t find_slot(const struct qcow2_l2_cache *c, uint64_t offset)
{
    int32_t i;

    for (i = c->buckets[bucket_of(c, offset)]; i >= 0; i = c->slots[i].next)
        if (c->slots[i].offset == offset)
            return i;
    return -1;
}

static void unlink_slot(struct qcow2_l2_cache *c, int32_t index)
{
    int32_t *link = &c->buckets[bucket_of(c, c->slots[index].offset)];

    while (*link != index)
        link = &c->slots[*link].next;
    *link = c->slots[index].next;
    c->slots[index].next = -1;
}

static void link_slot(struct qcow2_l2_cache *c, int32_t index)
{
    int32_t *head = &c->buckets[bucket_of(c, c->slots[index].offset)];

    c->slots[index].next = *head;
    *head = index;
}

/* A slot to reuse: empty, or ready and not used since the hand last came by.
 * -1 when every slot is being loaded. */
static int32_t pick_victim(struct qcow2_l2_cache *c)
{
    uint64_t step;

    for (step = 0; step < 2ull * c->slot_count; step++) {
        uint32_t i = c->hand;
        struct l2_slot *s = &c->slots[i];

        c->hand = i + 1 == c->slot_count ? 0 : i + 1;
        if (s->state == SLOT_EMPTY)
            return (int32_t)i;
        if (s->state == SLOT_LOADING)
            continue;
        if (s->referenced) {
            s->referenced = 0;
            continue;
        }
        return (int32_t)i;
    }
    return -1;
}

/* Unlocked: the slot is marked loading, so nobody else touches it. */
static int load_table(struct qcow2_l2_cache *c, struct l2_slot *s)
{
    uint64_t count = c->table_bytes / sizeof(uint64_t), i;
    struct iovec iov;

    /* Aligned, so that storage opened for direct I/O can read into it. */
    if (!s->entries && posix_memalign((void **)&s->entries, 4096, (size_t)c->table_bytes) != 0) {
        s->entries = NULL;
        glv_set_oom();
        return -1;
    }
    iov.iov_base = s->entries;
    iov.iov_len = (size_t)c->table_bytes;
    if (c->storage->ops->preadv(c->storage, &iov, 1, s->offset) < 0)
        return -1;
    for (i = 0; i < count; i++)
        s->entries[i] = be64toh(s->entries[i]);
    return 0;
}

static const uint64_t *not_cached(struct qcow2_l2_cache *c)
{
    pthread_mutex_unlock(&c->lock);
    errno = EAGAIN;
    return NULL;
}

const uint64_t *qcow2_l2_cache_lookup(struct qcow2_l2_cache *c, uint64_t table_offset,
                                      int cached_only)
{
    pthread_mutex_lock(&c->lock);
    for (;;) {
        int32_t i = find_slot(c, table_offset);
        struct l2_slot *s;
        int rc;

        if (i >= 0 && c->slots[i].state == SLOT_READY) {
            /* Only write when it changes: a hit then leaves the slot's cache
             * line clean for the other threads reading the same table. */
            if (!c->slots[i].referenced)
                c->slots[i].referenced = 1;
            return c->slots[i].entries;
        }
        if (cached_only)
            return not_cached(c);
        if (i >= 0) {
            /* Another thread is reading this very table: wait for it. */
            pthread_cond_wait(&c->changed, &c->lock);
            continue;
        }
        if ((i = pick_victim(c)) < 0) {
            /* Every slot is being filled: wait until one is free again. */
            pthread_cond_wait(&c->changed, &c->lock);
            continue;
        }
        s = &c->slots[i];
        if (s->state == SLOT_READY)
            unlink_slot(c, i);
        s->offset = table_offset;
        s->state = SLOT_LOADING;
        link_slot(c, i);
        pthread_mutex_unlock(&c->lock);

        rc = load_table(c, s);

        pthread_mutex_lock(&c->lock);
        pthread_cond_broadcast(&c->changed);
        if (rc < 0) {
            /* Waiters find no slot for the table and try the read themselves. */
            unlink_slot(c, i);
            s->state = SLOT_EMPTY;
            pthread_mutex_unlock(&c->lock);
            return NULL;
        }
        s->state = SLOT_READY;
        s->referenced = 1;
        c->loads++;
        return s->entries;
    }
}

void qcow2_l2_cache_unlock(struct qcow2_l2_cache *c)
{
    pthread_mutex_unlock(&c->lock);
}

/* The slot holding table_offset once no load of it is in progress, or -1;
 * called and returns with the lock held. */
static int32_t settled_slot(struct qcow2_l2_cache *c, uint64_t table_offset)
{
    int32_t i;

    while ((i = find_slot(c, table_offset)) >= 0 && c->slots[i].state == SLOT_LOADING)
        pthread_cond_wait(&c->changed, &c->lock);
    return i;
}

void qcow2_l2_cache_set(struct qcow2_l2_cache *c, uint64_t table_offset, uint64_t index,
                        uint64_t value)
{
    int32_t i;

    pthread_mutex_lock(&c->lock);
    if ((i = settled_slot(c, table_offset)) >= 0)
        c->slots[i].entries[index] = value;
    pthread_mutex_unlock(&c->lock);
}

void qcow2_l2_cache_forget(struct qcow2_l2_cache *c, uint64_t table_offset)
{
    int32_t i;

    pthread_mutex_lock(&c->lock);
    if ((i = settled_slot(c, table_offset)) >= 0) {
        unlink_slot(c, i);
        c->slots[i].state = SLOT_EMPTY;
    }
    pthread_mutex_unlock(&c->lock);
}

uint64_t qcow2_l2_cache_loads(struct qcow2_l2_cache *c)
{
    uint64_t loads;

    pthread_mutex_lock(&c->lock);
    loads = c->loads;
    pthread_mutex_unlock(&c->lock);
    return loads;
}

struct qcow2_l2_cache *qcow2_l2_cache_new(struct glv_storage *s, uint64_t table_bytes,
                                          uint64_t cache_bytes, uint64_t max_tables)
{
    struct qcow2_l2_cache *c;
    uint64_t slots = cache_bytes / table_bytes;
    uint32_t i;

    if (slots > max_tables)
        slots = max_tables;
    if (slots > MAX_SLOTS)
        slots = MAX_SLOTS;
    if (slots < 2)
        slots = 2;
    if (!(c = calloc(1, sizeof *c))) {
        glv_set_oom();
        return NULL;
    }
    c->storage = s;
    c->table_bytes = table_bytes;
    c->slot_count = (uint32_t)slots;
    for (c->bucket_bits = 1; (1ull << c->bucket_bits) < 2 * slots; c->bucket_bits++)
        ;
    c->slots = calloc(slots, sizeof *c->slots);
    c->buckets = malloc(((size_t)1 << c->bucket_bits) * sizeof *c->buckets);
    if (!c->slots || !c->buckets) {
        free(c->slots);
        free(c->buckets);
        free(c);
        glv_set_oom();
        return NULL;
    }
    for (i = 0; i < (1u << c->bucket_bits); i++)
        c->buckets[i] = -1;
    for (i = 0; i < c->slot_count; i++)
        c->slots[i].next = -1;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->changed, NULL);
    return c;
}

void qcow2_l2_cache_free(struct qcow2_l2_cache *c)
{
    uint32_t i;

    if (!c)
        return;
    for (i = 0; i < c->slot_count; i++)
        free(c->slots[i].entries);
    free(c->slots);
    free(c->buckets);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->changed);
    free(c);
}
