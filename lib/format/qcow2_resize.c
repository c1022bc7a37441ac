/*
 * Resizing a writable qcow2 image (the truncate op), as QEMU's
 * qcow2_co_truncate does with preallocation off:
 *
 * Growing: when the new size needs more L1 entries than the table has, a
 * new table of exactly that many entries is allocated and counted, the old
 * entries copied into it, written and flushed; then the header is switched
 * to it (l1_size and l1_table_offset in one sector write, flushed), and
 * only then the old table's clusters are freed (qcow2_grow_l1_table's
 * order: a crash leaves the old table in use, or the new one and a leak).
 * Last, the header's size.  What lies past the old end reads as zeros: it
 * has no clusters, or, in the last cluster, the zeros the writer left past
 * the old size.
 *
 * Shrinking: the clusters from the first cluster boundary at or past the
 * new size to the old end are dropped from the active state (their entries
 * cleared, one reference each released; clusters a snapshot shares stay
 * for it), L2 tables wholly past the new end are unlinked (the L1 entries
 * cleared on disk first) and released; the L1 table keeps its length, as
 * QEMU's qcow2_shrink_l1_table leaves it.  Then the header's size.  The
 * file itself is not cut short (QEMU truncates it to its last used cluster).
 *
 * Refused, as QEMU refuses them: a size that is not a multiple of 512,
 * version 2 images with internal snapshots ("Can't resize a v2 image which
 * has snapshots"), a size whose L1 table would pass 32 MiB.  Refused here: images with an external data file.
 * The caller (the image layer) has checked the shrink option.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "format/qcow2_write.h"

/* Header fields: the virtual size, and l1_size + l1_table_offset. */
#define HEADER_SIZE 24u
#define HEADER_L1 36u

/* Entries of one L2 table cleared per step. */
#define CUT_RUN 64

static struct qcow2_image *qcow2(struct glv_format *f)
{
    return (struct qcow2_image *)f;
}

int qcow2_grow_l1(struct qcow2_image *q, uint32_t entries)
{
    uint64_t *table, old_offset = q->h.l1_offset, offset, clusters;
    uint64_t old_clusters = ((uint64_t)q->h.l1_size * 8 + q->cluster_size - 1) >> q->cluster_bits;
    uint32_t old_size = q->h.l1_size;
    unsigned char fields[12];
    uint32_t be_size = htobe32(entries);
    uint64_t be_offset;

    if (entries <= q->h.l1_size)
        return 0;
    if (entries > QCOW2_MAX_L1_ENTRIES) {
        glv_set_error(EFBIG, "%s: the L1 table would need %" PRIu32 " entries, past the limit "
                      "of %" PRIu32 " (32 MiB); the image cannot be that large with %" PRIu64
                      "-byte clusters", q->base.storage->name, entries, QCOW2_MAX_L1_ENTRIES,
                      q->cluster_size);
        return -1;
    }
    clusters = ((uint64_t)entries * 8 + q->cluster_size - 1) >> q->cluster_bits;
    if (!(table = calloc(entries, 8))) {
        glv_set_oom();
        return -1;
    }
    for (uint32_t i = 0; i < old_size; i++)
        table[i] = qcow2_l1_entry(q, i);
    if (qcow2_alloc_clusters(q, clusters, &offset) < 0) {
        free(table);
        return -1;
    }
    /* The new table's counts first, then the table, then the header. */
    if (qcow2_refcount_commit(q) < 0 ||
        qcow2_l1_write_table(q, table, entries, entries, offset, 0) < 0)
        goto fail;
    be_offset = htobe64(offset);
    memcpy(fields, &be_size, 4);
    memcpy(fields + 4, &be_offset, 8);
    if (qcow2_header_write(q, HEADER_L1, fields, sizeof fields) < 0)
        goto fail;
    {
        uint64_t *old = q->h.l1;

        q->h.l1 = table;
        q->h.l1_size = entries;
        q->h.l1_offset = offset;
        q->l1 = table;
        q->l1_size = entries;
        free(old);
    }
    for (uint64_t c = 0; old_offset && c < old_clusters; c++)
        if (qcow2_free_cluster(q, old_offset + (c << q->cluster_bits)) < 0)
            return -1;
    return qcow2_refcount_writeback(q);
fail:
    for (uint64_t c = 0; c < clusters; c++)
        qcow2_free_cluster(q, offset + (c << q->cluster_bits));
    qcow2_refcount_writeback(q);
    free(table);
    return -1;
}

/* Clear the entries of guest clusters [first, end) of the table for
 * l1_index (all inside it) and release what they held. */
