/*
 * Refcounts of a writable qcow2 image, of any width the format allows (1 to
 * 64 bits, qcow2_refcount_entry.h): reading and changing them through a
 * small cache of refcount blocks, finding free clusters, adding refcount
 * blocks, and growing the refcount table when the file outgrows what it can
 * describe.  Everything here runs under meta_lock (qcow2_write.h).
 *
 * A count never wraps: one that would pass the width's largest value fails
 * with ERANGE ("refcount overflow", as QEMU says), and one that would drop
 * below zero marks the image corrupt.
 *
 * The cache is write-back: counts change in memory, and
 * qcow2_refcount_writeback writes the changed sectors.  The callers keep
 * QEMU's order: a raised count reaches the disk (written and flushed,
 * qcow2_refcount_commit) before any L2 entry points at the cluster, and a
 * count is lowered only after the L2 entries that no longer point at the
 * cluster are on disk.  A crash in between leaks a cluster; it never leaves
 * an entry pointing at a cluster counted free.
 *
 * New structures describe themselves where they can, as QEMU's do: a new
 * refcount block for a range with none goes into the first cluster of that
 * range it is asked for, and counts itself; a new, larger refcount table
 * goes past the end of everything allocated, followed by the blocks that
 * count the table and themselves.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/qcow2_refcount_entry.h"
#include "format/qcow2_write.h"

/* Header fields a new refcount table changes: offset (8 bytes) and clusters (4). */
#define HEADER_REFTABLE 48u

/* Host offsets are 56-bit in L2 entries; allocations stay below that. */
#define MAX_HOST_CLUSTER_OFFSET (1ull << 56)

static uint64_t blocks_for(const struct qcow2_writer *w, uint64_t cluster)
{
    return cluster >> w->refblock_bits;
}

/* ------------------------------------------------------------ the block cache */

static int write_dirty(struct qcow2_image *q, struct qcow2_refblock_slot *s)
{
    uint64_t chunk = q->writer->chunk;
    uint64_t from = s->dirty_from & ~(chunk - 1);
    uint64_t to = (s->dirty_to + chunk - 1) & ~(chunk - 1);

    if (s->dirty_from == s->dirty_to)
        return 0;
    if (qcow2_checked_write(q, QCOW2_META_REFBLOCK, s->data + from, to - from,
                            s->offset + from) < 0)
        return -1;
    s->dirty_from = s->dirty_to = 0;
    return 0;
}

int qcow2_refcount_writeback(struct qcow2_image *q)
{
    for (unsigned i = 0; i < QCOW2_REFBLOCK_SLOTS; i++)
        if (q->writer->slots[i].offset && write_dirty(q, &q->writer->slots[i]) < 0)
            return -1;
    return 0;
}

int qcow2_refcount_commit(struct qcow2_image *q)
{
    return qcow2_refcount_writeback(q) < 0 ? -1 : qcow2_flush_file(q);
}

/* The cached block at block_offset, read when not cached; NULL on error. */
static struct qcow2_refblock_slot *block_at(struct qcow2_image *q, uint64_t block_offset)
{
    struct qcow2_writer *w = q->writer;
    struct qcow2_refblock_slot *victim = NULL;
    struct iovec iov;

    for (unsigned i = 0; i < QCOW2_REFBLOCK_SLOTS; i++) {
        struct qcow2_refblock_slot *s = &w->slots[i];

        if (s->offset == block_offset) {
            s->age = ++w->clock;
            return s;
        }
        if (!victim || !s->offset || (victim->offset && s->age < victim->age))
            victim = s;
    }
    if (victim->offset && write_dirty(q, victim) < 0)
        return NULL;
    victim->offset = 0;
    if (!victim->data && !(victim->data = qcow2_aligned_alloc(q->cluster_size)))
        return NULL;
    iov.iov_base = victim->data;
    iov.iov_len = (size_t)q->cluster_size;
    if (q->base.storage->ops->preadv(q->base.storage, &iov, 1, block_offset) < 0)
        return NULL;
    victim->offset = block_offset;
    victim->dirty_from = victim->dirty_to = 0;
    victim->age = ++w->clock;
    return victim;
}

/* The block that counts cluster (an index), or 0 when it has none. */
static uint64_t block_of(const struct qcow2_writer *w, uint64_t cluster)
{
    uint64_t b = blocks_for(w, cluster);

    return b < w->reftable_entries ? w->reftable[b] : 0;
}

