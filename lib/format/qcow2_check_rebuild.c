/*
 * Rebuilding the refcount structure ('qemu-img check -r all' on an image
 * whose refcount table or blocks are broken, or that uses a cluster its
 * refcounts call free).  The walk's expected refcounts become the new
 * counts; a new refcount table and new blocks are written past the end of
 * the file, where nothing the image uses can lie, and only then does the
 * header point at them (one write of its first sector).  Until that write
 * the image is as it was; after it, the old table and blocks are free
 * clusters.  The new blocks cover the clusters in use, the blocks and the
 * table themselves.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "format/qcow2_check.h"
#include "format/qcow2_refcount_entry.h"

/* Bytes 48..59 of the header: the refcount table's offset and clusters. */
#define HEADER_REFTABLE 48u

static void uncount(struct qcow2_check *c, uint64_t cluster)
{
    if (cluster < c->nb && c->expected[cluster])
        c->expected[cluster]--;
}

/* How many blocks and table clusters cover the first `used` clusters and
 * themselves, placed after them. */
static void plan(const struct qcow2_check *c, uint64_t used, uint64_t *blocks, uint64_t *table)
{
    uint64_t per_block = UINT64_C(1) << c->refblock_bits, b = 0, t = 0, nb, nt;

    for (;;) {
        nb = (used + b + t + per_block - 1) / per_block;
        nt = (nb * 8 + c->cs - 1) >> c->bits;
        if (nb == b && nt == t)
            break;
        b = nb;
        t = nt;
    }
    *blocks = b;
    *table = t;
}

static int write_blocks(struct qcow2_check *c, uint64_t first, uint64_t blocks, uint64_t covered)
{
    const unsigned order = c->q->h.refcount_order, skip = QCOW2_META_REFBLOCK | QCOW2_META_REFTABLE;
    uint64_t per_block = UINT64_C(1) << c->refblock_bits;

    for (uint64_t b = 0; b < blocks; b++) {
        memset(c->block, 0, (size_t)c->cs);
        for (uint64_t i = 0; i < per_block && b * per_block + i < covered; i++)
            qcow2_refcount_entry_set(c->block, order, i, c->expected[b * per_block + i]);
        if (qcow2_checked_write(c->q, skip, c->block, c->cs, (first + b) << c->bits) < 0)
            return -1;
    }
    return 0;
}

/* Point the image, the borrowed writer and the check at the new table. */
static int switch_table(struct qcow2_check *c, uint64_t *table, uint64_t entries,
                        uint64_t offset, uint32_t clusters)
{
    struct qcow2_image *q = c->q;
    struct qcow2_writer *w = q->writer;
    unsigned char header[12];
    uint64_t be_offset = htobe64(offset);
    uint32_t be_clusters = htobe32(clusters);
    uint64_t *copy = malloc((size_t)entries * 8 + 8);

    if (!copy) {
        glv_set_oom();
        return -1;
    }
    memcpy(header, &be_offset, 8);
    memcpy(header + 8, &be_clusters, 4);
    if (qcow2_header_write(q, HEADER_REFTABLE, header, sizeof header) < 0) {
        free(copy);
        return -1;
    }
    q->h.refcount_table_offset = offset;
    q->h.refcount_table_clusters = clusters;
    for (uint64_t i = 0; i < entries; i++)
        copy[i] = be64toh(table[i]);
    free(w->reftable);
    w->reftable = copy;
    w->reftable_entries = entries;
    w->reftable_offset = offset;
    w->reftable_clusters = clusters;
    free(c->reftable);
    if (!(c->reftable = malloc((size_t)entries * 8 + 8))) {
        glv_set_oom();
        return -1;
    }
    memcpy(c->reftable, copy, (size_t)entries * 8);
    c->reftable_entries = entries;
    c->block_offset = 0;
    c->block_dirty = 0;
    return 0;
}

int qcow2_check_rebuild(struct qcow2_check *c)
{
    const struct qcow2_header *h = &c->q->h;
    uint64_t first_table = h->refcount_table_offset >> c->bits, used, blocks, tclusters;
    uint64_t *table;
    int64_t size;
    int rc = -1;

    glv_check_note(c->r, "Rebuilding refcount structure");
    /* The old table and blocks give way: they are not counted any more. */
    for (uint64_t k = 0; k < h->refcount_table_clusters; k++)
        uncount(c, first_table + k);
    for (uint64_t i = 0; i < c->reftable_entries; i++) {
        uint64_t e = c->reftable[i], offset = e & QCOW2_REFT_OFFSET_MASK;

        if (offset && !(e & QCOW2_REFT_RESERVED_MASK) && !(offset & (c->cs - 1)))
            uncount(c, offset >> c->bits);
    }
    used = c->nb > c->file_clusters ? c->nb : c->file_clusters;
    plan(c, used, &blocks, &tclusters);
    if (tclusters << c->bits > QCOW2_MAX_REFTABLE_BYTES ||
        qcow2_check_cover(c, used + blocks + tclusters) < 0) {
        glv_set_error(EFBIG, "%s: a new refcount structure for %" PRIu64 " clusters would "
                      "exceed the limits; nothing was changed", c->s->name, used);
        return -1;
    }
    for (uint64_t k = used; k < used + blocks + tclusters; k++)
        c->expected[k] = 1;
    if (!(table = qcow2_aligned_alloc(tclusters << c->bits)))
        return -1;
    memset(table, 0, (size_t)(tclusters << c->bits));
    for (uint64_t b = 0; b < blocks; b++)
        table[b] = htobe64((used + b) << c->bits);
    if (write_blocks(c, used, blocks, used + blocks + tclusters) < 0 ||
        qcow2_checked_write(c->q, QCOW2_META_REFBLOCK | QCOW2_META_REFTABLE, table,
                            tclusters << c->bits, (used + blocks) << c->bits) < 0 ||
        qcow2_flush_file(c->q) < 0 ||
        switch_table(c, table, (tclusters << c->bits) / 8, (used + blocks) << c->bits,
                     (uint32_t)tclusters) < 0)
        goto out;
    if ((size = c->s->ops->size(c->s)) < 0)
        goto out;
    c->file_size = (uint64_t)size;
    c->file_clusters = (c->file_size + c->cs - 1) >> c->bits;
    rc = 0;
out:
    free(table);
    return rc;
}