static int cut_entries(struct qcow2_image *q, uint64_t l1_index, uint64_t first, uint64_t end)
{
    const uint64_t per_table = 1ull << q->l2_bits;
    uint64_t zeros[CUT_RUN] = {0}, old[CUT_RUN], bitmaps[CUT_RUN] = {0}, table;

    if (!(qcow2_l1_entry(q, l1_index) & QCOW2_L1E_OFFSET_MASK))
        return 0;
    while (first < end) {
        uint64_t n = end - first < CUT_RUN ? end - first : CUT_RUN, any = 0;
        struct qcow2_l2_update u;

        if (qcow2_l2_table_for(q, l1_index, 0, &table) < 0 ||
            qcow2_l2_get(q, table, first & (per_table - 1), n, old,
                         q->extended_l2 ? bitmaps : NULL) < 0)
            return -1;
        for (uint64_t j = 0; j < n; j++)
            any |= old[j] | bitmaps[j];
        if (any) {
            if (qcow2_l2_table_for(q, l1_index, 1, &table) < 0)
                return -1;
            u.table = table;
            u.first = first & (per_table - 1);
            u.count = n;
            u.values = zeros;
            u.bitmaps = q->extended_l2 ? zeros : NULL;
            if (qcow2_l2_set(q, &u) < 0 || qcow2_release_clusters(q, old, n) < 0)
                return -1;
        }
        first += n;
    }
    return 0;
}

/* Drop the active state's clusters from guest offset size on (the old
 * size is q->size); tables past the L1 entries size needs are unlinked. */
static int cut(struct qcow2_image *q, uint64_t size)
{
    const uint64_t span_bits = q->l2_bits + q->cluster_bits;
    const uint64_t keep = (size + (1ull << span_bits) - 1) >> span_bits;
    const uint64_t first = (size + q->cluster_size - 1) >> q->cluster_bits;
    const uint64_t old_end = (q->size + q->cluster_size - 1) >> q->cluster_bits;
    uint64_t *dropped = NULL, n = 0;
    int changed = 0, rc;

    if (keep && first < old_end && first < keep << q->l2_bits) {
        uint64_t end = keep << q->l2_bits < old_end ? keep << q->l2_bits : old_end;

        if (cut_entries(q, keep - 1, first, end) < 0)
            return -1;
    }
    if (keep >= q->h.l1_size)
        return 0;
    if (!(dropped = calloc(q->h.l1_size - keep, 8))) {
        glv_set_oom();
        return -1;
    }
    for (uint64_t i = keep; i < q->h.l1_size; i++) {
        dropped[n++] = qcow2_l1_entry(q, i);
        __atomic_store_n(&q->h.l1[i], 0, __ATOMIC_RELEASE);
    }
    /* Unlinked on disk first, then released. */
    rc = qcow2_l1_write_table(q, q->h.l1, q->h.l1_size, q->h.l1_size, q->h.l1_offset,
                              QCOW2_META_L1);
    if (rc == 0)
        rc = qcow2_l1_update_refcounts(q, dropped, (uint32_t)n, -1, &changed);
    free(dropped);
    return rc;
}

int qcow2_resize_locked(struct qcow2_image *q, uint64_t size)
{
    const uint64_t span_bits = q->l2_bits + q->cluster_bits;
    const uint64_t needed = (size + (1ull << span_bits) - 1) >> span_bits;
    uint64_t be = htobe64(size);

    if (needed > QCOW2_MAX_L1_ENTRIES) {
        glv_set_error(EFBIG, "%s: %" PRIu64 " bytes would need an L1 table of %" PRIu64
                      " entries, past the limit of %" PRIu32 " (32 MiB); with larger clusters "
                      "the image can be larger", q->base.storage->name, size, needed,
                      QCOW2_MAX_L1_ENTRIES);
        return -1;
    }
    if (size > q->size ? qcow2_grow_l1(q, (uint32_t)needed) < 0
                       : size < q->size && cut(q, size) < 0)
        return -1;
    if (qcow2_header_write(q, HEADER_SIZE, &be, sizeof be) < 0)
        return -1;
    q->h.size = size;
    q->size = size;
    return 0;
}

int qcow2_resize_check(struct qcow2_image *q)
{
    if (q->h.nb_snapshots && q->h.version < 3) {
        glv_set_error(ENOTSUP, "%s: Can't resize a v2 image which has snapshots; delete them "
                      "('gluvirt snapshot -d'), or upgrade the image with 'qemu-img amend -o "
                      "compat=1.1'", q->base.storage->name);
        return -1;
    }
    if (q->data_file) {
        glv_set_error(ENOTSUP, "%s: resizing a qcow2 image with an external data file is not "
                      "supported in this version; use 'qemu-img resize'",
                      q->base.storage->name);
        return -1;
    }
    return 0;
}

int qcow2_truncate_op(struct glv_format *f, uint64_t size)
{
    struct qcow2_image *q = qcow2(f);
    int rc;

    if (size % 512) {
        glv_set_error(EINVAL, "%s: The new size must be a multiple of 512 (not %" PRIu64
                      " bytes) for a qcow2 image", f->storage->name, size);
        return -1;
    }
    if (qcow2_resize_check(q) < 0 || qcow2_refuse_if_corrupt(q) < 0 ||
        qcow2_mark_dirty(q) < 0)
        return -1;
    if (size == q->size)
        return 0;
    pthread_mutex_lock(&q->writer->meta_lock);
    rc = qcow2_resize_locked(q, size);
    pthread_mutex_unlock(&q->writer->meta_lock);
    return rc;
}