/* The index of cluster's entry inside its refcount block. */
static uint64_t index_in_block(const struct qcow2_writer *w, uint64_t cluster)
{
    return cluster & ((1ull << w->refblock_bits) - 1);
}

static int get_refcount(struct qcow2_image *q, uint64_t cluster, uint64_t *count)
{
    struct qcow2_writer *w = q->writer;
    uint64_t block = block_of(w, cluster);
    struct qcow2_refblock_slot *s;

    *count = 0;
    if (!block)
        return 0;
    if (!(s = block_at(q, block)))
        return -1;
    *count = qcow2_refcount_entry_get(s->data, q->h.refcount_order, index_in_block(w, cluster));
    return 0;
}

/* Set the count of a cluster whose block exists (count within the width). */
static int set_refcount(struct qcow2_image *q, uint64_t cluster, uint64_t count)
{
    struct qcow2_writer *w = q->writer;
    struct qcow2_refblock_slot *s;
    uint64_t index = index_in_block(w, cluster), from, to;

    if (count > qcow2_refcount_max(q->h.refcount_order)) {
        glv_set_error(ERANGE, "%s: refcount overflow: the cluster at host offset 0x%" PRIx64
                      " would be referenced %" PRIu64 " times, more than its %u-bit refcount "
                      "holds; widen the refcounts with 'qemu-img amend -o refcount_bits=16'",
                      q->base.storage->name, cluster << q->cluster_bits, count,
                      1u << q->h.refcount_order);
        return -1;
    }
    if (!(s = block_at(q, block_of(w, cluster))))
        return -1;
    qcow2_refcount_entry_set(s->data, q->h.refcount_order, index, count);
    qcow2_refcount_entry_span(q->h.refcount_order, index, &from, &to);
    if (s->dirty_from == s->dirty_to) {
        s->dirty_from = from;
        s->dirty_to = to;
    } else {
        s->dirty_from = from < s->dirty_from ? from : s->dirty_from;
        s->dirty_to = to > s->dirty_to ? to : s->dirty_to;
    }
    if (count && cluster >= w->alloc_end)
        w->alloc_end = cluster + 1;
    return 0;
}

/* ------------------------------------------------------------ the table */

/* Write the sector of the refcount table holding entry index; flushed. */
static int write_reftable_entry(struct qcow2_image *q, uint64_t index)
{
    struct qcow2_writer *w = q->writer;
    uint64_t per_chunk = w->chunk / 8, first = index & ~(per_chunk - 1);
    uint64_t *buf = qcow2_aligned_alloc(w->chunk);
    int rc;

    if (!buf)
        return -1;
    for (uint64_t i = 0; i < per_chunk; i++)
        buf[i] = htobe64(first + i < w->reftable_entries ? w->reftable[first + i] : 0);
    rc = qcow2_checked_write(q, QCOW2_META_REFTABLE, buf, w->chunk,
                             w->reftable_offset + first * 8);
    free(buf);
    return rc < 0 ? -1 : qcow2_flush_file(q);
}

/*
 * A refcount block for the range holding cluster, which has none (so every
 * cluster in it is free): placed at cluster itself, counting itself.
 * Written and flushed before the table points at it.
 */
static int add_refblock_at(struct qcow2_image *q, uint64_t cluster)
{
    struct qcow2_writer *w = q->writer;
    uint64_t b = blocks_for(w, cluster), offset = cluster << q->cluster_bits;
    unsigned char *block = qcow2_aligned_alloc(q->cluster_size);
    int rc;

    if (!block)
        return -1;
    memset(block, 0, (size_t)q->cluster_size);
    qcow2_refcount_entry_set(block, q->h.refcount_order, index_in_block(w, cluster), 1);
    rc = qcow2_checked_write(q, 0, block, q->cluster_size, offset);
    free(block);
    if (rc < 0 || qcow2_flush_file(q) < 0)
        return -1;
    __atomic_store_n(&w->reftable[b], offset, __ATOMIC_RELEASE);
    if (write_reftable_entry(q, b) < 0) {
        __atomic_store_n(&w->reftable[b], 0, __ATOMIC_RELEASE);
        return -1;
    }
    if (cluster >= w->alloc_end)
        w->alloc_end = cluster + 1;
    return 0;
}

/* Where a new table of `entries` entries and the blocks it needs go. */
struct table_plan {
    uint64_t start;             /* first cluster of the new table */
    uint64_t table_clusters;
    uint64_t new_blocks;        /* refcount blocks after the table */
    uint64_t entries;
};

static int block_missing(const struct qcow2_writer *w, uint64_t b)
{
    return b >= w->reftable_entries || !w->reftable[b];
}

/* Count the blocks missing for clusters [start, end). */
static uint64_t missing_blocks(const struct qcow2_writer *w, uint64_t start, uint64_t end)
{
    uint64_t n = 0;

    for (uint64_t b = blocks_for(w, start); b <= blocks_for(w, end - 1); b++)
        n += block_missing(w, b);
    return n;
}

static int plan_table(struct qcow2_image *q, uint64_t needed, struct table_plan *p)
{
    struct qcow2_writer *w = q->writer;
    const uint64_t per_cluster = q->cluster_size / 8;

    p->start = w->alloc_end;
    p->entries = needed > w->reftable_entries * 2 ? needed : w->reftable_entries * 2;
    for (;;) {
        uint64_t k = 0, n, last_block;

        p->table_clusters = (p->entries + per_cluster - 1) / per_cluster;
        if ((p->table_clusters << q->cluster_bits) > QCOW2_MAX_REFTABLE_BYTES) {
            glv_set_error(EFBIG, "%s: the refcount table would grow past 8 MiB; the image "
                          "file cannot grow further", q->base.storage->name);
            return -1;
        }
        /* Blocks for the table and for the blocks themselves. */
        while ((n = missing_blocks(w, p->start, p->start + p->table_clusters + k)) != k)
            k = n;
        p->new_blocks = k;
        last_block = blocks_for(w, p->start + p->table_clusters + k - 1);
        if (last_block < p->table_clusters * per_cluster) {
            p->entries = p->table_clusters * per_cluster;
            return 0;
        }
        p->entries = last_block + 1;
    }
}

/*
 * Replace the refcount table with one of at least `needed` entries: new
 * blocks and table written and flushed, then the header switched to it
 * (flushed), then the old table's clusters freed.
 */
static int grow_reftable(struct qcow2_image *q, uint64_t needed)
{
    struct qcow2_writer *w = q->writer;
    struct table_plan p;
    uint64_t *table = NULL, *old = w->reftable, old_offset = w->reftable_offset;
    uint64_t old_clusters = w->reftable_clusters, end, next_block;
    unsigned char *block = NULL;
    unsigned char fields[12];
    int rc = -1;

    if (plan_table(q, needed, &p) < 0)
        return -1;
    end = p.start + p.table_clusters + p.new_blocks;
    if ((end << q->cluster_bits) >= MAX_HOST_CLUSTER_OFFSET) {
        glv_set_error(EFBIG, "%s: the image file would grow past 2^56 bytes",
                      q->base.storage->name);
        return -1;
    }
    if (!(table = qcow2_aligned_alloc(p.table_clusters << q->cluster_bits)) ||
        !(block = qcow2_aligned_alloc(q->cluster_size)))
        goto out;
    memset(table, 0, (size_t)(p.table_clusters << q->cluster_bits));
    memcpy(table, old, (size_t)w->reftable_entries * 8);

    /* New blocks, in order after the table, each counting its share of
     * [start, end). */
    next_block = p.start + p.table_clusters;
    for (uint64_t b = blocks_for(w, p.start); b <= blocks_for(w, end - 1); b++) {
        uint64_t first = b << w->refblock_bits, last = first + (1ull << w->refblock_bits);

        if (!block_missing(w, b))
            continue;
        memset(block, 0, (size_t)q->cluster_size);
        for (uint64_t c = first > p.start ? first : p.start; c < last && c < end; c++)
            qcow2_refcount_entry_set(block, q->h.refcount_order, c - first, 1);
        if (qcow2_checked_write(q, 0, block, q->cluster_size,
                                next_block << q->cluster_bits) < 0)
            goto out;
        table[b] = next_block << q->cluster_bits;
        next_block++;
    }
    /* Clusters of the area that blocks already there count. */
    for (uint64_t c = p.start; c < end; c++) {
        uint64_t count;

        if (block_missing(w, blocks_for(w, c)))
            continue;
        if (get_refcount(q, c, &count) < 0)
            goto out;
        if (count) {
            qcow2_mark_corrupt(q, "a cluster past the end of everything allocated has a "
                                  "refcount");
            goto out;
        }
        if (set_refcount(q, c, 1) < 0)
            goto out;
    }
    for (uint64_t i = 0; i < p.entries; i++)
        table[i] = htobe64(table[i]);
    if (qcow2_refcount_writeback(q) < 0 ||
        qcow2_checked_write(q, 0, table, p.table_clusters << q->cluster_bits,
                            p.start << q->cluster_bits) < 0 ||
        qcow2_flush_file(q) < 0)
        goto out;
    for (uint64_t i = 0; i < p.entries; i++)
        table[i] = be64toh(table[i]);

    {
        uint64_t be_offset = htobe64(p.start << q->cluster_bits);
        uint32_t be_clusters = htobe32((uint32_t)p.table_clusters);

        memcpy(fields, &be_offset, 8);
        memcpy(fields + 8, &be_clusters, 4);
    }
    if (qcow2_header_write(q, HEADER_REFTABLE, fields, sizeof fields) < 0)
        goto out;

    /* The header names the new table: switch to it. */
    pthread_rwlock_wrlock(&w->in_place);
    w->reftable = table;
    w->reftable_entries = p.entries;
    w->reftable_offset = p.start << q->cluster_bits;
    w->reftable_clusters = (uint32_t)p.table_clusters;
    pthread_rwlock_unlock(&w->in_place);
    q->h.refcount_table_offset = w->reftable_offset;
    q->h.refcount_table_clusters = w->reftable_clusters;
    table = old;
    w->alloc_end = end > w->alloc_end ? end : w->alloc_end;
    rc = 0;
    for (uint64_t c = 0; c < old_clusters && rc == 0; c++)
        rc = qcow2_free_cluster(q, old_offset + (c << q->cluster_bits));
out:
    free(block);
    free(table);
    return rc;
}

/* ------------------------------------------------------------ allocation */

/* A refcount block for the free cluster c, which has none: placed at c, or,
 * past the table's reach, a larger table (with blocks of its own). */
static int add_block_for(struct qcow2_image *q, uint64_t c)
{
    struct qcow2_writer *w = q->writer;

    return blocks_for(w, c) >= w->reftable_entries ? grow_reftable(q, blocks_for(w, c) + 1)
                                                    : add_refblock_at(q, c);
}

int qcow2_alloc_cluster(struct qcow2_image *q, uint64_t *cluster_offset)
{
    struct qcow2_writer *w = q->writer;
    uint64_t c = w->free_cluster_index;

    for (;;) {
        uint64_t count;

        if ((c << q->cluster_bits) >= MAX_HOST_CLUSTER_OFFSET) {
            glv_set_error(ENOSPC, "%s: no free cluster below 2^56 bytes",
                          q->base.storage->name);
            return -1;
        }
        if (get_refcount(q, c, &count) < 0)
            return -1;
        if (count) {
            c++;
            continue;
        }
        if (block_missing(w, blocks_for(w, c))) {
            /* The cluster goes to a new block, or the table grows; either
             * way the search starts again from c. */
            if (add_block_for(q, c) < 0)
                return -1;
            continue;
        }
        if (set_refcount(q, c, 1) < 0)
            return -1;
        w->free_cluster_index = c + 1;
        *cluster_offset = c << q->cluster_bits;
        return 0;
    }
}

int qcow2_free_cluster(struct qcow2_image *q, uint64_t cluster_offset)
{
    struct qcow2_writer *w = q->writer;
    uint64_t c = cluster_offset >> q->cluster_bits;
    uint64_t count;

    if (get_refcount(q, c, &count) < 0)
        return -1;
    if (count == 0) {
        char what[160];

        snprintf(what, sizeof what, "the cluster at host offset 0x%" PRIx64 " is in use but "
                 "its refcount is already 0", cluster_offset);
        return qcow2_mark_corrupt(q, what);
    }
    if (set_refcount(q, c, count - 1) < 0)
        return -1;
    if (count == 1 && c < w->free_cluster_index)
        w->free_cluster_index = c;
    return 0;
}

/* ------------------------------------------------------------ the reserve */

/* Clusters to count ahead of need: QCOW2_RESERVE_AHEAD, fewer for large ones. */
static unsigned reserve_ahead(const struct qcow2_image *q)
{
    uint64_t by_bytes = QCOW2_RESERVE_BYTES >> q->cluster_bits;

    return by_bytes < QCOW2_RESERVE_AHEAD ? (unsigned)by_bytes : QCOW2_RESERVE_AHEAD;
}

/* Count count + reserve_ahead() new clusters, commit them, add them to the reserve. */
static int refill_reserve(struct qcow2_image *q, unsigned count)
{
    struct qcow2_writer *w = q->writer;
    unsigned want = count + reserve_ahead(q), added = 0;

    memmove(w->reserved, w->reserved + w->reserved_first, w->reserved_count * sizeof *w->reserved);
    w->reserved_first = 0;
    if (want > QCOW2_RESERVE_SLOTS - w->reserved_count)
        want = QCOW2_RESERVE_SLOTS - w->reserved_count;
    for (; added < want; added++)
        if (qcow2_alloc_cluster(q, &w->reserved[w->reserved_count + added]) < 0)
            break;
    /* Short of what this call needs: nothing is added. */
    if ((added < want && w->reserved_count + added < count) || qcow2_refcount_commit(q) < 0) {
        while (added-- > 0)
            qcow2_free_cluster(q, w->reserved[w->reserved_count + added]);
        qcow2_refcount_writeback(q);
        return -1;
    }
    w->reserved_count += added;
    return 0;
}

int qcow2_take_data_clusters(struct qcow2_image *q, unsigned count, uint64_t *offsets)
{
    struct qcow2_writer *w = q->writer;

    if (count > QCOW2_RESERVE_SLOTS - QCOW2_RESERVE_AHEAD) {
        glv_set_error(EINVAL, "%s: %u clusters asked of the reserve at once, more than %d",
                      q->base.storage->name, count,
                      QCOW2_RESERVE_SLOTS - QCOW2_RESERVE_AHEAD);
        return -1;
    }
    if (w->reserved_count < count && refill_reserve(q, count) < 0)
        return -1;
    memcpy(offsets, w->reserved + w->reserved_first, count * sizeof *offsets);
    w->reserved_first += count;
    w->reserved_count -= count;
    return 0;
}

int qcow2_drop_reserve(struct qcow2_image *q)
{
    struct qcow2_writer *w = q->writer;
    int rc = 0;

    for (unsigned i = 0; i < w->reserved_count; i++)
        if (qcow2_free_cluster(q, w->reserved[w->reserved_first + i]) < 0)
            rc = -1;
    w->reserved_first = w->reserved_count = 0;
    return rc;
}

void qcow2_refcount_release(struct qcow2_writer *w)
{
    for (unsigned i = 0; i < QCOW2_REFBLOCK_SLOTS; i++)
        free(w->slots[i].data);
    free(w->reftable);
}

int qcow2_refcount_get(struct qcow2_image *q, uint64_t cluster_offset, uint64_t *count)
{
    return get_refcount(q, cluster_offset >> q->cluster_bits, count);
}

int qcow2_refcount_incref(struct qcow2_image *q, uint64_t cluster_offset)
{
    struct qcow2_writer *w = q->writer;
    uint64_t c = cluster_offset >> q->cluster_bits, count;

    if (get_refcount(q, c, &count) < 0)
        return -1;
    if (count == 0 || block_missing(w, blocks_for(w, c))) {
        char what[160];

        snprintf(what, sizeof what, "the cluster at host offset 0x%" PRIx64 " is in use but "
                 "its refcount is 0", cluster_offset);
        return qcow2_mark_corrupt(q, what);
    }
    return set_refcount(q, c, count + 1);
}

int qcow2_alloc_clusters(struct qcow2_image *q, uint64_t count, uint64_t *cluster_offset)
{
    struct qcow2_writer *w = q->writer;
    uint64_t start = w->free_cluster_index;

    if (count == 1)
        return qcow2_alloc_cluster(q, cluster_offset);
    for (;;) {
        uint64_t i, c, n;

        if (((start + count) << q->cluster_bits) >= MAX_HOST_CLUSTER_OFFSET) {
            glv_set_error(ENOSPC, "%s: no run of %" PRIu64 " free clusters below 2^56 bytes",
                          q->base.storage->name, count);
            return -1;
        }
        for (i = 0; i < count; i++) {
            c = start + i;
            if (block_missing(w, blocks_for(w, c)))
                break;
            if (get_refcount(q, c, &n) < 0)
                return -1;
            if (n)
                break;
        }
        if (i == count)
            break;
        if (block_missing(w, blocks_for(w, c))) {
            /* The block goes into the range (or the table grows past it):
             * the search starts again where it stood. */
            if (add_block_for(q, c) < 0)
                return -1;
            continue;
        }
        start = c + 1;
    }
    for (uint64_t i = 0; i < count; i++)
        if (set_refcount(q, start + i, 1) < 0)
            return -1;
    if (start == w->free_cluster_index)
        w->free_cluster_index = start + count;
    *cluster_offset = start << q->cluster_bits;
    return 0;
}
